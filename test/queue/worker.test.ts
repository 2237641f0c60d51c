import { setTimeout as sleep } from 'node:timers/promises';
import { headers } from '@nats-io/transport-node';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PacksOnlyScrub } from '../../src/queue/claim-scrub.js';
import { batchResults, batchStatus } from '../../src/queue/collector.js';
import type { QueueConnection } from '../../src/queue/connect.js';
import { HEADER } from '../../src/queue/messages.js';
import { WorkerMetrics } from '../../src/queue/metrics.js';
import { submitBatch } from '../../src/queue/producer.js';
import { consumerConfig } from '../../src/queue/topology.js';
import { QueueWorker } from '../../src/queue/worker.js';
import { PackHolder } from '../../src/service/pack-holder.js';
import { bundledRulesDir } from '../../src/paths.js';
import { bundledScrubber } from '../helpers.js';
import { generateClaims } from '../support/generate-claims.js';
import { natsServer, openQueue, resultSubjects, uniqueQueueName, type NatsServer } from './nats.js';

/**
 * The worker's rules on a real nats-server with JetStream, the worker in this process: poison
 * messages, claims every worker died on, redelivery after a published result, the topology it
 * makes. (The same worker as separate processes, killed and drained: workers.test.ts.)
 */

let nats: NatsServer;
const open: QueueConnection[] = [];
beforeAll(async () => {
  nats = await natsServer();
});
afterAll(async () => {
  for (const q of open) await q.nc.close().catch(() => undefined);
});

async function queueFor(extra: Record<string, string> = {}): Promise<QueueConnection> {
  const queue = await openQueue(nats.url, uniqueQueueName('w'), { SCRUB_QUEUE_ACK_WAIT_MS: '1000', SCRUB_QUEUE_MAX_DELIVER: '3', ...extra });
  open.push(queue);
  return queue;
}

async function workerOn(queue: QueueConnection): Promise<{ worker: QueueWorker; metrics: WorkerMetrics }> {
  const scrubber = await bundledScrubber();
  const metrics = new WorkerMetrics();
  const worker = new QueueWorker({
    queue,
    packs: new PackHolder(bundledRulesDir, scrubber),
    claimScrub: new PacksOnlyScrub(),
    metrics,
    log: pino({ level: 'silent' }),
    pullWaitMs: 1000,
  });
  await worker.start();
  return { worker, metrics };
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function deadLetters(queue: QueueConnection) {
  const info = await queue.jsm.streams.info(queue.names.deadStream);
  const out = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await queue.jsm.streams.getMessage(queue.names.deadStream, { seq });
    if (m) out.push(m);
  }
  return out;
}

describe('the topology', () => {
  it('is created with the documented settings: a work queue, one result per subject, the dead letters, a durable explicit-ack consumer', async () => {
    const queue = await queueFor();
    const claims = await queue.jsm.streams.info(queue.names.claimsStream);
    expect(claims.config).toMatchObject({ retention: 'workqueue', discard: 'new', subjects: [`${queue.settings.name}.claims.*`] });
    const results = await queue.jsm.streams.info(queue.names.resultsStream);
    expect(results.config).toMatchObject({ max_msgs_per_subject: 1, discard: 'new', discard_new_per_subject: true, allow_direct: true });
    const consumer = await queue.jsm.consumers.info(queue.names.claimsStream, queue.names.consumer);
    expect(consumer.config).toMatchObject({ durable_name: queue.names.consumer, ack_policy: 'explicit', max_deliver: 4, ack_wait: 1_000_000_000 });
    expect(consumerConfig(queue.settings, queue.names).max_deliver).toBe(queue.settings.maxDeliver + 1);
  });

  it('refuses a stream of the same name made with other semantics', async () => {
    const name = uniqueQueueName('x');
    const first = await openQueue(nats.url, name);
    open.push(first);
    await first.jsm.streams.delete(first.names.resultsStream);
    await first.jsm.streams.add({ name: first.names.resultsStream, subjects: [first.names.resultsWildcard, first.names.batchesWildcard] });
    await expect(openQueue(nats.url, name)).rejects.toThrow(/exists with other settings.*max_msgs_per_subject/);
  });

  it('refuses, saying what to change, a queue larger than the server can reserve storage for', async () => {
    const tooBig = String(2 ** 50);
    await expect(openQueue(nats.url, uniqueQueueName('big'), { SCRUB_QUEUE_MAX_BYTES: tooBig })).rejects.toThrow(
      new RegExp(`cannot reserve ${tooBig} bytes \\(SCRUB_QUEUE_MAX_BYTES\\) of JetStream file storage.*lower SCRUB_QUEUE_MAX_BYTES`),
    );
  });
});

