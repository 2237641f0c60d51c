import { todayIso } from '../claim/dates.js';
import { checkClaimStructure, claimIdOf } from '../claim/validate.js';
import { buildClaimView, type ClaimView } from '../claim/view.js';
import type { Finding, ScrubResult } from '../findings/finding.js';
import { buildResult } from '../findings/result.js';
import { inWindow, overlapsWindow, type Pack, type PackSet, type Rule } from '../packs/model.js';
import { CompiledEvaluator, type CompiledRule } from './compiled-evaluator.js';
import { DEFAULT_ENGINE, createEvaluator } from './engines.js';
import { groupRules, type ConditionTrace, type EngineName, type Evaluator, type RuleGroup } from './evaluator.js';
import { FactSource, type PackContext, type RunContext } from './facts.js';
import { RuleIndex } from './rule-index.js';
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

export interface ScrubberOptions {
  /** Which evaluator runs the conditions: the compiled one (default) or json-rules-engine. */
  engine?: EngineName | Evaluator;
  /**
   * Evaluate, on each scope item, only the rules it can trigger (default: on). Applies to the
   * compiled evaluator without explain; json-rules-engine runs every rule of a group at once.
   */
  indexing?: boolean;
}

/** One rule group of one pack, with everything per claim work can be spared. */
interface GroupPlan {
  group: RuleGroup;
  /** The group's rules compiled, when the evaluator is the compiled one. */
  compiled?: readonly CompiledRule[];
  /** Which of them can fire on an item; absent when indexing is off. */
  index?: RuleIndex;
}

/** One pack, ready to run: its parameter values (after overrides) are computed once, here. */
interface PackPlan {
  pack: Pack;
  context: PackContext;
  groups: GroupPlan[];
}

const ALL_POSITIONS_CACHE = new WeakMap<readonly unknown[], readonly number[]>();
function allPositions(list: readonly unknown[]): readonly number[] {
  let positions = ALL_POSITIONS_CACHE.get(list);
  if (!positions) ALL_POSITIONS_CACHE.set(list, (positions = list.map((_, i) => i)));
  return positions;
}

/**
 * Scrubs claims against one pack set. Holds nothing per claim: any number of scrubs may run
 * at once, and a new pack set means a new Scrubber (the swap is one assignment). Everything
 * that does not depend on the claim (parameter values, compiled conditions, the rule index,
 * which packs a payer can select) is built here, once.
 */
export class Scrubber {
  readonly evaluator: Evaluator;
  private readonly plans: readonly PackPlan[];
  /** Positions in `plans` of the packs that name a payer, by payer id; and of those that name none. */
  private readonly plansByPayer = new Map<string, number[]>();
  private readonly plansForAnyPayer: number[] = [];
  private readonly compiled: CompiledEvaluator | undefined;

  constructor(
    readonly packSet: PackSet,
    options: ScrubberOptions | Evaluator = {},
  ) {
    const opts: ScrubberOptions = 'evaluate' in options ? { engine: options } : options;
    const engine = opts.engine ?? DEFAULT_ENGINE;
    this.evaluator = typeof engine === 'string' ? createEvaluator(engine) : engine;
    this.compiled = this.evaluator instanceof CompiledEvaluator ? this.evaluator : undefined;
    const indexing = opts.indexing ?? true;
    this.plans = packSet.packs.map((pack, position) => {
      const payers = pack.appliesTo?.payerIds;
      if (payers) {
        for (const id of new Set(payers)) {
          const list = this.plansByPayer.get(id) ?? [];
          list.push(position);
          this.plansByPayer.set(id, list);
        }
      } else {
        this.plansForAnyPayer.push(position);
      }
      const groups = groupRules(pack).map((group): GroupPlan => {
        this.evaluator.prepare?.(group);
        if (!this.compiled) return { group };
        const compiled = this.compiled.rulesOf(group);
        const plan: GroupPlan = { group, compiled };
        if (indexing) plan.index = new RuleIndex(compiled.map((c) => ({ conditions: c.rule.conditions, total: c.total })), group.facts, packSet.facts);
        return plan;
      });
      return { pack, context: { params: parameterValues(pack) }, groups };
    });
  }

  /** The packs that apply to a claim, in pack set order. */
  private packsFor(claim: ClaimView): PackPlan[] {
    const named = this.plansByPayer.get(claim.payer.id);
    const open = this.plansForAnyPayer;
    const out: PackPlan[] = [];
    // Merge two ascending position lists, keeping the pack set's order.
    let i = 0;
    let j = 0;
    const n = named?.length ?? 0;
    while (i < n || j < open.length) {
      const position = j >= open.length || (i < n && named![i]! < open[j]!) ? named![i++]! : open[j++]!;
      const plan = this.plans[position]!;
      if (packAppliesTo(plan.pack, claim)) out.push(plan);
    }
    return out;
  }

