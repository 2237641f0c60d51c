import { isAscii } from 'node:buffer';
import { isFhirResource } from './fhir/read.js';
import { parseJsonAt, readJsonValue, readNdjson, textPosition } from './json.js';
import type { ClaimFormat, ClaimStream, PlacedRecord, ReadHint, ReadItem, ReadProblem, ReadRecord, ReadResult } from './types.js';
import { openX12, streamX12, streamX12PlacedLate } from './x12/read.js';

const NDJSON_TYPES = ['application/x-ndjson', 'application/ndjson', 'application/jsonl', 'application/x-jsonlines'];
const X12_TYPES = ['application/edi-x12', 'application/x12'];

function hintSays(hint: ReadHint | undefined): 'ndjson' | 'x12' | 'fhir' | 'json' | undefined {
  const type = hint?.contentType?.split(';')[0]?.trim().toLowerCase();
  const name = hint?.filename?.toLowerCase() ?? '';
  if ((type && NDJSON_TYPES.includes(type)) || name.endsWith('.ndjson') || name.endsWith('.jsonl')) return 'ndjson';
  if ((type && X12_TYPES.includes(type)) || /\.(837[pi]?|x12|edi)$/.test(name)) return 'x12';
  if (type === 'application/fhir+json') return 'fhir';
  if (type === 'application/json' || name.endsWith('.json')) return 'json';
  return undefined;
}

/** Index of the first character that is not a byte-order mark or white space. */
function contentStart(text: string): number {
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) break;
    i++;
  }
  return i;
}

/**
 * The format of a claim text, judged from its content: X12 starts with ISA; JSON starts with
 * "{" or "["; several JSON values on separate lines are NDJSON. The hint only breaks the tie a
 * one-line NDJSON file would otherwise lose to JSON.
 */
export function detectFormat(input: string, hint?: ReadHint): ClaimFormat | 'unknown' {
  const start = contentStart(input);
  if (input.startsWith('ISA', start)) return 'x12';
  const first = input[start];
  if (first !== '{' && first !== '[') return 'unknown';
  if (hintSays(hint) === 'ndjson') return 'ndjson';
  const whole = parseJsonAt(input.slice(start));
  if (whole.ok) {
    const v = whole.value;
    if (isFhirResource(v) || (Array.isArray(v) && v.length > 0 && v.every(isFhirResource))) return 'fhir';
    return 'json';
  }
  // Not one JSON document: NDJSON when its first line is a JSON value of its own.
  const newline = input.indexOf('\n', start);
  if (first === '{' && newline > 0 && parseJsonAt(input.slice(start, newline)).ok) return 'ndjson';
  return 'json';
}

function unknownFormatMessage(input: string, start: number, hint: ReadHint | undefined): string {
  const expected =
    'expected a JSON claim (an object), a JSON array of claims, NDJSON (one claim per line), an X12 837 interchange (starting with ISA) or a FHIR Claim or Bundle';
  if (hintSays(hint) === 'x12' || /^(GS|ST)\W/.test(input.slice(start, start + 3))) {
    return `An X12 file must start with an ISA interchange header, and this one does not (${expected}).`;
  }
  if (input.slice(start, start + 1) === '<') return `XML is not supported: ${expected}.`;
  return `Not valid JSON, NDJSON, X12 or FHIR: ${expected}.`;
}

/**
 * UTF-16 (or UTF-32) input, told by its byte-order mark or by the NUL bytes that text of ASCII
 * characters has between them in UTF-16. Also recognised in a text someone already decoded as
 * UTF-8 (the mark then reads as two replacement characters).
 */
export function wideEncoding(input: string | Uint8Array): string | undefined {
  if (typeof input !== 'string') {
    const b = input;
    if (b.length < 4) return undefined;
    if (b[0] === 0xff && b[1] === 0xfe) return b[2] === 0 && b[3] === 0 ? 'UTF-32LE' : 'UTF-16LE';
    if (b[0] === 0 && b[1] === 0 && b[2] === 0xfe && b[3] === 0xff) return 'UTF-32BE';
    if (b[0] === 0xfe && b[1] === 0xff) return 'UTF-16BE';
    if (b[0] !== 0 && b[1] === 0 && b[2] !== 0 && b[3] === 0) return 'UTF-16LE';
    if (b[0] === 0 && b[1] !== 0 && b[2] === 0 && b[3] !== 0) return 'UTF-16BE';
    return undefined;
  }
  let i = 0;
  while (i < 4 && (input.charCodeAt(i) === 0xfffd || input.charCodeAt(i) === 0xfeff)) i++;
  const c = (k: number) => input.charCodeAt(i + k);
  if (input.length < i + 4) return undefined;
  if (c(0) !== 0 && c(1) === 0 && c(2) !== 0 && c(3) === 0) return 'UTF-16LE';
  if (c(0) === 0 && c(1) !== 0 && c(2) === 0 && c(3) !== 0) return 'UTF-16BE';
  return undefined;
}

