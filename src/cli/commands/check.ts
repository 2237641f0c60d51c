import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { isIsoDate, todayIso } from '../../claim/dates.js';
import { engineFrom } from '../../engine/engines.js';
import { Scrubber, type ScrubOptions } from '../../engine/scrubber.js';
import type { ScrubResult } from '../../findings/finding.js';
import { readClaims, type ReadProblem } from '../../formats/index.js';
import { unreadableProblemOf, type ClaimItem } from '../../formats/json.js';
import { ndjsonItems } from '../../formats/ndjson.js';
import { SharedTables } from '../../tables/shared.js';
import { lowerFirst } from '../../util/text.js';
import { loadPacksOrReport } from '../load-packs.js';
import { EXIT, UsageError, write, type CliIo } from '../io.js';
import { formatResultText, styleFor } from '../output.js';
import { PARALLEL_AFTER, scrubInOrder } from '../parallel-scrub.js';
import { rulesDirFrom } from '../rules-dir.js';

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
  -h, --help                 show this help

Exit status: 0 every claim passed, 1 a claim failed, 2 unreadable input or bad usage.`;

type Format = 'text' | 'json' | 'ndjson';

/** Results go out as they are made, so a million-line NDJSON file needs no more memory than one. */
class ResultWriter {
  private count = 0;
  constructor(
    private readonly io: CliIo,
    private readonly format: Format,
  ) {}

  async begin(): Promise<void> {
    if (this.format === 'json') await write(this.io.stdout, '[');
  }

  /** `json` is the result as JSON text: written as it is, or read back for the text format. */
  async result(source: string, json: string): Promise<void> {
    const first = this.count++ === 0;
    if (this.format === 'json') await write(this.io.stdout, (first ? '\n' : ',\n') + json);
    else if (this.format === 'ndjson') await write(this.io.stdout, json + '\n');
    else await write(this.io.stdout, (first ? '' : '\n') + formatResultText(source, JSON.parse(json) as ScrubResult, styleFor(this.io.stdout as NodeJS.WriteStream)) + '\n');
  }

  async end(passed: number, failed: number): Promise<void> {
    if (this.format === 'json') await write(this.io.stdout, this.count ? '\n]\n' : ']\n');
    if (this.format === 'text') {
      await write(this.io.stdout, `\n${this.count} claim${this.count === 1 ? '' : 's'}: ${passed} passed, ${failed} failed\n`);
    }
  }
}

/** What a file yields: claims (with what the reader knows about where they came from), or problems. */
export type CheckItem = ClaimItem | { fileProblem: ReadProblem };

/** The claims of a file, told apart by format; `onRead` hears how many bytes have been read (for progress). */
export async function* itemsOf(file: string, io: CliIo, onRead?: (bytes: number) => void): AsyncGenerator<CheckItem> {
  const name = file === '-' ? 'stdin' : file;
  const ndjsonByName = /\.(ndjson|jsonl)$/i.test(file);
  if (ndjsonByName) {
    // Stream line by line: NDJSON files can be far larger than memory.
    const input = file === '-' ? io.stdin : createReadStream(path.resolve(io.cwd, file));
    yield* ndjsonItems(onRead ? countedChunks(input as AsyncIterable<Buffer | string>, onRead) : (input as AsyncIterable<Buffer | string>));
    return;
  }
  const text = file === '-' ? await readAll(io.stdin) : await readFile(path.resolve(io.cwd, file), 'utf8');
  onRead?.(Buffer.byteLength(text));
  // JSON, NDJSON, X12 or FHIR: told from the content, whatever the file is called.
  const read = readClaims(text, { filename: name });
  if (read.items.length === 0) throw new Error(lowerFirst(read.problems.map((p) => p.message).join(' ') || 'it holds no claim'));
  for (const problem of read.problems) yield { fileProblem: problem };
  for (const item of read.items) {
    if (item.kind === 'error') {
      const at = item.error.position;
      yield { label: item.label, error: lowerFirst(item.error.message), problem: unreadableProblemOf(item.error.code), ...(at && 'line' in at && at.format === 'ndjson' ? { line: at.line } : {}) };
    } else yield { label: read.format === 'json' && read.items.length === 1 ? '' : item.label, input: item.input, read: item };
  }
}

async function* countedChunks(input: AsyncIterable<Buffer | string>, onRead: (bytes: number) => void): AsyncGenerator<Buffer | string> {
  let bytes = 0;
  for await (const chunk of input) {
    onRead((bytes += chunk.length));
    yield chunk;
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
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

  const rulesDir = rulesDirFrom(values.rules, io.env, io.cwd);
  // Threads may be started: the table indexes are loaded into memory they can all read, so the
  // process holds one copy of them however many threads scrub.
  const sharedTables = jobs === 1 ? undefined : new SharedTables();
  const packSet = await loadPacksOrReport(rulesDir, io, sharedTables ? { shared: sharedTables } : {});
  if (!packSet) return EXIT.badInput;
  const scrubber = new Scrubber(packSet, { engine: chosen.engine });
  // "Today" is fixed once for the run, so every thread (and a run across midnight) agrees.
  const options: ScrubOptions = { explain: values.explain, asOf: asOf ?? todayIso() };

  const out = new ResultWriter(io, format);
  await out.begin();
  let passed = 0;
  let failed = 0;
  let unreadable = false;
  for (const file of positionals) {
    try {
      if (file !== '-' && !(await stat(path.resolve(io.cwd, file))).isFile()) throw new Error('it is not a file');
      // Problems with parts of the file (no readable claim there) go to stderr as they are met;
      // the claims go on to be scrubbed, in order.
      const claims = async function* (): AsyncGenerator<ClaimItem> {
        for await (const item of itemsOf(file, io)) {
          if (!('fileProblem' in item)) {
            yield item;
            continue;
          }
          if (item.fileProblem.severity === 'error') unreadable = true;
          await write(io.stderr, `scrub check: ${file === '-' ? 'stdin' : file}: ${item.fileProblem.message}\n`);
        }
      };
      for await (const { item, json, outcome } of scrubInOrder(claims(), scrubber, { rulesDir, options, env: io.env, ...(jobs ? { jobs } : {}), ...(sharedTables ? { sharedTables } : {}) })) {
        const source = [file === '-' ? 'stdin' : file, item.label].filter(Boolean).join(' ');
        if (outcome === 'pass') passed++;
        else failed++;
        await out.result(source, json);
      }
    } catch (err) {
      unreadable = true;
      const e = err as NodeJS.ErrnoException;
      const reason = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'it is a folder, not a file' : e.message;
      await write(io.stderr, `scrub check: cannot read ${file}: ${reason}\n`);
    }
  }
  await out.end(passed, failed);
  if (unreadable) return EXIT.badInput;
  return failed > 0 ? EXIT.failed : EXIT.ok;
}
