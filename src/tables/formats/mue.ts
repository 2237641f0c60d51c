import type { CodeDateGroup } from '../../engine/scopes.js';
import type { LineView } from '../../claim/view.js';
import type { FactDefinition } from '../../engine/facts.js';
import { BOOLEAN, NUMBER, STRING, objectOf } from '../../engine/shapes.js';
import { readCsvFile } from '../csv.js';
import { Editions, quarterOf } from '../editions.js';
import { tableSources } from '../sources.js';
import { TextPool } from '../encoding.js';
import { CodeRows } from '../packed.js';
import { TableFileError, type RowCounter, type SnapshotParts, type TableFormatDefinition } from '../model.js';

/**
 * Medically Unlikely Edits, in the CSV layout CMS ships for the practitioner, DME supplier and
 * outpatient hospital tables: a first cell holding the AMA notice (quoted, over several
 * lines), then a header whose first cell is "HCPCS/\nCPT Code", then
 *   code, MUE value, MUE adjudication indicator ("2 Date of Service Edit: Policy"), rationale.
 */

export interface MueEntry {
  value: number;
  /** 1 (line edit), 2 (date of service edit, policy) or 3 (date of service edit, clinical). */
  adjudicationIndicator: number;
  adjudicationText: string;
  rationale: string;
}

/** Codes and edits in typed arrays (one copy serves every thread), the few distinct texts pooled. */
export class MueIndex {
  constructor(
    private readonly rows: CodeRows,
    private readonly values: Int32Array<ArrayBufferLike>,
    private readonly indicators: Uint8Array<ArrayBufferLike>,
    private readonly indicatorTextIds: Uint16Array<ArrayBufferLike>,
    private readonly rationaleIds: Uint16Array<ArrayBufferLike>,
    private readonly texts: TextPool,
  ) {}

  get size(): number {
    return this.rows.size;
  }

  get(code: string): MueEntry | undefined {
    const row = this.rows.rowOf(code);
    if (row < 0) return undefined;
    return {
      value: this.values[row]!,
      adjudicationIndicator: this.indicators[row]!,
      adjudicationText: this.texts.texts[this.indicatorTextIds[row]!] ?? '',
      rationale: this.texts.texts[this.rationaleIds[row]!] ?? '',
    };
  }

  /** Every code with its edit, in no particular order. */
  *entries(): Generator<[string, MueEntry]> {
    for (const [code] of this.rows.entries()) yield [code, this.get(code)!];
  }

  toSnapshot(): SnapshotParts {
    return {
      json: { size: this.rows.size, texts: this.texts.texts },
      arrays: [...this.rows.toArrays(), this.values, this.indicators, this.indicatorTextIds, this.rationaleIds],
    };
  }

  static fromSnapshot(parts: SnapshotParts): MueIndex {
    const json = parts.json as { size: number; texts: string[] };
    const [keys, rows, values, indicators, indicatorTextIds, rationaleIds] = parts.arrays;
    return new MueIndex(
      CodeRows.fromArrays(keys as Float64Array, rows as Int32Array, json.size),
      values as Int32Array,
      indicators as Uint8Array,
      indicatorTextIds as Uint16Array,
      rationaleIds as Uint16Array,
      new TextPool(json.texts),
    );
  }
}

const CODE = /^[A-Z0-9]{5}$/;
const ROW_LAYOUT = 'an MUE row is: code, MUE value, adjudication indicator (such as "2 Date of Service Edit: Policy"), rationale';

/** "HCPCS/\nCPT Code" and its variants, with the line break and spacing flattened. */
function isHeader(fields: string[]): boolean {
  const first = (fields[0] ?? '').replace(/\s+/g, ' ').trim().toUpperCase();
  return /^HCPCS ?\/ ?CPT( CODE)?$/.test(first) || first === 'HCPCS' || first === 'CPT CODE';
}

