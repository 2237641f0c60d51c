/** The finding and result contracts of DESIGN.md ("Findings and results"). */

export const CATEGORIES = [
  'structure',
  'code-validity',
  'diagnosis',
  'ncci-ptp',
  'mue',
  'modifier',
  'documentation',
  'payer-policy',
  'provider',
  'balancing',
  'duplicate',
  'date',
  'completeness',
  'add-on-code',
  'global-surgery',
  'fee-schedule',
  'lab',
  'drug',
  'telehealth',
  'frequency',
] as const;
export type Category = (typeof CATEGORIES)[number];

export const SEVERITIES = ['error', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface Finding {
  ruleId: string;
  pack: string;
  category: Category;
  severity: Severity;
  message: string;
  /** 1-based line numbers involved, ascending; empty for claim- and diagnosis-level findings. */
  lines: number[];
  /** RFC 6901 JSON Pointer (0-based indexes) to the one field to fix. */
  path: string;
  /**
   * Values the rule names for machines. Findings of a rule without details share one frozen
   * empty object: copy a finding's details before changing them.
   */
  details: Record<string, unknown>;
  suggestion?: string;
  /**
   * Where to fix the finding in the file the claim was read from (X12 segment and element, or
   * a FHIRPath expression). Absent for claims sent as canonical JSON: `path` says it all there.
   */
  source?: FindingSource;
}

/** A place in an X12 837 file: the segment, its loop, and the element within it. */
export interface X12Source {
  format: 'x12';
  /** Segment id, e.g. "SV1". */
  segment: string;
  /** 1-based ordinal of the segment in the file, counting every interchange. */
  position: number;
  /** Byte offset (UTF-8) of the first character of the segment in the file. */
  offset: number;
  /** TR3 loop id, e.g. "2400"; "ISA", "GS" or "ST" for envelope segments. */
  loop: string;
  /** Element, e.g. "SV1-01-3" (segment, element number, component number); absent for a whole segment. */
  element?: string;
}

/** A place in a FHIR resource, as a FHIRPath expression with 0-based indexes. */
export interface FhirSource {
  format: 'fhir';
  /** E.g. "Claim.item[1].modifier", or "Bundle.entry[2].resource.item[0]" inside a Bundle. */
  expression: string;
}

export type FindingSource = X12Source | FhirSource;

export interface PackVersion {
  name: string;
  version: string;
}

/** Whether a scrub consulted the claim history, and whether it recorded the claim. */
export interface HistoryStatus {
  consulted: boolean;
  recorded: boolean;
  /** Why history was not consulted, or the claim not recorded, when it was asked for. */
  reason?: string;
}

export interface ScrubResult {
  claimId: string | null;
  /**
   * In a batch read line by line (NDJSON), the 1-based line of the input this result answers:
   * blank lines count, and every claim of a line holding a FHIR Bundle carries that line.
   */
  inputLine?: number;
  outcome: 'pass' | 'fail';
  summary: { errors: number; warnings: number; infos: number };
  findings: Finding[];
  packs: PackVersion[];
  /** Present when a claim history is configured. */
  history?: HistoryStatus;
}
