import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { claimsFile } from './batch.js';
import { CLI } from './processes.js';
import { AS_OF, type BenchTables } from './setup.js';
import { round } from './stats.js';

/**
 * The queue: claims/s from `scrub submit` to the last result collected by `scrub results`,
 * through 1, 2 and 4 `scrub worker` processes on a nats-server with JetStream started here, against
 * the in-process batch (`scrub check --format ndjson`, one thread and as shipped) over the same
 * file in the same run. Submit and collect run alongside the workers, as they would.
 */

export interface QueueRun {
  workers: number;
  seconds: number;
  claimsPerSecond: number;
}

export interface QueueResult {
  available: boolean;
  note?: string;
  claims?: number;
  batch?: { jobs1: number; shipped: number };
  runs?: QueueRun[];
  /** Queue claims/s over the batch's: 1 worker vs --jobs 1, 2 and 4 workers vs the batch as shipped (a thread per core). */
  ratios?: { oneVsJobs1: number; twoVsShipped: number; fourVsShipped: number };
}

function natsBinary(): string | undefined {
  for (const candidate of ['nats-server', '/usr/sbin/nats-server']) if (spawnSync(candidate, ['--version'], { stdio: 'ignore' }).status === 0) return candidate;
  return undefined;
}

async function startNats(binary: string, dir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(binary, ['-js', '-a', '127.0.0.1', '-p', '-1', '-sd', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let seen = '';
  const url = await new Promise<string>((resolve, reject) => {
    const look = (c: Buffer) => {
      seen += c.toString();
      const m = /Listening for client connections on (127\.0\.0\.1:\d+)/.exec(seen);
      if (m && /Server is ready/.test(seen)) resolve(`nats://${m[1]}`);
    };
    child.stdout!.on('data', look);
    child.stderr!.on('data', look);
    child.once('exit', (code) => reject(new Error(`nats-server exited (${code}): ${seen}`)));
  });
  return { child, url };
}

function startWorker(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, 'worker', '--port', '0', '--fetch', '128'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let seen = '';
    child.stdout!.on('data', (c: Buffer) => {
      if (seen.length < 20_000) seen += c.toString();
      if (seen.includes('"msg":"worker ready"')) resolve(child);
    });
    child.stderr!.on('data', (c: Buffer) => (seen += c.toString()));
    child.once('exit', (code) => reject(new Error(`a worker exited (${code}) before it was ready: ${seen.slice(-1000)}`)));
  });
}

async function run(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => {
    if (stderr.length < 5000) stderr += c.toString();
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0 && code !== 1) throw new Error(`scrub ${args[0]} exited with ${code}: ${stderr}`);
  return code;
}

async function timed(task: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await task();
  return (performance.now() - started) / 1000;
}

export async function queueBench(quick: boolean, tables: BenchTables): Promise<QueueResult> {
  const binary = natsBinary();
  if (!binary) return { available: false, note: 'nats-server is not installed (apt-get install nats-server)' };
  const claims = quick ? 5000 : 50_000;
  const file = await claimsFile(claims, tables);
  const env = { ...process.env, ...tables.env, LOG_LEVEL: 'warn' };
  const batchSeconds = async (jobs: string[]) => timed(() => run(['check', '--format', 'ndjson', '--as-of', AS_OF, ...jobs, file], env));
  const dir = await mkdtemp(path.join(os.tmpdir(), 'scrub-bench-nats-'));
  const nats = await startNats(binary, dir);
  try {
    const runs: QueueRun[] = [];
    const batch = { jobs1: 0, shipped: 0 };
    for (const workers of [1, 2, 4]) {
      // The batch figures are taken between the queue runs, so that drift on a shared machine hits both.
      if (workers === 1) batch.jobs1 = round(claims / (await batchSeconds(['--jobs', '1'])), 0);
      if (workers === 2) batch.shipped = round(claims / (await batchSeconds([])), 0);
      const queueEnv = { ...env, SCRUB_NATS_URL: nats.url, SCRUB_QUEUE_NAME: `bench${workers}x${Date.now().toString(36)}` };
      // info: a worker says it is ready at that level (it logs nothing per claim).
      const started = await Promise.all(Array.from({ length: workers }, () => startWorker({ ...queueEnv, LOG_LEVEL: 'info' })));
      const batchId = `bench-${workers}`;
      const seconds = await timed(() =>
        Promise.all([run(['submit', '--quiet', '--as-of', AS_OF, '--batch', batchId, file], queueEnv), run(['results', '--quiet', '--batch', batchId, '--timeout', '300'], queueEnv)]),
      );
      runs.push({ workers, seconds: round(seconds, 1), claimsPerSecond: round(claims / seconds, 0) });
      for (const w of started) w.kill('SIGTERM');
      await Promise.all(started.map((w) => once(w, 'exit')));
    }
    const at = (n: number) => runs.find((r) => r.workers === n)!.claimsPerSecond;
    return {
      available: true,
      claims,
      batch,
      runs,
      ratios: { oneVsJobs1: round(at(1) / batch.jobs1, 2), twoVsShipped: round(at(2) / batch.shipped, 2), fourVsShipped: round(at(4) / batch.shipped, 2) },
    };
  } finally {
    nats.child.kill('SIGTERM');
    await once(nats.child, 'exit');
    await rm(dir, { recursive: true, force: true });
  }
}
