import readXlsxFile from 'read-excel-file/node';
import type { ClaimView, LineView } from '../../claim/view.js';
import type { FactDefinition } from '../../engine/facts.js';
import { BOOLEAN, NUMBER, STRING, arrayOf, objectOf } from '../../engine/shapes.js';
import { headerKey } from '../code-set.js';
import { readCsvFile } from '../csv.js';
import { quarterOf, type Editions } from '../editions.js';
import { TableFileError, type RowCounter, type SnapshotParts, type TableFormatDefinition } from '../model.js';
import { fileSource, readSourceBytes, tableSources, type TableSource } from '../sources.js';
import { providerOf } from './mpfs-rvu.js';

/**
 * NCCI add-on code (AOC) edits, as CMS ships them each quarter: the workbook
 * (AOC_V2026Q2-MCR.xlsx: an AMA notice row, then the header row) or the same columns as CSV or
 * tab-separated text. Columns by their header names: AOC_Edit_Type, Add-On_Code, AOC_DelDT,
 * Primary_Code, Primary_Code_DelDT, AOC_Edit_EffDT, AOC_Edit_DelDT, Special_Instruction_Notes.
 * Dates are Julian YYYYDDD (2026091 is 2026-04-01), empty for none. A type 2 edit (the
 * contractor defines the primaries) writes its primary as CCCCC.
 */

export interface AddOnEdit {
  /** 1: only the listed primaries; 2: the contractor defines the primaries; 3: listed primaries and others the contractor accepts. */
  type: number;
  /** A primary code, or CCCCC for a type 2 edit. */
  primary: string;
  effective: string;
  /** The edit's last day, or '' while in force. */
  deletion: string;
  /** The add-on code's own deletion date, or ''. */
  addOnDeletion: string;
  /** The primary code's deletion date, or ''. */
  primaryDeletion: string;
  notes: string;
}

const inForce = (e: AddOnEdit, date: string) =>
  e.effective <= date && (e.deletion === '' || date <= e.deletion) && (e.addOnDeletion === '' || date <= e.addOnDeletion);

export class AddOnIndex {
  constructor(private readonly edits: ReadonlyMap<string, readonly AddOnEdit[]>) {}

  get size(): number {
    return this.edits.size;
  }

  /** The edits of an add-on code in force on a date. */
  editsOn(code: string, date: string): AddOnEdit[] | undefined {
    const all = this.edits.get(code);
    if (!all) return undefined;
    const current = all.filter((e) => inForce(e, date));
    return current.length > 0 ? current : undefined;
  }

  isAddOn(code: string, date: string): boolean {
    return this.editsOn(code, date) !== undefined;
  }

  entries(): IterableIterator<[string, readonly AddOnEdit[]]> {
    return this.edits.entries();
  }

  toSnapshot(): SnapshotParts {
    return { json: [...this.edits.entries()], arrays: [] };
  }

  static fromSnapshot(parts: SnapshotParts): AddOnIndex {
    return new AddOnIndex(new Map(parts.json as [string, AddOnEdit[]][]));
  }
}

const COLUMNS = {
  type: 'AOCEDITTYPE',
  code: 'ADDONCODE',
  addOnDeletion: 'AOCDELDT',
  primary: 'PRIMARYCODE',
  primaryDeletion: 'PRIMARYCODEDELDT',
  effective: 'AOCEDITEFFDT',
  deletion: 'AOCEDITDELDT',
  notes: 'SPECIALINSTRUCTIONNOTES',
} as const;
type Column = keyof typeof COLUMNS;
const REQUIRED: Column[] = ['type', 'code', 'primary', 'effective'];

/** Julian YYYYDDD to YYYY-MM-DD; '' for an empty cell; undefined when it is not a date. */
export function julianDate(text: string): string | undefined {
  if (text === '') return '';
  const m = /^(\d{4})(\d{3})$/.exec(text);
  if (!m) return undefined;
  const year = Number(m[1]);
  const day = Number(m[2]);
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  if (day < 1 || day > (leap ? 366 : 365)) return undefined;
  return new Date(Date.UTC(year, 0, day)).toISOString().slice(0, 10);
}

const CODE = /^[A-Z0-9]{5}$/;

/** Takes rows of cells (from the workbook or the text file) into the edits map. */
class AddOnReader {
  readonly edits = new Map<string, AddOnEdit[]>();
  private columns: Record<Column, number> | undefined;
  takenHere = 0;

  constructor(private readonly rows: RowCounter) {}

  start(): void {
    this.columns = undefined;
    this.takenHere = 0;
  }

  get sawHeader(): boolean {
    return this.columns !== undefined;
  }

