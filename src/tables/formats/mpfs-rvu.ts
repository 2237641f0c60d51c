import { daysBetween } from '../../claim/dates.js';
import type { ClaimView, LineView } from '../../claim/view.js';
import type { FactDefinition } from '../../engine/facts.js';
import type { GlobalDaysLookup } from '../../engine/history-facts.js';
import { BOOLEAN, NUMBER, STRING, objectOf } from '../../engine/shapes.js';
import { headerKey } from '../code-set.js';
import { readCsvFile } from '../csv.js';
import { isBlank, scanLines, textAt } from '../lines.js';
import type { Editions } from '../editions.js';
import { TableFileError, type RowCounter, type SnapshotParts, type TableFormatDefinition } from '../model.js';
import { CodeRows } from '../packed.js';
import { memberBaseName, tableSources, type TableSource } from '../sources.js';
import type { ZipMember } from '../zip.js';
import { RecentAnswers } from '../../util/cached.js';

/**
 * The Medicare Physician Fee Schedule relative value file (PPRRVU), as CMS ships it in each
 * RVUyyA/B/C/D zip, in either of its two forms. The CSV: a header block (title, AMA and ADA
 * notices, release date, then column names wrapped over several rows and closed by the row
 * that starts with HCPCS) followed by one row per code and modifier; columns are found by
 * their names in that block, never by position (the 2026 file adds PRIC IND after TEAM SURG).
 * The fixed-width txt: a header record and data records at the positions of the release's
 * record layout (FIXED_WIDTH_LAYOUTS, chosen by the file's year and checked against its rows).
 *
 * The DESCRIPTION column holds CPT short descriptors (AMA copyright) and CDT descriptors (ADA
 * copyright). It is never read into the index: its cells (or positions) are passed over on read and are not
 * kept, cached, logged or shown.
 */

/** The payment policy indicators of one code (the row without a modifier). */
export interface FeeScheduleEntry {
  status: string;
  pcTc: string;
  globalDays: string;
  multipleProcedure: string;
  bilateral: string;
  assistant: string;
  coSurgeon: string;
  team: string;
  /** Modifiers with a row of their own for the code (26, TC, 53). */
  modifierRows: string[];
}

const GLOBAL_DAYS = ['000', '010', '090', 'MMM', 'XXX', 'YYY', 'ZZZ'] as const;
const MODIFIER_ROWS = ['26', 'TC', '53'] as const;
const INDICATOR_FIELDS = ['pcTc', 'multipleProcedure', 'bilateral', 'assistant', 'coSurgeon', 'team'] as const;

/** The columns the rules need, by their names in the header block (letters and digits only). */
const COLUMNS = {
  code: ['HCPCS'],
  modifier: ['MOD'],
  status: ['STATUSCODE'],
  pcTc: ['PCTCIND'],
  globalDays: ['GLOBDAYS'],
  multipleProcedure: ['MULTPROC'],
  bilateral: ['BILATSURG'],
  assistant: ['ASSTSURG'],
  coSurgeon: ['COSURG'],
  team: ['TEAMSURG'],
} as const;
type Column = keyof typeof COLUMNS;

/** Codes and indicators in typed arrays: one byte per indicator, as a snapshot stores them. */
export class FeeScheduleIndex {
  constructor(
    private readonly rows: CodeRows,
    /** Per row: status letter, PC/TC, global days (index in GLOBAL_DAYS), mult, bilat, asst, co, team, modifier-row bits. */
    private readonly cells: Uint8Array<ArrayBufferLike>,
  ) {}

  static readonly WIDTH = 9;

  get size(): number {
    return this.rows.size;
  }

  get(code: string): FeeScheduleEntry | undefined {
    const row = this.rows.rowOf(code);
    return row < 0 ? undefined : this.entryAt(row);
  }

  /** Codes' indicators in words (null: not in the table), for the codes claims keep billing. */
  private readonly described = new RecentAnswers<string, DescribedEntry | null>(DESCRIBED_CODES);

  /** A code's indicators and their meanings, made once per code (while it is among the last few thousand asked for). */
  describe(code: string): DescribedEntry | undefined {
    let described = this.described.get(code);
    if (described === undefined) {
      const entry = this.get(code);
      described = this.described.keep(code, entry ? describeEntry(entry) : null);
    }
    return described ?? undefined;
  }

