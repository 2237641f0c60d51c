import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { unreadableResult } from '../claim/validate.js';
import type { EngineName } from '../engine/evaluator.js';
import type { ScrubOptions, Scrubber } from '../engine/scrubber.js';
import type { ScrubResult } from '../findings/finding.js';
import { resultJson } from '../findings/result.js';
import { completeResult, withInputPlace } from '../formats/decorate.js';
import type { ClaimItem } from '../formats/json.js';
import type { NdjsonItems } from '../formats/ndjson.js';
import type { ReadClaim } from '../formats/types.js';
import type { SharedIndex, SharedTables } from '../tables/shared.js';
import { startThreadScript } from './thread-script.js';

/**
 * Scrubs a stream of claims in input order, on every core once the input is large.
 *
 * The first claims are scrubbed here, on this thread: most inputs are small, and starting
 * threads would only make them slower. Past PARALLEL_AFTER claims, the rest go in chunks to a
 * pool of N - 1 worker threads, each with its own copy of the packs' rules, and to this thread,
 * the Nth; the table indexes, the bulk of the memory, are shared with this thread when it loaded
 * them as SharedTables. At most two chunks per worker thread are in flight and results are
 * written in input order as soon as the next one is ready, so memory stays bounded whatever the
 * input size. Each result is the JSON.stringify of the same Scrubber's result on either path:
 * the output is byte for byte the single-threaded one. A result is serialised once, where it is
 * written (or, from a worker thread, where it is made).
 */

/** Claims scrubbed on the main thread before worker threads are worth starting. */
export const PARALLEL_AFTER = 200;
/**
 * Claims sent to a worker thread at a time. A chunk's claims are all alive until the last is
 * scrubbed (in the worker, which receives them at once; here, where results wait for their turn),
 * so with 64 they outlived two young-generation collections and were promoted: each thread's old
 * generation filled with them at about 5 MB/s until a full collection, the batch's peak. With 32,
 * old generations stay nearly flat (measured with --trace-gc on 200,000 claims; peak RSS 270-280
 * MiB against 290-315, claims/s the same within the noise).
 */
const CHUNK = 32;

/** What the output needs of an item: its label and, for X12 and FHIR, what the reader knew. */
export type ItemSource = Pick<ClaimItem, 'label' | 'line'> & { read?: ReadClaim };

/**
 * A claim's result, serialised at most once: as JSON text for the json and ndjson outputs and
 * for the trip back from a worker thread, as the object for the text output, whichever is asked
 * for first; the other form is derived from it only if it is asked for too.
 */
export class ScrubbedItem {
  private text: string | undefined;
  private object: ScrubResult | undefined;

  constructor(
    readonly item: ItemSource,
    readonly outcome: 'pass' | 'fail',
    result: { json: string } | { result: ScrubResult },
  ) {
    if ('json' in result) this.text = result.json;
    else this.object = result.result;
  }

  /** The result as JSON text. */
  get json(): string {
    return (this.text ??= resultJson(this.object!));
  }

  get result(): ScrubResult {
    return (this.object ??= JSON.parse(this.text!) as ScrubResult);
  }
}

export interface ParallelOptions {
  /** Threads to use at most (1: never start any). Default: one per core. */
  jobs?: number;
  /** The rules folder, for the worker threads to load their own copy of the packs. */
  rulesDir: string;
  /** The environment the packs were loaded with (it names the CMS table files). */
  env?: Readonly<Record<string, string | undefined>>;
  /** The table indexes the packs were loaded with, in shared memory: the threads read them, not their files. */
  sharedTables?: SharedTables;
  options: ScrubOptions;
  /** Told when the worker threads start (how many), for tests and progress reports. */
  onThreads?: (count: number) => void;
  /**
   * Scrubs each claim instead of the scrubber alone (with the claim history): claims are then
   * scrubbed one after another on this thread, in input order, as a history must see them.
   */
  scrubClaim?: ClaimScrub;
}

export type ClaimScrub = (input: unknown) => Promise<ScrubResult>;

/** One item, scrubbed the same way on the main thread and in a worker thread. */
export async function scrubItem(scrubber: Scrubber, item: ClaimItem, options: ScrubOptions, scrubClaim?: ClaimScrub): Promise<ScrubbedItem> {
  if ('error' in item) return completedItem(item, unreadableResult(item, item.problem ?? 'invalid-json', item.error));
  return completedItem(item, scrubClaim ? await scrubClaim(item.input) : (scrubber.scrubNow(item.input, options) ?? (await scrubber.scrub(item.input, options))));
}

/**
 * The same at once, when the scrubber evaluates synchronously (compiled rules, no explain):
 * a batch then costs no promise per claim. Undefined when it cannot.
 */
export function scrubItemNow(scrubber: Scrubber, item: ClaimItem, options: ScrubOptions): ScrubbedItem | undefined {
  if ('error' in item) return completedItem(item, unreadableResult(item, item.problem ?? 'invalid-json', item.error));
  const result = scrubber.scrubNow(item.input, options);
  return result && completedItem(item, result);
}

