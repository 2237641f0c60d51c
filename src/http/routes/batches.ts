import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { HistoryScrubOptions } from '../../history/claim-history.js';
import type { BatchQueue } from '../../queue/batch-queue.js';
import type { SubmitItem } from '../../queue/producer.js';
import { TOKEN } from '../../queue/settings.js';
import { loggableError } from '../../util/safe-error.js';
import { PROBLEMS, ProblemError } from '../problems.js';
import { batchStatusSchema } from '../schemas.js';

/**
 * Asynchronous batches on the NATS JetStream queue: POST /v1/scrub/batch?async=true puts the
 * claims on the queue for the scrub workers and answers 202 with a batch id;
 * GET /v1/batches/{id} answers 202 with the progress until every claim has its result, then
 * streams the results as NDJSON in input order, as the synchronous batch would have.
 */

export interface BatchRouteOptions {
  /** Undefined when the service has no queue (SCRUB_NATS_URL unset): async batches are refused. */
  queue: BatchQueue | undefined;
}

/** Seconds a client is asked to wait before asking for a running batch again. */
const RETRY_AFTER_SECONDS = 2;

function usableQueue(queue: BatchQueue | undefined): BatchQueue {
  if (!queue) {
    throw new ProblemError(PROBLEMS['async-unavailable'], 'This service has no queue (SCRUB_NATS_URL is not set), so it cannot take asynchronous batches: send the batch without async=true.');
  }
  if (!queue.connected()) throw new ProblemError(PROBLEMS['queue-unavailable'], 'The queue (NATS) cannot be reached right now; send the batch again shortly, or without async=true.');
  return queue;
}

/**
 * Enqueues a batch: called by the batch route for ?async=true, with the items it read exactly as
 * for a synchronous batch. After `maxClaims` claims the batch ends as the synchronous one does:
 * with a `batch-limit` result (NDJSON, JSON), or a `batch-limit` problem record (a claim file).
 * `record` and `history` go to the workers, which scrub with their own claim history.
 */
export async function enqueueBatch(
  queue: BatchQueue | undefined,
  request: FastifyRequest,
  items: AsyncIterable<SubmitItem> | Iterable<SubmitItem>,
  options: HistoryScrubOptions,
  maxClaims: number,
  limitAs: 'result' | 'problem' = 'result',
): Promise<QueuedBatch> {
  const usable = usableQueue(queue);
  if (options.explain) throw new ProblemError(PROBLEMS['invalid-request'], 'explain=true cannot be combined with async=true: queued results carry no explanation. Ask for one claim with POST /v1/scrub?explain=true.');
  async function* limited(): AsyncGenerator<SubmitItem> {
    let claims = 0;
    for await (const item of items) {
      if ('fileProblem' in item) {
        yield item;
        continue;
      }
      if (claims === maxClaims) {
        if (limitAs === 'problem') {
          const message = `${item.label} was not scrubbed, nor any claim after it: a batch may hold at most ${maxClaims} claims. Send the rest in another batch.`;
          yield { fileProblem: { code: 'batch-limit', severity: 'error', message, details: { maxClaims } } };
        } else {
          yield { label: item.label, ...(item.line !== undefined ? { line: item.line } : {}), ...('input' in item ? { input: item.input } : {}), problem: 'batch-limit', error: `not scrubbed, nor any line after it: a batch may hold at most ${maxClaims} claims. Send the rest in another batch` };
        }
        return;
      }
      claims++;
      yield item;
    }
  }
  let manifest;
  try {
    manifest = await usable.enqueue(limited(), {
      ...(options.asOf ? { asOf: options.asOf } : {}),
      ...(options.record ? { record: true } : {}),
      ...(options.mode === 'off' ? { history: 'off' as const } : {}),
      correlationId: request.id,
    });
  } catch (err) {
    request.log.error({ err: loggableError(err) }, 'cannot put the batch on the queue');
    throw new ProblemError(PROBLEMS['queue-unavailable'], `The batch could not be put on the queue (logged with request id ${request.id}); send it again.`);
  }
  request.log.info({ batchId: manifest.batchId, items: manifest.items, unreadable: manifest.unreadable }, 'batch queued');
  const location = `/v1/batches/${manifest.batchId}`;
  return { batchId: manifest.batchId, items: manifest.items, status: 'queued', location };
}

/** The 202 answer to an asynchronous batch. */
export interface QueuedBatch {
  batchId: string;
  items: number;
  status: 'queued';
  location: string;
}

async function batchRoutes(app: FastifyInstance, opts: BatchRouteOptions): Promise<void> {
  app.get<{ Params: { id: string } }>('/v1/batches/:id', { config: { access: 'scrub' }, schema: batchStatusSchema }, async (request, reply) => {
    const id = request.params.id;
    if (!TOKEN.test(id)) throw new ProblemError(PROBLEMS['invalid-request'], 'A batch id is 1 to 64 letters, digits, - or _.');
    const queue = usableQueue(opts.queue);
    const status = await queue.status(id);
    if (!status) throw new ProblemError(PROBLEMS['batch-not-found'], `There is no batch "${id}": it was never queued, or its results are past their retention.`);
    const { manifest, done } = status;
    if (done < manifest.items) {
      return reply
        .code(202)
        .header('retry-after', String(RETRY_AFTER_SECONDS))
        .send({ batchId: id, status: 'running', items: manifest.items, done, submittedAt: manifest.submittedAt });
    }
    async function* lines(): AsyncGenerator<string> {
      for await (const { json } of queue.results(manifest)) yield json + '\n';
    }
    request.log.info({ batchId: id, items: manifest.items }, 'batch results sent');
    return reply.type('application/x-ndjson; charset=utf-8').send(Readable.from(lines(), { objectMode: true, highWaterMark: 8 }));
  });
}

export default fp(batchRoutes, { name: 'batch-routes', fastify: '5.x', dependencies: ['problems'] });
