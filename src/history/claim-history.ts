import { setImmediate as nextTurn } from 'node:timers/promises';
import { todayIso } from '../claim/dates.js';
import type { Claim } from '../claim/claim.generated.js';
import { SCHEMA_PACK, checkClaimStructure } from '../claim/validate.js';
import { HistoryView } from '../engine/history.js';
import type { ScrubOptions, Scrubber } from '../engine/scrubber.js';
import type { HistoryStatus, ScrubResult } from '../findings/finding.js';
import type { WorkbenchHistory } from './activity.js';
import type { HistoryConfig } from './config.js';
import { PostgresHistoryStore } from './postgres.js';
import { identify, recordedClaimOf, type ClaimIdentity } from './record.js';
import { SqliteHistoryStore } from './sqlite.js';
import { recordedLinesOf, type HistoryStore, type HistoryWriter, type RecordedClaim } from './store.js';

/**
 * The claim history as the scrubber uses it: the patient's recorded lines fetched before the
 * rules run, and, when asked, the claim recorded in the same unit (so that two duplicates
 * scrubbed at once never both pass). A what-if scrub never records.
 */

export type HistoryMode = 'on' | 'off';

export interface HistoryScrubOptions extends ScrubOptions {
  /** Record the claim after scrubbing it (replacing its earlier version; a void removes it). */
  record?: boolean;
  /** 'off': scrub without history (the result says it was not consulted). */
  mode?: HistoryMode;
  /** The history of a what-if batch's claims, read a chunk at a time ahead of them (ClaimHistory.batch). */
  prefetched?: PrefetchedHistory;
}

/**
 * Claims of a what-if batch whose history is read together, in one statement. Probed on a
 * SQLite store of 100,000 patients (CPU us per claim added over history off, claims
 * interleaved; loaded machine): one claim at a time 125, chunks of 8 96, 16 99, 32 92, 64 85,
 * 128 88; with rows naming their patient by position (as now), one at a time 203, 16: 129,
 * 64: 111, 128: 103 (a busier hour). Past 64 the gain is within noise,
 * while a chunk's claims and rows wait in memory and a stream's first answer waits for the chunk.
 */
export const READ_AHEAD_CLAIMS = 64;

/** What was read ahead for one claim: its identity, and its chunk's rows (or why they could not be read). */
interface ReadAhead {
  identity: ClaimIdentity | { reason: string };
  chunk: { rows?: Map<string, Array<readonly unknown[]>>; failure?: unknown };
}

/**
 * The history a what-if batch read ahead of its claims, by claim input: each chunk's patients
 * in one statement, so the whole chunk sees one snapshot of the store. A chunk whose read failed
 * fails each claim of it that needs history when that claim is scrubbed (503
 * history-unavailable), exactly as the claim's own read would have: never a silent skip.
 */
export class PrefetchedHistory {
  private readonly byInput = new WeakMap<object, ReadAhead>();

  constructor(
    private readonly store: HistoryStore,
    private readonly secret: string,
  ) {}

  /** Reads the history of these claims' patients, in one statement; never throws (see the class). */
  async read(inputs: readonly unknown[]): Promise<void> {
    const chunk: ReadAhead['chunk'] = {};
    const keys = new Set<string>();
    for (const input of inputs) {
      if (input === null || typeof input !== 'object') continue;
      const identity = identify(this.secret, input);
      this.byInput.set(input, { identity, chunk });
      if (!('reason' in identity)) keys.add(identity.patientKey);
    }
    if (keys.size === 0) return;
    try {
      chunk.rows = await this.store.rowsOfMany([...keys]);
    } catch (err) {
      chunk.failure = err;
    }
  }

  /** What was read ahead for this claim; undefined when it was not (the claim then reads its own). */
  of(input: unknown): ReadAhead | undefined {
    return input !== null && typeof input === 'object' ? this.byInput.get(input) : undefined;
  }

  /**
   * The items of a batch, each chunk's history read before its first item is handed on. A
   * stream is not waited for: when no further item is ready, the items at hand go on as a
   * chunk of their own (a client that sends a line and waits for its answer still gets it).
   */
  async *ahead<T>(items: AsyncIterable<T> | Iterable<T>, inputOf: (item: T) => unknown, size = READ_AHEAD_CLAIMS): AsyncGenerator<T> {
    let chunk: T[] = [];
    const flush = async () => {
      await this.read(chunk.map(inputOf));
      const out = chunk;
      chunk = [];
      return out;
    };
    if (Symbol.iterator in items) {
      try {
        for (const item of items) {
          chunk.push(item);
          if (chunk.length === size) yield* await flush();
        }
      } catch (err) {
        // The source failing (a body cut at its limit) ends the batch after the claims before it, as without read-ahead.
        if (chunk.length > 0) yield* await flush();
        throw err;
      }
      if (chunk.length > 0) yield* await flush();
      return;
    }
    const iterator = items[Symbol.asyncIterator]();
    let pending: Promise<IteratorResult<T>> | undefined;
    // One timer per turn of the event loop, not per item: it fires only once nothing is ready.
    let turn: Promise<typeof IDLE> | undefined;
    let finished = false;
    try {
      for (;;) {
        pending ??= iterator.next();
        let next: IteratorResult<T> | typeof IDLE;
        try {
          if (chunk.length === 0) next = await pending;
          else {
            turn ??= nextTurn(IDLE).finally(() => (turn = undefined));
            next = await Promise.race([pending, turn]);
          }
        } catch (err) {
          // The source failing (a body cut at its limit) ends the batch after the claims before it, as without read-ahead.
          finished = true;
          if (chunk.length > 0) yield* await flush();
          throw err;
        }
        if (next === IDLE) {
          yield* await flush();
          continue;
        }
        pending = undefined;
        if (next.done) break;
        chunk.push(next.value);
        if (chunk.length === size) yield* await flush();
      }
      finished = true;
      if (chunk.length > 0) yield* await flush();
    } finally {
      // Stopped early (a batch limit): the source is closed as a for-await loop would close it.
      if (!finished) await iterator.return?.();
    }
  }
}

