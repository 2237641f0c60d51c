import type { LineView } from '../../claim/view.js';
import type { FactDefinition } from '../../engine/facts.js';
import { BOOLEAN, STRING, objectOf } from '../../engine/shapes.js';
import { BytePool, OPEN_END, TextPool, codeKeyAt, codeKeyOf, codeOfKey, dateNumberAt, dateNumberOfIso, isoOfDateNumber } from '../encoding.js';
import { Editions, quarterOf } from '../editions.js';
import { isBlank, scanLines, splitFields, textAt } from '../lines.js';
import { tableSources } from '../sources.js';
import { newSharedArray } from '../shared.js';
import { ScratchMemory } from '../scratch.js';
import { TableFileError, type RowCounter, type SnapshotParts, type TableFormatDefinition } from '../model.js';

/**
 * NCCI procedure-to-procedure (PTP) edits, in the layout CMS ships each quarter for the
 * practitioner and the hospital tables alike: tab-separated, CRLF, a preamble of about six
 * lines (AMA notice, "Column1/Column2 Edits", a header wrapped over four lines), then
 *   column 1, column 2, "*" if in existence prior to 1996, effective date YYYYMMDD,
 *   deletion date YYYYMMDD or "*", modifier indicator 0/1/9, rationale.
 * The full practitioner table is about 2 million rows in 4 files, and one pair of codes can
 * have several rows with different date windows. A row cut short is judged on what is left:
 * missing or broken edit fields skip it with a warning; a rationale cut off mid-text cannot be
 * told from a short one, so such a row is kept (its edit fields are what the rules use).
 */

export interface PtpWindow {
  /** yyyymmdd */
  effective: number;
  /** yyyymmdd, or OPEN_END for "*" */
  deletion: number;
  modifierIndicator: number;
  priorTo1996: boolean;
  rationale: string;
}

const INITIAL_ROWS = 1 << 16;
const EMPTY = -1;

/**
 * Table dates as small numbers that sort like their yyyymmdd: (year - 1900) * 372 + (month - 1)
 * * 31 + (day - 1). Every date up to 2075 fits 16 bits; a table with a later date (other than
 * "*") is held in 32-bit arrays instead, so no date is ever cut.
 */
const DATE_BASE_YEAR = 1900;
function compactDate(yyyymmdd: number): number {
  const year = Math.floor(yyyymmdd / 10_000);
  return (year - DATE_BASE_YEAR) * 372 + ((Math.floor(yyyymmdd / 100) % 100) - 1) * 31 + ((yyyymmdd % 100) - 1);
}
function dateOfCompact(compact: number): number {
  return (DATE_BASE_YEAR + Math.floor(compact / 372)) * 10_000 + (Math.floor((compact % 372) / 31) + 1) * 100 + ((compact % 31) + 1);
}

/** Flags of a row: the modifier indicator in the low four bits, "in existence prior to 1996" above. */
const PRIOR_TO_1996 = 0x10;
/** Flags of a code: in column 1 of some edit, in column 2 of some edit. */
const IN_COLUMN_1 = 1;
const IN_COLUMN_2 = 2;

/** A typed array type wide enough for every value up to `max` (ids, compact dates). */
type NarrowArray = Uint16Array<ArrayBufferLike> | Uint32Array<ArrayBufferLike>;
function narrowest(max: number, length: number): NarrowArray {
  return max < 0xffff ? newSharedArray(Uint16Array, length) : newSharedArray(Uint32Array, length);
}

/** Hash slot of a code key (below 2^26) in a table of `mask + 1` slots. */
function codeSlot(key: number, mask: number): number {
  const h = Math.imul(key, 0x9e3779b1);
  return (h ^ (h >>> 15)) & mask;
}

/** Bytes a row takes while reading: four 32-bit fields, flags, rationale and its place in two row orders. */
const BYTES_PER_ROW_IN_READING = 4 * 4 + 1 + 2 + 2 * 4;

/**
 * The rows read so far, in file order, until `finish` lays them out by pair, and room for the two
 * orders `finish` sorts them in: one block of scratch memory (ScratchMemory: its size matters
 * to malloc), let go with them.
 */
