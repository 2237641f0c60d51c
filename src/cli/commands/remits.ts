import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { ClaimHistory } from '../../history/claim-history.js';
import { adjustmentCodesFrom, type AdjustmentCodes } from '../../remits/codes.js';
import { RemitImport, RemitImportError, type ImportSummary } from '../../remits/import.js';
import { openHistoryOrReport } from '../history-option.js';
import { EXIT, UsageError, write, type CliIo } from '../io.js';

export const remitsHelp = `Usage: scrub remits import FILE... [options]

Imports X12 835 remittance advice into the claim history: each claim payment is matched to
the recorded claim it pays (claim id, or the payer's claim number seen before, or the
replacement that names it), each service line to the recorded line (procedure code or the
SVC06 code as submitted, date, modifiers), and the payer's answer is kept beside the
findings the scrubber returned. What matches nothing is kept and counted. Importing the same
file again changes nothing. "scrub report effectiveness" reads the result.

Options:
  --history PATH|URL   the history: a SQLite file or a postgres:// URL (default:
                       $SCRUB_HISTORY_URL, else history.sqlite in $SCRUB_DATA_DIR)
  --max-payments N     refuse a file with more claim payments than this (default:
                       $SCRUB_BATCH_MAX_CLAIMS, else 100000)
  --format text|json   the summary per file (default text; json: one object per line)
  -h, --help           show this help

SCRUB_CARC_FILE and SCRUB_RARC_FILE name official code lists a deployment licenses (CSV
with code and description columns); without them the scrubber's own short descriptions
are used. Exit status: 0 imported, 1 some payments matched no recorded claim or could not
be read, 2 bad usage, a file that is not an 835, or the history cannot be used.`;

/** One line per file: counts only, never patient data. */
export function summaryText(name: string, s: ImportSummary): string {
  if (s.alreadyImported) return `${name}: already imported on ${s.alreadyImported.importedAt}${s.alreadyImported.source ? ` (as ${s.alreadyImported.source})` : ''}; nothing changed\n`;
  const o = s.outcomes;
  return (
    `${name}: ${s.payments.total} claim payments in ${s.transactions} transaction set${s.transactions === 1 ? '' : 's'}: ` +
    `${s.payments.imported} imported (${s.matched} matched, ${s.unmatched} matched no recorded claim), ${s.payments.alreadyImported} imported before, ${s.payments.unreadable} unreadable; ` +
    `${o.paid} paid, ${o.partial} partly denied, ${o.denied} denied, ${o.reversal} reversals (${s.reversals.applied} applied), ${o['not-adjudicated']} not adjudicated; ` +
    `lines ${s.lines.matched}/${s.lines.total} matched, ${s.lines.codeChangedByPayer} code changed by the payer; ` +
    `${s.providerAdjustments.imported} provider adjustments\n`
  );
}

export async function remits(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      history: { type: 'string' },
      'max-payments': { type: 'string' },
      format: { type: 'string', default: 'text' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...files] = positionals;
  if (values.help || command === undefined) {
    await write(values.help ? io.stdout : io.stderr, remitsHelp + '\n');
    return values.help ? EXIT.ok : EXIT.badInput;
  }
  if (command !== 'import') throw new UsageError(`there is no remits command "${command}"; use import`);
  if (files.length === 0) throw new UsageError('name at least one 835 file to import, or "-" for standard input');
  if (values.format !== 'text' && values.format !== 'json') throw new UsageError(`--format must be text or json, not "${values.format}"`);
  const limitText = values['max-payments'] ?? io.env.SCRUB_BATCH_MAX_CLAIMS ?? '100000';
  const maxPayments = Number(limitText);
  if (!Number.isInteger(maxPayments) || maxPayments < 1) throw new UsageError(`--max-payments must be a whole number above 0, not "${limitText}"`);

  let codes: AdjustmentCodes;
  try {
    codes = await adjustmentCodesFrom(io.env, io.cwd);
  } catch (err) {
    await write(io.stderr, `scrub remits import: ${(err as Error).message}\n`);
    return EXIT.badInput;
  }
  const opened = await openHistoryOrReport(values.history, io, 'scrub remits import', io.env.SCRUB_DATA_DIR);
  if (!opened) return EXIT.badInput;
  try {
    return await importFiles(opened, files, { codes, maxPayments, json: values.format === 'json' }, io);
  } finally {
    await opened.close();
  }
}

async function readInput(file: string, io: CliIo): Promise<Buffer> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of io.stdin) chunks.push(Buffer.from(chunk as Buffer));
    return Buffer.concat(chunks);
  }
  const full = path.resolve(io.cwd, file);
  if (!(await stat(full)).isFile()) throw Object.assign(new Error('it is not a file'), { code: 'EISDIR' });
  return readFile(full);
}

async function importFiles(history: ClaimHistory, files: string[], options: { codes: AdjustmentCodes; maxPayments: number; json: boolean }, io: CliIo): Promise<number> {
  let failed = false;
  let partly = false;
  for (const file of files) {
    const name = file === '-' ? 'stdin' : file;
    try {
      const bytes = await readInput(file, io);
      const run = new RemitImport(history.store.remits, bytes, { codes: options.codes, maxPayments: options.maxPayments, source: file === '-' ? 'stdin' : path.basename(file) });
      for await (const record of run.run()) {
        // Ids and codes only: a payment that cannot be read, or that matched nothing, is named by its label and claim id.
        if (record.status === 'unreadable') await write(io.stderr, `scrub remits import: ${name} ${record.label}: not imported: ${record.problems.map((p) => p.message).join('; ')}\n`);
        else if (record.status === 'imported' && !record.matched && record.statusCode !== '22') await write(io.stderr, `scrub remits import: ${name} ${record.label}: claim ${record.claimId} matched no recorded claim (kept as unmatched)\n`);
      }
      const s = run.summary;
      for (const p of s.problems) await write(io.stderr, `scrub remits import: ${name}: ${p.severity}: ${p.message}\n`);
      await write(io.stdout, options.json ? JSON.stringify({ file: name, ...s }) + '\n' : summaryText(name, s));
      if (s.unmatched > 0 || s.payments.unreadable > 0) partly = true;
    } catch (err) {
      failed = true;
      const e = err as NodeJS.ErrnoException;
      const reason = err instanceof RemitImportError ? err.message : e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'it is a folder, not a file' : e.message;
      await write(io.stderr, `scrub remits import: cannot import ${name}: ${reason}\n`);
    }
  }
  if (failed) return EXIT.badInput;
  return partly ? EXIT.failed : EXIT.ok;
}
