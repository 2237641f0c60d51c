/**
 * How the cluster primary notices a worker that no longer receives connections.
 *
 * The primary accepts every connection and hands it to a free worker; a worker is free again once
 * it has said it received the last one. A worker that cannot receive one (out of descriptors,
 * so the handle is lost on its way) never says so, and is never handed another connection: it
 * looks alive, answers its kept-alive connections, and takes nothing new, for good. Each worker
 * reports, once a second, how many connections it has been handed so far:
 * - a worker whose count stands still for STARVE_MS while the others are handed
 *   STARVE_CONNECTIONS between them is starved;
 * - when no count has moved for PROBE_AFTER_MS (no traffic, or every worker starved), the primary
 *   opens a connection to the service itself; when no worker's count moves within
 *   PROBE_TIMEOUT_MS, every worker that still reports is starved.
 * A worker whose reports stopped (its event loop is blocked, or it is stopped) is not judged:
 * it may be busy, and the primary cannot tell.
 */

export const STARVE_MS = 3000;
export const STARVE_CONNECTIONS = 16;
/** A worker last heard from longer ago than this is not judged. */
export const HEARD_WITHIN_MS = 2500;
export const PROBE_AFTER_MS = 5000;
export const PROBE_TIMEOUT_MS = 3000;

interface Heard {
  accepted: number;
  heardAt: number;
  /** When its count last moved, and what the others' counts summed to then. */
  movedAt: number;
  othersAtMove: number;
  stopping: boolean;
}

export interface ConnectionWatchOptions {
  /** Opens a connection to the service; returns what closes it. */
  openProbe: () => () => void;
  now?: () => number;
}

export class ConnectionWatch {
  private readonly heard = new Map<number, Heard>();
  private probe: { at: number; total: number; close: () => void } | undefined;
  private lastProbeAt = Number.NEGATIVE_INFINITY;
  private readonly now: () => number;

  constructor(private readonly options: ConnectionWatchOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  /** A worker's report: the connections it has been handed so far, and whether it is stopping. */
  report(worker: number, accepted: number, stopping: boolean): void {
    const now = this.now();
    const known = this.heard.get(worker);
    if (!known || known.accepted !== accepted) {
      this.heard.set(worker, { accepted, heardAt: now, movedAt: now, othersAtMove: this.total() - (known?.accepted ?? 0), stopping });
      return;
    }
    known.heardAt = now;
    known.stopping = stopping;
  }

  /** The worker exited, or was replaced: no longer judged. */
  forget(worker: number): void {
    this.heard.delete(worker);
  }

  /** The workers starved now (call about once a second). */
  starved(): number[] {
    const now = this.now();
    const total = this.total();
    const judged = [...this.heard].filter(([, h]) => !h.stopping && now - h.heardAt <= HEARD_WITHIN_MS);
    const starved = new Set<number>();
    for (const [worker, h] of judged) {
      if (now - h.movedAt >= STARVE_MS && total - h.accepted - h.othersAtMove >= STARVE_CONNECTIONS) starved.add(worker);
    }
    if (this.probe) {
      if (total > this.probe.total) this.endProbe();
      else if (now - this.probe.at >= PROBE_TIMEOUT_MS) {
        const sentAt = this.probe.at;
        this.endProbe();
        for (const [worker, h] of judged) if (h.movedAt <= sentAt) starved.add(worker);
      }
    } else if (judged.length > 0 && now - this.lastMove() >= PROBE_AFTER_MS && now - this.lastProbeAt >= PROBE_AFTER_MS) {
      this.lastProbeAt = now;
      this.probe = { at: now, total, close: this.options.openProbe() };
    }
    return [...starved];
  }

  stop(): void {
    this.endProbe();
  }

  private endProbe(): void {
    this.probe?.close();
    this.probe = undefined;
  }

  private total(): number {
    let sum = 0;
    for (const h of this.heard.values()) sum += h.accepted;
    return sum;
  }

  private lastMove(): number {
    let last = Number.NEGATIVE_INFINITY;
    for (const h of this.heard.values()) last = Math.max(last, h.movedAt);
    return last;
  }
}
