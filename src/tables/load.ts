import path from 'node:path';
import { isIsoDate } from '../claim/dates.js';
import type { FactDefinition } from '../engine/facts.js';
import type { GlobalDaysLookup } from '../engine/history-facts.js';
import type { DateWindow } from '../packs/model.js';
import { readSnapshot, snapshotPath, writeSnapshot, type CachedRows } from './cache.js';
import { Editions, type Edition } from './editions.js';
import { TableFilesError, resolveTableFiles, splitPathList } from './files.js';
import { TABLE_FORMAT_DEFINITIONS } from './formats/index.js';
import {
  RowCounter,
  TableFileError,
  type EditionInfo,
  type SnapshotParts,
  type TableContext,
  type TableDeclaration,
  type TableFormatDefinition,
  type TableInfo,
} from './model.js';
import { sharedIndexKey, type SharedTables } from './shared.js';
import { memberBaseName } from './sources.js';
import { isZipFile, listZipMembers } from './zip.js';

/**
 * Loads one table a pack declares: finds its files (pack.yaml's, or the deployment's through
 * the environment variable), reads them into an index (or takes the index from the snapshot
 * cache), and returns the facts the index offers. Nothing here throws for bad data: every
 * problem comes back as an error (the pack is refused) or a warning (a malformed row, skipped).
 */

/** Files that replace a table's own for a run, such as the fixtures of a pack test. */
export interface TableReplacement {
  files: readonly string[];
  complete?: boolean;
}

export interface TableLoadOptions {
  /** Environment the table variables are read from; process.env by default. */
  env?: Readonly<Record<string, string | undefined>>;
  /** By table name: absolute paths read instead of the table's files (pack tests use it). */
  replace?: Readonly<Record<string, TableReplacement>>;
  /** Folder for index snapshots; SCRUB_TABLE_CACHE_DIR by default; no caching when neither is set. */
  cacheDir?: string;
  /**
   * Indexes shared between the threads of this process: a table found there is taken from it
   * without reading its files; one built here is moved there for other threads. Formats without
   * a snapshot codec (small code lists) are read from their files by every thread.
   */
  shared?: SharedTables;
}

/** Where a problem is: a place in pack.yaml (a JSON pointer into it) or a line of a table file. */
export type TableProblemPlace = { pointer: string } | { file: string; line: number };

export interface TableProblem {
  severity: 'error' | 'warning';
  code: string;
  message: string;
  at: TableProblemPlace;
}

export interface LoadedTable {
  info: TableInfo;
  facts: FactDefinition[];
  /** A fee schedule's global days by code and date (see TableFormatDefinition.globalDays). */
  globalDays?: GlobalDaysLookup;
}

export const CACHE_DIR_VARIABLE = 'SCRUB_TABLE_CACHE_DIR';
/** Suffixes of the companion variables that describe files a deployment supplies. */
export const EDITION_SUFFIX = '_EDITION';
export const COMPLETE_SUFFIX = '_COMPLETE';
export const COVERS_SUFFIX = '_COVERS';

/** Formats whose rules judge a code by its absence, so that `complete` changes findings. */
const CODE_SET_FORMATS = new Set(['icd-10-cm-order', 'hcpcs', 'place-of-service']);

/** "2026-01-01..2026-12-31", either end may be left out. */
function parseCovers(text: string): DateWindow | string {
  const m = /^\s*(\d{4}-\d{2}-\d{2})?\s*\.\.\s*(\d{4}-\d{2}-\d{2})?\s*$/.exec(text);
  if (!m || (!m[1] && !m[2])) return 'write it as FROM..TO with dates YYYY-MM-DD, either end may be left out (2026-01-01..2026-12-31, 2026-01-01..)';
  const window: DateWindow = {};
  if (m[1]) window.from = m[1];
  if (m[2]) window.to = m[2];
  for (const d of [window.from, window.to]) if (d !== undefined && !isIsoDate(d)) return `${d} is not a real date`;
  if (window.from && window.to && window.to < window.from) return `${window.to} is before ${window.from}`;
  return window;
}

/** parseCovers' problem, without the dates it quotes from the value. */
function coverProblemWithoutValue(problem: string): string {
  return /^write it as/.test(problem) ? problem : 'one of its dates is not a real date, or the window ends before it starts';
}

/** A group of files that make one edition, or (edition undefined) files each recognised by its name. */
interface EditionPlan {
  entries: string[];
  edition?: string;
  covers?: DateWindow;
  complete: boolean;
  /** Where pack.yaml writes its files, for errors about them. */
  pointer: string;
  /** False for a test's fixtures: they cover every date unless the test says otherwise. */
  recognise?: boolean;
}

