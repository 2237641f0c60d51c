import type { FeeScheduleEntry, FeeScheduleIndex } from './formats/mpfs-rvu.js';
import type { AddOnEdit, AddOnIndex } from './formats/ncci-add-on.js';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { isoOfDateNumber, OPEN_END } from './encoding.js';
import type { DetectedFile } from './detect.js';
import { readHcpcsRecords, type HcpcsRecord } from './formats/hcpcs.js';
import { readOrderRecords, type OrderRecord } from './formats/icd10cm-order.js';
import type { MceIndex } from './formats/mce.js';
import type { MueIndex } from './formats/mue.js';
import type { PtpIndex, PtpWindow } from './formats/ncci-ptp.js';
import type { DatedCodeSet } from './code-set.js';
import { RowCounter, type TableFormat } from './model.js';
import { memberBaseName, readSourceText, zipMemberSource } from './sources.js';
import { isZipFile, listZipMembers } from './zip.js';

/**
 * What changed between two editions of one table: codes added, deleted and changed
 * (descriptions for ICD-10-CM and HCPCS; PTP pairs added and deleted and their modifier
 * indicators and dates; MUE values and adjudication indicators), for the compliance lead who
 * reviews each quarter's update, and which bundled rules and pack tests name a code the new
 * edition deletes. ICD-10-CM and HCPCS descriptions are public domain; the PTP and MUE files
 * carry no CPT descriptors, and none is shown.
 */

export interface FieldChange {
  field: string;
  old: string;
  new: string;
}

export interface DiffEntry {
  code: string;
  description?: string;
}

export interface ChangedEntry {
  code: string;
  description?: string;
  changes: FieldChange[];
}

export interface DiffSection {
  /** "Codes", "Headers", "Modifiers", "Edits", "MUEs", "Female_Only list"... */
  title: string;
  oldCount: number;
  newCount: number;
  added: DiffEntry[];
  deleted: DiffEntry[];
  changed: ChangedEntry[];
}

export interface Reference {
  code: string;
  file: string;
  line: number;
  text: string;
}

export interface AddendaCheck {
  /** The official addenda file the diff was compared with. */
  file: string;
  agrees: boolean;
  /** What the addenda says that the diff does not, or the other way round; empty when they agree. */
  differences: string[];
}

export interface TableDiff {
  format: TableFormat;
  title: string;
  old: { file: string; edition?: string };
  new: { file: string; edition?: string };
  sections: DiffSection[];
  /** Places in the rules folder (rules, pack tests, fixtures) that name a code the new edition deletes. */
  references: Reference[];
  addenda?: AddendaCheck;
}

function sortByCode<T extends { code: string }>(list: T[]): T[] {
  return list.sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
}

function section(title: string, oldCount: number, newCount: number): DiffSection {
  return { title, oldCount, newCount, added: [], deleted: [], changed: [] };
}

function finish(s: DiffSection): DiffSection {
  sortByCode(s.added);
  sortByCode(s.deleted);
  sortByCode(s.changed);
  return s;
}

/** Compares keyed records field by field. */
function compareMaps<T>(
  s: DiffSection,
  oldMap: ReadonlyMap<string, T>,
  newMap: ReadonlyMap<string, T>,
  describe: (r: T) => string | undefined,
  fields: ReadonlyArray<[string, (r: T) => string]>,
): DiffSection {
  const entry = (code: string, r: T): DiffEntry => {
    const description = describe(r);
    return description === undefined ? { code } : { code, description };
  };
  for (const [code, r] of newMap) if (!oldMap.has(code)) s.added.push(entry(code, r));
  for (const [code, r] of oldMap) {
    const n = newMap.get(code);
    if (n === undefined) {
      s.deleted.push(entry(code, r));
      continue;
    }
    const changes: FieldChange[] = [];
    for (const [field, get] of fields) {
      const a = get(r);
      const b = get(n);
      if (a !== b) changes.push({ field, old: a, new: b });
    }
    if (changes.length > 0) {
      const c: ChangedEntry = { code, changes };
      const description = describe(n);
      if (description !== undefined) c.description = description;
      s.changed.push(c);
    }
  }
  return finish(s);
}

