import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { BATCH_HEAP_GROWING_PERCENT } from '../src/cli/heap.js';
import { packageRoot } from '../src/paths.js';
import { CLI, cpuSecondsOf, memoryOf, startServer, stopServer } from './processes.js';
import { AS_OF, type BenchTables } from './setup.js';
import { round } from './stats.js';
import { checkRun, x12File } from './x12-stream.js';

/**
 * An X12 837 posted to POST /v1/scrub/batch, read as it arrives (issue 20, target 2, its HTTP
 * half). One service process (`scrub serve --workers 1`): the peak RSS (VmHWM) after a one-claim
 * 837 is posted (what packs, tables and the service cost alone), then after a generated 837P of
 * 100 MiB (20 MiB with --quick) is posted chunked from disk, its results read as NDJSON as they
 * come. Throughput against `scrub check --jobs 1` over the same file, in the same run (the route
 * scrubs one batch on one thread, as --jobs 1 does). Twice: the service as shipped (V8's default
 * heap sizing), and with `--heap-growing-percent=20` on its node command line, the factor
 * `scrub check` sets for itself (src/cli/heap.ts): the live data is the same, the peak follows
 * how far V8 lets the heap grow between full collections.
 */

export interface X12HttpResult extends ServiceRun {
  fileMiB: number;
  claims: number;
  checkClaimsPerSecond: number;
  /** HTTP / scrub check --jobs 1, claims per second. */
  ratio: number;
  /** The same service started with `node --heap-growing-percent=20`. */
  tightHeap: ServiceRun & { ratio: number };
}

interface ServiceRun {
  /** Peak RSS of the service after the large 837 was posted, MiB. */
  peakMiB: number;
  /** Peak RSS of the service after a one-claim 837 was posted. */
  oneClaimPeakMiB: number;
  httpClaimsPerSecond: number;
  /** Claims per CPU second of the service process over the large post. */
  httpClaimsPerCpuSecond: number;
}

/** Posts a file chunked (no Content-Length), reading its NDJSON results as they come; how many lines came back. */
async function post(url: string, file: string): Promise<number> {
  const target = new URL(`/v1/scrub/batch?asOf=${AS_OF}`, url);
  let lines = 0;
  let status = 0;
  const answered = new Promise<void>((resolve, reject) => {
    const req = http.request(target, { method: 'POST', headers: { 'content-type': 'application/edi-x12', accept: 'application/x-ndjson', 'transfer-encoding': 'chunked' } }, (res) => {
      status = res.statusCode ?? 0;
      res.on('data', (chunk: Buffer) => {
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
      });
      res.on('end', resolve);
      res.on('error', reject);
    });
    req.on('error', reject);
    pipeline(createReadStream(file, { highWaterMark: 1 << 16 }), req).catch(reject);
  });
  await answered;
  if (status !== 200) throw new Error(`POST /v1/scrub/batch answered ${status}`);
  return lines;
}

/** One service process: its peak after a one-claim 837, then after the large one. */
async function serviceRun(big: { file: string; claims: number }, env: Record<string, string>, flags: readonly string[]): Promise<ServiceRun> {
  const server = await startServer([...flags, CLI, 'serve', '--port', '0', '--workers', '1'], env);
  try {
    const pid = server.child.pid!;
    const oneClaim = path.join(packageRoot, 'examples', 'claims', 'clean.837');
    // Twice: the first post also loads what a first request loads (lazily compiled code).
    for (let i = 0; i < 2; i++) if ((await post(server.url, oneClaim)) !== 1) throw new Error('the one-claim 837 did not give one result');
    const oneClaimPeakMiB = (await memoryOf(pid))?.peakMiB ?? Number.NaN;
    const cpuBefore = (await cpuSecondsOf(pid)) ?? Number.NaN;
    const started = performance.now();
    const results = await post(server.url, big.file);
    const seconds = (performance.now() - started) / 1000;
    const cpu = ((await cpuSecondsOf(pid)) ?? Number.NaN) - cpuBefore;
    if (results !== big.claims) throw new Error(`POST /v1/scrub/batch gave ${results} results for ${big.claims} claims`);
    const peakMiB = (await memoryOf(pid))?.peakMiB ?? Number.NaN;
    return {
      peakMiB: round(peakMiB, 0),
      oneClaimPeakMiB: round(oneClaimPeakMiB, 0),
      httpClaimsPerSecond: round(big.claims / seconds, 0),
      httpClaimsPerCpuSecond: round(big.claims / cpu, 0),
    };
  } finally {
    await stopServer(server);
  }
}

export async function x12HttpBench(quick: boolean, tables: BenchTables): Promise<X12HttpResult> {
  const big = await x12File(quick ? 20 : 100);
  const bytes = (await stat(big.file)).size;
  const env = {
    ...tables.env,
    SCRUB_AUTH: 'off',
    LOG_LEVEL: 'info',
    SCRUB_RATE_LIMIT: '0',
    SCRUB_BATCH_BODY_LIMIT: String(bytes + 2 ** 20),
    SCRUB_BATCH_MAX_CLAIMS: String(big.claims + 1),
  };
  const shipped = await serviceRun(big, env, []);
  const check = await checkRun(big.file, tables, big.claims, ['--jobs', '1']);
  const tight = await serviceRun(big, env, [`--heap-growing-percent=${BATCH_HEAP_GROWING_PERCENT}`]);
  return {
    fileMiB: round(bytes / 2 ** 20, 0),
    claims: big.claims,
    ...shipped,
    checkClaimsPerSecond: check.claimsPerSecond,
    ratio: round(shipped.httpClaimsPerSecond / check.claimsPerSecond, 2),
    tightHeap: { ...tight, ratio: round(tight.httpClaimsPerSecond / check.claimsPerSecond, 2) },
  };
}
