import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { exampleClaim } from '../helpers.js';
import { describeTally, keepAliveLoad, request, sleep, startServer, streamBatch, tinyRulesFolder, workerPids, type LoadTally, type RunningServer } from './server.js';

/**
 * Faults under load, on the real service: SIGTERM at several moments during and after start-up,
 * the primary or a worker killed, a flood of idle connections against a lowered descriptor
 * limit. Clients keep connections alive and send back to back, as billing systems and load
 * balancers do. Each time, no request whose connection the service accepted goes unanswered:
 * every one gets its answer, or 503 shutting-down (send it again elsewhere); a client may only
 * find the port closed.
 */

const clean = exampleClaim('clean.json');
const LOOPS = 8;
const DEADLINE_MS = 8000;
/** The flood test's per-worker descriptor limit: a budget of about 150 connections each. */
const WORKER_FILE_LIMIT = 300;

function expectNothingLost(t: LoadTally, label: string): void {
  console.info(`${label}: ${describeTally(t)}`);
  expect(t.lost, label).toEqual([]);
  expect(t.unexpected, label).toEqual([]);
}

async function start(workers: number, env: Record<string, string> = {}, untilFirstWorker = false): Promise<RunningServer> {
  return startServer({ workers, untilFirstWorker, env: { SCRUB_RULES_DIR: await tinyRulesFolder(), SCRUB_SHUTDOWN_DEADLINE_MS: String(DEADLINE_MS), ...env } });
}

/** SIGTERM once the load is under way; the service must drain and exit 0 before the deadline. */
async function sigtermUnderLoad(server: RunningServer, delayMs: number, label: string): Promise<void> {
  const load = keepAliveLoad(server.url, clean, LOOPS);
  await load.answered(4 * LOOPS);
  const signalledAt = performance.now();
  server.child.kill('SIGTERM');
  const exit = await server.exited;
  const tookMs = performance.now() - signalledAt;
  const t = await load.stop(server.output());
  expectNothingLost(t, `${label} (exit after ${Math.round(tookMs)} ms)`);
  expect(exit).toEqual({ code: 0, signal: null });
  expect(tookMs).toBeLessThan(delayMs + DEADLINE_MS);
}

describe('SIGTERM under keep-alive load', () => {
  it('while the second worker is still starting: it never serves, and nothing is lost', async () => {
    // The bundled packs take a few seconds to load: the second worker is still loading them.
    const server = await startServer({ workers: 2, untilFirstWorker: true, env: { SCRUB_SHUTDOWN_DEADLINE_MS: String(DEADLINE_MS) } });
    await sigtermUnderLoad(server, 0, 'SIGTERM during start-up (2 workers)');
    expect(server.output()).not.toMatch(/did not stop in time/);
  }, 120_000);

  it.each([
    { workers: 1, delayMs: 0 },
    { workers: 2, delayMs: 0 },
    { workers: 2, delayMs: 1000 },
  ])('after start-up ($workers worker(s), shutdown delay $delayMs ms): every request on a kept-alive connection is answered', async ({ workers, delayMs }) => {
    const server = await start(workers, { SCRUB_SHUTDOWN_DELAY_MS: String(delayMs) });
    await sigtermUnderLoad(server, delayMs, `SIGTERM after start-up (${workers} workers, delay ${delayMs} ms)`);
  }, 120_000);
});

describe('the primary killed (SIGKILL)', () => {
  it('leaves its workers to finish what they hold, then exit', async () => {
    const server = await start(2);
    const pids = await workerPids(server, 2);
    const load = keepAliveLoad(server.url, clean, LOOPS);
    await load.answered(4 * LOOPS);
    // A long batch in flight on one of them.
    let firstResult!: () => void;
    const started = new Promise<void>((r) => (firstResult = r));
    const batch = streamBatch(server.url, 3000, (i) => JSON.stringify({ ...clean, claimId: `K-${i}` }), { onFirstResult: firstResult });
    await started;
    server.child.kill('SIGKILL');
    const run = await batch;
    const t = await load.stop(server.output());
    expect(run).toMatchObject({ status: 200, results: 3000 });
    expectNothingLost(t, 'primary SIGKILLed');
    // Both workers exit by themselves, within the deadline.
    const until = performance.now() + DEADLINE_MS;
    const alive = () => pids.filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
    while (alive().length > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(alive()).toEqual([]);
  }, 120_000);
});

/** Opens `count` connections that never send a byte; resolves once each is open or closed. */
async function idleConnections(port: number, count: number): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<void>((resolve) => {
          const socket = net.connect(port, '127.0.0.1');
          sockets.push(socket);
          socket.once('connect', () => resolve());
          socket.once('close', () => resolve());
          socket.on('error', () => undefined);
        }),
    ),
  );
  return sockets;
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** Every one of `count` requests on a new connection each, answered 200. */
async function expectServed(server: RunningServer, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const answer = await request(server.url, { path: i % 2 ? '/healthz' : '/v1/scrub', ...(i % 2 ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(clean) }), timeoutMs: 5000 });
    expect(answer.status).toBe(200);
  }
}

