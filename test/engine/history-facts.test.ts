import { describe, expect, it } from 'vitest';
import { buildClaimView } from '../../src/claim/view.js';
import type { Claim } from '../../src/claim/claim.generated.js';
import { HistoryView, type RecordedLine } from '../../src/engine/history.js';
import { HISTORY_FACTS, inOnePeriod, parseFrequencyLimits, parseGlobalDays } from '../../src/engine/history-facts.js';
import { buildScopeItems } from '../../src/engine/scopes.js';

/** A Medicare claim of this patient with these lines (diagnosis 1: E11.9). */
function claimOf(claimId: string, lines: ReadonlyArray<Record<string, unknown>>) {
  return buildClaimView({
    claimId,
    claimType: 'professional',
    payer: { id: 'MEDICARE', type: 'medicare' },
    billingProvider: { npi: '1234567893' },
    patient: { memberId: 'M', birthDate: '1950-04-01', sex: 'F' },
    diagnoses: [{ code: 'E11.9' }],
    lines: lines.map((line) => ({ units: 1, charge: 100, diagnosisPointers: [1], ...line })),
  } as unknown as Claim);
}

const claim = claimOf('NOW', [{ procedureCode: '99213', serviceDate: '2026-02-20' }]);

const surgery: RecordedLine = {
  claimId: 'EARLIER', lineNumber: 1, payerId: 'MEDICARE', providerNpi: '1234567893',
  serviceDate: '2026-02-10', procedureCode: '27447', modifiers: [], units: 1, charge: 1500,
};

const historyFact = HISTORY_FACTS.find((f) => f.name === 'history')!;
const lineItem = buildScopeItems(claim, 'line')[0]!;

describe('frequency periods', () => {
  it('count "N months" in calendar months, as CMS does ("11 full months after the month of the last")', () => {
    const year = { kind: 'months', count: 12 } as const;
    expect(inOnePeriod(year, '2025-02-27', '2026-01-31')).toBe(true);
    expect(inOnePeriod(year, '2025-02-27', '2026-02-01')).toBe(false);
  });
  it('count "N days" from either side, and a calendar year by its number', () => {
    expect(inOnePeriod({ kind: 'days', count: 90 }, '2026-01-01', '2026-03-31')).toBe(true);
    expect(inOnePeriod({ kind: 'days', count: 90 }, '2026-04-01', '2026-01-01')).toBe(false);
    expect(inOnePeriod({ kind: 'calendar-year' }, '2025-12-31', '2026-01-01')).toBe(false);
  });
});

describe('pack data the history fact reads', () => {
  it('names the entry and the field a malformed frequency limit gets wrong', () => {
    expect(() => parseFrequencyLimits([{ id: 'x', title: 'X', codes: ['G0438'], maxUnits: 1, per: 'every year', reference: { title: 'r' } }])).toThrow(
      /frequencyLimits entry 1 \("x"\): per must be lifetime, calendar-year, "N days" or "N months"/,
    );
    expect(() => parseFrequencyLimits([{ id: 'x', title: 'X', codes: ['G0438'], maxUnits: 1, per: 'lifetime' }])).toThrow(/needs a reference/);
    expect(() => parseGlobalDays([{ days: -1, codes: ['27447'] }])).toThrow(/days must be a whole number/);
  });

  it('takes global days from a loaded fee schedule before the pack parameter', () => {
    const params = { globalDays: [{ days: 90, codes: ['27447'] }] };
    const history = new HistoryView([surgery]);
    const fromParam = historyFact.value(lineItem, { claim, today: '2026-03-01', history }, { params }) as { globalPeriod: { globalDays: number; source: string } };
    expect(fromParam.globalPeriod).toMatchObject({ globalDays: 90, source: 'pack parameter globalDays' });
    const feeSchedule = () => ({ days: 0, source: 'MPFS PPRRVU 2026' });
    const fromTable = historyFact.value(lineItem, { claim, today: '2026-03-01', history, globalDays: feeSchedule }, { params }) as { globalPeriods: string[] };
    expect(fromTable.globalPeriods).toEqual([]);
  });

  it("puts only the surgeon's own later lines in a recorded procedure's global period, claim by claim", () => {
    const params = { globalDays: [{ days: 90, codes: ['27447'] }] };
    const elsewhere = { procedureCode: '99213', serviceDate: '2026-02-20', renderingProvider: { npi: '1987654328' } };
    const twoProviders = claimOf('TWO', [elsewhere, { procedureCode: '99213', serviceDate: '2026-02-05' }, { procedureCode: '99214', serviceDate: '2026-02-21' }]);
    const otherProvider = claimOf('OTHER', [elsewhere]);
    // One view consulted for several claims in turn: each claim gets its own answer.
    const history = new HistoryView([surgery]);
    const periodsOf = (c: typeof claim) =>
      buildScopeItems(c, 'line').map((item) => (historyFact.value(item, { claim: c, today: '2026-03-01', history }, { params }) as { globalPeriods: string[] }).globalPeriods);
    const period = 'EARLIER line 1 (27447 on 2026-02-10, 90-day global period to 2026-05-11)';
    expect(periodsOf(otherProvider)).toEqual([[]]);
    expect(periodsOf(twoProviders)).toEqual([[], [], [period]]);
    expect(periodsOf(otherProvider)).toEqual([[]]);
    expect(periodsOf(claim)).toEqual([[period]]);
  });

  it('says history was not consulted when the scrub had none', () => {
    expect(historyFact.value(lineItem, { claim, today: '2026-03-01' }, { params: {} })).toMatchObject({ consulted: false, exactDuplicates: [] });
  });
});
