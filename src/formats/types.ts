import type { Finding, FindingSource } from '../findings/finding.js';

/** The container the claims arrived in, judged from the content. */
export type ClaimFormat = 'json' | 'ndjson' | 'x12' | 'fhir';

/** What the caller knows about the input besides its bytes; used only to break ties and word errors. */
export interface ReadHint {
  filename?: string;
  contentType?: string;
}

/** A place in a JSON or NDJSON text (1-based line and column, 0-based character offset). */
export interface TextPosition {
  format: 'json' | 'ndjson';
  line: number;
  column: number;
  offset: number;
}

export type ReadPosition = FindingSource | TextPosition;

/** Finds where a canonical JSON Pointer came from in the source file. */
export type Locator = (pointer: string) => FindingSource | undefined;

/** One claim that could be read. */
export interface ReadClaim {
  kind: 'claim';
  /** The canonical claim (or, for JSON input, whatever value the caller sent: the scrubber judges it). */
  input: unknown;
  /** E.g. "ST 0021 claim 26463774", "Claim 100150", "item 2", "line 3". */
  label: string;
  /** Present for X12 and FHIR input: maps a finding's `path` back to the file. */
  locate?: Locator;
  /** In NDJSON input, the 1-based line it was read from (every claim of a FHIR line has that line). */
  line?: number;
  /**
   * Structure findings found while reading (envelope counts, control numbers, segments out of
   * place), each with its `source`. Merge them into the claim's result with `completeResult`.
   */
  findings: Finding[];
}

/** An input item that could not be read as a claim at all (e.g. a malformed NDJSON line). */
export interface ReadFailure {
  kind: 'error';
  label: string;
  /** In NDJSON input, the 1-based line it was read from. */
  line?: number;
  error: { code: string; message: string; position?: ReadPosition };
}

export type ReadItem = ReadClaim | ReadFailure;

/**
 * A problem of the file itself rather than of one claim: a part that holds no readable claim (an
 * 835 among 837s, a subscriber level with no claim, content after the last IEA), or a defect of
 * an envelope or hierarchical level around claims that were read (an SE01 that miscounts, an HL
 * whose parent id points nowhere). Each is reported once, where it is in the file.
 */
export interface ReadProblem {
  /** Stable kebab-case code, e.g. "x12-iea-missing", "json-syntax", "unknown-format". */
  code: string;
  severity: 'error' | 'warning';
  message: string;
  position?: ReadPosition;
  /** Figures behind the message (expected and found counts, the version found, ...). */
  details?: Record<string, unknown>;
  /**
   * How many of the claims read sit inside the part of the file the problem is about (the
   * interchange, transaction set or HL level); 0 when that part holds no readable claim.
   * Absent for problems of a file that holds no claim at all.
   */
  claims?: number;
}

/** A file-level problem in its place among a file's claims. */
export interface ReadProblemRecord {
  kind: 'problem';
  problem: ReadProblem;
}

/** What a file holds, in file order: its claims (read or not) and its file-level problems. */
export type ReadRecord = ReadItem | ReadProblemRecord;

/**
 * Where a claim handed out ahead of its place goes (an X12 file read with its claims placed
 * late): the next claim's result comes here, among the problems, under this label.
 */
export interface PlacedRecord {
  kind: 'placed';
  label: string;
}

export interface ReadResult {
  /** The detected format; "unknown" when the content is none of the supported ones. */
  format: ClaimFormat | 'unknown';
  /** One entry per claim, in file order. */
  items: ReadItem[];
  /** The file-level problems, in file order. */
  problems: ReadProblem[];
  /** Items and problems together, in file order. */
  records: ReadRecord[];
}

/** A file opened for reading claim by claim: its file-level problems are known, its claims are read as they are reached. */
export interface ClaimStream {
  format: ClaimFormat | 'unknown';
  /** Every file-level problem, in file order (the same ones `records` yields in their places). */
  problems: ReadProblem[];
  /** How many readable claims `records` yields. */
  claims: number;
  /** Items and problems in file order; an X12 claim is mapped only when it is reached. */
  records(): Iterable<ReadRecord>;
}
