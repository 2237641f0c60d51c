import path from 'node:path';
import { parseArgs } from 'node:util';
import { STRUCTURE_RULE_IDS } from '../../claim/validate.js';
import { Scrubber } from '../../engine/scrubber.js';
import { formatDiagnostic, type PackDiagnostic } from '../../packs/diagnostics.js';
import { readPackSet } from '../../packs/loader.js';
import { discoverTests } from '../../testing/cases.js';
import { runCase, unknownRuleIds, type CaseResult } from '../../testing/runner.js';
import { EXIT, write, type CliIo } from '../io.js';
import { styleFor } from '../output.js';
import { rulesDirFrom } from '../rules-dir.js';

export const testHelp = `Usage: scrub test [options] [DIR...]

Runs the pack tests (rules/<pack>/tests/*.test.yaml) of each rules folder against its packs.

Options:
  --filter TEXT   run only cases whose rule id or name contains TEXT
  -h, --help      show this help

Exit status: 0 all passed, 1 a case failed, 2 a pack or test file cannot be loaded.`;

export async function test(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { filter: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) {
    await write(io.stdout, testHelp + '\n');
    return EXIT.ok;
  }
  const s = styleFor(io.stdout as NodeJS.WriteStream);
  const dirs = positionals.length > 0 ? positionals.map((d) => path.resolve(io.cwd, d)) : [rulesDirFrom(undefined, io.env, io.cwd)];
  const problems: PackDiagnostic[] = [];
  const results: CaseResult[] = [];
  for (const dir of dirs) {
    const loaded = await readPackSet(dir);
    problems.push(...loaded.diagnostics.filter((d) => d.severity === 'error'));
    const found = await discoverTests([dir]);
    problems.push(...found.diagnostics);
    if (!loaded.packSet) continue;
    const packSet = loaded.packSet;
    problems.push(...unknownRuleIds(found.cases, (id) => packSet.rulesById.has(id) || STRUCTURE_RULE_IDS.has(id)));
    const scrubber = new Scrubber(packSet);
    const filter = values.filter?.toLowerCase();
    for (const c of found.cases) {
      if (filter && !c.name.toLowerCase().includes(filter) && !(c.rule ?? '').includes(filter) && !c.expect.some((e) => e.rule.includes(filter)) && !c.ok.some((r) => r.includes(filter))) continue;
      results.push(await runCase(scrubber, c));
    }
  }
  if (problems.length > 0) {
    await write(io.stderr, `Cannot run the tests:\n${problems.map(formatDiagnostic).join('\n')}\n`);
    return EXIT.badInput;
  }
  const failed = results.filter((r) => !r.passed);
  for (const r of failed) {
    await write(io.stdout, `${s.red('FAIL')} ${r.testCase.file}:${r.testCase.line}:${r.testCase.column} ${s.bold(r.testCase.name)}\n`);
    for (const f of r.failures) await write(io.stdout, f.split('\n').map((l) => `     ${l}`).join('\n') + '\n');
  }
  await write(io.stdout, `${results.length - failed.length} passed, ${failed.length} failed\n`);
  return failed.length > 0 ? EXIT.failed : EXIT.ok;
}