function completedItem(item: ClaimItem, scrubbed: ScrubResult): ScrubbedItem {
  // X12 and FHIR claims: the reader's findings, and where each finding is in the file.
  const result = withInputPlace('read' in item && item.read ? completeResult(scrubbed, item.read) : scrubbed, item);
  return new ScrubbedItem(item, result.outcome, { result });
}

/**
 * The reader's part of an X12 or FHIR item stays on this thread (it holds functions, which
 * cannot cross to a worker): the worker scrubs the claim and sends its result back as an object,
 * to be completed here and serialised once.
 */
function toWorker(item: ClaimItem): ClaimItem & { completedHere?: true } {
  if (!('read' in item) || item.read === undefined) return item;
  const { read: _kept, ...plain } = item;
  return { ...plain, completedHere: true };
}

/**
 * An item without its claim: once a thread has its copy, this thread keeps only what the output
 * needs, so that claims in flight do not outlive their posting here (where they would pile up in
 * the old generation of this thread's heap until a full collection).
 */
function sourceOf(item: ClaimItem): ItemSource {
  if (!('input' in item)) return item;
  const { input: _sent, ...source } = item;
  return source;
}

function fromWorker(item: ItemSource, reply: WorkerResult): ScrubbedItem {
  if (!('result' in reply) || item.read === undefined) return new ScrubbedItem(item, reply.outcome, reply);
  const result = completeResult(reply.result, item.read);
  return new ScrubbedItem(item, result.outcome, { result });
}

/**
 * scrubInOrder with each result handed to `each` as it is made, the next claim scrubbed once
 * what `each` returns has settled. With one thread and a reader that has its next items read
 * already (the NDJSON reader), the loop runs without a promise a claim: it waits only for the
 * reader's next chunk and for an output that is behind.
 */
export async function scrubEachInOrder(
  items: AsyncIterable<ClaimItem> | NdjsonItems,
  scrubber: Scrubber,
  parallel: ParallelOptions,
  each: (scrubbed: ScrubbedItem) => Promise<void> | undefined,
): Promise<void> {
  const oneThread = !parallel.scrubClaim && (parallel.jobs ?? availableParallelism()) <= 1;
  if (!oneThread || !('takeReady' in items)) {
    for await (const scrubbed of scrubInOrder(items, scrubber, parallel)) await each(scrubbed);
    return;
  }
  const iterator = items;
  let done = false;
  try {
    for (;;) {
      let item = iterator.takeReady();
      if (item === undefined) {
        const next = await iterator.next();
        if (next.done) break;
        item = next.value;
      }
      const waiting = each(scrubItemNow(scrubber, item, parallel.options) ?? (await scrubItem(scrubber, item, parallel.options)));
      if (waiting) await waiting;
    }
    done = true;
  } finally {
    // As a for-await loop left early does: the reader lets its input go.
    if (!done) await iterator.return?.();
  }
}

export async function* scrubInOrder(items: AsyncIterable<ClaimItem>, scrubber: Scrubber, parallel: ParallelOptions): AsyncGenerator<ScrubbedItem> {
  const iterator = items[Symbol.asyncIterator]();
  const jobs = parallel.scrubClaim ? 1 : (parallel.jobs ?? availableParallelism());
  let served = 0;
  while (jobs <= 1 || served < PARALLEL_AFTER) {
    const next = await iterator.next();
    if (next.done) return;
    served++;
    yield (parallel.scrubClaim ? undefined : scrubItemNow(scrubber, next.value, parallel.options)) ?? (await scrubItem(scrubber, next.value, parallel.options, parallel.scrubClaim));
  }
  // This thread is one of the jobs; the others evaluate with the same engine as this one.
  const setup: WorkerSetup = {
    rulesDir: parallel.rulesDir,
    options: parallel.options,
    env: { ...(parallel.env ?? process.env) },
    engine: scrubber.evaluator.name,
    sharedTables: parallel.sharedTables?.records() ?? [],
  };
  const pool = new ScrubPool(jobs - 1, setup, async (chunk) => {
    const results: ScrubbedItem[] = [];
    for (const item of chunk) results.push(await scrubItem(scrubber, item, parallel.options));
    return results;
  });
  parallel.onThreads?.(jobs);
  try {
    const inFlight: Array<Promise<ScrubbedItem[]>> = [];
    let exhausted = false;
    const fill = async () => {
      while (!exhausted && inFlight.length < jobs * 2) {
        const chunk: ClaimItem[] = [];
        while (chunk.length < CHUNK) {
          const next = await iterator.next();
          if (next.done) {
            exhausted = true;
            break;
          }
          chunk.push(next.value);
        }
        if (chunk.length > 0) inFlight.push(pool.run(chunk));
      }
    };
    await fill();
    while (inFlight.length > 0) {
      const results = await inFlight.shift()!;
      yield* results;
      await fill();
    }
  } finally {
    await pool.close();
  }
}

