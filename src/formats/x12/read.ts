import type { SourceMap } from '../locator.js';
import type { PlacedRecord, ReadClaim, ReadProblem, ReadRecord } from '../types.js';
import { EnvelopeReader, type Transaction } from './envelope.js';
import { at, capIssues, issueToFinding, issueToProblem, type X12Issue } from './issues.js';
import { claimKindOf, loopReader, type ClaimBlock, type ClaimKind, type Level, type Transaction837 } from './loops837.js';
import { mapClaim } from './map837.js';
import { separatorShownBy } from './separators.js';
import { el, forgetLastSegment, SegmentStream, tokenize, type Delimiters, type Segment } from './segments.js';

/** An X12 text whose structure has been read: its problems are known, its claims are mapped when reached. */
export interface X12Stream {
  problems: ReadProblem[];
  claims: number;
  records(): Generator<ReadRecord>;
}

/** CLM05 is always a three-part composite (place of service or bill type, qualifier, frequency). */
const CLM05 = { segment: 'CLM', element: 5, parts: [3, 3] } as const;

/** The only version of the 837 that HIPAA allows for claims (45 CFR 162.1102) since 2012. */
const HIPAA_VERSION = '005010';

function levelChain(level: Level | undefined): Level[] {
  const chain: Level[] = [];
  for (let l = level, guard = 0; l && guard < 8; l = l.parent, guard++) chain.push(l);
  return chain;
}

/** Why an 837 transaction set cannot be read, from the version it declares (ST03, else GS08). */
function versionIssue(tx: Transaction, segment: Segment, element: number, version: string): X12Issue | undefined {
  const where = `${segment.id}${String(element).padStart(2, '0')}`;
  if (version === '') {
    return {
      ruleId: 'x12-version-unsupported',
      severity: 'error',
      message: `${at(tx.st)}: neither ST03 nor GS08 says which version of the 837 the transaction set follows; HIPAA requires version 005010 (005010X222A1 professional, 005010X223A2 institutional). The transaction set was not read.`,
      segment,
      element,
      details: { version: '', required: HIPAA_VERSION },
    };
  }
  if (!version.startsWith(HIPAA_VERSION)) {
    const release = /^\d{6}/.test(version) ? version.slice(0, 6) : version;
    return {
      ruleId: 'x12-version-unsupported',
      severity: 'error',
      message: `${at(tx.st)}: this 837 is version ${release} ("${version}" in ${where}), and HIPAA requires version 005010 (5010) for claims; only 5010 is read. The transaction set was not read: send it as 005010X222A1 (professional) or 005010X223A2 (institutional).`,
      segment,
      element,
      details: { version, release, required: HIPAA_VERSION },
    };
  }
  if (!claimKindOf(version)) {
    return {
      ruleId: 'x12-guide-unsupported',
      severity: 'error',
      message: `${at(tx.st)}: implementation guide "${version}" (${where}) is neither the 837 professional (005010X222) nor the 837 institutional (005010X223); the transaction set was not read.`,
      segment,
      element,
      details: { version },
    };
  }
  return undefined;
}

/** Why a transaction set is not read as an 837 claim set (decided at its ST), or what it is read as. */
function refusalOf(tx: Transaction): { refused: X12Issue } | { kind: ClaimKind; versionSegment: Segment; versionElement: number } {
  const group = tx.group;
  const setId = el(tx.st, 1);
  const fromSt = el(tx.st, 3) !== '' || !group.gs;
  const version = fromSt ? el(tx.st, 3) : el(group.gs!, 8);
  const versionSegment = fromSt ? tx.st : group.gs!;
  const versionElement = fromSt ? 3 : 8;
  const refused =
    setId !== '837'
      ? ({
          ruleId: 'x12-not-a-claim',
          severity: 'error',
          message: `${at(tx.st)} opens transaction set ${setId || '(none)'}, not an 837 claim; it was skipped.`,
          segment: tx.st,
          element: 1,
          details: { transactionSet: setId },
        } satisfies X12Issue)
      : versionIssue(tx, versionSegment, versionElement, version);
  return refused ? { refused } : { kind: claimKindOf(version)!, versionSegment, versionElement };
}

/**
 * An 837 transaction set being read, segment by segment. Its claims are handed on as their
 * loops close; what the set's problems need of them (their number under each level, and their
 * entries, which take their place when the set closes) waits for its SE.
 */
