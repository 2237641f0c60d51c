import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { ScrubbedItem } from './parallel-scrub.js';

/** Results packed together: 64 results of about 4 KB deflate to about 20 KB. */
const PACK = 64;

/**
 * Results that wait, in input order, for their place in the output: an X12 file's claims are
 * scrubbed as soon as they are read, and their results wait until the reader places them (up to
 * STREAM_WINDOW_CLAIMS of them; see streamX12PlacedLate). Their JSON text waits deflated, in packs
 * of 64: as text, 5,000 results with full-size tables (4 KB each, findings and their sources) are
 * as much memory as the claims' segments the reader would otherwise hold for them. Results for
 * the text output wait as they are (their label may change when they are placed).
 */
export class WaitingResults {
  /** The oldest results, unpacked, from `head` on. */
  private taking: ScrubbedItem[] = [];
  private head = 0;
  private readonly packs: Buffer[] = [];
  private newest: ScrubbedItem[] = [];
  size = 0;

  /** `packJson`: the results are wanted as JSON text only (the json and ndjson outputs). */
  constructor(private readonly packJson: boolean) {}

  push(item: ScrubbedItem): void {
    this.newest.push(item);
    this.size++;
    if (this.packJson && this.newest.length === PACK) {
      this.packs.push(deflateRawSync(this.newest.map((i) => i.json).join('\n'), { level: 1 }));
      this.newest = [];
    }
  }

  /** The oldest result waiting (there must be one). */
  shift(): ScrubbedItem {
    if (this.head === this.taking.length) {
      const pack = this.packs.shift();
      // JSON text holds no line break of its own: a result is one line of the pack.
      this.taking = pack ? inflateRawSync(pack).toString('utf8').split('\n').map((json) => new ScrubbedItem({ label: '' }, 'pass', { json })) : this.newest;
      if (!pack) this.newest = [];
      this.head = 0;
    }
    this.size--;
    const item = this.taking[this.head]!;
    this.taking[this.head++] = undefined!;
    return item;
  }
}
