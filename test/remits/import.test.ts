import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Scrubber } from '../../src/engine/scrubber.js';
import { ClaimHistory } from '../../src/history/claim-history.js';
import type { StoredPayment } from '../../src/history/outcomes.js';
import { PostgresHistoryStore } from '../../src/history/postgres.js';
import { SqliteHistoryStore } from '../../src/history/sqlite.js';
import type { HistoryStore } from '../../src/history/store.js';
import { AdjustmentCodes } from '../../src/remits/codes.js';
import { effectivenessReport, ruleFactsOf } from '../../src/remits/effectiveness.js';
import { RemitImport, RemitImportError } from '../../src/remits/import.js';
import { loadPackSet } from '../../src/packs/loader.js';
import { bundledRulesDir, packageRoot } from '../../src/paths.js';
import { storeTestBed } from '../history/store-test-bed.js';
import { deniedClaim, denyLines, paid, reversal, totalled, write835, type ClaimLike } from '../support/generate-835.js';

const SECRET = 'remit-import-test-secret-0123456789';
const fixture = JSON.parse(readFileSync(path.join(bundledRulesDir, 'history/tests/fixtures/medicare-visit.json'), 'utf8')) as Record<string, any>;

/** A two-line visit (99213 and 36415) of its own patient. */
function visit(id: string, changes: Record<string, unknown> = {}): ClaimLike & Record<string, any> {
  const claim = structuredClone(fixture);
  claim.claimId = id;
  claim.patient.memberId = `M-${id}`;
  claim.lines.push({ procedureCode: '36415', modifiers: [], units: 1, charge: 20, serviceDate: '2026-02-20', diagnosisPointers: [1] });
  claim.totalCharge = 140;
  return Object.assign(claim, changes) as ClaimLike & Record<string, any>;
}

const bytes = (text: string) => Buffer.from(text, 'utf8');
const byClaim = (payments: StoredPayment[], id: string) => payments.filter((p) => p.claimId === id);

let scrubber: Scrubber;

const bed = storeTestBed('remits');

beforeAll(async () => {
  scrubber = new Scrubber(await loadPackSet(bundledRulesDir));
}, 60_000);

const backends = [
  { name: 'sqlite', open: async (): Promise<HistoryStore> => SqliteHistoryStore.open(path.join(bed.tmp, 'remits.sqlite')) },
  { name: 'postgresql', open: async (): Promise<HistoryStore> => PostgresHistoryStore.open(bed.postgresUrl, { poolSize: 4 }) },
];

