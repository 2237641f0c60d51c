import type { DiagnosisView } from '../../claim/view.js';
import type { FactDefinition } from '../../engine/facts.js';
import { BOOLEAN, STRING, objectOf } from '../../engine/shapes.js';
import { completeOn } from '../encoding.js';
import { isBlank, scanLines, textAt } from '../lines.js';
import { CodeRows, PackedTexts } from '../packed.js';
import { TableFileError, type RowCounter, type SnapshotParts, type TableContext, type TableFormatDefinition } from '../model.js';

/**
 * The ICD-10-CM order file CMS and CDC publish each fiscal year (icd10cm_order_YYYY.txt):
 * fixed width, one code per line, headers included:
 *   columns 1-5 order number, 7-13 code (no dot, space padded), 15 "1" billable / "0" header,
 *   17-76 short title, 78 on long title.
 */

const CODE = /^[A-Z][0-9][A-Z0-9]{1,5}$/;
const LAYOUT = 'an order-file line has the order number in columns 1-5, the code in 7-13, 0 or 1 (billable) in 15 and titles from 17';

/** Codes, billable flags and titles in typed arrays: one copy serves every thread (SharedTables). */
export class Icd10Index {
  constructor(
    private readonly rows: CodeRows,
    private readonly billable: Uint8Array<ArrayBufferLike>,
    private readonly titles: PackedTexts,
  ) {}

  get size(): number {
    return this.rows.size;
  }

  get(code: string): { billable: boolean; title: string } | undefined {
    const row = this.rows.rowOf(code);
    return row < 0 ? undefined : { billable: this.billable[row] === 1, title: this.titles.at(row) };
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

async function readOrderFile(files: readonly string[], rows: RowCounter): Promise<Icd10Index> {
  const rowOf = new Map<string, number>();
  const billable: number[] = [];
  const titles: string[] = [];
  for (const file of files) {
    let takenHere = 0;
    const scan = await scanLines(file, (buffer, start, end, line) => {
      if (isBlank(buffer, start, end)) return;
      const text = textAt(buffer, start, end);
      if (text.length < 15) {
        rows.skip(file, line, `the line is ${text.length} characters long, too short; ${LAYOUT}`);
        return;
      }
      const order = text.slice(0, 5);
      const code = text.slice(6, 13).trim().toUpperCase();
      const flag = text[14];
      if (!/^\d{5}$/.test(order)) {
        rows.skip(file, line, `the order number ${JSON.stringify(order)} is not 5 digits; ${LAYOUT}`);
        return;
      }
      if (!CODE.test(code)) {
        rows.skip(file, line, `${JSON.stringify(code)} is not an ICD-10-CM code (a letter, a digit, then 1 to 5 letters or digits)`);
        return;
      }
      if (flag !== '0' && flag !== '1') {
        rows.skip(file, line, `the billable flag in column 15 is ${JSON.stringify(flag)}, not 0 or 1`);
        return;
      }
      // Titles are decoded from the bytes, so that each is its own small string instead of a
      // slice that keeps the whole line alive (column = byte offset when the line is ASCII);
      // they are packed into bytes once every line is read.
      const ascii = text.length === end - start;
      const column = (from: number, to: number) =>
        ascii ? textAt(buffer, start + Math.min(from, text.length), start + Math.min(to, text.length)).trim() : text.slice(from, to).trim();
      const title = column(77, text.length) || column(16, 76);
      let row = rowOf.get(code);
      if (row !== undefined) {
        rows.note(file, line, `${code} is listed again; the later line replaces the earlier one`);
      } else {
        row = billable.length;
        rowOf.set(code, row);
      }
      billable[row] = flag === '1' ? 1 : 0;
      titles[row] = title;
      rows.take();
      takenHere++;
    });
    if (takenHere === 0) throw new TableFileError(file, `no ICD-10-CM codes found (${scan.lines} lines read); ${LAYOUT}. Is this the right file?`);
  }
  return new Icd10Index(CodeRows.of(rowOf), Uint8Array.from(billable), PackedTexts.of(titles));
}

export const icd10cmOrderFormat: TableFormatDefinition<Icd10Index> = {
  format: 'icd-10-cm-order',
  title: 'ICD-10-CM order file',
  read: readOrderFile,
  facts(index: Icd10Index, table: TableContext): FactDefinition[] {
    return [
      {
        name: table.name,
        scopes: ['diagnosis'],
        description:
          `the diagnosis code in the ICD-10-CM code set (${table.edition}): found, billable, header (a category that needs more characters), title; ` +
          'complete says whether a code that is not found is really not a code on the claim\'s date of service',
        shape: objectOf({
          found: BOOLEAN,
          code: STRING,
          billable: BOOLEAN,
          header: BOOLEAN,
          title: STRING,
          complete: BOOLEAN,
          fullSet: BOOLEAN,
          edition: STRING,
        }),
        value: (item) => {
          const diagnosis = item.values.diagnosis as DiagnosisView;
          const code = diagnosis.normalizedCode;
          const entry = index.get(code);
          const complete = completeOn(table, item.serviceDate);
          const fullSet = table.complete;
          const edition = table.edition;
          if (!entry) return { found: false, code, complete, fullSet, edition };
          return { found: true, code, complete, fullSet, edition, billable: entry.billable, header: !entry.billable, title: entry.title };
        },
        reads: () => [['diagnoses', '@', 'code']],
      },
    ];
  },
  snapshot: {
    version: 2,
    write: (index) => index.toSnapshot(),
    read: (parts) => Icd10Index.fromSnapshot(parts),
  },
};
