import type { LineView } from '../../claim/view.js';
import type { FactDefinition } from '../../engine/facts.js';
import { BOOLEAN, STRING, objectOf } from '../../engine/shapes.js';
import { BytePool, CODE_KEY_LIMIT, OPEN_END, TextPool, codeKeyAt, codeKeyOf, codeOfKey, dateNumberAt, dateNumberOfIso, isoOfDateNumber } from '../encoding.js';
import { Editions, quarterOf } from '../editions.js';
import { isBlank, scanLines, splitFields, textAt } from '../lines.js';
import { tableSources } from '../sources.js';
import { newSharedArray } from '../shared.js';
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

/** Hash slots for a number of pairs: a power of two, at least twice as many. */
function slotsFor(pairs: number): number {
  let slots = 1 << 4;
  while (slots < pairs * 2) slots *= 2;
  return slots;
}

/**
 * Edits held in typed arrays, one entry per row, and an open-addressing hash table from the
 * pair (column 1, column 2) to the pair's first row; rows of the same pair are chained. A
 * claim's lookup is one hash probe plus a walk over that pair's few windows. A slot holds only
 * its pair's first row; the pair key is kept once per row, where a probe compares it, rather
 * than in every slot (twice as many slots as pairs): 24 bytes per row and 4 per slot, 64 MB for
 * the full table, where a key in each slot took 80.
 *
 * Every array is on a SharedArrayBuffer from the start, so that threads share them
 * (SharedTables) without a copy. The reader sizes the index for the rows its files can hold
 * (their line count), so that a full table is built in place: arrays grown by doubling left
 * their outgrown copies, about 80 MB for the full table, as garbage that V8 collects late (a
 * SharedArrayBuffer weighs nothing on its young heap) and that the C allocator, once freed,
 * keeps mapped; the load's peak resident memory was twice the index.
 */
export class PtpIndex {
  private effective: Int32Array<ArrayBufferLike>;
  private deletion: Int32Array<ArrayBufferLike>;
  private next: Int32Array<ArrayBufferLike>;
  private indicator: Uint8Array<ArrayBufferLike>;
  private prior: Uint8Array<ArrayBufferLike>;
  private rationaleId: Uint16Array<ArrayBufferLike>;
  /** Each row's pair key (column 1 key * 2^26 + column 2 key): exact in a float64. */
  private pairKey: Float64Array<ArrayBufferLike>;
  private rows = 0;
  /** The first row of the pair in each slot, or EMPTY. */
  private slotHeads: Int32Array<ArrayBufferLike>;
  private pairs = 0;
  readonly rationales: TextPool;

  /** `expectedRows`: room made at once; more rows still fit, by growing the arrays. */
  constructor(rationales: TextPool = new TextPool(), expectedRows = INITIAL_ROWS) {
    this.rationales = rationales;
    const rows = Math.max(1, expectedRows);
    this.effective = newSharedArray(Int32Array, rows);
    this.deletion = newSharedArray(Int32Array, rows);
    this.next = newSharedArray(Int32Array, rows);
    this.indicator = newSharedArray(Uint8Array, rows);
    this.prior = newSharedArray(Uint8Array, rows);
    this.rationaleId = newSharedArray(Uint16Array, rows);
    this.pairKey = newSharedArray(Float64Array, rows);
    this.slotHeads = newSharedArray(Int32Array, slotsFor(rows)).fill(EMPTY);
  }

  get rowCount(): number {
    return this.rows;
  }

  get pairCount(): number {
    return this.pairs;
  }

  private static slotOf(key1: number, key2: number, mask: number): number {
    let h = Math.imul(key1, 0x9e3779b1) ^ key2;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h ^= h >>> 13;
    return h & mask;
  }

