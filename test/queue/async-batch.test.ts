import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.js';
import { bundledRulesDir, packageRoot } from '../../src/paths.js';
import { batchQueueOf } from '../../src/queue/batch-queue.js';
import { PacksOnlyScrub } from '../../src/queue/claim-scrub.js';
import type { QueueConnection } from '../../src/queue/connect.js';
import { HEADER } from '../../src/queue/messages.js';
import { WorkerMetrics } from '../../src/queue/metrics.js';
import { QueueWorker } from '../../src/queue/worker.js';
import { PackHolder } from '../../src/service/pack-holder.js';
import { bundledScrubber } from '../helpers.js';
import { generateClaims } from '../support/generate-claims.js';
import { natsServer, openQueue, uniqueQueueName } from './nats.js';

/**
 * POST /v1/scrub/batch?async=true and GET /v1/batches/{id} with a real nats-server and a worker:
 * the results read back are the bytes the synchronous batch gives.
 */

let queue: QueueConnection;
let app: FastifyInstance;
let plain: FastifyInstance;
let worker: QueueWorker | undefined;
beforeAll(async () => {
  const nats = await natsServer();
  queue = await openQueue(nats.url, uniqueQueueName('http'));
  const scrubber = await bundledScrubber();
  app = await buildApp({ scrubber: () => scrubber, queue: batchQueueOf(queue), config: { batch: { maxClaims: 50, maxJsonClaims: 10, jsonBodyLimit: 1024 * 1024 } } });
  plain = await buildApp({ scrubber: () => scrubber, config: { batch: { maxClaims: 50, maxJsonClaims: 10, jsonBodyLimit: 1024 * 1024 } } });
});
afterAll(async () => {
  await worker?.drain();
  await app.close();
  await plain.close();
  await queue.nc.close();
});

async function startWorker(): Promise<void> {
  worker ??= new QueueWorker({
    queue,
    packs: new PackHolder(bundledRulesDir, await bundledScrubber()),
    claimScrub: new PacksOnlyScrub(),
    metrics: new WorkerMetrics(),
    log: pino({ level: 'silent' }),
    pullWaitMs: 1000,
  });
  await worker.start().catch(() => undefined);
}

const post = (target: FastifyInstance, payload: string, url = '/v1/scrub/batch?asOf=2026-06-01&async=true', type = 'application/x-ndjson') =>
  target.inject({ method: 'POST', url, headers: { 'content-type': type }, payload });

async function finished(id: string): Promise<{ statusCode: number; body: string; headers: Record<string, unknown> }> {
  for (let i = 0; i < 400; i++) {
    const res = await app.inject({ method: 'GET', url: `/v1/batches/${id}` });
    if (res.statusCode !== 202) return res;
    await sleep(50);
  }
  throw new Error('the batch did not finish');
}

/** A record without the file positions of its findings: the queue does not carry the reader's locator. */
function withoutSources(record: Record<string, any>): Record<string, any> {
  if (!Array.isArray(record.findings)) return record;
  return { ...record, findings: record.findings.map(({ source: _source, ...f }: Record<string, unknown>) => f) };
}

