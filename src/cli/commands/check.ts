import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { isIsoDate } from '../../claim/dates.js';
import { SCHEMA_PACK } from '../../claim/validate.js';
import { Scrubber, type ScrubOptions } from '../../engine/scrubber.js';
import type { ScrubResult } from '../../findings/finding.js';
import { buildResult } from '../../findings/result.js';
import { completeResult, readClaims, type ReadClaim, type ReadProblem } from '../../formats/index.js';
import { isFhirResource } from '../../formats/fhir/read.js';
import { parseJson, readJsonValue, type ClaimItem } from '../../formats/json.js';
import { loadPacksOrReport } from '../load-packs.js';
import { EXIT, UsageError, write, type CliIo } from '../io.js';
import { formatResultText, styleFor } from '../output.js';
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

  async result(source: string, result: ScrubResult): Promise<void> {
    const first = this.count++ === 0;
    if (this.format === 'json') await write(this.io.stdout, (first ? '\n' : ',\n') + JSON.stringify(result));
    else if (this.format === 'ndjson') await write(this.io.stdout, JSON.stringify(result) + '\n');
    else await write(this.io.stdout, (first ? '' : '\n') + formatResultText(source, result, styleFor(this.io.stdout as NodeJS.WriteStream)) + '\n');
  }

  async end(passed: number, failed: number): Promise<void> {
    if (this.format === 'json') await write(this.io.stdout, this.count ? '\n]\n' : ']\n');
    if (this.format === 'text') {
      await write(this.io.stdout, `\n${this.count} claim${this.count === 1 ? '' : 's'}: ${passed} passed, ${failed} failed\n`);
    }
  }
}

/** The result for an input that is not even JSON: a structure finding, so a batch goes on. */
function unreadableResult(error: string, where: string): ScrubResult {
  return buildResult(null, [
    { ruleId: 'invalid-json', pack: SCHEMA_PACK, category: 'structure', severity: 'error', message: `${where} is ${error}`, lines: [], path: '', details: {} },
  ], []);
}

/** What a file yields: claims (with what the reader knows about where they came from), or problems. */
type CheckItem = ClaimItem | { label: string; input: unknown; read: ReadClaim } | { problem: ReadProblem };

/** "the input is empty" after "cannot read FILE: ". */
function lowerFirst(text: string): string {
  return /^[A-Z][a-z]/.test(text) ? text[0]!.toLowerCase() + text.slice(1) : text;
}

async function* itemsOf(file: string, io: CliIo): AsyncGenerator<CheckItem> {
  const name = file === '-' ? 'stdin' : file;
  const ndjsonByName = /\.(ndjson|jsonl)$/i.test(file);
  if (ndjsonByName) {
    // Stream line by line: NDJSON files can be far larger than memory.
    const input = file === '-' ? io.stdin : createReadStream(path.resolve(io.cwd, file), { encoding: 'utf8' });
    const lines = createInterface({ input, crlfDelay: Infinity });
    let n = 0;
    for await (const line of lines) {
      n++;
      if (line.trim() === '') continue;
      const parsed = parseJson(line);
      if (parsed.ok && isFhirResource(parsed.value)) {
        // FHIR bulk data is NDJSON: a line may be a Claim (or a Bundle) rather than a canonical claim.
        const read = readJsonValue(parsed.value);
        for (const problem of read.problems) yield { label: `line ${n}`, error: lowerFirst(problem.message) };
        for (const item of read.items) {
          if (item.kind === 'error') yield { label: `line ${n}`, error: lowerFirst(item.error.message) };
          else yield { label: `line ${n} ${item.label}`, input: item.input, read: item };
        }
        continue;
      }
      yield parsed.ok ? { label: `line ${n}`, input: parsed.value } : { label: `line ${n}`, error: parsed.error };
    }
    return;
  }
  const text = file === '-' ? await readAll(io.stdin) : await readFile(path.resolve(io.cwd, file), 'utf8');
  // JSON, NDJSON, X12 or FHIR: told from the content, whatever the file is called.
  const read = readClaims(text, { filename: name });
  if (read.items.length === 0) throw new Error(lowerFirst(read.problems.map((p) => p.message).join(' ') || 'it holds no claim'));
  for (const problem of read.problems) yield { problem };
  for (const item of read.items) {
    if (item.kind === 'error') yield { label: item.label, error: lowerFirst(item.error.message) };
    else yield { label: read.format === 'json' && read.items.length === 1 ? '' : item.label, input: item.input, read: item };
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

  const packSet = await loadPacksOrReport(rulesDirFrom(values.rules, io.env, io.cwd), io);
  if (!packSet) return EXIT.badInput;
  const scrubber = new Scrubber(packSet);
  const options: ScrubOptions = { explain: values.explain };
  if (asOf) options.asOf = asOf;

  const out = new ResultWriter(io, format);
  await out.begin();
  let passed = 0;
  let failed = 0;
  let unreadable = false;
  for (const file of positionals) {
    try {
      if (file !== '-' && !(await stat(path.resolve(io.cwd, file))).isFile()) throw new Error('it is not a file');
      for await (const item of itemsOf(file, io)) {
        if ('problem' in item) {
          // Part of the file holds no readable claim: say where, and still scrub the rest.
          if (item.problem.severity === 'error') unreadable = true;
          await write(io.stderr, `scrub check: ${file === '-' ? 'stdin' : file}: ${item.problem.message}\n`);
          continue;
        }
        const source = [file === '-' ? 'stdin' : file, item.label].filter(Boolean).join(' ');
        const result =
          'error' in item
            ? unreadableResult(item.error, item.label)
            : 'read' in item
              ? completeResult(await scrubber.scrub(item.input, options), item.read)
              : await scrubber.scrub(item.input, options);
        if (result.outcome === 'pass') passed++;
        else failed++;
        await out.result(source, result);
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