  private entryAt(row: number): FeeScheduleEntry {
    const c = this.cells;
    const at = row * FeeScheduleIndex.WIDTH;
    const digit = (i: number) => String.fromCharCode(c[at + i]!);
    const bits = c[at + 8]!;
    return {
      status: digit(0),
      pcTc: digit(1),
      globalDays: GLOBAL_DAYS[c[at + 2]!] ?? '',
      multipleProcedure: digit(3),
      bilateral: digit(4),
      assistant: digit(5),
      coSurgeon: digit(6),
      team: digit(7),
      modifierRows: MODIFIER_ROWS.filter((_, i) => bits & (1 << i)),
    };
  }

  /** Only the global days, for the claim-wide checks that look at every line. */
  globalDaysOf(code: string): string | undefined {
    const row = this.rows.rowOf(code);
    return row < 0 ? undefined : GLOBAL_DAYS[this.cells[row * FeeScheduleIndex.WIDTH + 2]!];
  }

  *entries(): Generator<[string, FeeScheduleEntry]> {
    for (const [code, row] of this.rows.entries()) yield [code, this.entryAt(row)];
  }

  toSnapshot(): SnapshotParts {
    return { json: { size: this.rows.size }, arrays: [...this.rows.toArrays(), this.cells] };
  }

  static fromSnapshot(parts: SnapshotParts): FeeScheduleIndex {
    const [keys, rows, cells] = parts.arrays;
    return new FeeScheduleIndex(CodeRows.fromArrays(keys as Float64Array, rows as Int32Array, (parts.json as { size: number }).size), cells as Uint8Array);
  }
}

/** The column positions, from the header block: each column's name is its cells above and on the HCPCS row, joined. */
function columnsOf(block: string[][], file: string): Record<Column, number> {
  const width = Math.max(...block.map((r) => r.length));
  const headerRow = block[block.length - 1]!;
  const names: string[] = [];
  for (let i = 0; i < width; i++) {
    // The DESCRIPTION column's cells above the header hold the file's title and notices: name it by its own cell only.
    if (headerKey(headerRow[i] ?? '') === 'DESCRIPTION') names.push('DESCRIPTION');
    else names.push(headerKey(block.map((r) => r[i] ?? '').join('')));
  }
  const found = {} as Record<Column, number>;
  const missing: string[] = [];
  for (const [column, keys] of Object.entries(COLUMNS) as [Column, readonly string[]][]) {
    const i = names.findIndex((n) => keys.includes(n));
    if (i < 0) missing.push(keys[0]!);
    else found[column] = i;
  }
  if (missing.length > 0) {
    throw new TableFileError(file, `the header block has no column named ${missing.join(', ')} (the PPRRVU layout names HCPCS, MOD, STATUS CODE, PCTC IND, GLOB DAYS, MULT PROC, BILAT SURG, ASST SURG, CO-SURG and TEAM SURG). Is this the right file?`);
  }
  return found;
}

const CODE = /^[A-Z0-9]{5}$/;
const DIGIT = /^[0-9]$/;

/** One row's cells the index keeps, as the file writes them (trimmed, upper case). */
type RowCells = Record<Column, string>;

/** Builds the index from rows of either form (CSV or fixed width), with one set of checks. */
class FeeScheduleBuilder {
  private readonly rowOf = new Map<string, number>();
  private readonly cells: number[] = [];
  /** Codes whose indicators came from a modifier row because no plain row was seen (yet). */
  private readonly fromModifierRow = new Set<string>();

  constructor(private readonly rows: RowCounter) {}

