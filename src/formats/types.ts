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
  error: { code: string; message: string; position?: ReadPosition };
}

export type ReadItem = ReadClaim | ReadFailure;

/** A problem with the input as a whole, or with a part of it that holds no readable claim. */
export interface ReadProblem {
  /** Stable kebab-case code, e.g. "x12-iea-missing", "json-syntax", "unknown-format". */
  code: string;
  severity: 'error' | 'warning';
  message: string;
  position?: ReadPosition;
}

export interface ReadResult {
  /** The detected format; "unknown" when the content is none of the supported ones. */
  format: ClaimFormat | 'unknown';
  /** One entry per claim, in file order. */
  items: ReadItem[];
  problems: ReadProblem[];
}
