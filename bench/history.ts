import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import pg from 'pg';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Scrubber } from '../src/engine/scrubber.js';
import { ClaimHistory, READ_AHEAD_CLAIMS, type HistoryScrubOptions } from '../src/history/claim-history.js';
import { PostgresHistoryStore } from '../src/history/postgres.js';
import { patientKeyOf } from '../src/history/record.js';
import { SqliteHistoryStore } from '../src/history/sqlite.js';
import type { HistoryStore, RecordedClaim, StoredLine } from '../src/history/store.js';
import { generateWorkload } from '../test/support/workload.js';
import { startTestPostgres } from '../test/history/postgres-server.js';
import { AS_OF, BENCH_PAYERS, benchPacks, type BenchTables } from './setup.js';
import { median, round } from './stats.js';

/**
 * The cost of the history edits per claim: the same claims scrubbed with history off, on
 * SQLite and on PostgreSQL, each store holding 1,000,000 recorded lines (100,000 patients of
 * 10 lines), taking turns on chunks so that all see the same machine; and the memory of
 * recording a 100,000-claim batch.
 */

/** The secret the bench's patient keys are made with. */
export const HISTORY_BENCH_SECRET = 'bench-history-secret-0123456789';
const SECRET = HISTORY_BENCH_SECRET;
const LINES_PER_PATIENT = 10;

/** Per-claim wall and CPU microseconds of a batch way, and each as a ratio against the batch API with history off. */
export interface BatchFigures {
  micros: number;
  ratio: number;
  cpuMicros: number;
  cpuRatio: number;
}

export interface HistoryBenchResult {
  recordedLines: number;
  claims: number;
  offMicros: number;
  sqliteMicros: number;
  postgresMicros?: number;
  /** Per-claim time with history on SQLite over off (target: at most 1.5). */
  sqliteRatio: number;
  postgresRatio?: number;
  /** The same as CPU time of this process (on PostgreSQL the server's own CPU is not in it). */
  offCpuMicros: number;
  sqliteCpuMicros: number;
  sqliteCpuRatio: number;
  postgresCpuMicros?: number;
  postgresCpuRatio?: number;
  postgresNote?: string;
  /**
   * The same claims as what-if batches (the batch API, history read ahead `readAhead` claims
   * per statement), each against the batch API with history off, in the same run.
   */
  batch: { readAhead: number; off: BatchFigures; sqlite: BatchFigures; postgres?: BatchFigures };
  /** Seconds to fill each store with `recordedLines` lines. */
  fillSeconds: { sqlite: number; postgres?: number };
  recording: {
    claims: number;
    claimsPerSecond: number;
    rssMiBAt: number[];
    /** The process's private memory (RssAnon): RSS without the pages of files it maps (the store's, the program's). */
    anonMiBAt: number[];
    heapMiBAt: number[];
    growthRatio: number;
    /** RSS before the batch, and the highest RSS sampled every 1,000 claims of it. */
    rssMiBStart: number;
    rssMiBPeak: number;
    peakRatio: number;
    anonMiBStart: number;
    anonMiBPeak: number;
    anonPeakRatio: number;
    /** Private memory at 90% over 10% of the batch. */
    anonGrowthRatio: number;
  };
}

/**
 * A full collection, so that memory figures show what is live rather than garbage not yet
 * collected (`npm run bench` runs node without --expose-gc; the flag can be set at run time).
 */
const collectGarbage: () => void = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

/** The process's private resident memory (RssAnon, Linux), else its RSS. */
function anonMiB(): number {
  try {
    const m = /RssAnon:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Math.round(Number(m[1]) / 1024);
  } catch {
    // not Linux
  }
  return Math.round(process.memoryUsage().rss / 2 ** 20);
}

function memberOf(i: number): string {
  return `BENCH${String(i).padStart(7, '0')}`;
}

/**
 * The same rows as `fill`, made by the server itself (a bench on a shared 2-core machine cannot
 * wait for a million rows to cross the socket): patient keys by pgcrypto's HMAC, which gives
 * the bytes patientKeyOf gives.
 */
