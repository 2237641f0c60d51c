import { normalizeCode } from '../../claim/codes.js';
import type { DiagnosisView } from '../../claim/view.js';
import type { FactDefinition } from '../../engine/facts.js';
import { BOOLEAN, STRING, objectOf } from '../../engine/shapes.js';
import { isBlank, scanLines, textAt } from '../lines.js';
import { TableFileError, type RowCounter, type TableContext, type TableFormatDefinition } from '../model.js';

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
const CODE = /^[A-Z][0-9][A-Z0-9]{1,5}$/;

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
    if (mask === undefined) return { found: false, code, edition };
    const out: Record<string, unknown> = { found: true, code };
    for (let bit = 0; bit < FLAG_FIELDS.length; bit++) out[FLAG_FIELDS[bit]!] = (mask & (1 << bit)) !== 0;
    out.description = this.descriptions.get(code) ?? '';
    out.edition = edition;
    return out;
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
  for (const file of files) {
    let columns: Map<string, number> | undefined;
    let takenHere = 0;
    const scan = await scanLines(file, (buffer, start, end, line) => {
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
  facts(index: MceIndex, table: TableContext): FactDefinition[] {
    return [
      {
        name: table.name,
        scopes: ['diagnosis'],
        description:
          `the Medicare Code Editor lists (${table.edition}) that name the diagnosis code: ${FLAG_FIELDS.join(', ')}; ` +
          'found is false when no list names it',
        shape: objectOf({
          found: BOOLEAN,
          code: STRING,
          ...Object.fromEntries(FLAG_FIELDS.map((f) => [f, BOOLEAN])),
          description: STRING,
          edition: STRING,
        }),
        value: (item) => {
          const code = (item.values.diagnosis as DiagnosisView).normalizedCode;
          return index.fact(code, table.edition);
        },
        reads: () => [['diagnoses', '@', 'code']],
      },
    ];
  },
};