// ICD-10-CM: billable codes and headers apart, as the CMS addenda count them (a code that
// becomes a header is a code deleted and a header added).

async function orderRecords(file: string): Promise<Map<string, OrderRecord>> {
  const out = new Map<string, OrderRecord>();
  await readOrderRecords([file], new RowCounter(), (r) => out.set(r.code, r));
  return out;
}

const TITLE_FIELDS: ReadonlyArray<[string, (r: OrderRecord) => string]> = [
  ['long title', (r) => r.longTitle],
  ['short title', (r) => r.shortTitle],
];

function icdSections(oldMap: Map<string, OrderRecord>, newMap: Map<string, OrderRecord>): DiffSection[] {
  const split = (m: Map<string, OrderRecord>, billable: boolean) => new Map([...m].filter(([, r]) => r.billable === billable));
  const sections: DiffSection[] = [];
  for (const [title, billable] of [['Codes', true], ['Headers', false]] as const) {
    const a = split(oldMap, billable);
    const b = split(newMap, billable);
    sections.push(compareMaps(section(title, a.size, b.size), a, b, (r) => r.longTitle, TITLE_FIELDS));
  }
  return sections;
}

/** An order addenda line: "Add:         1 B8801   short title (60)   long title". */
interface AddendaLine {
  action: 'Add' | 'Delete' | 'Revise from' | 'Revise to';
  billable: boolean;
  code: string;
  shortTitle: string;
  longTitle: string;
}

export function parseOrderAddenda(text: string): { lines: AddendaLine[]; oldFile?: string } {
  const lines: AddendaLine[] = [];
  let oldFile: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const m = /^(Add|Delete|Revise from|Revise to):\s+([01]) (\S+)\s/.exec(raw);
    if (m) {
      lines.push({ action: m[1] as AddendaLine['action'], billable: m[2] === '1', code: m[3]!, shortTitle: raw.slice(23, 83).trim(), longTitle: raw.slice(84).trim() });
      continue;
    }
    const from = /\d+ (?:headers|codes) in (\S+)/.exec(raw);
    if (from && oldFile === undefined) oldFile = from[1];
  }
  return { lines, oldFile };
}

/** Compares an ICD-10-CM diff with the order addenda CMS ships in the new edition's zip. */
function checkAddenda(file: string, text: string, sections: DiffSection[]): AddendaCheck {
  const { lines } = parseOrderAddenda(text);
  const differences: string[] = [];
  for (const [title, billable] of [['Codes', true], ['Headers', false]] as const) {
    const s = sections.find((x) => x.title === title)!;
    const expect = (action: AddendaLine['action']) => new Set(lines.filter((l) => l.action === action && l.billable === billable).map((l) => l.code));
    const compare = (what: string, addenda: Set<string>, diff: Set<string>) => {
      const missing = [...addenda].filter((c) => !diff.has(c)).sort();
      const extra = [...diff].filter((c) => !addenda.has(c)).sort();
      if (missing.length > 0) differences.push(`${title.toLowerCase()} ${what} in the addenda but not in the diff: ${missing.join(', ')}`);
      if (extra.length > 0) differences.push(`${title.toLowerCase()} ${what} in the diff but not in the addenda: ${extra.join(', ')}`);
    };
    compare('added', expect('Add'), new Set(s.added.map((e) => e.code)));
    compare('deleted', expect('Delete'), new Set(s.deleted.map((e) => e.code)));
    compare('revised', expect('Revise to'), new Set(s.changed.map((e) => e.code)));
    for (const to of lines.filter((l) => l.action === 'Revise to' && l.billable === billable)) {
      const changed = s.changed.find((c) => c.code === to.code);
      const long = changed?.changes.find((c) => c.field === 'long title');
      if (long && long.new !== to.longTitle) differences.push(`${to.code}: the addenda revises the long title to "${to.longTitle}", the new edition has "${long.new}"`);
    }
  }
  return { file, agrees: differences.length === 0, differences };
}

