import path from 'node:path';
import { isIsoDate } from '../claim/dates.js';
import type { FactDefinition } from '../engine/facts.js';
import type { DateWindow } from '../packs/model.js';
import { readSnapshot, snapshotPath, writeSnapshot, type CachedRows } from './cache.js';
import { TableFilesError, resolveTableFiles, splitPathList } from './files.js';
import { TABLE_FORMAT_DEFINITIONS } from './formats/index.js';
import { RowCounter, TableFileError, type SnapshotParts, type TableContext, type TableDeclaration, type TableInfo } from './model.js';
import { sharedIndexKey, type SharedTables } from './shared.js';

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

interface Source {
  files: string[];
  source: TableInfo['source'];
  edition: string;
  complete: boolean;
  covers?: DateWindow;
}

/** pack.yaml's description of the table, or the deployment's when its variable is set. */
function describeSource(
  name: string,
  decl: TableDeclaration,
  env: Readonly<Record<string, string | undefined>>,
  problems: TableProblem[],
  replacement?: TableReplacement,
): Source | undefined {
  if (replacement) {
    const names = replacement.files.map((f) => path.basename(f)).join(', ');
    return { files: [...replacement.files], source: 'test', edition: `test fixture (${names})`, complete: replacement.complete ?? false };
  }
  const variable = decl.env;
  const value = variable ? env[variable]?.trim() : undefined;
  if (!variable || !value) {
    const s: Source = { files: decl.files, source: 'pack', edition: decl.edition, complete: decl.complete ?? false };
    if (decl.covers) s.covers = decl.covers;
    return s;
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
  const s: Source = {
    files: splitPathList(value),
    source: 'environment',
    // Without a stated edition, findings must not quote the pack's edition for other files.
    edition: edition || `files from ${variable} (edition not stated)`,
    complete,
  };
  if (coversText) {
    const covers = parseCovers(coversText);
    if (typeof covers === 'string') {
      problems.push({ severity: 'error', code: 'table-env', at, message: `table "${name}": ${variable + COVERS_SUFFIX} is not a window of dates of service: ${coverProblemWithoutValue(covers)}` });
      return undefined;
    }
    s.covers = covers;
  }
  if (!edition) {
    problems.push({
      severity: 'warning',
      code: 'table-env',
      at,
      message: `table "${name}" reads the files in ${variable}; set ${variable + EDITION_SUFFIX} to their edition (such as "${decl.edition}") so that findings name it`,
    });
  }
  if (completeText === undefined && CODE_SET_FORMATS.has(decl.format)) {
    problems.push({
      severity: 'warning',
      code: 'table-env',
      at,
      message: `table "${name}" reads the files in ${variable} as an excerpt, so codes missing from them are not flagged; set ${variable + COMPLETE_SUFFIX}=true if they are the whole code set`,
    });
  }
  return s;
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
  const source = describeSource(name, decl, env, problems, options.replace?.[name]);
  if (!source) return { problems };

  let files: string[];
  try {
    files =
      source.source === 'pack'
        ? await resolveTableFiles(source.files, packDir, { confineTo: packDir })
        : source.source === 'environment'
          ? await resolveTableFiles(source.files, packDir, { variable: decl.env! })
          : // A pack test's fixtures: anywhere in the rules folder its packs share.
            await resolveTableFiles(source.files, packDir, { confineTo: path.dirname(packDir), confineName: 'the rules folder' });
  } catch (error) {
    const entry = error instanceof TableFilesError ? error.entry : undefined;
    const pointer = source.source === 'environment' ? `/tables/${name}/env` : entry !== undefined ? `/tables/${name}/files/${entry}` : `/tables/${name}/files`;
    problems.push({ severity: 'error', code: 'table-file', at: { pointer }, message: `table "${name}": ${error instanceof Error ? error.message : String(error)}` });
    return { problems };
  }

  const shown = tableFileLabel({ source: source.source, ...(decl.env ? { env: decl.env } : {}) }, files);
  const context: TableContext = { name, edition: source.edition, complete: source.complete };
  if (source.covers) context.covers = source.covers;

  const cacheDir = options.cacheDir ?? env[CACHE_DIR_VARIABLE]?.trim();
  const codec = definition.snapshot;
  const sharing = codec && options.shared ? { tables: options.shared, key: sharedIndexKey(decl.format, codec.version, files) } : undefined;
  // An index another thread built (shared memory) or an earlier run (the snapshot cache) is
  // taken from its parts, the same way; only without either are the files read.
  let stored: { parts: SnapshotParts; rows: CachedRows } | undefined = sharing?.tables.get(sharing.key);
  let loadedFrom: TableInfo['loadedFrom'] = stored ? 'shared' : 'files';
  let cacheFile: string | undefined;
  if (!stored && cacheDir && codec) {
    try {
      cacheFile = await snapshotPath(path.resolve(cacheDir), decl.format, codec.version, files);
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
      return { problems };
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
  const info: TableInfo = {
    name,
    format: decl.format,
    edition: source.edition,
    complete: source.complete,
    files,
    source: source.source,
    rowsTaken: rows.taken,
    rowsSkipped: rows.skipped,
    rowsIgnored: rows.ignored,
    loadedFrom,
  };
  if (source.covers) info.covers = source.covers;
  if (decl.env) info.env = decl.env;
  return { table: { info, facts: definition.facts(index, context) }, problems };
}
