import type { Category, Severity } from '../findings/finding.js';
import type { FactCatalog } from '../engine/facts.js';
import type { GlobalDaysLookup } from '../engine/history-facts.js';
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
  /** Types of bill by facility and classification digits, as "13x". */
  billTypes?: string[];
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
  /**
   * Rules whose finding makes this one's redundant: this rule's finding is left out when one of
   * theirs (from any pack) names every line this one names.
   */
  suppressedBy?: string[];
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
  /**
   * Global days of a code on a date from a loaded fee schedule table (the first pack's, in
   * pack order), for the history facts' global periods; absent when no pack loads one.
   */
  globalDays?: GlobalDaysLookup;
}

/**
 * A parameter whose value changes on a date is written as a list of dated entries, each with
 * `from` and/or `to` (dates of service, both inclusive) and the `value` in force between them,
 * and optionally the `source` that set it. The `datedParams` fact reads the entry in force.
 */
export interface DatedEntry {
  from?: string;
  to?: string;
  value: unknown;
  source?: string;
}

const DATED_ENTRY_KEYS = new Set(['from', 'to', 'value', 'source']);

export function isDatedValue(value: unknown): value is DatedEntry[] {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every(
      (e) =>
        e !== null &&
        typeof e === 'object' &&
        !Array.isArray(e) &&
        'value' in e &&
        ('from' in e || 'to' in e) &&
        Object.keys(e).every((k) => DATED_ENTRY_KEYS.has(k)),
    )
  );
}

/** A dated entry's dates in words: "from 2020-10-01", "to 2020-09-30", "from ... to ...". */
export function datesInWords(entry: DateWindow): string {
  return [entry.from && `from ${entry.from}`, entry.to && `to ${entry.to}`].filter(Boolean).join(' ');
}

/** The value of the entry in force on a date, or undefined when no entry covers it. */
export function valueOnDate(entries: readonly DatedEntry[], date: string): unknown {
  for (const e of entries) if (inWindow(e, date)) return e.value;
  return undefined;
}

export function inWindow(window: DateWindow | undefined, date: string): boolean {
  if (!window) return true;
  return (window.from === undefined || window.from <= date) && (window.to === undefined || date <= window.to);
}

export function overlapsWindow(window: DateWindow | undefined, from: string, to: string): boolean {
  if (!window) return true;
  return (window.from === undefined || window.from <= to) && (window.to === undefined || from <= window.to);
}