  private growRows(): void {
    const size = this.effective.length * 2;
    const grow = <T extends Int32Array<ArrayBufferLike> | Uint8Array<ArrayBufferLike> | Uint16Array<ArrayBufferLike> | Float64Array<ArrayBufferLike>>(
      a: T,
      Type: { new (buffer: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number },
    ): T => {
      const b = newSharedArray(Type, size);
      b.set(a);
      return b;
    };
    this.effective = grow(this.effective, Int32Array);
    this.deletion = grow(this.deletion, Int32Array);
    this.next = grow(this.next, Int32Array);
    this.indicator = grow(this.indicator, Uint8Array);
    this.prior = grow(this.prior, Uint8Array);
    this.rationaleId = grow(this.rationaleId, Uint16Array);
    this.pairKey = grow(this.pairKey, Float64Array);
  }

  private growSlots(): void {
    const oldHeads = this.slotHeads;
    const size = oldHeads.length * 2;
    const mask = size - 1;
    this.slotHeads = newSharedArray(Int32Array, size).fill(EMPTY);
    for (let s = 0; s < oldHeads.length; s++) {
      const head = oldHeads[s]!;
      if (head === EMPTY) continue;
      const key = this.pairKey[head]!;
      let slot = PtpIndex.slotOf(Math.floor(key / CODE_KEY_LIMIT), key % CODE_KEY_LIMIT, mask);
      while (this.slotHeads[slot] !== EMPTY) slot = (slot + 1) & mask;
      this.slotHeads[slot] = head;
    }
  }

  add(key1: number, key2: number, effective: number, deletion: number, modifierIndicator: number, priorTo1996: boolean, rationaleId: number): void {
    if (this.rows === this.effective.length) this.growRows();
    // Keep the hash table at most half full so probes stay short.
    if ((this.pairs + 1) * 2 > this.slotHeads.length) this.growSlots();
    const row = this.rows++;
    this.effective[row] = effective;
    this.deletion[row] = deletion;
    this.indicator[row] = modifierIndicator;
    this.prior[row] = priorTo1996 ? 1 : 0;
    this.rationaleId[row] = rationaleId;
    const key = key1 * CODE_KEY_LIMIT + key2;
    this.pairKey[row] = key;
    const mask = this.slotHeads.length - 1;
    let slot = PtpIndex.slotOf(key1, key2, mask);
    for (;;) {
      const head = this.slotHeads[slot]!;
      if (head === EMPTY) {
        this.slotHeads[slot] = row;
        this.next[row] = EMPTY;
        this.pairs++;
        return;
      }
      if (this.pairKey[head] === key) {
        this.next[row] = head;
        this.slotHeads[slot] = row;
        return;
      }
      slot = (slot + 1) & mask;
    }
  }

  /**
   * Ends the rows at the last one added. The arrays become views of their first rows, not
   * copies: room left unused (a few preamble lines, skipped rows) was never written, so its
   * pages were never made resident, and a copy would briefly hold the rows twice.
   */
  finish(): this {
    const n = this.rows;
    this.effective = this.effective.subarray(0, n);
    this.deletion = this.deletion.subarray(0, n);
    this.next = this.next.subarray(0, n);
    this.indicator = this.indicator.subarray(0, n);
    this.prior = this.prior.subarray(0, n);
    this.rationaleId = this.rationaleId.subarray(0, n);
    this.pairKey = this.pairKey.subarray(0, n);
    this.columns();
    return this;
  }

  /** The codes in column 1 and in column 2 of any row, by code key; made once, when the rows are complete. */
  private columnKeys: readonly [Set<number>, Set<number>] | undefined;

  private columns(): readonly [Set<number>, Set<number>] {
    if (this.columnKeys) return this.columnKeys;
    const one = new Set<number>();
    const two = new Set<number>();
    for (let slot = 0; slot < this.slotHeads.length; slot++) {
      const head = this.slotHeads[slot]!;
      if (head === EMPTY) continue;
      const key = this.pairKey[head]!;
      one.add(Math.floor(key / CODE_KEY_LIMIT));
      two.add(key % CODE_KEY_LIMIT);
    }
    return (this.columnKeys = [one, two]);
  }

  /**
   * Whether some edit of the table has the code in column 1 (or 2): a pair of lines can have
   * an edit only if the first line's code is a column-1 code and the second's a column-2 code,
   * which most pairs of a claim's lines are not.
   */
  inColumn(code: string, column: 1 | 2): boolean {
    const key = codeKeyOf(code);
    return key >= 0 && this.columns()[column - 1]!.has(key);
  }

  private headOf(key1: number, key2: number): number {
    if (key1 < 0 || key2 < 0) return EMPTY;
    const key = key1 * CODE_KEY_LIMIT + key2;
    const mask = this.slotHeads.length - 1;
    let slot = PtpIndex.slotOf(key1, key2, mask);
    for (;;) {
      const head = this.slotHeads[slot]!;
      if (head === EMPTY) return EMPTY;
      if (this.pairKey[head] === key) return head;
      slot = (slot + 1) & mask;
    }
  }

  private windowAt(row: number): PtpWindow {
    return {
      effective: this.effective[row]!,
      deletion: this.deletion[row]!,
      modifierIndicator: this.indicator[row]!,
      priorTo1996: this.prior[row] === 1,
      rationale: this.rationales.texts[this.rationaleId[row]!] ?? '',
    };
  }

  /** Every pair of codes with its windows in file order, in no particular order of pairs (for diffs). */
  *allPairs(): Generator<{ column1: string; column2: string; windows: PtpWindow[] }> {
    for (let slot = 0; slot < this.slotHeads.length; slot++) {
      const head = this.slotHeads[slot]!;
      if (head === EMPTY) continue;
      const key = this.pairKey[head]!;
      const windows: PtpWindow[] = [];
      for (let row = head; row !== EMPTY; row = this.next[row]!) windows.unshift(this.windowAt(row));
      yield { column1: codeOfKey(Math.floor(key / CODE_KEY_LIMIT)), column2: codeOfKey(key % CODE_KEY_LIMIT), windows };
    }
  }

  /** Every window of a pair, in file order. */
  windows(column1: string, column2: string): PtpWindow[] {
    const out: PtpWindow[] = [];
    for (let row = this.headOf(codeKeyOf(column1), codeKeyOf(column2)); row !== EMPTY; row = this.next[row]!) out.unshift(this.windowAt(row));
    return out;
  }

  /**
   * The edit in force for (column 1, column 2) on a date of service (yyyymmdd): a window with
   * effective <= date <= deletion. Should windows overlap, the one that took effect last wins,
   * and between equals the row later in the file (a later row is CMS's later word).
   */
  find(column1: string, column2: string, serviceDate: number): PtpWindow | undefined {
    let best = EMPTY;
    for (let row = this.headOf(codeKeyOf(column1), codeKeyOf(column2)); row !== EMPTY; row = this.next[row]!) {
      if (this.effective[row]! <= serviceDate && serviceDate <= this.deletion[row]!) {
        // Rows are chained newest first, so ">" keeps the later row among equal dates.
        if (best === EMPTY || this.effective[row]! > this.effective[best]!) best = row;
      }
    }
    return best === EMPTY ? undefined : this.windowAt(best);
  }

  toSnapshot(): SnapshotParts {
    return {
      json: { rows: this.rows, pairs: this.pairs, rationales: this.rationales.texts },
      arrays: [this.effective, this.deletion, this.next, this.indicator, this.prior, this.rationaleId, this.pairKey, this.slotHeads],
    };
  }

  static fromSnapshot(parts: SnapshotParts): PtpIndex {
    const json = parts.json as { rows: number; pairs: number; rationales: string[] };
    const index = new PtpIndex(new TextPool(json.rationales), 0);
    const [effective, deletion, next, indicator, prior, rationaleId, pairKey, slotHeads] = parts.arrays;
    index.effective = effective as Int32Array;
    index.deletion = deletion as Int32Array;
    index.next = next as Int32Array;
    index.indicator = indicator as Uint8Array;
    index.prior = prior as Uint8Array;
    index.rationaleId = rationaleId as Uint16Array;
    index.pairKey = pairKey as Float64Array;
    index.slotHeads = slotHeads as Int32Array;
    index.rows = json.rows;
    index.pairs = json.pairs;
    index.columns();
    return index;
  }
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
    // 2: pair keys by row, not by hash slot.
    version: 2,
    write: (index) => index.toSnapshot(),
    read: (parts) => PtpIndex.fromSnapshot(parts),
  },
};
