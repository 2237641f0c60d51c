import { todayIso } from '../claim/dates.js';
import { checkClaimStructure, claimIdOf } from '../claim/validate.js';
import { buildClaimView, type ClaimView } from '../claim/view.js';
import type { Finding, ScrubResult } from '../findings/finding.js';
import { buildResult } from '../findings/result.js';
import { inWindow, overlapsWindow, type Pack, type PackSet, type Rule, type RuleOverride } from '../packs/model.js';
import { groupRules, type ConditionTrace, type Evaluator, type RuleGroup } from './evaluator.js';
import { FactSource, type PackContext, type RunContext } from './facts.js';
import { ReferenceEvaluator } from './reference-evaluator.js';
import { buildScopeItems, type ScopeItem, type ScopeKey } from './scopes.js';
import { renderTemplate, renderValue } from './template.js';

export interface ScrubOptions {
  /** The date "today" means for date rules (YYYY-MM-DD); defaults to the current date. */
  asOf?: string;
  /** Also report every rule that applied and how its conditions came out. */
  explain?: boolean;
}

export interface RuleExplanation {
  ruleId: string;
  pack: string;
  /** What the rule looked at: "claim", "line 2", "lines 1 and 3", ... */
  target: string;
  lines: number[];
  fired: boolean;
  conditions: ConditionTrace;
}

export interface ExplainedResult extends ScrubResult {
  explain: RuleExplanation[];
}

export function packAppliesTo(pack: Pack, claim: ClaimView): boolean {
  const a = pack.appliesTo;
  if (a) {
    if (a.payerIds && !a.payerIds.includes(claim.payer.id)) return false;
    if (a.payerTypes && (claim.payer.type === undefined || !a.payerTypes.includes(claim.payer.type))) return false;
    if (a.claimTypes && !a.claimTypes.includes(claim.claimType)) return false;
  }
  return overlapsWindow(pack.effective, claim.firstServiceDate, claim.lastServiceDate);
}

/** What the payer packs that apply to a claim change in one base pack. */
interface PackAdjustment {
  params: Record<string, unknown>;
  overrides: Map<string, RuleOverride>;
}

/**
 * Payer packs adjust the packs they extend for the claims they apply to. Applied in pack-name
 * order, so when two payer packs apply to one claim, the later name wins on a clash.
 */
function adjustmentsFor(selected: readonly Pack[]): Map<string, PackAdjustment> {
  const out = new Map<string, PackAdjustment>();
  for (const payer of selected) {
    for (const baseName of payer.extends) {
      const adj = out.get(baseName) ?? { params: {}, overrides: new Map<string, RuleOverride>() };
      for (const [k, p] of Object.entries(payer.parameters)) adj.params[k] = p.value;
      for (const o of payer.overrides) adj.overrides.set(o.rule, o);
      out.set(baseName, adj);
    }
  }
  return out;
}

/**
 * Scrubs claims against one pack set. Holds nothing per claim: any number of scrubs may run
 * at once, and a new pack set means a new Scrubber (the swap is one assignment).
 */
export class Scrubber {
  private readonly groups: ReadonlyMap<Pack, RuleGroup[]>;
  private readonly defaults: ReadonlyMap<Pack, Readonly<Record<string, unknown>>>;

  constructor(
    readonly packSet: PackSet,
    readonly evaluator: Evaluator = new ReferenceEvaluator(),
  ) {
    this.groups = new Map(packSet.packs.map((p) => [p, groupRules(p)]));
    this.defaults = new Map(packSet.packs.map((p) => [p, Object.fromEntries(Object.entries(p.parameters).map(([k, v]) => [k, v.value]))]));
  }

  scrub(input: unknown, options?: ScrubOptions & { explain?: false }): Promise<ScrubResult>;
  scrub(input: unknown, options: ScrubOptions & { explain: true }): Promise<ExplainedResult>;
  scrub(input: unknown, options?: ScrubOptions): Promise<ScrubResult | ExplainedResult>;
  async scrub(input: unknown, options: ScrubOptions = {}): Promise<ScrubResult | ExplainedResult> {
    const structure = checkClaimStructure(input);
    if (!structure.ok) {
      const result = buildResult(claimIdOf(input), structure.findings, []);
      return options.explain ? { ...result, explain: [] } : result;
    }
    const claim = buildClaimView(structure.claim);
    const run: RunContext = { claim, today: options.asOf ?? todayIso() };
    const packs = this.packSet.packs.filter((p) => packAppliesTo(p, claim));
    const adjustments = adjustmentsFor(packs);
    const findings: Finding[] = [];
    const explain: RuleExplanation[] = [];
    const items = new Map<ScopeKey, ScopeItem[]>();
    const itemsFor = (key: ScopeKey) => {
      let list = items.get(key);
      if (!list) items.set(key, (list = buildScopeItems(claim, key)));
      return list;
    };
    for (const pack of packs) {
      const adjustment = adjustments.get(pack.name);
      const defaults = this.defaults.get(pack)!;
      const packContext: PackContext = { params: adjustment ? { ...defaults, ...pickKnown(adjustment.params, defaults) } : defaults };
      for (const group of this.groups.get(pack) ?? []) {
        for (const item of itemsFor(group.scopeKey)) {
          if (!inWindow(pack.effective, item.serviceDate)) continue;
          const facts = new FactSource(this.packSet.facts, item, run, packContext);
          const outcomes = await this.evaluator.evaluate(group, facts, options.explain === true);
          for (const outcome of outcomes) {
            if (!inWindow(outcome.rule.effective, item.serviceDate)) continue;
            const override = adjustment?.overrides.get(outcome.rule.id);
            if (override?.enabled === false) continue;
            if (outcome.fired) findings.push(findingOf(outcome.rule, item, facts, override?.severity));
            if (options.explain && outcome.trace) {
              explain.push({
                ruleId: outcome.rule.id,
                pack: pack.name,
                target: item.label,
                lines: item.lines,
                fired: outcome.fired,
                conditions: outcome.trace,
              });
            }
          }
        }
      }
    }
    const result = buildResult(claim.claimId, findings, packs);
    return options.explain ? { ...result, explain } : result;
  }
}

/** A payer pack's parameters that the base pack declares; the rest are the payer pack's own. */
function pickKnown(params: Record<string, unknown>, declared: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(params).filter(([k]) => k in declared));
}

function findingOf(rule: Rule, item: ScopeItem, facts: FactSource, severity = rule.severity): Finding {
  const lookup = (fact: string, path: string) => facts.lookup(fact, path);
  const details: Record<string, unknown> = {};
  for (const [k, t] of Object.entries(rule.details)) details[k] = renderValue(t, lookup);
  const finding: Finding = {
    ruleId: rule.id,
    pack: rule.pack,
    category: rule.category,
    severity,
    message: renderTemplate(rule.message, lookup),
    lines: item.lines,
    path: rule.path ? renderTemplate(rule.path, lookup) : item.defaultPath,
    details,
  };
  if (rule.suggestion) finding.suggestion = renderTemplate(rule.suggestion, lookup);
  return finding;
}
