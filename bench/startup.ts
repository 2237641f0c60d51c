import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from '../src/paths.js';
import { CLI, memoryOf, startServer, stopServer } from './processes.js';
import type { BenchTables } from './setup.js';
import { median, round } from './stats.js';

/**
 * Start-up: from spawning `scrub serve` to its "listening" line, and its resident memory then.
 *  - with the benchmark's tables (full-size PTP and MUE beside the bundled code sets), reading
 *    the files, then from the snapshot cache (SCRUB_TABLE_CACHE_DIR) a restart with the same
 *    files uses;
 *  - with the bundled packs alone, whose code sets are the complete ICD-10-CM FY2026 and HCPCS
 *    January 2026 read from their CMS zips: cold, and from the snapshot cache;
 *  - the baseline: the packs as main bundled them before the complete code sets (an ICD-10-CM
 *    excerpt of 100 lines and a 2022 HCPCS list), taken from git, loaded by this same build.
 * Each start-up is measured three times and the median kept: the machine is shared.
 */

export interface StartupFigures {
  seconds: number;
  rssMiB: number;
  peakMiB: number;
}

export interface StartupResult {
  tables: string;
  files: StartupFigures;
  cached: StartupFigures;
  codeSets: { cold: StartupFigures; cached: StartupFigures; baseline?: StartupFigures; baselineRef?: string; coldRatio?: number; cachedRatio?: number };
}

async function once(env: Record<string, string>, rules?: string): Promise<StartupFigures> {
  const args = [CLI, 'serve', '--port', '0', '--workers', '1', ...(rules ? ['--rules', rules] : [])];
  const s = await startServer(args, { ...env, LOG_LEVEL: 'warn' });
  try {
    const m = await memoryOf(s.child.pid!);
    return { seconds: round(s.startupMs / 1000, 2), rssMiB: round(m?.rssMiB ?? Number.NaN, 0), peakMiB: round(m?.peakMiB ?? Number.NaN, 0) };
  } finally {
    await stopServer(s);
  }
}

async function measure(env: Record<string, string>, rules?: string, runs = 3): Promise<StartupFigures> {
  const all: StartupFigures[] = [];
  for (let i = 0; i < runs; i++) all.push(await once(env, rules));
  const pick = (k: keyof StartupFigures) => median(all.map((f) => f[k]));
  return { seconds: pick('seconds'), rssMiB: pick('rssMiB'), peakMiB: pick('peakMiB') };
}

/** The rules folder as main had it before the complete code sets, extracted from git; undefined without git. */
function baselineRules(into: string): string | undefined {
  const ref = process.env.SCRUB_BENCH_BASELINE_REF ?? 'bbb0a2d';
  try {
    execFileSync('sh', ['-c', `git -C "${packageRoot}" archive "${ref}" rules | tar -x -C "${into}"`], { stdio: 'ignore' });
    return path.join(into, 'rules');
  } catch {
    return undefined;
  }
}

export async function startup(tables: BenchTables, quick = false): Promise<StartupResult> {
  const runs = quick ? 1 : 3;
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'scrub-bench-startup-'));
  const cacheDir = path.join(scratch, 'cache');
  const codeSetCache = path.join(scratch, 'cache-code-sets');
  try {
    const files = await measure(tables.env, undefined, runs);
    await once({ ...tables.env, SCRUB_TABLE_CACHE_DIR: cacheDir }); // writes the snapshots
    const cached = await measure({ ...tables.env, SCRUB_TABLE_CACHE_DIR: cacheDir }, undefined, runs);

    const cold = await measure({}, undefined, runs);
    await once({ SCRUB_TABLE_CACHE_DIR: codeSetCache });
    const warm = await measure({ SCRUB_TABLE_CACHE_DIR: codeSetCache }, undefined, runs);
    const codeSets: StartupResult['codeSets'] = { cold, cached: warm };
    const rules = baselineRules(scratch);
    if (rules) {
      const baseline = await measure({}, rules, runs);
      codeSets.baseline = baseline;
      codeSets.baselineRef = process.env.SCRUB_BENCH_BASELINE_REF ?? 'bbb0a2d';
      codeSets.coldRatio = round(cold.seconds / baseline.seconds, 2);
      codeSets.cachedRatio = round(warm.seconds / baseline.seconds, 2);
    }
    return { tables: tables.description, files, cached, codeSets };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