async function fillPostgres(url: string, patients: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('CREATE EXTENSION IF NOT EXISTS pgcrypto');
    // The rows are consistent by construction: skip the per-row foreign-key triggers where the
    // role may (a superuser, as on the bench's own cluster); elsewhere they just run.
    await client.query('SET session_replication_role = replica').catch(() => undefined);
    await client.query(
      `INSERT INTO history_claims (claim_id, patient_key, payer_id, last_service_date, line_count, recorded_at)
       SELECT 'H-' || p, encode(hmac(convert_to('BENCH' || lpad(p::text, 7, '0'), 'UTF8') || '\\x00'::bytea || convert_to('1950-04-01', 'UTF8'), convert_to($1, 'UTF8'), 'sha256'), 'hex'),
              'MEDICARE', '2026-09-28', ${LINES_PER_PATIENT}, '2026-01-01T00:00:00Z'
       FROM generate_series(0, $2 - 1) AS p`,
      [SECRET, patients],
    );
    await client.query(
      `INSERT INTO history_lines (claim_id, line_number, patient_key, payer_id, provider_npi, billing_npi, service_date, procedure_code, modifiers, units, charge, diagnoses, recorded_at)
       SELECT c.claim_id, n + 1, c.patient_key, 'MEDICARE', '1234567893', '1234567893',
              '2026-0' || (1 + n % 9) || '-' || lpad((1 + ((substr(c.claim_id, 3)::int + n) % 28))::text, 2, '0'),
              ($1::text[])[n + 1], '', 1, 50, 'E119', '2026-01-01T00:00:00Z'
       FROM history_claims c CROSS JOIN generate_series(0, ${LINES_PER_PATIENT - 1}) AS n
       ORDER BY c.patient_key, c.claim_id, n`,
      [CODES],
    );
    await client.query('ANALYZE history_claims; ANALYZE history_lines');
  } finally {
    await client.end();
  }
}

const CODES = ['99213', '99214', '36415', '85025', '80053', '93000', '71046', '20610', '11102', '97110'];

/**
 * Records `patients` claims of LINES_PER_PATIENT lines through the store's own bulk path
 * (recordMany, as `scrub history import` does), in patient-key order: each batch then appends
 * to the end of the lines' primary key instead of touching pages all over a growing file, which
 * is what made filling a million lines take minutes.
 */
export async function fillHistory(store: HistoryStore, patients: number): Promise<void> {
  const keyed = Array.from({ length: patients }, (_, p) => ({ p, patientKey: patientKeyOf(SECRET, memberOf(p), '1950-04-01') }));
  keyed.sort((a, b) => (a.patientKey < b.patientKey ? -1 : 1));
  const batch: RecordedClaim[] = [];
  for (const { p, patientKey } of keyed) {
    const lines: StoredLine[] = [];
    for (let n = 0; n < LINES_PER_PATIENT; n++) {
      const day = String(1 + ((p + n) % 28)).padStart(2, '0');
      lines.push({ claimId: `H-${p}`, lineNumber: n + 1, payerId: 'MEDICARE', providerNpi: '1234567893', billingNpi: '1234567893', serviceDate: `2026-0${1 + (n % 9)}-${day}`, procedureCode: CODES[n]!, modifiers: [], units: 1, charge: 50, diagnoses: ['E119'], recordedAt: '2026-01-01T00:00:00Z' });
    }
    batch.push({ patientKey, claimId: `H-${p}`, payerId: 'MEDICARE', recordedAt: '2026-01-01T00:00:00Z', lastServiceDate: '2026-09-28', lines });
    if (batch.length === 5000) await store.recordMany(batch.splice(0));
  }
  if (batch.length > 0) await store.recordMany(batch);
}

/** The bench's claims: the workload's, each naming one of the store's patients (spread over all of them). */
export function benchHistoryClaims(count: number, patients: number): Array<Record<string, any>> {
  return (generateWorkload(count, { payerIds: BENCH_PAYERS }) as Array<Record<string, any>>).map((c, i) => {
    // The workload's broken claims (no patient at all) stay broken: history is not consulted for them.
    if (c.patient && typeof c.patient === 'object') {
      c.patient.memberId = memberOf((i * 7919) % patients);
      c.patient.birthDate = '1950-04-01';
    }
    return c;
  });
}

