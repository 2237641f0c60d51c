import type { Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { formatDiagnostic } from '../packs/diagnostics.js';
import type { Scrubber } from '../engine/scrubber.js';
import { packVersions, type PackHolder, type PackVersionInfo } from '../service/pack-holder.js';
import type { QueueConnection } from './connect.js';

/**
 * Coordinated pack reloads across every worker on the queue, in two phases over
 * `<name>.control.reload` (core NATS: every worker hears it):
 *   prepare: each worker loads and checks its rules folder, keeps the new set aside, and answers
 *            with the versions it would serve (or its errors);
 *   commit:  when every worker that answered is ready with the same versions, each swaps in its
 *            prepared set; otherwise abort, and every worker keeps the set it has.
 * A worker swaps between two claims: each claim is scrubbed, start to end, with one set, and its
 * result names that set's pack versions.
 */

export type ReloadRequest = { phase: 'prepare' | 'commit' | 'abort'; id: string };

export interface ReloadAnswer {
  worker: string;
  phase: ReloadRequest['phase'];
  ok: boolean;
  packs?: PackVersionInfo[];
  errors?: string[];
}

/** A worker's side: answers reload requests until the subscription ends. */
export function answerReloads(queue: QueueConnection, holder: PackHolder, worker: string, log: Logger, onCommit: () => void): Subscription {
  const prepared = new Map<string, Scrubber>();
  return queue.nc.subscribe(queue.names.reload, {
    callback: (err, msg) => {
      if (err) return;
      let request: ReloadRequest;
      try {
        request = msg.json<ReloadRequest>();
      } catch {
        return;
      }
      const answer = (a: Omit<ReloadAnswer, 'worker' | 'phase'>) => msg.respond(JSON.stringify({ worker, phase: request.phase, ...a } satisfies ReloadAnswer));
      if (request.phase === 'prepare') {
        void holder.serialise(async () => {
          const result = await holder.prepare();
          if (result.ok) {
            prepared.set(request.id, result.scrubber);
            answer({ ok: true, packs: packVersions(result.scrubber.packSet) });
          } else {
            const errors = result.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
            log.error({ reload: request.id, problems: errors.length, diagnostics: errors }, 'coordinated reload: the packs have errors; this worker keeps its set');
            answer({ ok: false, errors: errors.slice(0, 20) });
          }
        });
      } else if (request.phase === 'commit') {
        const scrubber = prepared.get(request.id);
        prepared.delete(request.id);
        if (scrubber) {
          holder.commit(scrubber);
          const outcome = holder.describe();
          holder.notify(outcome, `coordinated reload ${request.id}`);
          onCommit();
        }
        answer({ ok: scrubber !== undefined, packs: holder.describe().packs });
      } else {
        prepared.delete(request.id);
        answer({ ok: true, packs: holder.describe().packs });
      }
    },
  });
}

/** What `scrub worker reload` reports. */
export interface CoordinatedReload {
  committed: boolean;
  /** Why not, when not. */
  reason?: string;
  prepared: ReloadAnswer[];
  committedBy: ReloadAnswer[];
}

/** Asks every worker; waits `waitMs`, or less once `expected` answers are in. */
async function ask(queue: QueueConnection, request: ReloadRequest, waitMs: number, expected?: number): Promise<ReloadAnswer[]> {
  const answers: ReloadAnswer[] = [];
  const replies = await queue.nc.requestMany(
    queue.names.reload,
    JSON.stringify(request),
    expected ? { strategy: 'count', maxMessages: expected, maxWait: waitMs } : { strategy: 'timer', maxWait: waitMs },
  );
  for await (const reply of replies) {
    try {
      answers.push(reply.json<ReloadAnswer>());
    } catch {
      // Not one of ours.
    }
  }
  return answers.sort((a, b) => (a.worker < b.worker ? -1 : a.worker > b.worker ? 1 : 0));
}

const versionsText = (packs: PackVersionInfo[] | undefined) => (packs ?? []).map((p) => `${p.name}@${p.version}`).join(',');

/** Asks every worker to prepare, then commits only if every one is ready with the same versions. */
export async function reloadWorkers(queue: QueueConnection, waitMs = 10_000): Promise<CoordinatedReload> {
  const id = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const prepared = await ask(queue, { phase: 'prepare', id }, waitMs);
  let reason: string | undefined;
  if (prepared.length === 0) reason = 'no worker answered';
  else if (prepared.some((a) => !a.ok)) reason = 'a worker cannot load its packs';
  else if (new Set(prepared.map((a) => versionsText(a.packs))).size > 1) reason = 'the workers would serve different pack versions (their rules folders differ)';
  if (reason) {
    await ask(queue, { phase: 'abort', id }, waitMs, prepared.length || 1);
    return { committed: false, reason, prepared, committedBy: [] };
  }
  const committedBy = await ask(queue, { phase: 'commit', id }, waitMs, prepared.length);
  return { committed: true, prepared, committedBy };
}
