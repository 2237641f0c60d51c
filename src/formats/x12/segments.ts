import type { X12Source } from '../../findings/finding.js';
import type { ReadProblem } from '../types.js';

/** The separators an ISA header declares; each interchange in a file may declare its own. */
export interface Delimiters {
  /** ISA character 4. */
  element: string;
  /** ISA16. */
  component: string;
  /** The character right after ISA16. */
  segment: string;
  /** ISA11 from version 00501 on (in 00401 ISA11 is a standards id, not a separator). */
  repetition?: string;
}

/**
 * One segment. Its elements are not stored: a 10 MB file has half a million segments, and
 * keeping their split elements alive costs more in garbage collection than splitting again
 * when a reader asks (see `elementsOf`).
 */
export interface Segment {
  id: string;
  /** The file text, and where the segment's characters are in it (terminator excluded). */
  text: string;
  start: number;
  end: number;
  /** 1-based ordinal of the segment in the file. */
  position: number;
  /** UTF-8 byte offset of the segment's first character in the file. */
  offset: number;
  /** Index of the segment's first character in the whole text read (`start` is in `text`, which may be one window of it). */
  index: number;
  delimiters: Delimiters;
  /** TR3 loop id, filled in by the readers ("ISA", "GS", "ST", "2300", ...). */
  loop: string;
  /** The file ended before this segment's terminator. */
  unterminated?: boolean;
}

/** ISA01..ISA16 are fixed width; with "ISA", 16 separators and the terminator that makes 106. */
export const ISA_WIDTHS = [2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1] as const;
export const ISA_LENGTH = 106;

/** The elements of a segment: [0] is the segment id, [n] is element n (X12 numbering). */
export function elementsOf(segment: Segment): string[] {
  return segment.text.slice(segment.start, segment.end).split(segment.delimiters.element);
}

/**
 * Element n of a segment, '' when absent. Found by skipping separators rather than splitting
 * the segment, so that reading one element creates one string.
 */
// Readers ask for a segment's elements in ascending order: resume from the last one found.
let lastSegment: Segment | undefined;
let lastElement = 0;
let lastFrom = 0;

/** Drops the reference to the last segment read (and so to its file's text). */
export function forgetLastSegment(): void {
  lastSegment = undefined;
}

export function el(segment: Segment, n: number): string {
  const { text, end } = segment;
  const separator = segment.delimiters.element;
  let k = 0;
  let from = segment.start;
  if (segment === lastSegment && n >= lastElement) {
    k = lastElement;
    from = lastFrom;
  }
  for (; k < n; k++) {
    const next = text.indexOf(separator, from);
    if (next < 0 || next >= end) return '';
    from = next + 1;
  }
  lastSegment = segment;
  lastElement = n;
  lastFrom = from;
  let to = text.indexOf(separator, from);
  if (to < 0 || to > end) to = end;
  return text.slice(from, to);
}

/** Component k (1-based) of element n; a simple element is its own first component. */
export function comp(segment: Segment, n: number, k: number): string {
  const value = el(segment, n);
  if (value === '') return '';
  const parts = value.split(segment.delimiters.component);
  return parts[k - 1] ?? '';
}

export function components(segment: Segment, n: number): string[] {
  const value = el(segment, n);
  if (value === '') return [];
  return value.split(segment.delimiters.component);
}

/** "SV1-01-3": how TR3s and 999 acknowledgements name an element or component. */
export function elementName(segmentId: string, element?: number, component?: number): string | undefined {
  if (element === undefined) return undefined;
  const base = `${segmentId}-${String(element).padStart(2, '0')}`;
  return component === undefined ? base : `${base}-${component}`;
}

export function sourceOf(segment: Segment, element?: number, component?: number): X12Source {
  const source: X12Source = {
    format: 'x12',
    segment: segment.id,
    position: segment.position,
    offset: segment.offset,
    loop: segment.loop,
  };
  const name = elementName(segment.id, element, component);
  if (name) source.element = name;
  return source;
}

