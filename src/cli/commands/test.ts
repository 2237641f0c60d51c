import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { STRUCTURE_RULE_IDS } from '../../claim/validate.js';
import { engineFrom } from '../../engine/engines.js';
import { formatDiagnostic, type PackDiagnostic } from '../../packs/diagnostics.js';
import type { Pack } from '../../packs/model.js';
import { readPackSet } from '../../packs/loader.js';
import { SharedTables } from '../../tables/shared.js';
import { discoverTests, type TestCase } from '../../testing/cases.js';
import { measureCoverage, type CoverageReport } from '../../testing/coverage.js';
import { junitReport } from '../../testing/junit.js';
import { CaseScrubbers, runCase, unknownRuleIds, type CaseResult } from '../../testing/runner.js';
import { PackLoadError } from '../../packs/diagnostics.js';
import { EXIT, UsageError, write, type CliIo } from '../io.js';
import { styleFor, type Style } from '../output.js';
import { rulesDirFrom } from '../rules-dir.js';

export const testHelp = `Usage: scrub test [options] [DIR...]

Runs the pack tests (rules/<pack>/tests/*.test.yaml) of each rules folder against its packs
and ends with "N passed, N failed".

Options:
  --filter TEXT               run only cases whose rule id or name contains TEXT
  --reporter text|junit       text for people (default); junit writes JUnit XML
  --output FILE               where --reporter junit writes (default: standard output)
  --coverage                  show, per rule, whether a case made it fire and a case kept it quiet
  --coverage-threshold N      fail (exit 1) when fewer than N percent of the rules are covered both ways
  --engine compiled|reference how conditions are evaluated: compiled (default), or by json-rules-engine
                              itself (default: $SCRUB_ENGINE, else compiled)
  -h, --help                  show this help

Exit status: 0 all passed, 1 a case failed or coverage is below the threshold,
2 a pack or test file cannot be loaded.`;

function matchesFilter(c: TestCase, filter: string): boolean {
  const f = filter.toLowerCase();
  return [c.name, c.rule ?? '', ...c.expect.map((e) => e.rule), ...c.ok].some((text) => text.toLowerCase().includes(f));
}

async function printCoverage(io: CliIo, report: CoverageReport, s: Style): Promise<void> {
  const lines = ['', s.bold('Coverage (a case that fires / a case that stays quiet):')];
  let pack = '';
  for (const r of report.rules) {
    if (r.pack !== pack) lines.push(`  ${s.bold(r.pack)}`);
    pack = r.pack;
    const mark = (ok: boolean, word: string) => (ok ? s.green(`✓ ${word}`) : s.red(`✗ ${word}`));
    lines.push(`    ${r.ruleId.padEnd(44)} ${mark(r.fires, 'fires')}  ${mark(r.quiet, 'quiet')}`);
  }
  lines.push(`  ${report.covered} of ${report.total} rules covered both ways: ${report.percent}%`);
  await write(io.stdout, lines.join('\n') + '\n');
}

export async function test(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      filter: { type: 'string' },
      reporter: { type: 'string', default: 'text' },
      output: { type: 'string' },
      coverage: { type: 'boolean', default: false },
      'coverage-threshold': { type: 'string' },
      engine: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    await write(io.stdout, testHelp + '\n');
    return EXIT.ok;
  }
  const chosen = engineFrom(values.engine, io.env);
  if ('problem' in chosen) throw new UsageError(chosen.problem);
  const { engine } = chosen;
  if (!['text', 'junit'].includes(values.reporter!)) throw new UsageError(`--reporter must be text or junit, not "${values.reporter}"`);
  if (values.output && values.reporter !== 'junit') throw new UsageError('--output goes with --reporter junit');
  const thresholdText = values['coverage-threshold'];
  const threshold = thresholdText === undefined ? undefined : Number(thresholdText);
  if (threshold !== undefined && (!Number.isFinite(threshold) || threshold < 0 || threshold > 100)) {
    throw new UsageError(`--coverage-threshold must be a number from 0 to 100, not "${thresholdText}"`);
  }
  const s = styleFor(io.stdout as NodeJS.WriteStream);
  const dirs = positionals.length > 0 ? positionals.map((d) => path.resolve(io.cwd, d)) : [rulesDirFrom(undefined, io.env, io.cwd)];
  const problems: PackDiagnostic[] = [];
  const results: CaseResult[] = [];
  const timings = new Map<CaseResult, number>();
  const packs: Pack[] = [];
  // The pack set of each folder and every variant whose tests swap a table for fixtures share
  // the indexes of the tables they have in common (the ICD-10-CM code set is read once).
  const shared = new SharedTables();
  for (const dir of dirs) {
    const loaded = await readPackSet(dir, undefined, { env: io.env, shared });
    problems.push(...loaded.diagnostics.filter((d) => d.severity === 'error'));
    const found = await discoverTests([dir]);
    problems.push(...found.diagnostics);
    if (!loaded.packSet) continue;
    const packSet = loaded.packSet;
    packs.push(...packSet.packs);
    problems.push(...unknownRuleIds(found.cases, (id) => packSet.rulesById.has(id) || STRUCTURE_RULE_IDS.has(id)));
    const scrubbers = new CaseScrubbers(dir, packSet, { engine }, shared);
    for (const c of found.cases) {
      if (values.filter && !matchesFilter(c, values.filter)) continue;
      let scrubber;
      try {
        scrubber = await scrubbers.for(c);
      } catch (error) {
        // Table fixtures that do not load: the case cannot run, like a pack that does not load.
        if (!(error instanceof PackLoadError)) throw error;
        for (const d of error.diagnostics) if (!problems.some((p) => formatDiagnostic(p) === formatDiagnostic(d))) problems.push(d);
        continue;
      }
      const started = performance.now();
      const result = await runCase(scrubber, c);
      timings.set(result, (performance.now() - started) / 1000);
      results.push(result);
    }
  }
  if (problems.length > 0) {
    await write(io.stderr, `Cannot run the tests:\n${problems.map(formatDiagnostic).join('\n')}\n`);
    return EXIT.badInput;
  }
  const failed = results.filter((r) => !r.passed);
  if (values.reporter === 'junit') {
    const report = junitReport(results, (r) => timings.get(r) ?? 0);
    if (values.output) await writeFile(path.resolve(io.cwd, values.output), report);
    else await write(io.stdout, report);
  }
  const human = values.reporter === 'text' || values.output !== undefined;
  if (human) {
    for (const r of failed) {
      await write(io.stdout, `${s.red('FAIL')} ${r.testCase.file}:${r.testCase.line}:${r.testCase.column} ${s.bold(r.testCase.name)}\n`);
      for (const f of r.failures) await write(io.stdout, f.split('\n').map((l) => `     ${l}`).join('\n') + '\n');
    }
  }
  let coverageFailed = false;
  if (values.coverage || threshold !== undefined) {
    const report = measureCoverage(packs, results);
    if (values.coverage && human) await printCoverage(io, report, s);
    if (threshold !== undefined && report.percent < threshold) {
      coverageFailed = true;
      const missing = report.rules.filter((r) => !r.fires || !r.quiet).map((r) => `${r.ruleId} (${[!r.fires && 'no case where it fires', !r.quiet && 'no case where it stays quiet'].filter(Boolean).join(', ')})`);
      await write(io.stderr, `Coverage ${report.percent}% is below the threshold of ${threshold}%. Not covered: ${missing.join('; ')}\n`);
    }
  }
  if (human) await write(io.stdout, `${results.length - failed.length} passed, ${failed.length} failed\n`);
  return failed.length > 0 || coverageFailed ? EXIT.failed : EXIT.ok;
}
