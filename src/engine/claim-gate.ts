import type { ClaimView } from '../claim/view.js';
import type { ConditionLeaf, ConditionNode } from '../packs/model.js';
import { STANDARD_FACTS, type FactCatalog } from './facts.js';
import { mayThrow, parseOperator, sharedOperator, type BinaryOperator } from './operators.js';
import { compilePath } from './path.js';

/**
 * Claim gates: which rules cannot fire on any item of a claim, decided once per kind of claim
 * instead of once per item. Many line rules of the CMS packs begin with "the payer's type is
 * one the pack checks" (`params.payerTypes contains claim.payer.type`): on a commercial claim
 * of seven lines such a rule was tried, and failed, on every line. The rule index cannot key it
 * (it keys an item's own fields), so it stayed a candidate everywhere.
 *
 * A gate is a condition that the rule requires (it sits in the rule's `all`, nested `all`s
 * included) and that reads nothing but a claim field with few values (GATE_PATHS) and a
 * constant (a literal, or the pack's parameter). Its result is the same on every item of the
 * claim, and the same for every claim with those field values: it is worked out once per
 * (selection, field values) and kept as a mask over the group's rule positions. A rule whose
 * gate comes out falsy cannot fire (an `all` counts a condition as met only when it is `true`,
 * and a group of one passes a falsy result through), so skipping it changes no finding.
 * A rule that can throw (not `total`) is never gated: it is evaluated in full, as before.
 */

/** The claim fields a gate may read: the same on every item, and few distinct values across claims. */
const GATE_PATHS: readonly string[] = ['payer.type', 'claimType'];
const GATE_READS = GATE_PATHS.map((p) => compilePath(p));

/** One required condition on a gate field: false when this claim and these parameters cannot meet it. */
export type Gate = (claim: ClaimView, params: Readonly<Record<string, unknown>>) => boolean;

/**
 * The claim's gate key: its values of the gate fields; undefined when one of them is neither
 * text nor missing (a malformed claim), which then is never gated.
 */
export function gateKeyOf(claim: ClaimView): string | undefined {
  let key = '';
  for (let i = 0; i < GATE_READS.length; i++) {
    const v = GATE_READS[i]!(claim);
    if (v === undefined) key += '\u0001\u0000';
    else if (typeof v === 'string') key += v + '\u0000';
    else return undefined;
  }
  return key;
}

/** As json-rules-engine reads `{fact, path}`: the path applies only to an object. */
function reader(path: string | undefined): (value: unknown) => unknown {
  if (!path) return (value) => value;
  const resolve = compilePath(path);
  return (value) => (value !== null && typeof value === 'object' ? resolve(value) : value);
}

function isReference(value: unknown): value is { fact: string; path?: string; params?: unknown } {
  return value !== null && typeof value === 'object' && Object.prototype.hasOwnProperty.call(value, 'fact');
}

/**
 * The gates of a rule's conditions (empty when it has none). `catalog`: a fact a pack set
 * replaced is not the standard one, and is never read by a gate.
 */
export function gatesOf(conditions: ConditionNode, total: boolean, catalog: FactCatalog): Gate[] {
  if (!total) return [];
  const standard = (fact: string) => {
    const def = catalog.get(fact);
    return def !== undefined && def === STANDARD_FACTS.find((f) => f.name === fact);
  };
  if (!standard('claim') || !standard('params')) return [];
  const gates: Gate[] = [];
  const visit = (node: ConditionNode): void => {
    if ('all' in node) for (const child of node.all) visit(child);
    else if (!('any' in node) && !('not' in node)) {
      const gate = gateOf(node, standard);
      if (gate) gates.push(gate);
    }
  };
  visit(conditions);
  return gates;
}

type Side = (claim: ClaimView, params: Readonly<Record<string, unknown>>) => unknown;

/** A side of a condition that is a gate field, or a constant; undefined for anything else. */
function sideOf(fact: string, path: string | undefined, factParams: unknown): { side: Side; claim: boolean } | undefined {
  if (factParams !== undefined) return undefined;
  const read = reader(path);
  if (fact === 'claim') return path !== undefined && GATE_PATHS.includes(path) ? { side: (claim) => read(claim), claim: true } : undefined;
  if (fact === 'params') return { side: (_claim, params) => read(params), claim: false };
  return undefined;
}

function gateOf(leaf: ConditionLeaf, standard: (fact: string) => boolean): Gate | undefined {
  const parsed = parseOperator(leaf.operator);
  if (!parsed || !standard(leaf.fact)) return undefined;
  const factSide = sideOf(leaf.fact, leaf.path, leaf.params);
  if (!factSide) return undefined;
  let valueSide: { side: Side; claim: boolean } | undefined;
  if (isReference(leaf.value)) {
    if (!standard(leaf.value.fact)) return undefined;
    valueSide = sideOf(leaf.value.fact, leaf.value.path, leaf.value.params);
  } else {
    const literal = leaf.value;
    valueSide = { side: () => literal, claim: false };
  }
  // Exactly one side a gate field: a condition on parameters alone is the index's (it decides it at load).
  if (!valueSide || factSide.claim === valueSide.claim) return undefined;
  if (mayThrow(parsed, !isReference(leaf.value) && Array.isArray(leaf.value))) return undefined;
  const op: BinaryOperator = sharedOperator(leaf.operator, parsed);
  const a = factSide.side;
  const b = valueSide.side;
  return (claim, params) => Boolean(op(a(claim, params), b(claim, params)));
}

/**
 * Per rule position, 1 where a gate rules the rule out for this claim; undefined when none
 * does (nothing to skip).
 */
export function blockedPositions(
  gates: ReadonlyArray<readonly Gate[]>,
  paramsAt: (position: number) => Readonly<Record<string, unknown>>,
  claim: ClaimView,
): Uint8Array | undefined {
  let blocked: Uint8Array | undefined;
  for (let p = 0; p < gates.length; p++) {
    const list = gates[p]!;
    if (list.length === 0) continue;
    const params = paramsAt(p);
    if (list.every((gate) => gate(claim, params))) continue;
    (blocked ??= new Uint8Array(gates.length))[p] = 1;
  }
  return blocked;
}