async function readMue(files: readonly string[], rows: RowCounter): Promise<MueIndex> {
  const rowOf = new Map<string, number>();
  const values: number[] = [];
  const indicators: number[] = [];
  const indicatorTexts: number[] = [];
  const rationales: number[] = [];
  const texts = new TextPool();
  for (const source of await tableSources(files, (members) => members.filter((m) => /\.csv$/i.test(m.name)), 'MUE table (.csv)')) {
    const file = source.name;
    let header = false;
    let takenHere = 0;
    let recordsSeen = 0;
    const problems = await readCsvFile(source, ({ fields, line }) => {
      recordsSeen++;
      if (!header) {
        // Everything before the header is the AMA notice; it is not data.
        if (isHeader(fields)) header = true;
        return;
      }
      if (fields.every((f) => f.trim() === '')) return;
      const code = (fields[0] ?? '').trim().toUpperCase();
      if (!CODE.test(code)) {
        rows.skip(file, line, `the code ${JSON.stringify(code.slice(0, 40))} is not a 5-character procedure code; ${ROW_LAYOUT}`);
        return;
      }
      if (fields.length < 3) {
        rows.skip(file, line, `the row has ${fields.length} field${fields.length === 1 ? '' : 's'}; ${ROW_LAYOUT}`);
        return;
      }
      const valueText = (fields[1] ?? '').trim();
      if (!/^\d+$/.test(valueText)) {
        rows.skip(file, line, `the MUE value ${JSON.stringify(valueText.slice(0, 40))} for ${code} is not a whole number`);
        return;
      }
      const indicatorText = (fields[2] ?? '').replace(/\s+/g, ' ').trim();
      const mai = /^([123])(\D|$)/.exec(indicatorText);
      if (!mai) {
        rows.skip(file, line, `the adjudication indicator ${JSON.stringify(indicatorText.slice(0, 40))} for ${code} does not start with 1, 2 or 3`);
        return;
      }
      let row = rowOf.get(code);
      if (row !== undefined) {
        rows.note(file, line, `${code} is listed again; the later row replaces the earlier one`);
      } else {
        row = values.length;
        rowOf.set(code, row);
      }
      values[row] = Number(valueText);
      indicators[row] = Number(mai[1]);
      indicatorTexts[row] = texts.id(indicatorText);
      rationales[row] = texts.id((fields[3] ?? '').replace(/\s+/g, ' ').trim());
      rows.take();
      takenHere++;
    });
    for (const p of problems) rows.skip(file, p.line, p.message);
    if (!header) {
      throw new TableFileError(file, `no MUE header row found (${recordsSeen} records read); the header's first cell is "HCPCS/CPT Code". Is this the right file?`);
    }
    if (takenHere === 0) throw new TableFileError(file, `no MUE rows found after the header; ${ROW_LAYOUT}`);
  }
  return new MueIndex(
    CodeRows.of(rowOf),
    Int32Array.from(values),
    Uint8Array.from(indicators),
    Uint16Array.from(indicatorTexts),
    Uint16Array.from(rationales),
    texts,
  );
}

export const mueFormat: TableFormatDefinition<MueIndex> = {
  format: 'mue',
  title: 'Medically Unlikely Edit table',
  read: readMue,
  facts(editions: Editions<MueIndex>, table: { name: string }): FactDefinition[] {
    return [
      {
        name: table.name,
        scopes: ['line', 'code-date'],
        description:
          `the MUE (${editions.names}) for the line's procedure code (line rules) or the group's code (code-date rules), in the ` +
          'edition that covers the date of service: value, adjudicationIndicator ("1" line edit, "2" date of service edit: policy, ' +
          '"3" date of service edit: clinical), rationale; covered is false when no loaded edition covers the date',
        shape: objectOf({
          found: BOOLEAN,
          code: STRING,
          value: NUMBER,
          adjudicationIndicator: STRING,
          adjudicationText: STRING,
          rationale: STRING,
          covered: BOOLEAN,
          edition: STRING,
        }),
        value: (item) => {
          let code: string | undefined;
          let serviceDate: string;
          if (item.scope === 'line') {
            const line = item.values.line as LineView;
            code = line.procedureCode;
            serviceDate = line.serviceDate;
          } else {
            const group = item.values.group as CodeDateGroup | undefined;
            code = group?.procedureCode;
            serviceDate = group?.serviceDate ?? item.serviceDate;
          }
          if (code === undefined) return undefined;
          const edition = editions.at(serviceDate);
          if (!edition) return { found: false, code, covered: false };
          const entry = edition.index.get(code);
          if (!entry) return { found: false, code, covered: true, edition: edition.context.edition };
          return {
            found: true,
            code,
            value: entry.value,
            adjudicationIndicator: String(entry.adjudicationIndicator),
            adjudicationText: entry.adjudicationText,
            rationale: entry.rationale,
            covered: true,
            edition: edition.context.edition,
          };
        },
        reads: () => [['lines', '@', 'procedureCode']],
      },
    ];
  },
  recognise(names) {
    for (const name of names) {
      // MCR_MUE_PractitionerServices_Eff_07-01-2026.csv: effective for the quarter it starts.
      const m = /mue[-_ ]?(\w*?)[-_ ]?eff[-_ ]?(\d{2})-(\d{2})-(\d{4})/i.exec(name);
      if (!m) continue;
      const [, kind, month, day, year] = m;
      const words = (kind ?? '').replace(/services?$/i, '').replace(/([a-z])([A-Z])/g, '$1 $2').replace(/[-_]/g, ' ').trim().toLowerCase().replace(/^dme\b/, 'DME');
      return { edition: `MUE ${words ? `${words} services` : 'table'}, effective ${year}-${month}-${day}`, covers: { from: `${year}-${month}-${day}`, to: quarterOf(Number(year), Number(month)).to! } };
    }
    return undefined;
  },
  snapshot: {
    version: 2,
    write: (index) => index.toSnapshot(),
    read: (parts) => MueIndex.fromSnapshot(parts),
  },
};
