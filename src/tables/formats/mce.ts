import { normalizeCode } from '../../claim/codes.js';
import type { DiagnosisView } from '../../claim/view.js';
import type { FactDefinition } from '../../engine/facts.js';
import { BOOLEAN, STRING, objectOf } from '../../engine/shapes.js';
import { Editions, diagnosisEditions, fiscalYear } from '../editions.js';
import { isBlank, scanLines, textAt } from '../lines.js';
import { tableSources } from '../sources.js';
import { TableFileError, type RowCounter, type SnapshotParts, type TableFormatDefinition } from '../model.js';

/**
 * The list edits of the Medicare Code Editor ("Definitions of Medicare Code Edits", the MCE
 * shipped with the MS-DRG grouper), as a tab-separated flat list with a header row:
 *   MCE_Version, ICD_Version, MCE_Section, MCE_Subsection, MCE_Edit_Type, ICD_Code_Type, ICD_Code, ICD_Desc
 * Columns are found by their header names. Diagnosis rows (ICD_Code_Type D, ICD-10) are kept;
 * procedure rows are ICD-10-PCS inpatient procedure codes, which claims here do not carry, so
 * they are counted as not used.
 */

/** MCE_Edit_Type values for diagnoses, and the field of the fact each one sets. */
const DIAGNOSIS_EDITS = {
  Newborn_Only: 'newbornOnly',
  Pediatric_Only: 'pediatricOnly',
  Maternity_Only: 'maternityOnly',
  Adult_Only: 'adultOnly',
  Female_Only: 'femaleOnly',
  Male_Only: 'maleOnly',
  Principal_Manifestation: 'manifestation',
  Principal_Questionable_Admit: 'questionableAdmission',
  Principal_Unacceptable: 'unacceptablePrincipal',
  Wrong_Performed: 'wrongProcedure',
} as const;
type EditType = keyof typeof DIAGNOSIS_EDITS;
const EDIT_TYPES = Object.keys(DIAGNOSIS_EDITS) as EditType[];
const FLAG_FIELDS = EDIT_TYPES.map((t) => DIAGNOSIS_EDITS[t]);

const REQUIRED_COLUMNS = ['MCE_Edit_Type', 'ICD_Code_Type', 'ICD_Code'] as const;
/** ICD-10-CM: a letter, a digit (or a letter, as in QA00.101 from FY2026), then 1 to 5 letters or digits. */
const CODE = /^[A-Z][0-9A-Z][A-Z0-9]{1,5}$/;

export class MceIndex {
  constructor(
    /** code -> bit mask over EDIT_TYPES */
    private readonly masks: Map<string, number>,
    private readonly descriptions: Map<string, string>,
  ) {}

  get size(): number {
    return this.masks.size;
  }

  /**
   * The fact's value for a code: found, code, a flag per edit list (in FLAG_FIELDS order),
   * description and edition; built field by field, as it runs for every diagnosis of every claim.
   */
  fact(code: string, edition: string): Record<string, unknown> {
    const mask = this.masks.get(code);
    if (mask === undefined) return { found: false, code, covered: true, edition };
    const out: Record<string, unknown> = { found: true, code };
    for (let bit = 0; bit < FLAG_FIELDS.length; bit++) out[FLAG_FIELDS[bit]!] = (mask & (1 << bit)) !== 0;
    out.description = this.descriptions.get(code) ?? '';
    out.covered = true;
    out.edition = edition;
    return out;
  }

  /** Every code and the fact fields of the lists naming it. */
  *entries(): Generator<[string, Record<string, boolean>]> {
    for (const code of this.masks.keys()) yield [code, this.get(code)!.flags];
  }

  has(code: string): boolean {
    return this.masks.has(code);
  }

  toSnapshot(): SnapshotParts {
    return { json: { codes: [...this.masks].map(([code, mask]) => [code, mask, this.descriptions.get(code) ?? '']) }, arrays: [] };
  }

  static fromSnapshot(parts: SnapshotParts): MceIndex {
    const codes = (parts.json as { codes: Array<[string, number, string]> }).codes;
    return new MceIndex(new Map(codes.map(([code, mask]) => [code, mask])), new Map(codes.filter(([, , d]) => d !== '').map(([code, , d]) => [code, d])));
  }

  /** The MCE edits listing a diagnosis code, by fact field name; undefined when none does. */
  get(code: string): { flags: Record<string, boolean>; description: string } | undefined {
    const mask = this.masks.get(code);
    if (mask === undefined) return undefined;
    const flags: Record<string, boolean> = {};
    FLAG_FIELDS.forEach((field, bit) => {
      flags[field] = (mask & (1 << bit)) !== 0;
    });
    return { flags, description: this.descriptions.get(code) ?? '' };
  }
}

