import type { LineView } from '../../claim/view.js';
import type { FactDefinition } from '../../engine/facts.js';
import { BOOLEAN, STRING, arrayOf, objectOf } from '../../engine/shapes.js';
import { CODE_LOOKUP_SHAPE, DatedCodeSet, codeLookup, headerKey, uncoveredLookup, type CodeSetEntry } from '../code-set.js';
import { readCsvFile } from '../csv.js';
import { Editions, quarterOf } from '../editions.js';
import { dateNumberOfIso, dateNumberOfText } from '../encoding.js';
import { isBlank, scanLines, textAt } from '../lines.js';
import { TableFileError, type RowCounter, type TableFormatDefinition } from '../model.js';
import { memberBaseName, readSourceText, tableSources, zipMemberSource, type TableSource } from '../sources.js';
import { listZipMembers, type ZipMember } from '../zip.js';

/**
 * HCPCS Level II codes and modifiers, in each layout CMS has shipped them:
 *  - the quarterly "ANWEB" text file of the zip CMS publishes (HCPC2026_JAN_ANWEB_01122026.txt):
 *    fixed-width 320-character records whose columns the zip's own HCPC2026_recordlayout.txt
 *    gives (read from it, so that a new layout is followed; the 2026 layout when it is absent).
 *    Record id 3 is a code, 7 a modifier; 4 and 8 continue the long description of the record
 *    before them. Code added date, action effective date, termination date (the last valid
 *    day) and action code date each code;
 *  - the same records as CSV (HCPC2026_OCT_ANWEB.csv: HCPC, RECID, LONG DESCRIPTION, ... found
 *    by the header);
 *  - the plain list (hcpcs, seqnum, recid, long_description, short_description), undated.
 * Only Level II is kept: a CPT (Level I) code or modifier, which starts with a digit, is the
 * AMA's, and is ignored with its text, should a file carry one; a CDT code (D and four digits)
 * keeps its code and dates but not its ADA-copyrighted descriptor.
 */

/** HCPCS Level II code: one letter A-V, four digits. */
const LEVEL_II_CODE = /^[A-V][0-9]{4}$/;
/** HCPCS Level II modifier: starts with a letter (CPT's are two digits, or a digit and a letter). */
const LEVEL_II_MODIFIER = /^[A-Z][A-Z0-9]$/;
/** CDT (dental) codes: the ADA owns their descriptors. */
const CDT_CODE = /^D[0-9]{4}$/;

/**
 * Ambulance origin and destination modifiers: two of these letters, origin then destination
 * (RH: residence to hospital). HCPCS defines the letters, not the 121 pairs, so the file has no
 * record for them; they are never "unknown".
 */
const AMBULANCE_ORIGIN_DESTINATION = /^[DEGHIJNPRSX]{2}$/;

const RECORD_KINDS: Record<string, 'code' | 'modifier' | 'code-continued' | 'modifier-continued'> = {
  '3': 'code',
  '4': 'code-continued',
  '7': 'modifier',
  '8': 'modifier-continued',
};

/** One code or modifier of the file, its long description joined from its continuation records. */
export interface HcpcsRecord {
  kind: 'code' | 'modifier';
  code: string;
  longDescription: string;
  shortDescription: string;
  /** yyyymmdd */
  added?: number;
  actionEffective?: number;
  termination?: number;
  /** A add, B/C/S description or data changes, D discontinued, N no change, R reactivated... */
  action?: string;
}

export interface HcpcsIndex {
  codes: DatedCodeSet;
  modifiers: DatedCodeSet;
}

/** Columns of a fixed-width record, 1-based and inclusive, as the record layout writes them. */
export interface HcpcsLayout {
  code: [number, number];
  modifier: [number, number];
  recid: [number, number];
  long: [number, number];
  short: [number, number];
  added: [number, number];
  actionEffective: [number, number];
  termination: [number, number];
  action: [number, number];
}

/** The 2026 record layout (HCPC2026_recordlayout.txt), for a text file without its layout beside it. */
export const LAYOUT_2026: HcpcsLayout = {
  code: [1, 5],
  modifier: [4, 5],
  recid: [11, 11],
  long: [12, 91],
  short: [92, 119],
  added: [269, 276],
  actionEffective: [277, 284],
  termination: [285, 292],
  action: [293, 293],
};

