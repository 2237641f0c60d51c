import type { Scrubber, ScrubOptions } from '../engine/scrubber.js';
import type { ScrubResult } from '../findings/finding.js';
import { completeResult } from './decorate.js';
import type { ReadFailure, ReadItem } from './types.js';

/** The outcome for one read item: a scrub result, or the reason the item held no claim. */
export type ItemResult = { label: string; result: ScrubResult } | { label: string; error: ReadFailure['error'] };

/**
 * Scrubs every claim that was read, in order, each result carrying the reader's structure
 * findings and the `source` of every finding.
 */
export async function scrubRead(scrubber: Scrubber, items: readonly ReadItem[], options: ScrubOptions = {}): Promise<ItemResult[]> {
  const out: ItemResult[] = [];
  for (const item of items) {
    if (item.kind === 'error') {
      out.push({ label: item.label, error: item.error });
      continue;
    }
    const result = await scrubber.scrub(item.input, { ...options, explain: false });
    out.push({ label: item.label, result: completeResult(result, item) });
  }
  return out;
}
