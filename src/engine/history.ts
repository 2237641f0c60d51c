/**
 * What the history edits see of a patient's earlier claims: the lines recorded for the same
 * patient key, fetched once per claim before any rule runs (so that evaluation stays
 * synchronous), without the claim being scrubbed itself. Nothing here reads a store: the
 * history store (src/history) fills it in, and pack tests fill it in from their `history`.
 */

/**
 * One recorded claim line as the edits see it: only what they read, and no patient data. The
 * store keeps a little more of each line (src/history StoredLine) but reads back only this:
 * every column fewer is a string fewer per line per claim scrubbed.
 */
export interface RecordedLine {
  claimId: string;
  /** 1-based line number on its claim. */
  lineNumber: number;
  payerId: string;
  /** The line's rendering NPI, else the claim's, else the billing NPI: "the provider" of the line. */
  providerNpi: string;
  serviceDate: string;
  serviceDateEnd?: string;
  procedureCode: string;
  /** Upper case, in the order billed. */
  modifiers: string[];
  units: number;
  charge: number;
}

/** How findings name a recorded line: "C-1001 line 2" (a claim id and a line, never patient data). */
export function lineReference(line: Pick<RecordedLine, 'claimId' | 'lineNumber'>): string {
  return `${line.claimId} line ${line.lineNumber}`;
}

const NO_LINES: readonly RecordedLine[] = Object.freeze([]);

/**
 * The history one scrub consults. `consulted: false` says why history could not be used (the
 * claim has no member id, history is off): the history rules then find nothing, and the result
 * says so.
 */
export class HistoryView {
  private byDate: Map<string, RecordedLine[]> | undefined;
  /** What the facts work out once per claim from these lines, by the object it depends on (memo). */
  private derived: Map<object, unknown> | undefined;

  constructor(
    readonly lines: readonly RecordedLine[],
    readonly consulted = true,
  ) {}

  static readonly NONE = new HistoryView([], false);

  /**
   * Recorded lines whose date of service is `date`, in recorded order. Each date asked for is
   * looked up once per claim: a claim's lines share a few dates, while the patient's recorded
   * lines may have many.
   */
  onDate(date: string): readonly RecordedLine[] {
    if (this.lines.length === 0) return NO_LINES;
    const byDate = (this.byDate ??= new Map());
    let list = byDate.get(date);
    if (list === undefined) {
      for (const line of this.lines) if (line.serviceDate === date) (list ??= []).push(line);
      byDate.set(date, (list ??= NO_LINES as RecordedLine[]));
    }
    return list;
  }

  /**
   * `make()` for these lines, worked out once per `key` (a pack's parameters) rather than once
   * per line of the claim: what depends only on the recorded lines and the pack.
   */
  memo<T>(key: object, make: () => T): T {
    const derived = (this.derived ??= new Map());
    if (derived.has(key)) return derived.get(key) as T;
    const value = make();
    derived.set(key, value);
    return value;
  }
}
