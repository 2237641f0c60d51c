import type { FactDefinition } from '../engine/facts.js';
import type { GlobalDaysLookup } from '../engine/history-facts.js';
import type { DateWindow } from '../packs/model.js';
import type { Editions } from './editions.js';

/**
 * Data tables a pack declares in its pack.yaml (`tables:`): official CMS files read once at
 * load time into compact indexes, each of which adds one fact that the pack's rules use.
 */

export const TABLE_FORMATS = ['ncci-ptp', 'mue', 'icd-10-cm-order', 'mce-code-edits', 'hcpcs', 'place-of-service', 'mpfs-rvu', 'ncci-add-on'] as const;
export type TableFormat = (typeof TABLE_FORMATS)[number];

/** One edition of a table written out in pack.yaml (`editions:`), for files whose names do not say which release they are. */
export interface EditionDeclaration {
  edition: string;
  covers?: DateWindow;
  complete?: boolean;
  files: string[];
}

/** A table as pack.yaml declares it (after schema validation). */
export interface TableDeclaration {
  format: TableFormat;
  /**
   * Which release the files are, in words; every finding from the table quotes it. Left out,
   * each file's edition (and the dates it covers) is recognised from its name, so that a file
   * dropped into the tables folder is one more edition.
   */
  edition?: string;
  /**
   * True when the files hold the whole code set or edit table, so that a code missing from
   * them is really missing. False for an excerpt: rules then never flag a code for being absent.
   */
  complete?: boolean;
  /** The dates of service the edition speaks for; recognised from the file names when left out. */
  covers?: DateWindow;
  /** Files or simple globs, relative to the pack folder; a zip CMS ships is read as it is. */
  files?: string[];
  /** Several editions, each with its own files, edition and dates. */
  editions?: EditionDeclaration[];
  /** An environment variable that, when set, replaces `files` (a deployment's full quarterly files). */
  env?: string;
  description?: string;
}

/** What one loaded edition of a table reports about itself. */
export interface EditionInfo {
  edition: string;
  complete: boolean;
  /** The dates of service it covers; absent: every date. */
  covers?: DateWindow;
  /** `declared` in pack.yaml or the environment, or `recognised` from the names of its files. */
  named: 'declared' | 'recognised';
  /** The files read, as people type them. */
  files: string[];
  rowsTaken: number;
  rowsSkipped: number;
  rowsIgnored: number;
  loadedFrom: 'files' | 'cache' | 'shared';
}

/** What a loaded table reports about itself: in Pack.tables, `scrub lint`, `scrub tables list` and GET /v1/packs. */
export interface TableInfo {
  name: string;
  format: TableFormat;
  /** The format in words: "ICD-10-CM order file". */
  title?: string;
  /** The edition, or the editions joined with " + " when there are several. */
  edition: string;
  /** True when every edition is complete. */
  complete: boolean;
  /** From the earliest edition's first date to the newest's last (either end open if one edition's is). */
  covers?: DateWindow;
  /** The files read, as people type them. */
  files: string[];
  /** Whether the files came from pack.yaml, the environment variable, or a pack test's fixtures. */
  source: 'pack' | 'environment' | 'test';
  env?: string;
  /** Rows of every edition added up. */
  rowsTaken: number;
  /** Malformed rows, reported as warnings with file:line. */
  rowsSkipped: number;
  /** Well-formed rows the table does not use. */
  rowsIgnored: number;
  /**
   * `cache` when every index came from a snapshot of the same files; `shared` when another
   * thread of this process had built them (SharedTables); `files` when any was read.
   */
  loadedFrom: 'files' | 'cache' | 'shared';
  /** Each edition, oldest first. */
  editions: EditionInfo[];
}

/** A malformed row, reported as a warning at file:line; the row is skipped, the load goes on. */
export interface RowProblem {
  file: string;
  line: number;
  message: string;
}