class RowsInReading {
  readonly key1: Int32Array;
  readonly key2: Int32Array;
  readonly effective: Int32Array;
  readonly deletion: Int32Array;
  readonly flags: Uint8Array;
  readonly rationaleId: Uint16Array;
  /** Room for the rows' order by column 2, then by column 1 (two stable sorts, one into the other). */
  readonly orderA: Uint32Array;
  readonly orderB: Uint32Array;
  count = 0;

  constructor(rows: number) {
    const scratch = new ScratchMemory(rows * BYTES_PER_ROW_IN_READING);
    this.key1 = scratch.take(Int32Array, rows);
    this.key2 = scratch.take(Int32Array, rows);
    this.effective = scratch.take(Int32Array, rows);
    this.deletion = scratch.take(Int32Array, rows);
    this.orderA = scratch.take(Uint32Array, rows);
    this.orderB = scratch.take(Uint32Array, rows);
    this.rationaleId = scratch.take(Uint16Array, rows);
    this.flags = scratch.take(Uint8Array, rows);
  }

  /** The same rows with room for twice as many (more rows than the reader expected). */
  grown(): RowsInReading {
    const bigger = new RowsInReading(this.key1.length * 2);
    bigger.key1.set(this.key1);
    bigger.key2.set(this.key2);
    bigger.effective.set(this.effective);
    bigger.deletion.set(this.deletion);
    bigger.flags.set(this.flags);
    bigger.rationaleId.set(this.rationaleId);
    bigger.count = this.count;
    return bigger;
  }
}

/**
 * Edits held in typed arrays, grouped by pair, every code as a small id. A lookup finds the ids
 * of the two codes (a hash of the table's twelve thousand or so codes), then column 2's id
 * among the pairs of column 1's code (sorted, so a binary search over a few dozen entries),
 * then walks that pair's few rows. Per row 7 bytes (two 16-bit compact dates, flags, rationale),
 * per pair 6 (column 2's id, first row): about 23 MB for a full practitioner table of 2
 * million rows, where row-keyed arrays and a hash slot per row took 64.
 *
 * Rows are read into plain arrays in file order and laid out by pair once, in `finish`, onto
 * SharedArrayBuffers, so that threads share them (SharedTables) without a copy. Within a pair,
 * rows keep their file order.
 */
export class PtpIndex {
  private reading: RowsInReading | undefined;
  /** Code key (codeKeyOf) by code id, ascending. */
  private codeKeys: Int32Array<ArrayBufferLike> = newSharedArray(Int32Array, 0);
  /** Hash slots: code id + 1 by code key, 0 for an empty slot. */
  private codeSlots: Int32Array<ArrayBufferLike> = newSharedArray(Int32Array, 1);
  /** IN_COLUMN_1 | IN_COLUMN_2 by code id. */
  private codeColumns: Uint8Array<ArrayBufferLike> = newSharedArray(Uint8Array, 0);
  /** The pairs of column-1 code id c are firstPair[c] up to firstPair[c + 1]. */
  private firstPair: Uint32Array<ArrayBufferLike> = newSharedArray(Uint32Array, 1);
  /** Column 2's code id by pair, ascending within each column-1 code. */
  private pairColumn2: NarrowArray = newSharedArray(Uint16Array, 0);
  /** The rows of pair p are firstRow[p] up to firstRow[p + 1], in file order. */
  private firstRow: Uint32Array<ArrayBufferLike> = newSharedArray(Uint32Array, 1);
  /** Compact dates (compactDate) by row; "*" as the array's largest value. */
  private effective: NarrowArray = newSharedArray(Uint16Array, 0);
  private deletion: NarrowArray = newSharedArray(Uint16Array, 0);
  private flags: Uint8Array<ArrayBufferLike> = newSharedArray(Uint8Array, 0);
  private rationaleId: Uint16Array<ArrayBufferLike> = newSharedArray(Uint16Array, 0);
  /** The deletion value that stands for "*". */
  private openEnd = 0xffff;
  readonly rationales: TextPool;

  /** `expectedRows`: room made at once; more rows still fit, by growing the arrays. */
  constructor(rationales: TextPool = new TextPool(), expectedRows = INITIAL_ROWS) {
    this.rationales = rationales;
    this.reading = new RowsInReading(Math.max(1, expectedRows));
  }

  get rowCount(): number {
    return this.reading ? this.reading.count : this.flags.length;
  }

