import { at, type X12Issue } from './issues.js';
import { el, elementsOf, ISA_LENGTH, ISA_WIDTHS, type Segment } from './segments.js';

/** ST ... SE: one transaction set (an 837 holds many claims). */
export interface Transaction {
  st: Segment;
  /**
   * The segments between ST and SE (or up to where the set was cut off); empty when the reader
   * hands them on one by one instead (`EnvelopeEvents.segment`).
   */
  body: Segment[];
  /** How many segments stand between ST and SE. */
  size: number;
  se?: Segment;
  issues: X12Issue[];
  group: Group;
}

/** GS ... GE: a functional group. `gs` is absent for transaction sets found outside any group. */
export interface Group {
  gs?: Segment;
  ge?: Segment;
  /** Its transaction sets (empty when the reader does not retain closed envelopes). */
  transactions: Transaction[];
  transactionCount: number;
  issues: X12Issue[];
  interchange: Interchange;
}

/** ISA ... IEA. */
export interface Interchange {
  isa: Segment;
  iea?: Segment;
  /** Its groups (empty when the reader does not retain closed envelopes). */
  groups: Group[];
  /** Groups opened by a GS. */
  groupCount: number;
  issues: X12Issue[];
}

const ISA_ELEMENT_NAMES = [
  'authorization information qualifier',
  'authorization information',
  'security information qualifier',
  'security information',
  'interchange sender id qualifier',
  'interchange sender id',
  'interchange receiver id qualifier',
  'interchange receiver id',
  'interchange date',
  'interchange time',
  'repetition separator',
  'interchange control version number',
  'interchange control number',
  'acknowledgment requested',
  'usage indicator',
  'component element separator',
];

function checkIsaWidths(isa: Segment): X12Issue | undefined {
  const wrong: string[] = [];
  const details: Array<{ element: string; expected: number; found: number }> = [];
  const elements = elementsOf(isa);
  let length = 3 + 1; // "ISA" and the segment terminator
  for (let n = 1; n <= 16; n++) {
    const value = elements[n];
    const width = ISA_WIDTHS[n - 1]!;
    length += 1 + (value?.length ?? 0);
    if (value === undefined || value.length !== width) {
      const name = `ISA${String(n).padStart(2, '0')}`;
      const found = value?.length ?? 0;
      wrong.push(`${name} (${ISA_ELEMENT_NAMES[n - 1]}) has ${found} character${found === 1 ? '' : 's'}, not ${width}`);
      details.push({ element: name, expected: width, found });
    }
  }
  if (elements.length > 17) {
    wrong.push(`it has ${elements.length - 1} elements, not 16`);
    for (let n = 17; n < elements.length; n++) length += 1 + elements[n]!.length;
  }
  if (wrong.length === 0) return undefined;
  const first = details[0];
  return {
    ruleId: 'x12-isa-length',
    severity: 'error',
    message: `The ISA at segment ${isa.position} must be ${ISA_LENGTH} characters with fixed-width elements, but it is ${length} characters long: ${wrong.join('; ')}. Pad or cut the fields to their fixed widths.`,
    segment: isa,
    ...(first ? { element: Number(first.element.slice(3)) } : {}),
    details: { expectedLength: ISA_LENGTH, length, elements: details },
  };
}

function count(value: string): number | undefined {
  return /^\d{1,9}$/.test(value.trim()) ? Number(value.trim()) : undefined;
}

function countIssue(
  ruleId: string,
  trailer: Segment,
  element: number,
  expected: number,
  what: string,
): X12Issue | undefined {
  const raw = el(trailer, element);
  const declared = count(raw);
  if (declared === expected) return undefined;
  const name = `${trailer.id}${String(element).padStart(2, '0')}`;
  return {
    ruleId,
    severity: 'error',
    message:
      declared === undefined
        ? `${at(trailer)}: ${name} must be the number of ${what} (${expected}), not "${raw}".`
        : `${at(trailer)} declares ${declared} ${what} in ${name}, but there ${expected === 1 ? 'is' : 'are'} ${expected}.`,
    segment: trailer,
    element,
    details: { expected, declared: declared ?? raw },
  };
}

function controlIssue(
  ruleId: string,
  header: Segment,
  headerElement: number,
  trailer: Segment,
  trailerElement: number,
): X12Issue | undefined {
  const opened = el(header, headerElement);
  const closed = el(trailer, trailerElement);
  if (opened.trim() === closed.trim()) return undefined;
  const h = `${header.id}${String(headerElement).padStart(2, '0')}`;
  const t = `${trailer.id}${String(trailerElement).padStart(2, '0')}`;
  return {
    ruleId,
    severity: 'error',
    message: `${at(trailer)} closes control number "${closed}" (${t}), but ${at(header)} opened "${opened}" (${h}); they must be equal.`,
    segment: trailer,
    element: trailerElement,
    details: { expected: opened, found: closed, opener: header.position },
  };
}

