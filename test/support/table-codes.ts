import { closeSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
import type { PackSet } from '../../src/packs/model.js';
import { splitPathList } from '../../src/tables/files.js';
import { readHcpcsRecords } from '../../src/tables/formats/hcpcs.js';
import { readOrderRecords } from '../../src/tables/formats/icd10cm-order.js';
import { RowCounter } from '../../src/tables/model.js';
import { SAMPLE_CODES, type CodePools, type PtpPair } from './workload.js';

/**
 * Code pools for the workload, sampled from the tables a pack set loaded (the bundled excerpts,
 * or the full-size files the environment points at): PTP pairs with their date windows and
 * modifier indicators, MUE codes with their limits, ICD-10-CM codes (billable, and headers),
 * MCE sex- and age-specific and manifestation codes, HCPCS drug codes. Pools a table cannot fill
 * keep the built-in sample's codes. Reads at most the first few megabytes of each file.
 */

const SAMPLE_BYTES = 4 << 20;

function head(file: string, bytes = SAMPLE_BYTES): string[] {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const n = readSync(fd, buffer, 0, bytes, 0);
    const lines = buffer.toString('latin1', 0, n).split(/\r?\n/);
    if (n === bytes) lines.pop(); // the last line may be cut
    return lines;
  } finally {
    closeSync(fd);
  }
}

const isoOf = (yyyymmdd: string) => `${yyyymmdd.slice(0, 4)}-${yyyymmdd.slice(4, 6)}-${yyyymmdd.slice(6, 8)}`;
/** ICD-10-CM as claims write it: a dot after the third character. */
const dotted = (code: string) => (code.length > 3 ? `${code.slice(0, 3)}.${code.slice(3)}` : code);

function every<T>(list: T[], max: number): T[] {
  if (list.length <= max) return list;
  const step = list.length / max;
  return Array.from({ length: max }, (_, i) => list[Math.floor(i * step)]!);
}

export type TableEnv = Readonly<Record<string, string | undefined>>;

/**
 * The paths of files a loaded table (or one of its editions) lists: a pack's are relative to
 * the pack, a test's as typed, and a deployment's are named by their place in the variable
 * ("SCRUB_TABLE_MUE file 2", never the path), so they are looked up in `env`, the environment
 * the packs were loaded with (plain paths, as the bench gives them, not globs).
 */
export function tableFilePaths(packDir: string, table: PackSet['packs'][number]['tables'][number], files: readonly string[], env: TableEnv): string[] {
  if (table.source === 'environment' && table.env) {
    const paths = splitPathList(env[table.env] ?? '');
    return files.map((label) => {
      const n = new RegExp(`^${table.env} file (\\d+)$`).exec(label)?.[1];
      const file = n === undefined ? undefined : paths[Number(n) - 1];
      if (file === undefined) throw new Error(`table ${table.name}: "${label}" is not a file of ${table.env} in the environment given`);
      return file;
    });
  }
  return files.map((f) => path.resolve(table.source === 'pack' ? packDir : process.cwd(), f));
}

/**
 * `env` is the environment the packs were loaded with: a table read from a deployment's
 * variable lists its files by position only ("SCRUB_TABLE_MUE file 1"), so its paths are
 * taken from the variable (absolute paths, no globs in the bench's).
 */
export async function codePoolsFromTables(packSet: PackSet, env: TableEnv = process.env): Promise<CodePools> {
  const files = (format: string) => packSet.packs.flatMap((p) => (p.tables ?? []).filter((t) => t.format === format).flatMap((t) => tableFilePaths(p.dir, t, t.files, env)));
  const pools: CodePools = { ...SAMPLE_CODES };

  const ptp: PtpPair[] = [];
  for (const file of files('ncci-ptp')) {
    for (const line of head(file, SAMPLE_BYTES / 4)) {
      const f = line.split('\t');
      if (f.length < 6 || !/^[0-9A-Z]{5}$/.test(f[0]!) || !/^[0-9A-Z]{5}$/.test(f[1]!) || !/^[01]$/.test(f[5]!)) continue;
      if (!/^\d{8}$/.test(f[3]!)) continue;
      const deletion = /^\d{8}$/.test(f[4]!) ? isoOf(f[4]!) : '9999-12-31';
      ptp.push({ column1: f[0]!, column2: f[1]!, from: isoOf(f[3]!), to: deletion });
    }
  }
  if (ptp.length > 0) pools.ptpPairs = every(ptp, 2_000);

  const mue: Array<readonly [string, number]> = [];
  for (const file of files('mue')) {
    for (const line of head(file)) {
      const m = /^"?([0-9A-Z]{5})"?,(\d+),"?([123]) /.exec(line);
      if (m && Number(m[2]) > 0) mue.push([m[1]!, Number(m[2])]);
    }
  }
  if (mue.length > 0) pools.mue = every(mue, 2_000);

  const billable: string[] = [];
  const headers: string[] = [];
  // The order file may be the zip CMS ships: read through the product's reader.
  for (const file of files('icd-10-cm-order')) {
    await readOrderRecords([file], new RowCounter(), (r) => {
      if (/^[A-Z][0-9][0-9A-Z]{1,5}$/.test(r.code)) (r.billable ? billable : headers).push(r.code);
    });
  }
  if (billable.length > 0) pools.diagnoses = [...SAMPLE_CODES.diagnoses, ...every(billable, 500).map(dotted)];
  const problems: string[] = [...every(headers, 20).map(dotted)];
  for (const file of files('mce-code-edits')) {
    const byList = new Map<string, string[]>();
    for (const line of head(file)) {
      const f = line.split('\t');
      if (f[5] !== 'D' || !f[6]) continue;
      const list = byList.get(f[4]!) ?? [];
      list.push(f[6]);
      byList.set(f[4]!, list);
    }
    for (const list of ['Newborn_Only', 'Pediatric_Only', 'Maternity_Only', 'Adult_Only', 'Female_Only', 'Male_Only', 'Principal_Manifestation']) {
      problems.push(...every(byList.get(list) ?? [], 15).map(dotted));
    }
  }
  if (problems.length > 0) pools.problemDiagnoses = problems;

  const drugs: string[] = [];
  for (const file of files('hcpcs')) {
    await readHcpcsRecords([file], new RowCounter(), (r) => {
      // Drugs in force in 2026 (the workload's year): a discontinued code would be a different problem.
      if (r.kind === 'code' && /^J\d{4}$/.test(r.code) && (r.termination === undefined || r.termination >= 20261231)) drugs.push(r.code);
    });
  }
  if (drugs.length > 0) pools.drugs = every(drugs, 60);

  // Procedures: the everyday ones, plus codes the edit tables know (visits stay on the visit line).
  const isVisit = (c: string) => c >= '99202' && c <= '99499';
  const known = [...new Set([...pools.ptpPairs.flatMap((p) => [p.column1, p.column2]), ...pools.mue.map(([c]) => c)])].filter((c) => !isVisit(c));
  pools.procedures = [...SAMPLE_CODES.procedures, ...every(known, 300)];
  return pools;
}
