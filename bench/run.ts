/**
 * `npm run bench`: every benchmark, each measured against its baseline in the same run, as a
 * table on standard output and the same figures in bench/results.json (git-ignored; see
 * bench/results.example.json). `npm run bench -- --quick` is a fast smoke run with small
 * samples; `--only in-process,http` runs some sections. Timings are not tests: nothing here
 * fails on a slow machine.
 */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from '../src/paths.js';
import { inProcess } from './inprocess.js';
import { benchTables } from './setup.js';
import { formatNumber, table } from './stats.js';

const SECTIONS = ['in-process'] as const;
type Section = (typeof SECTIONS)[number];

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyArg = args.find((a) => a.startsWith('--only'));
const only = onlyArg ? (onlyArg.includes('=') ? onlyArg.split('=')[1]! : args[args.indexOf(onlyArg) + 1]!).split(',') : [...SECTIONS];
const runs = (s: Section) => only.includes(s);

const machine = {
  cores: os.availableParallelism(),
  cpu: os.cpus()[0]?.model ?? 'unknown',
  memoryMiB: Math.round(os.totalmem() / 2 ** 20),
  node: process.version,
  platform: `${process.platform} ${os.release()}`,
};
console.log(`Machine: ${machine.cores} cores (${machine.cpu}), ${machine.memoryMiB} MiB, Node ${machine.node}${quick ? '; quick run' : ''}`);

const results: Record<string, unknown> = { date: new Date().toISOString(), quick, machine };
const rows: string[][] = [['measure', 'value', 'baseline', 'ratio', 'target', 'met']];
const row = (measure: string, value: string, baseline = '', ratio = '', target = '', met = '') => rows.push([measure, value, baseline, ratio, target, met]);
const yes = (ok: boolean) => (ok ? 'yes' : 'NO');
const started = Date.now();

const tables = await benchTables(!quick);
results.tables = tables.description;
console.log(`Tables: ${tables.description}`);

if (runs('in-process')) {
  console.log('in-process: bundled packs, scrubber vs hand-written baseline ...');
  const r = await inProcess(quick, tables);
  results.inProcess = r;
  row(`in-process claims/s (1 core, ${r.rules} rules)`, formatNumber(r.scrubber.claimsPerSecond), formatNumber(r.baseline.claimsPerSecond), r.ratio.toFixed(2), '>= 0.25', yes(r.ratio >= 0.25));
  row('  per-claim p50 / p99 (us)', `${formatNumber(r.scrubber.p50Micros)} / ${formatNumber(r.scrubber.p99Micros)}`, `${formatNumber(r.baseline.p50Micros)} / ${formatNumber(r.baseline.p99Micros)}`);
  row('  baseline agrees (claims)', `${r.baselineAgrees} of ${r.claims}`, '', '', 'all', yes(r.baselineAgrees === r.claims));
  row('  json-rules-engine claims/s (reference)', formatNumber(r.reference.claimsPerSecond), '', `${r.reference.compiledSpeedup}x slower`);
}

results.seconds = Math.round((Date.now() - started) / 1000);
console.log('\n' + table(rows));
console.log(`\n${machine.cores} cores; ${results.seconds} s.`);
const out = path.join(packageRoot, 'bench', 'results.json');
await writeFile(out, JSON.stringify(results, null, 2) + '\n');
console.log(`Figures written to ${path.relative(process.cwd(), out)}`);
