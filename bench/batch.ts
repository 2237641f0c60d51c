import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { rename, stat } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import { generateWorkload } from '../test/support/workload.js';
import { CLI, memoryOf } from './processes.js';
import { AS_OF, BENCH_PAYERS, DATA_DIR, benchPacks, type BenchTables } from './setup.js';
import { round } from './stats.js';

/**
 * Batch: `scrub check --format ndjson` over an NDJSON file of 1,000,000 claims (generated once
 * into bench/.data, git-ignored), output discarded. Claims/s over the whole run, and the peak
 * resident memory (VmHWM, sampled from /proc/<pid>/status) of the CLI, whose worker threads
 * count in its RSS: a streamed batch must run in constant memory. Run as shipped (a thread per
 * core, each with its own copy of the packs and tables) and with --jobs 1.
 */

export interface BatchResult {
  /** `scrub check --jobs N`: 1 thread, or the default (one per core). */
  jobs: number | 'default';
  claims: number;
  fileMiB: number;
  seconds: number;
  claimsPerSecond: number;
  /** Peak RSS of the CLI process (target: under 300 MB). */
  peakRssMiB: number;
  /** RSS samples during the run, to show it stays flat: after 10%, 50% and 90% of the time. */
  rssMiBAt: number[];
  exitCode: number | null;
}

/** Writes the file in chunks of generated claims (never all in memory); reuses it when present. */
export async function claimsFile(count: number, tables: BenchTables): Promise<string> {
  const file = path.join(DATA_DIR, `claims-${count}-${tables.fullSize ? 'full' : 'excerpt'}-v1.ndjson`);
  if (existsSync(file)) return file;
  const { codes } = await benchPacks(tables);
  const partial = `${file}.partial`;
  const out = createWriteStream(partial);
  const CHUNK = 10_000;
  for (let start = 0; start < count; start += CHUNK) {
    const claims = generateWorkload(Math.min(CHUNK, count - start), { seed: 1_000 + start / CHUNK, payerIds: BENCH_PAYERS, codes });
    if (!out.write(claims.map((c) => JSON.stringify(c)).join('\n') + '\n')) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  await rename(partial, file);
  return file;
}

export async function batch(quick: boolean, tables: BenchTables, jobs: number | 'default'): Promise<BatchResult> {
  const count = quick ? 20_000 : 1_000_000;
  const file = await claimsFile(count, tables);
  const started = performance.now();
  const args = [CLI, 'check', '--format', 'ndjson', '--as-of', AS_OF, ...(jobs === 'default' ? [] : ['--jobs', String(jobs)]), file];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...tables.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    if (stderr.length < 5_000) stderr += c.toString();
  });
  const samples: Array<{ t: number; rss: number; peak: number }> = [];
  const timer = setInterval(() => {
    void memoryOf(child.pid!).then((m) => {
      if (m && Number.isFinite(m.peakMiB)) samples.push({ t: performance.now() - started, rss: m.rssMiB, peak: m.peakMiB });
    });
  }, 100);
  const [exitCode] = (await once(child, 'exit')) as [number | null];
  clearInterval(timer);
  const seconds = (performance.now() - started) / 1000;
  if (exitCode !== 0 && exitCode !== 1) throw new Error(`scrub check exited with ${exitCode}: ${stderr}`);
  const at = (share: number) => samples.find((s) => s.t >= share * seconds * 1000)?.rss ?? Number.NaN;
  return {
    jobs,
    claims: count,
    fileMiB: round((await stat(file)).size / 2 ** 20, 0),
    seconds: round(seconds, 1),
    claimsPerSecond: round(count / seconds, 0),
    peakRssMiB: round(Math.max(...samples.map((s) => s.peak)), 0),
    rssMiBAt: [0.1, 0.5, 0.9].map((s) => round(at(s), 0)),
    exitCode,
  };
}
