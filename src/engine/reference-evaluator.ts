import { Engine, Fact, Operator } from 'json-rules-engine';
import type { Rule } from '../packs/model.js';
import type { Evaluator, ConditionTrace, RuleGroup, RuleOutcome } from './evaluator.js';
import type { FactSource } from './facts.js';
import { OPERATORS } from './operators.js';
import { resolvePath } from './path.js';

/**
 * Evaluates rules with json-rules-engine itself, the reference for what a rule means.
 *
 * json-rules-engine keeps run state on the Engine: two runs overlapping on one Engine can make
 * one of them skip rules silently. So an Engine here is never shared: each run leases one
 * from its group's pool for the whole run and returns it afterwards; a run that finds the pool
 * empty builds a new one. Overlap is impossible by construction, not by timing.
 */
export class ReferenceEvaluator implements Evaluator {
  readonly name = 'reference' as const;
  private readonly pools = new WeakMap<RuleGroup, Engine[]>();

  private build(rules: readonly Rule[]): Engine {
    const engine = new Engine(
      rules.map((r) => ({ name: r.id, conditions: r.conditions as never, event: { type: r.id } })),
      { allowUndefinedFacts: true, pathResolver: resolvePath },
    );
    for (const op of OPERATORS.values()) {
      if (op.builtIn) continue;
      engine.addOperator(new Operator(op.name, (a: unknown, b: unknown) => op.evaluate(a, b), op.factCheck));
    }
    return engine;
  }

  async evaluate(group: RuleGroup, facts: FactSource, explain: boolean): Promise<RuleOutcome[]> {
    let pool = this.pools.get(group);
    if (!pool) {
      pool = [];
      this.pools.set(group, pool);
    }
    const engine = pool.pop() ?? this.build(group.rules);
    let outcomes: RuleOutcome[];
    try {
      outcomes = await run(engine, group.rules, group.facts, facts, explain);
    } catch {
      // One rule threw, and json-rules-engine failed the whole run (a failed Engine is not
      // reused). Each rule again on an Engine of its own tells which one, and keeps the others.
      return this.evaluateAlone(group, facts, explain);
    }
    pool.push(engine);
    return outcomes;
  }

  private async evaluateAlone(group: RuleGroup, facts: FactSource, explain: boolean): Promise<RuleOutcome[]> {
    const outcomes: RuleOutcome[] = [];
    for (const rule of group.rules) {
      try {
        outcomes.push(...(await run(this.build([rule]), [rule], rule.facts, facts, explain)));
      } catch (error) {
        outcomes.push({ rule, fired: false, error });
      }
    }
    return outcomes;
  }
}

/** One json-rules-engine run of the rules over one scope item; rejects when a rule throws. */
async function run(engine: Engine, rules: readonly Rule[], factNames: readonly string[], facts: FactSource, explain: boolean): Promise<RuleOutcome[]> {
  const runtime: Record<string, Fact> = {};
  for (const name of factNames) {
    runtime[name] = new Fact(name, (params: Record<string, unknown>) => facts.get(name, params), { cache: false });
  }
  const { results, failureResults } = await engine.run(runtime);
  const byId = new Map<string, { fired: boolean; conditions: unknown }>();
  for (const r of results) byId.set(r.name as string, { fired: true, conditions: r.conditions });
  for (const r of failureResults) byId.set(r.name as string, { fired: false, conditions: r.conditions });
  return rules.map((rule) => {
    const r = byId.get(rule.id);
    if (!r) throw new Error(`json-rules-engine returned no result for rule "${rule.id}"`);
    const outcome: RuleOutcome = { rule, fired: r.fired };
    // json-rules-engine records the top-level result on the rule, not on its condition group.
    if (explain) outcome.trace = { ...traceOf(r.conditions), result: r.fired };
    return outcome;
  });
}

/** json-rules-engine's evaluated condition tree, in the evaluator-neutral trace format. */
function traceOf(node: unknown): ConditionTrace {
  const c = node as Record<string, unknown>;
  const result = typeof c.result === 'boolean' ? { result: c.result } : {};
  if (Array.isArray(c.all)) return { all: c.all.map(traceOf), ...result };
  if (Array.isArray(c.any)) return { any: c.any.map(traceOf), ...result };
  if (c.not !== undefined) return { not: traceOf(c.not), ...result };
  const leaf: ConditionTrace = { fact: c.fact as string, operator: c.operator as string, value: c.value };
  if (c.path !== undefined) leaf.path = c.path as string;
  if ('result' in c && typeof c.result === 'boolean') {
    leaf.factValue = c.factResult;
    if (c.value !== null && typeof c.value === 'object' && 'fact' in (c.value as object)) leaf.valueResolved = c.valueResult;
    leaf.result = c.result;
  }
  return leaf;
}
