/**
 * History's cost per claim, one claim at a time (the /v1/scrub path), for two versions of the
 * code loaded side by side in one process, on one store: on this noisy machine two runs of
 * bench/history-probe.ts differ by more than most changes around the read, while two versions
 * interleaved on the same chunks of claims see the same machine.
 *   git archive <commit> | tar -x -C /tmp/base && ln -s $PWD/node_modules /tmp/base/node_modules
 *   npx tsx bench/history-ab.ts --base /tmp/base --store FILE [--base-store COPY] [--rounds N]
 * FILE is a store filled by bench/history-probe.ts --store FILE (the bench's 1,000,000 lines).
 * --base-store COPY (a copy of FILE) gives the base version a file of its own: SQLite shares
 * the locks of one file among the connections of a process, so a version that holds its read
 * lock between reads (ReadLockHolder) would spare the other version's reads their lock calls too.
 * Figures: CPU microseconds of the process per claim, medians over 200-claim chunks, each
 * version's history-on scrub against its own history-off scrub.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { median } from './stats.js';

const option = (name: string): string | undefined => {
  const at = process.argv.indexOf(name);
  return at === -1 ? undefined : process.argv[at + 1];
};
const base = option('--base');
const store = option('--store');
const baseStore = option('--base-store') ?? store;
if (!base || !store || !existsSync(store)) {
  console.error('usage: npx tsx bench/history-ab.ts --base DIR --store FILE [--rounds N] (FILE: filled by bench/history-probe.ts --store FILE)');
  process.exit(2);
}
const rounds = Number(option('--rounds') ?? 6);
const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const versions: Array<[string, string]> = [
  ['base', path.resolve(base)],
  ['this', here],
];

interface Version {
  off(claim: unknown): Promise<unknown>;
  on(claim: unknown): Promise<unknown>;
  claims: unknown[];
  close(): Promise<void>;
}

async function load(root: string, file: string): Promise<Version> {
  const { Scrubber } = await import(path.join(root, 'src/engine/scrubber.ts'));
  const { ClaimHistory } = await import(path.join(root, 'src/history/claim-history.ts'));
  const { SqliteHistoryStore } = await import(path.join(root, 'src/history/sqlite.ts'));
  const { HISTORY_BENCH_SECRET, benchHistoryClaims } = await import(path.join(root, 'bench/history.ts'));
  const { AS_OF, benchPacks, benchTables } = await import(path.join(root, 'bench/setup.ts'));
  const { packs } = await benchPacks(await benchTables(false));
  const scrubber = new Scrubber(packs);
  const history = new ClaimHistory(SqliteHistoryStore.open(file), HISTORY_BENCH_SECRET, 1185);
  return {
    off: (claim) => scrubber.scrub(claim, { asOf: AS_OF }),
    on: (claim) => history.scrub(scrubber, claim, { asOf: AS_OF }),
    claims: benchHistoryClaims(2000, 100_000),
    close: () => history.close(),
  };
}

// Each store's log holds a commit while the versions run, as the bench's store (filled in the
// same process) does: a version that does not commit when it opens would otherwise pay an fstat
// per read that the bench never sees.
const committers = [...new Set([store!, baseStore!])].map((file) => {
  const db = new Database(file);
  db.pragma(`user_version = ${Number(db.pragma('user_version', { simple: true }))}`);
  return db;
});
const loaded = new Map<string, Version>();
for (const [name, root] of versions) loaded.set(name, await load(root, name === 'base' ? baseStore! : store!));
const steps: Array<[string, (i: number) => Promise<unknown>]> = [];
for (const [name] of versions) {
  const v = loaded.get(name)!;
  steps.push([`${name} off`, (i) => v.off(v.claims[i])], [`${name} on`, (i) => v.on(v.claims[i])]);
}
const cpu = new Map(steps.map(([name]) => [name, [] as number[]]));
const CHUNK = 200;
for (let round = 0; round < rounds; round++) {
  for (let at = 0; at < 2000; at += CHUNK) {
    for (const [name, step] of round % 2 === 0 ? steps : [...steps].reverse()) {
      const started = process.cpuUsage();
      for (let i = at; i < at + CHUNK; i++) await step(i);
      const used = process.cpuUsage(started);
      cpu.get(name)!.push((used.user + used.system) / CHUNK);
    }
  }
}
console.log('CPU us per claim (median over chunks): history off, on, added, ratio');
for (const [name, root] of versions) {
  const off = median(cpu.get(`${name} off`)!);
  const on = median(cpu.get(`${name} on`)!);
  console.log(`  ${name.padEnd(5)} ${off.toFixed(1).padStart(6)} ${on.toFixed(1).padStart(6)}  +${(on - off).toFixed(1).padStart(5)}  ${(on / off).toFixed(2)}x  ${root}`);
}
for (const v of loaded.values()) await v.close();
for (const db of committers) db.close();
