import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { addDays, isFullDate, isIsoDate, sameDayYearsLater, todayIso } from '../../src/claim/dates.js';
import { checkClaimStructure } from '../../src/claim/validate.js';
import { exampleClaim } from '../helpers.js';

/** ajv-formats' own `date`, which the claim schema used before isFullDate stood in for it. */
const ajvFormatsDate = (createRequire(import.meta.url)('ajv-formats/dist/formats') as { fullFormats: { date: { validate: (s: string) => boolean } } }).fullFormats.date.validate;

describe('the claim schema\'s date format', () => {
  /** Every day of years around the leap rules, each field off by one and out of range, and text that is not a date. */
  function candidateDates(): string[] {
    const texts = ['', '2026-01-0', '2026-01-011', ' 2026-01-01', '2026-01-01 ', '2026-01-01\n', '2026/01/01', '2026-1-01', '20260101', '２026-01-01', '2026-0a-01', '+026-01-01', '-026-01-01', '2026-01-+1', '2026-01- 1', '2026-00-10', '0000-02-29', '0001-01-01'];
    for (const year of ['0000', '0099', '0100', '1900', '1996', '2000', '2024', '2025', '2100', '2400', '9999']) {
      for (let month = 0; month <= 13; month++) {
        for (let day = 0; day <= 32; day++) texts.push(`${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`);
      }
    }
    return texts;
  }

  it('accepts and refuses exactly what ajv-formats\' date does', () => {
    const texts = candidateDates();
    expect(texts.filter((t) => isFullDate(t) !== ajvFormatsDate(t))).toEqual([]);
    expect(texts.filter((t) => isFullDate(t)).length).toBeGreaterThan(3000);
  });

  it('leaves isIsoDate refusing years before 100, which the schema accepts', () => {
    expect([isFullDate('0099-12-31'), isIsoDate('0099-12-31'), isIsoDate('0100-01-01'), isIsoDate(20260101)]).toEqual([true, false, true, false]);
  });

  it('is what the schema judges a claim\'s dates by', () => {
    const claim = exampleClaim('clean.json') as { lines: Array<Record<string, unknown>> };
    const dated = (serviceDate: string) => ({ ...claim, lines: claim.lines.map((l) => ({ ...l, serviceDate })) });
    expect(checkClaimStructure(dated('2024-02-29')).ok).toBe(true);
    const leapless = checkClaimStructure(dated('2026-02-29'));
    expect(leapless.ok ? [] : leapless.findings.map((f) => [f.ruleId, f.path])).toContainEqual(['invalid-value', '/lines/0/serviceDate']);
  });
});

describe('today', () => {
  it('is the UTC date of the moment asked, up to the last millisecond of the day', () => {
    expect(todayIso(Date.UTC(2026, 10, 27, 0, 0, 0))).toBe('2026-11-27');
    expect(todayIso(Date.UTC(2026, 10, 27, 23, 59, 59, 999))).toBe('2026-11-27');
    expect(todayIso(Date.UTC(2026, 10, 28, 0, 0, 0))).toBe('2026-11-28');
    expect(todayIso(Date.UTC(2026, 10, 27, 12))).toBe('2026-11-27');
  });

  it('is the date now when no moment is given', () => {
    const before = new Date().toISOString().slice(0, 10);
    const got = todayIso();
    const after = new Date().toISOString().slice(0, 10);
    expect([before, after]).toContain(got);
  });
});

describe('date arithmetic for filing limits', () => {
  it('adds days across months and years', () => {
    expect(addDays('2025-12-02', 90)).toBe('2026-03-02');
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
    expect(addDays('2025-03-01', 365)).toBe('2026-03-01');
  });
  it('finds the same month and day years later, February 29 becoming February 28 in a common year', () => {
    expect(sameDayYearsLater('2025-03-01', 1)).toBe('2026-03-01');
    expect(sameDayYearsLater('2024-02-29', 1)).toBe('2025-02-28');
    expect(sameDayYearsLater('2024-02-29', 4)).toBe('2028-02-29');
    expect(sameDayYearsLater('2023-12-31', 2)).toBe('2025-12-31');
  });
});
