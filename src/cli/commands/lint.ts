import { parseArgs } from 'node:util';
import { formatDiagnostic } from '../../packs/diagnostics.js';
import { readPackSet } from '../../packs/loader.js';
import { EXIT, UsageError, write, type CliIo } from '../io.js';
import { rulesDirFrom } from '../rules-dir.js';

export const lintHelp = `Usage: scrub lint [options] [DIR]

Checks the rule packs in DIR (default: $SCRUB_RULES_DIR, else the bundled packs) and prints
every problem as file:line:column with what to change.

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
  const loaded = await readPackSet(rulesDirFrom(positionals[0], io.env, io.cwd), undefined, { env: io.env });
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
