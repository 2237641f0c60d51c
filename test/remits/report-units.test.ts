import { describe, expect, it } from 'vitest';
import type { Recording, StoredLineOutcome, StoredPayment } from '../../src/history/outcomes.js';
import { parsePredictedDenial } from '../../src/packs/model.js';
import { AdjustmentCodes } from '../../src/remits/codes.js';
import { buildReport } from '../../src/remits/effectiveness.js';

/** The report's units, on recordings and payments built by hand (the end-to-end test covers the stores). */

const recording = (seq: number, findings: Recording['findings']): Recording => ({
  seq,
  claimId: `C-${seq}`,
  payerId: 'MEDICARE',
  recordedAt: '2026-03-01T00:00:00.000Z',
  lastServiceDate: '2026-02-20',
  lines: [1, 2].map((n) => ({ number: n, code: n === 1 ? '99213' : '36415', modifiers: [], serviceDate: '2026-02-20', units: 1, charge: 100 })),
  findings,
});

const line = (lineNumber: number, denial?: string): StoredLineOutcome => ({
  seq: lineNumber,
  lineNumber,
  procedureCode: lineNumber === 1 ? '99213' : '36415',
  modifiers: [],
  charge: 100,
  paid: denial ? 0 : 80,
  units: 1,
  outcome: denial ? 'denied' : 'paid',
  adjustments: denial ? [{ group: 'CO', reason: denial, amount: 100 }] : [{ group: 'CO', reason: '45', amount: 20 }],
  remarks: [],
});

const payment = (recordingSeq: number, lines: StoredLineOutcome[]): StoredPayment => ({
  identity: `P-${recordingSeq}`,
  transactionHash: 'T',
  seq: recordingSeq,
  claimId: `C-${recordingSeq}`,
  matchedClaimId: `C-${recordingSeq}`,
  recordingSeq,
  matchedBy: 'claim-id',
  statusCode: '1',
  outcome: lines.some((l) => l.outcome === 'denied') ? 'partial' : 'paid',
  payerId: 'MEDICARE',
  charge: 200,
  paid: lines.reduce((t, l) => t + l.paid, 0),
  adjustments: [],
  remarks: [],
  serviceDate: '2026-02-20',
  importedAt: '2026-06-01T00:00:00.000Z',
  lines,
});

const pair = { ruleId: 'ncci-ptp', pack: 'cms-ncci-ptp', severity: 'error' as const, category: 'ncci-ptp', lines: [1, 2] };
const rules = (id: string) => (id === 'ncci-ptp' ? { pack: 'cms-ncci-ptp', severity: 'error' as const, predicts: [parsePredictedDenial('CO-97'), parsePredictedDenial('CO-236')] } : undefined);

describe('a finding on a pair of lines', () => {
  it('came true when the payer denied either line with a predicted code, and counts each line apart', () => {
    const report = buildReport(
      [recording(1, [pair]), recording(2, [pair]), recording(3, [pair])],
      [payment(1, [line(1), line(2, '236')]), payment(2, [line(1), line(2)]), payment(3, [line(1), line(2, '16')])],
      {},
      { codes: AdjustmentCodes.BUNDLED, rules },
    );
    expect(report.rules[0]).toMatchObject({
      fired: { claims: 3, lines: 6 },
      adjudicated: { claims: 3, lines: 6 },
      denied: { claims: 2, lines: 2, amount: 200 },
      paid: { claims: 1, lines: 4 },
      precision: { predicted: 1, adjudicated: 3, value: 0.33 },
    });
    expect(report.paidDespiteFinding).toEqual([{ ruleId: 'ncci-ptp', pack: 'cms-ncci-ptp', claims: 1, lines: 2, share: 0.33 }]);
    expect(report.unpredicted).toEqual([expect.objectContaining({ code: 'CO-16', procedureCode: '36415', withFinding: 1 })]);
  });

  it('is not judged on a payment that matched none of its lines', () => {
    const report = buildReport([recording(1, [pair])], [payment(1, [{ ...line(1), lineNumber: undefined } as StoredLineOutcome])], {}, { codes: AdjustmentCodes.BUNDLED, rules });
    expect(report.rules[0]).toMatchObject({ fired: { claims: 1, lines: 2 }, adjudicated: { claims: 0, lines: 0 }, precision: { predicted: 0, adjudicated: 0, value: null } });
  });
});