interface Task {
  id: number;
  sources: ItemSource[];
  resolve: (results: ScrubbedItem[]) => void;
  reject: (err: Error) => void;
}

export interface WorkerRequest {
  id: number;
  /** `completedHere`: the main thread completes the result, so it comes back as an object. */
  items: Array<ClaimItem & { completedHere?: true }>;
}
/** What each thread starts with. */
export interface WorkerSetup {
  rulesDir: string;
  options: ScrubOptions;
  env: Record<string, string | undefined>;
  engine: EngineName;
  /** SharedTables records: their arrays reach the thread as the same memory, not copies. */
  sharedTables: SharedIndex[];
}
export type WorkerResult = { json: string; outcome: 'pass' | 'fail' } | { result: ScrubResult; outcome: 'pass' | 'fail' };
export type WorkerReply = { id: number; results: WorkerResult[] } | { id: number; error: string };

/**
 * A thread's young generation, in MB. V8 lets a busy isolate's grow to 48 MB (two 16 MB
 * semi-spaces and a large-object space), and each thread would keep that much resident for the
 * whole batch; the garbage of scrubbing a claim dies young in far less. Measured on the batch
 * benchmark: about 17 MB less per thread, and no change in claims/s beyond the noise.
 */
const THREAD_YOUNG_GENERATION_MB = 16;

/** A scrub thread, with its young generation bounded. */
function startWorker(workerData: WorkerSetup): Worker {
  return startThreadScript('check-worker', { workerData, resourceLimits: { maxYoungGenerationSizeMb: THREAD_YOUNG_GENERATION_MB } });
}

/** Chunks a worker thread holds at once: one it scrubs and one waiting, so it never idles. */
const CHUNKS_PER_THREAD = 2;

interface Thread {
  worker: Worker;
  /** Chunks posted to it, by id, until their results come back. */
  tasks: Map<number, Task>;
}

/**
 * Scrubs chunks on N - 1 worker threads and on this thread, which makes the Nth: it takes a
 * chunk only when every worker thread already holds its two, so it helps when the workers are
 * the bottleneck and keeps to reading and writing when it is. One thread fewer than jobs is one
 * V8 heap and copy of the rules fewer (about 60 MB with the bundled packs).
 */
class ScrubPool {
  private readonly threads: Thread[] = [];
  /** Chunks waiting, with their items (which are let go here once posted). */
  private readonly queue: Array<{ task: Task; items: ClaimItem[] }> = [];
  private scrubbingHere = false;
  private nextId = 1;
  private failure: Error | undefined;
  private closing = false;

  constructor(
    workerThreads: number,
    workerData: WorkerSetup,
    private readonly scrubHere: (items: ClaimItem[]) => Promise<ScrubbedItem[]>,
  ) {
    for (let i = 0; i < workerThreads; i++) {
      const thread: Thread = { worker: startWorker(workerData), tasks: new Map() };
      thread.worker.on('message', (reply: WorkerReply) => this.finished(thread, reply));
      thread.worker.on('error', (err) => this.fail(err));
      thread.worker.on('exit', (code) => {
        if (code !== 0 && !this.closing) this.fail(new Error(`a scrub thread stopped with code ${code}`));
      });
      this.threads.push(thread);
    }
  }

  run(chunk: ClaimItem[]): Promise<ScrubbedItem[]> {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.queue.push({ task: { id: this.nextId++, sources: chunk.map(sourceOf), resolve, reject }, items: chunk });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const thread = this.threads.reduce((a, b) => (b.tasks.size < a.tasks.size ? b : a));
      if (thread.tasks.size < CHUNKS_PER_THREAD) {
        const { task, items } = this.queue.shift()!;
        thread.tasks.set(task.id, task);
        thread.worker.postMessage({ id: task.id, items: items.map(toWorker) } satisfies WorkerRequest);
      } else if (!this.scrubbingHere) {
        const { task, items } = this.queue.shift()!;
        this.scrubbingHere = true;
        this.scrubHere(items)
          .then(task.resolve, task.reject)
          .finally(() => {
            this.scrubbingHere = false;
            this.dispatch();
          });
      } else return;
    }
  }

  private finished(thread: Thread, reply: WorkerReply): void {
    const task = thread.tasks.get(reply.id);
    thread.tasks.delete(reply.id);
    if (task) {
      if ('error' in reply) task.reject(new Error(reply.error));
      else task.resolve(reply.results.map((r, i) => fromWorker(task.sources[i]!, r)));
    }
    this.dispatch();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    const posted = this.threads.flatMap((thread) => [...thread.tasks.values()]);
    for (const task of [...posted, ...this.queue.splice(0).map((queued) => queued.task)]) task.reject(err);
    for (const thread of this.threads) thread.tasks.clear();
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.threads.map((thread) => thread.worker.terminate()));
  }
}
