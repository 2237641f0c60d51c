import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CACHE_DIR_VARIABLE } from '../../src/tables/load.js';

/**
 * Vitest global setup: one snapshot cache of table indexes for the whole test run, so that the
 * bundled complete code sets (98,186 ICD-10-CM rows, 9,006 HCPCS rows) are parsed from their
 * zips once and then read from snapshots by every test file, `scrub` command and service the
 * tests start (about 0.25 s instead of about 2 s each). The cache is the product's own
 * (SCRUB_TABLE_CACHE_DIR): a snapshot is keyed by each file's path and fingerprint, so a test's
 * own or changed table files simply miss it. Tests that load with an explicit `env` (the table
 * tests) read their files as before; tests/tables/pack-tables.test.ts covers the cache itself.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'scrub-test-table-snapshots-'));
  // Set before the test workers start: they, and the processes they spawn with it, inherit it.
  process.env[CACHE_DIR_VARIABLE] = dir;
  return () => rm(dir, { recursive: true, force: true });
}

/** The test run's snapshot cache as an environment entry, for commands and services a test starts with an environment of its own. */
export function tableSnapshotEnv(): Record<string, string> {
  const dir = process.env[CACHE_DIR_VARIABLE];
  return dir ? { [CACHE_DIR_VARIABLE]: dir } : {};
}
