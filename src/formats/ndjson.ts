import { parseSafeJson, type SafeJsonProblem } from '../util/safe-json.js';
import { lowerFirst } from '../util/text.js';
import { isFhirResource } from './fhir/read.js';
import { readJsonValue, unreadableProblemOf, type ClaimItem, type UnreadableProblem } from './json.js';

/**
 * NDJSON (one JSON value per line) read line by line, from bytes. Used by `scrub check` for
 * files and standard input and by POST /v1/scrub/batch for request bodies, so both read a
 * line, number it and refuse it in exactly the same way.
 *
 * Memory stays flat whatever the input size: at most one line (bounded by `maxLineBytes`) is
 * held at a time; a longer line is skipped as it streams past, never collected.
 */

export type NdjsonLine =
  | { number: number; text: string }
  | { number: number; problem: 'line-too-long'; maxLineBytes: number }
  | { number: number; problem: 'invalid-utf8' };

export interface NdjsonOptions {
  /** Longest accepted line in bytes, not counting the line break. */
  maxLineBytes?: number;
}

const NEWLINE = 0x0a;

/** Splits bytes into numbered lines as they arrive; `push` and `end` return the complete ones. */
export class NdjsonSplitter {
  private readonly maxLineBytes: number;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The current line went over the limit: drop its bytes until the next line break. */
  private skipping = false;
  private lineNumber = 0;

  constructor(options: NdjsonOptions = {}) {
    this.maxLineBytes = options.maxLineBytes ?? Number.POSITIVE_INFINITY;
  }

  push(chunk: Buffer | Uint8Array | string): NdjsonLine[] {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const out: NdjsonLine[] = [];
    let start = 0;
    while (start <= bytes.length) {
      const newline = bytes.indexOf(NEWLINE, start);
      const end = newline === -1 ? bytes.length : newline;
      this.take(bytes.subarray(start, end));
      if (newline === -1) break;
      out.push(this.finishLine());
      start = newline + 1;
    }
    return out;
  }

  /** The last line, when the input does not end with a line break. */
  end(): NdjsonLine[] {
    if (this.pendingBytes === 0 && !this.skipping) return [];
    return [this.finishLine()];
  }

  private take(segment: Buffer): void {
    if (segment.length === 0 || this.skipping) return;
    if (this.pendingBytes + segment.length > this.maxLineBytes) {
      this.skipping = true;
      this.pending = [];
      this.pendingBytes = 0;
      return;
    }
    // Copy: the caller's chunk may be reused once we return.
    this.pending.push(Buffer.from(segment));
    this.pendingBytes += segment.length;
  }

  private finishLine(): NdjsonLine {
    const number = ++this.lineNumber;
    if (this.skipping) {
      this.skipping = false;
      return { number, problem: 'line-too-long', maxLineBytes: this.maxLineBytes };
    }
    let bytes = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    if (bytes.length > 0 && bytes[bytes.length - 1] === 0x0d /* \r */) bytes = bytes.subarray(0, bytes.length - 1);
    try {
      // A fresh decode per line: a bad byte in one line must not affect the next.
      let text = this.decoder.decode(bytes);
      if (number === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      return { number, text };
    } catch {
      return { number, problem: 'invalid-utf8' };
    }
  }
}

/** Lines of a byte (or text) stream, one at a time, pulling the next chunk only when asked. */
export async function* ndjsonLines(source: AsyncIterable<Buffer | Uint8Array | string> | Iterable<Buffer | Uint8Array | string>, options: NdjsonOptions = {}): AsyncGenerator<NdjsonLine> {
  const splitter = new NdjsonSplitter(options);
  for await (const chunk of source) yield* splitter.push(chunk);
  yield* splitter.end();
}

const SAFE_JSON_PROBLEMS: Record<SafeJsonProblem, UnreadableProblem> = {
  'invalid-json': 'invalid-json',
  'empty-body': 'invalid-json',
  'too-deep': 'too-deep',
  'forbidden-key': 'forbidden-key',
};

/** One line as a claim item: its parsed value, or why it cannot be read. Blank lines give none. */
export function ndjsonItem(line: NdjsonLine): ClaimItem | undefined {
  const label = `line ${line.number}`;
  if ('problem' in line) {
    return line.problem === 'invalid-utf8'
      ? { label, line: line.number, problem: 'invalid-json', error: 'not valid UTF-8 text' }
      : { label, line: line.number, problem: 'line-too-long', error: `longer than the limit of ${line.maxLineBytes} bytes, so it was not read` };
  }
  if (line.text.trim() === '') return undefined;
  const parsed = parseSafeJson(line.text);
  if (parsed.ok) return { label, line: line.number, input: parsed.value };
  return {
    label,
    line: line.number,
    problem: SAFE_JSON_PROBLEMS[parsed.problem],
    // Within one line, the character says where; the line is the item's own.
    error: parsed.problem === 'invalid-json' ? `not valid JSON: ${parsed.reason} at character ${parsed.offset + 1}` : `refused: ${parsed.message}`,
  };
}

/**
 * The claims of an NDJSON stream, in order: one per non-blank line, except that a line holding a
 * FHIR resource (FHIR bulk data is NDJSON) gives the claims the FHIR reader finds in it.
 */
export async function* ndjsonItems(source: AsyncIterable<Buffer | Uint8Array | string> | Iterable<Buffer | Uint8Array | string>, options: NdjsonOptions = {}): AsyncGenerator<ClaimItem> {
  for await (const line of ndjsonLines(source, options)) {
    const item = ndjsonItem(line);
    if (!item) continue;
    if ('input' in item && isFhirResource(item.input)) yield* fhirLineItems(item.label, item.line, item.input);
    else yield item;
  }
}

function* fhirLineItems(label: string, line: number | undefined, resource: unknown): Generator<ClaimItem> {
  // A line is one input item: what its resource holds that is not a claim stands in its place.
  for (const record of readJsonValue(resource).records) {
    if (record.kind === 'problem') yield { label, line, error: lowerFirst(record.problem.message), problem: unreadableProblemOf(record.problem.code) };
    else if (record.kind === 'error') yield { label, line, error: lowerFirst(record.error.message), problem: unreadableProblemOf(record.error.code) };
    else yield { label: `${label} ${record.label}`, line, input: record.input, read: record };
  }
}
