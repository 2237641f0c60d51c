import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { isIsoDate, todayIso } from '../../claim/dates.js';
import { engineFrom } from '../../engine/engines.js';
import { Scrubber, type ScrubOptions } from '../../engine/scrubber.js';
import type { ScrubResult } from '../../findings/finding.js';
import { openArrivingClaims, type ReadProblem } from '../../formats/index.js';
import { claimItemOf, type ClaimItem } from '../../formats/json.js';
import { ndjsonItems, type NdjsonItems } from '../../formats/ndjson.js';
import { SharedTables } from '../../tables/shared.js';
import { lowerFirst } from '../../util/text.js';
import { loadPacksOrReport } from '../load-packs.js';
import { BufferedWriter, EXIT, UsageError, write, type CliIo } from '../io.js';
import { formatResultText, styleFor } from '../output.js';
import { PARALLEL_AFTER, ScrubbedItem, scrubEachInOrder } from '../parallel-scrub.js';
import { rulesDirFrom } from '../rules-dir.js';
import { WaitingResults } from '../waiting-results.js';
import type { ClaimHistory } from '../../history/claim-history.js';
import type { EngineName } from '../../engine/evaluator.js';

export const checkHelp = `Usage: scrub check [options] FILE...

Scrubs claims and prints their findings. A FILE holds one claim (a JSON object), a list of
claims (a JSON array), one claim per line (NDJSON), X12 837P/837I interchanges, or a FHIR R4
Claim or Bundle of Claims; the format is told from the content. "-" reads standard input.
Files named .ndjson / .jsonl are streamed line by line. Findings on X12 and FHIR claims say
where to fix them in the file (segment, loop and element, or a FHIRPath expression).

Options:
  --format text|json|ndjson  text for people (default); json prints an array of results;
                             ndjson prints one result per line
  --rules DIR                rule packs folder (default: $SCRUB_RULES_DIR, else the bundled packs)
  --as-of YYYY-MM-DD         the date "today" means for date rules (default: today)
  --explain                  show, for each rule that applied, how its conditions came out
  --jobs N                   threads to scrub with (default: one per core); inputs of more
                             than ${PARALLEL_AFTER} claims use them, smaller ones stay on one thread
  --engine compiled|reference  how conditions are evaluated: compiled (default), or by
                             json-rules-engine itself (default: $SCRUB_ENGINE, else compiled)
  --history PATH|URL         compare each claim with the patient's claims in this claim
                             history: a SQLite file (created on first use) or a postgres:// URL;
                             needs SCRUB_HISTORY_SECRET. Claims are then scrubbed in order on one
                             thread. Without it the history edits find nothing.
  --record                   record each claim in the --history after scrubbing it (the same
                             claim id replaces its earlier version; frequency 8 voids)
  -h, --help                 show this help

File-level problems (a part of a file that holds no readable claim, such as an 835 among 837s;
a defect of an X12 envelope, such as an SE01 that miscounts) are written to stderr and, with
--format json or ndjson, as records of their own in the output: {"problem": {"file", "code",
"severity", "message", "position", ...}}, in their place among the results.

Exit status: 0 every claim passed and no file has an error of its own; 1 a claim failed, or a
file is only partly readable or has an error of its own (the claims that could be read are
scrubbed); 2 nothing could be read from an input (no such file, not a claim file at all), or
bad usage.`;

type Format = 'text' | 'json' | 'ndjson';

/** Results go out as they are made, so a million-line NDJSON file needs no more memory than one. */
class ResultWriter {
  private count = 0;
  private results = 0;
  private readonly out: BufferedWriter;
  constructor(
    private readonly io: CliIo,
    private readonly format: Format,
  ) {
    this.out = new BufferedWriter(io.stdout);
  }

  async begin(): Promise<void> {
    if (this.format === 'json') await this.out.write('[');
  }

  /** Whatever is held goes out first: a message on stderr then follows the results before it. */
  async toStderr(text: string): Promise<void> {
    await this.out.flush();
    await write(this.io.stderr, text);
  }

  /**
   * JSON text for the json and ndjson formats, the result itself for the text format: each made
   * once. `label`: the claim's label when its reader said it late (X12 claims placed late).
   * A promise only when the output is behind (BufferedWriter.write).
   */
  result(file: string, scrubbed: Pick<ScrubbedItem, 'json' | 'result' | 'item'>, label = scrubbed.item.label): Promise<void> | undefined {
    const first = this.count++ === 0;
    this.results++;
    if (this.format === 'json') return this.out.write((first ? '\n' : ',\n') + scrubbed.json);
    if (this.format === 'ndjson') return this.out.write(scrubbed.json + '\n');
    const source = [file, label].filter(Boolean).join(' ');
    return this.out.write((first ? '' : '\n') + formatResultText(source, scrubbed.result, styleFor(this.io.stdout as NodeJS.WriteStream)) + '\n');
  }