export function streamOf(format: ClaimFormat | 'unknown', all: ReadRecord[]): ClaimStream {
  return {
    format,
    problems: all.flatMap((r) => (r.kind === 'problem' ? [r.problem] : [])),
    claims: all.filter((r) => r.kind === 'claim').length,
    records: () => all,
  };
}

function refused(problem: ReadProblem): ClaimStream {
  return streamOf('unknown', [{ kind: 'problem', problem }]);
}

/**
 * Opens claims in any supported format, detected from the content: JSON (an object is one
 * claim, an array many), NDJSON (one claim per line), X12 837P/837I (any delimiters, any number
 * of interchanges) and FHIR R4 Claim or Bundle. Its file-level problems are known at once; its
 * records (claims, unreadable items and problems, in file order) are read as they are asked
 * for, so that the claims of a large X12 file are mapped one at a time. Never throws.
 */
export function openClaims(input: string | Uint8Array, hint?: ReadHint): ClaimStream {
  const encoding = wideEncoding(input);
  if (encoding) {
    return refused({
      code: 'unsupported-encoding',
      severity: 'error',
      message: `The input is ${encoding} text; claims are read as UTF-8 (X12 as its ASCII subset). Save or send the file as UTF-8.`,
      details: { encoding },
    });
  }
  const text = typeof input === 'string' ? input : new TextDecoder('utf-8', { ignoreBOM: true }).decode(input);
  try {
    return openText(text, hint);
  } catch {
    // A reader bug must not take the caller down; the message says nothing about the content.
    return refused({ code: 'internal-error', severity: 'error', message: 'The input could not be read because of an internal error in the reader.' });
  }
}

/** Claims read from a file as it arrives: an X12 file record by record, any other format whole. */
export interface ArrivingClaims<R = ReadRecord> {
  format: ClaimFormat | 'unknown';
  /** Known at once, except for an X12 file (its claims are counted as they come). */
  claims?: number;
  records: AsyncIterable<R> | Iterable<R>;
}

/**
 * UTF-8 text from a file's chunks, with the characters TextDecoder gives. A chunk of ASCII bytes
 * (nearly every X12 file is ASCII throughout) is read as Latin-1, the same characters: V8 keeps
 * them in a one-byte string, where TextDecoder's streaming mode returns a two-byte one, and every
 * segment and element cut from a two-byte string is two-byte too (twice the memory, slower to
 * search and compare). Any other chunk goes through TextDecoder, which carries a character split
 * between chunks.
 */
export class ChunkDecoder {
  private readonly decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  /** The decoder holds no part of a character: the last byte it was given was ASCII (or it was given none). */
  private settled = true;

  decode(bytes: Uint8Array): string {
    if (this.settled && isAscii(bytes)) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
    if (bytes.byteLength > 0) this.settled = bytes[bytes.byteLength - 1]! < 0x80;
    return this.decoder.decode(bytes, { stream: true });
  }

  /** What is left at the end of the file: a character cut short reads as U+FFFD. */
  end(): string {
    return this.settled ? '' : this.decoder.decode();
  }
}

/** Enough of a file to tell its encoding and whether it is X12. */
const HEAD_BYTES = 4096;

/** Whether bytes (UTF-8, after a byte-order mark and white space) start an X12 interchange. */
function startsX12(head: Uint8Array): boolean {
  let i = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  while (i < head.length && (head[i] === 32 || head[i] === 9 || head[i] === 10 || head[i] === 13)) i++;
  return head[i] === 0x49 && head[i + 1] === 0x53 && head[i + 2] === 0x41;
}

/**
 * Opens claims from a file that arrives in chunks (a file read from disk, standard input, a
 * request body). An X12 file is read as it comes, in memory that does not grow with the file
 * (see streamX12): its records are those `openClaims` gives for the whole file. Any other
 * format is read whole, as `openClaims` reads it.
 */