  get pairCount(): number {
    return this.pairColumn2.length;
  }

  add(key1: number, key2: number, effective: number, deletion: number, modifierIndicator: number, priorTo1996: boolean, rationaleId: number): void {
    let rows = this.reading;
    if (!rows) throw new Error('the PTP index is finished; no row can be added');
    if (rows.count === rows.key1.length) this.reading = rows = rows.grown();
    const row = rows.count++;
    rows.key1[row] = key1;
    rows.key2[row] = key2;
    rows.effective[row] = effective;
    rows.deletion[row] = deletion;
    rows.flags[row] = modifierIndicator | (priorTo1996 ? PRIOR_TO_1996 : 0);
    rows.rationaleId[row] = rationaleId;
  }

  /**
   * Lays the rows out by pair (column 1's code, column 2's code, then file order: two stable
   * counting sorts) in arrays of their exact size on shared memory, and lets the rows as read go.
   */
  finish(): this {
    const rows = this.reading;
    if (!rows) return this;
    this.reading = undefined;
    const n = rows.count;
    // Code ids in the order of their keys.
    const keySet = new Set<number>();
    for (let r = 0; r < n; r++) keySet.add(rows.key1[r]!).add(rows.key2[r]!);
    const keys = Float64Array.from(keySet).sort();
    keySet.clear();
    const codes = keys.length;
    this.codeKeys = newSharedArray(Int32Array, codes);
    this.codeKeys.set(keys);
    let slots = 16;
    while (slots < codes * 2) slots *= 2;
    this.codeSlots = newSharedArray(Int32Array, slots);
    for (let id = 0; id < codes; id++) {
      let slot = codeSlot(keys[id]!, slots - 1);
      while (this.codeSlots[slot] !== 0) slot = (slot + 1) & (slots - 1);
      this.codeSlots[slot] = id + 1;
    }
    this.codeColumns = newSharedArray(Uint8Array, codes);
    // Keys become ids, in place.
    for (let r = 0; r < n; r++) {
      rows.key1[r] = this.idOfKey(rows.key1[r]!);
      rows.key2[r] = this.idOfKey(rows.key2[r]!);
      this.codeColumns[rows.key1[r]!]! |= IN_COLUMN_1;
      this.codeColumns[rows.key2[r]!]! |= IN_COLUMN_2;
    }
    // Rows by column 2, then (stably) by column 1.
    const byColumn2 = countingSort(rows.key2, codes, identityOrder(rows.orderA.subarray(0, n)), rows.orderB.subarray(0, n));
    const order = countingSort(rows.key1, codes, byColumn2, rows.orderA.subarray(0, n));
    let pairs = 0;
    for (let i = 0; i < n; i++) {
      const r = order[i]!;
      const before = i === 0 ? EMPTY : order[i - 1]!;
      if (before === EMPTY || rows.key1[before] !== rows.key1[r] || rows.key2[before] !== rows.key2[r]) pairs++;
    }
    let latest = 0;
    for (let r = 0; r < n; r++) {
      // The reader takes only real dates from 1900 on (dateNumberAt), so no compact date is negative.
      latest = Math.max(latest, compactDate(rows.effective[r]!));
      if (rows.deletion[r] !== OPEN_END) latest = Math.max(latest, compactDate(rows.deletion[r]!));
    }
    this.firstPair = newSharedArray(Uint32Array, codes + 1);
    this.pairColumn2 = narrowest(codes, pairs);
    this.firstRow = newSharedArray(Uint32Array, pairs + 1);
    this.effective = narrowest(latest, n);
    this.deletion = narrowest(latest, n);
    this.openEnd = this.deletion instanceof Uint16Array ? 0xffff : 0xffff_ffff;
    this.flags = newSharedArray(Uint8Array, n);
    this.rationaleId = newSharedArray(Uint16Array, n);
    let pair = -1;
    for (let i = 0; i < n; i++) {
      const r = order[i]!;
      const before = i === 0 ? EMPTY : order[i - 1]!;
      const id1 = rows.key1[r]!;
      if (before === EMPTY || rows.key1[before] !== id1 || rows.key2[before] !== rows.key2[r]) {
        pair++;
        this.pairColumn2[pair] = rows.key2[r]!;
        this.firstRow[pair] = i;
        // Column-1 codes without pairs of their own, up to this one, start here.
        if (before === EMPTY || rows.key1[before] !== id1) for (let c = before === EMPTY ? 0 : rows.key1[before]! + 1; c <= id1; c++) this.firstPair[c] = pair;
      }
      this.effective[i] = compactDate(rows.effective[r]!);
      this.deletion[i] = rows.deletion[r] === OPEN_END ? this.openEnd : compactDate(rows.deletion[r]!);
      this.flags[i] = rows.flags[r]!;
      this.rationaleId[i] = rows.rationaleId[r]!;
    }
    const lastCode = n === 0 ? -1 : rows.key1[order[n - 1]!]!;
    for (let c = lastCode + 1; c <= codes; c++) this.firstPair[c] = pairs;
    this.firstRow[pairs] = n;
    return this;
  }