/** The record layout's field names for the columns read. */
const LAYOUT_FIELDS: Record<keyof HcpcsLayout, RegExp> = {
  code: /^Healthcare Common Procedure Coding System Code$/i,
  modifier: /^HCPCS Modifier Code$/i,
  recid: /^HCPCS Record Identification Code$/i,
  long: /^HCPCS Long Description$/i,
  short: /^HCPCS Short Description$/i,
  added: /^HCPCS Code Added Date$/i,
  actionEffective: /^HCPCS Action Effective Date$/i,
  termination: /^HCPCS Termination Date$/i,
  action: /^HCPCS Action Code$/i,
};

/**
 * Reads the columns of the fields used from a record layout file: a numbered field name
 * ("27.  HCPCS Code Added Date") followed by its length, first and last position ("8  269  276  NUM").
 */
export function parseRecordLayout(text: string): HcpcsLayout | string {
  const lines = text.split(/\r?\n/);
  const found: Partial<HcpcsLayout> = {};
  for (let i = 0; i < lines.length; i++) {
    const heading = /^\s*\d+\.\s+(.+?)\s*(?:\s{2,}\S+)?\s*$/.exec(lines[i]!);
    if (!heading) continue;
    const field = (Object.keys(LAYOUT_FIELDS) as Array<keyof HcpcsLayout>).find((k) => LAYOUT_FIELDS[k].test(heading[1]!.trim()));
    if (!field || found[field]) continue;
    for (let j = i + 1; j < Math.min(lines.length, i + 4); j++) {
      const columns = /^\s*(\d+)\s+(\d+)\s+(\d+)\b/.exec(lines[j]!);
      if (!columns) continue;
      const [length, from, to] = [Number(columns[1]), Number(columns[2]), Number(columns[3])];
      if (to - from + 1 === length) found[field] = [from, to];
      break;
    }
  }
  const missing = (Object.keys(LAYOUT_FIELDS) as Array<keyof HcpcsLayout>).filter((k) => !found[k]);
  if (missing.length > 0) return `the record layout does not give the columns of ${missing.map((k) => `"${LAYOUT_FIELDS[k].source.replace(/[\^$]/g, '')}"`).join(', ')}`;
  return found as HcpcsLayout;
}

interface CsvColumns {
  code: number;
  recid: number;
  long: number;
  short: number;
  added: number;
  actionEffective: number;
  terminated: number;
  action: number;
}

function csvColumnsOf(header: string[]): CsvColumns | undefined {
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
    actionEffective: find('ACTEFFDT', 'ACTIONEFFECTIVEDATE'),
    terminated: find('TERMDT', 'TERMDATE', 'TERMINATIONDATE'),
    action: find('ACTIONCD', 'ACTIONCODE'),
  };
}

/** The data files of a HCPCS zip (the ANWEB text or CSV), not its spreadsheets, notes or layout. */
function dataMembers(members: readonly ZipMember[]): ZipMember[] {
  return members.filter((m) => {
    const name = memberBaseName(m.name).toLowerCase();
    return /\.(txt|csv)$/.test(name) && name.includes('anweb') && !/correction|transaction/.test(name);
  });
}

/** The layout for the text files of one zip: its record layout member, or the 2026 layout. */
async function layoutFor(source: TableSource, cache: Map<string, HcpcsLayout>): Promise<HcpcsLayout> {
  if (!source.member) return LAYOUT_2026;
  const known = cache.get(source.file);
  if (known) return known;
  const member = (await listZipMembers(source.file)).find((m) => /recordlayout/i.test(memberBaseName(m.name)));
  let layout = LAYOUT_2026;
  if (member) {
    const parsed = parseRecordLayout(await readSourceText(zipMemberSource(source.file, member.name)));
    if (typeof parsed === 'string') throw new TableFileError(`${source.file}!${member.name}`, parsed);
    layout = parsed;
  }
  cache.set(source.file, layout);
  return layout;
}

/** Whether a file is CSV: its first line is a header with HCPC and RECID columns. */
async function isCsv(source: TableSource): Promise<boolean> {
  if (/\.csv$/i.test(source.name)) return true;
  const reader = await source.open();
  try {
    const head = Buffer.alloc(4096);
    const n = await reader.read(head, 0, head.length);
    const first = head.toString('utf8', 0, n).replace(/^\ufeff/, '').split(/\r?\n/)[0] ?? '';
    return csvColumnsOf(first.split(',')) !== undefined;
  } finally {
    await reader.close();
  }
}

