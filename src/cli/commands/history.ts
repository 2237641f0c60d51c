import { stat } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { isIsoDate, todayIso } from '../../claim/dates.js';
import type { ClaimHistory } from '../../history/claim-history.js';
import { openHistoryOrReport } from '../history-option.js';
import { EXIT, UsageError, write, type CliIo } from '../io.js';
import { itemsOf } from './check.js';

export const historyHelp = `Usage: scrub history <command> [options]

Looks after the claim history that the history edits compare claims with.

Commands:
  import FILE...   record past claims in bulk (JSON, NDJSON, X12 837 or FHIR, as for
                   scrub check), so that a new deployment starts with history; claims are
                   not scrubbed; the same claim id replaces its earlier version, frequency 7
                   replaces and 8 removes the claim its originalClaimNumber names
  purge            remove claims whose last date of service is older than
                   SCRUB_HISTORY_RETENTION_DAYS (default 1185: 3 years and 90 days)
  stats            print how many claims and lines the history holds

Options:
  --history PATH|URL   the history: a SQLite file or a postgres:// URL (default:
                       $SCRUB_HISTORY_URL, else history.sqlite in $SCRUB_DATA_DIR)
  --as-of YYYY-MM-DD   purge: the date retention counts back from (default: today)
  -h, --help           show this help

Needs SCRUB_HISTORY_SECRET (the key patient keys are made with). Exit status: 0 done,
1 import skipped claims, 2 bad usage or the history cannot be used.`;

export async function history(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      history: { type: 'string' },
      'as-of': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...files] = positionals;
  if (values.help || command === undefined) {
    await write(values.help ? io.stdout : io.stderr, historyHelp + '\n');
    return values.help ? EXIT.ok : EXIT.badInput;
  }
  if (!['import', 'purge', 'stats'].includes(command)) throw new UsageError(`there is no history command "${command}"; use import, purge or stats`);
  if (command === 'import' && files.length === 0) throw new UsageError('name at least one claim file to import, or "-" for standard input');
  if (command !== 'import' && files.length > 0) throw new UsageError(`history ${command} takes no files`);
  const asOf = values['as-of'];
  if (asOf !== undefined && !isIsoDate(asOf)) throw new UsageError(`--as-of must be a date written YYYY-MM-DD, not "${asOf}"`);

  const opened = await openHistoryOrReport(values.history, io, `scrub history ${command}`, io.env.SCRUB_DATA_DIR);
  if (!opened) return EXIT.badInput;
  try {
    if (command === 'purge') {
      const { removed, before } = await opened.purge(asOf ?? todayIso());
      await write(io.stdout, `Removed ${removed} claim${removed === 1 ? '' : 's'} whose last date of service is before ${before} (retention ${opened.retentionDays} days) from ${opened.store.where}\n`);
      return EXIT.ok;
    }
    if (command === 'stats') {
      const counts = await opened.store.counts();
      await write(io.stdout, `${opened.store.where} (${opened.store.kind}): ${counts.claims} claims, ${counts.lines} lines\n`);
      return EXIT.ok;
    }
    return await importFiles(opened, files, io);
  } catch (err) {
    await write(io.stderr, `scrub history ${command}: ${(err as Error).message}\n`);
    return EXIT.badInput;
  } finally {
    await opened.close();
  }
}

async function importFiles(history: ClaimHistory, files: string[], io: CliIo): Promise<number> {
  let recorded = 0;
  let voided = 0;
  let skipped = 0;
  let unreadable = false;
  for (const file of files) {
    const name = file === '-' ? 'stdin' : file;
    try {
      if (file !== '-' && !(await stat(path.resolve(io.cwd, file))).isFile()) throw new Error('it is not a file');
      const items = async function* () {
        for await (const item of itemsOf(file, io)) {
          if ('fileProblem' in item) {
            await write(io.stderr, `scrub history import: ${name}: ${item.fileProblem.message}\n`);
            continue;
          }
          yield 'error' in item ? { label: item.label, error: item.error } : { label: item.label, input: item.input };
        }
      };
      const counts = await history.importClaims(items());
      recorded += counts.recorded;
      voided += counts.voided;
      skipped += counts.skipped.length;
      // Labels and reasons only: never a claim's contents.
      for (const s of counts.skipped) await write(io.stderr, `scrub history import: ${[name, s.label].filter(Boolean).join(' ')}: not recorded: ${s.reason}\n`);
    } catch (err) {
      unreadable = true;
      const e = err as NodeJS.ErrnoException;
      const reason = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'it is a folder, not a file' : e.message;
      await write(io.stderr, `scrub history import: cannot import ${name}: ${reason}\n`);
    }
  }
  await write(io.stdout, `Recorded ${recorded} claim${recorded === 1 ? '' : 's'}, removed ${voided} voided, skipped ${skipped} in ${history.store.where}\n`);
  if (unreadable) return EXIT.badInput;
  return skipped > 0 ? EXIT.failed : EXIT.ok;
}