interface OpenSet {
  tx: Transaction;
  loops: Generator<void, Transaction837, Segment | undefined>;
  /** The set's segments up to its first CLM, which shows the component separator really used. */
  waiting: Segment[] | undefined;
  /** The separators the set is read with, when its first CLM shows another component separator than ISA16. */
  fixed?: Delimiters;
  separatorIssue?: X12Issue;
  claims: number;
  claimsUnder: Map<Level, number>;
  /** The entries of its claims, added when the set closes. */
  entries: Entry[];
}

interface Entry {
  /** Segment position in the file: records come out in this order. */
  at: number;
  /** Order of making: entries at one position keep it. */
  seq: number;
  problem?: ReadProblem;
  claim?: { loops: Transaction837; block: ClaimBlock; tx: Transaction };
  /** A claim already handed out (a reader that places claims late): what its label is made of. */
  placed?: LabelParts;
}

/** A claim's label but for the interchange, which it names only when the file has more than one. */
interface LabelParts {
  isa: string;
  rest: string;
}

/**
 * The same text in a string of its own: a slice of a segment's text (V8 slices strings of 13
 * characters or more) would keep the whole chunk it came from alive while the label waits.
 */
function ownCopy(text: string): string {
  return text.length < 13 ? text : Buffer.from(text, 'utf8').toString('utf8');
}

/** At most this many file-level problems are listed; a damaged file can have one per segment. */
const MAX_PROBLEMS = 100;

/**
 * How many claims a file read in chunks keeps back before writing the first of them: problems
 * of an envelope are known when it closes, and those about an envelope's start (a missing
 * trailer, a wrongly padded ISA, an HL level) take their place before its claims when they come
 * within this many claims. A transaction set of the 837 holds at most 5,000 claims (TR3 1.4.2).
 */
export const STREAM_WINDOW_CLAIMS = 5_000;

const byPosition = (a: Entry, b: Entry) => a.at - b.at || a.seq - b.seq;

/**
 * The X12 837 reader: segments in, records out. Interchanges, groups, transaction sets,
 * hierarchical levels and claim blocks are read as their segments come; a transaction set is
 * read when it closes, and its segments are let go once its claims have been handed out.
 * Problems of envelopes and levels are reported once, as file-level problems, each saying how
 * many claims sit inside the part it is about; a claim's result carries only what is wrong in
 * the claim itself. Records come out in file order. Kept back are at most `window` claims (all
 * of them for a file read whole): a problem found later about a place before the claims
 * already handed out comes out when found.
 */
class X12Reader {
  private readonly envelopes = new EnvelopeReader(
    {
      opened: (tx) => this.opened(tx),
      segment: (_tx, segment) => this.body(segment),
      transaction: (tx) => this.transaction(tx),
      group: (group) => this.closed(group.issues, group, group.interchange),
      interchange: (ix) => this.closed(ix.issues, ix, undefined),
      outside: (issue) => this.problem(issue, 0),
    },
    false,
  );
  private pending: Entry[] = [];
  private head = 0;
  private sorted = true;
  private lastAt = 0;
  private seq = 0;
  private pendingClaims = 0;
  private readonly claimsIn = new Map<object, number>();
  private interchanges = 0;
  private listedProblems = 0;
  private omitted = 0;
  private firstOmitted: Entry | undefined;
  /** Every claim read so far. */
  claims = 0;
  /** The 837 transaction set being read, if any. */
  private open: OpenSet | undefined;
  /** Why the transaction set being read is not read, if it is not (known at its ST). */
  private refused: X12Issue | undefined;
  /** Claims read and not yet handed out, when claims are placed late (mapped as they go). */
  private ready: Array<{ loops: Transaction837; block: ClaimBlock; label: string }> = [];

  /**
   * `placeLate`: each claim is handed out as soon as its transaction set is read, and only a
   * small marker of it (its position and label) waits in the window; the marker, when released,
   * says where the claim's result goes among the problems. The claims' segments are then let go
   * with their transaction set instead of being held for `window` claims.
   */
  constructor(
    private readonly window: number,
    private readonly placeLate = false,
  ) {}

  segment(segment: Segment): void {
    if (segment.id === 'ISA') this.interchanges++;
    this.envelopes.push(segment);
  }

  /** The file has ended; `tokenProblems` are the tokenizer's (an unreadable ISA, a wrapped file). */
  end(tokenProblems: readonly ReadProblem[]): void {
    this.envelopes.end();
    for (const p of tokenProblems) {
      // A wrapped file's warning is about every claim in it; an unreadable header leaves none to read from there on.
      const position = p.position && 'position' in p.position ? p.position.position : 0;
      this.add({ at: position, seq: 0, problem: { ...p, claims: p.code === 'x12-wrapped-lines' ? this.claims : 0 } });
    }
  }