  private idOfKey(key: number): number {
    if (key < 0) return EMPTY;
    const mask = this.codeSlots.length - 1;
    for (let slot = codeSlot(key, mask); ; slot = (slot + 1) & mask) {
      const id = this.codeSlots[slot]! - 1;
      if (id === EMPTY || this.codeKeys[id] === key) return id;
    }
  }

  /**
   * Whether some edit of the table has the code in column 1 (or 2): a pair of lines can have
   * an edit only if the first line's code is a column-1 code and the second's a column-2 code,
   * which most pairs of a claim's lines are not.
   */
  inColumn(code: string, column: 1 | 2): boolean {
    const id = this.idOfKey(codeKeyOf(code));
    return id !== EMPTY && (this.codeColumns[id]! & (column === 1 ? IN_COLUMN_1 : IN_COLUMN_2)) !== 0;
  }

  /** The pair of two codes, or EMPTY. */
  private pairOf(column1: string, column2: string): number {
    const id1 = this.idOfKey(codeKeyOf(column1));
    if (id1 === EMPTY) return EMPTY;
    const id2 = this.idOfKey(codeKeyOf(column2));
    if (id2 === EMPTY) return EMPTY;
    let low = this.firstPair[id1]!;
    let high = this.firstPair[id1 + 1]!;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const at = this.pairColumn2[mid]!;
      if (at === id2) return mid;
      if (at < id2) low = mid + 1;
      else high = mid;
    }
    return EMPTY;
  }

  private windowAt(row: number): PtpWindow {
    const flags = this.flags[row]!;
    const deletion = this.deletion[row]!;
    return {
      effective: dateOfCompact(this.effective[row]!),
      deletion: deletion === this.openEnd ? OPEN_END : dateOfCompact(deletion),
      modifierIndicator: flags & 0x0f,
      priorTo1996: (flags & PRIOR_TO_1996) !== 0,
      rationale: this.rationales.texts[this.rationaleId[row]!] ?? '',
    };
  }

  private windowsOf(pair: number): PtpWindow[] {
    const out: PtpWindow[] = [];
    if (pair === EMPTY) return out;
    for (let row = this.firstRow[pair]!; row < this.firstRow[pair + 1]!; row++) out.push(this.windowAt(row));
    return out;
  }

  /** Every pair of codes with its windows in file order, in no particular order of pairs (for diffs). */
  *allPairs(): Generator<{ column1: string; column2: string; windows: PtpWindow[] }> {
    for (let id1 = 0; id1 < this.codeKeys.length; id1++) {
      const column1 = codeOfKey(this.codeKeys[id1]!);
      for (let pair = this.firstPair[id1]!; pair < this.firstPair[id1 + 1]!; pair++) {
        yield { column1, column2: codeOfKey(this.codeKeys[this.pairColumn2[pair]!]!), windows: this.windowsOf(pair) };
      }
    }
  }

  /** Every window of a pair, in file order. */
  windows(column1: string, column2: string): PtpWindow[] {
    return this.windowsOf(this.pairOf(column1, column2));
  }

  /**
   * The edit in force for (column 1, column 2) on a date of service (yyyymmdd): a window with
   * effective <= date <= deletion. Should windows overlap, the one that took effect last wins,
   * and between equals the row later in the file (a later row is CMS's later word).
   */
  find(column1: string, column2: string, serviceDate: number): PtpWindow | undefined {
    const pair = this.pairOf(column1, column2);
    if (pair === EMPTY) return undefined;
    const month = Math.floor(serviceDate / 100) % 100;
    const day = serviceDate % 100;
    // A date with a month or day out of range has no compact form that sorts like it: compare
    // it as yyyymmdd instead (dates the claim schema lets through never do).
    const exact = !(month >= 1 && month <= 12 && day >= 1 && day <= 31 && Number.isInteger(serviceDate));
    const on = exact ? 0 : compactDate(serviceDate);
    let best = EMPTY;
    for (let row = this.firstRow[pair]!; row < this.firstRow[pair + 1]!; row++) {
      const deletion = this.deletion[row]!;
      const covers = exact
        ? dateOfCompact(this.effective[row]!) <= serviceDate && (deletion === this.openEnd || serviceDate <= dateOfCompact(deletion))
        : this.effective[row]! <= on && (deletion === this.openEnd || on <= deletion);
      // Rows are in file order, so ">=" keeps the later row among equal dates.
      if (covers && (best === EMPTY || this.effective[row]! >= this.effective[best]!)) best = row;
    }
    return best === EMPTY ? undefined : this.windowAt(best);
  }

  toSnapshot(): SnapshotParts {
    this.finish();
    return {
      json: { openEnd: this.openEnd, rationales: this.rationales.texts },
      arrays: [this.codeKeys, this.codeSlots, this.codeColumns, this.firstPair, this.pairColumn2, this.firstRow, this.effective, this.deletion, this.flags, this.rationaleId],
    };
  }

  static fromSnapshot(parts: SnapshotParts): PtpIndex {
    const json = parts.json as { openEnd: number; rationales: string[] };
    const index = new PtpIndex(new TextPool(json.rationales), 0);
    index.reading = undefined;
    const [codeKeys, codeSlots, codeColumns, firstPair, pairColumn2, firstRow, effective, deletion, flags, rationaleId] = parts.arrays;
    index.codeKeys = codeKeys as Int32Array;
    index.codeSlots = codeSlots as Int32Array;
    index.codeColumns = codeColumns as Uint8Array;
    index.firstPair = firstPair as Uint32Array;
    index.pairColumn2 = pairColumn2 as NarrowArray;
    index.firstRow = firstRow as Uint32Array;
    index.effective = effective as NarrowArray;
    index.deletion = deletion as NarrowArray;
    index.flags = flags as Uint8Array;
    index.rationaleId = rationaleId as Uint16Array;
    index.openEnd = json.openEnd;
    return index;
  }
}