function isAlphanumeric(ch: string): boolean {
  const c = ch.charCodeAt(0);
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/**
 * UTF-8 byte offsets in the file for character indexes that only ever increase. Pure-ASCII files
 * (nearly all X12) answer with the index itself; others count once, linearly. When the text
 * read is the file with its line breaks taken out (a wrapped file), `removed` lists where they
 * were, so that offsets still count the file's own bytes.
 */
class ByteOffsets {
  private readonly ascii: boolean;
  private charIndex = 0;
  private byteIndex = 0;
  private removedBefore = 0;

  constructor(
    private readonly text: string,
    private readonly removed: readonly number[] = [],
    /** The byte offset in the file of the text's first character (a window of a file read in chunks). */
    private readonly base = 0,
  ) {
    // UTF-8 takes one byte a character exactly when every character is ASCII (a lone surrogate takes three).
    this.ascii = Buffer.byteLength(text, 'utf8') === text.length;
  }

  /** The index in the file of character `index` of the text read. */
  private fileIndex(index: number): number {
    const removed = this.removed;
    let k = this.removedBefore;
    while (k < removed.length && removed[k]! <= index + k) k++;
    this.removedBefore = k;
    return index + k;
  }

  at(readIndex: number): number {
    const index = this.removed.length > 0 ? this.fileIndex(readIndex) : readIndex;
    if (this.ascii) return this.base + index;
    const t = this.text;
    let i = this.charIndex;
    let b = this.byteIndex;
    while (i < index) {
      const c = t.charCodeAt(i);
      if (c < 0x80) b += 1;
      else if (c < 0x800) b += 2;
      else if (c >= 0xd800 && c <= 0xdbff && i + 1 < t.length) {
        const d = t.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          b += 4;
          i += 2;
          continue;
        }
        b += 3;
      } else b += 3;
      i++;
    }
    this.charIndex = i;
    this.byteIndex = b;
    return this.base + b;
  }
}

/** How far to look for the 16 ISA separators before deciding there is no readable ISA. */
const ISA_SEARCH_LIMIT = 300;

type IsaHeader = { ok: true; delimiters: Delimiters } | { ok: false; code: string; message: string };

/**
 * Reads the separators of the ISA starting at `start`. They are found by counting element
 * separators rather than by fixed columns, so that an ISA with a wrongly padded field is still
 * read (and reported by the envelope check) instead of being misread.
 */
function readIsaHeader(text: string, start: number): IsaHeader {
  const element = text[start + 3];
  if (element === undefined || isAlphanumeric(element) || element === '\r' || element === '\n' || element === ' ') {
    return { ok: false, code: 'x12-isa-unreadable', message: 'the character after "ISA" must be the element separator (usually "*")' };
  }
  let count = 0;
  let j = start + 3;
  const limit = Math.min(text.length, start + ISA_SEARCH_LIMIT);
  for (; j < limit; j++) {
    if (text[j] === element && ++count === 16) break;
  }
  if (count < 16) {
    return {
      ok: false,
      code: 'x12-isa-unreadable',
      message: `it has ${count} element separators "${element}" where 16 are required (an ISA has 16 elements and is 106 characters long)`,
    };
  }
  const component = text[j + 1];
  const segment = text[j + 2];
  if (component === undefined || segment === undefined) {
    return { ok: false, code: 'x12-isa-unreadable', message: 'the file ends inside it, before ISA16 and the segment terminator' };
  }
  const chosen = [element, component, segment];
  if (chosen.some((c) => isAlphanumeric(c)) || new Set(chosen).size !== 3) {
    return {
      ok: false,
      code: 'x12-delimiters',
      message: `its separators must be three different characters that are neither letters nor digits; it declares element "${element}", component "${component}" (ISA16) and segment terminator "${segment}"`,
    };
  }
  const delimiters: Delimiters = { element, component, segment };
  // ISA11 is the repetition separator from 00501 on; read it from the raw header text.
  const fields = text.slice(start, j + 1).split(element);
  const version = fields[12] ?? '';
  const isa11 = fields[11] ?? '';
  if (version >= '00501' && isa11.length === 1 && !isAlphanumeric(isa11) && !chosen.includes(isa11)) {
    delimiters.repetition = isa11;
  }
  return { ok: true, delimiters };
}