function missingTrailer(ruleId: string, header: Segment, trailerId: string, what: string, next: Segment | undefined): X12Issue {
  return {
    ruleId,
    severity: 'error',
    message: `The ${what} opened by ${at(header)} has no ${trailerId} trailer: ${
      next ? `${at(next)} comes first` : 'the file ends first (is it truncated?)'
    }.`,
    segment: header,
    details: { expected: trailerId, ...(next ? { found: next.id, foundAt: next.position } : { found: 'end of file' }) },
  };
}

export interface Envelopes {
  interchanges: Interchange[];
  /** Content after an IEA that no ISA opens: one issue per stretch of it. */
  outside: X12Issue[];
}

/** One issue for a stretch of segments after an IEA, however many there are. */
function outsideIssue(iea: Segment, first: Segment, last: Segment): X12Issue {
  const count = last.position - first.position + 1;
  const characters = last.index + (last.end - last.start) - first.index;
  return {
    ruleId: 'x12-outside-interchange',
    severity: 'error',
    message: `After the IEA that closes the interchange (segment ${iea.position}), the file goes on with ${
      count === 1 ? `${characters} character${characters === 1 ? '' : 's'}` : `${count} segments`
    } that no ISA opens (from segment ${first.position}, byte ${first.offset}); ${count === 1 ? 'it was' : 'they were'} not read. Only white space may follow the last IEA.`,
    segment: first,
    details: { segments: count, characters, afterIea: iea.position },
  };
}

/** What an envelope reader hands on as each envelope closes (with every issue it will ever have). */
export interface EnvelopeEvents {
  /** A transaction set opens (its ST has been read). */
  opened?(tx: Transaction): void;
  /** A segment of a transaction set's body, as it comes; given this, the reader keeps no `body`. */
  segment?(tx: Transaction, segment: Segment): void;
  transaction?(tx: Transaction): void;
  group?(group: Group): void;
  interchange?(ix: Interchange): void;
  outside?(issue: X12Issue): void;
}

/**
 * Groups segments into interchanges, functional groups and transaction sets, segment by segment,
 * and checks the envelope: trailers present, counts (SE01, GE01, IEA01) and control numbers
 * equal. It never throws: whatever is out of place becomes an issue on the innermost open
 * envelope, and content after an IEA that no ISA opens becomes one issue of its own. Each
 * envelope is handed on when it closes; with `retain` false, closed envelopes are not kept in
 * their parents' lists, so a file read in chunks is held one transaction set at a time.
 */
export class EnvelopeReader {
  readonly interchanges: Interchange[] = [];
  readonly outside: X12Issue[] = [];
  /** The stretch of segments after the last IEA, while no ISA has come. */
  private stretch: { iea: Segment; first: Segment; last: Segment } | undefined;
  private ix: Interchange | undefined;
  private group: Group | undefined;
  private tx: Transaction | undefined;
  private last: Interchange | undefined;
  /** Envelopes closed by the segment being read, handed on once it has been read whole. */
  private closed: Array<() => void> = [];

  constructor(
    private readonly events: EnvelopeEvents = {},
    private readonly retain = true,
  ) {}

  private innermostIssues(): X12Issue[] | undefined {
    return (this.tx ?? this.group ?? this.ix ?? this.last)?.issues;
  }

  private closeTransaction(next: Segment | undefined): void {
    const tx = this.tx;
    if (!tx) return;
    if (!tx.se) tx.issues.push(missingTrailer('x12-se-missing', tx.st, 'SE', 'transaction set', next));
    this.tx = undefined;
    this.closed.push(() => this.events.transaction?.(tx));
  }

  private closeGroup(next: Segment | undefined): void {
    const group = this.group;
    if (!group) return;
    if (group.gs && !group.ge) group.issues.push(missingTrailer('x12-ge-missing', group.gs, 'GE', 'functional group', next));
    this.group = undefined;
    this.closed.push(() => this.events.group?.(group));
  }

  private closeInterchange(next: Segment | undefined): void {
    const ix = this.ix;
    if (!ix) return;
    if (!ix.iea) ix.issues.push(missingTrailer('x12-iea-missing', ix.isa, 'IEA', 'interchange', next));
    this.ix = undefined;
    this.closed.push(() => this.events.interchange?.(ix));
  }

  private stray(segment: Segment, why: string): void {
    const issue: X12Issue = {
      ruleId: 'x12-unexpected-segment',
      severity: 'error',
      message: `${at(segment)} is out of place: ${why}.`,
      segment,
    };
    const target = this.innermostIssues();
    if (target) target.push(issue);
  }

  private handOn(): void {
    const closed = this.closed;
    if (closed.length === 0) return;
    this.closed = [];
    for (const event of closed) event();
  }

  private outsideEnds(): void {
    const stretch = this.stretch;
    if (!stretch) return;
    this.stretch = undefined;
    const issue = outsideIssue(stretch.iea, stretch.first, stretch.last);
    this.outside.push(issue);
    this.events.outside?.(issue);
  }

  push(segment: Segment): void {
    this.read(segment);
    this.handOn();
  }

