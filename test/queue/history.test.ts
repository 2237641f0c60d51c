import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClaimHistory } from '../../src/history/claim-history.js';
import { readHistoryConfig } from '../../src/history/config.js';
import { patientKeyOf } from '../../src/history/record.js';
import { bundledRulesDir } from '../../src/paths.js';
import { HistoryScrub, PacksOnlyScrub } from '../../src/queue/claim-scrub.js';
import { batchResults, batchStatus } from '../../src/queue/collector.js';
import type { QueueConnection } from '../../src/queue/connect.js';
import { incomingKey } from '../../src/queue/messages.js';
import { WorkerMetrics } from '../../src/queue/metrics.js';
import { submitBatch } from '../../src/queue/producer.js';
import { QueueWorker } from '../../src/queue/worker.js';
import { PackHolder } from '../../src/service/pack-holder.js';
import { bundledScrubber } from '../helpers.js';
import { startTestPostgres, type TestPostgres } from '../history/postgres-server.js';
import { natsServer, openQueue, resultSubjects, uniqueQueueName, type NatsServer } from './nats.js';

/**
 * Workers sharing one claim history on a real PostgreSQL (a cluster of this file's own, so that
 * it can be stopped mid-run) and a real nats-server: what one worker records, another sees;
 * a claim redelivered after it was recorded is recorded once; a history outage holds the claim
 * rather than dead-lettering it.
 */

const SECRET = 'queue-history-test-secret-0123456789';
const fixture = JSON.parse(readFileSync(path.join(bundledRulesDir, 'history/tests/fixtures/medicare-visit.json'), 'utf8')) as Record<string, any>;

function visit(id: string, member: string): Record<string, any> {
  const claim = structuredClone(fixture);
  claim.claimId = id;
  claim.patient.memberId = member;
  return claim;
}

const duplicateFlagged = (result: { findings: Array<{ ruleId: string }> }) => result.findings.some((f) => f.ruleId === 'history-duplicate-line');

let nats: NatsServer;
let postgres: TestPostgres | undefined;
let skip = '';
const open: QueueConnection[] = [];
const histories: ClaimHistory[] = [];
beforeAll(async () => {
  nats = await natsServer();
  const pg = await startTestPostgres({ own: true });
  if ('reason' in pg) skip = pg.reason;
  else postgres = pg;
}, 120_000);
afterAll(async () => {
  for (const q of open) await q.nc.close().catch(() => undefined);
  for (const h of histories) await h.close().catch(() => undefined);
  await postgres?.close();
});

async function queueFor(): Promise<QueueConnection> {
  const queue = await openQueue(nats.url, uniqueQueueName('h'), { SCRUB_QUEUE_ACK_WAIT_MS: '2000', SCRUB_QUEUE_MAX_DELIVER: '3' });
  open.push(queue);
  return queue;
}

/** A history of its own (its own connection pool), as each worker process has. */
async function sharedHistory(): Promise<{ history: ClaimHistory; scrub: HistoryScrub }> {
  const config = readHistoryConfig({ SCRUB_HISTORY_URL: postgres!.url, SCRUB_HISTORY_SECRET: SECRET, SCRUB_HISTORY_TIMEOUT_MS: '1000', SCRUB_HISTORY_POOL_SIZE: '2' })!;
  const history = await ClaimHistory.open(config);
  histories.push(history);
  return { history, scrub: new HistoryScrub(history, config.target) };
}

