import type { LineView } from '../../claim/view.js';
import type { FactDefinition } from '../../engine/facts.js';
import { BOOLEAN, STRING, arrayOf, objectOf } from '../../engine/shapes.js';
import { CODE_LOOKUP_SHAPE, DatedCodeSet, codeLookup, headerKey, type CodeSetEntry } from '../code-set.js';
import { readCsvFile } from '../csv.js';
import { completeOn, dateNumberOfIso, dateNumberOfText } from '../encoding.js';
import { TableFileError, type RowCounter, type TableContext, type TableFormatDefinition } from '../model.js';

/**
 * HCPCS Level II codes and modifiers, from either CSV CMS-derived layout (found by the header):
 *  - the quarterly "ANWEB" file (HCPC2026_OCT_ANWEB.csv): 48 columns, codes left-padded with
 *    spaces, RECID 3 = code, 4 = its description continued, 7 = modifier, 8 = continued; ADD DT
 *    (added), ACT EFF DT, TERM DT (last valid day) give each code's dates;
 *  - the plain list (hcpcs, seqnum, recid, long_description, short_description), undated.
 * CPT codes (Level I) are the AMA's and are in neither file: only Level II codes, a letter A-V
 * and four digits, and modifiers that start with a letter can be judged against this table.
 */

/** HCPCS Level II code: one letter A-V, four digits. */
const LEVEL_II_CODE = /^[A-V][0-9]{4}$/;
/** HCPCS Level II modifier: starts with a letter (CPT's are two digits, or a digit and a letter). */
const LEVEL_II_MODIFIER = /^[A-Z][A-Z0-9]$/;

/**
 * Ambulance origin and destination modifiers: two of these letters, origin then destination
 * (RH: residence to hospital). HCPCS defines the letters, not the 121 pairs, so the file has no
 * record for them; they are never "unknown".
 */
const AMBULANCE_ORIGIN_DESTINATION = /^[DEGHIJNPRSX]{2}$/;

const RECORD_KINDS: Record<string, 'code' | 'modifier' | 'continued'> = { '3': 'code', '4': 'continued', '7': 'modifier', '8': 'continued' };

export interface HcpcsIndex {
  codes: DatedCodeSet;
  modifiers: DatedCodeSet;
}

interface Columns {
  code: number;
  recid: number;
  long: number;
  short: number;
  added: number;
  terminated: number;
}

function columnsOf(header: string[]): Columns | undefined {
  const keys = header.map(headerKey);
  const find = (...names: string[]) => keys.findIndex((k) => names.includes(k));
  const code = find('HCPC', 'HCPCS', 'HCPCSCODE', 'HCPCSCD');
  const recid = find('RECID');
  if (code < 0 || recid < 0) return undefined;
  return {
    code,
    recid,
    long: find('LONGDESCRIPTION', 'LONGDESC'),
    short: find('SHORTDESCRIPTION', 'SHORTDESC'),
    added: find('ADDDT', 'ADDDATE', 'CODEADDEDDATE'),
    terminated: find('TERMDT', 'TERMDATE', 'TERMINATIONDATE'),
  };
}