interface Sources {
  source: TableInfo['source'];
  plans: EditionPlan[];
  /** For files the environment supplies without saying which edition they are: what to call them, and the variable. */
  unnamed?: { edition: string; variable: string; example?: string };
}

/** pack.yaml's editions of the table, or the deployment's when its variable is set. */
function describeSources(
  name: string,
  decl: TableDeclaration,
  env: Readonly<Record<string, string | undefined>>,
  problems: TableProblem[],
  replacement?: TableReplacement,
): Sources | undefined {
  if (replacement) {
    const names = replacement.files.map((f) => path.basename(f)).join(', ');
    return {
      source: 'test',
      plans: [{ entries: [...replacement.files], edition: `test fixture (${names})`, complete: replacement.complete ?? false, pointer: `/tables/${name}/files`, recognise: false }],
    };
  }
  const variable = decl.env;
  const value = variable ? env[variable]?.trim() : undefined;
  if (!variable || !value) {
    if (decl.covers && decl.edition === undefined) {
      problems.push({ severity: 'error', code: 'table-edition', at: { pointer: `/tables/${name}/covers` }, message: `table "${name}": "covers" says which dates one edition covers; name that edition with "edition", or list each under "editions"` });
      return undefined;
    }
    const plans: EditionPlan[] = [];
    if (decl.files) {
      const plan: EditionPlan = { entries: decl.files, complete: decl.complete ?? false, pointer: `/tables/${name}/files` };
      if (decl.edition !== undefined) plan.edition = decl.edition;
      if (decl.covers) plan.covers = decl.covers;
      plans.push(plan);
    }
    for (const [i, e] of (decl.editions ?? []).entries()) {
      const plan: EditionPlan = { entries: e.files, edition: e.edition, complete: e.complete ?? decl.complete ?? false, pointer: `/tables/${name}/editions/${i}/files` };
      if (e.covers) plan.covers = e.covers;
      plans.push(plan);
    }
    if (plans.length === 0) {
      problems.push({ severity: 'error', code: 'table-file', at: { pointer: `/tables/${name}` }, message: `table "${name}" has neither "files" nor "editions": list the files it reads` });
      return undefined;
    }
    return { source: 'pack', plans };
  }
  const at = { pointer: `/tables/${name}/env` };
  const edition = env[variable + EDITION_SUFFIX]?.trim();
  const completeText = env[variable + COMPLETE_SUFFIX]?.trim().toLowerCase();
  const coversText = env[variable + COVERS_SUFFIX]?.trim();
  // Messages name a variable, never quote its value: they reach logs, HTTP answers and CI logs.
  let complete = false;
  if (completeText === 'true' || completeText === 'yes' || completeText === '1') complete = true;
  else if (completeText && !['false', 'no', '0'].includes(completeText)) {
    problems.push({ severity: 'error', code: 'table-env', at, message: `table "${name}": ${variable + COMPLETE_SUFFIX} is neither true nor false; write true or false` });
    return undefined;
  }
  const plan: EditionPlan = { entries: splitPathList(value), complete, pointer: `/tables/${name}/env` };
  if (edition) plan.edition = edition;
  if (coversText) {
    const covers = parseCovers(coversText);
    if (typeof covers === 'string') {
      problems.push({ severity: 'error', code: 'table-env', at, message: `table "${name}": ${variable + COVERS_SUFFIX} is not a window of dates of service: ${coverProblemWithoutValue(covers)}` });
      return undefined;
    }
    plan.covers = covers;
  }
  if (completeText === undefined && CODE_SET_FORMATS.has(decl.format)) {
    problems.push({
      severity: 'warning',
      code: 'table-env',
      at,
      message: `table "${name}" reads the files in ${variable} as an excerpt, so codes missing from them are not flagged; set ${variable + COMPLETE_SUFFIX}=true if they are the whole code set`,
    });
  }
  // Without a stated edition, findings must not quote the pack's edition for other files.
  const unnamed: NonNullable<Sources['unnamed']> = { edition: `files from ${variable} (edition not stated)`, variable };
  if (decl.edition) unnamed.example = decl.edition;
  return { source: 'environment', plans: [plan], unnamed };
}

