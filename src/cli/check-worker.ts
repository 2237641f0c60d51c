import { parentPort, workerData } from 'node:worker_threads';
import { Scrubber } from '../engine/scrubber.js';
import { readPackSet } from '../packs/loader.js';
import { formatDiagnostic } from '../packs/diagnostics.js';
import { SharedTables } from '../tables/shared.js';
import { scrubItem, type WorkerReply, type WorkerRequest, type WorkerResult, type WorkerSetup } from './parallel-scrub.js';

/**
 * A `scrub check` thread: loads its own copy of the packs' rules, with the table indexes the
 * main thread shared (no table file of theirs is read here), then scrubs the chunks it is sent.
 */

const { rulesDir, options, env, engine, sharedTables } = workerData as WorkerSetup;
// The same environment as the main thread's packs (it names the CMS table files).
const loaded = readPackSet(rulesDir, undefined, { env, shared: new SharedTables(sharedTables) }).then((l) => {
  if (!l.packSet) throw new Error(`the rule packs changed while the check ran and now have errors: ${l.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic).join('; ')}`);
  return new Scrubber(l.packSet, { engine });
});

parentPort!.on('message', (request: WorkerRequest) => {
  void (async (): Promise<WorkerReply> => {
    try {
      const scrubber = await loaded;
      const results: WorkerResult[] = [];
      for (const { completedHere, ...item } of request.items) {
        const scrubbed = await scrubItem(scrubber, item, options);
        results.push(completedHere ? { result: scrubbed.result, outcome: scrubbed.outcome } : { json: scrubbed.json, outcome: scrubbed.outcome });
      }
      return { id: request.id, results };
    } catch (err) {
      return { id: request.id, error: (err as Error).message };
    }
  })().then((reply) => parentPort!.postMessage(reply));
});
