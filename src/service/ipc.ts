import cluster, { type Worker } from 'node:cluster';
import type { PackDiagnostic } from '../packs/diagnostics.js';
import type { ReloadOutcome } from './pack-holder.js';

/**
 * Messages between the cluster primary and its workers (node:cluster IPC). Every type starts
 * with "scrub:" so they never mix with prom-client's own metrics messages.
 */
export type WorkerMessage =
  | { type: 'scrub:listening'; address: string; packs: number; rules: number; loadedAt: string }
  | { type: 'scrub:reload-request'; id: number; trigger: string }
  | { type: 'scrub:prepared'; id: number; ok: true }
  | { type: 'scrub:prepared'; id: number; ok: false; diagnostics: PackDiagnostic[] }
  | { type: 'scrub:committed'; id: number; outcome: ReloadOutcome }
  | { type: 'scrub:metrics-request'; id: number }
  /** This worker's metrics (prom-client's JSON form), for the primary to sum. */
  | { type: 'scrub:metrics'; id: number; metrics: unknown[] }
  /** Every HEARTBEAT_MS: the connections handed to this worker so far, and whether it is stopping. */
  | { type: 'scrub:heartbeat'; accepted: number; stopping: boolean };

export type PrimaryMessage =
  | { type: 'scrub:reload-response'; id: number; outcome: ReloadOutcome }
  | { type: 'scrub:prepare'; id: number }
  | { type: 'scrub:commit'; id: number; trigger: string; loadedAt: string }
  | { type: 'scrub:abort'; id: number; outcome: ReloadOutcome; trigger: string }
  | { type: 'scrub:metrics-response'; id: number; text: string; error?: string }
  | { type: 'scrub:metrics-collect'; id: number };

/**
 * How long /metrics waits for the workers' figures: well under Prometheus's default 10 s scrape
 * timeout, so that a slow or stopped worker costs its figures, never the whole scrape.
 */
export const METRICS_COLLECT_TIMEOUT_MS = 2000;

/** How often a worker tells the primary how many connections it has been handed. */
export const HEARTBEAT_MS = 1000;

export function isScrubMessage(message: unknown): message is { type: string } {
  return typeof message === 'object' && message !== null && typeof (message as { type?: unknown }).type === 'string' && (message as { type: string }).type.startsWith('scrub:');
}

/**
 * Sends to the cluster primary while there is one. The primary can die between two turns of the
 * event loop: the write then fails (EPIPE) before 'disconnect' is seen. Without a callback,
 * node:cluster would re-emit that failure as an 'error' (see `survivePeerLoss`).
 */
export function sendToPrimary(message: WorkerMessage): void {
  if (process.connected) process.send?.(message, undefined, undefined, ignoreLostPeer);
}

/** Sends to a worker while it is connected; a worker that has just died is `sendToPrimary`'s case. */
export function sendToWorker(worker: Worker, message: PrimaryMessage): void {
  if (worker.isConnected()) worker.send(message, undefined, undefined, ignoreLostPeer);
}

function ignoreLostPeer(): void {}

/**
 * A write across the cluster's channel to a process that has just died (killed, say) fails
 * before the channel's end is seen, and node:cluster's own messages, sent without a callback,
 * report it as an 'error' on the Worker object: fatal unless handled. For a primary, that would
 * take down every worker over one worker's death; for a worker, every request it is finishing.
 * Such an error means what the channel's end means, and calls `lost`; any other is thrown.
 */
export function survivePeerLoss(peer: Worker, lost: () => void): void {
  peer.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' && err.code !== 'ECONNRESET' && err.code !== 'ERR_IPC_CHANNEL_CLOSED') throw err;
    lost();
  });
}

/**
 * In a cluster worker: calls `gone` once the primary is gone (killed, or exited), instead of
 * node:cluster's default of exiting at once, which would cut every request the worker holds.
 */
export function whenPrimaryGone(gone: () => void): void {
  process.removeAllListeners('disconnect');
  process.on('disconnect', gone);
  if (cluster.worker) survivePeerLoss(cluster.worker, gone);
}