  private add(entry: Entry): void {
    entry.seq = this.seq++;
    if (entry.at < this.lastAt) this.sorted = false;
    else this.lastAt = entry.at;
    this.pending.push(entry);
    if (entry.claim || entry.placed) this.pendingClaims++;
  }

  private problem(issue: X12Issue, claims: number): void {
    this.add({ at: issue.segment.position, seq: 0, problem: issueToProblem(issue, claims) });
  }

  private count(part: object, claims: number): void {
    this.claimsIn.set(part, (this.claimsIn.get(part) ?? 0) + claims);
  }

  /** A group or interchange has closed: its issues, with the claims inside it. */
  private closed(issues: readonly X12Issue[], part: object, parent: object | undefined): void {
    const claims = this.claimsIn.get(part) ?? 0;
    this.claimsIn.delete(part);
    for (const issue of capIssues(issues)) this.problem(issue, claims);
    if (parent) this.count(parent, claims);
  }

  private opened(tx: Transaction): void {
    const reading = refusalOf(tx);
    if ('refused' in reading) {
      this.refused = reading.refused;
      return;
    }
    const set: OpenSet = {
      tx,
      loops: loopReader(reading.kind, reading.versionSegment, reading.versionElement, (block, loops) => this.claimClosed(set, block, loops)),
      waiting: [],
      claims: 0,
      claimsUnder: new Map(),
      entries: [],
    };
    set.loops.next();
    this.open = set;
  }

  /** A segment of the body of the set being read (none when it is not read). */
  private body(segment: Segment): void {
    const set = this.open;
    if (!set) return;
    const waiting = set.waiting;
    if (!waiting) {
      if (set.fixed) segment.delimiters = set.fixed;
      set.loops.next(segment);
      return;
    }
    waiting.push(segment);
    if (segment.id === CLM05.segment) this.separatorKnown(set, segment);
  }

  /** The set's first CLM has come (`first`), or its end without one: it is read from here on with the separators in use. */
  private separatorKnown(set: OpenSet, first: Segment | undefined): void {
    const waiting = set.waiting!;
    set.waiting = undefined;
    const shown = first && separatorShownBy(set.tx.st.delimiters.component, first, CLM05);
    if (shown) {
      set.fixed = shown.delimiters;
      set.separatorIssue = shown.issue;
      set.tx.st.delimiters = shown.delimiters;
      for (const s of waiting) s.delimiters = shown.delimiters;
    }
    for (const s of waiting) set.loops.next(s);
  }

  /** A claim's loop has closed: it is handed out now when claims are placed late, and placed when its set closes. */
  private claimClosed(set: OpenSet, block: ClaimBlock, loops: Transaction837): void {
    set.claims++;
    for (const l of levelChain(block.level)) set.claimsUnder.set(l, (set.claimsUnder.get(l) ?? 0) + 1);
    const tx = set.tx;
    if (this.placeLate) {
      const placed = { isa: el(tx.group.interchange.isa, 13).trim(), rest: ownCopy(`ST ${el(tx.st, 2)} claim ${el(block.clm, 1)}`) };
      this.ready.push({ loops, block, label: this.label(placed) });
      set.entries.push({ at: block.clm.position, seq: 0, placed });
    } else set.entries.push({ at: block.clm.position, seq: 0, claim: { loops, block, tx } });
  }

  private transaction(tx: Transaction): void {
    const transactionIssues: X12Issue[] = [...tx.issues];
    let transactionClaims = 0;
    const { open: set, refused } = this;
    this.open = this.refused = undefined;
    if (refused) this.problem(refused, 0);
    else if (set) {
      if (set.waiting) this.separatorKnown(set, undefined);
      if (set.separatorIssue) transactionIssues.push(set.separatorIssue);
      if (set.fixed && tx.se) tx.se.delimiters = set.fixed;
      const loops = set.loops.next(undefined).value as Transaction837;
      transactionIssues.push(...loops.issues);
      for (const entry of set.entries) this.add(entry);
      transactionClaims = set.claims;
      const claimsUnder = set.claimsUnder;
      const parents = new Set(loops.levels.map((l) => l.parent));
      for (const level of loops.levels) {
        const claims = claimsUnder.get(level) ?? 0;
        for (const issue of capIssues(level.issues)) this.problem(issue, claims);
        if (claims === 0 && (level.code === '22' || level.code === '23') && !parents.has(level)) {
          this.problem(
            {
              ruleId: 'x12-missing-segment',
              severity: 'error',
              message: `The ${level.code === '22' ? 'subscriber' : 'patient'} level ${at(level.hl)} has no claim: no CLM segment (loop 2300) follows it, so no claim could be read there.`,
              segment: level.hl,
              details: { missing: 'CLM', loop: '2300' },
            },
            0,
          );
        }
      }
      if (set.claims === 0 && loops.levels.length === 0) {
        this.problem(
          {
            ruleId: 'x12-missing-segment',
            severity: 'error',
            message: `The transaction set ${at(tx.st)} holds no claim: it has no HL levels and no CLM segment.`,
            segment: tx.st,
            details: { missing: 'CLM', loop: '2300' },
          },
          0,
        );
      }
    }
    for (const issue of capIssues(transactionIssues)) this.problem(issue, transactionClaims);
    this.count(tx.group, transactionClaims);
    this.claims += transactionClaims;
  }