  private read(segment: Segment): void {
    if (segment.id === 'ISA') {
      this.outsideEnds();
      segment.loop = 'ISA';
      this.closeTransaction(segment);
      this.closeGroup(segment);
      this.closeInterchange(segment);
      const ix: Interchange = { isa: segment, groups: [], groupCount: 0, issues: [] };
      this.ix = ix;
      if (this.retain) this.interchanges.push(ix);
      this.last = ix;
      const widths = checkIsaWidths(segment);
      if (widths) ix.issues.push(widths);
      return;
    }
    const open = this.ix;
    if (!open) {
      // The tokenizer starts every file at an ISA: this is after an IEA, where nothing but
      // another interchange may come. However long the stretch, it is one issue.
      segment.loop = 'ISA';
      if (this.stretch) this.stretch.last = segment;
      else this.stretch = { iea: this.last!.iea!, first: segment, last: segment };
      return;
    }
    // Belongs to the envelope the segment ends up in, known only after the switch below.
    let unterminated: X12Issue | undefined;
    if (segment.unterminated) {
      unterminated = {
        ruleId: 'x12-segment-unterminated',
        severity: segment.id === 'IEA' ? 'warning' : 'error',
        message: `The file ends inside ${at(segment)}: no segment terminator "${segment.delimiters.segment}" follows it${
          segment.id === 'IEA' ? '' : ', so the file is probably truncated'
        }.`,
        segment,
      };
    }
    switch (segment.id) {
      case 'GS': {
        segment.loop = 'GS';
        this.closeTransaction(segment);
        this.closeGroup(segment);
        const group: Group = { gs: segment, transactions: [], transactionCount: 0, issues: [], interchange: open };
        this.group = group;
        open.groupCount++;
        if (this.retain) open.groups.push(group);
        break;
      }
      case 'ST': {
        segment.loop = 'ST';
        this.closeTransaction(segment);
        let group = this.group;
        if (!group) {
          open.issues.push({
            ruleId: 'x12-unexpected-segment',
            severity: 'error',
            message: `${at(segment)} is out of place: a transaction set must be inside a functional group (GS ... GE).`,
            segment,
          });
          group = { transactions: [], transactionCount: 0, issues: [], interchange: open };
          this.group = group;
          if (this.retain) open.groups.push(group);
        }
        const tx: Transaction = { st: segment, body: [], size: 0, issues: [], group };
        this.tx = tx;
        group.transactionCount++;
        if (this.retain) group.transactions.push(tx);
        // After the set this ST closes, if any, has been handed on.
        this.closed.push(() => this.events.opened?.(tx));
        break;
      }
      case 'SE': {
        segment.loop = 'ST';
        const tx = this.tx;
        if (!tx) {
          this.stray(segment, 'there is no open transaction set (ST) for it to close');
          break;
        }
        tx.se = segment;
        const counted = countIssue('x12-se-count', segment, 1, tx.size + 2, 'segments (ST to SE, both included)');
        if (counted) tx.issues.push(counted);
        const control = controlIssue('x12-se-control-number', tx.st, 2, segment, 2);
        if (control) tx.issues.push(control);
        this.closeTransaction(segment);
        break;
      }
      case 'GE': {
        segment.loop = 'GS';
        this.closeTransaction(segment);
        const group = this.group;
        if (!group || !group.gs) {
          this.stray(segment, 'there is no open functional group (GS) for it to close');
          // A group without GS (transaction sets found outside any) ends here too.
          if (group) this.closeGroup(segment);
          break;
        }
        group.ge = segment;
        const counted = countIssue('x12-ge-count', segment, 1, group.transactionCount, 'transaction sets');
        if (counted) group.issues.push(counted);
        const control = controlIssue('x12-ge-control-number', group.gs, 6, segment, 2);
        if (control) group.issues.push(control);
        this.closeGroup(segment);
        break;
      }
      case 'IEA': {
        segment.loop = 'ISA';
        this.closeTransaction(segment);
        this.closeGroup(segment);
        open.iea = segment;
        const counted = countIssue('x12-iea-count', segment, 1, open.groupCount, 'functional groups');
        if (counted) open.issues.push(counted);
        const control = controlIssue('x12-iea-control-number', open.isa, 13, segment, 2);
        if (control) open.issues.push(control);
        this.closeInterchange(segment);
        break;
      }
      default: {
        const tx = this.tx;
        if (tx) {
          tx.size++;
          if (this.events.segment) this.events.segment(tx, segment);
          else tx.body.push(segment);
        } else {
          segment.loop = this.group ? 'GS' : 'ISA';
          this.stray(segment, 'only ST ... SE transaction sets may stand between the envelope segments');
        }
      }
    }
    if (unterminated) this.innermostIssues()?.push(unterminated);
  }

  /** The file has ended: whatever is still open closes without its trailer. */
  end(): Envelopes {
    this.closeTransaction(undefined);
    this.closeGroup(undefined);
    this.closeInterchange(undefined);
    this.handOn();
    this.outsideEnds();
    return { interchanges: this.interchanges, outside: this.outside };
  }
}

/** Every envelope of a file read whole. */
export function readEnvelopes(segments: readonly Segment[]): Envelopes {
  const reader = new EnvelopeReader();
  for (const segment of segments) reader.push(segment);
  return reader.end();
}
