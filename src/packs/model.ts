import type { Category, Severity } from '../findings/finding.js';
import type { FactCatalog } from '../engine/facts.js';
import type { Scope, ScopeKey } from '../engine/scopes.js';
import type { Template } from '../engine/template.js';
import type { TableInfo } from '../tables/model.js';

export interface Reference {
  title: string;
  url?: string;
  citation?: string;
}

/** Dates of service, both ends inclusive; either end may be open. */
export interface DateWindow {
  from?: string;
  to?: string;
}

export interface AppliesTo {
  payerIds?: string[];
  payerTypes?: string[];
  claimTypes?: string[];
}

export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

export interface ConditionLeaf {
  fact: string;
  path?: string;
  operator: string;
  value: unknown;
  params?: Record<string, unknown>;
}
export type ConditionNode =
  | { all: ConditionNode[] }
  | { any: ConditionNode[] }
  | { not: ConditionNode }
  | ConditionLeaf;

export interface Rule {
  id: string;
  title: string;
  description?: string;
  pack: string;
  category: Category;
  severity: Severity;
  scope: Scope;
  scopeKey: ScopeKey;
  /** json-rules-engine conditions exactly as authored (validated). */
  conditions: ConditionNode;
  message: Template;
  suggestion?: Template;
  /** The denials a payer answers when it denies what the rule finds (`predicts: [CO-97]`). */
  predicts?: PredictedDenial[];
  path?: Template;
  details: Record<string, Template>;
  references: Reference[];
  effective?: DateWindow;
  /** Facts the conditions read (not counting templates). */
  facts: string[];
  location: SourceLocation;
  /** Where a part of the rule is written, by JSON Pointer inside the rule ("/conditions/all/0/value"). */
  locate(pointer: string): SourceLocation;
}

/** A denial a rule predicts: a CAS group and CARC, and optionally the RARC that must come with it. */
export interface PredictedDenial {
  group: string;
  reason: string;
  remark?: string;
  /** As written: "CO-16/N290". */
  text: string;
}

/** Reads "CO-97" or "CO-16/N290" (already checked against the rule-pack schema). */
export function parsePredictedDenial(text: string): PredictedDenial {
  const [adjustment = '', remark] = text.split('/');
  const dash = adjustment.indexOf('-');
  const out: PredictedDenial = { group: adjustment.slice(0, dash), reason: adjustment.slice(dash + 1), text };
  if (remark) out.remark = remark;
  return out;
}

export type ParameterType = 'number' | 'text' | 'list' | 'boolean';

export interface Parameter {
  value: unknown;
  description?: string;
  type?: ParameterType;
  location?: SourceLocation;
}

/** A payer pack's change to one rule of a pack it extends. */
export interface RuleOverride {
  rule: string;
  severity?: Severity;
  enabled?: boolean;
  reason: string;
  location: SourceLocation;
}

export interface Pack {
  name: string;
  version: string;
  title: string;
  description: string;
  owner: string;
  sources: Reference[];
  effective?: DateWindow;
  appliesTo?: AppliesTo;
  parameters: Record<string, Parameter>;
  /** The data tables the pack loaded (pack.yaml `tables`): edition, files, rows taken and skipped. */
  tables: TableInfo[];
  /** Base packs this (payer) pack adjusts for the claims it applies to. */
  extends: string[];
  overrides: RuleOverride[];
  rules: Rule[];
  /** Absolute path of the pack folder. */
  dir: string;
  location: SourceLocation;
  /** Where a part of pack.yaml is written, by JSON Pointer ("/parameters/unlistedCodes/value/3"). */
  locate(pointer: string): SourceLocation;
}

/** Everything loaded from a rules folder: built once, shared read-only by every request. */
export interface PackSet {
  packs: readonly Pack[];
  rulesById: ReadonlyMap<string, Rule>;
  facts: FactCatalog;
  /** Absolute path of the folder the packs came from. */
  dir: string;
  loadedAt: string;
}

export function inWindow(window: DateWindow | undefined, date: string): boolean {
  if (!window) return true;
  return (window.from === undefined || window.from <= date) && (window.to === undefined || date <= window.to);
}

export function overlapsWindow(window: DateWindow | undefined, from: string, to: string): boolean {
  if (!window) return true;
  return (window.from === undefined || window.from <= to) && (window.to === undefined || from <= window.to);
}
