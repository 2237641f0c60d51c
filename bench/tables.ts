/**
 * Loads full-size tables in the official layouts (written by `npm run gen:tables`) the way a
 * pack does, and reports load time and memory against a baseline measured in the same run:
 * the time to merely read the same bytes from disk line by line (node:readline). It then loads
 * them again from the snapshot cache, and times claim-style lookups. Writes
 * bench/results-tables.json. Run with `npm run bench:tables` (needs --expose-gc, which the
 * script sets).
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { loadTable, type LoadedTable } from '../src/tables/load.js';
import type { TableDeclaration } from '../src/tables/model.js';
import { ncciPtpFormat, type PtpIndex } from '../src/tables/formats/ncci-ptp.js';
import { RowCounter } from '../src/tables/model.js';
import { DEFAULT_OUT } from './gen-tables.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  process.stderr.write('Run the benchmark with --expose-gc (npm run bench:tables does).\n');
  process.exit(2);
}

interface Memory {
  rss: number;
  heapUsed: number;
  arrayBuffers: number;
}

function settle(): Memory {
  for (let i = 0; i < 3; i++) gc!();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers };
}

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
const delta = (a: Memory, b: Memory) => ({ rssMB: mb(b.rss - a.rss), heapMB: mb(b.heapUsed - a.heapUsed), arrayBuffersMB: mb(b.arrayBuffers - a.arrayBuffers) });
const seconds = (ms: number) => Math.round(ms) / 1000;

async function readlineBaseline(files: readonly string[]): Promise<{ ms: number; lines: number }> {
  const started = performance.now();
  let lines = 0;
  for (const f of files) {
    const rl = createInterface({ input: createReadStream(f), crlfDelay: Infinity });
    for await (const line of rl) if (line !== undefined) lines++;
  }
  return { ms: performance.now() - started, lines };
}

/** Files as a pack lists them: relative to the folder holding pack.yaml (here, bench/). */
async function filesIn(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort().map((f) => path.relative(here, path.join(dir, f)));
}

interface Spec {
  name: string;
  decl: TableDeclaration;
}