function fileProblem(error: unknown, shown: (file: string) => string): { file?: string; line: number; message: string } {
  if (error instanceof TableFileError) return { file: shown(error.file), line: error.line, message: error.message };
  const e = error as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && typeof e.path === 'string') {
    // The system's message quotes the path; the code says enough.
    const why = e.code === 'EACCES' ? 'permission denied' : e.code === 'EISDIR' ? 'it is a folder' : e.code === 'ENOENT' ? 'it does not exist' : (e.code ?? 'unknown error');
    return { file: shown(e.path), line: 1, message: `the file cannot be read: ${why}` };
  }
  return { line: 1, message: `the table could not be read: ${error instanceof Error ? error.name : typeof error}` };
}

/**
 * How a table's file is named in its problems: as read, except a deployment's files, named by
 * the variable that lists them ("SCRUB_TABLE_MUE file 2"), whose value is never quoted.
 */
export function tableFileLabel(source: { source: TableInfo['source']; env?: string }, files: readonly string[]): (file: string) => string {
  if (source.source !== 'environment' || !source.env) return (file) => file;
  const variable = source.env;
  return (file) => {
    const i = files.indexOf(file);
    return i === -1 ? `a file of ${variable}` : `${variable} file ${i + 1}`;
  };
}

/** The names an edition may be recognised by: the file's, and for a zip the files inside it. */
async function namesOf(file: string): Promise<string[]> {
  const names = [path.basename(file)];
  try {
    if (await isZipFile(file)) names.push(...(await listZipMembers(file)).map((m) => memberBaseName(m.name)));
  } catch {
    /* an unreadable zip is reported when it is read */
  }
  return names;
}

/** One edition to load: its files (absolute), what it is called, and what it covers. */
interface EditionToLoad {
  files: string[];
  edition: string;
  covers?: DateWindow;
  complete: boolean;
  named: EditionInfo['named'];
}

/**
 * Splits the files of the plans into editions: a plan that names its edition is one edition
 * (its dates, when not given, recognised from the file names if they all agree); the files of a
 * plan that does not are grouped by the edition each one's name says (the four files of a PTP
 * release are one edition).
 */
async function editionsOf(
  name: string,
  definition: TableFormatDefinition<unknown>,
  sources: Sources,
  resolved: string[][],
  shown: (file: string) => string,
  problems: TableProblem[],
): Promise<EditionToLoad[] | undefined> {
  // A file is quoted by its name, a deployment's by its place in the variable (never its path).
  const quoted = (files: readonly string[]) => files.map((f) => (sources.source === 'environment' ? shown(f) : `"${path.basename(f)}"`)).join(', ');
  const out: EditionToLoad[] = [];
  for (const [i, plan] of sources.plans.entries()) {
    const files = resolved[i]!;
    const recognised = definition.recognise && plan.recognise !== false ? await Promise.all(files.map(async (f) => definition.recognise!(await namesOf(f)))) : files.map(() => undefined);
    if (plan.edition !== undefined) {
      const e: EditionToLoad = { files, edition: plan.edition, complete: plan.complete, named: 'declared' };
      const first = recognised[0];
      const agreed = first && recognised.every((r) => r && r.edition === first.edition) ? first : undefined;
      const covers = plan.covers ?? agreed?.covers;
      if (covers) e.covers = covers;
      out.push(e);
      continue;
    }
    const groups = new Map<string, EditionToLoad>();
    const unnamed: string[] = [];
    files.forEach((file, k) => {
      const r = recognised[k];
      if (!r) {
        unnamed.push(file);
        return;
      }
      const group = groups.get(r.edition);
      if (group) group.files.push(file);
      else groups.set(r.edition, { files: [file], edition: r.edition, covers: plan.covers ?? r.covers, complete: plan.complete, named: 'recognised' });
    });
    if (unnamed.length > 0) {
      if (sources.unnamed === undefined) {
        problems.push({
          severity: 'error',
          code: 'table-edition',
          at: { pointer: plan.pointer },
          message: `table "${name}": the name of ${quoted(unnamed)} does not say which ${definition.title} release it is; give the table an "edition" and "covers", or list the file under "editions" with them`,
        });
        return undefined;
      }
      const { variable, example } = sources.unnamed;
      problems.push({
        severity: 'warning',
        code: 'table-env',
        at: { pointer: plan.pointer },
        message: `table "${name}" reads the files in ${variable}, and the name of ${quoted(unnamed)} does not say which release ${unnamed.length === 1 ? 'it is' : 'they are'}; set ${variable + EDITION_SUFFIX} to their edition${example ? ` (such as "${example}")` : ''} so that findings name it`,
      });
      const e: EditionToLoad = { files: unnamed, edition: sources.unnamed.edition, complete: plan.complete, named: 'declared' };
      if (plan.covers) e.covers = plan.covers;
      out.push(e);
    }
    out.push(...groups.values());
  }
  const seen = new Map<string, EditionToLoad>();
  for (const e of out) {
    const earlier = seen.get(e.edition);
    if (earlier) {
      problems.push({
        severity: 'error',
        code: 'table-edition',
        at: { pointer: sources.plans[0]!.pointer },
        message: `table "${name}": the edition "${e.edition}" is loaded twice (${quoted([...earlier.files, ...e.files])}); keep one copy`,
      });
      return undefined;
    }
    seen.set(e.edition, e);
  }
  return out.sort((a, b) => ((a.covers?.from ?? '') < (b.covers?.from ?? '') ? -1 : (a.covers?.from ?? '') > (b.covers?.from ?? '') ? 1 : 0));
}

