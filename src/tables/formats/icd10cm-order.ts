import type { DiagnosisView } from '../../claim/view.js';
import type { FactDefinition } from '../../engine/facts.js';
import { BOOLEAN, STRING, objectOf } from '../../engine/shapes.js';
import { Editions, diagnosisEditions, fiscalYear } from '../editions.js';
import { isBlank, scanLines, textAt } from '../lines.js';
import { memberBaseName, tableSources } from '../sources.js';
import type { ZipMember } from '../zip.js';
import { RecentAnswers } from '../../util/cached.js';
import { CodeRows, PackedTexts } from '../packed.js';
import { TableFileError, type RowCounter, type SnapshotParts, type TableFormatDefinition } from '../model.js';

/**
 * The ICD-10-CM order file CMS and CDC publish each fiscal year (icd10cm_order_YYYY.txt):
 * fixed width, one code per line, headers included:
 *   columns 1-5 order number, 7-13 code (no dot, space padded), 15 "1" billable / "0" header,
 *   17-76 short title, 78 on long title.
 */

/** A letter, a digit (or a letter: FY2026 added QA00.101 and its family), then 1 to 5 letters or digits. */
const CODE = /^[A-Z][0-9A-Z][A-Z0-9]{1,5}$/;
const LAYOUT = 'an order-file line has the order number in columns 1-5, the code in 7-13, 0 or 1 (billable) in 15 and titles from 17';

/** How many codes an Icd10Index remembers the entries of: the diagnoses claims keep coding. */
const REMEMBERED_CODES = 4_096;

/** Codes, billable flags and titles in typed arrays: one copy serves every thread (SharedTables). */
export class Icd10Index {
  /** Entries by code (null: not in the file), each decoded once while it is among the last few thousand asked for. */
  private readonly remembered = new RecentAnswers<string, Readonly<{ billable: boolean; title: string }> | null>(REMEMBERED_CODES);

  constructor(
    private readonly rows: CodeRows,
    private readonly billable: Uint8Array<ArrayBufferLike>,
    private readonly titles: PackedTexts,
  ) {}

  get size(): number {
    return this.rows.size;
  }

  /** The code's entry, shared by every claim that asks (frozen); decoding its title cost more than finding its row. */
  get(code: string): Readonly<{ billable: boolean; title: string }> | undefined {
    let entry = this.remembered.get(code);
    if (entry === undefined) {
      const row = this.rows.rowOf(code);
      entry = this.remembered.keep(code, row < 0 ? null : Object.freeze({ billable: this.billable[row] === 1, title: this.titles.at(row) }));
    }
    return entry ?? undefined;
  }

  toSnapshot(): SnapshotParts {
    return { json: { size: this.rows.size }, arrays: [...this.rows.toArrays(), this.billable, ...this.titles.toArrays()] };
  }

  static fromSnapshot(parts: SnapshotParts): Icd10Index {
    const json = parts.json as { size: number };
    const [keys, rows, billable, titleBytes, titleOffsets] = parts.arrays;
    return new Icd10Index(
      CodeRows.fromArrays(keys as Float64Array, rows as Int32Array, json.size),
      billable as Uint8Array,
      PackedTexts.fromArrays(titleBytes as Uint8Array, titleOffsets as Uint32Array),
    );
  }
}

/** One line of an order file, as the file has it. */
export interface OrderRecord {
  code: string;
  billable: boolean;
  shortTitle: string;
  longTitle: string;
}

/** The order file of a code-descriptions zip (icd10cm_order_2026.txt), not its addenda or PDFs. */
export function orderFileMembers(members: readonly ZipMember[]): ZipMember[] {
  return members.filter((m) => {
    const name = memberBaseName(m.name).toLowerCase();
    return name.endsWith('.txt') && name.includes('order') && !name.includes('addenda');
  });
}

/**
 * Reads the lines of order files (plain, or inside the zip CMS ships), calling `take` with
 * each well-formed one; malformed lines are skipped with their file:line.
 */
/** Whether the bytes are all ASCII, so that a column is a byte offset. */
function isAscii(buffer: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buffer[i]! >= 0x80) return false;
  return true;
}

/** Five ASCII digits. */
function isOrderNumber(buffer: Buffer, start: number): boolean {
  for (let i = start; i < start + 5; i++) if (buffer[i]! < 0x30 || buffer[i]! > 0x39) return false;
  return true;
}

/**
 * Reads the lines of order files (plain, or inside the zip CMS ships), calling `take` with
 * each well-formed one; malformed lines are skipped with their file:line. The index needs the
 * long titles only: `shortTitles: false` spares decoding 98,000 short ones at every start-up.
 */
