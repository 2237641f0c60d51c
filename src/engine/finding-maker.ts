import type { Category, Finding, Severity } from '../findings/finding.js';
import type { Rule } from '../packs/model.js';
import type { ScopeItem } from './scopes.js';
import { compileTemplate, type CompiledTemplate, type FactReader } from './template.js';

/** The details of every finding whose rule names none: one frozen object, not one per finding. */
const NO_DETAILS: Record<string, unknown> = Object.freeze({});

/**
 * What a rule's findings are made of, gathered once per rule when a Scrubber is built: the
 * rule's constant fields, its templates compiled (message, path, suggestion, details), and its
 * place in the findings' order. A claim that all of 10,000 rules apply to gets hundreds of
 * findings from rules no recent claim reached, so a finding must cost as few cold objects as
 * it can: this one object, its compiled templates and the values they quote; no lookup by
 * rule, no object per finding but the finding and its details.
 */
export class FindingMaker {
  readonly ruleId: string;
  readonly pack: string;
  readonly category: Category;
  readonly severity: Severity;
  private readonly message: CompiledTemplate;
  private readonly path: CompiledTemplate | undefined;
  private readonly suggestion: CompiledTemplate | undefined;
  private readonly detailKeys: readonly string[];
  private readonly detailValues: readonly CompiledTemplate[];

  constructor(
    rule: Rule,
    /** The rule's rank in the findings' order (FindingOrder.rankOf), -1 when it has none. */
    readonly rank: number,
  ) {
    this.ruleId = rule.id;
    this.pack = rule.pack;
    this.category = rule.category;
    this.severity = rule.severity;
    this.message = compileTemplate(rule.message);
    this.path = rule.path ? compileTemplate(rule.path) : undefined;
    this.suggestion = rule.suggestion ? compileTemplate(rule.suggestion) : undefined;
    const details = Object.entries(rule.details);
    this.detailKeys = details.map(([k]) => k);
    this.detailValues = details.map(([, t]) => compileTemplate(t));
  }

  /**
   * The rule's finding on a scope item, its templates read from `facts` (pointed at the item).
   * Throws what a fact or a template throws: the caller reports the rule as failed. The
   * templates are read in the order details, message, path, suggestion, and the finding's keys
   * are in the result schema's order, with `suggestion` only when the rule has one.
   */
  make(item: ScopeItem, facts: FactReader, severity: Severity = this.severity): Finding {
    const keys = this.detailKeys;
    let details: Record<string, unknown> = NO_DETAILS;
    if (keys.length > 0) {
      details = {};
      for (let i = 0; i < keys.length; i++) details[keys[i]!] = this.detailValues[i]!.value(facts);
    }
    const message = this.message.text(facts);
    const path = this.path === undefined ? item.defaultPath : this.path.text(facts);
    if (this.suggestion === undefined) {
      return { ruleId: this.ruleId, pack: this.pack, category: this.category, severity, message, lines: item.lines, path, details };
    }
    const suggestion = this.suggestion.text(facts);
    return { ruleId: this.ruleId, pack: this.pack, category: this.category, severity, message, lines: item.lines, path, details, suggestion };
  }
}