/** Counts a record read, unless it is not Level II (CPT), which is ignored with its text. */
type Take = (record: HcpcsRecord, file: string, line: number) => void;

/**
 * Reads every code and modifier of HCPCS files (plain, CSV, or the zip CMS ships), joining
 * continuation records to the record they continue. Malformed records are skipped with their
 * file:line; CPT codes and modifiers are counted as ignored and their text is never kept.
 */
export async function readHcpcsRecords(files: readonly string[], rows: RowCounter, take: Take): Promise<void> {
  const layouts = new Map<string, HcpcsLayout>();
  for (const source of await tableSources(files, dataMembers, 'HCPCS ANWEB file (HCPCYYYY_MON_ANWEB...txt)')) {
    const file = source.name;
    let takenHere = 0;
    let pending: { record: HcpcsRecord; line: number } | undefined;
    const flush = () => {
      if (!pending) return;
      const { record, line } = pending;
      pending = undefined;
      const level2 = /^[A-Z]/.test(record.code);
      if (!level2) {
        rows.ignore(); // a CPT code or modifier: the AMA's, never kept
        return;
      }
      if (record.kind === 'code' && CDT_CODE.test(record.code)) {
        record.longDescription = '';
        record.shortDescription = '';
      }
      rows.take();
      takenHere++;
      take(record, file, line);
    };
    const onRecord = (kind: (typeof RECORD_KINDS)[string], code: string, long: string, record: Omit<HcpcsRecord, 'kind' | 'code' | 'longDescription'>, line: number) => {
      if (kind === 'code-continued' || kind === 'modifier-continued') {
        const of = kind === 'code-continued' ? 'code' : 'modifier';
        if (pending && pending.record.kind === of && (code === '' || code === pending.record.code)) {
          if (long) pending.record.longDescription += (pending.record.longDescription ? ' ' : '') + long;
          rows.ignore(); // part of the record before it
        } else {
          rows.skip(file, line, `a continuation record (${of} ${code}) that follows no ${of} record of that code`);
        }
        return;
      }
      flush();
      const pattern = kind === 'code' ? /^[A-Z0-9]{5}$/ : /^[A-Z0-9]{2}$/;
      if (!pattern.test(code)) {
        rows.skip(file, line, `${JSON.stringify(code.slice(0, 20))} is not a HCPCS ${kind === 'code' ? 'code (5 letters or digits)' : 'modifier (2 letters or digits)'}`);
        return;
      }
      pending = { record: { kind, code, longDescription: long, ...record }, line };
    };
    const dates = (code: string, line: number, texts: Array<[keyof HcpcsRecord, string]>): Partial<HcpcsRecord> => {
      const out: Partial<Record<keyof HcpcsRecord, number>> = {};
      for (const [field, text] of texts) {
        if (!text) continue;
        const n = dateNumberOfText(text);
        if (n < 0) rows.note(file, line, `${code}: the date ${JSON.stringify(text.slice(0, 20))} is not a date written YYYYMMDD; it was ignored`);
        else out[field] = n;
      }
      return out as Partial<HcpcsRecord>;
    };

    if (await isCsv(source)) {
      let columns: CsvColumns | undefined;
      let headerSeen = false;
      const problems = await readCsvFile(source, ({ fields, line }) => {
        if (!headerSeen) {
          headerSeen = true;
          columns = csvColumnsOf(fields);
          return;
        }
        if (!columns) return;
        if (fields.every((f) => f.trim() === '')) return;
        const at = (i: number) => (i >= 0 ? (fields[i] ?? '').trim() : '');
        const recid = at(columns.recid);
        const kind = RECORD_KINDS[recid];
        if (!kind) {
          flush();
          rows.skip(file, line, `RECID ${JSON.stringify(recid.slice(0, 10))} is not 3 (code), 4 (code continued), 7 (modifier) or 8 (modifier continued)`);
          return;
        }
        // ANWEB pads codes on the left with spaces; trim() took them off.
        const code = at(columns.code).toUpperCase();
        const record: Omit<HcpcsRecord, 'kind' | 'code' | 'longDescription'> = {
          shortDescription: at(columns.short),
          ...dates(code, line, [
            ['added', at(columns.added)],
            ['actionEffective', at(columns.actionEffective)],
            ['termination', at(columns.terminated)],
          ]),
        };
        const action = at(columns.action);
        if (action) record.action = action;
        onRecord(kind, code, at(columns.long), record, line);
      });
      flush();
      for (const p of problems) rows.skip(file, p.line, p.message);
      if (!columns) {
        throw new TableFileError(file, 'the first row is not a HCPCS header: expected columns named HCPC (or hcpcs) and RECID. Is this the right file?');
      }
    } else {
      const layout = await layoutFor(source, layouts);
      const column = (text: string, [from, to]: [number, number]) => text.slice(from - 1, to).trim();
      const minimum = layout.short[1];
      const scan = await scanLines(source, (buffer, start, end, line) => {
        if (isBlank(buffer, start, end)) return;
        const text = textAt(buffer, start, end);
        const kind = RECORD_KINDS[column(text, layout.recid)];
        if (!kind || text.length < layout.recid[1]) {
          flush();
          rows.skip(file, line, `column ${layout.recid[0]} (record id) is ${JSON.stringify(column(text, layout.recid))}, not 3 (code), 4 (code continued), 7 (modifier) or 8 (modifier continued): is this a fixed-width ANWEB file?`);
          return;
        }
        const isModifier = kind === 'modifier' || kind === 'modifier-continued';
        const code = column(text, isModifier ? layout.modifier : layout.code).toUpperCase();
        const long = column(text, layout.long);
        if ((kind === 'code' || kind === 'modifier') && text.length < minimum) {
          flush();
          rows.skip(file, line, `the record is ${text.length} characters long; a ${kind} record has its short description up to column ${minimum} and its dates after`);
          return;
        }
        const record: Omit<HcpcsRecord, 'kind' | 'code' | 'longDescription'> = {
          shortDescription: column(text, layout.short),
          ...dates(code, line, [
            ['added', column(text, layout.added)],
            ['actionEffective', column(text, layout.actionEffective)],
            ['termination', column(text, layout.termination)],
          ]),
        };
        const action = column(text, layout.action);
        if (action) record.action = action;
        onRecord(kind, code, long, record, line);
      });
      flush();
      if (takenHere === 0) throw new TableFileError(file, `no HCPCS codes or modifiers found (${scan.lines} lines read); a fixed-width ANWEB record has the code in columns 1-5 and the record id in column 11. Is this the right file?`);
    }
    if (takenHere === 0) throw new TableFileError(file, 'no HCPCS codes or modifiers found after the header');
  }
}