export async function readOrderRecords(
  files: readonly string[],
  rows: RowCounter,
  take: (record: OrderRecord, source: string, line: number) => void,
  shortTitles = true,
): Promise<void> {
  for (const source of await tableSources(files, orderFileMembers, 'ICD-10-CM order file (icd10cm_order_YYYY.txt)')) {
    const file = source.name;
    let takenHere = 0;
    const scan = await scanLines(source, (buffer, start, end, line) => {
      if (isBlank(buffer, start, end)) return;
      // The file is ASCII: fields are read at their byte offsets, and only the titles (and
      // the code) become strings, each its own small one. A line that is not ASCII is read as text.
      const ascii = isAscii(buffer, start, end);
      const text = ascii ? undefined : textAt(buffer, start, end);
      const length = text?.length ?? end - start;
      const column = (from: number, to: number) =>
        text === undefined ? textAt(buffer, start + Math.min(from, length), start + Math.min(to, length)).trim() : text.slice(from, to).trim();
      if (length < 15) {
        rows.skip(file, line, `the line is ${length} characters long, too short; ${LAYOUT}`);
        return;
      }
      if (text === undefined ? !isOrderNumber(buffer, start) : !/^\d{5}$/.test(text.slice(0, 5))) {
        rows.skip(file, line, `the order number ${JSON.stringify(column(0, 5))} is not 5 digits; ${LAYOUT}`);
        return;
      }
      const code = column(6, 13).toUpperCase();
      if (!CODE.test(code)) {
        rows.skip(file, line, `${JSON.stringify(code)} is not an ICD-10-CM code (a letter, a digit or letter, then 1 to 5 letters or digits)`);
        return;
      }
      const flag = text === undefined ? buffer[start + 14] : text.charCodeAt(14);
      if (flag !== 0x30 && flag !== 0x31) {
        rows.skip(file, line, `the billable flag in column 15 is ${JSON.stringify(column(14, 15))}, not 0 or 1`);
        return;
      }
      const longTitle = column(77, length);
      const shortTitle = shortTitles || !longTitle ? column(16, 76) : '';
      rows.take();
      takenHere++;
      take({ code, billable: flag === 0x31, shortTitle, longTitle: longTitle || shortTitle }, file, line);
    });
    if (takenHere === 0) throw new TableFileError(file, `no ICD-10-CM codes found (${scan.lines} lines read); ${LAYOUT}. Is this the right file?`);
  }
}

/** A code missing from a complete edition is the worst verdict, then a header, then a billable code. */
function verdictRank(entry: { billable: boolean } | undefined, complete: boolean): number {
  if (!entry) return complete ? 2 : 0;
  return entry.billable ? 0 : 1;
}

async function readOrderFile(files: readonly string[], rows: RowCounter): Promise<Icd10Index> {
  const rowOf = new Map<string, number>();
  const billable: number[] = [];
  const titles: string[] = [];
  const take = (record: OrderRecord, file: string, line: number) => {
    let row = rowOf.get(record.code);
    if (row !== undefined) {
      rows.note(file, line, `${record.code} is listed again; the later line replaces the earlier one`);
    } else {
      row = billable.length;
      rowOf.set(record.code, row);
    }
    billable[row] = record.billable ? 1 : 0;
    titles[row] = record.longTitle;
  };
  await readOrderRecords(files, rows, take, false);
  return new Icd10Index(CodeRows.of(rowOf), Uint8Array.from(billable), PackedTexts.of(titles));
}

export const icd10cmOrderFormat: TableFormatDefinition<Icd10Index> = {
  format: 'icd-10-cm-order',
  title: 'ICD-10-CM order file',
  read: readOrderFile,
  facts(editions: Editions<Icd10Index>, table: { name: string }): FactDefinition[] {
    return [
      {
        name: table.name,
        scopes: ['diagnosis'],
        description:
          `the diagnosis code in the ICD-10-CM code set (${editions.names}), in the edition that covers the dates of service of the lines ` +
          'pointing at it: found, billable, header (a category that needs more characters), title, edition; covered is false (and ' +
          'nothing is judged) when no loaded edition covers those dates; complete says whether a code that is not found is really not a code',
        shape: objectOf({
          found: BOOLEAN,
          code: STRING,
          billable: BOOLEAN,
          header: BOOLEAN,
          title: STRING,
          covered: BOOLEAN,
          complete: BOOLEAN,
          fullSet: BOOLEAN,
          edition: STRING,
        }),
        value: (item, run) => {
          const diagnosis = item.values.diagnosis as DiagnosisView;
          const code = diagnosis.normalizedCode;
          const list = diagnosisEditions(editions, diagnosis, run.claim);
          if (!list) return { found: false, code, covered: false, complete: false, fullSet: false };
          // Lines on dates of two editions: the code must pass both, so the stricter verdict is reported.
          let chosen = list[0]!;
          let entry = chosen.index.get(code);
          for (let i = 1; i < list.length; i++) {
            const other = list[i]!;
            const found = other.index.get(code);
            if (verdictRank(found, other.context.complete) > verdictRank(entry, chosen.context.complete)) {
              chosen = other;
              entry = found;
            }
          }
          const complete = chosen.context.complete;
          const edition = chosen.context.edition;
          if (!entry) return { found: false, code, covered: true, complete, fullSet: complete, edition };
          return { found: true, code, covered: true, complete, fullSet: complete, edition, billable: entry.billable, header: !entry.billable, title: entry.title };
        },
        reads: () => [['diagnoses', '@', 'code']],
      },
    ];
  },
  recognise(names) {
    for (const name of names) {
      // An April 1 update (april-1-2026-code-descriptions-tabular-order.zip) covers the rest of its fiscal year.
      const april = /april[-_ ]?1[-_ ]?(\d{4})/i.exec(name);
      if (april) return { edition: `ICD-10-CM FY${april[1]} April 1 update`, covers: { from: `${april[1]}-04-01`, to: fiscalYear(Number(april[1])).to! } };
    }
    for (const name of names) {
      const m = /icd-?10-?cm[-_ ]?(?:order|codes)[-_ ]?(\d{4})/i.exec(name) ?? /(?:^|\D)(\d{4})[-_ ]code[-_ ]descriptions/i.exec(name);
      if (m) return { edition: `ICD-10-CM FY${m[1]}`, covers: fiscalYear(Number(m[1])) };
    }
    return undefined;
  },
  snapshot: {
    version: 2,
    write: (index) => index.toSnapshot(),
    read: (parts) => Icd10Index.fromSnapshot(parts),
  },
};
