import { describe, expect, it } from 'vitest';
import { exampleClaim } from '../helpers.js';
import { describeTally, keepAliveLoad, request, startServer, streamBatch, tinyRulesFolder, workerPids, type LoadTally, type RunningServer } from './server.js';

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