  row(cells: readonly string[], file: string, line: number): void {
    if (!this.columns) {
      // The AMA notice row comes first; the header row is the one naming AOC_Edit_Type.
      const keys = cells.map(headerKey);
      if (!keys.includes(COLUMNS.type)) return;
      const found = Object.fromEntries((Object.keys(COLUMNS) as Column[]).map((c) => [c, keys.indexOf(COLUMNS[c])])) as Record<Column, number>;
      const missing = REQUIRED.filter((c) => found[c] < 0);
      if (missing.length > 0) throw new TableFileError(file, `the header row has no ${missing.map((c) => COLUMNS[c]).join(', ')} column; an add-on code edit file names AOC_Edit_Type, Add-On_Code, Primary_Code and AOC_Edit_EffDT`, line);
      this.columns = found;
      return;
    }
    const at = (c: Column) => (this.columns![c] >= 0 ? (cells[this.columns![c]] ?? '').trim().toUpperCase() : '');
    if (cells.every((c) => c.trim() === '')) return;
    const code = at('code');
    const type = at('type');
    const primary = at('primary');
    if (!CODE.test(code) || !CODE.test(primary)) {
      this.rows.skip(file, line, `the add-on code ${JSON.stringify(code.slice(0, 12))} or its primary ${JSON.stringify(primary.slice(0, 12))} is not a 5-character code`);
      return;
    }
    if (!/^[123]$/.test(type)) {
      this.rows.skip(file, line, `the edit type ${JSON.stringify(type.slice(0, 12))} of ${code} is not 1, 2 or 3`);
      return;
    }
    const dates = (['effective', 'deletion', 'addOnDeletion', 'primaryDeletion'] as const).map((c) => [c, julianDate(at(c))] as const);
    const bad = dates.find(([, d]) => d === undefined);
    if (bad || dates[0]![1] === '') {
      this.rows.skip(file, line, `${code}: the ${COLUMNS[bad ? bad[0] : 'effective']} cell ${JSON.stringify(at(bad ? bad[0] : 'effective').slice(0, 12))} is not a Julian date (YYYYDDD)`);
      return;
    }
    const [effective, deletion, addOnDeletion, primaryDeletion] = dates.map(([, d]) => d!);
    const list = this.edits.get(code) ?? [];
    list.push({ type: Number(type), primary, effective: effective!, deletion: deletion!, addOnDeletion: addOnDeletion!, primaryDeletion: primaryDeletion!, notes: this.columns.notes >= 0 ? (cells[this.columns.notes] ?? '').trim() : '' });
    this.edits.set(code, list);
    this.rows.take();
    this.takenHere++;
  }
}

async function headOf(source: TableSource): Promise<string> {
  const reader = await source.open();
  try {
    const chunk = Buffer.alloc(1 << 14);
    const n = await reader.read(chunk, 0, chunk.length);
    return chunk.toString('utf8', 0, n);
  } finally {
    await reader.close();
  }
}

const cellText = (v: unknown): string => (v === null || v === undefined ? '' : v instanceof Date ? v.toISOString().slice(0, 10) : String(v));

async function readAddOnEdits(files: readonly string[], rows: RowCounter): Promise<AddOnIndex> {
  const reader = new AddOnReader(rows);
  const sources: TableSource[] = [];
  for (const file of files) {
    // A workbook is itself a zip archive: it is read as a workbook, not opened as a zip of tables.
    if (/\.xlsx$/i.test(file)) sources.push(fileSource(file));
    else sources.push(...(await tableSources([file], (members) => members.filter((m) => /\.(xlsx|csv|txt)$/i.test(m.name)), 'add-on code edit file (.xlsx, .csv or .txt)')));
  }
  for (const source of sources) {
    const file = source.name;
    reader.start();
    if (/\.xlsx$/i.test(source.member ?? source.file)) {
      let sheets;
      try {
        sheets = await readXlsxFile(source.member ? await readSourceBytes(source, 256 << 20) : source.file);
      } catch (error) {
        throw new TableFileError(file, `the workbook cannot be read (${error instanceof Error ? error.message : String(error)}). Is this the right file?`);
      }
      const data = sheets[0]?.data ?? [];
      data.forEach((cells, i) => reader.row(cells.map(cellText), file, i + 1));
    } else {
      // CMS's text files are tab-separated; a CSV export of the workbook is comma-separated.
      const delimiter = (await headOf(source)).includes('\t') ? '\t' : ',';
      const problems = await readCsvFile(source, ({ fields, line }) => reader.row(fields, file, line), { delimiter });
      for (const p of problems) rows.skip(file, p.line, p.message);
    }
    if (!reader.sawHeader) throw new TableFileError(file, 'no add-on code edit header row (AOC_Edit_Type, Add-On_Code, ...) found. Is this the right file?');
    if (reader.takenHere === 0) throw new TableFileError(file, 'no add-on code edits found after the header row');
  }
  return new AddOnIndex(reader.edits);
}

/** How many eligible primaries a finding lists; the count says how many there are. */
export const PRIMARIES_SHOWN = 20;

