import { describe, expect, it } from 'vitest';
import { codeEntryProblem, compileCodeList } from '../../src/claim/codes.js';
import { ageOn, isIsoDate } from '../../src/claim/dates.js';
import { isValidNpi } from '../../src/claim/npi.js';

describe('code lists', () => {
  const list = compileCodeList(['99202-99215', '0001T-0999T', 'J3490', 'E11*', 'V00-Y99']);
  it.each([
    ['99213', true],
    ['99216', false],
    ['0591T', true],
    ['0591U', false],
    ['j3490', true],
    ['E11.9', true],
    ['E119', true],
    ['E10.9', false],
    ['W10.1XXA', true],
    ['U07.1', false],
  ])('%s in the list: %s', (code, expected) => {
    expect(list.matches(code)).toBe(expected);
  });

  it.each([
    ['99215-99202', 'starts after it ends'],
    ['9920-99215', 'same number of characters'],
    ['99 213', 'not a valid code'],
    ['', 'must not be empty'],
  ])('refuses "%s"', (entry, problem) => {
    expect(codeEntryProblem(entry)).toContain(problem);
  });
});

describe('NPI check digit', () => {
  it.each([
    ['1234567893', true],
    ['1245319599', true],
    ['1234567890', false],
    ['123456789', false],
    ['12345678931', false],
    ['123456789A', false],
  ])('%s is valid: %s', (npi, valid) => expect(isValidNpi(npi)).toBe(valid));
});

describe('dates', () => {
  it('knows which calendar dates exist', () => {
    expect(isIsoDate('2024-02-29')).toBe(true);
    expect(isIsoDate('2026-02-29')).toBe(false);
    expect(isIsoDate('2026-1-01')).toBe(false);
  });
  it('counts age in completed years', () => {
    expect(ageOn('2000-06-15', '2026-06-14')).toBe(25);
    expect(ageOn('2000-06-15', '2026-06-15')).toBe(26);
    expect(ageOn('2026-01-01', '2026-12-31')).toBe(0);
  });
});
