import { Engine, Operator } from 'json-rules-engine';
import { describe, expect, it } from 'vitest';
import { compileRule } from '../../src/engine/compiled-evaluator.js';
import type { RuleGroup, RuleOutcome } from '../../src/engine/evaluator.js';
import { FactCatalog, FactSource, type FactDefinition, type RunContext } from '../../src/engine/facts.js';
import { CompiledEvaluator } from '../../src/engine/compiled-evaluator.js';
import { DECORATORS, OPERATORS, operatorFunction, parseOperator, preparedOperator } from '../../src/engine/operators.js';
import { ReferenceEvaluator } from '../../src/engine/reference-evaluator.js';
import type { ScopeItem } from '../../src/engine/scopes.js';
import type { ConditionNode, Pack, Rule } from '../../src/packs/model.js';
import { seededRandom } from '../support/generate-claims.js';

/**
 * The compiled evaluator's operators and condition trees against json-rules-engine itself:
 * every operator under every decorator (and pairs of them) on values of every kind, then
 * random condition trees through both evaluators, comparing results, traces and errors.
 */

// Values of every kind a fact or a condition can hold, including awkward ones.
const VALUES: unknown[] = [
  undefined, null, 0, -1, 1.5, 5, Number.NaN, '', '2', '1e3', 'abc', '25', 'LT', '99213', '99215', 'E11.9', 'E119',
  '2026-03-01', '2026-02-30', true, false, [], [1, 2], [5, 5], ['25', '59'], ['lt', 'RT'], ['99213', '11102'],
  ['2026-01-01'], [null], [[1], [2]], { modifiers: ['25', 'LT'] }, { modifiers: 'x' }, { a: 1 }, ['99202-99215', 'E11*'],
  '^9921', '[', 'J3490',
];

const DECORATOR_CHAINS = [
  [], ...DECORATORS.map((d) => [d]),
  ['not', 'someFact'], ['someFact', 'not'], ['not', 'swap'], ['swap', 'not'], ['everyFact', 'someValue'],
  ['someValue', 'everyFact'], ['not', 'everyValue'], ['swap', 'someFact'], ['someFact', 'swap'], ['not', 'not'],
];

function referenceEngine(): Engine {
  const engine = new Engine([], { allowUndefinedFacts: true });
  for (const op of OPERATORS.values()) {
    if (!op.builtIn) engine.addOperator(new Operator(op.name, (a: unknown, b: unknown) => op.evaluate(a, b), op.factCheck));
  }
  return engine;
}

/** The result, or a marker that it threw (json-rules-engine then fails the whole run). */
const THREW = Symbol('threw');
const outcome = (fn: () => unknown): unknown => {
  try {
    return fn();
  } catch {
    return THREW;
  }
};

describe('operators, compiled vs json-rules-engine', () => {
  const engine = referenceEngine();
  const operatorMap = (engine as unknown as { operators: { get(name: string): { evaluate(a: unknown, b: unknown): unknown } | null } }).operators;

  it('agree for every operator, decorator chain and pair of values', () => {
    let compared = 0;
    for (const base of OPERATORS.keys()) {
      for (const chain of DECORATOR_CHAINS) {
        const name = [...chain, base].join(':');
        const parsed = parseOperator(name)!;
        const reference = operatorMap.get(name)!;
        const compiled = operatorFunction(parsed);
        const prepared = preparedOperator(parsed);
        for (const a of VALUES) {
          for (const b of VALUES) {
            const want = outcome(() => reference.evaluate(a, b));
            const got = outcome(() => compiled(a, b));
            if (!Object.is(got, want)) expect({ name, a, b, got }).toEqual({ name, a, b, got: want });
            if (prepared) {
              const fixed = outcome(() => prepared(b)(a));
              if (!Object.is(fixed, want)) expect({ name, a, b, prepared: fixed }).toEqual({ name, a, b, prepared: want });
            }
            compared++;
          }
        }
      }
    }
    expect(compared).toBeGreaterThan(200_000);
  });

  it('know which decorated names json-rules-engine refuses', () => {
    for (const name of ['not:', ':equal', 'nope:equal', 'equal:not', 'not:nope']) {
      expect(parseOperator(name), name).toBeUndefined();
      expect(operatorMap.get(name), name).toBeNull();
    }
  });
});

/** Facts x, y, list and obj whose values the test sets per round. */
function fuzzCatalog(values: Record<string, unknown>): FactCatalog {
  const def = (name: string): FactDefinition => ({ name, scopes: ['claim'], description: name, shape: { kind: 'any' }, value: () => values[name] });
  return new FactCatalog(['x', 'y', 'list', 'obj'].map(def));
}