/** Rows 0 to n - 1, written into `order` (n long). */
function identityOrder(order: Uint32Array): Uint32Array {
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order;
}

/** `order` stably sorted by `keyOf[row]` (keys 0 to `keys` - 1), written into `sorted` (as long, not the same memory). */
function countingSort(keyOf: Int32Array, keys: number, order: Uint32Array, sorted: Uint32Array): Uint32Array {
  const start = new Uint32Array(keys + 1);
  for (let i = 0; i < order.length; i++) start[keyOf[order[i]!]! + 1]!++;
  for (let k = 0; k < keys; k++) start[k + 1]! += start[k]!;
  for (let i = 0; i < order.length; i++) {
    const row = order[i]!;
    sorted[start[keyOf[row]!]!++] = row;
  }
  return sorted;
}

const TAB = 0x09;
const STAR = 0x2a;
/** Lines before the first edit row that are not edit rows are the preamble, up to this many. */
const MAX_PREAMBLE_LINES = 12;
const ROW_LAYOUT =
  'a PTP row has 7 tab-separated fields: column 1, column 2, "*" if in existence prior to 1996, effective date (YYYYMMDD), deletion date (YYYYMMDD or "*"), modifier indicator (0, 1 or 9) and rationale';

/** One parsed row; reused for every line so that reading allocates nothing per row. */
interface PtpRow {
  key1: number;
  key2: number;
  effective: number;
  deletion: number;
  indicator: number;
  priorTo1996: boolean;
}

/**
 * Parses the fields of a line into `row`; returns why they are not an edit row, or undefined
 * when they are. Field texts are only decoded to explain a problem.
 */
