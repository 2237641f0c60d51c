import type { ConditionLeaf, ConditionNode, Rule } from '../packs/model.js';
import type { ConditionTrace, Evaluator, RuleGroup, RuleOutcome } from './evaluator.js';
import type { FactCatalog, FactSource } from './facts.js';
import { mayThrow, parseOperator, preparedOperator, sharedOperator, type BinaryOperator } from './operators.js';
import { compilePath, pathTokens } from './path.js';

/**
 * Evaluates rules as plain synchronous functions: each rule's json-rules-engine conditions are
 * compiled once into closures over the FactSource. The meaning is json-rules-engine's, restated
 * here and held to it by the differential test (test/engine/differential.test.ts):
 *
 * - a fact is read through the same FactSource, a `path` is applied only when the fact's value
 *   is an object (json-rules-engine hands anything else back unchanged), with the same
 *   dot-path resolver; `value: {fact, path, params}` is read the same way;
 * - operators are the shared definitions in operators.ts with json-rules-engine's validators
 *   and decorators (not:, someFact:, ..., composed left to right);
 * - all/any of several conditions count a condition as met only when it returned `true`; a
 *   group of one passes the condition's own result through; `not` negates it;
 * - json-rules-engine evaluates every condition of a rule (they share one priority), so the
 *   result cannot depend on order. We stop at the first condition that decides, which gives the
 *   same result, unless a condition can throw: such a rule is evaluated in full, like
 *   json-rules-engine, so an error surfaces the same way. `explain` always evaluates in full,
 *   which gives exactly json-rules-engine's trace.
 */

type Check = (facts: FactSource) => unknown;
type Traced = (facts: FactSource) => { result: unknown; trace: ConditionTrace };
type Read = (facts: FactSource) => unknown;

export interface CompiledRule {
  rule: Rule;
  /** rule.id and rule.effective, kept here too so that the fast path need not touch the Rule. */
  id: string;
  effective: Rule['effective'];
  /**
   * Whether the rule fires on the scope item: truthy when it does (json-rules-engine's own
   * test), so that the hot path spends no extra call on making it a boolean.
   */
  fires(facts: FactSource): unknown;
  /** Evaluates every condition, as json-rules-engine does, and reports how each came out. */
  explain(facts: FactSource): { fired: boolean; trace: ConditionTrace };
  /** False when a condition can throw: then the rule is always evaluated, in full. */
  total: boolean;
}

const hasOwn = (o: object, key: string) => Object.prototype.hasOwnProperty.call(o, key);

/** json-rules-engine's Almanac.getValue test for a fact reference. */
function factReferenceOf(value: unknown): { fact: string; path?: string; params?: Record<string, unknown> } | undefined {
  return value !== null && typeof value === 'object' && hasOwn(value, 'fact')
    ? (value as { fact: string; path?: string; params?: Record<string, unknown> })
    : undefined;
}

/** A fact read by catalog slot, with at most one path step: most conditions ("line.procedureCode"). */
interface SlotRead {
  slot: number;
  step?: PathStep;
}

/** One path step as resolveTokens takes it: a property, an array index, or an array's length. */
interface PathStep {
  token: string;
  isLength: boolean;
  index: number;
}

function slotRead(catalog: FactCatalog, fact: string, params: Record<string, unknown> | undefined, path: string | undefined): SlotRead | undefined {
  if (params !== undefined && Object.keys(params).length > 0) return undefined;
  const slot = catalog.slotOf(fact);
  if (slot === undefined) return undefined;
  if (!path) return { slot };
  const tokens = pathTokens(path);
  if (tokens.length !== 1) return undefined;
  const token = tokens[0]!;
  return { slot, step: { token, isLength: token === 'length', index: /^\d+$/.test(token) ? Number(token) : -1 } };
}

/** One path step into a fact's value, as resolveTokens takes it (a fact that is no object is handed back). */
function stepInto(value: unknown, token: string, isLength: boolean, index: number): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return isLength ? value.length : index >= 0 ? value[index] : undefined;
  return hasOwn(value, token) ? (value as Record<string, unknown>)[token] : undefined;
}

/**
 * Reads the fact and applies `then` to it, in one closure. With thousands of rules a claim mostly
 * reaches rules no recent claim ran, whose objects are cold in the CPU caches: every closure and
 * context between the rule and its comparison is one more cache miss, so a condition is kept to
 * this closure and its prepared comparison.
 */
function readThen({ slot, step }: SlotRead, then: (value: unknown) => unknown): Check {
  if (!step) return (facts) => then(facts.at(slot));
  const { token, isLength, index } = step;
  return (facts) => then(stepInto(facts.at(slot), token, isLength, index));
}