async function icdDiff(oldFile: string, newFile: string): Promise<{ sections: DiffSection[]; addenda?: AddendaCheck }> {
  const sections = icdSections(await orderRecords(oldFile), await orderRecords(newFile));
  if (!(await isZipFile(newFile))) return { sections };
  const member = (await listZipMembers(newFile)).find((m) => /order[-_]addenda/i.test(memberBaseName(m.name)));
  if (!member) return { sections };
  const text = await readSourceText(zipMemberSource(newFile, member.name));
  return { sections, addenda: checkAddenda(`${newFile}!${member.name}`, text, sections) };
}

// HCPCS Level II: codes and modifiers, with their descriptions and dates.

async function hcpcsRecords(file: string): Promise<Map<string, HcpcsRecord>> {
  const out = new Map<string, HcpcsRecord>();
  await readHcpcsRecords([file], new RowCounter(), (r) => out.set(`${r.kind}:${r.code}`, r));
  return out;
}

const dateOrNone = (n: number | undefined) => (n === undefined ? '(none)' : isoOfDateNumber(n));
const HCPCS_FIELDS: ReadonlyArray<[string, (r: HcpcsRecord) => string]> = [
  ['long description', (r) => r.longDescription],
  ['short description', (r) => r.shortDescription],
  ['termination date', (r) => dateOrNone(r.termination)],
  ['added date', (r) => dateOrNone(r.added)],
];

async function hcpcsDiff(oldFile: string, newFile: string): Promise<DiffSection[]> {
  const a = await hcpcsRecords(oldFile);
  const b = await hcpcsRecords(newFile);
  return (['code', 'modifier'] as const).map((kind) => {
    const pick = (m: Map<string, HcpcsRecord>) => new Map([...m].filter(([, r]) => r.kind === kind).map(([, r]) => [r.code, r]));
    const x = pick(a);
    const y = pick(b);
    return compareMaps(section(kind === 'code' ? 'Codes' : 'Modifiers', x.size, y.size), x, y, (r) => r.longDescription || undefined, HCPCS_FIELDS);
  });
}

// NCCI PTP: pairs of codes; for a pair in both, its newest window's modifier indicator and dates.

const windowText = (w: PtpWindow) => `${isoOfDateNumber(w.effective)} to ${w.deletion === OPEN_END ? '*' : isoOfDateNumber(w.deletion)}, modifier indicator ${w.modifierIndicator}`;
const newest = (ws: PtpWindow[]) => ws.reduce((a, b) => (b.effective >= a.effective ? b : a));

function ptpDiff(a: PtpIndex, b: PtpIndex): DiffSection[] {
  const pairs = (index: PtpIndex) => new Map([...index.allPairs()].map((p) => [`${p.column1}/${p.column2}`, p.windows]));
  const x = pairs(a);
  const y = pairs(b);
  const s = section('Edits (column 1/column 2 pairs)', x.size, y.size);
  for (const [pair, ws] of y) if (!x.has(pair)) s.added.push({ code: pair, description: windowText(newest(ws)) });
  for (const [pair, ws] of x) {
    const now = y.get(pair);
    if (!now) {
      s.deleted.push({ code: pair, description: windowText(newest(ws)) });
      continue;
    }
    const before = newest(ws);
    const after = newest(now);
    const changes: FieldChange[] = [];
    if (before.modifierIndicator !== after.modifierIndicator) changes.push({ field: 'modifier indicator', old: String(before.modifierIndicator), new: String(after.modifierIndicator) });
    if (before.effective !== after.effective) changes.push({ field: 'effective date', old: isoOfDateNumber(before.effective), new: isoOfDateNumber(after.effective) });
    if (before.deletion !== after.deletion) changes.push({ field: 'deletion date', old: before.deletion === OPEN_END ? '*' : isoOfDateNumber(before.deletion), new: after.deletion === OPEN_END ? '*' : isoOfDateNumber(after.deletion) });
    if (changes.length === 0 && ws.length !== now.length) changes.push({ field: 'windows', old: ws.map(windowText).join('; '), new: now.map(windowText).join('; ') });
    if (changes.length > 0) s.changed.push({ code: pair, changes });
  }
  return [finish(s)];
}