function parseRow(buffer: Buffer, bounds: number[], fields: number, row: PtpRow): string | undefined {
  if (fields < 6) return `the line has ${fields} field${fields === 1 ? '' : 's'}; ${ROW_LAYOUT}`;
  row.key1 = codeKeyAt(buffer, bounds[0]!, bounds[1]!);
  if (row.key1 < 0) return `column 1 ${fieldText(buffer, bounds, 0)} is not a 5-character procedure code`;
  row.key2 = codeKeyAt(buffer, bounds[2]!, bounds[3]!);
  if (row.key2 < 0) return `column 2 ${fieldText(buffer, bounds, 1)} is not a 5-character procedure code`;
  row.effective = dateNumberAt(buffer, bounds[6]!, bounds[7]!);
  if (row.effective < 0) return `the effective date ${fieldText(buffer, bounds, 3)} is not a date written YYYYMMDD`;
  const star = bounds[9]! - bounds[8]! === 1 && buffer[bounds[8]!] === STAR;
  row.deletion = star ? OPEN_END : dateNumberAt(buffer, bounds[8]!, bounds[9]!);
  if (row.deletion < 0) return `the deletion date ${fieldText(buffer, bounds, 4)} is neither a date written YYYYMMDD nor "*"`;
  if (row.deletion < row.effective) return `the deletion date ${fieldText(buffer, bounds, 4)} is before the effective date ${fieldText(buffer, bounds, 3)}`;
  const ind = bounds[11]! - bounds[10]! === 1 ? buffer[bounds[10]!]! : 0;
  if (ind !== 0x30 && ind !== 0x31 && ind !== 0x39) return `the modifier indicator ${fieldText(buffer, bounds, 5)} is not 0, 1 or 9`;
  row.indicator = ind - 0x30;
  row.priorTo1996 = bounds[5]! - bounds[4]! >= 1 && buffer[bounds[4]!] === STAR;
  return undefined;
}

function fieldText(buffer: Buffer, bounds: number[], field: number): string {
  return JSON.stringify(textAt(buffer, bounds[field * 2]!, bounds[field * 2 + 1]!).slice(0, 40));
}

async function readPtp(files: readonly string[], rows: RowCounter): Promise<PtpIndex> {
  // Every edit row is a line: a first pass that only counts lines (a fraction of the time of
  // parsing them) lets the index be built at its final size, without growing.
  const sources = await tableSources(files, (members) => members.filter((m) => /\.txt$/i.test(m.name)), 'NCCI PTP edit file (.txt)');
  let lines = 0;
  for (const source of sources) lines += (await scanLines(source, () => {})).lines;
  const index = new PtpIndex(new TextPool(), lines);
  const rationales = new BytePool(index.rationales);
  const noRationale = index.rationales.id('');
  const bounds: number[] = new Array(32).fill(0);
  const row: PtpRow = { key1: 0, key2: 0, effective: 0, deletion: 0, indicator: 0, priorTo1996: false };
  for (const source of sources) {
    const file = source.name;
    let seenRow = false;
    let takenHere = 0;
    const scan = await scanLines(source, (buffer, start, end, line) => {
      if (isBlank(buffer, start, end)) return;
      const fields = splitFields(buffer, start, end, TAB, bounds);
      const problem = parseRow(buffer, bounds, fields, row);
      if (problem) {
        if (!seenRow && line <= MAX_PREAMBLE_LINES) return; // AMA notice and wrapped header
        rows.skip(file, line, problem);
        return;
      }
      seenRow = true;
      let rationaleId = noRationale;
      if (fields >= 7) {
        // Everything after the sixth tab: a stray tab inside the rationale must not cut it.
        let rationaleEnd = end;
        while (rationaleEnd > bounds[12]! && (buffer[rationaleEnd - 1] === TAB || buffer[rationaleEnd - 1] === 0x20)) rationaleEnd--;
        rationaleId = rationales.idAt(buffer, bounds[12]!, rationaleEnd);
      }
      index.add(row.key1, row.key2, row.effective, row.deletion, row.indicator, row.priorTo1996, rationaleId);
      rows.take();
      takenHere++;
    });
    if (takenHere === 0) {
      throw new TableFileError(file, `no NCCI PTP edit rows found (${scan.lines} lines read); ${ROW_LAYOUT}. Is this the right file?`);
    }
  }
  return index.finish();
}