function ruleOf(id: string, conditions: ConditionNode): Rule {
  return {
    id,
    title: id,
    pack: 'fuzz',
    category: 'payer-policy',
    severity: 'error',
    scope: 'claim',
    scopeKey: 'claim',
    conditions,
    message: { source: '', parts: [], refs: [] },
    details: {},
    references: [],
    facts: ['x', 'y', 'list', 'obj'],
    location: { file: 'fuzz', line: 1, column: 1 },
    locate: () => ({ file: 'fuzz', line: 1, column: 1 }),
  } as Rule;
}

function randomTree(rand: () => number, depth: number): ConditionNode {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
  if (depth > 0 && rand() < 0.45) {
    const kind = pick(['all', 'any', 'not'] as const);
    if (kind === 'not') return { not: randomTree(rand, depth - 1) };
    const children = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => randomTree(rand, depth - 1));
    return kind === 'all' ? { all: children } : { any: children };
  }
  const operator = [...pick(DECORATOR_CHAINS.slice(0, 10)), pick([...OPERATORS.keys()])].join(':');
  const leaf: ConditionNode = { fact: pick(['x', 'y', 'list', 'obj']), operator, value: pick(VALUES) };
  const r = rand();
  if (r < 0.25) leaf.path = pick(['modifiers', 'a', 'length', '0', 'modifiers.0', 'modifiers.length']);
  if (r > 0.8) leaf.value = { fact: pick(['x', 'y', 'list', 'obj']), ...(rand() < 0.5 ? { path: pick(['a', 'length', '0', 'modifiers']) } : {}) };
  return leaf;
}

describe('condition trees, compiled vs json-rules-engine', () => {
  it('fire, explain and fail alike on 3,000 random rules', async () => {
    const rand = seededRandom(2024);
    const reference = new ReferenceEvaluator();
    const compiled = new CompiledEvaluator();
    let fired = 0;
    let failed = 0;
    for (let n = 0; n < 3_000; n++) {
      const rule = ruleOf(`r${n}`, { [rand() < 0.5 ? 'all' : 'any']: [randomTree(rand, 3), ...(rand() < 0.5 ? [randomTree(rand, 2)] : [])] } as ConditionNode);
      const values = { x: VALUES[Math.floor(rand() * VALUES.length)], y: VALUES[Math.floor(rand() * VALUES.length)], list: ['25', '59', 'LT'], obj: { a: 1, modifiers: ['25'] } };
      const catalog = fuzzCatalog(values);
      const group: RuleGroup = { key: `fuzz/${n}`, pack: { name: 'fuzz' } as Pack, scopeKey: 'claim', rules: [rule], facts: ['x', 'y', 'list', 'obj'] };
      const item: ScopeItem = { scope: 'claim', label: 'claim', serviceDate: '2026-01-01', lines: [], defaultPath: '', values: {} };
      const facts = () => new FactSource(catalog, item, {} as RunContext, { params: {} });
      const settle = async (p: () => unknown) => {
        try {
          return { ok: JSON.parse(JSON.stringify(await p())) as unknown };
        } catch {
          return { error: true };
        }
      };
      // Evaluators never throw: a rule that fails is an outcome with its error.
      const evaluated = async (p: () => RuleOutcome[] | Promise<RuleOutcome[]>) => {
        const outcomes = await p();
        return outcomes.some((o) => o.error !== undefined) ? { error: true } : { ok: JSON.parse(JSON.stringify(outcomes)) as unknown };
      };
      for (const explain of [false, true]) {
        const want = await evaluated(() => reference.evaluate(group, facts(), explain));
        const got = await evaluated(() => compiled.evaluate(group, facts(), explain));
        // The fast path, on its own, must agree too.
        const fast = await settle(() => [{ fired: Boolean(compileRule(rule, catalog).fires(facts())) }]);
        expect(got, JSON.stringify(rule.conditions)).toEqual(want);
        if ('ok' in want) expect((fast as { ok: Array<{ fired: boolean }> }).ok[0]!.fired).toBe((want.ok as Array<{ fired: boolean }>)[0]!.fired);
        else expect(fast).toEqual({ error: true });
        if (!explain && 'ok' in want && (want.ok as Array<{ fired: boolean }>)[0]!.fired) fired++;
        if (!explain && 'error' in want) failed++;
      }
    }
    // Both outcomes, and errors, must occur for the comparison to mean something.
    expect(fired).toBeGreaterThan(300);
    expect(failed).toBeGreaterThan(30);
  });
});