interface LoadedIndex {
  index: unknown;
  rows: CachedRows;
  loadedFrom: TableInfo['loadedFrom'];
}

/** Reads one edition's index from its files, or takes it from shared memory or the snapshot cache. */
async function loadIndex(
  name: string,
  definition: TableFormatDefinition<unknown>,
  files: string[],
  options: TableLoadOptions,
  cacheDir: string | undefined,
  shown: (file: string) => string,
  problems: TableProblem[],
): Promise<LoadedIndex | undefined> {
  const codec = definition.snapshot;
  const sharing = codec && options.shared ? { tables: options.shared, key: sharedIndexKey(definition.format, codec.version, files) } : undefined;
  // An index another thread built (shared memory) or an earlier run (the snapshot cache) is
  // taken from its parts, the same way; only without either are the files read.
  let stored: { parts: SnapshotParts; rows: CachedRows } | undefined = sharing?.tables.get(sharing.key);
  let loadedFrom: TableInfo['loadedFrom'] = stored ? 'shared' : 'files';
  let cacheFile: string | undefined;
  if (!stored && cacheDir && codec) {
    try {
      cacheFile = await snapshotPath(path.resolve(cacheDir), definition.format, codec.version, files);
      stored = await readSnapshot(cacheFile);
      if (stored) loadedFrom = 'cache';
    } catch {
      stored = undefined; // an unusable cache is a miss, never a failure
    }
  }
  let index: unknown;
  let rows: CachedRows;
  if (stored) rows = stored.rows;
  else {
    const counter = new RowCounter();
    try {
      index = await definition.read(files, counter);
    } catch (error) {
      const p = fileProblem(error, shown);
      const at = p.file ? { file: p.file, line: p.line } : { pointer: `/tables/${name}` };
      problems.push({ severity: 'error', code: 'table-file', at, message: `table "${name}" (${definition.title}): ${p.message}` });
      return undefined;
    }
    rows = { taken: counter.taken, skipped: counter.skipped, ignored: counter.ignored, problems: counter.problems, unreported: counter.unreported() };
    if (cacheFile && codec) {
      try {
        await writeSnapshot(cacheFile, codec.write(index), rows);
      } catch (error) {
        problems.push({
          severity: 'warning',
          code: 'table-cache',
          at: { pointer: `/tables/${name}` },
          message: `table "${name}": could not write its index snapshot to ${cacheFile} (${error instanceof Error ? error.message : String(error)}); it still loaded from its files`,
        });
      }
    }
  }
  if (codec && sharing && loadedFrom !== 'shared') {
    // This thread reads the index from shared memory too, so the process holds one copy: the
    // index just built (or the snapshot file's buffer) is let go as its arrays are moved.
    const parts = stored?.parts ?? codec.write(index);
    index = undefined;
    stored = sharing.tables.add(sharing.key, parts, rows);
  }
  if (codec && stored) index = codec.read(stored.parts);
  for (const p of rows.problems) {
    problems.push({ severity: 'warning', code: 'table-row', at: { file: shown(p.file), line: p.line }, message: `table "${name}": ${p.message}` });
  }
  for (const u of rows.unreported) {
    problems.push({
      severity: 'warning',
      code: 'table-row',
      at: { file: shown(u.file), line: 1 },
      message: `table "${name}": ${u.count} more problem${u.count === 1 ? '' : 's'} in this file not listed one by one`,
    });
  }
  return { index, rows, loadedFrom };
}