  /**
   * A result as it waits for its place: only what the output needs of it (its JSON text, or the
   * result itself for the text format), not the claim or what its reader knew.
   */
  held(scrubbed: ScrubbedItem): ScrubbedItem {
    return new ScrubbedItem({ label: scrubbed.item.label }, scrubbed.outcome, this.format === 'text' ? { result: scrubbed.result } : { json: scrubbed.json });
  }

  /** A file-level problem: a record of its own in JSON and NDJSON (stderr says it for people). */
  async problem(problem: ReadProblem & { file: string }): Promise<void> {
    if (this.format === 'text') return;
    const json = JSON.stringify({ problem });
    const first = this.count++ === 0;
    if (this.format === 'json') await this.out.write((first ? '\n' : ',\n') + json);
    else await this.out.write(json + '\n');
  }

  async end(passed: number, failed: number): Promise<void> {
    if (this.format === 'json') await this.out.write(this.count ? '\n]\n' : ']\n');
    if (this.format === 'text') {
      await this.out.write(`\n${this.results} claim${this.results === 1 ? '' : 's'}: ${passed} passed, ${failed} failed\n`);
    }
    await this.out.flush();
  }
}

/**
 * What a file yields: claims (with what the reader knows about where they came from), or
 * problems of the file itself. With `placeLate`, an X12 file first says `placesLate`, then each
 * claim comes as soon as it is read and a `placed` (with the claim's label) later marks where
 * its result goes among the problems (see streamX12PlacedLate).
 */
export type CheckItem = ClaimItem | { fileProblem: ReadProblem };
export type PlacedLateItem = CheckItem | { placesLate: true } | { placed: string };

/** The claims of a file, told apart by format; `onRead` hears how many bytes have been read (for progress). */
export function itemsOf(file: string, io: CliIo, onRead?: (bytes: number) => void): AsyncIterable<CheckItem>;
export function itemsOf(file: string, io: CliIo, onRead: ((bytes: number) => void) | undefined, placeLate: true): AsyncIterable<PlacedLateItem>;
export function itemsOf(file: string, io: CliIo, onRead?: (bytes: number) => void, placeLate = false): AsyncIterable<PlacedLateItem> {
  return streamedNdjsonItems(file, io, onRead) ?? readItemsOf(file, io, onRead, placeLate);
}

/** A file named .ndjson or .jsonl: read as NDJSON a line at a time, whatever its size. */
function isStreamedNdjson(file: string): boolean {
  return /\.(ndjson|jsonl)$/i.test(file);
}

/**
 * The claims of a file named .ndjson or .jsonl, streamed line by line (NDJSON files can be far
 * larger than memory) by the reader itself, since a generator around it would cost a few promise
 * turns a claim; undefined for any other file. Only claims come out: no file problem, nothing
 * placed late. Read in 1 MiB chunks, as the other formats are: 16 times fewer reads than the
 * stream's default 64 KiB, and one line held at a time all the same.
 */
