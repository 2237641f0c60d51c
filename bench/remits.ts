import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Claim } from '../src/claim/claim.generated.js';
import type { Finding } from '../src/findings/finding.js';
import { readRemittances } from '../src/formats/x12/remit835.js';
import { recordedClaimOf } from '../src/history/record.js';
import { SqliteHistoryStore } from '../src/history/sqlite.js';
import { AdjustmentCodes } from '../src/remits/codes.js';
import { buildReport, effectivenessReport } from '../src/remits/effectiveness.js';
import { RemitImport } from '../src/remits/import.js';
import { denyLines, paid, write835, type RemitClaim } from '../test/support/generate-835.js';
import { round } from './stats.js';

/**
 * Importing a 100,000-claim 835 into a SQLite history that holds the 100,000 recorded claims it
 * pays (each with the findings of its scrub), against reading the same file without storing
 * it (the 835 reader alone); then the effectiveness report over all of it, against reading its
 * rows from the store. Peak RSS is sampled while the import runs.
 */

export interface RemitsBenchResult {
  claims: number;
  fileMiB: number;
  /** Reading the 835 (every payment mapped), no store. */
  readSeconds: number;
  importSeconds: number;
  paymentsPerSecond: number;
  /** Import over read. */
  importRatio: number;
  rssMiBBefore: number;
  peakRssMiB: number;
  reportSeconds: number;
  /** Reading the report's rows from the store, without the report's work. */
  rowsSeconds: number;
  /** Report over rows. */
  reportRatio: number;
}

const SECRET = 'bench-remits-secret-0123456789';
const rss = () => process.memoryUsage().rss / 2 ** 20;

function claimOf(i: number): Claim {
  return {
    claimId: `R-${i}`,
    claimType: 'professional',
    payer: { id: 'MEDICARE', type: 'medicare' },
    billingProvider: { npi: '1234567893' },
    patient: { memberId: `M${i}`, birthDate: '1950-04-01', sex: 'F' },
    diagnoses: [{ code: 'E11.9' }],
    lines: [
      { procedureCode: '99213', modifiers: i % 7 === 0 ? ['25'] : [], units: 1, charge: 120, serviceDate: '2026-02-20', diagnosisPointers: [1] },
      { procedureCode: '36415', modifiers: [], units: i % 10 === 0 ? 5 : 1, charge: 20, serviceDate: '2026-02-20', diagnosisPointers: [1] },
    ],
  } as unknown as Claim;
}

function findingsOf(i: number): Finding[] {
  const out: Finding[] = [];
  if (i % 10 === 0) out.push({ ruleId: 'mue-units', pack: 'cms-mue', category: 'mue', severity: 'error', message: '', lines: [2], path: '/lines/1/units' } as Finding);
  if (i % 7 === 0) out.push({ ruleId: 'modifier-25', pack: 'modifiers', category: 'modifier', severity: 'warning', message: '', lines: [1], path: '/lines/0/modifiers' } as Finding);
  return out;
}

export async function remitsBench(quick: boolean): Promise<RemitsBenchResult> {
  const claims = quick ? 10_000 : 100_000;
  const dir = mkdtempSync(path.join(tmpdir(), 'scrub-bench-remits-'));
  try {
    const store = SqliteHistoryStore.open(path.join(dir, 'history.sqlite'));
    const recordedAt = '2026-03-01T00:00:00.000Z';
    for (let start = 0; start < claims; start += 5000) {
      const batch = [];
      for (let i = start; i < Math.min(claims, start + 5000); i++) batch.push(recordedClaimOf(claimOf(i), `${SECRET}-${i}`, recordedAt, findingsOf(i)));
      await store.recordMany(batch);
    }
    const remits: RemitClaim[] = [];
    for (let i = 0; i < claims; i++) {
      const claim = claimOf(i) as unknown as Parameters<typeof paid>[0];
      remits.push(i % 10 === 0 ? denyLines(paid(claim), [1], { group: 'CO', reason: '151' }) : i % 13 === 0 ? denyLines(paid(claim), [0], { group: 'CO', reason: '97' }) : paid(claim));
    }
    const bytes = Buffer.from(write835(remits, { control: 1 }));
    remits.length = 0;

    global.gc?.();
    let t = performance.now();
    const read = readRemittances(bytes.toString('utf8'));
    let mapped = 0;
    for (const r of read.remittances) for (const p of r.payments()) if (p.kind === 'payment') mapped++;
    const readSeconds = (performance.now() - t) / 1000;
    if (mapped !== claims) throw new Error(`the reader mapped ${mapped} of ${claims} payments`);

    global.gc?.();
    const rssMiBBefore = rss();
    let peak = rssMiBBefore;
    const sampler = setInterval(() => (peak = Math.max(peak, rss())), 20);
    t = performance.now();
    const summary = await new RemitImport(store.remits, bytes, { codes: AdjustmentCodes.BUNDLED }).complete();
    const importSeconds = (performance.now() - t) / 1000;
    clearInterval(sampler);
    peak = Math.max(peak, rss());
    if (summary.matched !== claims) throw new Error(`the import matched ${summary.matched} of ${claims} payments`);

    const rules = () => undefined;
    t = performance.now();
    const [recordings, payments] = await Promise.all([store.remits.recordings({}), store.remits.payments({})]);
    const rowsSeconds = (performance.now() - t) / 1000;
    t = performance.now();
    const report = await effectivenessReport(store.remits, {}, { codes: AdjustmentCodes.BUNDLED, rules });
    const reportSeconds = (performance.now() - t) / 1000;
    if (report.totals.payments !== claims || buildReport(recordings, payments, {}, { codes: AdjustmentCodes.BUNDLED, rules }).totals.denials.count !== report.totals.denials.count) throw new Error('the report does not count every payment');
    await store.close();
    return {
      claims,
      fileMiB: round(bytes.byteLength / 2 ** 20, 1),
      readSeconds: round(readSeconds, 2),
      importSeconds: round(importSeconds, 2),
      paymentsPerSecond: Math.round(claims / importSeconds),
      importRatio: round(importSeconds / readSeconds, 2),
      rssMiBBefore: Math.round(rssMiBBefore),
      peakRssMiB: Math.round(peak),
      reportSeconds: round(reportSeconds, 2),
      rowsSeconds: round(rowsSeconds, 2),
      reportRatio: round(reportSeconds / rowsSeconds, 2),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
