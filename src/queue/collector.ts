import { setTimeout as sleep } from 'node:timers/promises';
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { QueueConnection } from './connect.js';
import type { BatchManifest } from './messages.js';
import { readManifest } from './producer.js';

/**
 * Reads a batch's results back: how many are in, and all of them in item order (the order the
 * claims were submitted in, as `scrub check` and the synchronous batch give them), each exactly
 * once, whatever order the workers finished them in.
 */

export interface BatchStatus {
  manifest: BatchManifest;
  /** Results published so far. */
  done: number;
}

/** The batch's manifest and its count of results, or undefined when there is no such batch. */
export async function batchStatus(queue: QueueConnection, batchId: string): Promise<BatchStatus | undefined> {
  const manifest = await readManifest(queue, batchId);
  if (!manifest) return undefined;
  return { manifest, done: await countResults(queue, batchId) };
}

/** Results of a batch on the server: counted by the server for a short-lived filtered consumer. */
export async function countResults(queue: QueueConnection, batchId: string): Promise<number> {
  const { jsm, names } = queue;
  const info = await jsm.consumers.add(names.resultsStream, {
    filter_subject: names.result(batchId, '*'),
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.All,
    inactive_threshold: nanos(10_000),
    mem_storage: true,
    num_replicas: 1,
  });
  try {
    return info.num_pending;
  } finally {
    await jsm.consumers.delete(names.resultsStream, info.name).catch(() => undefined);
  }
}

export interface CollectOptions {
  /** Bodies of results that arrive ahead of their turn kept in memory up to this many bytes; past it they are read again when their turn comes. */
  reorderBytes?: number;
  /** Give up when no new result arrives for this long (undefined: wait for ever). */
  idleTimeoutMs?: number;
}

export class CollectTimeoutError extends Error {
  constructor(
    readonly received: number,
    readonly expected: number,
  ) {
    super(`${received} of ${expected} results arrived before the wait ran out`);
    this.name = 'CollectTimeoutError';
  }
}

/** Every result of the batch in item order, as JSON text; waits for those not published yet. */
export async function* batchResults(queue: QueueConnection, manifest: BatchManifest, o: CollectOptions = {}): AsyncGenerator<{ item: number; json: string }> {
  const { js, jsm, names } = queue;
  const total = manifest.items;
  if (total === 0) return;
  const budget = o.reorderBytes ?? 64 * 1024 * 1024;
  const consumer = await js.consumers.get(names.resultsStream, { filter_subjects: names.result(manifest.batchId, '*') });
  const messages = await consumer.consume({ max_messages: 512 });
  const ahead = new Map<number, string>();
  const aheadWithoutBody = new Set<number>();
  let aheadBytes = 0;
  let next = 1;
  let lastArrival = Date.now();
  const watchdog = o.idleTimeoutMs
    ? setInterval(() => {
        if (Date.now() - lastArrival > o.idleTimeoutMs!) void messages.close();
      }, Math.min(1000, o.idleTimeoutMs)).unref()
    : undefined;
  const fetchBody = async (item: number): Promise<string> => {
    const m = await jsm.direct.getMessage(names.resultsStream, { last_by_subj: names.result(manifest.batchId, String(item)) });
    if (!m) throw new Error(`the result of item ${item} is gone from the results stream (its retention ran out?)`);
    return m.string();
  };
  try {
    for await (const m of messages) {
      lastArrival = Date.now();
      const item = Number(m.subject.slice(m.subject.lastIndexOf('.') + 1));
      if (!Number.isInteger(item) || item < next || item > total) continue;
      if (item !== next) {
        if (aheadBytes + m.data.length <= budget) {
          ahead.set(item, m.string());
          aheadBytes += m.data.length;
        } else aheadWithoutBody.add(item);
        continue;
      }
      yield { item: next, json: m.string() };
      next++;
      for (;;) {
        const body = ahead.get(next);
        if (body !== undefined) {
          ahead.delete(next);
          aheadBytes -= Buffer.byteLength(body);
        } else if (!aheadWithoutBody.delete(next)) break;
        yield { item: next, json: body ?? (await fetchBody(next)) };
        next++;
      }
      if (next > total) break;
    }
  } finally {
    if (watchdog) clearInterval(watchdog);
    await messages.close().catch(() => undefined);
  }
  if (next <= total) throw new CollectTimeoutError(next - 1, total);
}

/** Waits for a batch's manifest to appear (a submission still running), up to `timeoutMs`. */
export async function waitForManifest(queue: QueueConnection, batchId: string, timeoutMs: number): Promise<BatchManifest | undefined> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const manifest = await readManifest(queue, batchId);
    if (manifest || Date.now() >= until) return manifest;
    await sleep(Math.min(500, Math.max(0, until - Date.now())));
  }
}
