import { setTimeout as sleep } from 'node:timers/promises';
import type { PubAck } from '@nats-io/jetstream';
import { nuid } from '@nats-io/transport-node';
import { unreadableResult, type UnreadableKind } from '../claim/validate.js';
import { withInputPlace } from '../formats/decorate.js';
import type { ReadProblem } from '../formats/index.js';
import type { ClaimItem } from '../formats/json.js';
import type { QueueConnection } from './connect.js';
import { claimBody, claimHeaders, HEADER, type BatchManifest, type ClaimOptions } from './messages.js';
import { isStreamFull, isSubjectTaken } from './refusals.js';
import { TOKEN } from './settings.js';

/**
 * Puts a batch of claims on the queue: each readable claim on `<name>.claims.<batch>` with the
 * batch and its item number, each unreadable item straight to its result subject (the reason as a
 * structure finding, as a synchronous batch gives it), then the batch manifest.
 *
 * Flow control: at most `maxInFlight` claims wait for the server's acknowledgement at once; when
 * the claims stream is full (SCRUB_QUEUE_MAX_CLAIMS / _MAX_BYTES, discard new) the server refuses
 * and the producer waits and tries again, so a producer never outruns the workers by more than
 * the stream holds, and no claim is dropped.
 */

/**
 * A claim to queue; an item that is not one (its result, the reason, is published at once); or a
 * problem of the claim file itself (published at once as a `{"problem": ...}` record in its place,
 * as the synchronous batch and `scrub check` give it).
 */
export type SubmitItem =
  | ClaimItem
  // `input`: the claim when it could be read (one past the batch limit), for its result's claimId.
  | { label: string; line?: number; input?: unknown; error: string; problem: UnreadableKind }
  | { fileProblem: ReadProblem };

export interface SubmitProgress {
  /** Items handed to the queue and acknowledged by it. */
  published: number;
  /** Of them, items that were not readable claims. */
  unreadable: number;
  /** Of them, problems of the claim file itself (records, not claims). */
  problems: number;
  /** Published again with the same id and kept once by the server (a resubmission). */
  duplicates: number;
  /** Waits because the queue was full. */
  fullWaits: number;
}

export interface ProducerOptions {
  batchId?: string;
  claimOptions?: ClaimOptions;
  via: BatchManifest['via'];
  maxInFlight?: number;
  /** Called after each acknowledged item (cheaply: the caller decides how often to show it). */
  onProgress?: (progress: SubmitProgress) => void;
}

export class BatchIdInUseError extends Error {
  constructor(batchId: string, items: number) {
    super(`the batch id "${batchId}" is already used by a batch of ${items} items; choose another (or leave it out for a new one)`);
    this.name = 'BatchIdInUseError';
  }
}


export function newBatchId(): string {
  return nuid.next();
}

export function checkBatchId(id: string): string | undefined {
  return TOKEN.test(id) ? undefined : `a batch id is 1 to 64 letters, digits, - or _, not "${id}"`;
}

export async function submitBatch(queue: QueueConnection, items: AsyncIterable<SubmitItem> | Iterable<SubmitItem>, o: ProducerOptions): Promise<BatchManifest> {
  const batchId = o.batchId ?? newBatchId();
  const claimOptions = o.claimOptions ?? {};
  const existing = await readManifest(queue, batchId);
  const progress: SubmitProgress = { published: 0, unreadable: 0, problems: 0, duplicates: 0, fullWaits: 0 };
  const inFlight = new Set<Promise<void>>();
  const maxInFlight = o.maxInFlight ?? 256;
  let failure: unknown;
  let item = 0;

  const publishWithRetry = async (send: () => Promise<PubAck | void>): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      try {
        const ack = await send();
        if (ack && ack.duplicate) progress.duplicates++;
        return;
      } catch (err) {
        if (isSubjectTaken(err)) return;
        const full = isStreamFull(err);
        if (full) progress.fullWaits++;
        // A full queue drains as workers scrub: wait as long as it takes. Anything else gets a few tries.
        if (!full && attempt >= 5) throw err;
        await sleep(Math.min(5000, 100 * 2 ** Math.min(attempt, 6)));
      }
    }
  };

  for await (const claim of items) {
    if (failure) break;
    item++;
    const n = item;
    let send: () => Promise<PubAck | void>;
    if ('fileProblem' in claim) {
      progress.problems++;
      const record = JSON.stringify({ problem: claim.fileProblem });
      send = () => queue.js.publish(queue.names.result(batchId, String(n)), record, { headers: unreadableHeaders(batchId, n, claimOptions, 'problem') }).then(() => undefined);
    } else if ('error' in claim) {
      progress.unreadable++;
      const result = withInputPlace(unreadableResult(claim, claim.problem ?? 'invalid-json', claim.error), claim);
      send = () => queue.js.publish(queue.names.result(batchId, String(n)), JSON.stringify(result), { headers: unreadableHeaders(batchId, n, claimOptions) }).then(() => undefined);
    } else {
      const outgoing = {
        batch: batchId,
        item: n,
        label: claim.label,
        ...(claim.line !== undefined ? { line: claim.line } : {}),
        input: claim.input,
        ...(claim.read?.findings.length ? { readerFindings: claim.read.findings } : {}),
      };
      const body = claimBody(outgoing);
      const h = claimHeaders(outgoing, claimOptions);
      send = () => queue.js.publish(queue.names.claims(batchId), body, { headers: h });
    }
    while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    const p = publishWithRetry(send).then(
      () => {
        progress.published++;
        o.onProgress?.(progress);
      },
      (err: unknown) => {
        failure ??= err;
      },
    );
    const tracked = p.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  }
  await Promise.all(inFlight);
  if (failure) throw failure;
  if (existing && existing.items !== item) throw new BatchIdInUseError(batchId, existing.items);
  const manifest: BatchManifest = {
    batchId,
    items: item,
    unreadable: progress.unreadable,
    ...(progress.problems ? { problems: progress.problems } : {}),
    submittedAt: existing?.submittedAt ?? new Date().toISOString(),
    via: o.via,
    ...(claimOptions.asOf ? { asOf: claimOptions.asOf } : {}),
    ...(claimOptions.record ? { record: true } : {}),
    ...(claimOptions.history === 'off' ? { history: 'off' as const } : {}),
    ...(claimOptions.correlationId ? { correlationId: claimOptions.correlationId } : {}),
  };
  if (!existing) await publishWithRetry(() => queue.js.publish(queue.names.manifest(batchId), JSON.stringify(manifest)));
  return existing ?? manifest;
}

/** Headers of a record the producer publishes itself: an unreadable item's result, or a file problem. */
function unreadableHeaders(batch: string, item: number, options: ClaimOptions, outcome: 'fail' | 'problem' = 'fail') {
  const h = claimHeaders({ batch, item, label: '', input: null }, options.correlationId ? { correlationId: options.correlationId } : {});
  h.delete(HEADER.msgId);
  h.set(HEADER.outcome, outcome);
  return h;
}

/** The manifest of a batch, or undefined when no batch of that id was submitted (or it expired). */
export async function readManifest(queue: QueueConnection, batchId: string): Promise<BatchManifest | undefined> {
  try {
    const m = await queue.jsm.direct.getMessage(queue.names.resultsStream, { last_by_subj: queue.names.manifest(batchId) });
    return m ? m.json<BatchManifest>() : undefined;
  } catch (err) {
    if (err instanceof Error && /no message found|not found/i.test(err.message)) return undefined;
    throw err;
  }
}