/**
 * Almanac.factValue: the fact (with params), then the path, only into objects. A fact asked
 * without params is read by its catalog slot, looked up here once.
 */
function factReader(catalog: FactCatalog, fact: string, params: Record<string, unknown> | undefined, path: string | undefined): Read {
  // A reader depends on the slot and the path alone: one per catalog, shared by every rule that
  // reads the same thing, stays warm however many rules there are.
  if (params !== undefined && Object.keys(params).length > 0) return buildReader(catalog, fact, params, path);
  let readers = sharedReaders.get(catalog);
  if (!readers) sharedReaders.set(catalog, (readers = new Map()));
  const key = `${fact}\u0000${path ?? ''}`;
  let read = readers.get(key);
  if (!read) readers.set(key, (read = buildReader(catalog, fact, params, path)));
  return read;
}

const sharedReaders = new WeakMap<FactCatalog, Map<string, Read>>();

function buildReader(catalog: FactCatalog, fact: string, params: Record<string, unknown> | undefined, path: string | undefined): Read {
  const direct = slotRead(catalog, fact, params, path);
  if (direct) {
    const { slot, step } = direct;
    if (!step) return (facts) => facts.at(slot);
    const { token, isLength, index } = step;
    return (facts) => stepInto(facts.at(slot), token, isLength, index);
  }
  const slot = params === undefined || Object.keys(params).length === 0 ? catalog.slotOf(fact) : undefined;
  if (slot === undefined) {
    const resolve = path ? compilePath(path) : undefined;
    return (facts) => {
      const value = facts.get(fact, params);
      return resolve && value !== null && typeof value === 'object' ? resolve(value) : value;
    };
  }
  const resolve = compilePath(path!);
  return (facts) => {
    const value = facts.at(slot);
    return value !== null && typeof value === 'object' ? resolve(value) : value;
  };
}

/*
 * The checks themselves are made by the small functions below rather than inline in
 * compileLeaf and compileNode: a closure made inline keeps the whole context of the function
 * that made it (every variable any of its closures uses), allocated when that function began
 * and far from the closure in memory. Made here, each check's context holds what it reads and
 * nothing else, allocated next to it: fewer cache lines for a rule the claim finds cold.
 */
function applyTo(test: (value: unknown) => unknown, read: Read): Check {
  return (facts) => test(read(facts));
}

function compareWith(compare: BinaryOperator, read: Read, constant: unknown): Check {
  return (facts) => compare(read(facts), constant);
}

/** Almanac order: the value is resolved before the fact. */
function compareRead(compare: BinaryOperator, read: Read, readValue: Read): Check {
  return (facts) => {
    const value = readValue(facts);
    return compare(read(facts), value);
  };
}

/**
 * Referenced values rarely change between items (a pack parameter never does): prepare the
 * operator again only when the value is a different one. Only operators that build something
 * (a code list, a set, a regex) are worth it: for a comparison such as dateAfter against the
 * claim's own last date of service the value changes with every claim, and preparing would
 * just allocate a function per claim and store it in the rule, where the garbage collector has
 * to trace it from the old generation.
 */
function preparedRead(prepare: (value: unknown) => (factValue: unknown) => unknown, read: Read, readValue: Read): Check {
  let preparedFor: unknown;
  let test: ((a: unknown) => unknown) | undefined;
  return (facts) => {
    const value = readValue(facts);
    const factValue = read(facts);
    if (test === undefined || value !== preparedFor) {
      test = prepare(value);
      preparedFor = value;
    }
    return test(factValue);
  };
}

function allOf(checks: readonly Check[]): Check {
  // Two and three conditions (most rules) get a closure without a loop.
  if (checks.length === 2) {
    const [a, b] = checks as [Check, Check];
    return (facts) => a(facts) === true && b(facts) === true;
  }
  if (checks.length === 3) {
    const [a, b, c] = checks as [Check, Check, Check];
    return (facts) => a(facts) === true && b(facts) === true && c(facts) === true;
  }
  return (facts) => {
    for (const c of checks) if (c(facts) !== true) return false;
    return true;
  };
}

function anyOf(checks: readonly Check[]): Check {
  if (checks.length === 2) {
    const [a, b] = checks as [Check, Check];
    return (facts) => a(facts) === true || b(facts) === true;
  }
  return (facts) => {
    for (const c of checks) if (c(facts) === true) return true;
    return false;
  };
}

function isTrue(check: Check): Check {
  return (facts) => check(facts) === true;
}

function negation(check: Check): Check {
  return (facts) => !check(facts);
}

interface CompiledLeaf {
  check: Check;
  traced: Traced;
  total: boolean;
}

