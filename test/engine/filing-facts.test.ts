import { describe, expect, it } from 'vitest';
import type { Claim } from '../../src/claim/claim.generated.js';
import { buildClaimView } from '../../src/claim/view.js';
import { STANDARD_FACTS, type RunContext } from '../../src/engine/facts.js';
import { buildScopeItems } from '../../src/engine/scopes.js';

const fact = (name: string) => STANDARD_FACTS.find((f) => f.name === name)!;

function run(claim: Record<string, unknown>): RunContext {
  return { claim: buildClaimView(claim as unknown as Claim), today: '2026-06-01' };
}

const professional = {
  claimId: 'F-1',
  claimType: 'professional',
  submissionDate: '2026-03-02',
  payer: { id: 'P', type: 'medicare' },
  billingProvider: { npi: '1234567893' },
  patient: { birthDate: '1950-04-01', sex: 'F' },
  diagnoses: [{ code: 'I10' }],
  lines: [
    { procedureCode: '99213', units: 1, charge: 1, serviceDate: '2025-02-27', serviceDateEnd: '2025-03-03', diagnosisPointers: [1] },
    { procedureCode: '97110', units: 1, charge: 1, serviceDate: '2025-03-02', diagnosisPointers: [1] },
  ],
};

describe('the timely filing facts', () => {
  it("count a professional line from its From date, not the end of its span", () => {
    const r = run(professional);
    const [first] = buildScopeItems(r.claim, 'line');
    expect(fact('filingLagDays').value(first!, r, { params: {} })).toBe(368);
    expect(fact('timelyFiling').value(first!, r, { params: { timelyFilingCalendarYears: 1 } })).toEqual({
      from: '2025-02-27',
      limit: 'one calendar year',
      deadline: '2026-02-27',
      filedOn: '2026-03-02',
      daysAfterService: 368,
      late: true,
    });
  });

  it('count an institutional claim from its Through date, for every line', () => {
    const institutional = {
      ...professional,
      claimType: 'institutional',
      typeOfBill: '131',
      statementFromDate: '2025-02-27',
      statementToDate: '2025-03-04',
      lines: professional.lines.map(({ diagnosisPointers: _pointers, ...l }) => ({ ...l, revenueCode: '0510' })),
    };
    const r = run(institutional);
    for (const item of buildScopeItems(r.claim, 'line')) {
      expect(fact('timelyFiling').value(item, r, { params: { timelyFilingDays: 365 } })).toMatchObject({ from: '2025-03-04', deadline: '2026-03-04', late: false });
    }
  });

  it('take the calendar-year limit before a day count, and are missing without either', () => {
    const r = run(professional);
    const [, second] = buildScopeItems(r.claim, 'line');
    expect(fact('timelyFiling').value(second!, r, { params: { timelyFilingDays: 10, timelyFilingCalendarYears: 1 } })).toMatchObject({ deadline: '2026-03-02', late: false });
    expect(fact('timelyFiling').value(second!, r, { params: { timelyFilingDays: 90 } })).toMatchObject({ limit: '90 days', deadline: '2025-05-31', late: true });
    expect(fact('timelyFiling').value(second!, r, { params: { timelyFilingDays: null } })).toBeUndefined();
  });

  it('file on today when the claim has no submission date', () => {
    const { submissionDate: _dropped, ...unsent } = professional;
    const r = run(unsent);
    const [, second] = buildScopeItems(r.claim, 'line');
    expect(fact('timelyFiling').value(second!, r, { params: { timelyFilingDays: 90 } })).toMatchObject({ filedOn: '2026-06-01' });
  });
});