async function workerOn(queue: QueueConnection): Promise<{ worker: QueueWorker; metrics: WorkerMetrics; history: ClaimHistory }> {
  const { history, scrub } = await sharedHistory();
  const metrics = new WorkerMetrics();
  const worker = new QueueWorker({ queue, packs: new PackHolder(bundledRulesDir, await bundledScrubber()), claimScrub: scrub, metrics, log: pino({ level: 'silent' }), pullWaitMs: 1000 });
  await worker.start();
  return { worker, metrics, history };
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function resultsOf(queue: QueueConnection, claims: Array<Record<string, any>>, options: { record?: boolean } = {}): Promise<Array<Record<string, any>>> {
  const manifest = await submitBatch(queue, claims.map((input, i) => ({ label: `claim ${i + 1}`, input })), { via: 'cli', claimOptions: { asOf: '2026-06-01', ...options } });
  await until('every result', async () => (await batchStatus(queue, manifest.batchId))!.done === claims.length);
  const out = [];
  for await (const r of batchResults(queue, manifest)) out.push(JSON.parse(r.json) as Record<string, any>);
  return out;
}

async function recordedLinesOf(history: ClaimHistory, member: string, claimId: string): Promise<number> {
  const lines = await history.store.linesOf(patientKeyOf(SECRET, member, fixture.patient.birthDate as string), []);
  return lines.filter((l) => l.claimId === claimId).length;
}

describe('workers sharing a claim history on PostgreSQL', () => {
  it('see what another worker recorded: a claim recorded through one worker flags its duplicate scrubbed by another', { timeout: 120_000 }, async (ctx) => {
    if (skip) return ctx.skip(skip);
    const queue = await queueFor();
    const first = await workerOn(queue);
    const [recorded] = await resultsOf(queue, [visit('Q-1', 'QH-1')], { record: true });
    expect(recorded!.history).toEqual({ consulted: true, recorded: true });
    expect(duplicateFlagged(recorded as never)).toBe(false);
    await first.worker.drain();

    // Only the second worker runs now: it has its own connection to the same database.
    const second = await workerOn(queue);
    const [again] = await resultsOf(queue, [visit('Q-2', 'QH-1')]);
    expect(again!.history).toEqual({ consulted: true, recorded: false });
    expect(duplicateFlagged(again as never)).toBe(true);
    // A claim submitted without record is compared, never written.
    expect(await recordedLinesOf(second.history, 'QH-1', 'Q-2')).toBe(0);
    // history=off from the producer: the history edits do not run, and the result says so.
    const off = await submitBatch(queue, [{ label: 'claim 1', input: visit('Q-3', 'QH-1') }], { via: 'cli', claimOptions: { asOf: '2026-06-01', history: 'off' } });
    await until('the history=off result', async () => (await batchStatus(queue, off.batchId))!.done === 1);
    for await (const r of batchResults(queue, off)) {
      const result = JSON.parse(r.json) as Record<string, any>;
      expect(result.history).toMatchObject({ consulted: false, recorded: false });
      expect(duplicateFlagged(result as never)).toBe(false);
    }
    await second.worker.drain();
  });

  it('record a claim once when it is redelivered after being recorded (the worker that recorded it died before publishing)', { timeout: 120_000 }, async (ctx) => {
    if (skip) return ctx.skip(skip);
    const queue = await queueFor();
    const claim = visit('R-1', 'QH-2');
    const manifest = await submitBatch(queue, [{ label: 'claim 1', input: claim }], { via: 'cli', claimOptions: { asOf: '2026-06-01', record: true } });

    // A worker that takes the claim, scrubs and records it, and dies before publishing its result.
    const consumer = await queue.js.consumers.get(queue.names.claimsStream, queue.names.consumer);
    const taken = await consumer.next({ expires: 5000 });
    expect(taken).not.toBeNull();
    const dying = await sharedHistory();
    const key = incomingKey(taken!.subject, taken!.seq, taken!.headers);
    const firstAnswer = await dying.scrub.scrub(await bundledScrubber(), claim, key.options);
    expect(firstAnswer.history).toEqual({ consulted: true, recorded: true });
    expect(await recordedLinesOf(dying.history, 'QH-2', 'R-1')).toBe(claim.lines.length);

    // After the ack wait a live worker gets it again: one result, the same answer, recorded once.
    const live = await workerOn(queue);
    await until('the result', async () => (await batchStatus(queue, manifest.batchId))!.done === 1);
    const results = [];
    for await (const r of batchResults(queue, manifest)) results.push(JSON.parse(r.json) as Record<string, any>);
    expect(results).toEqual([firstAnswer]);
    expect(duplicateFlagged(results[0] as never)).toBe(false);
    expect(await recordedLinesOf(live.history, 'QH-2', 'R-1')).toBe(claim.lines.length);
    expect([...(await resultSubjects(queue, manifest.batchId)).values()]).toEqual([1]);
    expect(await live.metrics.redeliveries.get()).toMatchObject({ values: [{ value: 1 }] });
    await live.worker.drain();
  });

  it('hold the claim while the history is down, neither retrying it away nor dead-lettering it, and scrub it when the history is back', { timeout: 180_000 }, async (ctx) => {
    if (skip) return ctx.skip(skip);
    const queue = await queueFor();
    const { worker, metrics } = await workerOn(queue);
    postgres!.stop!();
    let restarted = false;
    try {
      const manifest = await submitBatch(queue, [{ label: 'claim 1', input: visit('O-1', 'QH-3') }], { via: 'cli', claimOptions: { asOf: '2026-06-01', record: true } });
      await until('the worker to wait for the history', () => worker.waitingForDependency);
      // Longer than the ack wait (2 s) times the attempts (3): held, not redelivered.
      await sleep(7000);
      expect(worker.waitingForDependency).toBe(true);
      expect((await metrics.dependencyDown.get()).values[0]!.value).toBe(1);
      expect((await batchStatus(queue, manifest.batchId))!.done).toBe(0);
      postgres!.start!();
      restarted = true;
      await until('the result', async () => (await batchStatus(queue, manifest.batchId))!.done === 1, 60_000);
      const results = [];
      for await (const r of batchResults(queue, manifest)) results.push(JSON.parse(r.json) as Record<string, any>);
      expect(results[0]!.history).toEqual({ consulted: true, recorded: true });
      expect((await metrics.deadLetters.get()).values.every((v) => v.value === 0)).toBe(true);
      expect((await metrics.redeliveries.get()).values[0]?.value ?? 0).toBe(0);
      expect((await metrics.dependencyDown.get()).values[0]!.value).toBe(0);
      expect((await queue.jsm.streams.info(queue.names.deadStream)).state.messages).toBe(0);
    } finally {
      if (!restarted) postgres!.start!();
      await worker.drain();
    }
  });
});

describe('a worker without a claim history', () => {
  it('says a claim submitted with record was not recorded, rather than pretending it was', async () => {
    const result = await new PacksOnlyScrub().scrub(await bundledScrubber(), visit('N-1', 'QH-4'), { record: true });
    expect(result.history).toEqual({ consulted: false, recorded: false, reason: expect.stringContaining('no claim history') });
    expect((await new PacksOnlyScrub().scrub(await bundledScrubber(), visit('N-1', 'QH-4'), {})).history).toBeUndefined();
  });
});
