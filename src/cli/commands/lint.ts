import { parseArgs } from 'node:util';
import { STRUCTURE_RULE_IDS } from '../../claim/validate.js';
import { compareDiagnostics, formatDiagnostic } from '../../packs/diagnostics.js';
import { lintPackSet } from '../../packs/lint.js';
import { discoverTests } from '../../testing/cases.js';
import { unknownRuleIds } from '../../testing/runner.js';
import { readPackSet } from '../../packs/loader.js';
import { EXIT, UsageError, write, type CliIo } from '../io.js';
import { rulesDirFrom } from '../rules-dir.js';

export const lintHelp = `Usage: scrub lint [options] [DIR]

Checks the rule packs in DIR (default: $SCRUB_RULES_DIR, else the bundled packs) and their
tests, and prints every problem as file:line:column with what to change: everything that stops
a pack from loading, and what loads but is almost certainly a mistake (a rule with no test, a
negative condition without an existence guard, a malformed code in a code list, a parameter
no rule reads).

Options:
  --format text|json   text for people (default); json for editors and CI
  -h, --help           show this help

Exit status: 0 no errors (warnings allowed), 1 errors found, 2 bad usage.`;

export async function lint(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { format: { type: 'string', default: 'text' }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) {
    await write(io.stdout, lintHelp + '\n');
    return EXIT.ok;
  }
  if (!['text', 'json'].includes(values.format!)) throw new UsageError(`--format must be text or json, not "${values.format}"`);
  if (positionals.length > 1) throw new UsageError('name one rules folder');
  const dir = rulesDirFrom(positionals[0], io.env, io.cwd);
  const loaded = await readPackSet(dir, undefined, { env: io.env });
  if (loaded.packSet) {
    const packSet = loaded.packSet;
    const tests = await discoverTests([dir]);
    loaded.diagnostics.push(
      ...lintPackSet(packSet, tests.cases),
      ...tests.diagnostics,
      ...unknownRuleIds(tests.cases, (id) => packSet.rulesById.has(id) || STRUCTURE_RULE_IDS.has(id)),
    );
    loaded.diagnostics.sort(compareDiagnostics);
  }
  const errors = loaded.diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = loaded.diagnostics.length - errors;
  const tables = (loaded.packSet?.packs ?? []).flatMap((p) => p.tables.map((t) => ({ pack: p.name, ...t })));
  if (values.format === 'json') {
    await write(io.stdout, JSON.stringify({ errors, warnings, diagnostics: loaded.diagnostics, tables }, null, 2) + '\n');
  } else {
    for (const d of loaded.diagnostics) await write(io.stdout, formatDiagnostic(d) + '\n');
    // What each table read, so that a deployment can see its quarterly files were the ones used.
    for (const t of tables) {
      const from = t.source === 'environment' ? ` (from ${t.env})` : '';
      await write(
        io.stdout,
        `table ${t.pack}/${t.name}: ${t.edition}${t.complete ? '' : ' [excerpt]'}: ${t.rowsTaken} rows taken, ${t.rowsSkipped} skipped from ${t.files.join(', ')}${from}\n`,
      );
    }
    const packs = loaded.packSet ? `${loaded.packSet.packs.length} packs, ${loaded.packSet.rulesById.size} rules: ` : '';
    await write(io.stdout, `${packs}${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}\n`);
  }
  return errors > 0 ? EXIT.failed : EXIT.ok;
}