const IDLE = Symbol('idle');

async function* asAsync<T>(items: Iterable<T>): AsyncGenerator<T> {
  yield* items;
}

/** Claims written per transaction by an import. */
const IMPORT_BATCH = 500;

export interface ImportCounts {
  recorded: number;
  voided: number;
  skipped: Array<{ label: string; reason: string }>;
}

/** What history did, when it says no more than that: one frozen object each, shared by every result. */
const CONSULTED: HistoryStatus = Object.freeze({ consulted: true, recorded: false });
const RECORDED: HistoryStatus = Object.freeze({ consulted: true, recorded: true });
const NOT_CONSULTED_OFF: HistoryStatus = Object.freeze({ consulted: false, recorded: false, reason: 'history=off: the history edits did not run' });

/** The result says what history did: set on the scrubber's result, which is made for this scrub alone (buildResult). */
function withStatus(result: ScrubResult, status: HistoryStatus): ScrubResult {
  result.history = status;
  return result;
}

/** What a recording does to the store: the claims it removes and the claim it records. */
function changesFor(identity: ClaimIdentity, recorded: RecordedClaim | undefined): { remove: string[]; record?: RecordedClaim } {
  const others = identity.exclude.filter((id) => id !== identity.claimId);
  // A void (8) removes the claim and the one it names; a replacement (7) removes the one it names.
  if (identity.frequencyCode === '8') return { remove: identity.exclude };
  return recorded ? { remove: others, record: recorded } : { remove: others };
}

export class ClaimHistory {
  constructor(
    readonly store: HistoryStore,
    private readonly secret: string,
    readonly retentionDays: number,
  ) {}

  /** What the workbench shows of this history: how often each rule fired on the claims recorded. */
  workbench(): WorkbenchHistory {
    return { ruleActivity: (query) => this.store.remits.ruleActivity(query) };
  }

  static async open(config: HistoryConfig): Promise<ClaimHistory> {
    const store =
      config.target.kind === 'sqlite'
        ? SqliteHistoryStore.open(config.target.file, { busyTimeoutMs: config.timeoutMs })
        : await PostgresHistoryStore.open(config.target.url, { poolSize: config.poolSize, timeoutMs: config.timeoutMs });
    return new ClaimHistory(store, config.secret, config.retentionDays);
  }

  /**
   * The options for scrubbing a batch of claims with `options`, and its items as they are to
   * be scrubbed: for a what-if batch (history on, nothing recorded), read ahead a chunk at a
   * time, each chunk's history in one statement (PrefetchedHistory). A recording batch reads
   * each claim in its own transaction, as it records it; so does a batch with history off.
   */
  batch(options: HistoryScrubOptions): { options: HistoryScrubOptions; ahead<T>(items: AsyncIterable<T> | Iterable<T>, inputOf: (item: T) => unknown): AsyncIterable<T> } {
    if (options.record || options.mode === 'off') return { options, ahead: (items) => (Symbol.asyncIterator in items ? items : asAsync(items)) };
    const prefetched = new PrefetchedHistory(this.store, this.secret);
    return { options: { ...options, prefetched }, ahead: (items, inputOf) => prefetched.ahead(items, inputOf) };
  }

