import type { ScrubOptions, Scrubber } from '../engine/scrubber.js';
import type { ScrubResult } from '../findings/finding.js';
import type { ClaimHistory } from '../history/claim-history.js';
import type { HistoryTarget } from '../history/config.js';
import { HistoryUnavailableError } from '../history/store.js';
import type { ClaimOptions } from './messages.js';

/**
 * How a worker scrubs one claim: the seam where the claim history plugs in. Without history a
 * claim is scrubbed with the packs alone. With history (a shared PostgreSQL for many workers),
 * the claim is scrubbed against the patient's recorded claims and, when the producer asked for
 * `record`, recorded in the same unit; recording replaces any earlier version with the same
 * claim id, and a redelivered claim whose result was already published is never scrubbed again,
 * so history is never recorded twice.
 */
export interface ClaimScrub {
  /** Describes what is used, for the start-up log line (no secrets). */
  readonly description: string;
  scrub(scrubber: Scrubber, input: unknown, options: ClaimOptions): Promise<ScrubResult>;
  /** Throws when a dependency (the history store) cannot be used: readiness fails. */
  ping(): Promise<void>;
  /**
   * Whether a scrub failed because a dependency is down rather than because of the claim: the
   * worker then holds the claim and waits for the dependency, instead of spending its attempts.
   */
  isOutage(err: unknown): boolean;
  close(): Promise<void>;
}

/** Packs only: there is no history to consult, and a claim sent with `record` says it was not recorded. */
export class PacksOnlyScrub implements ClaimScrub {
  readonly description = 'packs only (no claim history configured)';

  async scrub(scrubber: Scrubber, input: unknown, options: ClaimOptions): Promise<ScrubResult> {
    const scrubOptions: ScrubOptions = options.asOf ? { asOf: options.asOf } : {};
    const result = await scrubber.scrub(input, scrubOptions);
    if (!options.record) return result;
    return { ...result, history: { consulted: false, recorded: false, reason: 'the claim was not recorded: the worker that scrubbed it has no claim history (SCRUB_HISTORY_URL)' } };
  }

  async ping(): Promise<void> {}

  isOutage(): boolean {
    return false;
  }

  async close(): Promise<void> {}
}

/**
 * With the claim history: every worker pointed at the same PostgreSQL sees every claim any of
 * them (or the service) recorded. `record` and `history: 'off'` come from the producer.
 */
export class HistoryScrub implements ClaimScrub {
  readonly description: string;

  constructor(
    private readonly history: ClaimHistory,
    target: HistoryTarget,
  ) {
    this.description = target.kind === 'postgresql' ? `packs and the claim history on PostgreSQL (${postgresPlace(target.url)})` : `packs and the claim history in SQLite (${target.file})`;
  }

  scrub(scrubber: Scrubber, input: unknown, options: ClaimOptions): Promise<ScrubResult> {
    return this.history.scrub(scrubber, input, {
      ...(options.asOf ? { asOf: options.asOf } : {}),
      record: options.record === true,
      mode: options.history === 'off' ? 'off' : 'on',
    });
  }

  ping(): Promise<void> {
    return this.history.store.ping();
  }

  isOutage(err: unknown): boolean {
    return err instanceof HistoryUnavailableError;
  }

  close(): Promise<void> {
    return this.history.close();
  }
}

/** Host, port and database of a PostgreSQL URL, for a log line: never the user or the password. */
function postgresPlace(url: string): string {
  try {
    const u = new URL(url);
    const socket = u.searchParams.get('host');
    return `${socket ?? u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname}`;
  } catch {
    return 'a postgres:// URL';
  }
}