export async function openArrivingClaims(chunks: AsyncIterable<Uint8Array | string>, hint?: ReadHint): Promise<ArrivingClaims>;
/**
 * The same, with an X12 file's claims placed late (see streamX12PlacedLate): each claim comes as
 * soon as it is read and a `placed` record marks its place; other formats have no `placed`.
 */
export async function openArrivingClaims(chunks: AsyncIterable<Uint8Array | string>, hint: ReadHint | undefined, options: { placeLate: true }): Promise<ArrivingClaims<ReadRecord | PlacedRecord>>;
export async function openArrivingClaims(chunks: AsyncIterable<Uint8Array | string>, hint?: ReadHint, options?: { placeLate: true }): Promise<ArrivingClaims<ReadRecord | PlacedRecord>> {
  const input = chunks[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let size = 0;
  let done = false;
  while (size < HEAD_BYTES) {
    const next = await input.next();
    if (next.done) {
      done = true;
      break;
    }
    const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    head.push(chunk);
    size += chunk.length;
  }
  const first = Buffer.concat(head);
  if (wideEncoding(first) || !startsX12(first)) {
    const rest: Buffer[] = [first];
    if (!done) for (let next = await input.next(); !next.done; next = await input.next()) rest.push(typeof next.value === 'string' ? Buffer.from(next.value) : Buffer.from(next.value));
    const whole = openClaims(Buffer.concat(rest), hint);
    return { format: whole.format, claims: whole.claims, records: whole.records() };
  }
  // The head is let go once decoded: it would otherwise be held (1 MiB) until the file ends.
  let unread: Buffer | undefined = first;
  async function* text(): AsyncGenerator<string> {
    const decoder = new ChunkDecoder();
    const start = unread!;
    unread = undefined;
    yield decoder.decode(start);
    if (!done) for (let next = await input.next(); !next.done; next = await input.next()) yield typeof next.value === 'string' ? next.value : decoder.decode(next.value);
    yield decoder.end();
  }
  async function* guarded(): AsyncGenerator<ReadRecord | PlacedRecord> {
    try {
      yield* options?.placeLate ? streamX12PlacedLate(text()) : streamX12(text());
    } catch (err) {
      // A file that cannot be read (a disk error) is the caller's to report; a reader bug is one problem.
      if ((err as NodeJS.ErrnoException).code) throw err;
      yield { kind: 'problem', problem: INTERNAL_ERROR };
    }
  }
  return { format: 'x12', records: guarded() };
}

/**
 * Reads every claim of a text in any supported format (see openClaims), at once. Items and
 * problems come in file order, and `records` has both in one list. Never throws.
 */
export function readClaims(input: string | Uint8Array, hint?: ReadHint): ReadResult {
  const stream = openClaims(input, hint);
  let all: ReadRecord[];
  try {
    all = [...stream.records()];
  } catch {
    return { format: 'unknown', items: [], problems: [INTERNAL_ERROR], records: [{ kind: 'problem', problem: INTERNAL_ERROR }] };
  }
  return { format: stream.format, items: all.filter((r): r is ReadItem => r.kind !== 'problem'), problems: stream.problems, records: all };
}

const INTERNAL_ERROR: ReadProblem = { code: 'internal-error', severity: 'error', message: 'The input could not be read because of an internal error in the reader.' };

function openText(text: string, hint: ReadHint | undefined): ClaimStream {
  const start = contentStart(text);
  if (start >= text.length) return refused({ code: 'empty-input', severity: 'error', message: 'The input is empty: it holds no claim.' });
  const format = detectFormat(text, hint);
  switch (format) {
    case 'x12':
      return { format, ...openX12(text) };
    case 'ndjson':
      return streamOf(format, readNdjson(text));
    case 'json':
    case 'fhir': {
      const parsed = parseJsonAt(text.slice(start));
      if (!parsed.ok) {
        const position = textPosition(text, start + parsed.offset, 'json');
        return streamOf('json', [
          {
            kind: 'problem',
            problem: {
              code: parsed.code,
              severity: 'error',
              message: `${parsed.code === 'json-syntax' ? 'Not valid JSON' : 'Refused JSON'} at line ${position.line}, column ${position.column}: ${parsed.message}.`,
              position,
            },
          },
        ]);
      }
      const read = readJsonValue(parsed.value);
      return streamOf(read.format, read.records);
    }
    default:
      return refused({ code: 'unknown-format', severity: 'error', message: unknownFormatMessage(text, start, hint) });
  }
}
