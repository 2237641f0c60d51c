import path from 'node:path';
import { parseArgs } from 'node:util';
import { isIsoDate, todayIso } from '../../claim/dates.js';
import { detectFile } from '../../tables/detect.js';
import { diffTables, type DiffEntry, type DiffSection, type TableDiff } from '../../tables/diff.js';
import { FetchConfigError, fetchTables } from '../../tables/fetch.js';
import { describeCovers, staleMessage, tableStatuses, type TableStatus } from '../../tables/status.js';
import { verifyTables, type Verification } from '../../tables/verify.js';
import { displayPath } from '../../packs/loader.js';
import { EXIT, UsageError, write, type CliIo } from '../io.js';
import { loadPacksOrReport } from '../load-packs.js';
import { rulesDirFrom } from '../rules-dir.js';

export const tablesHelp = `Usage: scrub tables <list|verify|diff|fetch> [options]

For the people who maintain the CMS data behind the packs (ICD-10-CM, HCPCS, NCCI PTP, MUE, MCE,
place of service). Each table may hold several editions; a claim line is judged by the edition
that covers its date of service.

  scrub tables list [--rules DIR] [--format text|json] [--as-of DATE]
      What is loaded: each table's editions, the dates each covers, rows, complete or excerpt,
      and days until its coverage ends (stale tables are flagged).

  scrub tables verify DIR|FILE [--format text|json] [--strict]
      Reads every file of a tables folder as a pack would: its format and edition, rows taken
      and skipped, each skipped row as file:line. Exit 1 when a table file cannot be used
      (with --strict, also when rows are skipped): run it in CI before a data update lands.

  scrub tables diff OLD NEW [--format text|json|markdown] [--rules DIR] [--limit N]
      What changed between two editions of one table: codes added, deleted and changed
      (titles and descriptions for ICD-10-CM and HCPCS, modifier indicators and dates for PTP
      pairs, values and MAIs for MUEs), and which rules and pack tests in the rules folder name
      a code the new edition deletes. An ICD-10-CM zip's own addenda is checked against the
      diff (exit 1 when they disagree).

  scrub tables fetch CONFIG
      Downloads the files CONFIG names (YAML: into: FOLDER, files: [{ url, sha256, name? }])
      into the tables folder; each is checked against its sha256 and read as a table before it
      replaces anything, so a bad download never replaces a good edition. Exit 1 if any failed.

Options:
  --rules DIR     rule packs folder (default: $SCRUB_RULES_DIR, else the bundled packs)
  --format        text for people (default), json for programs, markdown for a change report
  -h, --help      show this help

Exit status: 0 done, 1 a file cannot be used or a download failed, 2 bad usage.`;

const count = (n: number) => n.toLocaleString('en-US');

export async function tables(args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '-h' || sub === '--help' || sub === 'help') {
    await write(sub === undefined ? io.stderr : io.stdout, tablesHelp + '\n');
    return sub === undefined ? EXIT.badInput : EXIT.ok;
  }
  switch (sub) {
    case 'list':
      return list(rest, io);
    case 'verify':
      return verify(rest, io);
    case 'diff':
      return diff(rest, io);
    case 'fetch':
      return fetchCommand(rest, io);
    default:
      throw new UsageError(`there is no "tables ${sub}"; use list, verify, diff or fetch`);
  }
}

function formatOption(value: string | undefined, allowed: readonly string[]): string {
  const format = value ?? 'text';
  if (!allowed.includes(format)) throw new UsageError(`--format must be ${allowed.join(', ')}, not "${format}"`);
  return format;
}

function editionLine(e: TableStatus['editions'][number]): string {
  return `${e.edition}: ${describeCovers(e.covers)}, ${count(e.rows)} rows${e.rowsSkipped > 0 ? ` (${count(e.rowsSkipped)} skipped)` : ''}, ${e.complete ? 'complete' : 'excerpt'}`;
}