/** The `aoc` fact of one line: its add-on code edits in force on its date, and whether the claim has an eligible primary. */
export function addOnFacts(editions: Editions<AddOnIndex>, line: LineView, claim: ClaimView) {
  const code = line.procedureCode;
  if (code === undefined) return undefined;
  const edition = editions.at(line.serviceDate);
  if (!edition) return { found: false, code, covered: false };
  const edits = edition.index.editsOn(code, line.serviceDate);
  if (!edits) return { found: false, code, covered: true, edition: edition.context.edition };
  const primaries = [...new Set(edits.filter((e) => e.primary !== 'CCCCC' && (e.primaryDeletion === '' || line.serviceDate <= e.primaryDeletion)).map((e) => e.primary))].sort();
  const provider = providerOf(line, claim);
  let primaryLine: number | undefined;
  let otherProcedureSameDay = false;
  for (const other of claim.lines) {
    if (other === line || other.serviceDate !== line.serviceDate || providerOf(other, claim) !== provider) continue;
    if (other.procedureCode === undefined) continue;
    if (primaryLine === undefined && primaries.includes(other.procedureCode)) primaryLine = other.number;
    if (!edition.index.isAddOn(other.procedureCode, other.serviceDate)) otherProcedureSameDay = true;
  }
  const type = Math.min(...edits.map((e) => e.type));
  const notes = [...new Set(edits.map((e) => e.notes).filter((n) => n !== ''))].join('; ');
  return {
    found: true,
    code,
    editType: String(type),
    hasPrimary: primaryLine !== undefined,
    ...(primaryLine !== undefined ? { primaryLine } : {}),
    primaries: primaries.slice(0, PRIMARIES_SHOWN),
    primaryCount: primaries.length,
    primariesText: primaries.length === 0 ? 'defined by the Medicare contractor' : primaries.slice(0, PRIMARIES_SHOWN).join(', ') + (primaries.length > PRIMARIES_SHOWN ? ` and ${primaries.length - PRIMARIES_SHOWN} more` : ''),
    otherProcedureSameDay,
    notes,
    covered: true,
    edition: edition.context.edition,
  };
}

export const addOnCodeFormat: TableFormatDefinition<AddOnIndex> = {
  format: 'ncci-add-on',
  title: 'NCCI add-on code edit table',
  read: readAddOnEdits,
  facts(editions: Editions<AddOnIndex>, table: { name: string }): FactDefinition[] {
    return [
      {
        name: table.name,
        scopes: ['line'],
        description:
          `the NCCI add-on code edits (${editions.names}) of the line's procedure code in force on its date of service: editType ` +
          '("1" only the listed primaries, "2" primaries defined by the contractor, "3" the listed primaries and others the contractor ' +
          'may accept), primaries (the first 20 eligible primary codes), primaryCount, primariesText, hasPrimary and primaryLine (a line of ' +
          'the same date and rendering provider with an eligible primary), otherProcedureSameDay (a line of the same date and provider ' +
          'that is not an add-on code), notes; found is false for a code that is not an add-on code, covered is false when no loaded ' +
          'edition covers the date',
        shape: objectOf({
          found: BOOLEAN,
          code: STRING,
          editType: STRING,
          hasPrimary: BOOLEAN,
          primaryLine: NUMBER,
          primaries: arrayOf(STRING),
          primaryCount: NUMBER,
          primariesText: STRING,
          otherProcedureSameDay: BOOLEAN,
          notes: STRING,
          covered: BOOLEAN,
          edition: STRING,
        }),
        value: (item, run) => addOnFacts(editions, item.values.line as LineView, run.claim),
        reads: () => [
          ['lines', '*', 'procedureCode'],
          ['lines', '*', 'serviceDate'],
          ['lines', '*', 'renderingProvider'],
          ['renderingProvider'],
          ['billingProvider', 'npi'],
        ],
      },
    ];
  },
  recognise(names) {
    for (const name of names) {
      // AOC_V2026Q2-MCR.xlsx: Medicare, 2026 second quarter.
      const m = /aoc[-_ ]?v?(\d{4})[-_ ]?q([1-4])(?:[-_ ]?(mcr|mcd))?/i.exec(name);
      if (!m) continue;
      const year = Number(m[1]);
      const quarter = Number(m[2]);
      const covers = quarterOf(year, quarter * 3 - 2);
      const program = m[3]?.toUpperCase() === 'MCD' ? 'Medicaid' : 'Medicare';
      return { edition: `NCCI add-on code edits, ${program}, ${year} Q${quarter} (effective ${covers.from})`, covers };
    }
    return undefined;
  },
  snapshot: {
    version: 1,
    write: (index) => index.toSnapshot(),
    read: (parts) => AddOnIndex.fromSnapshot(parts),
  },
};
