import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { once } from 'node:events';
import { ndjsonItems } from '../src/formats/ndjson.js';
import { claimsFile } from './batch.js';
import { CLI } from './processes.js';
import { AS_OF, type BenchTables } from './setup.js';
import { median, round } from './stats.js';

/**
 * NDJSON against its physical floor: reading the batch file and JSON.parse of each line, nothing
 * else, on one thread. Measured against it, in alternating passes over the same file: the
 * project's NDJSON reader (`ndjsonItems`: UTF-8 check, line numbers, prototype keys and depth
 * refused, line items), and the whole of `scrub check --jobs 1 --format ndjson` (reading,
 * scrubbing, writing) as a user runs it.
 */

export interface NdjsonResult {
  claims: number;
  fileMiB: number;
  passes: number;
  /** Read and JSON.parse per line: the floor. */
  floorClaimsPerSecond: number;
  readerClaimsPerSecond: number;
  /** Reader / floor, the median of the passes' ratios (target: >= 0.85). */
  readerRatio: number;
  checkClaimsPerSecond: number;
  /** `scrub check --jobs 1` / floor (target: >= 0.1). */
  checkRatio: number;
}

/** The floor: bytes from the file, split at line breaks, each line decoded and parsed. */
async function floorPass(file: string): Promise<number> {
  let claims = 0;
  let tail: Buffer | undefined;
  for await (const read of createReadStream(file) as AsyncIterable<Buffer>) {
    const chunk = tail ? Buffer.concat([tail, read]) : read;
    let start = 0;
    for (let end = chunk.indexOf(10, start); end !== -1; end = chunk.indexOf(10, start)) {
      if (end > start) {
        JSON.parse(chunk.toString('utf8', start, end));
        claims++;
      }
      start = end + 1;
    }
    tail = start < chunk.length ? chunk.subarray(start) : undefined;
  }
  return claims;
}

async function readerPass(file: string): Promise<number> {
  let claims = 0;
  for await (const item of ndjsonItems(createReadStream(file))) if ('input' in item) claims++;
  return claims;
}

async function timed(pass: () => Promise<number>, expected: number): Promise<number> {
  const started = performance.now();
  const claims = await pass();
  const seconds = (performance.now() - started) / 1000;
  if (claims !== expected) throw new Error(`a pass read ${claims} claims, not ${expected}`);
  return claims / seconds;
}

async function checkPass(file: string, tables: BenchTables): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, [CLI, 'check', '--format', 'ndjson', '--as-of', AS_OF, '--jobs', '1', file], {
    env: { ...process.env, ...tables.env },
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  const [exitCode] = (await once(child, 'exit')) as [number | null];
  if (exitCode !== 0 && exitCode !== 1) throw new Error(`scrub check exited with ${exitCode}`);
  return (performance.now() - started) / 1000;
}

export async function ndjsonBench(quick: boolean, tables: BenchTables): Promise<NdjsonResult> {
  const claims = quick ? 20_000 : 1_000_000;
  const file = await claimsFile(claims, tables);
  const { size } = await stat(file);
  const passes = quick ? 2 : 3;
  const floor: number[] = [];
  const reader: number[] = [];
  await floorPass(file); // the file into the page cache, the code warm
  for (let i = 0; i < passes; i++) {
    floor.push(await timed(() => floorPass(file), claims));
    reader.push(await timed(() => readerPass(file), claims));
  }
  const checkSeconds = await checkPass(file, tables);
  const floorClaimsPerSecond = median(floor);
  const readerClaimsPerSecond = median(reader);
  const checkClaimsPerSecond = claims / checkSeconds;
  return {
    claims,
    fileMiB: round(size / 2 ** 20, 0),
    passes,
    floorClaimsPerSecond: round(floorClaimsPerSecond, 0),
    readerClaimsPerSecond: round(readerClaimsPerSecond, 0),
    // Each reader pass against the floor pass just before it: the neighbours' load shifts both.
    readerRatio: round(median(reader.map((r, i) => r / floor[i]!)), 3),
    checkClaimsPerSecond: round(checkClaimsPerSecond, 0),
    checkRatio: round(checkClaimsPerSecond / floorClaimsPerSecond, 3),
  };
}
