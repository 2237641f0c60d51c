import { describe, expect, it } from 'vitest';
import { checkClaimStructure } from '../../src/claim/validate.js';
import { exampleClaim } from '../helpers.js';

function problems(change: (c: Record<string, any>) => void) {
  const claim = exampleClaim('clean.json') as Record<string, any>;
  change(claim);
  const check = checkClaimStructure(claim);
  if (check.ok) throw new Error('expected structure findings');
  return check.findings.map((f) => ({ ruleId: f.ruleId, path: f.path, lines: f.lines, message: f.message }));
}

describe('the claim schema check', () => {
  it('accepts the DESIGN.md example claim', () => {
    expect(checkClaimStructure(exampleClaim('clean.json')).ok).toBe(true);
  });

  it('names a missing required field by its path', () => {
    expect(problems((c) => delete c.patient.birthDate)).toEqual([
      { ruleId: 'missing-field', path: '/patient/birthDate', lines: [], message: 'patient.birthDate is required but missing.' },
    ]);
  });

  it('says what type a field must have and what it got, without coercing it', () => {
    expect(problems((c) => (c.lines[1].units = '1'))).toEqual([
      { ruleId: 'wrong-type', path: '/lines/1/units', lines: [2], message: 'lines[1].units must be a number, not text ("1").' },
    ]);
  });

  it('refuses an unknown field and suggests the field that was meant', () => {
    const [f] = problems((c) => (c.lines[0].modifer = ['25']));
    expect(f).toMatchObject({ ruleId: 'unknown-field', path: '/lines/0/modifer', lines: [1] });
    expect(f!.message).toContain('did you mean "modifiers"?');
  });

  it('points callers to "extensions" for their own top-level data', () => {
    const [f] = problems((c) => (c.internalRef = 'x'));
    expect(f!.message).toContain('"extensions"');
    expect(checkClaimStructure({ ...exampleClaim('clean.json'), extensions: { internalRef: 'x' } }).ok).toBe(true);
  });

  it('rejects an impossible date and says so', () => {
    const [f] = problems((c) => (c.lines[0].serviceDate = '2026-02-30'));
    expect(f).toMatchObject({ ruleId: 'invalid-value', path: '/lines/0/serviceDate' });
    expect(f!.message).toContain('that date does not exist');
  });

  it('lists the allowed values of a coded field', () => {
    const [f] = problems((c) => (c.patient.sex = 'X'));
    expect(f!.message).toBe('patient.sex must be "F", "M" or "U", not "X".');
  });

  it('counts list items in plain words', () => {
    const [f] = problems((c) => (c.lines = []));
    expect(f).toMatchObject({ ruleId: 'wrong-count', path: '/lines', message: 'lines must have at least 1 service line (it has 0).' });
  });

  it('refuses more than 50 lines and more than 12 diagnoses', () => {
    const found = problems((c) => {
      c.lines = Array.from({ length: 51 }, () => c.lines[0]);
      c.diagnoses = Array.from({ length: 13 }, () => ({ code: 'I10' }));
    });
    expect(found.map((f) => f.path)).toEqual(['/diagnoses', '/lines']);
  });

  it('refuses institutional fields on a professional claim', () => {
    const [f] = problems((c) => (c.typeOfBill = '131'));
    expect(f).toMatchObject({ ruleId: 'field-not-allowed', path: '/typeOfBill' });
  });

  it('collects every problem, not just the first', () => {
    expect(problems((c) => {
      c.patient.sex = 'X';
      c.lines[0].units = '1';
      delete c.payer.id;
    })).toHaveLength(3);
  });

  it('lists at most 50 problems and says how many more there are', () => {
    const found = problems((c) => {
      c.lines = Array.from({ length: 50 }, () => ({ procedureCode: '99213', units: 'x', charge: 'y', serviceDate: 'z', diagnosisPointers: [1] }));
    });
    expect(found).toHaveLength(51);
    expect(found.at(-1)).toMatchObject({ ruleId: 'too-many-problems' });
  });

  it('calls a non-object input what it is', () => {
    for (const [input, what] of [[[], 'a list'], ['x', 'text'], [null, 'null'], [3, 'a number']] as const) {
      const check = checkClaimStructure(input);
      expect(check.ok).toBe(false);
      if (!check.ok) expect(check.findings[0]!.message).toBe(`The claim must be a JSON object, not ${what}.`);
    }
  });
});

describe('a claim with far too many lines', () => {
  it('is answered from the count alone with one structure finding, not by checking every line', () => {
    const claim = JSON.parse(JSON.stringify(exampleClaim('clean.json'))) as { lines: unknown[] };
    claim.lines = Array.from({ length: 10_000 }, () => ({ procedureCode: '99213', units: 'x', charge: 1, bogus: true }));
    const check = checkClaimStructure(claim);
    expect(check.ok).toBe(false);
    expect(!check.ok && check.findings).toEqual([
      expect.objectContaining({ ruleId: 'wrong-count', category: 'structure', path: '/lines', details: { maxItems: 50, count: 10_000 } }),
    ]);
  });

  it('uses the institutional limit (999 lines) for an institutional claim', () => {
    const lines = (n: number) => Array.from({ length: n }, () => ({ revenueCode: '0300', units: 1, charge: 1, serviceDate: '2026-01-01' }));
    const claim = { ...(exampleClaim('clean.json') as Record<string, unknown>), claimType: 'institutional', lines: lines(1500) };
    // 1,500 is over 999 but not far over: the claim is validated in full, as usual.
    const check = checkClaimStructure(claim);
    expect(!check.ok && check.findings.find((f) => f.path === '/lines')).toMatchObject({ ruleId: 'wrong-count', details: {} });
    const far = checkClaimStructure({ ...claim, lines: lines(10_000) });
    expect(!far.ok && far.findings).toEqual([expect.objectContaining({ ruleId: 'wrong-count', details: { maxItems: 999, count: 10_000 } })]);
  });
});
