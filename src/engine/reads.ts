import type { FieldPath } from '../claim/fields.js';
import type { ConditionNode, Rule } from '../packs/model.js';
import type { FactCatalog } from './facts.js';
import { parseOperator } from './operators.js';
import { pathTokens } from './path.js';

/**
 * Which claim fields a rule reads, so that a claim with a malformed field (a taxonomy that
 * does not end in X, a modifier of three characters) is still scrubbed by every rule that
 * does not read it: a clerk sees every problem of the claim in one pass, and no rule judges a
 * value the schema already refused. Fields are FieldPaths (claim/fields.ts).
 */
export type { FieldPath };

/** The whole claim: what a fact that does not say what it reads is taken to read. */
export const WHOLE_CLAIM: readonly FieldPath[] = [[]];

/** A line rule's own line (the two lines of a pair, the lines of a code-date group). */
export const OWN_LINE: FieldPath = ['lines', '@'];
/** A diagnosis rule's own diagnosis. */
export const OWN_DIAGNOSIS: FieldPath = ['diagnoses', '@'];

/** The claim view's derived fields (claim/view.ts), by what they are made of; "#" is the line or diagnosis itself. */
const DERIVED: Record<string, (at: string) => readonly FieldPath[]> = {
  'lines.#.number': () => [],
  'lines.#.index': () => [],
  // The codes of the other lines on the same date.
  'lines.#.sameDayCodes': () => [
    ['lines', '*', 'procedureCode'],
    ['lines', '*', 'serviceDate'],
  ],
  'diagnoses.#.normalizedCode': (at) => [['diagnoses', at, 'code']],
  'diagnoses.#.number': () => [],
  'diagnoses.#.index': () => [],
  'diagnoses.#.isFirst': () => [],
  'diagnoses.#.pointedBy': () => [['lines', '*', 'diagnosisPointers']],
  firstServiceDate: () => [['lines', '*', 'serviceDate']],
  lastServiceDate: () => [
    ['lines', '*', 'serviceDate'],
    ['lines', '*', 'serviceDateEnd'],
  ],
};

/**
 * The fields a path into the claim view reads, from `base` (the claim: [], the item's line:
 * OWN_LINE, its diagnosis: OWN_DIAGNOSIS). `length` reads the list it measures, and a derived
 * field reads what it is made of.
 */
export function viewFieldsRead(base: FieldPath, path: readonly string[]): FieldPath[] {
  const tokens = [...base, ...path];
  if (tokens[tokens.length - 1] === 'length') tokens.pop();
  for (let i = 1; i <= tokens.length; i++) {
    const key = tokens.slice(0, i).map((t, k) => (k === 1 && (tokens[0] === 'lines' || tokens[0] === 'diagnoses') ? '#' : t)).join('.');
    const derived = DERIVED[key];
    if (derived) return [...derived(tokens[1] ?? '*')];
  }
  return [tokens];
}

/** Operators that read the modifiers of the line they are given, not the whole line. */
const READS_MODIFIERS = new Set(['hasModifier', 'lacksModifier']);

function leafReads(leaf: { fact: string; path?: string; operator?: string }, catalog: FactCatalog, out: FieldPath[]): void {
  const fact = catalog.get(leaf.fact);
  if (!fact?.reads) {
    out.push(...WHOLE_CLAIM);
    return;
  }
  let path = leaf.path ? [...pathTokens(leaf.path)] : [];
  const base = leaf.operator ? parseOperator(leaf.operator)?.base.name : undefined;
  if (base && READS_MODIFIERS.has(base) && path[path.length - 1] !== 'modifiers') path = [...path, 'modifiers'];
  out.push(...fact.reads(path));
}

function collect(node: ConditionNode, catalog: FactCatalog, out: FieldPath[]): void {
  if ('all' in node) for (const c of node.all) collect(c, catalog, out);
  else if ('any' in node) for (const c of node.any) collect(c, catalog, out);
  else if ('not' in node) collect(node.not, catalog, out);
  else {
    leafReads(node, catalog, out);
    const value = node.value;
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && 'fact' in value) {
      leafReads(value as { fact: string; path?: string }, catalog, out);
    }
  }
}

const cache = new WeakMap<Rule, readonly FieldPath[]>();

/**
 * The claim fields a rule's conditions read (templates aside: a message may show a malformed
 * value). Worked out once per rule, the first time a claim with a malformed field needs it.
 */
export function fieldsReadBy(rule: Rule, catalog: FactCatalog): readonly FieldPath[] {
  let reads = cache.get(rule);
  if (!reads) {
    const out: FieldPath[] = [];
    collect(rule.conditions, catalog, out);
    // A code-date rule runs once per procedure code and date: it reads the codes even when its conditions do not.
    if (rule.scope === 'code-date') out.push([...OWN_LINE, 'procedureCode']);
    // Each field once: a rule often reads one field in several conditions.
    reads = [...new Map(out.map((f) => [f.join('\u0000'), f])).values()];
    cache.set(rule, reads);
  }
  return reads;
}
