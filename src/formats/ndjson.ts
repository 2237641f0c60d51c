import { isUtf8 } from 'node:buffer';
import { parseSafeJson, type SafeJsonProblem } from '../util/safe-json.js';
import { lowerFirst } from '../util/text.js';
import { isFhirResource } from './fhir/read.js';
import { ndjsonLineProblem, readJsonValue, unreadableProblemOf, type ClaimItem, type UnreadableProblem } from './json.js';

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
const BOM = 0xfeff;
const REPLACEMENT_CHARACTER = '\ufffd';

/**
 * Splits bytes into numbered lines as they arrive; `push` and `end` return the complete ones.
 *
 * A line that lies whole within a chunk is checked and decoded where it is, with no copy: that
 * is nearly every line, since chunks are far longer than claims. Only the part of a line that a
 * chunk ends in is copied, to wait for the rest.
 */
export class NdjsonSplitter {
  private readonly maxLineBytes: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The current line went over the limit: drop its bytes until the next line break. */
  private skipping = false;
  private lineNumber = 0;
  /** The chunk being split (see feed), and where its next line starts. */
  private chunk: Buffer | undefined;
  private at = 0;
  private ended = false;

  constructor(options: NdjsonOptions = {}) {
    this.maxLineBytes = options.maxLineBytes ?? Number.POSITIVE_INFINITY;
  }

  push(chunk: Buffer | Uint8Array | string): NdjsonLine[] {
    this.feed(chunk);
    const out: NdjsonLine[] = [];
    for (let line = this.nextLine(); line !== undefined; line = this.nextLine()) out.push(line);
    return out;
  }

  /** The last line, when the input does not end with a line break. */
  end(): NdjsonLine[] {
    this.close();
    const last = this.nextLine();
    return last === undefined ? [] : [last];
  }

  /** No chunk will follow: nextLine then hands out the last line, if the input does not end with a line break. */
  close(): void {
    this.ended = true;
  }

  /**
   * Takes a chunk whose lines nextLine then hands out one at a time. The chunk is held (not
   * copied) until its last complete line is taken: the caller must not reuse it before then.
   */
  feed(chunk: Buffer | Uint8Array | string): void {
    if (this.chunk !== undefined) throw new Error('NdjsonSplitter: a chunk was fed before the lines of the one before were taken');
    this.chunk = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.at = 0;
  }

  /**
   * The next complete line of the chunk fed, or undefined when it holds no more (the part of a
   * line it ends in is then copied, to wait for the rest); after end(), the last line once.
   * Lines are taken one at a time so that a reader parses them as it needs them (a batch at a
   * time: NdjsonItemReader) and never holds a chunk's worth of parsed claims.
   */
  nextLine(): NdjsonLine | undefined {
    const bytes = this.chunk;
    if (bytes === undefined) return this.ended && (this.pendingBytes > 0 || this.skipping) ? this.finishPending() : undefined;
    const start = this.at;
    const newline = bytes.indexOf(NEWLINE, start);
    if (newline === -1) {
      // Copy: the caller's chunk may be reused once it has no more lines.
      if (start < bytes.length) this.take(bytes, start, bytes.length, true);
      this.chunk = undefined;
      return this.nextLine();
    }
    this.at = newline + 1;
    if (this.pendingBytes === 0 && !this.skipping) return this.lineOf(bytes, start, newline);
    this.take(bytes, start, newline);
    return this.finishPending();
  }

  private take(bytes: Buffer, start: number, end: number, copy = false): void {
    if (end === start || this.skipping) return;
    if (this.pendingBytes + end - start > this.maxLineBytes) {
      this.skipping = true;
      this.pending = [];
      this.pendingBytes = 0;
      return;
    }
    const segment = bytes.subarray(start, end);
    this.pending.push(copy ? Buffer.from(segment) : segment);
    this.pendingBytes += segment.length;
  }

  private finishPending(): NdjsonLine {
    if (this.skipping) {
      this.skipping = false;
      return { number: ++this.lineNumber, problem: 'line-too-long', maxLineBytes: this.maxLineBytes };
    }
    const bytes = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    return this.lineOf(bytes, 0, bytes.length);
  }

  /** The line held in bytes[start, end): checked as UTF-8 on its own, so a bad byte in one line cannot affect the next. */
  private lineOf(bytes: Buffer, start: number, end: number): NdjsonLine {
    const number = ++this.lineNumber;
    if (end - start > this.maxLineBytes) return { number, problem: 'line-too-long', maxLineBytes: this.maxLineBytes };
    if (end > start && bytes[end - 1] === 0x0d /* \r */) end--;
    let text = bytes.toString('utf8', start, end);
    // The decoder puts U+FFFD in place of every byte sequence that is not UTF-8, so a text
    // without one came from valid bytes: the bytes are checked only when there is one (it may
    // also be a character of the text), which a claim almost never has. The search costs a
    // third of the byte check or less (measured alone, per claim).
    if (text.indexOf(REPLACEMENT_CHARACTER) !== -1 && !isUtf8(bytes.subarray(start, end))) return { number, problem: 'invalid-utf8' };
    // A byte order mark is dropped at the start of a line, and one more at the start of the input.
    if (text.charCodeAt(0) === BOM) text = text.slice(1);
    if (number === 1 && text.charCodeAt(0) === BOM) text = text.slice(1);
    return { number, text };
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
    error: ndjsonLineProblem(parsed),
  };
}