  /** Takes a row, or skips it with the reason; true when taken. */
  add(file: string, line: number, at: RowCells): boolean {
    const { code, modifier, status } = at;
    if (!CODE.test(code)) {
      this.rows.skip(file, line, `the HCPCS cell is not a 5-character code (${code.length} characters)`);
      return false;
    }
    const glob = GLOBAL_DAYS.indexOf(at.globalDays as (typeof GLOBAL_DAYS)[number]);
    const indicators = INDICATOR_FIELDS.map((f) => at[f]);
    if (!/^[A-Z]$/.test(status) || glob < 0 || !indicators.every((v) => DIGIT.test(v))) {
      this.rows.skip(file, line, `${code}${modifier ? `-${modifier}` : ''}: the status code, global days or an indicator is not in the layout's form (a letter; 000, 010, 090, MMM, XXX, YYY or ZZZ; one digit each)`);
      return false;
    }
    const cells = this.cells;
    let row = this.rowOf.get(code);
    if (row === undefined) {
      row = this.rowOf.size;
      this.rowOf.set(code, row);
      cells.length = (row + 1) * FeeScheduleIndex.WIDTH;
      cells.fill(0, row * FeeScheduleIndex.WIDTH);
      if (modifier !== '') this.fromModifierRow.add(code);
    }
    const base = row * FeeScheduleIndex.WIDTH;
    const bit = MODIFIER_ROWS.indexOf(modifier as (typeof MODIFIER_ROWS)[number]);
    if (bit >= 0) cells[base + 8] = cells[base + 8]! | (1 << bit);
    // The plain row (no modifier) states the code's policy; a modifier row stands in only until it is seen.
    if (modifier === '' || this.fromModifierRow.has(code)) {
      if (modifier === '') this.fromModifierRow.delete(code);
      cells[base] = status.charCodeAt(0);
      cells[base + 2] = glob;
      const [pcTc, mult, bilat, asst, co, team] = indicators;
      cells[base + 1] = pcTc!.charCodeAt(0);
      cells[base + 3] = mult!.charCodeAt(0);
      cells[base + 4] = bilat!.charCodeAt(0);
      cells[base + 5] = asst!.charCodeAt(0);
      cells[base + 6] = co!.charCodeAt(0);
      cells[base + 7] = team!.charCodeAt(0);
    }
    this.rows.take();
    return true;
  }

  build(): FeeScheduleIndex {
    return new FeeScheduleIndex(CodeRows.of(this.rowOf), Uint8Array.from(this.cells));
  }
}

/** The CSV form: columns named in the header block. */
async function readCsvForm(source: TableSource, builder: FeeScheduleBuilder, rows: RowCounter): Promise<void> {
  const file = source.name;
  const block: string[][] = [];
  let columns: Record<Column, number> | undefined;
  let takenHere = 0;
  const problems = await readCsvFile(source, ({ fields, line }) => {
    if (!columns) {
      // Only the header block's cells are kept, to name the columns; a data row's description never is.
      if (block.length >= 40) throw new TableFileError(file, 'no PPRRVU header row (a row starting with HCPCS) in the first 40 rows. Is this the right file?', line);
      block.push(fields.map((f) => f.trim()));
      if (headerKey(fields[0] ?? '') === 'HCPCS') columns = columnsOf(block, file);
      return;
    }
    if (fields.every((f) => f.trim() === '')) return;
    const cells = {} as RowCells;
    for (const c of Object.keys(COLUMNS) as Column[]) cells[c] = (fields[columns[c]] ?? '').trim().toUpperCase();
    if (builder.add(file, line, cells)) takenHere++;
  });
  for (const p of problems) rows.skip(file, p.line, p.message);
  if (!columns) throw new TableFileError(file, 'no PPRRVU header row (a row starting with HCPCS) found. Is this the right file?');
  if (takenHere === 0) throw new TableFileError(file, 'no PPRRVU rows found after the header block');
}

/**
 * The fixed-width form (PPRRVUyy_MON.txt): a header record ("HDR" and the copyright statement)
 * and data records with no column names, so the positions come from the record layout CMS
 * publishes with each release (RVUyyA-D documentation), by the columns' names there. A layout
 * holds from its calendar year until a later one replaces it; the reader takes the layout of
 * the file's year (from its name, PPRRVU25_OCT.txt or inside RVU25D.zip) and checks the rows
 * against it: a file whose rows do not fit is refused rather than read off by some columns.
 * The DESCRIPTION positions (8-57) are never read.
 */
interface FixedWidthLayout {
  /** The first calendar year the layout describes. */
  fromYear: number;
  /** Where it is written down. */
  source: string;
  /** Each column by its layout name: 1-based first and last position, as the layout prints them. */
  columns: Record<Column, readonly [number, number]>;
}

export const FIXED_WIDTH_LAYOUTS: readonly FixedWidthLayout[] = [
  {
    fromYear: 2025,
    source: 'RVU25D record layout (CY2025): HCPCS 1-5, MOD 6-7, DESCRIPTION 8-57, STATUS CODE 58, PCTC IND 103, GLOB DAYS 104-106, MULT PROC 116, BILAT SURG 117, ASST SURG 118, CO-SURG 119, TEAM SURG 120, filler 121-127',
    columns: {
      code: [1, 5],
      modifier: [6, 7],
      status: [58, 58],
      pcTc: [103, 103],
      globalDays: [104, 106],
      multipleProcedure: [116, 116],
      bilateral: [117, 117],
      assistant: [118, 118],
      coSurgeon: [119, 119],
      team: [120, 120],
    },
  },
];

