import { at, type X12Issue } from './issues.js';
import { el, elementsOf, ISA_LENGTH, ISA_WIDTHS, type Segment } from './segments.js';

/** ST ... SE: one transaction set (an 837 holds many claims). */
export interface Transaction {
  st: Segment;
  /** The segments between ST and SE (or up to where the set was cut off). */
  body: Segment[];
  se?: Segment;
  issues: X12Issue[];
  group: Group;
}

/** GS ... GE: a functional group. `gs` is absent for transaction sets found outside any group. */
export interface Group {
  gs?: Segment;
  ge?: Segment;
  transactions: Transaction[];
  issues: X12Issue[];
  interchange: Interchange;
}

/** ISA ... IEA. */
export interface Interchange {
  isa: Segment;
  iea?: Segment;
  groups: Group[];
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
  const characters = last.end - first.start;
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

/**
 * Groups segments into interchanges, functional groups and transaction sets, and checks the
 * envelope: trailers present, counts (SE01, GE01, IEA01) and control numbers equal. It never
 * throws: whatever is out of place becomes an issue on the innermost open envelope, and content
 * after an IEA that no ISA opens becomes one issue of its own.
 */
export function readEnvelopes(segments: readonly Segment[]): Envelopes {
  const interchanges: Interchange[] = [];
  const outside: X12Issue[] = [];
  /** The stretch of segments after the last IEA, while no ISA has come. */
  let stretch: { iea: Segment; first: Segment; last: Segment } | undefined;
  let ix: Interchange | undefined;
  let group: Group | undefined;
  let tx: Transaction | undefined;
  let last: Interchange | undefined;

  const innermostIssues = (): X12Issue[] | undefined => (tx ?? group ?? ix ?? last)?.issues;

  const closeTransaction = (next: Segment | undefined) => {
    if (tx && !tx.se) tx.issues.push(missingTrailer('x12-se-missing', tx.st, 'SE', 'transaction set', next));
    tx = undefined;
  };
  const closeGroup = (next: Segment | undefined) => {
    if (group && group.gs && !group.ge) group.issues.push(missingTrailer('x12-ge-missing', group.gs, 'GE', 'functional group', next));
    group = undefined;
  };
  const closeInterchange = (next: Segment | undefined) => {
    if (ix && !ix.iea) ix.issues.push(missingTrailer('x12-iea-missing', ix.isa, 'IEA', 'interchange', next));
    ix = undefined;
  };
  const stray = (segment: Segment, why: string) => {
    const issue: X12Issue = {
      ruleId: 'x12-unexpected-segment',
      severity: 'error',
      message: `${at(segment)} is out of place: ${why}.`,
      segment,
    };
    const target = innermostIssues();
    if (target) target.push(issue);
  };

  for (const segment of segments) {
    if (segment.id === 'ISA') {
      if (stretch) {
        outside.push(outsideIssue(stretch.iea, stretch.first, stretch.last));
        stretch = undefined;
      }
      segment.loop = 'ISA';
      closeTransaction(segment);
      closeGroup(segment);
      closeInterchange(segment);
      ix = { isa: segment, groups: [], issues: [] };
      interchanges.push(ix);
      last = ix;
      const widths = checkIsaWidths(segment);
      if (widths) ix.issues.push(widths);
      continue;
    }
    if (!ix) {
      // The tokenizer starts every file at an ISA: this is after an IEA, where nothing but
      // another interchange may come. However long the stretch, it is one issue.
      segment.loop = 'ISA';
      if (stretch) stretch.last = segment;
      else stretch = { iea: last!.iea!, first: segment, last: segment };
      continue;
    }
    const open = ix;
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
        closeTransaction(segment);
        closeGroup(segment);
        group = { gs: segment, transactions: [], issues: [], interchange: open };
        open.groups.push(group);
        break;
      }
      case 'ST': {
        segment.loop = 'ST';
        closeTransaction(segment);
        if (!group) {
          open.issues.push({
            ruleId: 'x12-unexpected-segment',
            severity: 'error',
            message: `${at(segment)} is out of place: a transaction set must be inside a functional group (GS ... GE).`,
            segment,
          });
          group = { transactions: [], issues: [], interchange: open };
          open.groups.push(group);
        }
        tx = { st: segment, body: [], issues: [], group };
        group.transactions.push(tx);
        break;
      }
      case 'SE': {
        segment.loop = 'ST';
        if (!tx) {
          stray(segment, 'there is no open transaction set (ST) for it to close');
          break;
        }
        tx.se = segment;
        const counted = countIssue('x12-se-count', segment, 1, tx.body.length + 2, 'segments (ST to SE, both included)');
        if (counted) tx.issues.push(counted);
        const control = controlIssue('x12-se-control-number', tx.st, 2, segment, 2);
        if (control) tx.issues.push(control);
        tx = undefined;
        break;
      }
      case 'GE': {
        segment.loop = 'GS';
        closeTransaction(segment);
        if (!group || !group.gs) {
          stray(segment, 'there is no open functional group (GS) for it to close');
          group = undefined;
          break;
        }
        group.ge = segment;
        const counted = countIssue('x12-ge-count', segment, 1, group.transactions.length, 'transaction sets');
        if (counted) group.issues.push(counted);
        const control = controlIssue('x12-ge-control-number', group.gs, 6, segment, 2);
        if (control) group.issues.push(control);
        group = undefined;
        break;
      }
      case 'IEA': {
        segment.loop = 'ISA';
        closeTransaction(segment);
        closeGroup(segment);
        open.iea = segment;
        const groups = open.groups.filter((g) => g.gs).length;
        const counted = countIssue('x12-iea-count', segment, 1, groups, 'functional groups');
        if (counted) open.issues.push(counted);
        const control = controlIssue('x12-iea-control-number', open.isa, 13, segment, 2);
        if (control) open.issues.push(control);
        ix = undefined;
        break;
      }
      default: {
        if (tx) {
          tx.body.push(segment);
        } else {
          segment.loop = group ? 'GS' : 'ISA';
          stray(segment, 'only ST ... SE transaction sets may stand between the envelope segments');
        }
      }
    }
    if (unterminated) innermostIssues()?.push(unterminated);
  }
  closeTransaction(undefined);
  closeGroup(undefined);
  closeInterchange(undefined);
  if (stretch) outside.push(outsideIssue(stretch.iea, stretch.first, stretch.last));
  return { interchanges, outside };
}

