import type { Pack, Rule } from '../packs/model.js';
import type { FactSource } from './facts.js';
import type { ScopeKey } from './scopes.js';

/** How one condition came out, for `--explain`: what was compared with what. */
export type ConditionTrace =
  | { all: ConditionTrace[]; result?: boolean }
  | { any: ConditionTrace[]; result?: boolean }
  | { not: ConditionTrace; result?: boolean }
  | {
      fact: string;
      path?: string;
      operator: string;
      value: unknown;
      /** The value the fact and path held on this claim. */
      factValue?: unknown;
      /** The value compared against, when `value` refers to another fact. */
      valueResolved?: unknown;
      /** Absent when the condition was not evaluated (an earlier one already decided). */
      result?: boolean;
    };

export interface RuleOutcome {
  rule: Rule;
  fired: boolean;
  trace?: ConditionTrace;
  /** What the rule threw while it ran (then `fired` is false): the claim gets a rule-failed finding. */
  error?: unknown;
}

/** The rules of one pack that share a scope: evaluated together against each scope item. */
export interface RuleGroup {
  key: string;
  pack: Pack;
  scopeKey: ScopeKey;
  rules: readonly Rule[];
  /** Every fact the group's conditions read. */
  facts: readonly string[];
}

/** The two evaluators: json-rules-engine itself, and the compiled one proven against it. */
export const ENGINES = ['compiled', 'reference'] as const;
export type EngineName = (typeof ENGINES)[number];

export interface Evaluator {
  readonly name: EngineName;
  /**
   * Every rule of the group against one scope item, in group order. Synchronous evaluators
   * return the outcomes; json-rules-engine returns a promise of them. A rule that throws is an
   * outcome with its error, never a thrown error: the other rules' outcomes still count.
   */
  evaluate(group: RuleGroup, facts: FactSource, explain: boolean): RuleOutcome[] | Promise<RuleOutcome[]>;
}

export function groupRules(pack: Pack): RuleGroup[] {
  const byScope = new Map<ScopeKey, Rule[]>();
  for (const rule of pack.rules) {
    const list = byScope.get(rule.scopeKey) ?? [];
    list.push(rule);
    byScope.set(rule.scopeKey, list);
  }
  return [...byScope.entries()].map(([scopeKey, rules]) => ({
    key: `${pack.name}/${scopeKey}`,
    pack,
    scopeKey,
    rules,
    facts: [...new Set(rules.flatMap((r) => r.facts))].sort(),
  }));
}