/** The layout for a file: that of its year (the newest layout not after it), or the newest when the name does not say. */
export function fixedWidthLayoutFor(name: string): FixedWidthLayout {
  const year = recogniseRelease([memberBaseName(name)])?.year;
  const fitting = FIXED_WIDTH_LAYOUTS.filter((l) => year === undefined || l.fromYear <= year);
  return (fitting.length > 0 ? fitting : FIXED_WIDTH_LAYOUTS).reduce((a, b) => (b.fromYear > a.fromYear ? b : a));
}

/** Records checked before the rest is read, and the share of them that may fail to fit: a wrong layout fits almost none. */
const LAYOUT_CHECK_ROWS = 200;
const LAYOUT_CHECK_MISFITS = 0.5;

async function readFixedWidthForm(source: TableSource, builder: FeeScheduleBuilder, rows: RowCounter): Promise<void> {
  const file = source.name;
  const layout = fixedWidthLayoutFor(source.member ?? source.file);
  const columns = Object.entries(layout.columns) as Array<[Column, readonly [number, number]]>;
  const width = Math.max(...columns.map(([, [, last]]) => last));
  let header = false;
  let seen = 0;
  let misfits = 0;
  await scanLines(source, (buffer, start, end, line) => {
    if (isBlank(buffer, start, end)) return;
    if (!header) {
      // The header record: "HDR", a filler, the copyright statement. Nothing of it is kept.
      if (textAt(buffer, start, Math.min(end, start + 3)) !== 'HDR') throw new TableFileError(file, 'the first record is not the PPRRVU header record (HDR). Is this the fixed-width relative value file?', line);
      header = true;
      return;
    }
    seen++;
    const cells = {} as RowCells;
    for (const [column, [first, last]] of columns) cells[column] = end - start >= last ? textAt(buffer, start + first - 1, start + last).trim().toUpperCase() : '';
    const fits = end - start >= width && builder.add(file, line, cells);
    if (!fits && end - start < width) rows.skip(file, line, `the record is ${end - start} characters long; the ${layout.fromYear} layout needs at least ${width}`);
    if (!fits) misfits++;
    if (seen === LAYOUT_CHECK_ROWS && misfits > LAYOUT_CHECK_ROWS * LAYOUT_CHECK_MISFITS) {
      throw new TableFileError(file, `${misfits} of the first ${seen} records do not fit the fixed-width layout (${layout.source}). Is the file of a release whose layout this reader does not know? The CSV of the same release is read by its column names.`, line);
    }
  });
  if (!header) throw new TableFileError(file, 'no PPRRVU header record (HDR) found. Is this the fixed-width relative value file?');
  if (seen === 0) throw new TableFileError(file, 'no PPRRVU records found after the header record');
  if (misfits > seen * LAYOUT_CHECK_MISFITS) {
    throw new TableFileError(file, `${misfits} of the ${seen} records do not fit the fixed-width layout (${layout.source}). Is the file of a release whose layout this reader does not know? The CSV of the same release is read by its column names.`);
  }
}

const PPRRVU_MEMBER = /pprrvu[^/]*\.(csv|txt)$/i;

/** From a release zip, the PPRRVU CSV, or its fixed-width txt when the zip has no CSV (both hold the same rows). */
function pprrvuMembers(members: readonly ZipMember[]): ZipMember[] {
  const files = members.filter((m) => PPRRVU_MEMBER.test(m.name));
  const csv = files.filter((m) => /\.csv$/i.test(m.name));
  return csv.length > 0 ? csv : files;
}

/** Whether a source is the fixed-width form: a .txt name, or (for a name that says neither) a first record starting with HDR. */
async function isFixedWidth(source: TableSource): Promise<boolean> {
  const name = source.member ?? source.file;
  if (/\.txt$/i.test(name)) return true;
  if (/\.csv$/i.test(name)) return false;
  const reader = await source.open();
  try {
    const start = Buffer.alloc(6);
    const n = await reader.read(start, 0, start.length);
    const text = start.toString('latin1', 0, n).replace(/^\uFEFF|^\u00EF\u00BB\u00BF/, '');
    return text.startsWith('HDR');
  } finally {
    await reader.close();
  }
}

