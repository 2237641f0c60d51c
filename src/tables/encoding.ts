import type { DateWindow } from '../packs/model.js';

/**
 * Compact encodings for table indexes: dates as yyyymmdd integers (they sort like dates and
 * fit an Int32Array) and five-character procedure codes as base-36 integers (two of them make
 * one exact float64 hash key, so a 2-million-row PTP table needs no string per row).
 */

/** A deletion date of "*" (no deletion): later than any real date. */
export const OPEN_END = 99_991_231;

/** "2023-05-01" -> 20230501; NaN when the text is not an ISO date. */
export function dateNumberOfIso(iso: string): number {
  if (iso.length !== 10 || iso[4] !== '-' || iso[7] !== '-') return Number.NaN;
  return Number(iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 10));
}

/** 20230501 -> "2023-05-01". */
export function isoOfDateNumber(n: number): string {
  const s = String(n).padStart(8, '0');
  return `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}`;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isRealDate(y: number, m: number, d: number): boolean {
  if (y < 1900 || y > 9999 || m < 1 || m > 12 || d < 1) return false;
  const leapDay = m === 2 && ((y % 4 === 0 && y % 100 !== 0) || y % 400 === 0) ? 1 : 0;
  return d <= DAYS_IN_MONTH[m - 1]! + leapDay;
}

/** Eight ASCII digits YYYYMMDD in a buffer -> 20230501, or -1 if they are not a real date. */
export function dateNumberAt(buffer: Buffer, start: number, end: number): number {
  if (end - start !== 8) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const digit = buffer[i]! - 0x30;
    if (digit < 0 || digit > 9) return -1;
    n = n * 10 + digit;
  }
  return isRealDate(Math.floor(n / 10_000), Math.floor(n / 100) % 100, n % 100) ? n : -1;
}

/** "20230501" or "2023-05-01" -> 20230501, or -1 if it is not a real date. */
export function dateNumberOfText(text: string): number {
  const t = text.trim();
  const digits = /^\d{8}$/.test(t) ? t : /^\d{4}-\d{2}-\d{2}$/.test(t) ? t.replace(/-/g, '') : '';
  if (!digits) return -1;
  const n = Number(digits);
  return isRealDate(Math.floor(n / 10_000), Math.floor(n / 100) % 100, n % 100) ? n : -1;
}

/** Base-36 value of one ASCII letter or digit (either case), or -1. */
function base36(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x41 && byte <= 0x5a) return byte - 0x41 + 10;
  if (byte >= 0x61 && byte <= 0x7a) return byte - 0x61 + 10;
  return -1;
}

/** Every CPT and HCPCS code is five letters or digits: 36^5 values, less than 2^26. */
export const CODE_KEY_LIMIT = 2 ** 26;

/** A five-character code in a buffer as an integer below 2^26, or -1 when it is not one. */
export function codeKeyAt(buffer: Buffer, start: number, end: number): number {
  if (end - start !== 5) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const v = base36(buffer[i]!);
    if (v < 0) return -1;
    n = n * 36 + v;
  }
  return n;
}

/** 1234567 (a key of codeKeyOf) -> the five-character code it stands for. */
export function codeOfKey(key: number): string {
  return key.toString(36).toUpperCase().padStart(5, '0');
}

export function codeKeyOf(code: string): number {
  if (code.length !== 5) return -1;
  let n = 0;
  for (let i = 0; i < 5; i++) {
    const v = base36(code.charCodeAt(i));
    if (v < 0) return -1;
    n = n * 36 + v;
  }
  return n;
}

const POOL_LIMIT = 0xffff;
const POOL_OVERFLOW = '(not kept: the column has more than 65,535 different texts)';

/**
 * Interns repeated text (rationales, adjudication texts) as small integers that fit a
 * Uint16Array. A column with absurdly many different texts keeps the first 65,535 and shows
 * the rest as a placeholder rather than failing the load.
 */
export class TextPool {
  readonly texts: string[] = [];
  private readonly ids = new Map<string, number>();

  constructor(initial: readonly string[] = []) {
    for (const t of initial) this.id(t);
  }

  id(text: string): number {
    let id = this.ids.get(text);
    if (id === undefined) {
      if (this.texts.length === POOL_LIMIT) {
        this.texts.push(POOL_OVERFLOW);
        return POOL_LIMIT;
      }
      if (this.texts.length > POOL_LIMIT) return POOL_LIMIT;
      id = this.texts.length;
      this.texts.push(text);
      this.ids.set(text, id);
    }
    return id;
  }
}

/**
 * Interns the text of a byte range without decoding it first: a hash of the bytes finds the
 * candidates, a byte comparison confirms. A column such as the PTP rationale has a few dozen
 * different values over millions of rows, so almost every row costs a hash and one compare.
 */
export class BytePool {
  private readonly byHash = new Map<number, Array<{ bytes: Buffer; id: number }>>();

  constructor(readonly texts: TextPool = new TextPool()) {}

  idAt(buffer: Buffer, start: number, end: number): number {
    let h = 0x811c9dc5;
    for (let i = start; i < end; i++) h = Math.imul(h ^ buffer[i]!, 0x01000193);
    let candidates = this.byHash.get(h);
    if (candidates) {
      for (const c of candidates) {
        if (c.bytes.length === end - start && buffer.compare(c.bytes, 0, c.bytes.length, start, end) === 0) return c.id;
      }
    } else {
      candidates = [];
      this.byHash.set(h, candidates);
    }
    // Texts that differ only in surrounding spaces share one id in the text pool.
    const id = this.texts.id(buffer.toString('utf8', start, end).trim());
    candidates.push({ bytes: Buffer.from(buffer.subarray(start, end)), id });
    return id;
  }
}

export type { DateWindow };
