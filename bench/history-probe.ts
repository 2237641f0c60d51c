/**
 * Where history's cost per claim goes, one claim at a time (the /v1/scrub path), with the
 * history bench's store (100,000 patients of 10 lines: 1,000,000 lines) and claims:
 *   npx tsx bench/history-probe.ts [--store FILE] [--rounds N] [--steps a,b] [--full]
 * Each step adds one piece of a what-if scrub's read to the scrub with history off, claims
 * interleaved in chunks as the bench does, so that every step runs with the caches the scrub
 * leaves behind (a piece measured alone, in a loop, is several times cheaper than between
 * scrubs). Figures are CPU microseconds of the process per claim, medians over chunks; each
 * step's cost is its difference with `off` in the same run. --store keeps the filled store in
 * FILE for the next run (filling takes a while); without it a temporary file is used.
 * The store's read-lock holder (src/history/sqlite.ts) lends its lock to every connection of the
 * process on that file, the probe's own included, for up to a second after a store read: the
 * steps before `lines` measure a read transaction without its lock calls while it holds, so
 * for the cost of those calls use bench/history-ab.ts against a version without the holder.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Scrubber } from '../src/engine/scrubber.js';
import { HistoryView } from '../src/engine/history.js';
import { ClaimHistory } from '../src/history/claim-history.js';
import { identify } from '../src/history/record.js';
import { SqliteHistoryStore } from '../src/history/sqlite.js';
import { READ_SQL } from '../src/history/store.js';
import { HISTORY_BENCH_SECRET, benchHistoryClaims, fillHistory } from './history.js';
import { AS_OF, benchPacks, benchTables } from './setup.js';
import { median } from './stats.js';

const PATIENTS = 100_000;
const option = (name: string): string | undefined => {
  const at = process.argv.indexOf(name);
  return at === -1 ? undefined : process.argv[at + 1];
};
const kept = option('--store');
const tmp = kept ? undefined : mkdtempSync(path.join(tmpdir(), 'history-probe-'));
const file = kept ?? path.join(tmp!, 'history.sqlite');
const rounds = Number(option('--rounds') ?? 4);

const fresh = !existsSync(file);
const store = SqliteHistoryStore.open(file);
if (fresh) {
  console.log(`filling ${file} with ${PATIENTS * 10} lines ...`);
  await fillHistory(store, PATIENTS);
}
const { packs } = await benchPacks(await benchTables(process.argv.includes('--full')));
const scrubber = new Scrubber(packs);
const claims = benchHistoryClaims(2000, PATIENTS);
const history = new ClaimHistory(store, HISTORY_BENCH_SECRET, 1185);

// A second connection as the store's reader is opened (memory-mapped), for the pieces of its read.
const reader = new Database(file, { readonly: true });
reader.pragma('mmap_size = 2147418112');
const transactionOnly = reader.prepare('SELECT max(version) FROM scrub_history_schema').raw(true);
const seekOnly = reader.prepare('SELECT count(*) FROM history_lines WHERE patient_key = ?').raw(true);
const rows = reader.prepare(`${READ_SQL}?`).raw(true);

type Step = (claim: unknown) => unknown;
const off = (claim: unknown) => scrubber.scrubNow(claim, { asOf: AS_OF });
const withKey =
  (piece: (key: string, exclude: readonly string[]) => unknown): Step =>
  (claim) => {
    const id = identify(HISTORY_BENCH_SECRET, claim);
    if (!('reason' in id)) piece(id.patientKey, id.exclude);
    return off(claim);
  };
const steps: Array<[string, string, Step]> = [
  ['off', 'the scrub with history off', off],
  ['identify', '+ the patient key (HMAC)', withKey(() => undefined)],
  ['transaction', '+ a read transaction (one row of a one-row table)', withKey(() => transactionOnly.all())],
  ['seek', '+ the seek of the patient (count of its lines)', withKey((key) => seekOnly.all(key))],
  ['rows', "+ the patient's rows (the read's statement)", withKey((key) => rows.all(key))],
  ['lines', '+ rows as recorded lines (the store read, linesNow)', withKey((key, exclude) => store.linesNow(key, exclude))],
  [
    'edits',
    '+ the history edits on those lines (scrubNow with their HistoryView)',
    (claim) => {
      const id = identify(HISTORY_BENCH_SECRET, claim);
      const lines = 'reason' in id ? [] : store.linesNow(id.patientKey, id.exclude);
      return scrubber.scrubNow(claim, { asOf: AS_OF, history: new HistoryView(lines) });
    },
  ],
  ['on', 'history on (ClaimHistory.scrub: the read and the history edits)', (claim) => history.scrub(scrubber, claim, { asOf: AS_OF })],
];
// --steps off,lines,on: only these (off is always run: every figure is against it).
const only = option('--steps')?.split(',');
if (only) steps.splice(0, steps.length, ...steps.filter(([name]) => name === 'off' || only.includes(name)));
const cpu = new Map<string, number[]>(steps.map(([name]) => [name, []]));
const CHUNK = 200;
for (let round = 0; round < rounds; round++) {
  for (let at = 0; at < claims.length; at += CHUNK) {
    const chunk = claims.slice(at, at + CHUNK);
    for (const [name, , step] of round % 2 === 0 ? steps : [...steps].reverse()) {
      const started = process.cpuUsage();
      for (const claim of chunk) await step(claim);
      const used = process.cpuUsage(started);
      cpu.get(name)!.push((used.user + used.system) / chunk.length);
    }
  }
}
const base = median(cpu.get('off')!);
console.log('CPU us per claim (median over chunks), and added over off:');
for (const [name, what] of steps) {
  const us = median(cpu.get(name)!);
  console.log(`  ${name.padEnd(12)} ${us.toFixed(1).padStart(7)}  +${(us - base).toFixed(1).padStart(6)}  ${(us / base).toFixed(2)}x  ${what}`);
}
reader.close();
await history.close();
if (tmp) rmSync(tmp, { recursive: true, force: true });
