import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { batchResults, batchStatus, CollectTimeoutError, waitForManifest } from '../../queue/collector.js';
import { connectQueue, QueueUnavailableError, type QueueConnection } from '../../queue/connect.js';
import { checkBatchId } from '../../queue/producer.js';
import { EXIT, UsageError, write, type CliIo } from '../io.js';
import { Progress } from '../progress.js';
import { settingsOrReport, wholeNumber } from './worker.js';

export const resultsHelp = `Usage: scrub results [options] --batch ID

Collects the results of a batch submitted with "scrub submit" (or POST /v1/scrub/batch?async=true)
and writes them as NDJSON, one result per line, in the order the claims were submitted, each
claim exactly once. Waits for results the workers have not published yet.

Options:
  --from URL        NATS server(s) (default: $SCRUB_NATS_URL)
  --batch ID        the batch id "scrub submit" printed
  --out FILE        write to FILE instead of standard output
  --timeout SECONDS give up when no result has arrived for this long (default 600; 0: wait for ever)
  --status          print the batch's progress as JSON and exit, without waiting
  --quiet           no progress on standard error
  -h, --help        show this help

Exit status: 0 every claim passed, 1 a claim failed, 2 no such batch, results missing at the
timeout, bad usage or the queue cannot be used.`;

export async function results(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      from: { type: 'string' },
      batch: { type: 'string' },
      out: { type: 'string' },
      timeout: { type: 'string' },
      status: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    await write(io.stdout, resultsHelp + '\n');
    return EXIT.ok;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"; name the batch with --batch ID`);
  const batchId = values.batch;
  if (batchId === undefined) throw new UsageError('name the batch with --batch ID');
  const problem = checkBatchId(batchId);
  if (problem) throw new UsageError(problem);
  const timeoutMs = wholeNumber('--timeout', values.timeout, 600, 0, 7 * 24 * 3600) * 1000;
  const settings = await settingsOrReport(io, 'scrub results', values.from);
  if (!settings) return EXIT.badInput;

  let queue: QueueConnection;
  try {
    queue = await connectQueue(settings, 'scrub results');
  } catch (err) {
    if (!(err instanceof QueueUnavailableError)) throw err;
    await write(io.stderr, `scrub results: ${err.message}\n`);
    return EXIT.badInput;
  }
  try {
    if (values.status) {
      const status = await batchStatus(queue, batchId);
      if (!status) {
        await write(io.stderr, `scrub results: there is no batch "${batchId}" on the queue (never submitted, or past the results' retention)\n`);
        return EXIT.badInput;
      }
      await write(io.stdout, JSON.stringify({ batchId, items: status.manifest.items, done: status.done, complete: status.done >= status.manifest.items }) + '\n');
      return EXIT.ok;
    }
    // A submission still running publishes its manifest at the end: wait for it as for results.
    let manifest = await waitForManifest(queue, batchId, 2000);
    if (!manifest) {
      if (!values.quiet) await write(io.stderr, `scrub results: waiting for batch "${batchId}" to be submitted ...\n`);
      manifest = await waitForManifest(queue, batchId, timeoutMs || Number.MAX_SAFE_INTEGER);
    }
    if (!manifest) {
      await write(io.stderr, `scrub results: there is no batch "${batchId}" on the queue (never submitted, still being submitted, or past the results' retention)\n`);
      return EXIT.badInput;
    }
    const out = values.out ? createWriteStream(path.resolve(io.cwd, values.out)) : io.stdout;
    const progress = values.quiet ? undefined : new Progress(io.stderr, 'scrub results');
    let written = 0;
    let failed = 0;
    try {
      for await (const { json } of batchResults(queue, manifest, timeoutMs ? { idleTimeoutMs: timeoutMs } : {})) {
        // The outcome is read from the text: parsing every result again is not needed to count.
        if (json.includes('"outcome":"fail"')) failed++;
        // A problem of the submitted file itself (an 835 among 837s, an SE01 that miscounts): as scrub check, exit 1.
        else if (json.startsWith('{"problem":') && (JSON.parse(json) as { problem: { severity?: string } }).problem.severity === 'error') failed++;
        await write(out, json + '\n');
        written++;
        progress?.update(written, 'results', written / manifest.items);
      }
    } catch (err) {
      if (!(err instanceof CollectTimeoutError)) throw err;
      progress?.done(written, 'results');
      await write(io.stderr, `scrub results: ${err.message} (no new result for ${timeoutMs / 1000} s); are workers running? Run again to continue waiting.\n`);
      return EXIT.badInput;
    } finally {
      if (out !== io.stdout) await new Promise<void>((resolve) => (out as NodeJS.WritableStream).end(resolve));
    }
    progress?.done(written, 'results', `(${failed} failed)`);
    return failed > 0 ? EXIT.failed : EXIT.ok;
  } finally {
    await queue.nc.close();
  }
}