  /**
   * Scrubs a claim with its patient's history. Throws HistoryUnavailableError when the store
   * cannot be used: a scrub that needs history must not silently skip the history edits.
   */
  async scrub(scrubber: Scrubber, input: unknown, options: HistoryScrubOptions = {}): Promise<ScrubResult> {
    // The options go on to the scrubber as they are (it reads only its own): copying them without
    // record, mode and prefetched, and again with the view, cost more per claim than the scrub's
    // other bookkeeping (bench/history-probe.ts, step on).
    if (options.mode === 'off') return withStatus(await scrubber.scrub(input, options), NOT_CONSULTED_OFF);
    const record = options.record === true;
    const ahead = record ? undefined : options.prefetched?.of(input);
    const identity = ahead ? ahead.identity : identify(this.secret, input);
    if ('reason' in identity) {
      const result = await scrubber.scrub(input, options);
      return withStatus(result, { consulted: false, recorded: false, reason: `history not consulted: ${identity.reason}` });
    }
    if (!record) {
      let lines;
      if (ahead) {
        if (ahead.chunk.failure !== undefined) throw ahead.chunk.failure;
        lines = recordedLinesOf(ahead.chunk.rows?.get(identity.patientKey) ?? [], identity.exclude);
      } else lines = this.store.linesNow ? this.store.linesNow(identity.patientKey, identity.exclude) : await this.store.linesOf(identity.patientKey, identity.exclude);
      const withHistory: ScrubOptions = { ...options, history: new HistoryView(lines) };
      // Synchronous where the store and the evaluator are: no promise between the read and the result.
      return withStatus(scrubber.scrubNow(input, withHistory) ?? (await scrubber.scrub(input, withHistory)), CONSULTED);
    }
    return this.store.withPatient(identity.patientKey, identity.exclude, (lines, writer) => {
      const withHistory: ScrubOptions = { ...options, history: new HistoryView(lines) };
      // Synchronous where the evaluator is, so that SQLite's transaction never waits on the event loop.
      const now = scrubber.scrubNow(input, withHistory);
      if (now) return this.recordAfter(now, input, identity, writer);
      return scrubber.scrub(input, withHistory).then((result) => this.recordAfter(result, input, identity, writer));
    });
  }

  /**
   * Records the scrubbed claim. The scrubber has checked it against the claim schema already:
   * a result without schema findings is a valid claim; one with them is not recorded.
   */
  private recordAfter(result: ScrubResult, input: unknown, identity: ClaimIdentity, writer: HistoryWriter): ScrubResult | Promise<ScrubResult> {
    if (result.findings.some((f) => f.pack === SCHEMA_PACK)) {
      return withStatus(result, { consulted: true, recorded: false, reason: 'the claim was not recorded: it does not match the claim schema' });
    }
    const claim = input as Claim;
    const recorded = identity.frequencyCode === '8' ? undefined : recordedClaimOf(claim, identity.patientKey, new Date().toISOString(), result.findings);
    const changes = changesFor(identity, recorded);
    const status = RECORDED;
    const removed = changes.remove.length > 0 ? writer.remove(changes.remove) : undefined;
    const write = () => (changes.record ? writer.record(changes.record) : undefined);
    if (removed instanceof Promise) return removed.then(write).then(() => withStatus(result, status));
    const written = write();
    return written instanceof Promise ? written.then(() => withStatus(result, status)) : withStatus(result, status);
  }

  /**
   * Loads past claims in bulk (a new deployment starts with history), in input order, a few
   * hundred per transaction: memory stays flat however many claims there are. A void removes
   * its claim; a claim that does not pass the claim schema is skipped with its reason.
   */
  async importClaims(items: AsyncIterable<{ label: string; input?: unknown; error?: string }>): Promise<ImportCounts> {
    const counts: ImportCounts = { recorded: 0, voided: 0, skipped: [] };
    let batch: RecordedClaim[] = [];
    let removals: string[] = [];
    const recordedAt = new Date().toISOString();
    const flush = async () => {
      if (batch.length === 0 && removals.length === 0) return;
      await this.store.recordMany(batch, removals);
      batch = [];
      removals = [];
    };
    for await (const item of items) {
      if (item.error !== undefined) {
        counts.skipped.push({ label: item.label, reason: item.error });
        continue;
      }
      const identity = identify(this.secret, item.input);
      if ('reason' in identity) {
        counts.skipped.push({ label: item.label, reason: identity.reason });
        continue;
      }
      const checked = checkClaimStructure(item.input);
      if (!checked.ok) {
        counts.skipped.push({ label: item.label, reason: `it does not match the claim schema (${checked.findings[0]?.message ?? 'structure'})` });
        continue;
      }
      const changes = changesFor(identity, identity.frequencyCode === '8' ? undefined : recordedClaimOf(checked.claim, identity.patientKey, recordedAt));
      // A removal must not undo a claim recorded earlier in this same batch.
      if (changes.remove.some((id) => batch.some((c) => c.claimId === id))) await flush();
      removals.push(...changes.remove);
      if (changes.record) {
        if (batch.some((c) => c.claimId === changes.record!.claimId)) await flush();
        batch.push(changes.record);
        counts.recorded++;
      } else {
        counts.voided++;
      }
      if (batch.length >= IMPORT_BATCH) await flush();
    }
    await flush();
    return counts;
  }

  /** Removes claims whose latest date of service is older than the retention period. */
  async purge(today = todayIso()): Promise<{ removed: number; before: string }> {
    const before = new Date(Date.parse(`${today}T00:00:00Z`) - this.retentionDays * 86_400_000).toISOString().slice(0, 10);
    return { removed: await this.store.purgeBefore(before), before };
  }

  async close(): Promise<void> {
    await this.store.close();
  }
}
