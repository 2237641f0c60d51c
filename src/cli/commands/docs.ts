import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateDocs } from '../../docs/generate.js';
import { discoverTests } from '../../testing/cases.js';
import { loadPacksOrReport } from '../load-packs.js';
import { EXIT, UsageError, write, type CliIo } from '../io.js';
import { rulesDirFrom } from '../rules-dir.js';

export const docsHelp = `Usage: scrub docs [DIR] --out OUTDIR

Writes one Markdown page per pack in DIR (default: $SCRUB_RULES_DIR, else the bundled packs)
and an index (README.md) into OUTDIR: each rule's id, title, category, severity, what makes it
fire, its message, its sources, its effective dates and its test cases as examples.

Options:
  --out OUTDIR   where to write the pages (required)
  -h, --help     show this help

Exit status: 0 written, 2 the packs cannot be loaded or bad usage.`;

export async function docs(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) {
    await write(io.stdout, docsHelp + '\n');
    return EXIT.ok;
  }
  if (!values.out) throw new UsageError('say where to write the pages with --out OUTDIR');
  if (positionals.length > 1) throw new UsageError('name one rules folder');
  const dir = rulesDirFrom(positionals[0], io.env, io.cwd);
  const packSet = await loadPacksOrReport(dir, io);
  if (!packSet) return EXIT.badInput;
  const { cases } = await discoverTests([dir]);
  const out = path.resolve(io.cwd, values.out);
  await mkdir(out, { recursive: true });
  const pages = generateDocs(packSet, cases);
  for (const page of pages) await writeFile(path.join(out, page.file), page.content);
  await write(io.stdout, `Wrote ${pages.length} pages to ${path.relative(io.cwd, out) || out}\n`);
  return EXIT.ok;
}
