import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { loadPackSet } from '../src/packs/loader.js';
import type { PackSet } from '../src/packs/model.js';
import { bundledRulesDir, packageRoot } from '../src/paths.js';
import { codePoolsFromTables } from '../test/support/table-codes.js';
import type { CodePools } from '../test/support/workload.js';
import { writeMue, writePtp } from './gen-tables.js';

/** Where benchmarks keep generated data (git-ignored). */
export const DATA_DIR = path.join(packageRoot, 'bench', '.data');

export const AS_OF = '2026-12-01';
/** Payers of the workload: Medicare and ACME Health have payer packs; the others get the base packs. */
export const BENCH_PAYERS = ['MEDICARE', 'ACME-HEALTH', 'BLUE-PLAN', 'STATE-MEDICAID', 'OTHER-PLAN'];

export interface BenchTables {
  /** Table variables for the packs (empty: the bundled excerpts). */
  env: Record<string, string>;
  fullSize: boolean;
  description: string;
}

/**
 * The full-size synthetic CMS tables of `npm run gen:tables` (2,000,000 PTP rows, 15,000 MUE
 * rows), generated into bench/.data when missing, beside the bundled complete code sets
 * (ICD-10-CM and HCPCS, read from the CMS zips); the bundled tables alone for a quick run.
 */
/**
 * The bundled fee schedule (October 2025) and add-on code edits (2026 Q2) stand in for the
 * editions of the workload's dates (2026), so that their rules do their work on every claim.
 */
const FEE_SCHEDULE_ENV: Record<string, string> = {
  SCRUB_TABLE_MPFS: path.join(bundledRulesDir, 'cms-mpfs', 'tables', 'PPRRVU2025_Oct.no-descriptors.csv'),
  SCRUB_TABLE_MPFS_EDITION: 'PPRRVU2025_Oct standing in for 2026 (bench)',
  SCRUB_TABLE_MPFS_COVERS: '2026-01-01..2026-12-31',
  SCRUB_TABLE_AOC: path.join(bundledRulesDir, 'cms-add-on-codes', 'tables', 'AOC_V2026Q2-MCR.xlsx'),
  SCRUB_TABLE_AOC_EDITION: 'AOC 2026 Q2 standing in for 2026 (bench)',
  SCRUB_TABLE_AOC_COVERS: '2026-01-01..2026-12-31',
};

export async function benchTables(fullSize: boolean): Promise<BenchTables> {
  if (!fullSize) return { env: { ...FEE_SCHEDULE_ENV }, fullSize: false, description: 'bundled tables (complete ICD-10-CM FY2026 and HCPCS January 2026, PTP and MUE excerpts)' };
  const ptp = [1, 2, 3, 4].map((f) => path.join(DATA_DIR, 'ptp', `ccipra-v322r0-f${f}.txt`));
  const mue = path.join(DATA_DIR, 'mue', 'MCR_MUE_PractitionerServices_Eff_07-01-2026.csv');
  if (![...ptp, mue].every((f) => existsSync(f))) {
    console.log('  generating the full-size synthetic CMS tables (npm run gen:tables) ...');
    for (const dir of ['ptp', 'mue']) await mkdir(path.join(DATA_DIR, dir), { recursive: true });
    await writePtp(path.join(DATA_DIR, 'ptp'), 2_000_000);
    await writeMue(path.join(DATA_DIR, 'mue'), 15_000);
  }
  return {
    env: {
      ...FEE_SCHEDULE_ENV,
      SCRUB_TABLE_NCCI_PTP: ptp.join(path.delimiter),
      SCRUB_TABLE_NCCI_PTP_EDITION: 'synthetic full-size PTP (npm run gen:tables)',
      SCRUB_TABLE_MUE: mue,
      SCRUB_TABLE_MUE_EDITION: 'synthetic full-size MUE (npm run gen:tables)',
    },
    fullSize: true,
    // The code sets are the bundled complete ones (ICD-10-CM FY2026, HCPCS January 2026, from their zips).
    description: 'full-size synthetic PTP (2,000,000 rows) and MUE (15,000) tables, the bundled complete ICD-10-CM FY2026 and HCPCS January 2026',
  };
}

/** The bundled packs with the benchmark's tables, and code pools drawn from those tables. */
export async function benchPacks(tables: BenchTables): Promise<{ packs: PackSet; codes: CodePools; env: NodeJS.ProcessEnv }> {
  const env = { ...process.env, ...tables.env };
  const packs = await loadPackSet(bundledRulesDir, undefined, { env });
  return { packs, codes: await codePoolsFromTables(packs, env), env };
}
