import type { ConditionLeaf, ConditionNode, Rule } from '../packs/model.js';

/**
 * What a rule needs of the loaded tables, for the tableEditions fact: which tables leave the
 * claim unchecked when no edition covers a date, and to which payer types the rule applies.
 */
export interface TableNeed {
  /**
   * The tables the rule reads and gives no verdict without. A rule that tests its table's
   * `covered` has a fallback for dates no edition covers (a parameter list, say), so that
   * table does not count for it.
   */
  tables: readonly string[];
  /**
   * Payer-type conditions of the rule's top-level `all` (the form the Medicare packs use:
   * `params.payerTypes contains claim.payer.type`): the rule applies only to payer types every
   * one of them lists, a parameter's value (after payer packs) or a list written in the rule.
   */
  payerGates: ReadonlyArray<{ param: string } | { types: readonly string[] }>;
}

const NO_NEED: TableNeed = { tables: [], payerGates: [] };

function leavesOf(node: ConditionNode, out: ConditionLeaf[] = []): ConditionLeaf[] {
  if ('all' in node) for (const n of node.all) leavesOf(n, out);
  else if ('any' in node) for (const n of node.any) leavesOf(n, out);
  else if ('not' in node) leavesOf(node.not, out);
  else out.push(node);
  return out;
}

const bare = (path: string | undefined) => (path ?? '').replace(/^\$\./, '');
const factRef = (value: unknown): { fact: string; path: string } | undefined => {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || typeof (value as { fact?: unknown }).fact !== 'string') return undefined;
  const v = value as { fact: string; path?: string };
  return { fact: v.fact, path: bare(v.path) };
};

function payerGateOf(leaf: ConditionLeaf): TableNeed['payerGates'][number] | undefined {
  const value = factRef(leaf.value);
  if (leaf.fact === 'params' && leaf.operator === 'contains' && value?.fact === 'claim' && value.path === 'payer.type') return { param: bare(leaf.path) };
  if (leaf.fact !== 'claim' || bare(leaf.path) !== 'payer.type') return undefined;
  if (leaf.operator === 'in') {
    if (value?.fact === 'params') return { param: value.path };
    if (Array.isArray(leaf.value) && leaf.value.every((v) => typeof v === 'string')) return { types: leaf.value as string[] };
  }
  if (leaf.operator === 'equal' && typeof leaf.value === 'string') return { types: [leaf.value] };
  return undefined;
}

/** The rule's table needs, among the named tables; computed once per rule at load. */
export function tableNeedOf(rule: Rule, tableNames: ReadonlySet<string>): TableNeed {
  const read = rule.facts.filter((f) => tableNames.has(f));
  if (read.length === 0) return NO_NEED;
  const leaves = leavesOf(rule.conditions);
  const withFallback = new Set(leaves.filter((l) => tableNames.has(l.fact) && bare(l.path) === 'covered').map((l) => l.fact));
  const tables = read.filter((t) => !withFallback.has(t));
  if (tables.length === 0) return NO_NEED;
  const top = 'all' in rule.conditions ? rule.conditions.all : [rule.conditions];
  const payerGates = top.flatMap((n) => {
    if ('all' in n || 'any' in n || 'not' in n) return [];
    const gate = payerGateOf(n);
    return gate ? [gate] : [];
  });
  return { tables, payerGates };
}

/** Whether a rule with these gates applies to a claim of the payer type, with its pack's parameters. */
export function appliesToPayerType(need: TableNeed, params: Readonly<Record<string, unknown>>, payerType: string | undefined): boolean {
  for (const gate of need.payerGates) {
    const types = 'param' in gate ? params[gate.param] : gate.types;
    // A parameter that is not a plain list of types (a dated value, say) cannot be judged here: the rule counts.
    if (!Array.isArray(types) || !types.every((t) => typeof t === 'string')) continue;
    if (payerType === undefined || !types.includes(payerType)) return false;
  }
  return true;
}