function mueDiff(a: MueIndex, b: MueIndex): DiffSection[] {
  const x = new Map(a.entries());
  const y = new Map(b.entries());
  return [
    compareMaps(section('MUEs', x.size, y.size), x, y, (e) => `MUE ${e.value}, MAI ${e.adjudicationIndicator}`, [
      ['MUE value', (e) => String(e.value)],
      ['MAI', (e) => e.adjudicationText || String(e.adjudicationIndicator)],
    ]),
  ];
}

function mceDiff(a: MceIndex, b: MceIndex): DiffSection[] {
  const x = new Map(a.entries());
  const y = new Map(b.entries());
  const lists = (flags: Record<string, boolean>) => Object.keys(flags).filter((k) => flags[k]).join(', ');
  return [compareMaps(section('Diagnosis codes on MCE lists', x.size, y.size), x, y, (f) => lists(f), [['lists', (f) => lists(f)]])];
}

function posDiff(a: DatedCodeSet, b: DatedCodeSet): DiffSection[] {
  const x = new Map(a.entries());
  const y = new Map(b.entries());
  return [
    compareMaps(section('Place-of-service codes', x.size, y.size), x, y, (e) => e.description, [
      ['description', (e) => e.description],
      ['effective date', (e) => dateOrNone(e.effective)],
      ['termination date', (e) => dateOrNone(e.termination)],
    ]),
  ];
}

function feeScheduleDiff(a: FeeScheduleIndex, b: FeeScheduleIndex): DiffSection[] {
  const x = new Map(a.entries());
  const y = new Map(b.entries());
  const summary = (e: FeeScheduleEntry) => `status ${e.status}, global ${e.globalDays}`;
  return [
    compareMaps(section('Codes', x.size, y.size), x, y, summary, [
      ['status code', (e) => e.status],
      ['PC/TC indicator', (e) => e.pcTc],
      ['global days', (e) => e.globalDays],
      ['multiple procedure indicator', (e) => e.multipleProcedure],
      ['bilateral indicator', (e) => e.bilateral],
      ['assistant at surgery indicator', (e) => e.assistant],
      ['co-surgeon indicator', (e) => e.coSurgeon],
      ['team surgery indicator', (e) => e.team],
    ]),
  ];
}

function addOnDiff(a: AddOnIndex, b: AddOnIndex): DiffSection[] {
  // One entry per add-on code and primary: an edit added, deleted, or changed in type or dates.
  const pairs = (index: AddOnIndex) => {
    const out = new Map<string, AddOnEdit>();
    for (const [code, edits] of index.entries()) for (const e of edits) out.set(`${code} ${e.primary}`, e);
    return out;
  };
  const x = pairs(a);
  const y = pairs(b);
  return [
    compareMaps(section('Add-on code edits (add-on code and primary)', x.size, y.size), x, y, (e) => `type ${e.type}`, [
      ['edit type', (e) => String(e.type)],
      ['effective date', (e) => e.effective],
      ['edit deletion date', (e) => e.deletion || '(none)'],
      ['primary code deletion date', (e) => e.primaryDeletion || '(none)'],
    ]),
  ];
}

/** Codes a new edition no longer offers: deleted, or (HCPCS) discontinued. */
function deletedCodes(format: TableFormat, sections: DiffSection[]): string[] {
  if (format === 'ncci-ptp' || format === 'mce-code-edits' || format === 'ncci-add-on') return [];
  const codes = new Set<string>();
  for (const s of sections) {
    for (const e of s.deleted) codes.add(e.code);
    for (const c of s.changed) if (c.changes.some((x) => x.field === 'termination date' && x.new !== '(none)')) codes.add(c.code);
  }
  return [...codes];
}

