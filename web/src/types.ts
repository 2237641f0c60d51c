/** The service's answers, as the workbench reads them (see the OpenAPI document at /docs). */

export type Severity = 'error' | 'warning' | 'info';

export type FindingSource =
  | { format: 'x12'; segment: string; position: number; offset: number; loop: string; element?: string }
  | { format: 'fhir'; expression: string };

export interface Finding {
  ruleId: string;
  pack: string;
  category: string;
  severity: Severity;
  message: string;
  lines: number[];
  path: string;
  details: Record<string, unknown>;
  suggestion?: string;
  source?: FindingSource;
}

export interface TraceNode {
  all?: TraceNode[];
  any?: TraceNode[];
  not?: TraceNode;
  fact?: string;
  path?: string;
  operator?: string;
  value?: unknown;
  factValue?: unknown;
  valueResolved?: unknown;
  result?: boolean;
}

export interface RuleExplanation {
  ruleId: string;
  pack: string;
  target: string;
  lines: number[];
  fired: boolean;
  conditions: TraceNode;
}

export interface ScrubResult {
  claimId: string | null;
  outcome: 'pass' | 'fail';
  summary: { errors: number; warnings: number; infos: number };
  findings: Finding[];
  packs: Array<{ name: string; version: string }>;
  explain?: RuleExplanation[];
}

export interface Session {
  auth: 'on' | 'off';
  key?: { name: string; role: 'scrub' | 'admin' };
  role: 'scrub' | 'admin';
  history: 'on' | 'off';
  /** Whether the history keeps whole claims to try an edit on. */
  historyClaims: boolean;
  loadedAt: string;
  limits: { packEditBytes: number; whatIfClaims: number };
}

export interface RuleSummary {
  id: string;
  title: string;
  pack: string;
  category: string;
  severity: Severity;
  scope: string;
  codes: string[];
  payers: string[];
  overriddenBy: string[];
}

export interface PackSummary {
  name: string;
  title: string;
  version: string;
  description: string;
  owner: string;
  extends: string[];
  appliesTo?: { payerIds?: string[]; payerTypes?: string[]; claimTypes?: string[] };
  rules: number;
}

export interface Catalog {
  loadedAt: string;
  packs: PackSummary[];
  rules: RuleSummary[];
}

export type DescribedCondition =
  | { all: DescribedCondition[] }
  | { any: DescribedCondition[] }
  | { not: DescribedCondition }
  | { text: string; fact: string; path?: string; operator: string };

export interface RuleDetail extends RuleSummary {
  description?: string;
  packTitle: string;
  packVersion: string;
  looksAt: string;
  effective?: { from?: string; to?: string };
  message: string;
  suggestion?: string;
  references: Array<{ title: string; url?: string; citation?: string }>;
  location: { file: string; line: number; column: number };
  conditions: DescribedCondition;
  conditionsText: string[];
  parameters: Array<{ name: string; value: unknown; description?: string; setBy: Array<{ pack: string; value: unknown }> }>;
  overrides: Array<{ pack: string; enabled?: boolean; severity?: string; reason: string; payers: string[] }>;
  tests: Array<{ name: string; file: string; line: number; kind: 'fires' | 'quiet' }>;
}

export interface RuleActivity {
  ruleId: string;
  since: string;
  until: string;
  claims: number;
  fired: number;
  byDay: Array<{ date: string; fired: number }>;
}

export interface PackDiagnostic {
  file: string;
  line: number;
  column: number;
  severity: 'error' | 'warning';
  code: string;
  message: string;
}

export interface LintReport {
  errors: number;
  warnings: number;
  diagnostics: PackDiagnostic[];
}

export interface CaseReport {
  name: string;
  file: string;
  line: number;
  column: number;
  rule?: string;
  passed: boolean;
  failures: string[];
  expected: Array<{ rule: string; lines?: number[]; path?: string; severity?: string }>;
  ok: string[];
  actual: string[];
}

export interface TestReport {
  diagnostics: PackDiagnostic[];
  passed: number;
  failed: number;
  cases: CaseReport[];
}

export interface ClaimComparison {
  label: string;
  claimId: string | null;
  before: { outcome: 'pass' | 'fail'; summary: ScrubResult['summary'] };
  after: { outcome: 'pass' | 'fail'; summary: ScrubResult['summary'] };
  added: Finding[];
  removed: Finding[];
}

export interface WhatIfReport {
  source: 'request' | 'history';
  diagnostics: PackDiagnostic[];
  claims: number;
  changed: number;
  newlyFailing: number;
  newlyPassing: number;
  byRule: Array<{ ruleId: string; added: number; removed: number }>;
  comparisons: ClaimComparison[];
}

export interface PackFile {
  path: string;
  file: string;
  text: string;
}
