import { Scrubber, type ScrubberOptions } from '../engine/scrubber.js';
import type { PackDiagnostic } from '../packs/diagnostics.js';
import { readPackSet, type PackLoadOptions } from '../packs/loader.js';
import type { PackSet } from '../packs/model.js';

/**
 * The pack set the service scrubs with, and how it is replaced.
 *
 * A Scrubber is immutable, so replacing the packs is one assignment: a request reads
 * `current()` once and keeps that Scrubber to the end, so it finishes on the set it started
 * with and never sees a half-loaded one. A new set is loaded and validated in full before the
 * swap; a set with any error is never swapped in, and the old one keeps serving.
 *
 * Reloading is two steps so that several processes (cluster workers) can change sets all or
 * nothing: `prepare` loads and validates, `commit` swaps. `reload` does both, one reload at a
 * time.
 */

export interface PackVersionInfo {
  name: string;
  version: string;
}

export type ReloadOutcome =
  | { ok: true; loadedAt: string; packs: PackVersionInfo[]; rules: number; workers?: number }
  | { ok: false; diagnostics: PackDiagnostic[]; loadedAt: string; workers?: number };

export type Prepared = { ok: true; scrubber: Scrubber } | { ok: false; diagnostics: PackDiagnostic[] };

export type ReloadListener = (outcome: ReloadOutcome, trigger: string) => void;

export function packVersions(packSet: PackSet): PackVersionInfo[] {
  return packSet.packs.map((p) => ({ name: p.name, version: p.version }));
}

/** The set serving: its scrubber and when it was loaded, swapped together. */
export interface Serving {
  scrubber: Scrubber;
  /** When the set was loaded; in a cluster, when every worker switched to it. */
  loadedAt: string;
}

export class PackHolder {
  private serving: Serving;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly listeners: ReloadListener[] = [];

  constructor(
    readonly rulesDir: string,
    initial: Scrubber,
    loadedAt = initial.packSet.loadedAt,
    /** How to load (the environment that names the CMS table files): the same at every reload. */
    private readonly loadOptions: PackLoadOptions = {},
    /** How the scrubbers of reloaded packs evaluate (the engine): the same as the first. */
    private readonly scrubberOptions: ScrubberOptions = {},
  ) {
    this.serving = { scrubber: initial, loadedAt };
  }

  /** Loads the packs of a folder; no holder when they have errors. */
  static async load(rulesDir: string, loadOptions: PackLoadOptions = {}, scrubberOptions: ScrubberOptions = {}): Promise<{ holder?: PackHolder; diagnostics: PackDiagnostic[] }> {
    const loaded = await readPackSet(rulesDir, undefined, loadOptions);
    if (!loaded.packSet) return { diagnostics: loaded.diagnostics };
    const scrubber = new Scrubber(loaded.packSet, scrubberOptions);
    return { holder: new PackHolder(rulesDir, scrubber, loaded.packSet.loadedAt, loadOptions, scrubberOptions), diagnostics: loaded.diagnostics };
  }

  /** The scrubber to use for one whole request. */
  current(): Scrubber {
    return this.serving.scrubber;
  }

  /** The scrubber and its load time, read together. */
  servingNow(): Serving {
    return this.serving;
  }

  /** Loads and validates the folder again, without touching what is serving. */
  async prepare(): Promise<Prepared> {
    const loaded = await readPackSet(this.rulesDir, undefined, this.loadOptions);
    if (!loaded.packSet) return { ok: false, diagnostics: loaded.diagnostics };
    return { ok: true, scrubber: new Scrubber(loaded.packSet, this.scrubberOptions) };
  }

  /** The swap: one assignment. */
  commit(scrubber: Scrubber, loadedAt = scrubber.packSet.loadedAt): void {
    this.serving = { scrubber, loadedAt };
  }

  /** What is serving now, as a reload outcome. */
  describe(): ReloadOutcome & { ok: true } {
    const { scrubber, loadedAt } = this.serving;
    return { ok: true, loadedAt, packs: packVersions(scrubber.packSet), rules: scrubber.packSet.rulesById.size };
  }

  /** Prepare and commit, one reload at a time: a second caller waits for the first. */
  reload(trigger = 'request'): Promise<ReloadOutcome> {
    return this.serialise(async () => {
      const prepared = await this.prepare();
      if (prepared.ok) this.commit(prepared.scrubber);
      const outcome: ReloadOutcome = prepared.ok ? this.describe() : { ok: false, diagnostics: prepared.diagnostics, loadedAt: this.serving.loadedAt };
      this.notify(outcome, trigger);
      return outcome;
    });
  }

  /** Runs `task` after every task queued before it has finished. */
  serialise<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  onReload(listener: ReloadListener): void {
    this.listeners.push(listener);
  }

  notify(outcome: ReloadOutcome, trigger: string): void {
    for (const listener of this.listeners) listener(outcome, trigger);
  }
}
