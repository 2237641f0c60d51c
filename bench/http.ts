import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Scrubber } from '../src/engine/scrubber.js';
import { generateWorkload } from '../test/support/workload.js';
import { CLI, cpuSecondsOf, startServer, stopServer, type Started } from './processes.js';
import { AS_OF, BENCH_PAYERS, DATA_DIR, benchPacks, type BenchTables } from './setup.js';
import { median, round } from './stats.js';

/**
 * HTTP: requests/s and p99 latency of POST /v1/scrub on `scrub serve` (the built CLI), against
 * a bare Fastify route returning the same bytes, all driven by autocannon over loopback from
 * this process with the same claims; and, for reference, the bare route running the
 * hand-written checks. Runs take turns between the servers; figures are medians of the runs.
 * Then `scrub serve --workers 1` and `--workers 2`, when the CLI has them.
 */

export interface LoadFigures {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
}

export interface HttpResult {
  connections: number;
  seconds: number;
  runs: number;
  claims: number;
  /** Bodies from `scrub serve` equal to the precomputed ones the bare route returns. */
  bodiesChecked: number;
  scrub: LoadFigures;
  bare: LoadFigures;
  /** The same bare route running the hand-written baseline checks on each claim. */
  handWritten: LoadFigures;
  /** scrub requests/s divided by bare requests/s (target: at least 0.7). */
  ratio: number;
  /** hand-written requests/s divided by bare requests/s: what the checks alone cost over HTTP. */
  handWrittenRatio: number;
  logLevel: string;
  workers?: WorkersResult;
}

export interface WorkersResult {
  available: boolean;
  note?: string;
  one?: LoadFigures & CpuPerRequest;
  two?: LoadFigures & CpuPerRequest;
  /** requests/s with 2 workers divided by with 1 (target: at least 1.6 on 2 cores). */
  ratio?: number;
}

/**
 * CPU microseconds per request, of the service (all its processes) and of autocannon (this
 * process), which share the machine's cores: whether a worker costs more per request when
 * there are two, and how much of the cores the load generator takes.
 */
export interface CpuPerRequest {
  serviceCpuMicros?: number;
  autocannonCpuMicros?: number;
}

export interface Target {
  url: string;
  requests: Array<{ method: 'POST'; path: string; headers: Record<string, string>; body: string }>;
}

export function load(target: Target, connections: number, seconds: number): Promise<LoadFigures> {
  return new Promise((resolve, reject) => {
    autocannon(
      { url: target.url, connections, duration: seconds, pipelining: 1, requests: target.requests },
      (error: Error | null, result: autocannon.Result) => {
        if (error) return reject(error);
        resolve({
          requestsPerSecond: round(result.requests.average, 0),
          p50Ms: result.latency.p50,
          p99Ms: result.latency.p99,
          non2xx: result.non2xx,
          errors: result.errors,
        });
      },
    );
  });
}

function medianFigures(runs: LoadFigures[]): LoadFigures {
  return {
    requestsPerSecond: round(median(runs.map((r) => r.requestsPerSecond)), 0),
    p50Ms: round(median(runs.map((r) => r.p50Ms)), 2),
    p99Ms: round(median(runs.map((r) => r.p99Ms)), 2),
    non2xx: runs.reduce((n, r) => n + r.non2xx, 0),
    errors: runs.reduce((n, r) => n + r.errors, 0),
  };
}

/** Whether the built CLI's serve command knows --workers (it is being built on another branch). */
export function serveHasWorkers(): boolean {
  try {
    return /--workers/.test(execFileSync(process.execPath, [CLI, 'serve', '--help'], { encoding: 'utf8' }));
  } catch {
    return false;
  }
}