async function readMce(files: readonly string[], rows: RowCounter): Promise<MceIndex> {
  const masks = new Map<string, number>();
  const descriptions = new Map<string, string>();
  for (const source of await tableSources(files, (members) => members.filter((m) => /\.(txt|tsv)$/i.test(m.name)), 'MCE list file (.txt)')) {
    const file = source.name;
    let columns: Map<string, number> | undefined;
    let takenHere = 0;
    const scan = await scanLines(source, (buffer, start, end, line) => {
      if (isBlank(buffer, start, end)) return;
      const fields = textAt(buffer, start, end).split('\t').map((f) => f.trim());
      if (!columns) {
        const names = new Map(fields.map((name, i) => [name, i]));
        if (REQUIRED_COLUMNS.every((c) => names.has(c))) columns = names;
        else rows.skip(file, line, `expected the header row (${REQUIRED_COLUMNS.join(', ')}, ...) before any data`);
        return;
      }
      const at = (name: string) => fields[columns!.get(name) ?? -1] ?? '';
      const version = at('ICD_Version');
      const codeType = at('ICD_Code_Type').toUpperCase();
      if ((version !== '' && version !== '10') || codeType === 'P') {
        rows.ignore();
        return;
      }
      if (codeType !== 'D') {
        rows.skip(file, line, `ICD_Code_Type ${JSON.stringify(codeType)} is neither D (diagnosis) nor P (procedure)`);
        return;
      }
      const code = normalizeCode(at('ICD_Code'));
      if (!CODE.test(code)) {
        rows.skip(file, line, `${JSON.stringify(code.slice(0, 20))} is not an ICD-10-CM code`);
        return;
      }
      const editType = at('MCE_Edit_Type');
      const bit = EDIT_TYPES.indexOf(editType as EditType);
      if (bit < 0) {
        rows.skip(file, line, `the diagnosis edit type ${JSON.stringify(editType.slice(0, 40))} is not one of ${EDIT_TYPES.join(', ')}`);
        return;
      }
      masks.set(code, (masks.get(code) ?? 0) | (1 << bit));
      const description = at('ICD_Desc');
      if (description && !descriptions.has(code)) descriptions.set(code, description);
      rows.take();
      takenHere++;
    });
    if (!columns) throw new TableFileError(file, `no header row with ${REQUIRED_COLUMNS.join(', ')} found (${scan.lines} lines read). Is this the right file?`);
    if (takenHere === 0) rows.note(file, 1, 'no ICD-10 diagnosis edits in this file');
  }
  return new MceIndex(masks, descriptions);
}

export const mceCodeEditsFormat: TableFormatDefinition<MceIndex> = {
  format: 'mce-code-edits',
  title: 'Medicare Code Editor list edits',
  read: readMce,
  facts(editions: Editions<MceIndex>, table: { name: string }): FactDefinition[] {
    return [
      {
        name: table.name,
        scopes: ['diagnosis'],
        description:
          `the Medicare Code Editor lists (${editions.names}) that name the diagnosis code, in the edition that covers the dates ` +
          `of service of the lines pointing at it: ${FLAG_FIELDS.join(', ')}; found is false when no list names it, and covered ` +
          'is false (nothing is judged) when no loaded edition covers those dates',
        shape: objectOf({
          found: BOOLEAN,
          code: STRING,
          ...Object.fromEntries(FLAG_FIELDS.map((f) => [f, BOOLEAN])),
          description: STRING,
          covered: BOOLEAN,
          edition: STRING,
        }),
        value: (item, run) => {
          const diagnosis = item.values.diagnosis as DiagnosisView;
          const code = diagnosis.normalizedCode;
          const list = diagnosisEditions(editions, diagnosis, run.claim);
          if (!list) return { found: false, code, covered: false };
          // Lines on dates of two editions: an edition whose lists name the code speaks.
          let chosen = list[0]!;
          for (let i = 1; i < list.length && !chosen.index.has(code); i++) chosen = list[i]!;
          return chosen.index.fact(code, chosen.context.edition);
        },
        reads: () => [['diagnoses', '@', 'code']],
      },
    ];
  },
  recognise(names) {
    for (const name of names) {
      // MCE_Simple_Code_Edits_v37.txt; the MCE version is the fiscal year less 1983 (v37: FY2020).
      const m = /mce.*?[-_ ]v(\d{2,3})(?:\D|$)/i.exec(name);
      if (m) {
        const version = Number(m[1]);
        return { edition: `MCE v${version} (FY${version + 1983})`, covers: fiscalYear(version + 1983) };
      }
    }
    return undefined;
  },
  snapshot: {
    version: 1,
    write: (index) => index.toSnapshot(),
    read: (parts) => MceIndex.fromSnapshot(parts),
  },
};