async function list(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { rules: { type: 'string' }, format: { type: 'string' }, 'as-of': { type: 'string' } },
  });
  if (positionals.length > 0) throw new UsageError('tables list takes no file names; use --rules DIR for another rules folder');
  const format = formatOption(values.format, ['text', 'json']);
  const today = values['as-of'] ?? todayIso();
  if (!isIsoDate(today)) throw new UsageError(`--as-of must be a date written YYYY-MM-DD, not "${today}"`);
  const packSet = await loadPacksOrReport(rulesDirFrom(values.rules, io.env, io.cwd), io);
  if (!packSet) return EXIT.badInput;
  const statuses = tableStatuses(packSet.packs, today);
  if (format === 'json') {
    await write(io.stdout, JSON.stringify({ today, tables: statuses }, null, 2) + '\n');
    return EXIT.ok;
  }
  for (const t of statuses) {
    const currency = t.coverageEnds === undefined ? 'no end date' : t.stale ? `STALE: coverage ended ${t.coverageEnds}, ${-(t.daysLeft ?? 0)} days ago` : `covered until ${t.coverageEnds}, ${t.daysLeft} days left`;
    await write(io.stdout, `${t.pack}/${t.name} (${t.title}): ${currency}\n`);
    for (const e of t.editions) await write(io.stdout, `  ${editionLine(e)}\n    ${e.files.join(', ')}\n`);
  }
  const stale = statuses.map((t) => staleMessage(t, today)).filter((m): m is string => m !== undefined);
  for (const m of stale) await write(io.stderr, `warning: ${m}\n`);
  await write(io.stdout, `${statuses.length} tables, ${stale.length} stale on ${today}\n`);
  return EXIT.ok;
}

async function verify(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { format: { type: 'string' }, strict: { type: 'boolean', default: false } },
  });
  if (positionals.length !== 1) throw new UsageError('name one tables folder (or one file) to verify');
  const format = formatOption(values.format, ['text', 'json']);
  let result: Verification;
  try {
    result = await verifyTables(path.resolve(io.cwd, positionals[0]!));
  } catch (error) {
    await write(io.stderr, `scrub tables verify: ${positionals[0]} cannot be read: ${(error as Error).message}\n`);
    return EXIT.badInput;
  }
  const failed = result.errors > 0 || (values.strict === true && result.rowsSkipped > 0);
  if (format === 'json') {
    await write(io.stdout, JSON.stringify({ ...result, files: result.files.map((f) => ({ ...f, file: displayPath(f.file) })) }, null, 2) + '\n');
    return failed ? EXIT.failed : EXIT.ok;
  }
  for (const f of result.files) {
    const file = displayPath(f.file);
    if (f.status === 'not-a-table') {
      await write(io.stdout, `${file}: not a table file this scrubber reads; left alone\n`);
      continue;
    }
    const edition = f.edition ? `${f.edition} (${describeCovers(f.covers)})` : 'edition not in its name';
    await write(io.stdout, `${file}: ${f.title}, ${edition}\n`);
    if (f.status === 'error') await write(io.stdout, `  error: ${f.error}\n`);
    await write(io.stdout, `  ${count(f.rowsTaken)} rows taken, ${count(f.rowsSkipped)} skipped, ${count(f.rowsIgnored)} not used\n`);
    for (const p of f.problems) await write(io.stdout, `  ${displayPath(p.file)}:${p.line}: ${p.message}\n`);
  }
  const editions = new Set(result.files.filter((f) => f.status === 'ok').map((f) => `${f.format}\u0000${f.edition ?? f.file}`));
  await write(
    io.stdout,
    `${result.files.length} files: ${editions.size} edition${editions.size === 1 ? '' : 's'}, ${result.errors} error${result.errors === 1 ? '' : 's'}, ${count(result.rowsSkipped)} rows skipped\n`,
  );
  return failed ? EXIT.failed : EXIT.ok;
}

/** ICD-10-CM codes as people write them, with the dot after the third character. */
function shown(format: TableDiff['format'], code: string): string {
  return format === 'icd-10-cm-order' && code.length > 3 ? `${code.slice(0, 3)}.${code.slice(3)}` : code;
}