describe('a flood of idle connections against a lowered descriptor limit', () => {
  it('refuses what is past the budget and says so, closes the silent ones, and serves every request during and after', async () => {
    const server = await start(2, { SCRUB_HEADERS_TIMEOUT_MS: '2000' });
    try {
      // Each worker read its limit at start-up and says how many connections it holds at most.
      expect(server.output().match(/"fileLimit":\d+,"descriptorsInUse":\d+,"reserve":128,"maxConnections":\d+[^\n]*"connection budget"/g)).toHaveLength(2);
      // Lower both workers' limit; each reads it again within seconds and holds fewer connections.
      for (const pid of await workerPids(server, 2)) execFileSync('prlimit', ['--pid', String(pid), `--nofile=${WORKER_FILE_LIMIT}:${WORKER_FILE_LIMIT}`]);
      await server.waitForOutput(new RegExp(`("fileLimit":${WORKER_FILE_LIMIT}[^\\n]*the file descriptor limit changed[\\s\\S]*){2}`), 20_000);
      const budgets = [...server.output().matchAll(/"fileLimit":\d+,"maxConnections":(\d+)[^\n]*the file descriptor limit changed/g)].map((m) => Number(m[1]));
      for (const b of budgets) expect(b).toBeLessThan(WORKER_FILE_LIMIT - 128);
      const load = keepAliveLoad(server.url, clean, 4);
      await load.answered(20);
      const flood = await idleConnections(server.port, 2 * WORKER_FILE_LIMIT);
      await server.waitForOutput(/connections refused: this process holds as many as its descriptor budget allows/, 20_000);
      // Kept-alive clients go on being served while the flood holds every connection it can.
      const before = load.attempts.filter((a) => a.status === 200).length;
      await load.answered(before + 20);
      // Connections that send nothing are closed after SCRUB_HEADERS_TIMEOUT_MS; the refused at once.
      await until(() => flood.every((s) => s.closed), 30_000, 'the service closing every idle connection');
      await server.waitForOutput(/closed connections that sent nothing within SCRUB_HEADERS_TIMEOUT_MS/);
      await expectServed(server, 20);
      expectNothingLost(await load.stop(server.output()), `flood of ${2 * WORKER_FILE_LIMIT} idle connections, 2 workers limited to ${WORKER_FILE_LIMIT} files`);
    } finally {
      await server.stop();
    }
  }, 120_000);

  it('replaces a worker that stops receiving connections, and serves every later request', async () => {
    const server = await start(2);
    try {
      const pids = await workerPids(server, 2);
      // Leave the first worker no descriptor at all: the next connection handed to it is lost on
      // its way, and the primary never hands it another.
      const open = new Set(readdirSync(`/proc/${pids[0]}/fd`).map(Number));
      let lowestFree = 0;
      while (open.has(lowestFree)) lowestFree++;
      execFileSync('prlimit', ['--pid', String(pids[0]), `--nofile=${lowestFree}:${lowestFree}`]);
      // New connections, one after another, until the primary notices and replaces it.
      const deadline = performance.now() + 60_000;
      while (!/worker stopped receiving connections[\s\S]*worker listening/.test(server.output())) {
        if (performance.now() > deadline) throw new Error(`the starved worker was never replaced:\n${server.output()}`);
        await request(server.url, { path: '/healthz', timeoutMs: 2000 }).catch(() => undefined);
      }
      expect(server.output()).toContain(`"workerPid":${pids[0]},"msg":"worker stopped receiving connections`);
      await expectServed(server, 20);
    } finally {
      await server.stop();
    }
  }, 120_000);
});

describe('a worker killed under keep-alive load', () => {
  it('with SIGTERM, drains with nothing lost; with SIGKILL, loses only what it held; each time another takes its place', async () => {
    const server = await start(2);
    try {
      const [first, second] = await workerPids(server, 2);
      const load = keepAliveLoad(server.url, clean, LOOPS);
      await load.answered(4 * LOOPS);
      process.kill(first!, 'SIGTERM');
      await server.waitForOutput(new RegExp(`"workerPid":${first}[^\\n]*worker died unexpectedly[\\s\\S]*worker listening`), 60_000);
      await expectServed(server, 10);
      const afterTerm = await load.stop(server.output());
      expectNothingLost(afterTerm, 'a worker sent SIGTERM');

      const again = keepAliveLoad(server.url, clean, LOOPS);
      await again.answered(4 * LOOPS);
      const killedAt = performance.now();
      process.kill(second!, 'SIGKILL');
      await server.waitForOutput(new RegExp(`"workerPid":${second}[^\\n]*worker died unexpectedly[\\s\\S]*worker listening`), 60_000);
      await expectServed(server, 10);
      const afterKill = await again.stop(server.output());
      console.info(`a worker sent SIGKILL: ${describeTally(afterKill)}`);
      // What it held dies with it: at most one request on each of its kept-alive connections,
      // cut as it died; nothing on a new connection.
      expect(afterKill.lost.length).toBeLessThanOrEqual(LOOPS);
      for (const a of afterKill.lost) {
        expect(a.reused).toBe(true);
        expect(a.finishedAt - killedAt).toBeLessThan(2000);
      }
      expect(afterKill.unexpected).toEqual([]);
    } finally {
      expect(await server.stop()).toEqual({ code: 0, signal: null });
    }
  }, 180_000);
});