  /**
   * The entries that may go out now, in file order: all of them at the end of the file, else
   * those beyond the window. At most MAX_PROBLEMS problems are listed; at the end, one more says
   * how many were not.
   */
  *release(final: boolean): Generator<Entry> {
    if (!final && this.pendingClaims <= this.window) return;
    if (!this.sorted) {
      const rest = this.pending.slice(this.head).sort(byPosition);
      this.pending = rest;
      this.head = 0;
      this.sorted = true;
      this.lastAt = rest.at(-1)?.at ?? this.lastAt;
    }
    const pending = this.pending;
    while (this.head < pending.length && (final || this.pendingClaims > this.window)) {
      const entry = pending[this.head++]!;
      if (entry.claim || entry.placed) this.pendingClaims--;
      else if (entry.problem && ++this.listedProblems > MAX_PROBLEMS) {
        this.omitted++;
        this.firstOmitted ??= entry;
        continue;
      }
      yield entry;
    }
    if (this.head > 4096 && this.head * 2 > pending.length) {
      this.pending = pending.slice(this.head);
      this.head = 0;
    }
    if (final && this.firstOmitted) {
      const omitted = this.omitted;
      yield {
        at: this.firstOmitted.at,
        seq: this.seq++,
        problem: {
          code: 'x12-too-many-problems',
          severity: 'error',
          message: `${omitted} more problem${omitted === 1 ? '' : 's'} of the file, from segment ${this.firstOmitted.at} on, ${omitted === 1 ? 'is' : 'are'} not listed; fix the ones above first.`,
          details: { omitted },
        },
      };
      this.firstOmitted = undefined;
    }
  }

  /** The claims ready to be handed out, when claims are placed late. */
  *readyClaims(): Generator<ReadClaim> {
    const ready = this.ready;
    this.ready = [];
    for (const { loops, block, label } of ready) yield readClaim(loops, block, label);
  }

  /** A claim's label names its interchange when the file has more than one (as far as it has been read). */
  private label(parts: LabelParts): string {
    return `${this.interchanges > 1 ? `ISA ${parts.isa} ` : ''}${parts.rest}`;
  }

  /** The record of an entry. */
  record(entry: Entry): ReadRecord | PlacedRecord {
    if (entry.problem) return { kind: 'problem', problem: entry.problem };
    if (entry.placed) return { kind: 'placed', label: this.label(entry.placed) };
    const { loops, block, tx } = entry.claim!;
    return readClaim(loops, block, this.label({ isa: el(tx.group.interchange.isa, 13).trim(), rest: `ST ${el(tx.st, 2)} claim ${el(block.clm, 1)}` }));
  }
}

/**
 * Reads the structure of an X12 text: interchanges, groups, transaction sets, hierarchical
 * levels and claim blocks, with the problems of the file known at once. Claims are mapped to
 * canonical JSON only when `records` reaches them, so a large file never holds all of them at once.
 */
export function openX12(text: string): X12Stream {
  const reader = new X12Reader(Number.POSITIVE_INFINITY);
  const tokens = tokenize(text, (segment) => reader.segment(segment));
  reader.end(tokens.problems);
  const entries = [...reader.release(true)];
  const problems = entries.flatMap((e) => (e.problem ? [e.problem] : []));
  return {
    problems,
    claims: reader.claims,
    *records() {
      for (const entry of entries) yield reader.record(entry) as ReadRecord;
      forgetLastSegment();
    },
  };
}