describe.each(backends)('importing 835s into the history on $name', (backend) => {
  const skip = () => backend.name === 'postgresql' && bed.postgresMissing !== undefined;
  let store: HistoryStore;
  let history: ClaimHistory;
  const record = async (claim: Record<string, unknown>) => {
    const result = await history.scrub(scrubber, claim, { record: true });
    expect(result.history?.recorded).toBe(true);
    return result;
  };
  const importText = (text: string, source = 'test.835') => new RemitImport(store.remits, bytes(text), { source }).complete();

  beforeAll(async () => {
    if (skip()) return;
    store = await backend.open();
    history = new ClaimHistory(store, SECRET, 3650);
    for (const id of ['A-1', 'B-1', 'C-1', 'D-1', 'E-1']) await record(visit(id));
  }, 60_000);
  afterAll(async () => {
    if (!skip()) await history.close();
  });

  it('keeps the findings the scrubber returned with each recording', async ({ skip: skipTest }) => {
    if (skip()) return skipTest();
    const recordings = await store.remits.latestRecordings(['A-1']);
    const a = recordings.get('A-1')!;
    expect(a.findings).not.toBeNull();
    expect(a.lines.map((l) => [l.number, l.code, l.serviceDate])).toEqual([
      [1, '99213', '2026-02-20'],
      [2, '36415', '2026-02-20'],
    ]);
  });

  it('matches payments to recorded claims and lines, keeps what matches nothing, and reports the payer-changed code', async ({ skip: skipTest }) => {
    if (skip()) return skipTest();
    const changed = paid(visit('C-1'));
    changed.lines[0] = { ...changed.lines[0]!, code: '99212', submittedCode: '99213' };
    const text = write835(
      [
        paid(visit('A-1')),
        denyLines(paid(visit('B-1')), [1], { group: 'CO', reason: '97', remark: 'M15' }),
        totalled(changed),
        paid(visit('NOT-RECORDED')),
      ],
      { control: 101, providerAdjustments: [{ reason: 'WO', reference: 'ICNOLD', amount: 10 }] },
    );
    const summary = await importText(text);
    expect(summary).toMatchObject({
      transactions: 1,
      payments: { total: 4, imported: 4, alreadyImported: 0, unreadable: 0 },
      matched: 3,
      unmatched: 1,
      outcomes: { paid: 3, partial: 1, denied: 0 },
      lines: { total: 8, matched: 6, unmatched: 2, codeChangedByPayer: 1 },
      providerAdjustments: { total: 1, imported: 1, amount: 10 },
      problems: [],
    });
    const payments = await store.remits.payments({});
    const b = byClaim(payments, 'B-1')[0]!;
    expect(b).toMatchObject({ matchedClaimId: 'B-1', matchedBy: 'claim-id', outcome: 'partial' });
    expect(b.lines.map((l) => [l.lineNumber, l.outcome, l.adjustments.map((a) => `${a.group}-${a.reason}`), l.remarks])).toEqual([
      [1, 'paid', ['CO-45'], []],
      [2, 'denied', ['CO-97'], ['M15']],
    ]);
    const c = byClaim(payments, 'C-1')[0]!;
    expect(c.lines[0]).toMatchObject({ lineNumber: 1, procedureCode: '99212', submittedCode: '99213' });
    const stranger = byClaim(payments, 'NOT-RECORDED')[0]!;
    expect(stranger).toMatchObject({ matchedBy: 'unmatched', payerId: 'TESTPAYER', outcome: 'paid' });
    expect(stranger.matchedClaimId).toBeUndefined();
    expect((await store.remits.counts()).unmatched).toBe(1);
  });

  it('changes nothing when the same file comes again, or the same payments in another envelope', async ({ skip: skipTest }) => {
    if (skip()) return skipTest();
    const before = await store.remits.counts();
    const text = write835([paid(visit('A-1')), denyLines(paid(visit('B-1')), [1], { group: 'CO', reason: '97', remark: 'M15' })], { control: 201, traceNumber: 'CHECK-201' });
    const first = await importText(text);
    expect(first.payments.imported).toBe(2);
    const again = await importText(text);
    expect(again.alreadyImported?.importedAt).toBeDefined();
    expect(again.payments).toMatchObject({ imported: 0, alreadyImported: 2 });
    // Another envelope (ISA, GS control numbers) around the same payment: the payment is known.
    const rewrapped = await new RemitImport(store.remits, bytes(text.replace(/000000201/g, '000000202').replace(/\*201\*X\*/, '*202*X*').replace('GE*1*201', 'GE*1*202')), {}).complete();
    expect(rewrapped.alreadyImported).toBeUndefined();
    expect(rewrapped.payments).toMatchObject({ imported: 0, alreadyImported: 2 });
    expect((await store.remits.counts()).payments).toBe(before.payments + 2);
  });

  it('takes back a reversed payment and keeps the correction that follows it', async ({ skip: skipTest }) => {
    if (skip()) return skipTest();
    const original = paid(visit('D-1'), 'ICN-D1');
    await importText(write835([original], { control: 301 }));
    const corrected = denyLines(paid(visit('D-1'), 'ICN-D1-R'), [0], { group: 'CO', reason: '4', remark: 'N822' });
    const summary = await importText(write835([reversal(original), corrected], { control: 302 }));
    expect(summary.reversals).toEqual({ applied: 1, noEarlierPayment: 0 });
    const d = byClaim(await store.remits.payments({}), 'D-1');
    expect(d.map((p) => [p.statusCode, p.outcome, p.reversedBy !== undefined])).toEqual([
      ['1', 'paid', true],
      ['22', 'reversal', false],
      ['1', 'partial', false],
    ]);
    // A reversal of a payment never imported says so.
    const orphan = await importText(write835([reversal(paid(visit('E-1'), 'ICN-NEVER'))], { control: 303 }));
    expect(orphan.reversals).toEqual({ applied: 0, noEarlierPayment: 1 });
  });

  it('stores denials and partial payments line by line', async ({ skip: skipTest }) => {
    if (skip()) return skipTest();
    const partial = paid(visit('E-1'), 'ICN-E1');
    // Units cut: the payer pays part of line 1 and denies the rest as more units than allowed.
    partial.lines[0] = { ...partial.lines[0]!, paid: 50, adjustments: [{ group: 'CO', reason: '45', amount: 20 }, { group: 'CO', reason: '151', amount: 50 }], remarks: ['N362'] };
    const summary = await importText(write835([totalled(partial), deniedClaim(paid(visit('A-1'), 'ICN-A1-X'), { group: 'CO', reason: '29' })], { control: 401 }));
    expect(summary.outcomes).toMatchObject({ partial: 1, denied: 1 });
    const payments = await store.remits.payments({});
    const e = byClaim(payments, 'E-1').find((p) => p.payerClaimNumber === 'ICN-E1')!;
    expect(e.lines[0]).toMatchObject({ lineNumber: 1, outcome: 'partial', paid: 50 });
    const a = byClaim(payments, 'A-1').find((p) => p.payerClaimNumber === 'ICN-A1-X')!;
    expect(a).toMatchObject({ statusCode: '4', outcome: 'denied' });
    expect(a.lines.map((l) => l.outcome)).toEqual(['denied', 'denied']);
  });

  it('matches a payment to the latest recording of its claim, and by the payer claim number seen before', async ({ skip: skipTest }) => {
    if (skip()) return skipTest();
    await record(visit('F-1'));
    const first = (await store.remits.latestRecordings(['F-1'])).get('F-1')!;
    await importText(write835([paid(visit('F-1'), 'ICN-F1')], { control: 501 }));
    // Corrected and recorded again: the next payment belongs to the new version.
    await record(visit('F-1', { lines: [visit('F-1').lines[0]] , totalCharge: 120 }));
    const second = (await store.remits.latestRecordings(['F-1'])).get('F-1')!;
    expect(second.seq).toBeGreaterThan(first.seq);
    const again = paid(visit('F-1', { lines: [visit('F-1').lines[0]] }), 'ICN-F1');
    // The payer's answer names the claim by another patient control number but the same ICN.
    await importText(write835([{ ...again, claimId: 'F-1-RESUBMITTED' }], { control: 502 }));
    const payments = byClaim(await store.remits.payments({}), 'F-1-RESUBMITTED');
    expect(payments[0]).toMatchObject({ matchedClaimId: 'F-1', matchedBy: 'payer-claim-number', recordingSeq: second.seq });
  });

  it('matches a replacement (frequency 7) paid under the claim number it names', async ({ skip: skipTest }) => {
    if (skip()) return skipTest();
    await record(visit('G-2', { frequencyCode: '7', originalClaimNumber: 'PAYER-ICN-G' }));
    await importText(write835([{ ...paid(visit('G-2')), claimId: 'PAYER-ICN-G' }], { control: 601 }));
    const g = byClaim(await store.remits.payments({}), 'PAYER-ICN-G')[0]!;
    expect(g).toMatchObject({ matchedClaimId: 'G-2', matchedBy: 'replacement' });
  });

  it('gives the effectiveness report what it stored: the denial no rule predicted, and the payment that matched nothing', async ({ skip: skipTest }) => {
    if (skip()) return skipTest();
    const report = await effectivenessReport(store.remits, {}, { codes: AdjustmentCodes.BUNDLED, rules: ruleFactsOf(scrubber.packSet.rulesById) });
    expect(report.unpredicted).toContainEqual(expect.objectContaining({ code: 'CO-97', payerId: 'MEDICARE', procedureCode: '36415', count: 1, amount: 20, remarks: ['M15'] }));
    expect(report.totals.unmatched).toBeGreaterThanOrEqual(1);
    expect(report.totals.reversed).toBeGreaterThanOrEqual(2);
    const narrowed = await effectivenessReport(store.remits, { payerId: 'MEDICARE', since: '2000-01-01' }, { codes: AdjustmentCodes.BUNDLED, rules: () => undefined });
    expect(narrowed.unpredicted).toEqual(report.unpredicted);
  });

  it('refuses a file with more payments than allowed, or no remittance, before writing anything', async ({ skip: skipTest }) => {
    if (skip()) return skipTest();
    const before = await store.remits.counts();
    const big = write835([paid(visit('H-1')), paid(visit('H-2'))], { control: 701 });
    await expect(new RemitImport(store.remits, bytes(big), { maxPayments: 1 }).complete()).rejects.toMatchObject({ code: 'remittance-too-large' });
    const claimFile = readFileSync(path.join(packageRoot, 'test/fixtures/x12/837p/demo.autoaccident.837'), 'utf8');
    const refused = new RemitImport(store.remits, bytes(claimFile), {}).complete();
    await expect(refused).rejects.toBeInstanceOf(RemitImportError);
    await expect(refused).rejects.toThrow(/not an 835 remittance advice/);
    expect(await store.remits.counts()).toEqual(before);
  });
});
