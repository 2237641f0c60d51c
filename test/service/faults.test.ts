import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

  it('after start-up, one process with a shutdown delay: every request on a kept-alive connection is answered', async () => {
    const server = await start(1, { SCRUB_SHUTDOWN_DELAY_MS: '1000' });
    await sigtermUnderLoad(server, 1000, 'SIGTERM after start-up (1 worker, delay 1000 ms)');
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
    const batch = streamBatch(server.url, 1500, (i) => JSON.stringify({ ...clean, claimId: `K-${i}` }), { onFirstResult: firstResult });
    await started;
    server.child.kill('SIGKILL');
    const run = await batch;
    const t = await load.stop(server.output());
    expect(run).toMatchObject({ status: 200, results: 1500 });
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

/**
 * The workers serving now, once there are `count` of them: they said they listen, still run, are
 * not being replaced, and are none of `without` (workers just stopped, which may still be draining).
 */
async function servingWorkers(server: RunningServer, count: number, without: number[] = [], timeoutMs = 60_000): Promise<number[]> {
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const output = server.output();
    const listening = [...output.matchAll(/"workerPid":(\d+)[^\n]*worker listening/g)].map((m) => Number(m[1]));
    const gone = new Set([...output.matchAll(/"workerPid":(\d+)[^\n]*"msg":"(worker died unexpectedly|worker stopped receiving connections)/g)].map((m) => Number(m[1])));
    const serving = listening.filter((pid) => !gone.has(pid) && !without.includes(pid) && alive(pid));
    if (serving.length === count) return serving;
    if (performance.now() > deadline) throw new Error(`not ${count} workers serving within ${timeoutMs} ms (${serving.join(', ')}):\n${output}`);
    await sleep(100);
  }
}

/**
 * One cluster of two workers through its faults, in turn: a flood against a lowered descriptor
 * limit, a worker that can take no connection, a worker sent SIGTERM, one sent SIGKILL, and at
 * last SIGTERM to the primary (no shutdown delay, as `npm start` runs). After each, the service
 * answers every request, on new connections too.
 */
describe('one cluster through its faults, under keep-alive load', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start(2, { SCRUB_HEADERS_TIMEOUT_MS: '2000' });
  });
  afterAll(async () => {
    if (server.child.exitCode === null && server.child.signalCode === null) await server.stop();
  });

  it('a flood of idle connections: past the budget they are refused and logged, the silent ones are closed, and every request is served during and after', async () => {
    // Each worker read its limit at start-up and says how many connections it holds at most (the
    // log is written asynchronously: the second line may follow the readiness a moment later).
    await server.waitForOutput(/("connection budget"[\s\S]*){2}/, 20_000);
    expect(server.output().match(/"fileLimit":\d+,"descriptorsInUse":\d+,"reserve":128,"maxConnections":\d+[^\n]*"connection budget"/g)).toHaveLength(2);
    // Lower both workers' limit; each reads it again within seconds and holds fewer connections.
    for (const pid of await servingWorkers(server, 2)) execFileSync('prlimit', ['--pid', String(pid), `--nofile=${WORKER_FILE_LIMIT}:${WORKER_FILE_LIMIT}`]);
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
  }, 120_000);

  it('a worker that can take no connection is replaced, and every later request is served', async () => {
    const [starved] = await servingWorkers(server, 2);
    // Leave it no descriptor at all: the next connection handed to it is lost on its way, and
    // the primary never hands it another.
    const open = new Set(readdirSync(`/proc/${starved}/fd`).map(Number));
    let lowestFree = 0;
    while (open.has(lowestFree)) lowestFree++;
    execFileSync('prlimit', ['--pid', String(starved), `--nofile=${lowestFree}:${lowestFree}`]);
    // New connections, one after another, until the primary notices and replaces it.
    const deadline = performance.now() + 60_000;
    while (!new RegExp(`"workerPid":${starved},"msg":"worker stopped receiving connections`).test(server.output())) {
      if (performance.now() > deadline) throw new Error(`the starved worker was never replaced:\n${server.output()}`);
      await request(server.url, { path: '/healthz', timeoutMs: 2000 }).catch(() => undefined);
    }
    await servingWorkers(server, 2, [starved!]);
    await expectServed(server, 20);
  }, 120_000);

  it('a worker sent SIGTERM drains with nothing lost, and another takes its place', async () => {
    const [stopped] = await servingWorkers(server, 2);
    const load = keepAliveLoad(server.url, clean, LOOPS);
    await load.answered(4 * LOOPS);
    process.kill(stopped!, 'SIGTERM');
    await servingWorkers(server, 2, [stopped!]);
    await expectServed(server, 10);
    expectNothingLost(await load.stop(server.output()), 'a worker sent SIGTERM');
  }, 120_000);

  it('a worker sent SIGKILL loses only what it held, and another takes its place', async () => {
    const [killed] = await servingWorkers(server, 2);
    const load = keepAliveLoad(server.url, clean, LOOPS);
    await load.answered(4 * LOOPS);
    const killedAt = performance.now();
    process.kill(killed!, 'SIGKILL');
    await servingWorkers(server, 2, [killed!]);
    await expectServed(server, 10);
    const t = await load.stop(server.output());
    console.info(`a worker sent SIGKILL: ${describeTally(t)}`);
    // What it held dies with it: at most one request per client, each sent about when it died
    // (on one of its kept-alive connections, or on a new one the primary was handing it then);
    // nothing sent later.
    expect(t.lost.length).toBeLessThanOrEqual(LOOPS);
    for (const a of t.lost) expect(a.startedAt - killedAt).toBeLessThan(1000);
    expect(t.unexpected).toEqual([]);
  }, 120_000);

  it('then SIGTERM to the primary: every request on a kept-alive connection is answered, and it exits 0', async () => {
    await sigtermUnderLoad(server, 0, 'SIGTERM after all that (2 workers, no delay)');
  }, 120_000);
});
