import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BATCH_HEAP_GROWING_PERCENT } from '../src/cli/heap.js';
import { packageRoot } from '../src/paths.js';
import { generate837 } from '../test/support/generate-837.js';
import { CLI, memoryOf, passesInOwnProcess, type Rate } from './processes.js';
import { AS_OF, DATA_DIR, type BenchTables } from './setup.js';
import { median, round } from './stats.js';

/**
 * X12 in constant memory. `scrub check` over a generated 837P of 1 GB (100 MB with --quick),
 * its peak RSS (VmHWM of the process, sampled from /proc as it runs) against the peak of the same
 * command on a one-claim 837 (what packs and tables cost alone), and its claims/s. Then the
 * reader alone: the streaming reader (the file read in 1 MiB chunks, every claim mapped) against
 * the whole-file reader (the file read into memory, then mapped) over the same 50 MB file
 * (20 MB with --quick), claims per second and per CPU second. Each reader runs in processes of
 * its own, taken in turns, with the same V8 flags: once with node's defaults, once with the heap
 * growing factor `scrub check` sets for itself (src/cli/heap.ts).
 */

export interface X12StreamResult {
  fileMiB: number;
  claims: number;
  /** Peak RSS of `scrub check` over the large file, MiB to a tenth (target: < 300 MB, that is 286.1 MiB). */
  peakMiB: number;
  /** Peak RSS of the same command over a one-claim file. */
  oneClaimPeakMiB: number;
  checkClaimsPerSecond: number;
  threads: string;
  reader: ReaderRates & {
    fileMiB: number;
    claims: number;
    /** The same with `scrub check`'s heap growing factor (--heap-growing-percent=20) in both readers' processes. */
    checkHeap: ReaderRates;
  };
}

interface ReaderRates {
  streamClaimsPerSecond: number;
  wholeClaimsPerSecond: number;
  /** Streaming / whole-file reader, claims per second (target: >= 1, i.e. at least today's reader). */
  ratio: number;
  streamClaimsPerCpuSecond: number;
  wholeClaimsPerCpuSecond: number;
  cpuRatio: number;
}

/** A generated 837P of about `mib` MiB in bench/.data, made once. */
export async function x12File(mib: number): Promise<{ file: string; claims: number }> {
  await mkdir(DATA_DIR, { recursive: true });
  const file = path.join(DATA_DIR, `x12-stream-${mib}mib.837`);
  const countFile = `${file}.claims`;
  try {
    return { file, claims: Number(await readFile(countFile, 'utf8')) };
  } catch {
    // Not made yet.
  }
  const partial = `${file}.partial`;
  const out = createWriteStream(partial);
  const { claims } = await generate837(mib * 2 ** 20, async (piece) => {
    if (!out.write(piece)) await once(out, 'drain');
  });
  out.end();
  await once(out, 'finish');
  await rename(partial, file);
  await writeFile(countFile, String(claims));
  return { file, claims };
}

/** `scrub check` over a file: results counted as they come, peak RSS sampled from /proc. `options`: more of its options (--jobs 1). */
export async function checkRun(file: string, tables: BenchTables, expected: number, options: readonly string[] = []): Promise<{ peakMiB: number; claimsPerSecond: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, [CLI, 'check', '--format', 'ndjson', '--as-of', AS_OF, ...options, file], {
    cwd: packageRoot,
    env: { ...process.env, ...tables.env },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let results = 0;
  child.stdout.on('data', (chunk: Buffer) => {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) results++;
  });
  let peakMiB = 0;
  const sample = async () => {
    const m = await memoryOf(child.pid!);
    if (m && Number.isFinite(m.peakMiB)) peakMiB = Math.max(peakMiB, m.peakMiB);
  };
  const timer = setInterval(() => void sample().catch(() => undefined), 100);
  // The last sample is taken as the output ends, before the process is gone.
  child.stdout.once('end', () => void sample().catch(() => undefined));
  const [exitCode] = (await once(child, 'exit')) as [number | null];
  clearInterval(timer);
  const seconds = (performance.now() - started) / 1000;
  if (exitCode !== 0 && exitCode !== 1) throw new Error(`scrub check exited with ${exitCode}`);
  if (results !== expected) throw new Error(`scrub check wrote ${results} results for ${expected} claims`);
  // To a tenth: the target is tested in MB, and a whole MiB could round 286.4 MiB (300.3 MB) under it.
  return { peakMiB: round(peakMiB, 1), claimsPerSecond: round(expected / seconds, 0) };
}

const READER_PASS = fileURLToPath(new URL('./x12-reader-pass.js', import.meta.url));

/** Timed passes of one reader over a file in a fresh process (bench/x12-reader-pass.ts). */
function readerPasses(mode: 'whole' | 'stream', file: string, passes: number, flags: readonly string[], expected: number): Promise<Rate[]> {
  return passesInOwnProcess(READER_PASS, [mode, file, String(passes)], flags, expected);
}

/** Both readers in turns, each in processes of its own with the same flags: medians over every pass. */
async function readerRates(file: string, claims: number, rounds: number, flags: readonly string[]): Promise<ReaderRates> {
  const stream: Rate[] = [];
  const whole: Rate[] = [];
  for (let i = 0; i < rounds; i++) {
    whole.push(...(await readerPasses('whole', file, 2, flags, claims)));
    stream.push(...(await readerPasses('stream', file, 2, flags, claims)));
  }
  const wall = (rates: Rate[]) => median(rates.map((r) => r.wall));
  const cpu = (rates: Rate[]) => median(rates.map((r) => r.cpu));
  return {
    streamClaimsPerSecond: round(wall(stream), 0),
    wholeClaimsPerSecond: round(wall(whole), 0),
    ratio: round(wall(stream) / wall(whole), 2),
    streamClaimsPerCpuSecond: round(cpu(stream), 0),
    wholeClaimsPerCpuSecond: round(cpu(whole), 0),
    cpuRatio: round(cpu(stream) / cpu(whole), 2),
  };
}

export async function x12StreamBench(quick: boolean, tables: BenchTables): Promise<X12StreamResult> {
  const big = await x12File(quick ? 100 : 1024);
  const small = await x12File(quick ? 20 : 50);
  const rounds = quick ? 2 : 3;
  const reader = await readerRates(small.file, small.claims, rounds, []);
  const checkHeap = await readerRates(small.file, small.claims, rounds, [`--heap-growing-percent=${BATCH_HEAP_GROWING_PERCENT}`]);
  const oneClaim = await checkRun(path.join(packageRoot, 'examples', 'claims', 'clean.837'), tables, 1);
  const check = await checkRun(big.file, tables, big.claims);
  return {
    fileMiB: round((await stat(big.file)).size / 2 ** 20, 0),
    claims: big.claims,
    peakMiB: check.peakMiB,
    oneClaimPeakMiB: oneClaim.peakMiB,
    checkClaimsPerSecond: check.claimsPerSecond,
    threads: 'default (one per core)',
    reader: { fileMiB: round((await stat(small.file)).size / 2 ** 20, 0), claims: small.claims, ...reader, checkHeap },
  };
}
