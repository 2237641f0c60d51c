import type { ScrubOptions, Scrubber } from '../engine/scrubber.js';
import type { ScrubResult } from '../findings/finding.js';
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
  close(): Promise<void>;
}

/** Packs only: `record` and `history` have nothing to act on. */
export class PacksOnlyScrub implements ClaimScrub {
  readonly description = 'packs only (no claim history configured)';

  scrub(scrubber: Scrubber, input: unknown, options: ClaimOptions): Promise<ScrubResult> {
    const scrubOptions: ScrubOptions = options.asOf ? { asOf: options.asOf } : {};
    return scrubber.scrub(input, scrubOptions);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}
}