/** Thrown for a file a table cannot use at all (missing, unreadable, not the declared format). */
export class TableFileError extends Error {
  constructor(
    readonly file: string,
    message: string,
    readonly line = 1,
  ) {
    super(message);
    this.name = 'TableFileError';
  }
}

/** Everything a format's facts need to know about one edition of the table they read. */
export interface TableContext {
  name: string;
  edition: string;
  complete: boolean;
  covers?: DateWindow;
}

/** An edition as a format recognises it from the names of its files (HCPC2026_JAN_ANWEB: January 2026). */
export interface RecognisedEdition {
  edition: string;
  covers: DateWindow;
}

/** One data format: how to read its files, what facts it offers, how to snapshot its index. */
export interface TableFormatDefinition<Index> {
  format: TableFormat;
  /** In words, for messages: "NCCI procedure-to-procedure edit table". */
  title: string;
  /** Reads files, each plain or a zip archive as CMS ships it. */
  read(files: readonly string[], rows: RowCounter): Promise<Index>;
  /**
   * The table's facts: each lookup uses the edition that covers the item's date of service.
   * Their values depend on the item and the claim, never on the pack (they are samePerPack).
   */
  facts(editions: Editions<Index>, table: { name: string }): FactDefinition[];
  /**
   * The edition a file is, from its name or the names of the files in its zip archive; for
   * formats whose official files say it (ICD-10-CM fiscal year, HCPCS quarter, NCCI version...).
   */
  recognise?(names: readonly string[]): RecognisedEdition | undefined;
  /** Present for formats big enough to be worth caching (the snapshot is versioned). */
  snapshot?: SnapshotCodec<Index>;
  /**
   * For a fee schedule: the global days of a code in the edition covering a date, which the
   * history facts use for recorded procedures (their pack parameter answers where this does not).
   */
  globalDays?(editions: Editions<Index>): GlobalDaysLookup;
}

export type SnapshotArray = Int32Array | Uint32Array | Uint16Array | Uint8Array | Float64Array;

/** An index as plain JSON plus typed arrays, which a snapshot file stores byte for byte. */
export interface SnapshotParts {
  json: unknown;
  arrays: SnapshotArray[];
}

export interface SnapshotCodec<Index> {
  /** Bump when the index layout changes: old snapshots are then ignored. */
  version: number;
  write(index: Index): SnapshotParts;
  read(parts: SnapshotParts): Index;
}

/**
 * Counts rows taken and skipped while a table is read. Every problem is counted, but only the
 * first few of each file are kept word for word: a file with 100,000 bad rows must not make
 * 100,000 warnings.
 */
export class RowCounter {
  taken = 0;
  skipped = 0;
  /** Well-formed rows this table does not use (e.g. ICD-10-PCS rows of the MCE list). */
  ignored = 0;
  readonly problems: RowProblem[] = [];
  private readonly perFile = new Map<string, number>();

  constructor(private readonly maxProblemsPerFile = 20) {}

  take(): void {
    this.taken++;
  }

  ignore(): void {
    this.ignored++;
  }

  /** A row that cannot be used: counted as skipped and reported. */
  skip(file: string, line: number, message: string): void {
    this.skipped++;
    this.report(file, line, message);
  }

  /** A problem worth reporting that does not skip a row (a repeated code, a file cut short). */
  note(file: string, line: number, message: string): void {
    this.report(file, line, message);
  }

  private report(file: string, line: number, message: string): void {
    const n = (this.perFile.get(file) ?? 0) + 1;
    this.perFile.set(file, n);
    if (n <= this.maxProblemsPerFile) this.problems.push({ file, line, message });
  }

  /** Problems per file beyond those reported one by one. */
  unreported(): Array<{ file: string; count: number }> {
    return [...this.perFile.entries()]
      .filter(([, n]) => n > this.maxProblemsPerFile)
      .map(([file, n]) => ({ file, count: n - this.maxProblemsPerFile }));
  }
}
