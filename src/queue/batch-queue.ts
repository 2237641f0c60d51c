import { connectQueue, type QueueConnection } from './connect.js';
import { batchResults, batchStatus, type BatchStatus } from './collector.js';
import type { BatchManifest, ClaimOptions } from './messages.js';
import { submitBatch, type SubmitItem } from './producer.js';
import { readQueueSettings } from './settings.js';
import { ensureTopology } from './topology.js';

/**
 * What the HTTP service needs of the queue for asynchronous batches: enqueue a batch, tell how
 * far it is, read its results back in order.
 */
export interface BatchQueue {
  enqueue(items: AsyncIterable<SubmitItem> | Iterable<SubmitItem>, options: ClaimOptions): Promise<BatchManifest>;
  status(batchId: string): Promise<BatchStatus | undefined>;
  results(manifest: BatchManifest): AsyncGenerator<{ item: number; json: string }>;
  /** False while the connection to NATS is down: async requests get 503. */
  connected(): boolean;
  close(): Promise<void>;
}

export function batchQueueOf(queue: QueueConnection): BatchQueue {
  let up = true;
  void (async () => {
    for await (const s of queue.nc.status()) {
      if (s.type === 'disconnect') up = false;
      else if (s.type === 'reconnect') up = true;
    }
  })();
  return {
    enqueue: (items, options) => submitBatch(queue, items, { via: 'http', claimOptions: options }),
    status: (batchId) => batchStatus(queue, batchId),
    results: (manifest) => batchResults(queue, manifest),
    connected: () => up && !queue.nc.isClosed(),
    close: () => queue.nc.drain(),
  };
}

/**
 * The service's queue when SCRUB_NATS_URL is set: connected, with the streams made if missing.
 * Throws QueueSettingsError, QueueUnavailableError or TopologyError with a message for the operator.
 */
export async function openBatchQueue(env: NodeJS.ProcessEnv, cwd: string): Promise<BatchQueue | undefined> {
  if (!env.SCRUB_NATS_URL?.trim()) return undefined;
  const queue = await connectQueue(readQueueSettings(env, {}, cwd), `scrub serve ${process.pid}`);
  try {
    await ensureTopology(queue);
  } catch (err) {
    await queue.nc.close();
    throw err;
  }
  return batchQueueOf(queue);
}