  scrub(input: unknown, options?: ScrubOptions & { explain?: false }): Promise<ScrubResult>;
  scrub(input: unknown, options: ScrubOptions & { explain: true }): Promise<ExplainedResult>;
  scrub(input: unknown, options?: ScrubOptions): Promise<ScrubResult | ExplainedResult>;
  async scrub(input: unknown, options: ScrubOptions = {}): Promise<ScrubResult | ExplainedResult> {
    if (this.compiled && !options.explain) return this.scrubCompiled(input, options);
    const structure = checkClaimStructure(input);
    if (!structure.ok) {
      const result = buildResult(claimIdOf(input), structure.findings, []);
      return options.explain ? { ...result, explain: [] } : result;
    }
    const claim = buildClaimView(structure.claim);
    const run: RunContext = { claim, today: options.asOf ?? todayIso() };
    const plans = this.packsFor(claim);
    const findings: Finding[] = [];
    const explain: RuleExplanation[] = [];
    const itemsFor = scopeItemCache(claim);
    for (const { pack, context, groups } of plans) {
      for (const { group } of groups) {
        for (const item of itemsFor(group.scopeKey)) {
          if (!inWindow(pack.effective, item.serviceDate)) continue;
          const facts = new FactSource(this.packSet.facts, item, run, context);
          const evaluated = this.evaluator.evaluate(group, facts, options.explain === true);
          const outcomes = Array.isArray(evaluated) ? evaluated : await evaluated;
          for (const outcome of outcomes) {
            if (!inWindow(outcome.rule.effective, item.serviceDate)) continue;
            if (outcome.fired) findings.push(findingOf(outcome.rule, item, facts));
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
    const result = buildResult(claim.claimId, findings, plans.map((p) => p.pack));
    return options.explain ? { ...result, explain } : result;
  }

  /**
   * The fast path: compiled rules, synchronous, and on each item only the rules the index
   * says can fire. Gives exactly the findings of the path above (the differential test).
   */
  private scrubCompiled(input: unknown, options: ScrubOptions): ScrubResult {
    const structure = checkClaimStructure(input);
    if (!structure.ok) return buildResult(claimIdOf(input), structure.findings, []);
    const claim = buildClaimView(structure.claim);
    const run: RunContext = { claim, today: options.asOf ?? todayIso() };
    const plans = this.packsFor(claim);
    const findings: Finding[] = [];
    const itemsFor = scopeItemCache(claim);
    const catalog = this.packSet.facts;
    for (const { pack, context, groups } of plans) {
      for (const { group, compiled, index } of groups) {
        const rules = compiled!;
        for (const item of itemsFor(group.scopeKey)) {
          const date = item.serviceDate;
          if (!inWindow(pack.effective, date)) continue;
          const positions = index ? index.candidates(item) : allPositions(rules);
          let facts: FactSource | undefined;
          for (let k = 0; k < positions.length; k++) {
            const c = rules[positions[k]!]!;
            const applies = inWindow(c.rule.effective, date);
            // A rule outside its window cannot produce a finding; skip it unless evaluating
            // it could throw (json-rules-engine would evaluate it and fail the claim).
            if (!applies && c.total) continue;
            facts ??= new FactSource(catalog, item, run, context);
            if (c.fires(facts) && applies) findings.push(findingOf(c.rule, item, facts));
          }
        }
      }
    }
    return buildResult(claim.claimId, findings, plans.map((p) => p.pack));
  }
}

/** Scope items are built the first time a group needs them, then shared by every pack. */
function scopeItemCache(claim: ClaimView): (key: ScopeKey) => ScopeItem[] {
  const items = new Map<ScopeKey, ScopeItem[]>();
  return (key) => {
    let list = items.get(key);
    if (!list) items.set(key, (list = buildScopeItems(claim, key)));
    return list;
  };
}

function parameterValues(pack: Pack): Record<string, unknown> {
  return Object.fromEntries(Object.entries(pack.parameters).map(([k, p]) => [k, p.value]));
}

function findingOf(rule: Rule, item: ScopeItem, facts: FactSource): Finding {
  const lookup = (fact: string, path: string) => facts.lookup(fact, path);
  const details: Record<string, unknown> = {};
  for (const [k, t] of Object.entries(rule.details)) details[k] = renderValue(t, lookup);
  const finding: Finding = {
    ruleId: rule.id,
    pack: rule.pack,
    category: rule.category,
    severity: rule.severity,
    message: renderTemplate(rule.message, lookup),
    lines: item.lines,
    path: rule.path ? renderTemplate(rule.path, lookup) : item.defaultPath,
    details,
  };
  if (rule.suggestion) finding.suggestion = renderTemplate(rule.suggestion, lookup);
  return finding;
}
