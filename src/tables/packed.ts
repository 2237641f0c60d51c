/**
 * Code lists held in typed arrays instead of Maps and strings, for indexes of tens of
 * thousands of codes (the ICD-10-CM order file, MUE): typed arrays go into a snapshot byte for
 * byte and are shared between threads (SharedTables), whereas a Map of 98,000 codes and their
 * titles is about 20 MB of heap that every thread would build again. They are built on shared
 * memory (as SharedTables would copy them to), so no copy of them is made and let go: freeing a
 * block of megabytes raises glibc's mmap threshold for good (src/tables/scratch.ts).
 */

import { newSharedArray } from './shared.js';

/** Codes are at most this long; 37^10 is below 2^53, so every code is an exact float64 key. */
const MAX_CODE_LENGTH = 10;
const EMPTY = -1;

/** Digits 1-10, capitals 11-36 (zero is left for "no character", so lengths never collide); -1 for anything else. */
function codeDigit(charCode: number): number {
  if (charCode >= 0x30 && charCode <= 0x39) return charCode - 0x30 + 1;
  if (charCode >= 0x41 && charCode <= 0x5a) return charCode - 0x41 + 11;
  return -1;
}

/**
 * A code of capital letters and digits as a number; -1 for any other text, which is no code of
 * a table (tables hold their codes upper-cased), so looking it up finds nothing, as a Map would.
 */
function codeKey(code: string): number {
  if (code.length === 0 || code.length > MAX_CODE_LENGTH) return -1;
  let key = 0;
  for (let i = 0; i < code.length; i++) {
    const digit = codeDigit(code.charCodeAt(i));
    if (digit < 0) return -1;
    key = key * 37 + digit;
  }
  return key;
}

/** The code a key stands for (the inverse of codeKey). */
function codeOfKey(key: number): string {
  let code = '';
  for (let k = key; k > 0; k = Math.floor(k / 37)) {
    const digit = k % 37;
    code = String.fromCharCode(digit <= 10 ? 0x30 + digit - 1 : 0x41 + digit - 11) + code;
  }
  return code;
}

function slotOf(key: number, mask: number): number {
  let h = Math.imul(key % 0x1_0000_0000 | 0, 0x9e3779b1) ^ Math.floor(key / 0x1_0000_0000);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h ^= h >>> 13;
  return h & mask;
}

/** Row numbers by code: an open-addressing hash table, at most half full, in two typed arrays. */
export class CodeRows {
  private constructor(
    private readonly keys: Float64Array<ArrayBufferLike>,
    private readonly rows: Int32Array<ArrayBufferLike>,
    readonly size: number,
  ) {}

  /** From codes (capital letters and digits, at most 10) and their rows. */
  static of(rowByCode: ReadonlyMap<string, number>): CodeRows {
    let slots = 16;
    while (slots < rowByCode.size * 2) slots *= 2;
    const keys = newSharedArray(Float64Array, slots);
    const rows = newSharedArray(Int32Array, slots).fill(EMPTY);
    const mask = slots - 1;
    for (const [code, row] of rowByCode) {
      const key = codeKey(code);
      if (key < 0) throw new Error(`${JSON.stringify(code)} cannot be a key: a code is 1 to ${MAX_CODE_LENGTH} capital letters and digits`);
      let slot = slotOf(key, mask);
      while (rows[slot] !== EMPTY) slot = (slot + 1) & mask;
      keys[slot] = key;
      rows[slot] = row;
    }
    return new CodeRows(keys, rows, rowByCode.size);
  }

  /** The row of a code, or -1. */
  rowOf(code: string): number {
    const key = codeKey(code);
    if (key < 0) return EMPTY;
    const mask = this.keys.length - 1;
    for (let slot = slotOf(key, mask); ; slot = (slot + 1) & mask) {
      const row = this.rows[slot]!;
      if (row === EMPTY || this.keys[slot] === key) return row;
    }
  }

  toArrays(): [Float64Array<ArrayBufferLike>, Int32Array<ArrayBufferLike>] {
    return [this.keys, this.rows];
  }

  /** Every code and its row, in no particular order (for diffs, not lookups). */
  *entries(): Generator<[string, number]> {
    for (let slot = 0; slot < this.rows.length; slot++) {
      const row = this.rows[slot]!;
      if (row !== EMPTY) yield [codeOfKey(this.keys[slot]!), row];
    }
  }

  static fromArrays(keys: Float64Array<ArrayBufferLike>, rows: Int32Array<ArrayBufferLike>, size: number): CodeRows {
    return new CodeRows(keys, rows, size);
  }
}

/** A list of texts as UTF-8 bytes and offsets; each text is decoded when it is asked for. */
export class PackedTexts {
  private readonly view: Buffer;

  private constructor(
    private readonly bytes: Uint8Array<ArrayBufferLike>,
    /** Text i is bytes[offsets[i]] up to bytes[offsets[i + 1]]. */
    private readonly offsets: Uint32Array<ArrayBufferLike>,
  ) {
    this.view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  static of(texts: readonly string[]): PackedTexts {
    const offsets = newSharedArray(Uint32Array, texts.length + 1);
    for (let i = 0; i < texts.length; i++) offsets[i + 1] = offsets[i]! + Buffer.byteLength(texts[i]!, 'utf8');
    const packed = new PackedTexts(newSharedArray(Uint8Array, offsets[texts.length]!), offsets);
    texts.forEach((text, i) => packed.view.write(text, offsets[i]!, 'utf8'));
    return packed;
  }

  get length(): number {
    return this.offsets.length - 1;
  }

  at(i: number): string {
    return this.view.toString('utf8', this.offsets[i]!, this.offsets[i + 1]!);
  }

  toArrays(): [Uint8Array<ArrayBufferLike>, Uint32Array<ArrayBufferLike>] {
    return [this.bytes, this.offsets];
  }

  static fromArrays(bytes: Uint8Array<ArrayBufferLike>, offsets: Uint32Array<ArrayBufferLike>): PackedTexts {
    return new PackedTexts(bytes, offsets);
  }
}
