import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { exampleClaim } from '../helpers.js';
import { keepScrubbing, request, sleep, startServer, streamBatch, tinyRulesFolder, type RunningServer } from './server.js';

/**
 * SIGTERM while the service is busy: readiness turns false first, every request already in
 * flight (long streamed batches, short single scrubs) finishes in full, and the process exits 0.
 */

const clean = exampleClaim('clean.json');
const line = (prefix: string) => (i: number) => JSON.stringify({ ...clean, claimId: `${prefix}-${i}` });
const BATCHES = 4;
const CLAIMS_PER_BATCH = 6000;
const SHUTDOWN_DELAY_MS = 1000;

async function drainUnderLoad(server: RunningServer): Promise<void> {
  // Long batches, each sure to be in flight (a first result back) before the signal.
  const started: Array<Promise<void>> = [];
  const batches = Array.from({ length: BATCHES }, (_, b) => {
    let firstResult!: () => void;
    started.push(new Promise<void>((r) => (firstResult = r)));
    let inOrder = true;
    return streamBatch(server.url, CLAIMS_PER_BATCH, line(`S${b}`), {
      onFirstResult: firstResult,
      onResult: (text, i) => {
        if (!text.startsWith(`{"claimId":"S${b}-${i}"`)) inOrder = false;
      },
    }).then((run) => ({ ...run, inOrder }));
  });
  const singles = keepScrubbing(server.url, clean, 4);
  await Promise.all(started);
  const signalledAt = performance.now();
  server.child.kill('SIGTERM');

  // Readiness turns false at once, while the service still finishes its work. With workers,
  // "at once" is as soon as the primary has passed the signal on: a probe that reached a worker
  // just before may still be answered 200, so probe until the answer changes, well within the
  // shutdown delay (after it the port closes).
  let ready = await request(server.url, { path: '/readyz' });
  while (ready.status === 200 && performance.now() - signalledAt < SHUTDOWN_DELAY_MS / 2) {
    await sleep(10);
    ready = await request(server.url, { path: '/readyz' });
  }
  expect(ready.status).toBe(503);
  expect(ready.json()).toMatchObject({ code: 'not-ready' });

  const finished = await Promise.all(batches);
  await sleep(100);
  const results = await singles.stop();
  const exit = await server.exited;

  for (const run of finished) expect(run).toMatchObject({ status: 200, results: CLAIMS_PER_BATCH, inOrder: true });
  const beforeSignal = results.filter((r) => r.startedAt < signalledAt);
  expect(beforeSignal.length).toBeGreaterThan(0);
  // A request that was in flight when the signal came is answered, never dropped.
  expect(beforeSignal.filter((r) => r.status !== 200)).toEqual([]);
  // One sent later is answered 503 shutting-down or finds the port closed: nothing else.
  for (const r of results.filter((x) => x.startedAt >= signalledAt)) {
    expect(r.status === 200 || r.status === 503 || r.error !== undefined).toBe(true);
  }
  const after = results.filter((x) => x.startedAt >= signalledAt);
  console.info(
    `SIGTERM under load: ${BATCHES} batches x ${CLAIMS_PER_BATCH} claims all complete; ${beforeSignal.length} single scrubs sent before the signal, all 200; ` +
      `after it: ${after.filter((r) => r.status === 200).length} served, ${after.filter((r) => r.status === 503).length} answered 503, ${after.filter((r) => r.error).length} found the port closed`,
  );
  expect(exit).toEqual({ code: 0, signal: null });
  expect(server.output()).toMatch(/stopped: every request in flight finished/);
}

describe('SIGTERM during load', () => {
  it('finishes every request in flight and exits 0 (one process)', async () => {
    const server = await startServer({ env: { SCRUB_RULES_DIR: await tinyRulesFolder(), SCRUB_SHUTDOWN_DELAY_MS: String(SHUTDOWN_DELAY_MS), LOG_LEVEL: 'info' } });
    await drainUnderLoad(server);
  }, 120_000);

  it('drains every worker and exits 0 (two workers)', async () => {
    const server = await startServer({ workers: 2, env: { SCRUB_RULES_DIR: await tinyRulesFolder(), SCRUB_SHUTDOWN_DELAY_MS: String(SHUTDOWN_DELAY_MS), LOG_LEVEL: 'info' } });
    await drainUnderLoad(server);
    expect(server.output()).toMatch(/every worker stopped/);
  }, 120_000);

  it('cuts what is still running at the deadline, says so, and exits 1', async () => {
    const server = await startServer({ env: { SCRUB_RULES_DIR: await tinyRulesFolder(), SCRUB_SHUTDOWN_DEADLINE_MS: '500' } });
    // A batch whose sender stops sending: it would never finish by itself.
    const stalled = http.request(new URL('/v1/scrub/batch', server.url), { method: 'POST', headers: { 'content-type': 'application/x-ndjson' } });
    const firstResult = new Promise<void>((resolve) => stalled.on('response', (res) => res.once('data', () => resolve())));
    stalled.on('error', () => undefined);
    stalled.write(line('STALL')(0) + '\n');
    await firstResult;
    server.child.kill('SIGTERM');
    const exit = await server.exited;
    expect(exit).toEqual({ code: 1, signal: null });
    expect(server.output()).toMatch(/shutdown deadline passed/);
  }, 60_000);
});