function limited<T>(list: T[], limit: number | undefined): { items: T[]; more: number } {
  return limit === undefined || list.length <= limit ? { items: list, more: 0 } : { items: list.slice(0, limit), more: list.length - limit };
}

function sectionSummary(s: DiffSection): string {
  return `${s.title}: ${count(s.oldCount)} -> ${count(s.newCount)}: ${count(s.added.length)} added, ${count(s.deleted.length)} deleted, ${count(s.changed.length)} changed`;
}

function diffText(d: TableDiff, limit: number | undefined): string {
  const out: string[] = [];
  const side = (x: TableDiff['old']) => `${x.edition ?? 'edition not in its name'} (${displayPath(x.file)})`;
  out.push(`${d.title}: ${side(d.old)} -> ${side(d.new)}`, '');
  const entries = (title: string, list: DiffEntry[]) => {
    if (list.length === 0) return;
    const { items, more } = limited(list, limit);
    out.push(`  ${title}:`);
    for (const e of items) out.push(`    ${shown(d.format, e.code)}${e.description ? `  ${e.description}` : ''}`);
    if (more > 0) out.push(`    ... and ${count(more)} more`);
  };
  for (const s of d.sections) {
    out.push(sectionSummary(s));
    entries('added', s.added);
    entries('deleted', s.deleted);
    if (s.changed.length > 0) {
      const { items, more } = limited(s.changed, limit);
      out.push('  changed:');
      for (const c of items) {
        out.push(`    ${shown(d.format, c.code)}`);
        for (const x of c.changes) out.push(`      ${x.field}: "${x.old}" -> "${x.new}"`);
      }
      if (more > 0) out.push(`    ... and ${count(more)} more`);
    }
    out.push('');
  }
  if (d.addenda) {
    out.push(`CMS addenda (${displayPath(d.addenda.file)}): ${d.addenda.agrees ? 'the diff agrees with it' : 'the diff DISAGREES with it'}`);
    for (const x of d.addenda.differences) out.push(`  ${x}`);
    out.push('');
  }
  if (d.references.length === 0) out.push('No rule or pack test in the rules folder names a code the new edition deletes.');
  else {
    out.push(`Rules and pack tests that name a code the new edition deletes (${d.references.length}):`);
    for (const r of d.references) out.push(`  ${displayPath(r.file)}:${r.line}: ${shown(d.format, r.code)}  ${r.text}`);
  }
  return out.join('\n') + '\n';
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function diffMarkdown(d: TableDiff, limit: number | undefined): string {
  const out: string[] = [];
  out.push(`# ${d.title}: ${d.old.edition ?? path.basename(d.old.file)} to ${d.new.edition ?? path.basename(d.new.file)}`, '');
  out.push(`Old: \`${path.basename(d.old.file)}\`; new: \`${path.basename(d.new.file)}\`.`, '');
  out.push('| | old | new | added | deleted | changed |', '|---|---:|---:|---:|---:|---:|');
  for (const s of d.sections) out.push(`| ${s.title} | ${count(s.oldCount)} | ${count(s.newCount)} | ${count(s.added.length)} | ${count(s.deleted.length)} | ${count(s.changed.length)} |`);
  out.push('');
  if (d.addenda) {
    out.push(d.addenda.agrees ? `The diff agrees with the CMS addenda \`${path.basename(d.addenda.file.split('!').pop()!)}\`.` : `**The diff disagrees with the CMS addenda** \`${path.basename(d.addenda.file.split('!').pop()!)}\`:`);
    for (const x of d.addenda.differences) out.push(`- ${x}`);
    out.push('');
  }
  out.push('## Rules and pack tests to review', '');
  if (d.references.length === 0) out.push('None names a code the new edition deletes.');
  else for (const r of d.references) out.push(`- \`${displayPath(r.file)}:${r.line}\`: ${shown(d.format, r.code)}`);
  out.push('');
  for (const s of d.sections) {
    const list = (title: string, entries: DiffEntry[]) => {
      if (entries.length === 0) return;
      const { items, more } = limited(entries, limit);
      out.push(`### ${s.title} ${title} (${count(entries.length)})`, '', '| code | description |', '|---|---|');
      for (const e of items) out.push(`| ${shown(d.format, e.code)} | ${cell(e.description ?? '')} |`);
      if (more > 0) out.push(`| ... | and ${count(more)} more |`);
      out.push('');
    };
    out.push(`## ${s.title}`, '');
    list('added', s.added);
    list('deleted', s.deleted);
    if (s.changed.length > 0) {
      const { items, more } = limited(s.changed, limit);
      out.push(`### ${s.title} changed (${count(s.changed.length)})`, '', '| code | what | old | new |', '|---|---|---|---|');
      for (const c of items) for (const x of c.changes) out.push(`| ${shown(d.format, c.code)} | ${x.field} | ${cell(x.old)} | ${cell(x.new)} |`);
      if (more > 0) out.push(`| ... | and ${count(more)} more | | |`);
      out.push('');
    }
  }
  return out.join('\n');
}

async function diff(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { format: { type: 'string' }, rules: { type: 'string' }, limit: { type: 'string' } },
  });
  if (positionals.length !== 2) throw new UsageError('name the old edition and the new edition: scrub tables diff OLD NEW');
  const format = formatOption(values.format, ['text', 'json', 'markdown']);
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new UsageError(`--limit must be a whole number above 0, not "${values.limit}"`);
  const [oldPath, newPath] = positionals.map((p) => path.resolve(io.cwd, p)) as [string, string];
  const detected = [];
  for (const file of [oldPath, newPath]) {
    let d;
    try {
      d = await detectFile(file);
    } catch (error) {
      await write(io.stderr, `scrub tables diff: ${displayPath(file)} cannot be read: ${(error as Error).message}\n`);
      return EXIT.badInput;
    }
    if (!d) {
      await write(io.stderr, `scrub tables diff: ${displayPath(file)} is not a table file this scrubber reads (ICD-10-CM order file, HCPCS, NCCI PTP, MUE, MCE or place of service)\n`);
      return EXIT.badInput;
    }
    detected.push(d);
  }
  const [older, newer] = detected as [NonNullable<(typeof detected)[number]>, NonNullable<(typeof detected)[number]>];
  if (older.format !== newer.format) {
    await write(io.stderr, `scrub tables diff: ${displayPath(oldPath)} is a ${older.definition.title} and ${displayPath(newPath)} a ${newer.definition.title}; compare two editions of one table\n`);
    return EXIT.badInput;
  }
  let result: TableDiff;
  try {
    result = await diffTables(older, newer, rulesDirFrom(values.rules, io.env, io.cwd));
  } catch (error) {
    await write(io.stderr, `scrub tables diff: ${(error as Error).message}\n`);
    return EXIT.failed;
  }
  const text = format === 'json' ? JSON.stringify(result, null, 2) + '\n' : format === 'markdown' ? diffMarkdown(result, limit) : diffText(result, limit);
  await write(io.stdout, text);
  return result.addenda && !result.addenda.agrees ? EXIT.failed : EXIT.ok;
}

async function fetchCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { format: { type: 'string' } } });
  if (positionals.length !== 1) throw new UsageError('name the fetch configuration: scrub tables fetch CONFIG');
  const format = formatOption(values.format, ['text', 'json']);
  let outcomes;
  try {
    outcomes = await fetchTables(path.resolve(io.cwd, positionals[0]!));
  } catch (error) {
    if (!(error instanceof FetchConfigError) && (error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await write(io.stderr, `scrub tables fetch: ${(error as Error).message}\n`);
    return EXIT.badInput;
  }
  if (format === 'json') await write(io.stdout, JSON.stringify({ files: outcomes.map((o) => ({ ...o, file: displayPath(o.file) })) }, null, 2) + '\n');
  else {
    for (const o of outcomes) await write(o.status === 'failed' ? io.stderr : io.stdout, `${displayPath(o.file)}: ${o.status}: ${o.message}\n`);
  }
  return outcomes.some((o) => o.status === 'failed') ? EXIT.failed : EXIT.ok;
}