async function main(): Promise<void> {
  const data = DEFAULT_OUT;
  const specs: Spec[] = [
    { name: 'ptp', decl: { format: 'ncci-ptp', edition: 'synthetic practitioner PTP, 4 files', files: await filesIn(path.join(data, 'ptp')) } },
    { name: 'mue', decl: { format: 'mue', edition: 'synthetic practitioner MUE', files: await filesIn(path.join(data, 'mue')) } },
    { name: 'icd10cm', decl: { format: 'icd-10-cm-order', edition: 'synthetic ICD-10-CM order file', files: await filesIn(path.join(data, 'icd10cm')) } },
  ].filter((s) => s.decl.files.length > 0) as Spec[];
  if (specs.length < 3) {
    process.stderr.write(`No generated tables in ${path.relative(process.cwd(), data)}: run npm run gen:tables first.\n`);
    process.exit(2);
  }
  const options = { env: {} };
  const report: Record<string, unknown> = {
    when: new Date().toISOString(),
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cpus: os.cpus().length,
    totalMemoryGB: Math.round(os.totalmem() / 1024 ** 3),
    tables: {} as Record<string, unknown>,
  };
  const tables = report.tables as Record<string, Record<string, unknown>>;

  // Baseline: the same bytes, read line by line, doing nothing with them. Run twice and keep
  // the second, so that both it and the loads below read from a warm page cache.
  for (const s of specs) {
    const absolute = (s.decl.files ?? []).map((f) => path.join(here, f));
    await readlineBaseline(absolute);
    const base = await readlineBaseline(absolute);
    let bytes = 0;
    for (const f of absolute) bytes += (await stat(f)).size;
    tables[s.name] = { files: absolute.length, bytes, lines: base.lines, readlineSeconds: seconds(base.ms) };
  }

  // Fresh loads, kept alive together so the memory they add is measured as a deployment holds them.
  const before = settle();
  const loaded: LoadedTable[] = [];
  let totalMs = 0;
  for (const s of specs) {
    const m0 = settle();
    const started = performance.now();
    const r = await loadTable(s.name, s.decl, here, options);
    const ms = performance.now() - started;
    if (!r.table) throw new Error(`${s.name} did not load: ${r.problems.map((p) => p.message).join('; ')}`);
    loaded.push(r.table);
    totalMs += ms;
    const t = tables[s.name]!;
    Object.assign(t, {
      rowsTaken: r.table.info.rowsTaken,
      rowsSkipped: r.table.info.rowsSkipped,
      loadSeconds: seconds(ms),
      loadVsReadline: Math.round((ms / ((t.readlineSeconds as number) * 1000)) * 100) / 100,
      memory: delta(m0, settle()),
    });
  }
  const after = settle();
  report.allThree = {
    loadSeconds: seconds(totalMs),
    readlineSeconds: Math.round(specs.reduce((sum, s) => sum + (tables[s.name]!.readlineSeconds as number), 0) * 1000) / 1000,
    memory: delta(before, after),
    targets: { loadSecondsBelow: 5, addedMBBelow: 400 },
  };

  // Lookups as claims make them: one hash probe per pair of lines. Half the pairs are edits
  // taken from the file (hits), half are the same codes the other way round (mostly misses).
  const firstFile = path.join(here, specs[0]!.decl.files![0]!);
  const ptpIndex = await ncciPtpFormat.read([firstFile], new RowCounter());
  const pairs: Array<[string, string]> = [];
  const rl = createInterface({ input: createReadStream(firstFile), crlfDelay: Infinity });
  for await (const line of rl) {
    const [a, b] = line.split('\t');
    if (a && b && /^[0-9A-Z]{5}$/.test(a) && /^[0-9A-Z]{5}$/.test(b)) pairs.push([a, b], [b, a]);
    if (pairs.length >= 2000) break;
  }
  rl.close();
  const lookups = 1_000_000;
  const started = performance.now();
  let found = 0;
  for (let i = 0; i < lookups; i++) {
    const [a, b] = pairs[i % pairs.length]!;
    if ((ptpIndex as PtpIndex).find(a, b, 20260115)) found++;
  }
  report.ptpLookups = { count: lookups, found, nanosecondsEach: Math.round(((performance.now() - started) * 1e6) / lookups) };

  // Snapshot cache: the first load writes the snapshot, the second reads it.
  loaded.length = 0;
  settle();
  const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'scrub-bench-cache-'));
  try {
    const cached: Record<string, unknown> = {};
    let cachedMs = 0;
    const m0 = settle();
    for (const s of specs) {
      const writeStarted = performance.now();
      await loadTable(s.name, s.decl, here, { ...options, cacheDir });
      const writeMs = performance.now() - writeStarted;
      settle();
      const readStarted = performance.now();
      const r = await loadTable(s.name, s.decl, here, { ...options, cacheDir });
      const readMs = performance.now() - readStarted;
      if (r.table?.info.loadedFrom !== 'cache') throw new Error(`${s.name} did not load from the cache`);
      loaded.push(r.table);
      cachedMs += readMs;
      cached[s.name] = { buildAndWriteSeconds: seconds(writeMs), loadFromCacheSeconds: seconds(readMs) };
    }
    cached.allThreeSeconds = seconds(cachedMs);
    cached.target = { loadSecondsBelow: 1 };
    cached.snapshotMB = mb((await Promise.all((await readdir(cacheDir)).map(async (f) => (await stat(path.join(cacheDir, f))).size))).reduce((a, b) => a + b, 0));
    cached.memoryHeldAfterCachedLoads = delta(m0, settle());
    report.cache = cached;
  } finally {
    await rm(cacheDir, { recursive: true, force: true });
  }

  const out = path.join(here, 'results-tables.json');
  await writeFile(out, JSON.stringify(report, null, 2) + '\n');
  const all = report.allThree as { loadSeconds: number; readlineSeconds: number; memory: { rssMB: number; heapMB: number; arrayBuffersMB: number } };
  const lines = [
    ...specs.map((s) => {
      const t = tables[s.name] as { rowsTaken: number; loadSeconds: number; readlineSeconds: number; loadVsReadline: number; memory: { rssMB: number } };
      return `${s.name.padEnd(8)} ${String(t.rowsTaken).padStart(9)} rows  load ${t.loadSeconds.toFixed(2)} s  (readline ${t.readlineSeconds.toFixed(2)} s, x${t.loadVsReadline})  +${t.memory.rssMB} MB RSS`;
    }),
    `all three: load ${all.loadSeconds.toFixed(2)} s (readline ${all.readlineSeconds.toFixed(2)} s), +${all.memory.rssMB} MB RSS (heap +${all.memory.heapMB} MB, typed arrays +${all.memory.arrayBuffersMB} MB)`,
    `from the snapshot cache: ${(report.cache as { allThreeSeconds: number }).allThreeSeconds.toFixed(2)} s`,
    `PTP lookup: ${(report.ptpLookups as { nanosecondsEach: number }).nanosecondsEach} ns each`,
    `written to ${path.relative(process.cwd(), out)}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:tables failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