function dateText(n: number): string {
  return n === OPEN_END ? '*' : isoOfDateNumber(n);
}

export const ncciPtpFormat: TableFormatDefinition<PtpIndex> = {
  format: 'ncci-ptp',
  title: 'NCCI procedure-to-procedure edit table',
  read: readPtp,
  facts(editions: Editions<PtpIndex>, table: { name: string }): FactDefinition[] {
    // The date as a number, for every pair of a claim's lines of one date: parsed once for them all.
    let lastDate = '';
    let lastDay = 0;
    const dayOf = (date: string) => (date === lastDate ? lastDay : ((lastDate = date), (lastDay = dateNumberOfIso(date))));
    return [
      {
        name: table.name,
        scopes: ['line-pair', 'history-pair'],
        description:
          `the NCCI PTP edit (${editions.names}) with the first line's code as column 1 and the second line's as column 2, ` +
          'in force on their date of service, from the edition that covers that date; found is false when there is none or the ' +
          'lines are on different dates, and covered is false when no loaded edition covers the date',
        shape: objectOf({
          found: BOOLEAN,
          column1: STRING,
          column2: STRING,
          serviceDate: STRING,
          modifierIndicator: STRING,
          effective: STRING,
          deletion: STRING,
          priorTo1996: BOOLEAN,
          rationale: STRING,
          covered: BOOLEAN,
          edition: STRING,
        }),
        value: (item) => {
          const first = item.values.first as LineView;
          const second = item.values.second as LineView;
          if (first.procedureCode === undefined || second.procedureCode === undefined) return undefined;
          // Plain literals rather than spreads of a shared base: this runs for every ordered pair
          // of lines of every claim, and V8 builds `{ ...base, more }` on a slow path.
          const column1 = first.procedureCode;
          const column2 = second.procedureCode;
          const serviceDate = first.serviceDate;
          const current = editions.at(serviceDate);
          if (!current) return { found: false, column1, column2, serviceDate, covered: false };
          const edition = current.context.edition;
          const edit = serviceDate === second.serviceDate ? current.index.find(column1, column2, dayOf(serviceDate)) : undefined;
          if (!edit) return { found: false, column1, column2, serviceDate, covered: true, edition };
          return {
            found: true,
            column1,
            column2,
            serviceDate,
            covered: true,
            edition,
            modifierIndicator: String(edit.modifierIndicator),
            effective: isoOfDateNumber(edit.effective),
            deletion: dateText(edit.deletion),
            priorTo1996: edit.priorTo1996,
            rationale: edit.rationale,
          };
        },
        reads: () => [['lines', '@', 'procedureCode']],
        pairKeys: {
          // An edit is found only for two lines of one date, the first's code in column 1 and the second's in column 2.
          found: {
            value: true,
            key: (line, role) => {
              const code = line.procedureCode;
              if (code === undefined) return undefined;
              const current = editions.at(line.serviceDate);
              return current?.index.inColumn(code, role === 'first' ? 1 : 2) ? line.serviceDate : undefined;
            },
          },
        },
      },
    ];
  },
  recognise(names) {
    for (const name of names) {
      // ccipra-v322r0-f1.txt: practitioner table, version 32.2; version 32 is 2026, .0 to .3 its quarters.
      const m = /cci([a-z]{2,4})[-_]?v(\d{2})(\d)r\d+/i.exec(name);
      if (!m) continue;
      const [, kind, major, minor] = m;
      const year = 1994 + Number(major);
      const quarter = Number(minor) + 1;
      if (quarter > 4) continue;
      const table = kind!.toLowerCase() === 'pra' ? 'practitioner' : kind!.toLowerCase().startsWith('op') || kind!.toLowerCase().startsWith('h') ? 'hospital' : kind!.toLowerCase();
      return { edition: `NCCI PTP ${table} v${major}.${minor} (${year} Q${quarter})`, covers: quarterOf(year, quarter * 3) };
    }
    return undefined;
  },
  snapshot: {
    // 2: pair keys by row, not by hash slot. 3: rows by pair, codes as ids, compact dates.
    version: 3,
    write: (index) => index.toSnapshot(),
    read: (parts) => PtpIndex.fromSnapshot(parts),
  },
};