async function readHcpcs(files: readonly string[], rows: RowCounter): Promise<HcpcsIndex> {
  const index: HcpcsIndex = { codes: new DatedCodeSet(), modifiers: new DatedCodeSet() };
  for (const file of files) {
    let columns: Columns | undefined;
    let headerSeen = false;
    let takenHere = 0;
    // A code in two files is normal (a quarterly file over a yearly list); twice in one is not.
    const seenHere = new Set<string>();
    const problems = await readCsvFile(file, ({ fields, line }) => {
      if (!headerSeen) {
        headerSeen = true;
        columns = columnsOf(fields);
        return;
      }
      if (!columns) return;
      if (fields.every((f) => f.trim() === '')) return;
      const at = (i: number) => (i >= 0 ? (fields[i] ?? '').trim() : '');
      const recid = at(columns.recid);
      const kind = RECORD_KINDS[recid];
      if (!kind) {
        rows.skip(file, line, `RECID ${JSON.stringify(recid.slice(0, 10))} is not 3 (code), 4 (code continued), 7 (modifier) or 8 (modifier continued)`);
        return;
      }
      if (kind === 'continued') {
        rows.ignore(); // the rest of a long description; the short description is what is kept
        return;
      }
      // ANWEB pads codes on the left with spaces; trim() took them off.
      const code = at(columns.code).toUpperCase();
      const pattern = kind === 'code' ? /^[A-Z0-9]{5}$/ : /^[A-Z0-9]{2}$/;
      if (!pattern.test(code)) {
        rows.skip(file, line, `${JSON.stringify(code.slice(0, 20))} is not a HCPCS ${kind === 'code' ? 'code (5 letters or digits)' : 'modifier (2 letters or digits)'}`);
        return;
      }
      const entry: CodeSetEntry = { description: at(columns.short) || at(columns.long) };
      for (const [field, column] of [['effective', columns.added], ['termination', columns.terminated]] as const) {
        const text = at(column);
        if (!text) continue;
        const n = dateNumberOfText(text);
        if (n < 0) rows.note(file, line, `${code}: the date ${JSON.stringify(text.slice(0, 20))} is not a date written YYYYMMDD; it was ignored`);
        else entry[field] = n;
      }
      const set = kind === 'code' ? index.codes : index.modifiers;
      const key = `${kind}:${code}`;
      if (seenHere.has(key)) rows.note(file, line, `${kind} ${code} is listed again in this file; the later row is used`);
      seenHere.add(key);
      set.add(code, entry);
      rows.take();
      takenHere++;
    });
    for (const p of problems) rows.skip(file, p.line, p.message);
    if (!columns) {
      throw new TableFileError(file, 'the first row is not a HCPCS header: expected columns named HCPC (or hcpcs) and RECID. Is this the right file?');
    }
    if (takenHere === 0) throw new TableFileError(file, 'no HCPCS codes or modifiers found after the header');
  }
  return index;
}

export const hcpcsFormat: TableFormatDefinition<HcpcsIndex> = {
  format: 'hcpcs',
  title: 'HCPCS Level II code and modifier file',
  read: readHcpcs,
  facts(index: HcpcsIndex, table: TableContext): FactDefinition[] {
    return [
      {
        name: table.name,
        scopes: ['line'],
        description:
          `the line's procedure code and modifiers in HCPCS Level II (${table.edition}). levelII says whether the code has the ` +
          'Level II form (a letter A-V and 4 digits): CPT codes are not in this file and get status "not-level-ii". ' +
          'status: active, not-yet-effective, terminated or not-found on the date of service. unknownModifiers: modifiers ' +
          'that start with a letter and are not in the file (ambulance origin/destination pairs such as RH excepted); ' +
          'inactiveModifiers: in the file but not in force on the date',
        shape: objectOf({
          ...CODE_LOOKUP_SHAPE,
          levelII: BOOLEAN,
          unknownModifiers: arrayOf(STRING),
          inactiveModifiers: arrayOf(STRING),
        }),
        value: (item) => {
          const line = item.values.line as LineView;
          const serviceDate = line.serviceDate;
          const date = dateNumberOfIso(serviceDate);
          const unknownModifiers: string[] = [];
          const inactiveModifiers: string[] = [];
          for (const m of line.modifiers) {
            if (!LEVEL_II_MODIFIER.test(m)) continue;
            const status = index.modifiers.statusOn(m, date);
            if (status === 'not-found') {
              if (!AMBULANCE_ORIGIN_DESTINATION.test(m)) unknownModifiers.push(m);
            }
            else if (status !== 'active') inactiveModifiers.push(m);
          }
          const code = line.procedureCode;
          // Built field by field (same order as before), not by spreads: this runs for every line.
          let result: Record<string, unknown>;
          if (code === undefined || !LEVEL_II_CODE.test(code)) {
            result = { found: false, levelII: false, status: 'not-level-ii' };
            if (code !== undefined) result.code = code;
            result.complete = completeOn(table, serviceDate);
            result.fullSet = table.complete;
            result.edition = table.edition;
          } else {
            result = codeLookup(index.codes, code, serviceDate, table);
            result.levelII = true;
          }
          result.unknownModifiers = unknownModifiers;
          result.inactiveModifiers = inactiveModifiers;
          return result;
        },
        reads: () => [
          ['lines', '@', 'procedureCode'],
          ['lines', '@', 'modifiers'],
        ],
      },
    ];
  },
};
