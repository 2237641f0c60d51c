import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { DateWindow } from '../packs/model.js';
import { detectFile } from './detect.js';
import { RowCounter, TableFileError, type RowProblem, type TableFormat } from './model.js';

/**
 * `scrub tables verify DIR`: every file of a tables folder read the way a pack would read it,
 * before a data update is committed or deployed. Which format and edition each file is, rows
 * taken and skipped, every skipped row with its file:line.
 */

export interface VerifiedFile {
  file: string;
  /** `ok`: read; `error`: a table file that cannot be used; `not-a-table`: a file no format reads (a README), left alone. */
  status: 'ok' | 'error' | 'not-a-table';
  format?: TableFormat;
  title?: string;
  edition?: string;
  covers?: DateWindow;
  rowsTaken: number;
  rowsSkipped: number;
  rowsIgnored: number;
  /** Every skipped row and every other problem, at file:line. */
  problems: RowProblem[];
  error?: string;
}

export interface Verification {
  files: VerifiedFile[];
  errors: number;
  rowsSkipped: number;
}

/** The files of a folder (not its sub-folders or hidden files), or the one file given. */
async function filesOf(target: string): Promise<string[]> {
  const info = await stat(target);
  if (info.isFile()) return [target];
  const names = (await readdir(target, { withFileTypes: true })).filter((e) => e.isFile() && !e.name.startsWith('.')).map((e) => e.name).sort();
  return names.map((n) => path.join(target, n));
}

export async function verifyFile(file: string): Promise<VerifiedFile> {
  const out: VerifiedFile = { file, status: 'not-a-table', rowsTaken: 0, rowsSkipped: 0, rowsIgnored: 0, problems: [] };
  let detected;
  try {
    detected = await detectFile(file);
  } catch (error) {
    return { ...out, status: 'error', error: error instanceof Error ? error.message : String(error) };
  }
  if (!detected) return out;
  out.format = detected.format;
  out.title = detected.definition.title;
  if (detected.edition) {
    out.edition = detected.edition.edition;
    out.covers = detected.edition.covers;
  }
  const rows = new RowCounter(Number.POSITIVE_INFINITY);
  try {
    await detected.definition.read([file], rows);
    out.status = 'ok';
  } catch (error) {
    out.status = 'error';
    out.error = error instanceof TableFileError ? `${error.file === file ? '' : `${error.file}: `}${error.message}` : error instanceof Error ? error.message : String(error);
  }
  out.rowsTaken = rows.taken;
  out.rowsSkipped = rows.skipped;
  out.rowsIgnored = rows.ignored;
  out.problems = rows.problems;
  return out;
}

export async function verifyTables(target: string): Promise<Verification> {
  const files: VerifiedFile[] = [];
  for (const file of await filesOf(target)) files.push(await verifyFile(file));
  return {
    files,
    errors: files.filter((f) => f.status === 'error').length,
    rowsSkipped: files.reduce((n, f) => n + f.rowsSkipped, 0),
  };
}