async function readFeeSchedule(files: readonly string[], rows: RowCounter): Promise<FeeScheduleIndex> {
  const builder = new FeeScheduleBuilder(rows);
  for (const source of await tableSources(files, pprrvuMembers, 'PPRRVU relative value file (.csv or fixed-width .txt)')) {
    if (await isFixedWidth(source)) await readFixedWidthForm(source, builder, rows);
    else await readCsvForm(source, builder, rows);
  }
  return builder.build();
}

const MONTHS: Record<string, string> = { JAN: '01', APR: '04', JUL: '07', OCT: '10' };
const RELEASES: Record<string, string> = { A: 'JAN', B: 'APR', C: 'JUL', D: 'OCT' };
const MONTH_NAMES: Record<string, string> = { JAN: 'January', APR: 'April', JUL: 'July', OCT: 'October' };

/** A release from its file names: PPRRVU2025_Oct.csv, PPRRVU25_OCT.csv, or the zip RVU25D.zip. */
export function recogniseRelease(names: readonly string[]): { year: number; month: string } | undefined {
  for (const name of names) {
    const file = /pprrvu(\d{2}|\d{4})[-_ ]?(jan|apr|jul|oct)/i.exec(name);
    if (file) return { year: Number(file[1]!.length === 2 ? `20${file[1]}` : file[1]), month: file[2]!.toUpperCase() };
    const zip = /^rvu(\d{2})([abcd])(?:r\d*)?\.zip$/i.exec(name);
    if (zip) return { year: 2000 + Number(zip[1]), month: RELEASES[zip[2]!.toUpperCase()]! };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The facts: a line's indicators, and what the claim's other lines are to it.

/** Whose service a line is: its own rendering provider, else the claim's, else the billing provider. */
export function providerOf(line: LineView, claim: ClaimView): string {
  return line.renderingProvider?.npi ?? claim.renderingProvider?.npi ?? claim.billingProvider.npi;
}

function addDays(iso: string, days: number): string {
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

const SIDES: Record<string, string> = { RT: 'LT', LT: 'RT' };

interface LineRef {
  line: number;
  code: string;
  serviceDate: string;
  globalDays: string;
  /** The edition the global days came from: the one covering that line's date. */
  edition: string;
}

function globalDaysAt(editions: Editions<FeeScheduleIndex>, line: LineView): { days: string; edition: string } | undefined {
  if (line.procedureCode === undefined) return undefined;
  const edition = editions.at(line.serviceDate);
  const days = edition?.index.globalDaysOf(line.procedureCode);
  return days === undefined ? undefined : { days, edition: edition!.context.edition };
}

/** What relations reads of each line of a claim, worked out once per claim (not once per pair of lines). */
interface LineGlobal {
  provider: string;
  /** The line's global days and the edition they came from, as a LineRef; undefined when the fee schedule has none. */
  ref: LineRef | undefined;
}

const lineGlobals = new WeakMap<Editions<FeeScheduleIndex>, WeakMap<ClaimView, LineGlobal[]>>();

function globalsOf(editions: Editions<FeeScheduleIndex>, claim: ClaimView): LineGlobal[] {
  let byClaim = lineGlobals.get(editions);
  if (!byClaim) lineGlobals.set(editions, (byClaim = new WeakMap()));
  let globals = byClaim.get(claim);
  if (!globals) {
    globals = claim.lines.map((other) => {
      const global = globalDaysAt(editions, other);
      return {
        provider: providerOf(other, claim),
        ref: global && { line: other.number, code: other.procedureCode!, serviceDate: other.serviceDate, globalDays: global.days, edition: global.edition },
      };
    });
    byClaim.set(claim, globals);
  }
  return globals;
}

/** What the claim's other lines of the same provider are to this one, in global-surgery terms. */
function relations(editions: Editions<FeeScheduleIndex>, line: LineView, claim: ClaimView) {
  const globals = globalsOf(editions, claim);
  const provider = globals[line.index]!.provider;
  let nextDay: string | undefined;
  let sameDayMinorProcedure: LineRef | undefined;
  let majorProcedure: LineRef | undefined;
  let postOperativeOf: (LineRef & { endsOn: string; day: number }) | undefined;
  let sameDayNonAddOn = false;
  let otherSideLine: number | undefined;
  for (const other of claim.lines) {
    if (other === line) continue;
    const { provider: otherProvider, ref } = globals[other.index]!;
    const sameProvider = otherProvider === provider;
    if (
      otherSideLine === undefined &&
      other.number < line.number &&
      other.procedureCode === line.procedureCode &&
      other.serviceDate === line.serviceDate &&
      line.modifiers.some((m) => SIDES[m] !== undefined && other.modifiers.includes(SIDES[m]!) && !other.modifiers.includes(m))
    ) {
      otherSideLine = other.number;
    }
    if (!sameProvider || ref === undefined) continue;
    const days = ref.globalDays;
    if (other.serviceDate === line.serviceDate) {
      if (days !== 'ZZZ') sameDayNonAddOn = true;
      if ((days === '000' || days === '010') && !sameDayMinorProcedure) sameDayMinorProcedure = ref;
    }
    if (days === '090' && !majorProcedure && (other.serviceDate === line.serviceDate || other.serviceDate === (nextDay ??= addDays(line.serviceDate, 1)))) majorProcedure = ref;
    if ((days === '010' || days === '090') && !postOperativeOf && other.serviceDate < line.serviceDate) {
      const day = daysBetween(other.serviceDate, line.serviceDate);
      // Post-operative days 1 to 10 (or 90) after the procedure's date of service, both ends counted.
      if (day <= Number(days)) postOperativeOf = { ...ref, endsOn: addDays(other.serviceDate, Number(days)), day };
    }
  }
  return { sameDayMinorProcedure, majorProcedure, postOperativeOf, sameDayNonAddOn, otherSideLine };
}

/**
 * The indicators in plain words, after the CMS definitions in the PPRRVU record layout
 * (RVUyyD documentation) and the Medicare Claims Processing Manual, chapter 12; quoted in messages.
 */
export const MEANINGS = {
  status: {
    A: 'active code, paid under the fee schedule',
    B: 'bundled code: payment is always included in other services, never paid separately',
    C: 'carrier priced',
    E: 'excluded from the fee schedule by regulation',
    I: 'not valid for Medicare purposes: Medicare uses another code for the service',
    J: 'anesthesia service',
    M: 'measurement code, reported for quality programs only',
    N: 'not covered by Medicare',
    P: 'bundled or excluded: no separate payment under the fee schedule',
    R: 'restricted coverage',
    T: 'paid only when no other fee schedule service is billed that day',
    X: 'statutory exclusion: not in the law\'s definition of a physician service, never paid under the fee schedule',
  },
  pcTc: {
    '0': 'a physician service: the professional/technical split does not apply, so modifiers 26 and TC cannot be used',
    '1': 'a diagnostic test with a professional and a technical component: 26 and TC may be used',
    '2': 'professional component only: the code is already the professional part, so 26 and TC cannot be used',
    '3': 'technical component only: the code is already the technical part, so 26 and TC cannot be used',
    '4': 'a global test only code: other codes describe its professional and technical parts, so 26 and TC cannot be used',
    '5': 'an incident-to service: 26 and TC cannot be used',
    '6': 'a laboratory physician interpretation code: TC cannot be used',
    '7': 'a physical therapy service: 26 and TC cannot be used',
    '8': 'a physician interpretation code: the code is the professional part, and TC cannot be used',
    '9': 'the professional/technical concept does not apply',
  },
  multipleProcedure: {
    '0': 'no multiple procedure reduction applies, so modifier 51 does not apply',
    '1': 'standard multiple procedure payment rules',
    '2': 'standard multiple procedure payment rules',
    '3': 'special rules for multiple endoscopic procedures',
    '4': 'multiple diagnostic imaging reduction',
    '5': 'multiple therapy reduction',
    '6': 'multiple cardiovascular diagnostic reduction',
    '7': 'multiple ophthalmology diagnostic reduction',
    '9': 'the multiple procedure concept does not apply, so modifier 51 does not apply',
  },
  bilateral: {
    '0': 'the bilateral adjustment does not apply: the procedure cannot be performed on both sides as one bilateral service',
    '1': 'the bilateral adjustment applies: a bilateral procedure is paid at 150 percent',
    '2': 'the code already describes a bilateral procedure (or is priced as one)',
    '3': 'each side is paid at 100 percent: no bilateral adjustment',
    '9': 'the bilateral concept does not apply',
  },
  assistant: {
    '0': 'an assistant at surgery is paid only with documentation of medical necessity',
    '1': 'an assistant at surgery is never paid (statutory restriction)',
    '2': 'an assistant at surgery may be paid',
    '9': 'the assistant at surgery concept does not apply',
  },
  coSurgeon: {
    '0': 'co-surgeons are not permitted',
    '1': 'co-surgeons may be paid with documentation of medical necessity',
    '2': 'co-surgeons are permitted',
    '9': 'the co-surgeon concept does not apply',
  },
  team: {
    '0': 'team surgeons are not permitted',
    '1': 'team surgeons may be paid with documentation of medical necessity',
    '2': 'team surgeons are permitted',
    '9': 'the team surgery concept does not apply',
  },
} as const;

const meaning = (table: Readonly<Record<string, string>>, value: string) => table[value] ?? `indicator ${value} (not in the layout this scrubber knows)`;

const LINE_REF = objectOf({ line: NUMBER, code: STRING, serviceDate: STRING, globalDays: STRING, edition: STRING });

/** A code's indicators (a FeeScheduleEntry without its modifier rows) and their meanings, as the `mpfs` fact reports them. */
export interface DescribedEntry {
  readonly status: string;
  readonly pcTc: string;
  readonly globalDays: string;
  readonly multipleProcedure: string;
  readonly bilateral: string;
  readonly assistant: string;
  readonly coSurgeon: string;
  readonly team: string;
  readonly statusText: string;
  readonly pcTcText: string;
  readonly multipleProcedureText: string;
  readonly bilateralText: string;
  readonly assistantText: string;
  readonly coSurgeonText: string;
  readonly teamText: string;
}

const DESCRIBED_CODES = 4_096;

function describeEntry(entry: FeeScheduleEntry): DescribedEntry {
  return Object.freeze({
    status: entry.status,
    pcTc: entry.pcTc,
    globalDays: entry.globalDays,
    multipleProcedure: entry.multipleProcedure,
    bilateral: entry.bilateral,
    assistant: entry.assistant,
    coSurgeon: entry.coSurgeon,
    team: entry.team,
    statusText: meaning(MEANINGS.status, entry.status),
    pcTcText: meaning(MEANINGS.pcTc, entry.pcTc),
    multipleProcedureText: meaning(MEANINGS.multipleProcedure, entry.multipleProcedure),
    bilateralText: meaning(MEANINGS.bilateral, entry.bilateral),
    assistantText: meaning(MEANINGS.assistant, entry.assistant),
    coSurgeonText: meaning(MEANINGS.coSurgeon, entry.coSurgeon),
    teamText: meaning(MEANINGS.team, entry.team),
  });
}

/** The `mpfs` fact of one line: its code's indicators in the edition covering its date, and its relations to the claim's other lines. */
export function feeScheduleValues(editions: Editions<FeeScheduleIndex>, line: LineView, claim: ClaimView): Record<string, unknown> | undefined {
  const code = line.procedureCode;
  if (code === undefined) return undefined;
  // The global periods of the claim's procedures come from the editions of their own
  // dates, so a visit in January is judged against a November surgery's global days.
  const around = relations(editions, line, claim);
  const edition = editions.at(line.serviceDate);
  // Object literals with every key written out, in the order the fact has always had (a template
  // may render the whole object): spreads into a literal take V8's slow path, once per line.
  const entry = edition?.index.describe(code);
  if (!edition || !entry) {
    const value: Record<string, unknown> = {
      found: false,
      code,
      sameDayMinorProcedure: around.sameDayMinorProcedure,
      majorProcedure: around.majorProcedure,
      postOperativeOf: around.postOperativeOf,
      sameDayNonAddOn: around.sameDayNonAddOn,
      otherSideLine: around.otherSideLine,
      covered: edition !== undefined,
    };
    if (edition) value.edition = edition.context.edition;
    return value;
  }
  return {
    found: true,
    code,
    status: entry.status,
    pcTc: entry.pcTc,
    globalDays: entry.globalDays,
    multipleProcedure: entry.multipleProcedure,
    bilateral: entry.bilateral,
    assistant: entry.assistant,
    coSurgeon: entry.coSurgeon,
    team: entry.team,
    statusText: entry.statusText,
    pcTcText: entry.pcTcText,
    multipleProcedureText: entry.multipleProcedureText,
    bilateralText: entry.bilateralText,
    assistantText: entry.assistantText,
    coSurgeonText: entry.coSurgeonText,
    teamText: entry.teamText,
    sameDayMinorProcedure: around.sameDayMinorProcedure,
    majorProcedure: around.majorProcedure,
    postOperativeOf: around.postOperativeOf,
    sameDayNonAddOn: around.sameDayNonAddOn,
    otherSideLine: around.otherSideLine,
    covered: true,
    edition: edition.context.edition,
  };
}

/** Post-operative days of each GLOB DAYS value; YYY (set by the contractor) has none here, so the history pack's parameter answers. */
const POST_OPERATIVE_DAYS: Readonly<Record<string, number>> = { '000': 0, '010': 10, '090': 90, MMM: 0, XXX: 0, ZZZ: 0 };

/**
 * The global days of a recorded procedure in the edition covering its date of service, named by
 * that edition; undefined when no edition covers the date or the edition does not list the code.
 */
export function globalDaysLookup(editions: Editions<FeeScheduleIndex>): GlobalDaysLookup {
  // One answer object per edition and value, made on first use: the history facts ask per recorded line.
  const answers = new Map<string, { days: number; source: string }>();
  return (code, serviceDate) => {
    const edition = editions.at(serviceDate);
    const glob = edition?.index.globalDaysOf(code);
    const days = glob === undefined ? undefined : POST_OPERATIVE_DAYS[glob];
    if (days === undefined) return undefined;
    const source = edition!.context.edition;
    const key = `${glob}|${source}`;
    let answer = answers.get(key);
    if (!answer) answers.set(key, (answer = { days, source }));
    return answer;
  };
}

export const feeScheduleFormat: TableFormatDefinition<FeeScheduleIndex> = {
  format: 'mpfs-rvu',
  title: 'Medicare Physician Fee Schedule relative value file (PPRRVU)',
  read: readFeeSchedule,
  facts(editions: Editions<FeeScheduleIndex>, table: { name: string }): FactDefinition[] {
    return [
      {
        name: table.name,
        scopes: ['line'],
        description:
          `the fee schedule's payment policy indicators (${editions.names}) for the line's procedure code, in the edition that covers ` +
          'its date of service: status, pcTc, globalDays (000, 010, 090, MMM, XXX, YYY, ZZZ), multipleProcedure, bilateral, assistant, ' +
          'coSurgeon, team; and, from the claim\'s other lines of the same rendering provider: sameDayMinorProcedure (a 0- or 10-day ' +
          'global procedure on the same date), majorProcedure (a 90-day global procedure on the same date or the next day), ' +
          'postOperativeOf (a 10- or 90-day global procedure whose post-operative days include the date: line, code, serviceDate, ' +
          'globalDays, endsOn, day), sameDayNonAddOn (another line that day whose global days are not ZZZ), otherSideLine (an earlier ' +
          'line of the same code and date with the opposite RT/LT modifier); covered is false when no loaded edition covers the date',
        shape: objectOf({
          found: BOOLEAN,
          code: STRING,
          status: STRING,
          pcTc: STRING,
          globalDays: STRING,
          multipleProcedure: STRING,
          bilateral: STRING,
          assistant: STRING,
          coSurgeon: STRING,
          team: STRING,
          statusText: STRING,
          pcTcText: STRING,
          multipleProcedureText: STRING,
          bilateralText: STRING,
          assistantText: STRING,
          coSurgeonText: STRING,
          teamText: STRING,
          sameDayMinorProcedure: LINE_REF,
          majorProcedure: LINE_REF,
          postOperativeOf: objectOf({ line: NUMBER, code: STRING, serviceDate: STRING, globalDays: STRING, edition: STRING, endsOn: STRING, day: NUMBER }),
          sameDayNonAddOn: BOOLEAN,
          otherSideLine: NUMBER,
          covered: BOOLEAN,
          edition: STRING,
        }),
        value: (item, run) => feeScheduleValues(editions, item.values.line as LineView, run.claim),
        reads: () => [
          ['lines', '*', 'procedureCode'],
          ['lines', '*', 'serviceDate'],
          ['lines', '*', 'modifiers'],
          ['lines', '*', 'renderingProvider'],
          ['renderingProvider'],
          ['billingProvider', 'npi'],
        ],
      },
    ];
  },
  recognise(names) {
    const release = recogniseRelease(names);
    if (!release) return undefined;
    const { year, month } = release;
    const from = `${year}-${MONTHS[month]}-01`;
    const letter = Object.entries(RELEASES).find(([, m]) => m === month)![0];
    // A release stands for the rest of its calendar year; a later release of the year wins from its own date.
    return { edition: `MPFS RVU${String(year).slice(2)}${letter} (${MONTH_NAMES[month]} ${year} release, effective ${from})`, covers: { from, to: `${year}-12-31` } };
  },
  snapshot: {
    version: 1,
    write: (index) => index.toSnapshot(),
    read: (parts) => FeeScheduleIndex.fromSnapshot(parts),
  },
  globalDays: globalDaysLookup,
};