/** The span of dates the editions cover together (an open end when any edition's is open). */
function spanOf(editions: readonly EditionInfo[]): DateWindow | undefined {
  if (editions.some((e) => !e.covers)) return undefined;
  const froms = editions.map((e) => e.covers!.from);
  const tos = editions.map((e) => e.covers!.to);
  const span: DateWindow = {};
  if (froms.every((f) => f !== undefined)) span.from = (froms as string[]).reduce((a, b) => (a < b ? a : b));
  if (tos.every((t) => t !== undefined)) span.to = (tos as string[]).reduce((a, b) => (a > b ? a : b));
  return span.from || span.to ? span : undefined;
}

export async function loadTable(
  name: string,
  decl: TableDeclaration,
  packDir: string,
  options: TableLoadOptions = {},
): Promise<{ table?: LoadedTable; problems: TableProblem[] }> {
  const problems: TableProblem[] = [];
  const definition = TABLE_FORMAT_DEFINITIONS.get(decl.format);
  if (!definition) {
    problems.push({ severity: 'error', code: 'table-format', at: { pointer: `/tables/${name}/format` }, message: `table "${name}": there is no table format "${decl.format}"` });
    return { problems };
  }
  const env = options.env ?? process.env;
  const sources = describeSources(name, decl, env, problems, options.replace?.[name]);
  if (!sources) return { problems };

  const resolved: string[][] = [];
  for (const plan of sources.plans) {
    try {
      resolved.push(
        sources.source === 'pack'
          ? await resolveTableFiles(plan.entries, packDir, { confineTo: packDir })
          : sources.source === 'environment'
            ? await resolveTableFiles(plan.entries, packDir, { variable: decl.env! })
            : // A pack test's fixtures: anywhere in the rules folder its packs share.
              await resolveTableFiles(plan.entries, packDir, { confineTo: path.dirname(packDir), confineName: 'the rules folder' }),
      );
    } catch (error) {
      const entry = error instanceof TableFilesError ? error.entry : undefined;
      const pointer = sources.source !== 'environment' && entry !== undefined ? `${plan.pointer}/${entry}` : plan.pointer;
      problems.push({ severity: 'error', code: 'table-file', at: { pointer }, message: `table "${name}": ${error instanceof Error ? error.message : String(error)}` });
      return { problems };
    }
  }
  const shown = tableFileLabel({ source: sources.source, ...(decl.env ? { env: decl.env } : {}) }, resolved.flat());
  const toLoad = await editionsOf(name, definition, sources, resolved, shown, problems);
  if (!toLoad) return { problems };

  const cacheDir = options.cacheDir ?? env[CACHE_DIR_VARIABLE]?.trim();
  const editions: Array<Edition<unknown>> = [];
  const infos: EditionInfo[] = [];
  for (const e of toLoad) {
    const loaded = await loadIndex(name, definition, e.files, options, cacheDir, shown, problems);
    if (!loaded) return { problems };
    const context: TableContext = { name, edition: e.edition, complete: e.complete };
    if (e.covers) context.covers = e.covers;
    editions.push({ context, index: loaded.index });
    const info: EditionInfo = {
      edition: e.edition,
      complete: e.complete,
      named: e.named,
      files: e.files,
      rowsTaken: loaded.rows.taken,
      rowsSkipped: loaded.rows.skipped,
      rowsIgnored: loaded.rows.ignored,
      loadedFrom: loaded.loadedFrom,
    };
    if (e.covers) info.covers = e.covers;
    infos.push(info);
  }
  const sum = (field: 'rowsTaken' | 'rowsSkipped' | 'rowsIgnored') => infos.reduce((n, e) => n + e[field], 0);
  const info: TableInfo = {
    name,
    format: decl.format,
    title: definition.title,
    edition: infos.map((e) => e.edition).join(' + '),
    complete: infos.every((e) => e.complete),
    files: infos.flatMap((e) => e.files),
    source: sources.source,
    rowsTaken: sum('rowsTaken'),
    rowsSkipped: sum('rowsSkipped'),
    rowsIgnored: sum('rowsIgnored'),
    loadedFrom: infos.some((e) => e.loadedFrom === 'files') ? 'files' : infos.some((e) => e.loadedFrom === 'cache') ? 'cache' : 'shared',
    editions: infos,
  };
  const covers = spanOf(infos);
  if (covers) info.covers = covers;
  if (decl.env) info.env = decl.env;
  const loaded = new Editions(name, editions);
  // A table's facts look the item up in the table: the pack reading them does not change them.
  const table: LoadedTable = { info, facts: definition.facts(loaded, { name }).map((fact) => ({ ...fact, samePerPack: true })) };
  if (definition.globalDays) table.globalDays = definition.globalDays(loaded);
  return { table, problems };
}
