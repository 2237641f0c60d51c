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
  details: Record<string, unknown>;
  suggestion?: string;
}

export interface PackVersion {
  name: string;
  version: string;
}

export interface ScrubResult {
  claimId: string | null;
  outcome: 'pass' | 'fail';
  summary: { errors: number; warnings: number; infos: number };
  findings: Finding[];
  packs: PackVersion[];
}