async function readHcpcs(files: readonly string[], rows: RowCounter): Promise<HcpcsIndex> {
  const index: HcpcsIndex = { codes: new DatedCodeSet(), modifiers: new DatedCodeSet() };
  // A code in two files is normal (a quarterly file over a yearly list); twice in one is not.
  const seen = new Set<string>();
  await readHcpcsRecords(files, rows, (record, file, line) => {
    const key = `${file}\u0000${record.kind}:${record.code}`;
    if (seen.has(key)) rows.note(file, line, `${record.kind} ${record.code} is listed again in this file; the later row is used`);
    seen.add(key);
    const entry: CodeSetEntry = { description: record.shortDescription || record.longDescription };
    if (record.added !== undefined) entry.effective = record.added;
    if (record.termination !== undefined) entry.termination = record.termination;
    (record.kind === 'code' ? index.codes : index.modifiers).add(record.code, entry);
  });
  return index;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const MONTH_NAMES = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

type SnapshotEntry = [string, string, number, number];
const entriesOf = (set: DatedCodeSet): SnapshotEntry[] => set.entries().map(([code, e]) => [code, e.description, e.effective ?? 0, e.termination ?? 0]);
function setOf(entries: SnapshotEntry[]): DatedCodeSet {
  const set = new DatedCodeSet();
  for (const [code, description, effective, termination] of entries) {
    const entry: CodeSetEntry = { description };
    if (effective) entry.effective = effective;
    if (termination) entry.termination = termination;
    set.add(code, entry);
  }
  return set;
}

export const hcpcsFormat: TableFormatDefinition<HcpcsIndex> = {
  format: 'hcpcs',
  title: 'HCPCS Level II code and modifier file',
  read: readHcpcs,
  facts(editions: Editions<HcpcsIndex>, table: { name: string }): FactDefinition[] {
    return [
      {
        name: table.name,
        scopes: ['line'],
        description:
          `the line's procedure code and modifiers in HCPCS Level II (${editions.names}), in the edition that covers the date of ` +
          'service. levelII says whether the code has the Level II form (a letter A-V and 4 digits): CPT codes are not in this ' +
          'file and get status "not-level-ii". status: active, not-yet-effective, terminated or not-found on the date of service, ' +
          'or no-edition when no loaded edition covers the date (nothing is judged then). unknownModifiers: modifiers that start ' +
          'with a letter and are not in the file (ambulance origin/destination pairs such as RH excepted); inactiveModifiers: in ' +
          'the file but not in force on the date',
        shape: objectOf({
          ...CODE_LOOKUP_SHAPE,
          levelII: BOOLEAN,
          unknownModifiers: arrayOf(STRING),
          inactiveModifiers: arrayOf(STRING),
        }),
        value: (item) => {
          const line = item.values.line as LineView;
          const serviceDate = line.serviceDate;
          const code = line.procedureCode;
          const levelII = code !== undefined && LEVEL_II_CODE.test(code);
          const edition = editions.at(serviceDate);
          if (!edition) {
            const result = uncoveredLookup(code ?? '');
            if (code === undefined) delete result.code;
            result.levelII = levelII;
            result.unknownModifiers = [];
            result.inactiveModifiers = [];
            return result;
          }
          const index = edition.index;
          const date = dateNumberOfIso(serviceDate);
          const unknownModifiers: string[] = [];
          const inactiveModifiers: string[] = [];
          for (const m of line.modifiers) {
            if (!LEVEL_II_MODIFIER.test(m)) continue;
            const status = index.modifiers.statusOn(m, date);
            if (status === 'not-found') {
              if (!AMBULANCE_ORIGIN_DESTINATION.test(m)) unknownModifiers.push(m);
            } else if (status !== 'active') inactiveModifiers.push(m);
          }
          // Built field by field, not by spreads: this runs for every line.
          let result: Record<string, unknown>;
          if (!levelII) {
            result = { found: false, levelII: false, status: 'not-level-ii' };
            if (code !== undefined) result.code = code;
            result.covered = true;
            result.complete = edition.context.complete;
            result.fullSet = edition.context.complete;
            result.edition = edition.context.edition;
          } else {
            result = codeLookup(index.codes, code, serviceDate, edition.context);
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
  recognise(names) {
    for (const name of names) {
      // HCPC2026_JAN_ANWEB_01122026.txt, or the zip: january-2026-alpha-numeric-hcpcs-file(s).zip.
      const file = /HCPC(\d{4})[-_ ]?(JAN|APR|JUL|OCT)/i.exec(name);
      const zip = /(?:(january|april|july|october)[-_ ])?(\d{4})[-_ ]alpha[-_ ]?numeric[-_ ]hcpcs/i.exec(name);
      const year = file ? Number(file[1]) : zip ? Number(zip[2]) : undefined;
      // A yearly zip without a month (2024-alpha-numeric-hcpcs-file.zip) is the January release.
      const month = file ? MONTHS.indexOf(file[2]!.toUpperCase()) + 1 : zip ? (zip[1] ? MONTH_NAMES.findIndex((m) => m.toLowerCase() === zip[1]!.toLowerCase()) + 1 : 1) : 0;
      if (year !== undefined && month > 0) return { edition: `HCPCS Level II ${MONTH_NAMES[month - 1]} ${year}`, covers: quarterOf(year, month) };
    }
    return undefined;
  },
  snapshot: {
    // The index is small (about 9,000 codes): plain JSON, so that a restart skips inflating and parsing the zip.
    version: 1,
    write: (index) => ({ json: { codes: entriesOf(index.codes), modifiers: entriesOf(index.modifiers) }, arrays: [] }),
    read: (parts) => {
      const json = parts.json as { codes: SnapshotEntry[]; modifiers: SnapshotEntry[] };
      return { codes: setOf(json.codes), modifiers: setOf(json.modifiers) };
    },
  },
};