describe('asynchronous batches', () => {
  it('queue an NDJSON batch (202 with its id and place), report progress while it waits, then stream the same lines a synchronous batch gives', async () => {
    const claims = generateClaims(30, { seed: 21, problemRate: 0.7 });
    const body = claims.map((c) => JSON.stringify(c)).join('\n') + '\n{"claimId": "broken"\n';
    const queued = await post(app, body);
    expect(queued.statusCode).toBe(202);
    const answer = queued.json<{ batchId: string; items: number; status: string; location: string }>();
    expect(answer).toMatchObject({ items: 31, status: 'queued', location: `/v1/batches/${answer.batchId}` });
    expect(queued.headers.location).toBe(answer.location);

    // No worker yet: the broken line already has its result, the claims wait.
    const waiting = await app.inject({ method: 'GET', url: answer.location });
    expect(waiting.statusCode).toBe(202);
    expect(waiting.headers['retry-after']).toBe('2');
    expect(waiting.json()).toMatchObject({ batchId: answer.batchId, status: 'running', items: 31, done: 1 });

    await startWorker();
    const done = await finished(answer.batchId);
    expect(done.statusCode).toBe(200);
    expect(done.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    const sync = await post(plain, body, '/v1/scrub/batch?asOf=2026-06-01');
    expect(done.body).toBe(sync.body);
  });

  it('queue a JSON array batch too, and stop at the claim limit as the synchronous batch does', async () => {
    await startWorker();
    const claims = generateClaims(3, { seed: 22 });
    const queued = await post(app, JSON.stringify(claims), '/v1/scrub/batch?asOf=2026-06-01&async=true', 'application/json');
    expect(queued.statusCode).toBe(202);
    const done = await finished(queued.json<{ batchId: string }>().batchId);
    expect(done.body.trim().split('\n').map((l) => JSON.parse(l).claimId)).toEqual(claims.map((c) => c.claimId));

    const many = generateClaims(52, { seed: 23 }).map((c) => JSON.stringify(c)).join('\n');
    const limited = await post(app, many);
    const lines = (await finished(limited.json<{ batchId: string }>().batchId)).body.trim().split('\n');
    const sync = (await post(plain, many, '/v1/scrub/batch?asOf=2026-06-01')).body.trim().split('\n');
    expect(lines).toHaveLength(51);
    expect(lines).toEqual(sync);
  });

  it('queue an X12 file: its own problems (an 835 among 837s, an SE01 that miscounts) come back as records in their places, as the synchronous batch gives them', async () => {
    await startWorker();
    for (const name of ['837-then-835.x12', 'thirty-claims-se-count-wrong.837']) {
      const file = readFileSync(path.join(packageRoot, 'test/fixtures/x12/variants', name), 'utf8');
      const queued = await post(app, file, '/v1/scrub/batch?asOf=2026-06-01&async=true', 'application/edi-x12');
      expect(queued.statusCode).toBe(202);
      const done = await finished(queued.json<{ batchId: string }>().batchId);
      const sync = await plain.inject({ method: 'POST', url: '/v1/scrub/batch?asOf=2026-06-01', headers: { 'content-type': 'application/edi-x12', accept: 'application/x-ndjson' }, payload: file });
      const records = (body: string) => body.trim().split('\n').map((l) => withoutSources(JSON.parse(l)));
      const got = records(done.body);
      expect(got.some((r) => 'problem' in r)).toBe(true);
      expect(got).toEqual(records(sync.body));
    }
  });

  it('refuse a claim file with no readable claim before queueing anything, and pass record=true on to the workers, whose history decides', async () => {
    const utf16 = readFileSync(path.join(packageRoot, 'test/fixtures/x12/variants/utf-16le.837'));
    const refused = await app.inject({ method: 'POST', url: '/v1/scrub/batch?async=true', headers: { 'content-type': 'application/edi-x12' }, payload: utf16 });
    expect(refused.json()).toMatchObject({ status: 400, code: 'unreadable-claims' });

    // This service has no history, and does not need one to queue record=true; this worker has none either, and says so.
    await startWorker();
    const queued = await app.inject({
      method: 'POST',
      url: '/v1/scrub/batch?asOf=2026-06-01&async=true&record=true',
      headers: { 'content-type': 'application/x-ndjson', 'x-request-id': 'billing-run-42' },
      payload: JSON.stringify(generateClaims(1, { seed: 24 })[0]) + '\n',
    });
    expect(queued.statusCode).toBe(202);
    const batchId = queued.json<{ batchId: string }>().batchId;
    const done = await finished(batchId);
    expect(JSON.parse(done.body).history).toMatchObject({ consulted: false, recorded: false });
    // The request's id travels with the claim and comes back on its result message.
    const message = await queue.jsm.direct.getMessage(queue.names.resultsStream, { last_by_subj: queue.names.result(batchId, '1') });
    expect(message?.header?.get(HEADER.correlation)).toBe('billing-run-42');
    expect(message?.header?.get(HEADER.claimId)).toBe(JSON.parse(done.body).claimId);
    expect((await post(app, '{}\n', '/v1/scrub/batch?async=true&record=true&history=off')).json()).toMatchObject({ status: 400, code: 'invalid-request' });
  });

  it('refuse what they cannot do, each with its own problem code', async () => {
    expect((await post(plain, '{}\n')).json()).toMatchObject({ status: 501, code: 'async-unavailable' });
    expect((await post(app, '{}\n', '/v1/scrub/batch?async=maybe')).json()).toMatchObject({ status: 400, code: 'invalid-request' });
    expect((await post(app, '{}\n', '/v1/scrub/batch?async=true&explain=true')).json()).toMatchObject({ status: 400, code: 'invalid-request' });
    expect((await app.inject({ method: 'GET', url: '/v1/batches/nosuchbatch' })).json()).toMatchObject({ status: 404, code: 'batch-not-found' });
    expect((await app.inject({ method: 'GET', url: '/v1/batches/not.a.batch' })).json()).toMatchObject({ status: 400, code: 'invalid-request' });
    expect((await plain.inject({ method: 'GET', url: '/v1/batches/abc' })).json()).toMatchObject({ status: 501, code: 'async-unavailable' });
  });
});
