import { describe, expect, it } from 'vitest';
import { checkClaimStructure } from '../../src/claim/validate.js';
import { canonical, fixture, onlyClaim } from './support.js';

// Valid claims read from the samples, to vary one thing at a time.
const professional = () => structuredClone(canonical(onlyClaim(fixture('x12/837p/demo.example8.837'))));
const institutional = () => structuredClone(canonical(onlyClaim(fixture('x12/837i/two-claims-single-provider.837i').split('HL*3*1*22*0')[0] + 'SE*33*987654~\nGE*1*1~\nIEA*1*000000907~')));

function problems(claim: unknown): Array<[string, string]> {
  const check = checkClaimStructure(claim);
  return check.ok ? [] : check.findings.map((f) => [f.ruleId, f.path]);
}

describe('the claim schema after the institutional extension', () => {
  it('starts from two valid claims', () => {
    expect(problems(professional())).toEqual([]);
    expect(problems(institutional())).toEqual([]);
  });

  it('still allows a professional claim at most 12 diagnoses and 50 lines', () => {
    const dx = professional();
    dx.diagnoses = Array.from({ length: 13 }, () => ({ code: 'I10' }));
    expect(problems(dx)).toEqual([['wrong-count', '/diagnoses']]);
    const check = checkClaimStructure(dx);
    expect(check.ok ? '' : check.findings[0]!.message).toContain('at most 12');
    const lines = professional();
    lines.lines = Array.from({ length: 51 }, () => lines.lines[0]);
    expect(problems(lines)).toEqual([['wrong-count', '/lines']]);
  });

  it('allows an institutional claim 25 diagnoses and 999 lines, and no more', () => {
    const claim = institutional();
    claim.diagnoses = Array.from({ length: 25 }, () => ({ code: 'I10' }));
    claim.lines = Array.from({ length: 999 }, () => claim.lines[0]);
    expect(problems(claim)).toEqual([]);
    claim.diagnoses.push({ code: 'I10' });
    claim.lines.push(claim.lines[0]);
    expect(problems(claim)).toEqual([
      ['wrong-count', '/diagnoses'],
      ['wrong-count', '/lines'],
    ]);
  });

  it('accepts statement dates on institutional claims only', () => {
    expect(institutional()).toMatchObject({ statementFromDate: '2005-03-15', statementToDate: '2005-03-15' });
    const claim = professional();
    claim.statementFromDate = '2026-01-01';
    expect(problems(claim)).toEqual([['field-not-allowed', '/statementFromDate']]);
  });
});
