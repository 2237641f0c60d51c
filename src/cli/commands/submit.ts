import { stat } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { isIsoDate } from '../../claim/dates.js';
import type { ReadProblem } from '../../formats/index.js';
import { connectQueue, QueueUnavailableError, type QueueConnection } from '../../queue/connect.js';
import { BatchIdInUseError, checkBatchId, submitBatch, type SubmitItem } from '../../queue/producer.js';
import { TopologyError, ensureTopology } from '../../queue/topology.js';
import { EXIT, UsageError, write, type CliIo } from '../io.js';
import { Progress } from '../progress.js';
import { itemsOf } from './check.js';
import { settingsOrReport } from './worker.js';

export const submitHelp = `Usage: scrub submit [options] FILE

Puts the claims of FILE on the NATS JetStream queue for the scrub workers, and prints the batch
id on standard output (collect the results with "scrub results --batch ID"). FILE is read as
"scrub check" reads it: JSON, NDJSON (streamed), X12 837P/837I or FHIR; "-" reads standard
input. An item that is not a readable claim gets its result (the reason) at once; a problem of
the file itself (an 835 among 837s, an SE01 that miscounts) is said on standard error and
becomes a record of its own among the results, {"problem": {...}}, as "scrub check --format
ndjson" writes it.

Flow control: a bounded number of claims wait for the server's acknowledgement at a time, and
when the queue is full (SCRUB_QUEUE_MAX_CLAIMS) submission waits for the workers. Progress goes
to standard error: a bar on a terminal, a line of counts every few seconds otherwise.

Options:
  --to URL           NATS server(s) (default: $SCRUB_NATS_URL)
  --batch ID         batch id (letters, digits, - and _); default: a new one. Submitting the
                     same file again with the same id adds nothing twice
  --as-of YYYY-MM-DD the date "today" means for date rules (default: the day each claim is scrubbed)
  --record           record the claims in the claim history (when the workers have one)
  --no-history       scrub without the claim history edits (the results say so)
  --correlation-id ID  an id of yours carried on every claim and result message
                     (Scrub-Correlation-Id) and in the batch manifest
  --quiet            no progress
  -h, --help         show this help

Exit status: 0 submitted; 1 submitted, but the file has an error of its own (the claims that
could be read are on the queue); 2 unreadable file, bad usage or the queue cannot be used.`;

export async function submit(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      to: { type: 'string' },
      batch: { type: 'string' },
      'as-of': { type: 'string' },
      record: { type: 'boolean', default: false },
      'no-history': { type: 'boolean', default: false },
      'correlation-id': { type: 'string' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    await write(io.stdout, submitHelp + '\n');
    return EXIT.ok;
  }
  if (positionals.length !== 1) throw new UsageError('name one claim file, or "-" for standard input');
  const file = positionals[0]!;
  const asOf = values['as-of'];
  if (asOf !== undefined && !isIsoDate(asOf)) throw new UsageError(`--as-of must be a date written YYYY-MM-DD, not "${asOf}"`);
  if (values.record && values['no-history']) throw new UsageError('--record and --no-history contradict each other: a recorded claim is checked against the history it joins');
  if (values['correlation-id'] !== undefined && !/^[\x21-\x7e]{1,128}$/.test(values['correlation-id'])) throw new UsageError('--correlation-id is 1 to 128 printable characters without spaces');
  if (values.batch !== undefined) {
    const problem = checkBatchId(values.batch);
    if (problem) throw new UsageError(problem);
  }
  let size: number | undefined;
  if (file !== '-') {
    try {
      const s = await stat(path.resolve(io.cwd, file));
      if (!s.isFile()) throw Object.assign(new Error('it is not a file'), { code: 'ENOTFILE' });
      size = s.size;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      await write(io.stderr, `scrub submit: cannot read ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}\n`);
      return EXIT.badInput;
    }
  }
  const settings = await settingsOrReport(io, 'scrub submit', values.to);
  if (!settings) return EXIT.badInput;

  let queue: QueueConnection;
  try {
    queue = await connectQueue(settings, 'scrub submit');
    await ensureTopology(queue);
  } catch (err) {
    if (err instanceof QueueUnavailableError || err instanceof TopologyError) {
      await write(io.stderr, `scrub submit: ${err.message}\n`);
      return EXIT.badInput;
    }
    throw err;
  }
  const progress = values.quiet ? undefined : new Progress(io.stderr, 'scrub submit');
  let bytesRead = 0;
  let fileProblems = 0;
  let counts = { published: 0, unreadable: 0 };
  const shown = file === '-' ? 'stdin' : file;
  // A problem of the file itself goes on the queue as a record in its place, as scrub check writes it.
  const claims = async function* (): AsyncGenerator<SubmitItem> {
    for await (const item of itemsOf(file, io, (bytes) => (bytesRead = bytes))) {
      if ('fileProblem' in item) {
        if (item.fileProblem.severity === 'error') fileProblems++;
        await write(io.stderr, `scrub submit: ${shown}: ${item.fileProblem.message}\n`);
        const problem: ReadProblem & { file: string } = { file: shown, ...item.fileProblem };
        yield { fileProblem: problem };
        continue;
      }
      yield item;
    }
  };
  try {
    const manifest = await submitBatch(queue, claims(), {
      via: 'cli',
      ...(values.batch ? { batchId: values.batch } : {}),
      claimOptions: {
        ...(asOf ? { asOf } : {}),
        ...(values.record ? { record: true } : {}),
        ...(values['no-history'] ? { history: 'off' as const } : {}),
        ...(values['correlation-id'] ? { correlationId: values['correlation-id'] } : {}),
      },
      onProgress: (p) => {
        counts = p;
        progress?.update(p.published, 'claims submitted', size ? bytesRead / size : undefined, p.fullWaits ? `(queue full: waited ${p.fullWaits} times)` : '');
      },
    });
    progress?.done(counts.published, 'claims submitted', counts.unreadable ? `(${counts.unreadable} unreadable: their results say why)` : '');
    await write(io.stdout, manifest.batchId + '\n');
    return fileProblems > 0 ? EXIT.failed : EXIT.ok;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (err instanceof BatchIdInUseError) {
      await write(io.stderr, `scrub submit: ${err.message}\n`);
      return EXIT.badInput;
    }
    const reason = e.code === 'ENOENT' ? 'no such file' : e.message;
    await write(io.stderr, `scrub submit: ${counts.published} items were submitted before it stopped: ${reason}\n`);
    return EXIT.badInput;
  } finally {
    await queue.nc.close();
  }
}