function compileLeaf(leaf: ConditionLeaf, catalog: FactCatalog): CompiledLeaf {
  const parsed = parseOperator(leaf.operator);
  // The loader refuses unknown operators; reaching this is a bug, not an author's mistake.
  if (!parsed) throw new Error(`cannot compile unknown operator "${leaf.operator}"`);
  const readFact = factReader(catalog, leaf.fact, leaf.params, leaf.path);
  const compare = sharedOperator(leaf.operator, parsed);
  const prepare = preparedOperator(parsed);
  const reference = factReferenceOf(leaf.value);
  const readValue: Read | undefined = reference && factReader(catalog, reference.fact, reference.params, reference.path);
  // json-rules-engine compares against a fresh deep copy of the condition on every run, so a
  // list or object value is never identical (===) to a fact's value. A private copy, made once,
  // keeps that true here: no fact can ever hand back this very object.
  const constant = leaf.value !== null && typeof leaf.value === 'object' ? structuredClone(leaf.value) : leaf.value;

  // Almanac order: the value is resolved before the fact.
  let check: Check;
  if (!readValue) {
    if (prepare) {
      const test = prepare(constant);
      const direct = slotRead(catalog, leaf.fact, leaf.params, leaf.path);
      check = direct ? readThen(direct, test) : applyTo(test, readFact);
    } else {
      check = compareWith(compare, readFact, constant);
    }
  } else if (prepare && parsed.base.prepare) {
    check = preparedRead(prepare, readFact, readValue);
  } else {
    check = compareRead(compare, readFact, readValue);
  }

  const traced: Traced = (facts) => {
    const value = readValue ? readValue(facts) : constant;
    const factValue = readFact(facts);
    const result = compare(factValue, value);
    // The key order of the json-rules-engine trace (reference-evaluator.ts traceOf).
    const trace: ConditionTrace = { fact: leaf.fact, operator: leaf.operator, value: leaf.value };
    if (leaf.path !== undefined) trace.path = leaf.path;
    if (typeof result === 'boolean') {
      trace.factValue = factValue;
      if (readValue) trace.valueResolved = value;
      trace.result = result;
    }
    return { result, trace };
  };

  return { check, traced, total: !mayThrow(parsed, !readValue && Array.isArray(constant)) };
}

interface CompiledNode {
  /** Short-circuits; the raw result json-rules-engine would give for this node. */
  check: Check;
  /** Evaluates every child; the same result plus the trace. */
  traced: Traced;
  total: boolean;
}

/**
 * Compiled conditions by their content, for one catalog: a condition written the same way in
 * many rules (`pair.sameServiceDate equal true`, `not hasModifier [59, XS, XU]`, a whole rule a
 * payer pack copied) is compiled once and shared. With thousands of rules loaded, a claim
 * mostly reaches rules no recent claim ran, and every object between a rule and its answer is
 * a likely cache miss: a shared condition is one some other claim ran lately. Sharing is safe
 * because compiled conditions hold nothing per rule (preparedRead's cache is keyed by the
 * value it prepared).
 */
export type SharedConditions = Map<string, CompiledNode>;

/**
 * A boolean node. `nested` nodes report `result === true` as json-rules-engine's
 * evaluateCondition does; the root passes the raw result of all/any/not through, and its trace
 * gets the rule's result afterwards (json-rules-engine never sets one on the root).
 * With `shared`, a condition written the same way as one compiled before is that one.
 */
function compileNode(node: ConditionNode, nested: boolean, catalog: FactCatalog, shared?: SharedConditions): CompiledNode {
  const key = shared && conditionKey(node);
  if (key === undefined) return buildNode(node, nested, catalog, shared);
  const full = `${nested ? 'nested' : 'root'} ${key}`;
  let compiled = shared!.get(full);
  if (!compiled) shared!.set(full, (compiled = buildNode(node, nested, catalog, shared)));
  return compiled;
}

function buildNode(node: ConditionNode, nested: boolean, catalog: FactCatalog, shared: SharedConditions | undefined): CompiledNode {
  if ('all' in node || 'any' in node) {
    const isAll = 'all' in node;
    const children = (isAll ? node.all : (node as { any: ConditionNode[] }).any).map((c) => compileNode(c, true, catalog, shared));
    const total = children.every((c) => c.total);
    const checks = children.map((c) => c.check);
    const raw: Check = checks.length === 1 ? checks[0]! : isAll ? allOf(checks) : anyOf(checks);
    const check: Check = nested ? isTrue(raw) : raw;
    const traced: Traced = (facts) => {
      const evaluated = children.map((c) => c.traced(facts));
      const combined =
        evaluated.length === 1
          ? evaluated[0]!.result
          : isAll
            ? evaluated.every((e) => e.result === true)
            : evaluated.some((e) => e.result === true);
      const list = evaluated.map((e) => e.trace);
      const trace: ConditionTrace = isAll ? { all: list } : { any: list };
      const result = nested ? combined === true : combined;
      if (nested) trace.result = result as boolean;
      return { result, trace };
    };
    return { check, traced, total };
  }
  if ('not' in node) {
    const child = compileNode(node.not, true, catalog, shared);
    const inner = child.check;
    const traced: Traced = (facts) => {
      const e = child.traced(facts);
      const result = !e.result;
      const trace: ConditionTrace = { not: e.trace };
      if (nested) trace.result = result;
      return { result, trace };
    };
    return { check: negation(inner), traced, total: child.total };
  }
  return compileLeaf(node, catalog);
}

