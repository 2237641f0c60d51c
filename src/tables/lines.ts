import { fileSource, type TableSource } from './sources.js';

/**
 * Reads a file line by line as bytes, without turning each line into a string: the big CMS
 * tables (the practitioner PTP table is about 2 million rows) are parsed straight from the
 * buffer, and only the fields a table keeps become strings. Memory stays at one chunk plus
 * one carried-over partial line, whatever the file size.
 */

/** Called once per line; `start`..`end` excludes the line break (LF, CRLF or a lone CR). */
export type LineVisitor = (buffer: Buffer, start: number, end: number, lineNumber: number) => void;

export interface LineScan {
  /** Lines seen, including blank ones. */
  lines: number;
}

const CHUNK_BYTES = 1 << 20;
const LF = 0x0a;
const CR = 0x0d;

/** Skips a UTF-8 byte-order mark at the start of a file (Excel and many exports write one). */
function bomLength(buffer: Buffer, length: number): number {
  return length >= 3 && buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf ? 3 : 0;
}

/** Scans a file, or a member of a zip archive, line by line. */
export async function scanLines(input: string | TableSource, visit: LineVisitor): Promise<LineScan> {
  const reader = await (typeof input === 'string' ? fileSource(input) : input).open();
  try {
    let chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    // Bytes of a line that started in an earlier chunk sit at the front of `chunk`.
    let carried = 0;
    let lineNumber = 0;
    let first = true;
    let pendingCr = false;
    for (;;) {
      if (carried === chunk.length) {
        // One line longer than the buffer: grow it rather than split the line.
        const bigger = Buffer.allocUnsafe(chunk.length * 2);
        chunk.copy(bigger, 0, 0, carried);
        chunk = bigger;
      }
      const bytesRead = await reader.read(chunk, carried, chunk.length - carried);
      if (bytesRead === 0) break;
      const end = carried + bytesRead;
      let lineStart = 0;
      if (first) {
        lineStart = bomLength(chunk, end);
        first = false;
      }
      let i = carried;
      if (pendingCr) {
        // A CR ended the previous chunk; a LF right after it belongs to the same line break.
        if (chunk[i] === LF) {
          i++;
          lineStart = i;
        }
        pendingCr = false;
      }
      // Line breaks are found with indexOf (native memchr), not a byte-by-byte loop: most of
      // the time of reading a big table is finding its 2 million line ends.
      let nextLf = chunk.indexOf(LF, i);
      if (nextLf >= end) nextLf = -1;
      let nextCr = chunk.indexOf(CR, i);
      if (nextCr >= end) nextCr = -1;
      while (i < end && (nextLf >= 0 || nextCr >= 0)) {
        // The earlier of the next CR and the next LF ends the line; CRLF counts once.
        const isCr = nextCr >= 0 && (nextLf < 0 || nextCr < nextLf);
        const at = isCr ? nextCr : nextLf;
        lineNumber++;
        visit(chunk, lineStart, at, lineNumber);
        i = at + 1;
        if (isCr) {
          if (i < end) {
            if (chunk[i] === LF) i++;
          } else {
            pendingCr = true;
          }
        }
        lineStart = i;
        if (nextLf >= 0 && nextLf < i) {
          nextLf = chunk.indexOf(LF, i);
          if (nextLf >= end) nextLf = -1;
        }
        if (nextCr >= 0 && nextCr < i) {
          nextCr = chunk.indexOf(CR, i);
          if (nextCr >= end) nextCr = -1;
        }
      }
      carried = end - lineStart;
      if (carried > 0) chunk.copy(chunk, 0, lineStart, end);
    }
    if (carried > 0) {
      lineNumber++;
      visit(chunk, 0, carried, lineNumber);
    }
    return { lines: lineNumber };
  } finally {
    await reader.close();
  }
}

/** The bytes between two positions as text (UTF-8), for the few fields a table keeps. */
export function textAt(buffer: Buffer, start: number, end: number): string {
  return buffer.toString('utf8', start, end);
}

/** Positions of the fields of a delimited line, written into `bounds` as start,end pairs. */
export function splitFields(buffer: Buffer, start: number, end: number, delimiter: number, bounds: number[]): number {
  let count = 0;
  let fieldStart = start;
  for (let i = start; i <= end; i++) {
    if (i === end || buffer[i] === delimiter) {
      bounds[count * 2] = fieldStart;
      bounds[count * 2 + 1] = i;
      count++;
      fieldStart = i + 1;
    }
  }
  return count;
}

/** True when the bytes are only spaces and tabs (a blank or padding line). */
export function isBlank(buffer: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const b = buffer[i];
    if (b !== 0x20 && b !== 0x09) return false;
  }
  return true;
}