export interface Tokens {
  segments: Segment[];
  /** Problems that stop reading (an unreadable ISA, content before the first ISA), and a wrapped file. */
  problems: ReadProblem[];
}

function isLineBreak(c: number): boolean {
  return c === 10 || c === 13;
}

/**
 * Characters that may stand between segments and are no part of any: white space, and the
 * 0x1A (SUB) that DOS-era tools write at the end of a file. A segment id never starts with one.
 */
function isFiller(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 12 || c === 11 || c === 0x1a || c === 0;
}

/**
 * Where the line breaks of a wrapped file are: a file cut into lines of a fixed width (80 columns
 * is the mainframe habit) has line breaks inside segments. X12 has no line breaks inside a
 * segment, so reading such a file as it stands would misread every element a break falls in;
 * with the breaks taken out it reads as its sender meant. Undefined when every line break
 * follows a segment terminator (or the terminator is itself a line break).
 */
function wrappedLineBreaks(text: string, start: number): { removed: number[]; width: number } | undefined {
  if (text.indexOf('\n', start) < 0 && text.indexOf('\r', start) < 0) return undefined;
  // The ISA is read with its line breaks taken out: a wrap at 80 columns always falls inside it.
  const head = text.slice(start, start + ISA_SEARCH_LIMIT + 8).replace(/[\r\n]/g, '');
  const header = readIsaHeader(head, 0);
  if (!header.ok) return undefined;
  const terminator = header.delimiters.segment;
  if (terminator === '\n' || terminator === '\r') return undefined;
  // One pass, given up at the first sign that the lines are not of one width: a file with a
  // segment per line (the usual layout) is known not to be wrapped by its second line.
  let inside = false;
  const removed: number[] = [];
  let width = -1;
  let shorter = false;
  let lineStart = start;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!isLineBreak(c)) continue;
    removed.push(i);
    const length = i - lineStart;
    lineStart = i + 1;
    if (length === 0) continue; // the LF of a CR LF
    // Only the last line may be shorter than the others.
    if (shorter) return undefined;
    if (width < 0) width = length;
    else if (length > width) return undefined;
    else if (length < width) shorter = true;
    if (text[i - 1] !== terminator) inside = true;
  }
  let end = text.length;
  while (end > lineStart && isFiller(text.charCodeAt(end - 1))) end--;
  const last = end - lineStart;
  if (!inside || width < 0 || removed.length < 2 || (last > 0 && (shorter || last > width))) return undefined;
  return { removed, width };
}

function wrappedProblem(width: number, offset: number): ReadProblem {
  return {
    code: 'x12-wrapped-lines',
    severity: 'warning',
    message: `The file is wrapped into lines of ${width} characters, with line breaks inside segments; it was read with its line breaks taken out. Send it unwrapped: a line break may only follow a segment terminator.`,
    position: { format: 'x12', segment: 'ISA', position: 1, offset, loop: 'ISA' },
    details: { width },
  };
}

/** Where reading a file has got to: carried from one window of the file to the next. */
interface ReadingState {
  delimiters?: Delimiters;
  position: number;
  /** One string per segment id instead of one per segment. */
  ids: Map<string, string>;
  /** An unreadable ISA (or no ISA at all) stops reading for good. */
  stopped: boolean;
}

/**
 * Reads the segments of `text` from index `i`, each with its ordinal and byte offset. Unless
 * `final`, it stops before a segment whose terminator is not in the text yet (and before an ISA
 * header not whole yet), and returns the index to go on from when more of the file has come.
 */
