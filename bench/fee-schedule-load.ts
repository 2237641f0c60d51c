/**
 * Load time and memory of the two fee schedule tables (the bundled PPRRVU2025_Oct and
 * AOC_V2026Q2-MCR.xlsx), read from their files (cold) and from the snapshot cache, each in a
 * fresh process so that one load does not warm the next. `tsx bench/fee-schedule-load.ts`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTable } from '../src/tables/load.js';
import type { TableDeclaration } from '../src/tables/model.js';
import { bundledRulesDir } from '../src/paths.js';

const TABLES: Record<string, { pack: string; decl: TableDeclaration }> = {
  mpfs: { pack: 'cms-mpfs', decl: { format: 'mpfs-rvu', complete: true, files: ['tables/PPRRVU*.csv'] } },
  aoc: { pack: 'cms-add-on-codes', decl: { format: 'ncci-add-on', complete: true, files: ['tables/AOC_*.xlsx'] } },
};

async function once(name: string, cacheDir: string): Promise<void> {
  const { pack, decl } = TABLES[name]!;
  const rss = process.memoryUsage().rss;
  const start = process.hrtime.bigint();
  const { table } = await loadTable(name, decl, path.join(bundledRulesDir, pack), { cacheDir, env: {} });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  console.log(JSON.stringify({ table: name, ms: Math.round(ms), rssAddedMiB: Math.round(((process.memoryUsage().rss - rss) / 2 ** 20) * 10) / 10, rows: table?.info.rowsTaken, loadedFrom: table?.info.loadedFrom }));
}

if (process.argv[2] === 'child') {
  await once(process.argv[3]!, process.argv[4]!);
} else {
  const self = fileURLToPath(import.meta.url);
  for (const name of Object.keys(TABLES)) {
    const cache = mkdtempSync(path.join(os.tmpdir(), 'scrub-fee-load-'));
    for (const run of ['cold', 'cached']) {
      const out = execFileSync(process.execPath, ['--import', 'tsx', self, 'child', name, cache], { encoding: 'utf8' });
      console.log(run, out.trim());
    }
    rmSync(cache, { recursive: true, force: true });
  }
}