const conditionKeys = new WeakMap<object, string | null>();

/**
 * A text two conditions share only when they mean the same: the same facts, paths, operators
 * and values, in the same order. Undefined for a condition holding anything but plain JSON
 * data (NaN, -0, ...), which is then not shared.
 */
function conditionKey(node: ConditionNode): string | undefined {
  const known = conditionKeys.get(node);
  if (known !== undefined) return known ?? undefined;
  let key: string | undefined;
  if ('all' in node || 'any' in node) {
    const list = 'all' in node ? node.all : (node as { any: ConditionNode[] }).any;
    const children = list.map(conditionKey);
    key = children.every((c) => c !== undefined) ? `${'all' in node ? 'all' : 'any'}(${children.join(',')})` : undefined;
  } else if ('not' in node) {
    const child = conditionKey(node.not);
    key = child === undefined ? undefined : `not(${child})`;
  } else {
    // path and params absent are not the same as any value of them: "u" stands for absent.
    const parts = [node.fact, node.operator, node.path, node.value, node.params].map((v) => (v === undefined ? 'u' : plainJson(v)));
    key = parts.every((p) => p !== undefined) ? `leaf[${parts.join(',')}]` : undefined;
  }
  conditionKeys.set(node, key ?? null);
  return key;
}

/** JSON text of plain data, one text per value; undefined for anything JSON would lose or change. */
function plainJson(value: unknown): string | undefined {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0) ? JSON.stringify(value) : undefined;
  if (Array.isArray(value)) {
    const parts: string[] = [];
    for (let i = 0; i < value.length; i++) {
      const part = i in value ? plainJson(value[i]) : undefined;
      if (part === undefined) return undefined;
      parts.push(part);
    }
    return `[${parts.join(',')}]`;
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const parts: string[] = [];
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const part = plainJson(v);
      if (part === undefined) return undefined;
      parts.push(`${JSON.stringify(k)}:${part}`);
    }
    return `{${parts.join(',')}}`;
  }
  return undefined;
}

/** Compiles a rule's conditions for FactSources of the given catalog (facts are read by slot). */
export function compileRule(rule: Rule, catalog: FactCatalog, shared?: SharedConditions): CompiledRule {
  const root = compileNode(rule.conditions, false, catalog, shared);
  const { check, traced, total } = root;
  return {
    rule,
    id: rule.id,
    effective: rule.effective,
    total,
    fires: total ? check : (facts) => traced(facts).result,
    explain: (facts) => {
      const { result, trace } = traced(facts);
      const fired = Boolean(result);
      // As the reference evaluator reports it: the rule's result on the top-level group.
      return { fired, trace: { ...trace, result: fired } };
    },
  };
}

export class CompiledEvaluator implements Evaluator {
  readonly name = 'compiled' as const;
  private readonly compiled = new WeakMap<RuleGroup, { catalog: FactCatalog; rules: readonly CompiledRule[] }>();
  private readonly shared = new WeakMap<FactCatalog, SharedConditions>();

  /** The group's rules compiled for a catalog, in group order; compiled on first use and kept. */
  rulesOf(group: RuleGroup, catalog: FactCatalog): readonly CompiledRule[] {
    let entry = this.compiled.get(group);
    if (!entry || entry.catalog !== catalog) {
      const shared = this.shared.get(catalog) ?? new Map();
      this.shared.set(catalog, shared);
      entry = { catalog, rules: group.rules.map((rule) => compileRule(rule, catalog, shared)) };
      this.compiled.set(group, entry);
    }
    return entry.rules;
  }

  evaluate(group: RuleGroup, facts: FactSource, explain: boolean): RuleOutcome[] {
    return this.rulesOf(group, facts.catalog).map((c): RuleOutcome => {
      try {
        if (!explain) return { rule: c.rule, fired: Boolean(c.fires(facts)) };
        const { fired, trace } = c.explain(facts);
        return { rule: c.rule, fired, trace };
      } catch (error) {
        return { rule: c.rule, fired: false, error };
      }
    });
  }
}