export async function http(quick: boolean, tables: BenchTables): Promise<HttpResult> {
  const { packs, codes } = await benchPacks(tables);
  const scrubber = new Scrubber(packs);
  const claims = generateWorkload(quick ? 100 : 300, { seed: 21, payerIds: BENCH_PAYERS, codes });
  const bodies = claims.map((c) => JSON.stringify(c));
  const responses: Array<[string, string]> = [];
  for (const claim of claims) {
    const result = await scrubber.scrub(claim, { asOf: AS_OF });
    responses.push([(claim as { claimId: string }).claimId, JSON.stringify(result)]);
  }
  const responsesFile = path.join(DATA_DIR, 'http-responses.json');
  await writeFile(responsesFile, JSON.stringify(responses));
  const requests = bodies.map((body) => ({ method: 'POST' as const, path: `/v1/scrub?asOf=${AS_OF}`, headers: { 'content-type': 'application/json' }, body }));

  // The service as deployed (logging at info, security headers, metrics), in one process like
  // the bare route, with its per-client rate limit off: one client sends far past 12,000 a minute.
  const logLevel = 'info';
  const env = { ...tables.env, LOG_LEVEL: logLevel, SCRUB_RATE_LIMIT: '0' };
  const connections = 10;
  const seconds = quick ? 3 : 10;
  const runs = quick ? 1 : 3;
  const bareScript = fileURLToPath(new URL('./bare-server.js', import.meta.url));
  const serve = await startServer([CLI, 'serve', '--port', '0', '--workers', '1'], env);
  const bare = await startServer([bareScript, '--responses', responsesFile], env);
  const hand = await startServer([bareScript, '--hand-written'], env);
  try {
    // The comparison holds only if they return the same bytes.
    let checked = 0;
    for (let i = 0; i < Math.min(claims.length, 50); i++) {
      for (const server of [serve, hand]) {
        const r = await fetch(`${server.url}/v1/scrub?asOf=${AS_OF}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bodies[i] });
        const text = await r.text();
        if (text !== responses[i]![1]) throw new Error(`${server.url} and the in-process scrubber disagree on claim ${i}:\n${text}\n${responses[i]![1]}`);
      }
      checked++;
    }
    const servers = [serve, bare, hand];
    const figures: LoadFigures[][] = servers.map(() => []);
    for (const s of servers) await load({ url: s.url, requests }, connections, 2); // warm-up
    for (let r = 0; r < runs; r++) {
      // Take turns, in a different order each run.
      const order = r % 2 === 0 ? [0, 1, 2] : [2, 1, 0];
      for (const k of order) figures[k]!.push(await load({ url: servers[k]!.url, requests }, connections, seconds));
    }
    const [scrubRuns, bareRuns, handRuns] = figures as [LoadFigures[], LoadFigures[], LoadFigures[]];
    const ratioOf = (runsOf: LoadFigures[]) => round(median(runsOf.map((s, i) => s.requestsPerSecond / bareRuns[i]!.requestsPerSecond)), 3);
    return {
      connections,
      seconds,
      runs,
      claims: claims.length,
      bodiesChecked: checked,
      scrub: medianFigures(scrubRuns),
      bare: medianFigures(bareRuns),
      handWritten: medianFigures(handRuns),
      ratio: ratioOf(scrubRuns),
      handWrittenRatio: ratioOf(handRuns),
      logLevel,
    };
  } finally {
    await stopServer(serve);
    await stopServer(bare);
    await stopServer(hand);
  }
}

/** POST /v1/scrub of generated claims (small code tables: the claims are the same either way). */
export async function workloadRequests(count: number, seed: number): Promise<Target['requests']> {
  const { codes } = await benchPacks({ env: {}, fullSize: false, description: '' });
  const claims = generateWorkload(count, { seed, payerIds: BENCH_PAYERS, codes });
  return claims.map((c) => ({ method: 'POST' as const, path: `/v1/scrub?asOf=${AS_OF}`, headers: { 'content-type': 'application/json' }, body: JSON.stringify(c) }));
}

/** The service as deployed (logging at info), its per-client rate limit off: one client sends far past it. */
export function deployedEnv(tables: BenchTables): Record<string, string> {
  return { ...tables.env, LOG_LEVEL: 'info', SCRUB_RATE_LIMIT: '0' };
}

/**
 * 1 vs 2 workers of `scrub serve --workers N`, same claims; skipped with a note when absent.
 * Both services run throughout and take turns under load, in a different order each run, so
 * that a slow spell on a shared machine falls on both; figures are medians of the runs.
 */
export async function workers(quick: boolean, tables: BenchTables): Promise<WorkersResult> {
  if (!serveHasWorkers()) return { available: false, note: '`scrub serve --workers N` is not in this build yet (it is being built on another branch); skipped' };
  const requests = await workloadRequests(quick ? 100 : 300, 22);
  const env = deployedEnv(tables);
  const seconds = quick ? 3 : 10;
  const runs = quick ? 1 : 3;
  const connections = 16;
  const one: Started = await startServer([CLI, 'serve', '--port', '0', '--workers', '1'], env);
  try {
    const two: Started = await startServer([CLI, 'serve', '--port', '0', '--workers', '2'], env);
    try {
      const servers = [one, two];
      const figures: LoadFigures[][] = [[], []];
      const cpu: Array<{ service: number[]; client: number[] }> = [0, 1].map(() => ({ service: [], client: [] }));
      for (const s of servers) await load({ url: s.url, requests }, connections, 2); // warm-up
      for (let r = 0; r < runs; r++) {
        for (const k of r % 2 === 0 ? [0, 1] : [1, 0]) {
          const pid = servers[k]!.child.pid!;
          const serviceBefore = await cpuSecondsOf(pid);
          const clientBefore = process.cpuUsage();
          const f = await load({ url: servers[k]!.url, requests }, connections, seconds);
          const client = process.cpuUsage(clientBefore);
          const serviceAfter = await cpuSecondsOf(pid);
          const served = f.requestsPerSecond * seconds;
          figures[k]!.push(f);
          cpu[k]!.client.push((client.user + client.system) / served);
          if (serviceBefore !== undefined && serviceAfter !== undefined) cpu[k]!.service.push(((serviceAfter - serviceBefore) * 1e6) / served);
        }
      }
      const [oneRuns, twoRuns] = figures as [LoadFigures[], LoadFigures[]];
      const perRequest = (k: number): CpuPerRequest => {
        const { service, client } = cpu[k]!;
        return { ...(service.length > 0 ? { serviceCpuMicros: round(median(service), 0) } : {}), autocannonCpuMicros: round(median(client), 0) };
      };
      return {
        available: true,
        one: { ...medianFigures(oneRuns), ...perRequest(0) },
        two: { ...medianFigures(twoRuns), ...perRequest(1) },
        ratio: round(median(twoRuns.map((t, i) => t.requestsPerSecond / oneRuns[i]!.requestsPerSecond)), 2),
      };
    } finally {
      await stopServer(two);
    }
  } finally {
    await stopServer(one);
  }
}