/**
 * The claims of an NDJSON stream, in order: one per non-blank line, except that a line holding a
 * FHIR resource (FHIR bulk data is NDJSON) gives the claims the FHIR reader finds in it.
 */
export function ndjsonItems(source: AsyncIterable<Buffer | Uint8Array | string> | Iterable<Buffer | Uint8Array | string>, options: NdjsonOptions = {}): NdjsonItems {
  return new NdjsonItemReader(source, options);
}

/**
 * Items of which most are already read when asked for: `takeReady` hands out the next of them
 * with no promise at all (a promise a claim is a few percent of a scrubbed claim's time), and
 * says undefined when the next must be waited for, through `next`.
 */
export interface ReadyItems {
  takeReady(): ClaimItem | undefined;
}

export type NdjsonItems = AsyncIterableIterator<ClaimItem> & ReadyItems;

type Chunk = Buffer | Uint8Array | string;

/** Claims parsed in one run by the NDJSON reader (see NdjsonItemReader.nextRead). */
const LINES_PER_BATCH = 64;

/**
 * The iterator behind ndjsonItems. Not an async generator: a generator's every `yield` costs
 * several promise turns, about a tenth of the time of reading a claim, where this hands out the
 * items of a chunk already read with one resolved promise each. It waits only for the next chunk.
 * Lines are parsed a few dozen at a time, not a chunk's worth at once: a 1 MiB chunk's hundreds
 * of parsed claims waited their turn long enough for the collector to copy them and move them to
 * the old generation (about 2 MiB a chunk).
 */
class NdjsonItemReader implements NdjsonItems {
  private readonly splitter: NdjsonSplitter;
  private readonly chunks: AsyncIterator<Chunk> | Iterator<Chunk>;
  /** Items parsed and not yet handed out, and how many of them were. */
  private ready: ClaimItem[] = [];
  private taken = 0;
  private finished = false;
  /** A chunk being read: a next() meanwhile waits for it rather than reading another. */
  private reading: Promise<IteratorResult<ClaimItem>> | undefined;

  constructor(source: AsyncIterable<Chunk> | Iterable<Chunk>, options: NdjsonOptions) {
    this.splitter = new NdjsonSplitter(options);
    this.chunks = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]();
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<ClaimItem> {
    return this;
  }

  next(): Promise<IteratorResult<ClaimItem>> {
    if (this.reading) return this.reading.then(() => this.next());
    let item: ClaimItem | undefined;
    try {
      item = this.nextRead();
    } catch (error) {
      return Promise.reject(error);
    }
    if (item !== undefined) return Promise.resolve({ value: item, done: false });
    if (this.finished) return Promise.resolve({ value: undefined, done: true });
    this.reading = this.read().finally(() => (this.reading = undefined));
    return this.reading;
  }

  /** The item next() would give if it is read already: undefined while a chunk is awaited, or none is left in those read. */
  takeReady(): ClaimItem | undefined {
    return this.reading ? undefined : this.nextRead();
  }

  async return(): Promise<IteratorResult<ClaimItem>> {
    this.finished = true;
    this.ready = [];
    this.taken = 0;
    await this.chunks.return?.();
    return { value: undefined, done: true };
  }

  /**
   * The next item of the chunks read so far, or undefined when they hold no more. Lines are
   * parsed a batch at a time (LINES_PER_BATCH): parsing in a run keeps the parser's working set
   * in the processor's caches, where parsing each line between two scrubs cost about twice as
   * much; a batch is small enough that its claims are scrubbed and gone before the collector
   * would move them to the old generation, as a whole chunk's parsed claims were.
   */
  private nextRead(): ClaimItem | undefined {
    if (this.taken < this.ready.length) return this.ready[this.taken++];
    if (this.ready.length > 0) this.ready = [];
    this.taken = 0;
    for (let line = this.splitter.nextLine(); line !== undefined; line = this.splitter.nextLine()) {
      const item = ndjsonItem(line);
      if (!item) continue;
      if ('input' in item && isFhirResource(item.input)) this.ready.push(...fhirLineItems(item.label, item.line, item.input));
      else this.ready.push(item);
      if (this.ready.length >= LINES_PER_BATCH) break;
    }
    return this.taken < this.ready.length ? this.ready[this.taken++] : undefined;
  }

  private async read(): Promise<IteratorResult<ClaimItem>> {
    while (!this.finished) {
      const chunk = await this.chunks.next();
      if (chunk.done) {
        this.finished = true;
        this.splitter.close();
      } else this.splitter.feed(chunk.value);
      const item = this.nextRead();
      if (item !== undefined) return { value: item, done: false };
    }
    return { value: undefined, done: true };
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
