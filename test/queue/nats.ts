import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { connectQueue, type QueueConnection } from '../../src/queue/connect.js';
import { readQueueSettings } from '../../src/queue/settings.js';
import { ensureTopology } from '../../src/queue/topology.js';
import { packageRoot } from '../../src/paths.js';

/**
 * A real nats-server with JetStream for the queue tests: the one CI started (SCRUB_TEST_NATS_URL),
 * else one of our own on a free loopback port with its store in a temporary folder. Each test
 * uses its own queue name, so tests sharing a server never meet.
 */

export interface NatsServer {
  url: string;
  stop(): Promise<void>;
}

const NATS_BINARIES = ['nats-server', '/usr/sbin/nats-server', '/usr/bin/nats-server'];

function natsBinary(): string {
  for (const candidate of NATS_BINARIES) {
    if (spawnSync(candidate, ['--version'], { stdio: 'ignore' }).status === 0) return candidate;
  }
  throw new Error('the queue tests need nats-server with JetStream (Debian: apt-get install nats-server); .ci/run installs it');
}

let shared: Promise<NatsServer> | undefined;
const started: ChildProcess[] = [];
afterAll(async () => {
  for (const child of started) child.kill('SIGKILL');
});

export function natsServer(): Promise<NatsServer> {
  const ci = process.env.SCRUB_TEST_NATS_URL;
  if (ci) return Promise.resolve({ url: ci, stop: async () => undefined });
  return (shared ??= startNatsServer());
}

export async function startNatsServer(): Promise<NatsServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'scrub-nats-'));
  // -p -1: a free port, which the server prints.
  const child = spawn(natsBinary(), ['-js', '-a', '127.0.0.1', '-p', '-1', '-sd', dir, '-m', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nats-server did not start in 20 s:\n${output}`)), 20_000);
    const look = (chunk: Buffer) => {
      output += chunk.toString();
      const m = /Listening for client connections on (127\.0\.0\.1:\d+)/.exec(output);
      if (m && /Server is ready/.test(output)) {
        clearTimeout(timer);
        resolve(`nats://${m[1]}`);
      }
    };
    child.stdout!.on('data', look);
    child.stderr!.on('data', look);
    child.once('exit', (code) => reject(new Error(`nats-server exited (${code}):\n${output}`)));
  });
  return {
    url,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

let names = 0;
/** A queue name of its own for one test. */
export function uniqueQueueName(prefix = 't'): string {
  return `${prefix}${process.pid}x${Date.now().toString(36)}x${names++}`;
}

/**
 * JetStream reserves each claims stream's max_bytes out of the server's storage when the stream is
 * made. Every queue test file shares CI's one server, so a test queue asks for 64 MiB (enough for
 * the largest test batch) rather than the 2 GiB default, and its streams are deleted after the file.
 */
const TEST_QUEUE_MAX_BYTES = String(64 * 1024 ** 2);

const usedQueues = new Map<string, { url: string; name: string }>();

/** The environment of a worker or producer on this test's queue. */
export function queueEnv(url: string, name: string, extra: Record<string, string> = {}): Record<string, string> {
  usedQueues.set(`${url} ${name}`, { url, name });
  return envOf(url, name, extra);
}

function envOf(url: string, name: string, extra: Record<string, string> = {}): Record<string, string> {
  return { SCRUB_NATS_URL: url, SCRUB_QUEUE_NAME: name, SCRUB_QUEUE_MAX_BYTES: TEST_QUEUE_MAX_BYTES, ...extra };
}

afterAll(async () => {
  const used = [...usedQueues.values()];
  usedQueues.clear();
  for (const { url, name } of used) {
    const queue = await connectQueue(readQueueSettings(envOf(url, name)), 'test cleanup').catch(() => undefined);
    if (!queue) continue;
    for (const stream of [queue.names.claimsStream, queue.names.resultsStream, queue.names.deadStream]) {
      await queue.jsm.streams.delete(stream).catch(() => undefined);
    }
    await queue.nc.close();
  }
});

export async function openQueue(url: string, name: string, extra: Record<string, string> = {}): Promise<QueueConnection> {
  const queue = await connectQueue(readQueueSettings(queueEnv(url, name, extra)), 'test');
  try {
    await ensureTopology(queue);
  } catch (err) {
    await queue.nc.close();
    throw err;
  }
  return queue;
}

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  probes: string;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const workers = new Set<ChildProcess>();
afterAll(() => {
  for (const child of workers) child.kill('SIGKILL');
});

/** `scrub worker` in a child process, as operators run it; resolves when it says it is ready. */
export async function startWorker(env: Record<string, string>, args: string[] = []): Promise<WorkerProcess> {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(SCRUB_|PORT$|HOST$|LOG_LEVEL$|NODE_OPTIONS$|VITEST)/.test(k)) base[k] = v;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'worker', '--port', '0', ...args], {
    cwd: packageRoot,
    env: { ...base, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  workers.add(child);
  const chunks: string[] = [];
  child.stdout!.setEncoding('utf8').on('data', (c: string) => chunks.push(c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => chunks.push(c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      workers.delete(child);
      resolve({ code, signal });
    }),
  );
  const output = () => chunks.join('');
  const probes = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the worker did not start in 90 s:\n${output()}`)), 90_000);
    const look = () => {
      const m = /"probes":"(http:\/\/[^"]+)"[^\n]*"msg":"worker ready"/.exec(output());
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', look);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', look);
    void exited.then(({ code }) => reject(new Error(`the worker exited (${code}) before it was ready:\n${output()}`)));
  });
  return { child, pid: child.pid!, probes, output, exited };
}

/** Results on the server for a batch, by item: how many messages each result subject holds. */
export async function resultSubjects(queue: QueueConnection, batch: string): Promise<Map<string, number>> {
  const info = await queue.jsm.streams.info(queue.names.resultsStream, { subjects_filter: queue.names.result(batch, '*') });
  return new Map(Object.entries(info.state.subjects ?? {}));
}
