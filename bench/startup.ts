import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CLI, memoryOf, startServer, stopServer } from './processes.js';
import type { BenchTables } from './setup.js';
import { round } from './stats.js';

/**
 * Start-up: from spawning `scrub serve` to its "listening" line, and its resident memory then,
 * with the benchmark's tables; once reading the table files, once from the snapshot cache
 * (SCRUB_TABLE_CACHE_DIR) that a restart with the same files uses; and, for scale, with the
 * bundled excerpts.
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
  excerpts: StartupFigures;
}

async function measure(env: Record<string, string>): Promise<StartupFigures> {
  const s = await startServer([CLI, 'serve', '--port', '0', '--workers', '1'], { ...env, LOG_LEVEL: 'warn' });
  try {
    const m = await memoryOf(s.child.pid!);
    return { seconds: round(s.startupMs / 1000, 2), rssMiB: round(m?.rssMiB ?? Number.NaN, 0), peakMiB: round(m?.peakMiB ?? Number.NaN, 0) };
  } finally {
    await stopServer(s);
  }
}

export async function startup(tables: BenchTables): Promise<StartupResult> {
  const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'scrub-bench-cache-'));
  try {
    const files = await measure(tables.env);
    await measure({ ...tables.env, SCRUB_TABLE_CACHE_DIR: cacheDir }); // writes the snapshots
    const cached = await measure({ ...tables.env, SCRUB_TABLE_CACHE_DIR: cacheDir });
    const excerpts = await measure({});
    return { tables: tables.description, files, cached, excerpts };
  } finally {
    await rm(cacheDir, { recursive: true, force: true });
  }
}