export async function historyBench(quick: boolean, tables: BenchTables): Promise<HistoryBenchResult> {
  const patients = quick ? 10_000 : 100_000;
  const { packs } = await benchPacks(tables);
  const scrubber = new Scrubber(packs);
  const claims = benchHistoryClaims(quick ? 1000 : 4000, patients);
  const tmp = mkdtempSync(path.join(tmpdir(), 'bench-history-'));
  const sqlite = new ClaimHistory(SqliteHistoryStore.open(path.join(tmp, 'history.sqlite')), SECRET, 1185);
  console.log(`  filling SQLite with ${patients * LINES_PER_PATIENT} lines ...`);
  const seconds = (from: bigint) => round(Number(process.hrtime.bigint() - from) / 1e9, 1);
  let started = process.hrtime.bigint();
  await fillHistory(sqlite.store, patients);
  const fillSeconds: HistoryBenchResult['fillSeconds'] = { sqlite: seconds(started) };
  let postgres: ClaimHistory | undefined;
  let postgresNote: string | undefined;
  const server = await startTestPostgres();
  if ('reason' in server) postgresNote = server.reason;
  else {
    postgres = new ClaimHistory(await PostgresHistoryStore.open(server.url), SECRET, 1185);
    console.log(`  filling PostgreSQL with ${patients * LINES_PER_PATIENT} lines ...`);
    started = process.hrtime.bigint();
    await fillPostgres(server.url, patients);
    fillSeconds.postgres = seconds(started);
  }
  // Both stores must hold the patients the claims name, or the comparison measures nothing.
  for (const h of [sqlite, postgres]) {
    if (!h) continue;
    const found = (await h.store.linesOf(patientKeyOf(SECRET, memberOf(patients - 1), '1950-04-01'), [])).length;
    if (found !== LINES_PER_PATIENT) throw new Error(`the ${h.store.kind} history holds ${found} lines for a bench patient, not ${LINES_PER_PATIENT}`);
  }
  try {
    /** One claim at a time (the /v1/scrub path): each claim reads its own history. */
    const single =
      (scrub: (claim: unknown) => Promise<unknown>) =>
      async (chunk: readonly unknown[]): Promise<void> => {
        for (const claim of chunk) await scrub(claim);
      };
    /**
     * The chunk as a what-if batch (POST /v1/scrub/batch, scrub check --history): through the
     * batch API, history read ahead READ_AHEAD_CLAIMS claims at a time; with history=off the
     * same API scrubs without it.
     */
    const asBatch =
      (history: ClaimHistory, options: HistoryScrubOptions) =>
      async (chunk: readonly unknown[]): Promise<void> => {
        const reading = history.batch(options);
        for await (const claim of reading.ahead(chunk, (c) => c)) await history.scrub(scrubber, claim, reading.options);
      };
    const ways: Array<[string, (chunk: readonly unknown[]) => Promise<void>]> = [
      ['off', single((c) => scrubber.scrub(c, { asOf: AS_OF }))],
      ['sqlite', single((c) => sqlite.scrub(scrubber, c, { asOf: AS_OF }))],
      ...(postgres ? [['postgres', single((c) => postgres!.scrub(scrubber, c, { asOf: AS_OF }))] as [string, (chunk: readonly unknown[]) => Promise<void>]] : []),
      ['batch-off', asBatch(sqlite, { asOf: AS_OF, mode: 'off' })],
      ['batch-sqlite', asBatch(sqlite, { asOf: AS_OF })],
      ...(postgres ? [['batch-postgres', asBatch(postgres, { asOf: AS_OF })] as [string, (chunk: readonly unknown[]) => Promise<void>]] : []),
    ];
    console.log(`  filled in ${fillSeconds.sqlite} s (SQLite)${fillSeconds.postgres !== undefined ? ` and ${fillSeconds.postgres} s (PostgreSQL)` : ''}; scrubbing ...`);
    const perChunk = new Map<string, number[]>(ways.map(([name]) => [name, []]));
    const cpuPerChunk = new Map<string, number[]>(ways.map(([name]) => [name, []]));
    const CHUNK = 200;
    for (let round = 0; round < (quick ? 2 : 4); round++) {
      for (let at = 0; at < claims.length; at += CHUNK) {
        const chunk = claims.slice(at, at + CHUNK);
        const order = round % 2 === 0 ? ways : [...ways].reverse();
        for (const [name, scrub] of order) {
          const t = process.hrtime.bigint();
          const cpu = process.cpuUsage();
          await scrub(chunk);
          perChunk.get(name)!.push(Number(process.hrtime.bigint() - t) / 1000 / chunk.length);
          const used = process.cpuUsage(cpu);
          cpuPerChunk.get(name)!.push((used.user + used.system) / chunk.length);
        }
      }
    }
    const off = median(perChunk.get('off')!);
    const onSqlite = median(perChunk.get('sqlite')!);
    const onPostgres = postgres ? median(perChunk.get('postgres')!) : undefined;
    const offCpu = median(cpuPerChunk.get('off')!);
    const sqliteCpu = median(cpuPerChunk.get('sqlite')!);
    const postgresCpu = postgres ? median(cpuPerChunk.get('postgres')!) : undefined;

    const ratios = `SQLite ${(onSqlite / off).toFixed(2)}x${onPostgres !== undefined ? `, PostgreSQL ${(onPostgres / off).toFixed(2)}x` : ''}`;
    console.log(`  per claim vs off, one claim at a time: ${ratios} (CPU: SQLite ${(sqliteCpu / offCpu).toFixed(2)}x)`);
    const batchOf = (name: string): BatchFigures | undefined => {
      const wall = perChunk.get(`batch-${name}`);
      if (!wall) return undefined;
      const micros = median(wall);
      const cpuMicros = median(cpuPerChunk.get(`batch-${name}`)!);
      return { micros: round(micros, 1), ratio: round(micros / median(perChunk.get('batch-off')!), 2), cpuMicros: round(cpuMicros, 1), cpuRatio: round(cpuMicros / median(cpuPerChunk.get('batch-off')!), 2) };
    };
    const batch: HistoryBenchResult['batch'] = { readAhead: READ_AHEAD_CLAIMS, off: batchOf('off')!, sqlite: batchOf('sqlite')!, ...(postgres ? { postgres: batchOf('postgres')! } : {}) };
    console.log(
      `  per claim vs off, as a what-if batch: SQLite ${batch.sqlite.ratio.toFixed(2)}x (CPU ${batch.sqlite.cpuRatio.toFixed(2)}x)${batch.postgres ? `, PostgreSQL ${batch.postgres.ratio.toFixed(2)}x (CPU ${batch.postgres.cpuRatio.toFixed(2)}x)` : ''}; recording ...`,
    );
    // Recording a batch: memory after a full collection at 10%, 50% and 90% of it, and every
    // 1,000 claims (without one) for the peak. A batch as a day's claims are: many patients, a
    // few claims each (5 here, from different templates); recording the same 1,000 claims for
    // the same 1,000 patients 100 times, as this bench once did, grows every patient's history
    // to 100 copies and the work (and findings) per claim with it.
    const recordCount = quick ? 20_000 : 100_000;
    const recordPatients = recordCount / 5;
    const recorder = new ClaimHistory(SqliteHistoryStore.open(path.join(tmp, 'recording.sqlite')), SECRET, 1185);
    const template = claims.filter((c) => c.patient && typeof c.patient === 'object').slice(0, 1000);
    const rss: number[] = [];
    const anon: number[] = [];
    const heap: number[] = [];
    const marks = new Set([0.1, 0.5, 0.9].map((f) => Math.floor(recordCount * f)));
    const rssMiB = () => Math.round(process.memoryUsage().rss / 2 ** 20);
    collectGarbage();
    const rssStart = rssMiB();
    const anonStart = anonMiB();
    let rssPeak = rssStart;
    let anonPeak = anonStart;
    const t = process.hrtime.bigint();
    for (let i = 0; i < recordCount; i++) {
      const base = template[i % template.length]!;
      const claim = { ...base, claimId: `R-${i}`, patient: { ...base.patient, memberId: `REC${(i * 7919) % recordPatients}` } };
      await recorder.scrub(scrubber, claim, { asOf: AS_OF, record: true });
      if (i % 1000 === 999) {
        rssPeak = Math.max(rssPeak, rssMiB());
        anonPeak = Math.max(anonPeak, anonMiB());
      }
      if (marks.has(i)) {
        collectGarbage();
        rss.push(rssMiB());
        anon.push(anonMiB());
        heap.push(Math.round(process.memoryUsage().heapUsed / 2 ** 20));
      }
    }
    const recordSeconds = Number(process.hrtime.bigint() - t) / 1e9;
    await recorder.close();
    const result: HistoryBenchResult = {
      recordedLines: patients * LINES_PER_PATIENT,
      claims: claims.length,
      offMicros: round(off, 1),
      sqliteMicros: round(onSqlite, 1),
      sqliteRatio: round(onSqlite / off, 2),
      offCpuMicros: round(offCpu, 1),
      sqliteCpuMicros: round(sqliteCpu, 1),
      sqliteCpuRatio: round(sqliteCpu / offCpu, 2),
      fillSeconds,
      batch,
      recording: {
        claims: recordCount,
        claimsPerSecond: Math.round(recordCount / recordSeconds),
        rssMiBAt: rss,
        anonMiBAt: anon,
        heapMiBAt: heap,
        growthRatio: round(rss[2]! / rss[0]!, 2),
        rssMiBStart: rssStart,
        rssMiBPeak: rssPeak,
        peakRatio: round(rssPeak / rssStart, 2),
        anonMiBStart: anonStart,
        anonMiBPeak: anonPeak,
        anonPeakRatio: round(anonPeak / anonStart, 2),
        anonGrowthRatio: round(anon[2]! / anon[0]!, 2),
      },
    };
    if (onPostgres !== undefined && postgresCpu !== undefined) {
      result.postgresMicros = round(onPostgres, 1);
      result.postgresRatio = round(onPostgres / off, 2);
      result.postgresCpuMicros = round(postgresCpu, 1);
      result.postgresCpuRatio = round(postgresCpu / offCpu, 2);
    }
    if (postgresNote) result.postgresNote = postgresNote;
    return result;
  } finally {
    await sqlite.close();
    await postgres?.close();
    if (!('reason' in server)) await server.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}