function streamedNdjsonItems(file: string, io: CliIo, onRead?: (bytes: number) => void): NdjsonItems | undefined {
  if (!isStreamedNdjson(file)) return undefined;
  const input = createReadStream(path.resolve(io.cwd, file), { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>;
  return ndjsonItems(onRead ? countedChunks(input, onRead) : input);
}

async function* readItemsOf(file: string, io: CliIo, onRead: ((bytes: number) => void) | undefined, placeLate: boolean): AsyncGenerator<PlacedLateItem> {
  const name = file === '-' ? 'stdin' : file;
  // Bytes, not text: the reader tells UTF-16 from UTF-8 before it decodes. JSON, NDJSON, X12 or
  // FHIR: told from the content, whatever the file is called. An X12 file is read as it comes.
  const input = (file === '-' ? io.stdin : createReadStream(path.resolve(io.cwd, file), { highWaterMark: 1 << 20 })) as AsyncIterable<Buffer | string>;
  const chunks = onRead ? countedChunks(input, onRead) : input;
  const read = placeLate ? await openArrivingClaims(chunks, { filename: name }, { placeLate }) : await openArrivingClaims(chunks, { filename: name });
  if (placeLate && read.format === 'x12') yield { placesLate: true };
  const oneJsonClaim = read.format === 'json' && read.claims === 1;
  // A file with no readable claim is refused with its problems (exit 2): they wait for the first claim.
  let held: ReadProblem[] | undefined = [];
  for await (const record of read.records) {
    if (record.kind === 'placed') {
      yield { placed: record.label };
      continue;
    }
    if (record.kind === 'problem') {
      if (held) held.push(record.problem);
      else yield { fileProblem: record.problem };
      continue;
    }
    if (held) {
      for (const problem of held) yield { fileProblem: problem };
      held = undefined;
    }
    yield { ...claimItemOf(record), ...(record.kind === 'claim' && oneJsonClaim ? { label: '' } : {}) };
  }
  if (held) {
    if (held.some((p) => p.severity === 'error')) throw new NothingReadable(held);
    for (const problem of held) yield { fileProblem: problem };
  }
}

async function* countedChunks(input: AsyncIterable<Buffer | string>, onRead: (bytes: number) => void): AsyncGenerator<Buffer | string> {
  let bytes = 0;
  for await (const chunk of input) {
    onRead((bytes += chunk.length));
    yield chunk;
  }
}

/** A file of which nothing could be read: its problems, for the output and the message. */
class NothingReadable extends Error {
  constructor(readonly problems: ReadProblem[]) {
    super(lowerFirst(problems.map((p) => p.message).join(' ') || 'it holds no claim'));
  }
}

/** "(segment 31, ST-01)" or "(Bundle.entry[0].resource.use)": where a file problem is. */
function problemPlace(problem: ReadProblem): string {
  const at = problem.position;
  if (!at) return '';
  if (at.format === 'fhir') return at.expression ? ` (${at.expression})` : '';
  if (at.format === 'x12') return ` (segment ${at.position}${at.element ? `, ${at.element}` : ''})`;
  return ` (line ${at.line}, column ${at.column})`;
}

export async function check(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      format: { type: 'string', default: 'text' },
      rules: { type: 'string' },
      'as-of': { type: 'string' },
      explain: { type: 'boolean', default: false },
      jobs: { type: 'string' },
      engine: { type: 'string' },
      history: { type: 'string' },
      record: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    await write(io.stdout, checkHelp + '\n');
    return EXIT.ok;
  }
  const format = values.format as Format;
  if (!['text', 'json', 'ndjson'].includes(format)) throw new UsageError(`--format must be text, json or ndjson, not "${values.format}"`);
  if (positionals.length === 0) throw new UsageError('name at least one claim file, or "-" for standard input');
  const asOf = values['as-of'];
  if (asOf !== undefined && !isIsoDate(asOf)) throw new UsageError(`--as-of must be a date written YYYY-MM-DD, not "${asOf}"`);
  const chosen = engineFrom(values.engine, io.env);
  if ('problem' in chosen) throw new UsageError(chosen.problem);
  const jobs = values.jobs === undefined ? undefined : Number(values.jobs);
  if (jobs !== undefined && (!/^\d+$/.test(values.jobs!) || jobs < 1 || jobs > 256)) throw new UsageError(`--jobs must be a whole number from 1 to 256, not "${values.jobs}"`);

  if (values.record && values.history === undefined) throw new UsageError('--record needs --history PATH: the claim history to record the claims in');
  // The history's database drivers are loaded only when a history is asked for (about 20 MiB).
  const history = values.history === undefined ? undefined : await (await import('../history-option.js')).openHistoryOrReport(values.history, io, 'scrub check');
  if (history === null) return EXIT.badInput;
  try {
    return await checkFiles(positionals, values, format, asOf, chosen.engine, jobs, io, history);
  } finally {
    await history?.close();
  }
}

async function checkFiles(
  positionals: string[],
  values: { rules?: string; explain: boolean; record: boolean },
  format: Format,
  asOf: string | undefined,
  engine: EngineName,
  jobs: number | undefined,
  io: CliIo,
  history: ClaimHistory | undefined,
): Promise<number> {
  const rulesDir = rulesDirFrom(values.rules, io.env, io.cwd);
  // Threads may be started: the table indexes are loaded into memory they can all read, so the
  // process holds one copy of them however many threads scrub.
  const sharedTables = jobs === 1 || history ? undefined : new SharedTables();
  const packSet = await loadPacksOrReport(rulesDir, io, sharedTables ? { shared: sharedTables } : {});
  if (!packSet) return EXIT.badInput;
  const scrubber = new Scrubber(packSet, { engine });
  // "Today" is fixed once for the run, so every thread (and a run across midnight) agrees.
  const options: ScrubOptions = { explain: values.explain, asOf: asOf ?? todayIso() };

  const out = new ResultWriter(io, format);
  await out.begin();
  let passed = 0;
  let failed = 0;
  /** A named input of which nothing could be read (exit 2). */
  let unreadable = false;
  /** A file-level problem of severity error: a part of a file that could not be read, a broken envelope (exit 1). */
  let brokenParts = false;
  const problemOut = async (shown: string, problem: ReadProblem) => {
    await out.toStderr(`scrub check: ${shown}: ${problem.severity === 'warning' ? 'warning: ' : ''}${problem.message}${problemPlace(problem)}\n`);
    await out.problem({ file: shown, ...problem });
  };
  for (const file of positionals) {
    const shown = file === '-' ? 'stdin' : file;
    try {
      if (file !== '-' && !(await stat(path.resolve(io.cwd, file))).isFile()) throw new Error('it is not a file');
      // A file's problems keep their place among its results: each waits for the results of the
      // claims before it (threads may scrub ahead), then goes to the output and to stderr. An X12
      // file's claims come as soon as they are read, ahead of their place (problems of an
      // envelope are known when it closes, and may go before claims read earlier): a result then
      // waits, as the little the output needs of it, until the reader has placed its claim.
      const waiting: Array<{ after: number; problem: ReadProblem }> = [];
      let placesLate = false;
      /** Claims whose place among the problems is known: all those read, unless they are placed late. */
      let placed = 0;
      /** The labels of claims placed late, from the next to be written on. */
      const labels: string[] = [];
      let written = 0;
      const claims = async function* (): AsyncGenerator<ClaimItem> {
        for await (const item of itemsOf(file, io, undefined, true)) {
          if ('placesLate' in item) placesLate = true;
          else if ('placed' in item) {
            placed++;
            labels.push(item.placed);
          } else if ('fileProblem' in item) {
            if (item.fileProblem.severity === 'error') brokenParts = true;
            waiting.push({ after: placed, problem: item.fileProblem });
          } else {
            if (!placesLate) placed++;
            yield item;
          }
        }
      };
      const flush = async (upTo: number) => {
        while (waiting.length > 0 && waiting[0]!.after <= upTo) await problemOut(shown, waiting.shift()!.problem);
      };
      const held = new WaitingResults(format !== 'text');
      /** Writes the results whose place is known (every one at the end of the file). */
      const writeHeld = async (all: boolean) => {
        while (held.size > 0 && (all || written < placed)) {
          if (waiting.length > 0) await flush(written);
          await out.result(shown, held.shift(), labels.shift());
          written++;
        }
      };
      // A what-if check with history reads each chunk's history ahead of it, in one statement.
      const reading = history?.batch({ ...options, record: values.record });
      const scrubClaim = history && reading ? (input: unknown) => history.scrub(scrubber, input, reading.options) : undefined;
      const parallel = { rulesDir, options, env: io.env, ...(jobs ? { jobs } : {}), ...(sharedTables ? { sharedTables } : {}), ...(scrubClaim ? { scrubClaim } : {}) };
      // An NDJSON stream holds claims only, each in its place as it is read: its results go
      // straight to the output, with nothing to wait for and no problem to place among them.
      const streamed = streamedNdjsonItems(file, io);
      const read = streamed ?? claims();
      const items = reading ? reading.ahead<ClaimItem>(read, (item) => ('input' in item ? item.input : undefined)) : read;
      await scrubEachInOrder(items, scrubber, parallel, (scrubbed) => {
        if (scrubbed.outcome === 'pass') passed++;
        else failed++;
        if (streamed) return out.result(shown, scrubbed);
        held.push(placesLate && format === 'text' ? out.held(scrubbed) : scrubbed);
        return writeHeld(false);
      });
      await writeHeld(true);
      await flush(Number.POSITIVE_INFINITY);
    } catch (err) {
      unreadable = true;
      if (err instanceof NothingReadable) {
        await out.toStderr(`scrub check: cannot read ${file}: ${err.message}\n`);
        for (const problem of err.problems) await out.problem({ file: shown, ...problem });
        continue;
      }
      const e = err as NodeJS.ErrnoException;
      const reason = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'it is a folder, not a file' : e.message;
      await out.toStderr(`scrub check: cannot read ${file}: ${reason}\n`);
    }
  }
  await out.end(passed, failed);
  if (unreadable) return EXIT.badInput;
  return failed > 0 || brokenParts ? EXIT.failed : EXIT.ok;
}