describe('a worker', () => {
  it('scrubs a batch: each claim has one result, equal to the in-process result, in submission order', async () => {
    const queue = await queueFor();
    const { worker } = await workerOn(queue);
    const claims = generateClaims(200, { seed: 7, problemRate: 0.6 });
    const manifest = await submitBatch(queue, claims.map((input, i) => ({ label: `line ${i + 1}`, input })), { via: 'cli', claimOptions: { asOf: '2026-06-01' } });
    await until('every result', async () => (await batchStatus(queue, manifest.batchId))!.done === 200);
    const scrubber = await bundledScrubber();
    const expected = await Promise.all(claims.map(async (c) => JSON.stringify(await scrubber.scrub(c, { asOf: '2026-06-01' }))));
    const got: string[] = [];
    for await (const r of batchResults(queue, manifest)) got.push(r.json);
    expect(got).toEqual(expected);
    expect([...(await resultSubjects(queue, manifest.batchId)).values()].every((n) => n === 1)).toBe(true);
    await worker.drain();
  });

  it('loses no claim when the queue is full: the producer waits for room and every claim gets its result', async () => {
    // A 1 MiB queue and about 2 MiB of claims: the server refuses publishes until the worker makes room.
    const queue = await queueFor({ SCRUB_QUEUE_MAX_BYTES: String(1024 * 1024) });
    const { worker } = await workerOn(queue);
    const claims = generateClaims(2000, { seed: 8, problemRate: 0.5 });
    let fullWaits = 0;
    const manifest = await submitBatch(queue, claims.map((input, i) => ({ label: `line ${i + 1}`, input })), {
      via: 'cli',
      claimOptions: { asOf: '2026-06-01' },
      onProgress: (p) => (fullWaits = p.fullWaits),
    });
    expect(fullWaits).toBeGreaterThan(0);
    await until('every result', async () => (await batchStatus(queue, manifest.batchId))!.done === 2000, 120_000);
    const ids: string[] = [];
    for await (const r of batchResults(queue, manifest)) ids.push((JSON.parse(r.json) as { claimId: string }).claimId);
    expect(ids).toEqual(claims.map((c) => c.claimId));
    await worker.drain();
  }, 180_000);

  it('dead-letters a poison message (not a claim) at once, with the reason, and still gives its item a result', async () => {
    const queue = await queueFor();
    const { worker, metrics } = await workerOn(queue);
    const h = headers();
    h.set(HEADER.batch, 'poison');
    h.set(HEADER.item, '1');
    await queue.js.publish(queue.names.claims('poison'), '{"claimId": "P-1", "lines": [', { headers: h });
    await until('the dead letter', async () => (await deadLetters(queue)).length === 1);
    const [dead] = await deadLetters(queue);
    expect(dead!.subject).toBe(queue.names.dead('poison'));
    expect(dead!.header.get(HEADER.reasonCode)).toBe('unreadable');
    expect(dead!.header.get(HEADER.reason)).toMatch(/not a claim/);
    expect(dead!.header.get(HEADER.reason)).not.toContain('P-1');
    expect(dead!.string()).toBe('{"claimId": "P-1", "lines": [');
    const result = await queue.jsm.direct.getMessage(queue.names.resultsStream, { last_by_subj: queue.names.result('poison', '1') });
    expect(result!.json<{ outcome: string; findings: Array<{ ruleId: string; message: string }> }>()).toMatchObject({ outcome: 'fail', findings: [{ ruleId: 'scrub-failed' }] });
    // Acknowledged: it never comes back.
    await sleep(1500);
    const consumer = await queue.jsm.consumers.info(queue.names.claimsStream, queue.names.consumer);
    expect(consumer.num_ack_pending + consumer.num_pending).toBe(0);
    expect(await metrics.registry.getSingleMetricAsString('scrub_queue_dead_letters_total')).toMatch(/reason="unreadable"} 1/);
    await worker.drain();
  });

  it('dead-letters a claim that every worker holding it died on, after the attempts, without scrubbing it', async () => {
    const queue = await queueFor();
    const [claim] = generateClaims(1, { seed: 3 });
    await submitBatch(queue, [{ label: 'line 1', input: claim }], { via: 'cli', batchId: 'killer' });
    // Three workers take it and die (never acknowledge): three deliveries, then the ack wait each time.
    const consumer = await queue.js.consumers.get(queue.names.claimsStream, queue.names.consumer);
    for (let i = 1; i <= 3; i++) {
      const m = await consumer.next({ expires: 5000 });
      expect(m?.info.deliveryCount).toBe(i);
    }
    const { worker, metrics } = await workerOn(queue);
    await until('the dead letter', async () => (await deadLetters(queue)).length === 1);
    const [dead] = await deadLetters(queue);
    expect(dead!.header.get(HEADER.reasonCode)).toBe('max-deliveries');
    expect(dead!.header.get(HEADER.deliveries)).toBe('4');
    expect(await metrics.registry.getSingleMetricAsString('scrub_claims_scrubbed_total')).not.toMatch(/outcome="(pass|fail)"} 1/);
    await worker.drain();
  });

  it('acknowledges a redelivered claim whose result is already published, without scrubbing it again', async () => {
    const queue = await queueFor();
    const [claim] = generateClaims(1, { seed: 5 });
    const manifest = await submitBatch(queue, [{ label: 'line 1', input: claim }], { via: 'cli' });
    // A worker published the result and died before acknowledging the claim.
    const consumer = await queue.js.consumers.get(queue.names.claimsStream, queue.names.consumer);
    const first = await consumer.next({ expires: 5000 });
    const published = JSON.stringify({ publishedBy: 'the worker that died' });
    await queue.js.publish(queue.names.result(manifest.batchId, '1'), published);
    expect(first?.info.deliveryCount).toBe(1);
    const { worker, metrics } = await workerOn(queue);
    await until('the redelivery', async () => (await metrics.duplicates.get()).values[0]?.value === 1);
    const results = await resultSubjects(queue, manifest.batchId);
    expect([...results.values()]).toEqual([1]);
    const stored = await queue.jsm.direct.getMessage(queue.names.resultsStream, { last_by_subj: queue.names.result(manifest.batchId, '1') });
    expect(stored!.string()).toBe(published);
    expect((await metrics.redeliveries.get()).values[0]?.value).toBe(1);
    expect(await metrics.registry.getSingleMetricAsString('scrub_claims_scrubbed_total')).not.toMatch(/} 1/);
    await worker.drain();
  });

  it('never publishes a second, different answer for a result subject', async () => {
    const queue = await queueFor();
    const subject = queue.names.result('b1', '1');
    await queue.js.publish(subject, '{"first":true}');
    await expect(queue.js.publish(subject, '{"second":true}')).rejects.toMatchObject({ code: 10077 });
    const stored = await queue.jsm.direct.getMessage(queue.names.resultsStream, { last_by_subj: subject });
    expect(stored!.string()).toBe('{"first":true}');
  });

  it('reports the queue lag, redeliveries and dead letters on /metrics', async () => {
    const queue = await queueFor();
    await submitBatch(queue, generateClaims(5, { seed: 9 }).map((input, i) => ({ label: `line ${i + 1}`, input })), { via: 'cli' });
    const metrics = new WorkerMetrics(async () => {
      const info = await queue.jsm.consumers.info(queue.names.claimsStream, queue.names.consumer);
      return { pending: info.num_pending, ackPending: info.num_ack_pending, redelivered: info.num_redelivered };
    });
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^scrub_queue_pending_claims 5$/m);
    expect(text).toMatch(/^scrub_queue_ack_pending_claims 0$/m);
    expect(text).toMatch(/^scrub_queue_redeliveries_total 0$/m);
    expect(text).toMatch(/^scrub_queue_dead_letters_total\{reason="unreadable"\} 0$/m);
  });
});