function readSegments(
  text: string,
  i: number,
  bytes: ByteOffsets,
  state: ReadingState,
  final: boolean,
  problems: ReadProblem[],
  emit: (segment: Segment) => void,
  resumed = false,
  /** Characters of the text read before `text`. */
  before = 0,
): number {
  const n = text.length;
  const { ids } = state;
  // Going on after a segment that ended where the last window did: skip what stands between segments.
  if (resumed && state.delimiters) while (i < n && isFiller(text.charCodeAt(i)) && text[i] !== state.delimiters.segment) i++;
  while (i < n && !state.stopped) {
    if (!final && (n - i < 3 || (text.startsWith('ISA', i) && n - i < ISA_SEARCH_LIMIT + 3))) return i;
    if (text.startsWith('ISA', i)) {
      const header = readIsaHeader(text, i);
      if (!header.ok) {
        problems.push({
          code: header.code,
          severity: 'error',
          message: `The ISA interchange header at segment ${state.position + 1} cannot be read: ${header.message}. Nothing from there on can be read.`,
          position: { format: 'x12', segment: 'ISA', position: state.position + 1, offset: bytes.at(i), loop: 'ISA' },
        });
        state.stopped = true;
        break;
      }
      state.delimiters = header.delimiters;
    } else if (!state.delimiters) {
      problems.push({
        code: 'x12-no-isa',
        severity: 'error',
        message: 'An X12 file must start with an ISA interchange header; this one starts with something else.',
      });
      state.stopped = true;
      break;
    }
    const delimiters = state.delimiters;
    let end = text.indexOf(delimiters.segment, i);
    let unterminated = false;
    if (end < 0) {
      if (!final) return i;
      end = n;
      unterminated = true;
    }
    let stop = end;
    // A line-feed terminator with CR LF line ends leaves a CR on each segment.
    while (stop > i && isLineBreak(text.charCodeAt(stop - 1))) stop--;
    if (stop > i) {
      let idEnd = text.indexOf(delimiters.element, i);
      if (idEnd < 0 || idEnd > stop) idEnd = stop;
      const rawId = text.slice(i, idEnd).trim();
      let id = ids.get(rawId);
      if (id === undefined) ids.set(rawId, (id = rawId));
      const segment: Segment = {
        id,
        text,
        start: i,
        end: stop,
        position: ++state.position,
        offset: bytes.at(i),
        index: before + i,
        delimiters,
        loop: '',
      };
      if (unterminated) segment.unterminated = true;
      emit(segment);
    }
    i = end + 1;
    while (i < n && isFiller(text.charCodeAt(i)) && text[i] !== delimiters.segment) i++;
  }
  return state.stopped ? n : i;
}

/** Where the content of a file starts: after a byte-order mark and white space. */
function contentStart(file: string): number {
  let i = file.charCodeAt(0) === 0xfeff ? 1 : 0;
  while (i < file.length && isFiller(file.charCodeAt(i))) i++;
  return i;
}

/**
 * Splits an X12 text into segments, interchange by interchange, each with its ordinal and byte
 * offset. Line breaks, other white space and 0x1A (SUB) between segments are ignored; a file
 * with line breaks inside its segments (wrapped at 80 columns) is read with them taken out, and
 * says so in one problem. Linear in the size of the text.
 */
export function tokenize(file: string, emit?: (segment: Segment) => void): Tokens {
  let i = contentStart(file);
  const wrapped = file.startsWith('ISA', i) ? wrappedLineBreaks(file, i) : undefined;
  const text = wrapped ? removeAt(file, wrapped.removed) : file;
  if (wrapped) i -= wrapped.removed.filter((r) => r < i).length;
  const segments: Segment[] = [];
  const problems: ReadProblem[] = [];
  const bytes = new ByteOffsets(file, wrapped?.removed);
  if (wrapped) problems.push(wrappedProblem(wrapped.width, bytes.at(i)));
  const state: ReadingState = { position: 0, ids: new Map(), stopped: false };
  readSegments(text, i, bytes, state, true, problems, emit ?? ((segment) => segments.push(segment)));
  return { segments, problems };
}

