import type { LineView } from '../../claim/view.js';
import type { FactDefinition } from '../../engine/facts.js';
import { objectOf } from '../../engine/shapes.js';
import { CODE_LOOKUP_SHAPE, DatedCodeSet, codeLookup, headerKey, uncoveredLookup, type CodeSetEntry } from '../code-set.js';
import { readCsvFile } from '../csv.js';
import { dateNumberOfText } from '../encoding.js';
import type { Editions } from '../editions.js';
import { TableFileError, type RowCounter, type TableFormatDefinition } from '../model.js';

/**
 * CMS place-of-service codes as CSV: a code column and a description column, found by their
 * header names (place_of_service_code / code / pos, description / name), and optionally
 * effective_date and termination_date (YYYYMMDD or YYYY-MM-DD) for codes CMS added or retired
 * after the list was published. Without a header the first two columns are code and description.
 * Codes are two digits; a spreadsheet that dropped the leading zero ("1") is read as "01".
 */

interface Columns {
  code: number;
  description: number;
  effective: number;
  termination: number;
}

function columnsOf(header: string[]): Columns | undefined {
  const keys = header.map(headerKey);
  const find = (...names: string[]) => keys.findIndex((k) => names.includes(k));
  const code = find('PLACEOFSERVICECODE', 'POSCODE', 'POS', 'CODE');
  if (code < 0) return undefined;
  return {
    code,
    description: find('DESCRIPTION', 'PLACEOFSERVICENAME', 'PLACEOFSERVICEDESCRIPTION', 'NAME'),
    effective: find('EFFECTIVEDATE', 'EFFECTIVE'),
    termination: find('TERMINATIONDATE', 'TERMINATION', 'TERMDATE'),
  };
}

async function readPlaceOfService(files: readonly string[], rows: RowCounter): Promise<DatedCodeSet> {
  const set = new DatedCodeSet();
  for (const file of files) {
    let columns: Columns | undefined;
    let first = true;
    let takenHere = 0;
    // A code in two files is normal (additions over a published list); twice in one is not.
    const seenHere = new Set<string>();
    const problems = await readCsvFile(file, ({ fields, line }) => {
      if (first) {
        first = false;
        columns = columnsOf(fields);
        if (columns) return;
        // No header: the first two columns are code and description, and this row is data.
        columns = { code: 0, description: 1, effective: -1, termination: -1 };
      }
      if (fields.every((f) => f.trim() === '')) return;
      const at = (i: number) => (i >= 0 ? (fields[i] ?? '').trim() : '');
      const raw = at(columns!.code);
      if (!/^\d{1,2}$/.test(raw)) {
        rows.skip(file, line, `${JSON.stringify(raw.slice(0, 20))} is not a place-of-service code (two digits)`);
        return;
      }
      const code = raw.padStart(2, '0');
      const entry: CodeSetEntry = { description: at(columns!.description) };
      for (const [field, column] of [['effective', columns!.effective], ['termination', columns!.termination]] as const) {
        const text = at(column);
        if (!text) continue;
        const n = dateNumberOfText(text);
        if (n < 0) {
          rows.skip(file, line, `${code}: ${field} date ${JSON.stringify(text.slice(0, 20))} is not a date written YYYYMMDD or YYYY-MM-DD`);
          return;
        }
        entry[field] = n;
      }
      if (seenHere.has(code)) rows.note(file, line, `place of service ${code} is listed again in this file; the later row is used`);
      seenHere.add(code);
      set.add(code, entry);
      rows.take();
      takenHere++;
    });
    for (const p of problems) rows.skip(file, p.line, p.message);
    if (takenHere === 0) throw new TableFileError(file, 'no place-of-service codes found: expected rows of a 2-digit code and a description. Is this the right file?');
  }
  return set;
}

export const placeOfServiceFormat: TableFormatDefinition<DatedCodeSet> = {
  format: 'place-of-service',
  title: 'place-of-service code list',
  read: readPlaceOfService,
  facts(editions: Editions<DatedCodeSet>, table: { name: string }): FactDefinition[] {
    return [
      {
        name: table.name,
        scopes: ['claim', 'line'],
        description:
          `the place-of-service code in the CMS list (${editions.names}): for claim rules the claim's placeOfService, for line ` +
          "rules the line's own placeOfService; missing when the claim or line gives none. status: active, not-yet-effective, " +
          'terminated or not-found on the date of service, or no-edition when no loaded edition covers the date; complete says ' +
          'whether a code that is not found is really not a code',
        shape: objectOf(CODE_LOOKUP_SHAPE),
        value: (item, run) => {
          const code = item.scope === 'line' ? (item.values.line as LineView).placeOfService : run.claim.placeOfService;
          if (code === undefined) return undefined;
          const edition = editions.at(item.serviceDate);
          return edition ? codeLookup(edition.index, code, item.serviceDate, edition.context) : uncoveredLookup(code);
        },
        reads: () => [['placeOfService'], ['lines', '@', 'placeOfService']],
      },
    ];
  },
};