/**
 * Reads an X12 file as it arrives, in constant memory: each transaction set is read when its SE
 * comes, its claims are mapped and handed out as the window lets them go, and the problems of
 * an envelope come when its trailer does. The records are those `openX12` gives for the same
 * text, in the same order, for every file of up to `window` claims (see STREAM_WINDOW_CLAIMS);
 * a wrapped file (line breaks inside segments) is read whole. `probe`: how many characters are
 * looked at first to tell a wrapped file (1 MiB).
 */
export function streamX12(chunks: AsyncIterable<string>, options: { window?: number; probe?: number } = {}): AsyncGenerator<ReadRecord> {
  return readStream(chunks, options, false) as AsyncGenerator<ReadRecord>;
}

/**
 * The same records, but each claim is handed out as soon as its transaction set is read, ahead
 * of its place, and a `placed` record later marks where it goes: records without the claims are
 * those of `streamX12`, with each claim's `placed` where the claim would be. A caller that holds
 * results (small) until their `placed` writes what `streamX12` would have it write, and the
 * reader does not hold the window's claims (their segments: about 8 KB a claim).
 */
export function streamX12PlacedLate(chunks: AsyncIterable<string>, options: { window?: number; probe?: number; piece?: number } = {}): AsyncGenerator<ReadRecord | PlacedRecord> {
  return readStream(chunks, options, true);
}

/**
 * Characters read at a time when claims are placed late. A transaction set's claims are handed
 * out when its SE has been read; a 1 MiB chunk read at once completed about three transaction
 * sets of 1,000 claims, all of them alive (their segments, about 4 KB a claim) until their last
 * claim was scrubbed. Read in pieces of 256 Ki characters, at most one completes at a time.
 * Claims are still placed (the window released) once per chunk, as `streamX12` does. (`piece`
 * in the options: for tests.)
 */
const PLACED_LATE_PIECE = 256 * 1024;

/** A chunk in pieces of about `size` characters, never between the two halves of a surrogate pair. */
function piecesOf(chunk: string, size: number): string[] {
  if (chunk.length <= size) return [chunk];
  const pieces: string[] = [];
  for (let from = 0; from < chunk.length; ) {
    let to = Math.min(chunk.length, from + size);
    const code = chunk.charCodeAt(to);
    if (to < chunk.length && code >= 0xdc00 && code <= 0xdfff) to++;
    pieces.push(chunk.slice(from, to));
    from = to;
  }
  return pieces;
}

async function* readStream(chunks: AsyncIterable<string>, options: { window?: number; probe?: number; piece?: number }, placeLate: boolean): AsyncGenerator<ReadRecord | PlacedRecord> {
  const reader = new X12Reader(options.window ?? STREAM_WINDOW_CLAIMS, placeLate);
  const segments = new SegmentStream((segment) => reader.segment(segment), options.probe);
  const input = chunks[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await input.next();
      const pieces = next.done ? [''] : placeLate ? piecesOf(next.value, options.piece ?? PLACED_LATE_PIECE) : [next.value];
      let wrapped: string | undefined;
      for (let p = 0; p < pieces.length && wrapped === undefined; p++) {
        if (!segments.push(pieces[p]!, next.done)) wrapped = segments.takeRest() + pieces.slice(p + 1).join('');
        else if (placeLate) yield* reader.readyClaims();
      }
      if (wrapped !== undefined) {
        // A wrapped file: its line breaks are known only at its end.
        let text = wrapped;
        if (!next.done) for (let more = await input.next(); !more.done; more = await input.next()) text += more.value;
        for (const record of openX12(text).records()) {
          yield record;
          if (placeLate && record.kind !== 'problem') yield { kind: 'placed', label: record.label };
        }
        return;
      }
      if (next.done) break;
      for (const entry of reader.release(false)) yield reader.record(entry);
    }
    reader.end(segments.problems);
    yield* reader.readyClaims();
    for (const entry of reader.release(true)) yield reader.record(entry);
  } finally {
    forgetLastSegment();
    await input.return?.();
  }
}

/** One claim: the canonical claim, the claim's own structure findings and, when asked, where each field came from. */
function readClaim(loops: Transaction837, block: ClaimBlock, label: string): ReadClaim {
  const mapped = mapClaim(loops, block, false);
  let sources: SourceMap | undefined;
  const locate = (pointer: string) => {
    if (!sources) {
      sources = mapClaim(loops, block, true).sources;
      forgetLastSegment();
    }
    return sources.locate(pointer);
  };
  const findings = capIssues([...capIssues(block.issues), ...mapped.issues]).map(issueToFinding);
  return { kind: 'claim', input: mapped.claim, label, locate, findings };
}