/** How much of a file is looked at to tell whether it is wrapped before reading it in chunks. */
const WRAP_PROBE_CHARS = 1 << 20;

/**
 * Reads an X12 file that arrives in pieces, segment by segment, keeping only the text of the
 * segment not yet terminated: each segment refers to the window of text it was read from, so
 * memory follows the segments a reader still holds, not the size of the file. Segments, their
 * ordinals and byte offsets, and the problems are those `tokenize` gives for the whole file.
 * A wrapped file cannot be read this way (its line breaks are known only at its end):
 * `wrapped()` says so after the first window, and the caller reads it whole instead.
 */
export class SegmentStream {
  private rest = '';
  private offset = 0;
  /** Characters of the file read before the current window. */
  private before = 0;
  private started = false;
  private readonly state: ReadingState = { position: 0, ids: new Map(), stopped: false };
  readonly problems: ReadProblem[] = [];
  /** Set once the first window shows a file with line breaks inside segments. */
  wrappedFile = false;

  constructor(
    private readonly emit: (segment: Segment) => void,
    /** How much of the file to look at before reading it: enough lines to tell a wrapped file. */
    private readonly probe = WRAP_PROBE_CHARS,
  ) {}

  /** Reads what `chunk` completes; `final` when the file ends with it. False when the file is wrapped (nothing was read). */
  push(chunk: string, final = false): boolean {
    if (!this.started) {
      const text = this.rest + chunk;
      if (!final && text.length < this.probe) {
        this.rest = text;
        return true;
      }
      this.started = true;
      const i = contentStart(text);
      if (text.startsWith('ISA', i) && wrappedLineBreaks(text, i)) {
        this.wrappedFile = true;
        this.rest = text;
        return false;
      }
      // The byte-order mark and leading white space are part of the file's bytes.
      this.offset = Buffer.byteLength(text.slice(0, i));
      this.before = i;
      this.read(text.slice(i), final, false);
      return true;
    }
    const terminator = this.state.delimiters?.segment;
    const cut = this.rest !== '' && terminator !== undefined ? chunk.indexOf(terminator) : -1;
    if (cut >= 0) {
      // The segment the last chunk ended inside is read on its own, and then the chunk itself:
      // text joined to a chunk is a rope that V8 copies, slowly, the first time it is searched.
      this.read(this.rest + chunk.slice(0, cut + 1), false, false);
      chunk = chunk.slice(cut + 1);
    }
    if (this.rest === '') this.read(chunk, final, true);
    else this.read(this.rest + chunk, final, false);
    return true;
  }

  /** Reads the segments of the next window of the file; `resumed` when it starts where a segment ended. */
  private read(text: string, final: boolean, resumed: boolean): void {
    const bytes = new ByteOffsets(text, [], this.offset);
    const stop = readSegments(text, 0, bytes, this.state, final, this.problems, this.emit, resumed, this.before);
    this.offset = bytes.at(stop);
    this.before += stop;
    this.rest = stop >= text.length ? '' : text.slice(stop);
  }

  /** The text kept back: all of the file so far when it turned out to be wrapped. */
  takeRest(): string {
    const rest = this.rest;
    this.rest = '';
    return rest;
  }
}

/** The text without the characters at the given (ascending) indexes. */
function removeAt(text: string, indexes: readonly number[]): string {
  const parts: string[] = [];
  let from = 0;
  for (const k of indexes) {
    if (k > from) parts.push(text.slice(from, k));
    from = k + 1;
  }
  parts.push(text.slice(from));
  return parts.join('');
}