async function filesBelow(dir: string): Promise<string[]> {
  const out: string[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = path.join(dir, e.name);
    // The tables folders are the data itself, not rules or tests that name a code.
    if (e.isDirectory() && e.name !== 'tables' && e.name !== 'node_modules' && !e.name.startsWith('.')) out.push(...(await filesBelow(p)));
    else if (e.isFile() && /\.(ya?ml|json)$/i.test(e.name)) out.push(p);
  }
  return out;
}

/** Where the rules folder names one of the codes (ICD-10-CM codes with or without their dot). */
export async function findReferences(rulesDir: string, codes: readonly string[], icd10cm = false): Promise<Reference[]> {
  if (codes.length === 0) return [];
  const forms = new Map<string, string>();
  for (const code of codes) {
    forms.set(code, code);
    if (icd10cm && code.length > 3) forms.set(`${code.slice(0, 3)}.${code.slice(3)}`, code);
  }
  const escaped = [...forms.keys()].sort((a, b) => b.length - a.length).map((f) => f.replace(/\./g, '\\.'));
  const out: Reference[] = [];
  // Chunks keep each regular expression of a manageable size for a large deletion list.
  const chunks: RegExp[] = [];
  for (let i = 0; i < escaped.length; i += 500) chunks.push(new RegExp(`(?<![A-Za-z0-9.])(${escaped.slice(i, i + 500).join('|')})(?![A-Za-z0-9])`, 'g'));
  for (const file of await filesBelow(rulesDir)) {
    const lines = (await readFile(file, 'utf8')).split(/\r?\n/);
    lines.forEach((text, i) => {
      for (const re of chunks) {
        re.lastIndex = 0;
        for (let m = re.exec(text); m; m = re.exec(text)) out.push({ code: forms.get(m[1]!)!, file, line: i + 1, text: text.trim().slice(0, 160) });
      }
    });
  }
  return out;
}

export async function diffTables(oldFile: DetectedFile, newFile: DetectedFile, rulesDir: string | undefined): Promise<TableDiff> {
  const format = newFile.format;
  const read = async (f: DetectedFile) => f.definition.read([f.file], new RowCounter());
  let sections: DiffSection[];
  let addenda: AddendaCheck | undefined;
  switch (format) {
    case 'icd-10-cm-order': {
      const r = await icdDiff(oldFile.file, newFile.file);
      sections = r.sections;
      addenda = r.addenda;
      break;
    }
    case 'hcpcs':
      sections = await hcpcsDiff(oldFile.file, newFile.file);
      break;
    case 'ncci-ptp':
      sections = ptpDiff((await read(oldFile)) as PtpIndex, (await read(newFile)) as PtpIndex);
      break;
    case 'mue':
      sections = mueDiff((await read(oldFile)) as MueIndex, (await read(newFile)) as MueIndex);
      break;
    case 'mce-code-edits':
      sections = mceDiff((await read(oldFile)) as MceIndex, (await read(newFile)) as MceIndex);
      break;
    case 'place-of-service':
      sections = posDiff((await read(oldFile)) as DatedCodeSet, (await read(newFile)) as DatedCodeSet);
      break;
    case 'mpfs-rvu':
      sections = feeScheduleDiff((await read(oldFile)) as FeeScheduleIndex, (await read(newFile)) as FeeScheduleIndex);
      break;
    case 'ncci-add-on':
      sections = addOnDiff((await read(oldFile)) as AddOnIndex, (await read(newFile)) as AddOnIndex);
      break;
  }
  const side = (f: DetectedFile) => (f.edition ? { file: f.file, edition: f.edition.edition } : { file: f.file });
  const diff: TableDiff = {
    format,
    title: newFile.definition.title,
    old: side(oldFile),
    new: side(newFile),
    sections,
    references: rulesDir ? await findReferences(rulesDir, deletedCodes(format, sections), format === 'icd-10-cm-order') : [],
  };
  if (addenda) diff.addenda = addenda;
  return diff;
}
