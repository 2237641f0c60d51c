import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { isIsoDate } from '../../claim/dates.js';
import { adjustmentCodesFrom } from '../../remits/codes.js';
import { effectivenessReport, ruleFactsOf } from '../../remits/effectiveness.js';
import { formatReport, REPORT_FORMATS, type ReportFormat } from '../../remits/report-formats.js';
import { openHistoryOrReport } from '../history-option.js';
import { EXIT, UsageError, write, type CliIo } from '../io.js';
import { loadPacksOrReport } from '../load-packs.js';
import { rulesDirFrom } from '../rules-dir.js';

export const reportHelp = `Usage: scrub report effectiveness [options]

Measures every rule against what payers did with the claims it fired on, from the claim
history (claims recorded with record=true, and 835s imported with "scrub remits import"):
per rule, times fired, how many of those claims were still submitted and denied (with which
denial codes), fixed and then paid, and precision where the rule declares "predicts"; the
denials no rule predicted, largest first; and the rules that fired at error on claims the
payer paid.

Options:
  --history PATH|URL          the history (default: $SCRUB_HISTORY_URL, else
                              history.sqlite in $SCRUB_DATA_DIR)
  --since YYYY-MM-DD          only claims recorded on or after this date
  --payer ID                  only claims of this payer id
  --format text|json|markdown|html   (default text; html is one self-contained file with charts)
  --out FILE                  write the report to FILE instead of standard output
  --rules DIR                 the rule packs, for what each rule predicts (default:
                              $SCRUB_RULES_DIR, else the bundled packs)
  -h, --help                  show this help

Exit status: 0 written, 2 bad usage or the history cannot be used.`;

export async function report(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      history: { type: 'string' },
      since: { type: 'string' },
      payer: { type: 'string' },
      format: { type: 'string', default: 'text' },
      out: { type: 'string' },
      rules: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [name, ...rest] = positionals;
  if (values.help || name === undefined) {
    await write(values.help ? io.stdout : io.stderr, reportHelp + '\n');
    return values.help ? EXIT.ok : EXIT.badInput;
  }
  if (name !== 'effectiveness') throw new UsageError(`there is no report "${name}"; use effectiveness`);
  if (rest.length > 0) throw new UsageError(`report effectiveness takes no other arguments (got "${rest[0]}")`);
  const format = values.format as ReportFormat;
  if (!REPORT_FORMATS.includes(format)) throw new UsageError(`--format must be one of ${REPORT_FORMATS.join(', ')}, not "${values.format}"`);
  if (values.since !== undefined && !isIsoDate(values.since)) throw new UsageError(`--since must be a date written YYYY-MM-DD, not "${values.since}"`);

  let codes;
  try {
    codes = await adjustmentCodesFrom(io.env, io.cwd);
  } catch (err) {
    await write(io.stderr, `scrub report effectiveness: ${(err as Error).message}\n`);
    return EXIT.badInput;
  }
  const packSet = await loadPacksOrReport(rulesDirFrom(values.rules, io.env, io.cwd), io);
  if (!packSet) return EXIT.badInput;
  const opened = await openHistoryOrReport(values.history, io, 'scrub report effectiveness', io.env.SCRUB_DATA_DIR);
  if (!opened) return EXIT.badInput;
  try {
    const filter = { ...(values.since ? { since: values.since } : {}), ...(values.payer ? { payerId: values.payer } : {}) };
    const result = await effectivenessReport(opened.store.remits, filter, { codes, rules: ruleFactsOf(packSet.rulesById) });
    const text = await formatReport(result, format);
    if (values.out) await writeFile(path.resolve(io.cwd, values.out), text);
    else await write(io.stdout, text);
    return EXIT.ok;
  } catch (err) {
    await write(io.stderr, `scrub report effectiveness: ${(err as Error).message}\n`);
    return EXIT.badInput;
  } finally {
    await opened.close();
  }
}
