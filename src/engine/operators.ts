import { isIsoDate } from '../claim/dates.js';
import { compileCodeList, type CodeMatcher } from '../claim/codes.js';
import { isValidNpi } from '../claim/npi.js';
import { regexFor } from './linear-regex.js';

/**
 * Every operator a rule can use. json-rules-engine's own operators are listed so the loader
 * and the linter know them; the domain operators are added to every json-rules-engine Engine
 * from these same definitions, so both evaluators share one implementation.
 */

/** What a condition's `value` must be for an operator; checked when a pack is loaded. */
export type ValueKind = 'any' | 'list' | 'codes' | 'modifiers' | 'boolean' | 'number' | 'date' | 'regex';

export interface OperatorDefinition {
  name: string;
  /** json-rules-engine semantics: when the fact value fails this check the operator is false. */
  factCheck?: (factValue: unknown) => boolean;
  evaluate(factValue: unknown, value: unknown): boolean;
  /**
   * The operator with its value fixed, for the compiled evaluator: a code list or a regex is
   * then built once per rule instead of once per comparison. Must agree with `evaluate` for
   * every fact value (the differential test holds them to it); absent means "call evaluate".
   */
  prepare?(value: unknown): (factValue: unknown) => boolean;
  /**
   * True when `prepare`'s function applies `factCheck` itself (so that a condition is one
   * function, not the check wrapped around the comparison): it must give exactly
   * factCheck(a) && evaluate(a, value).
   */
  preparedChecks?: boolean;
  value: ValueKind;
  /**
   * True when the operator holds for a field that is missing (json-rules-engine's notIn and
   * notEqual): such a condition needs an `exists` guard, or it fires on claims that simply
   * lack the field.
   */
  trueWhenMissing: boolean;
  /** One line for the docs and the linter. */
  description: string;
  builtIn: boolean;
}

const numberCheck = (v: unknown) => Number.parseFloat(v as string).toString() !== 'NaN';
const isString = (v: unknown): v is string => typeof v === 'string';
const isArray = Array.isArray;

// Values arrive freshly cloned on every json-rules-engine run, so matchers are cached by content.
const codeMatchers = new Map<string, CodeMatcher>();
/**
 * The compiled evaluator hands over the very list of a pack's parameter (`codeIn {fact: params,
 * path: laboratoryCodes}`), the same array on every claim: found by identity, it costs no
 * joining of hundreds of codes per comparison. Pack parameters are never changed once loaded.
 */
const codeMatchersByList = new WeakMap<readonly unknown[], CodeMatcher>();
export function codeMatcherFor(list: unknown): CodeMatcher {
  if (isArray(list)) {
    const known = codeMatchersByList.get(list);
    if (known) return known;
  }
  const entries = isArray(list) ? list : [list];
  const key = entries.join('|');
  let m = codeMatchers.get(key);
  if (!m) {
    m = compileCodeList(entries);
    if (codeMatchers.size > 5_000) codeMatchers.clear();
    codeMatchers.set(key, m);
  }
  if (isArray(list)) codeMatchersByList.set(list, m);
  return m;
}

function asList(value: unknown): unknown[] {
  return isArray(value) ? value : [value];
}

function modifiersOf(line: unknown): string[] | undefined {
  if (line === null || typeof line !== 'object') return undefined;
  const mods = (line as { modifiers?: unknown }).modifiers;
  return isArray(mods) ? (mods as string[]) : [];
}

/**
 * `in` / `notIn` with the list fixed: a Set for long lists. indexOf compares with ===, a Set
 * with SameValueZero; they differ only for NaN, which indexOf never finds, hence the a === a.
 * A value that is not a list keeps indexOf (text does substring search, anything else throws).
 */
function listMember(b: unknown, wanted: boolean): (a: unknown) => boolean {
  if (!isArray(b) || b.length < 16) return (a) => ((b as unknown[]).indexOf(a) > -1) === wanted;
  const set = new Set<unknown>();
  b.forEach((x) => set.add(x)); // forEach skips holes, as indexOf does
  return (a) => (a === a && set.has(a)) === wanted;
}

const builtIns: OperatorDefinition[] = (
  [
  { name: 'equal', evaluate: (a, b) => a === b, value: 'any', trueWhenMissing: false, description: 'the field equals the value' },
  { name: 'notEqual', evaluate: (a, b) => a !== b, value: 'any', trueWhenMissing: true, description: 'the field does not equal the value (also true when the field is missing)' },
  { name: 'in', evaluate: (a, b) => (b as unknown[]).indexOf(a) > -1, prepare: (b) => listMember(b, true), value: 'list', trueWhenMissing: false, description: 'the field is one of the listed values' },
  { name: 'notIn', evaluate: (a, b) => (b as unknown[]).indexOf(a) === -1, prepare: (b) => listMember(b, false), value: 'list', trueWhenMissing: true, description: 'the field is none of the listed values (also true when the field is missing)' },
  { name: 'contains', factCheck: isArray, evaluate: (a, b) => (a as unknown[]).indexOf(b) > -1, value: 'any', trueWhenMissing: false, description: 'the list field contains the value' },
  { name: 'doesNotContain', factCheck: isArray, evaluate: (a, b) => (a as unknown[]).indexOf(b) === -1, value: 'any', trueWhenMissing: false, description: 'the list field does not contain the value' },
  { name: 'lessThan', factCheck: numberCheck, evaluate: (a, b) => (a as number) < (b as number), value: 'number', trueWhenMissing: false, description: 'the field is less than the value' },
  { name: 'lessThanInclusive', factCheck: numberCheck, evaluate: (a, b) => (a as number) <= (b as number), value: 'number', trueWhenMissing: false, description: 'the field is at most the value' },
  { name: 'greaterThan', factCheck: numberCheck, evaluate: (a, b) => (a as number) > (b as number), value: 'number', trueWhenMissing: false, description: 'the field is greater than the value' },
  { name: 'greaterThanInclusive', factCheck: numberCheck, evaluate: (a, b) => (a as number) >= (b as number), value: 'number', trueWhenMissing: false, description: 'the field is at least the value' },
  ] satisfies Omit<OperatorDefinition, 'builtIn'>[]
).map((o) => ({ ...o, builtIn: true }));

const dateOp = (name: string, test: (a: string, b: string) => boolean, words: string): OperatorDefinition => ({
  name,
  factCheck: isIsoDate,
  evaluate: (a, b) => isIsoDate(b) && test(a as string, b),
  value: 'date',
  trueWhenMissing: false,
  description: `the date field is ${words} the value (false when either date is missing)`,
  builtIn: false,
});

const domain: OperatorDefinition[] = [
  {
    name: 'codeIn',
    factCheck: isString,
    evaluate: (a, b) => codeMatcherFor(b).matches(a as string),
    prepare: (b) => {
      const matcher = codeMatcherFor(b);
      return (a) => typeof a === 'string' && matcher.matches(a);
    },
    preparedChecks: true,
    value: 'codes',
    trueWhenMissing: false,
    description: 'the code is in the list; entries may be codes, ranges ("99202-99215") or prefixes ("E11*")',
    builtIn: false,
  },
  {
    name: 'codeNotIn',
    factCheck: isString,
    evaluate: (a, b) => !codeMatcherFor(b).matches(a as string),
    prepare: (b) => {
      const matcher = codeMatcherFor(b);
      return (a) => typeof a === 'string' && !matcher.matches(a);
    },
    preparedChecks: true,
    value: 'codes',
    trueWhenMissing: false,
    description: 'the code is present and not in the list',
    builtIn: false,
  },
  {
    name: 'hasModifier',
    factCheck: (v) => modifiersOf(v) !== undefined,
    evaluate: (a, b) => {
      const mods = modifiersOf(a)!;
      return asList(b).some((m) => mods.includes(String(m).toUpperCase()));
    },
    prepare: (b) => {
      const wanted = asList(b).map((m) => String(m).toUpperCase());
      return (a) => {
        const mods = modifiersOf(a);
        return mods !== undefined && wanted.some((m) => mods.includes(m));
      };
    },
    preparedChecks: true,
    value: 'modifiers',
    trueWhenMissing: false,
    description: 'the line carries the modifier (or any of the listed modifiers)',
    builtIn: false,
  },
  {
    name: 'lacksModifier',
    factCheck: (v) => modifiersOf(v) !== undefined,
    evaluate: (a, b) => {
      const mods = modifiersOf(a)!;
      return !asList(b).some((m) => mods.includes(String(m).toUpperCase()));
    },
    prepare: (b) => {
      const wanted = asList(b).map((m) => String(m).toUpperCase());
      return (a) => {
        const mods = modifiersOf(a);
        return mods !== undefined && !wanted.some((m) => mods.includes(m));
      };
    },
    preparedChecks: true,
    value: 'modifiers',
    trueWhenMissing: false,
    description: 'the line carries none of the listed modifiers',
    builtIn: false,
  },
  {
    name: 'containsAny',
    factCheck: isArray,
    evaluate: (a, b) => asList(b).some((x) => (a as unknown[]).includes(x)),
    value: 'list',
    trueWhenMissing: false,
    description: 'the list field contains at least one of the listed values',
    builtIn: false,
  },
  {
    name: 'containsAll',
    factCheck: isArray,
    evaluate: (a, b) => asList(b).every((x) => (a as unknown[]).includes(x)),
    value: 'list',
    trueWhenMissing: false,
    description: 'the list field contains every listed value',
    builtIn: false,
  },
  {
    name: 'containsNone',
    factCheck: isArray,
    evaluate: (a, b) => !asList(b).some((x) => (a as unknown[]).includes(x)),
    value: 'list',
    trueWhenMissing: false,
    description: 'the list field contains none of the listed values',
    builtIn: false,
  },
  {
    name: 'hasDuplicates',
    factCheck: isArray,
    evaluate: (a, b) => new Set(a as unknown[]).size !== (a as unknown[]).length === Boolean(b),
    value: 'boolean',
    trueWhenMissing: false,
    description: 'with value true: the list field repeats an entry; with false: every entry is different',
    builtIn: false,
  },
  {
    name: 'matches',
    factCheck: isString,
    evaluate: (a, b) => regexFor(b)?.test(a as string) ?? false,
    prepare: (b) => {
      const regex = regexFor(b);
      return (a) => regex?.test(a as string) ?? false;
    },
    value: 'regex',
    trueWhenMissing: false,
    description: 'the text field matches the regular expression (RE2 syntax: no lookaround or backreferences; the first 1000 characters are read)',
    builtIn: false,
  },
  {
    name: 'notMatches',
    factCheck: isString,
    evaluate: (a, b) => !(regexFor(b)?.test(a as string) ?? true),
    prepare: (b) => {
      const regex = regexFor(b);
      return (a) => !(regex?.test(a as string) ?? true);
    },
    value: 'regex',
    trueWhenMissing: false,
    description: 'the text field is present and does not match the regular expression',
    builtIn: false,
  },
  {
    name: 'isValidNpi',
    factCheck: (v) => v !== undefined && v !== null,
    evaluate: (a, b) => isValidNpi(a) === Boolean(b),
    value: 'boolean',
    trueWhenMissing: false,
    description: 'with value false: the NPI is present but not 10 digits with a valid check digit',
    builtIn: false,
  },
  {
    name: 'exists',
    evaluate: (a, b) => (a !== undefined && a !== null && a !== '') === Boolean(b),
    value: 'boolean',
    trueWhenMissing: false,
    description: 'with value true: the field is filled in; with false: it is missing, null or empty',
    builtIn: false,
  },
  dateOp('dateBefore', (a, b) => a < b, 'before'),
  dateOp('dateOnOrBefore', (a, b) => a <= b, 'on or before'),
  dateOp('dateAfter', (a, b) => a > b, 'after'),
  dateOp('dateOnOrAfter', (a, b) => a >= b, 'on or after'),
];

export const OPERATORS: ReadonlyMap<string, OperatorDefinition> = new Map(
  [...builtIns, ...domain].map((o) => [o.name, o]),
);

export const DECORATORS = ['not', 'someFact', 'everyFact', 'someValue', 'everyValue', 'swap'] as const;
export type Decorator = (typeof DECORATORS)[number];

export interface ParsedOperator {
  decorators: Decorator[];
  base: OperatorDefinition;
}

/** A comparison as json-rules-engine calls it: (fact value, condition value) -> result. */
export type BinaryOperator = (factValue: unknown, value: unknown) => unknown;

/**
 * json-rules-engine's decorators (dist/engine-default-operator-decorators.js), restated for the
 * compiled evaluator. A decorated operator checks its own fact validator (an array, for
 * someFact/everyFact; nothing, for the others) and then calls the operator it wraps, whose own
 * validator still applies: "not:lessThan" on text is true because lessThan's number check fails.
 * someValue/everyValue call the value's own .some/.every, so a value that is not a list throws,
 * exactly as in json-rules-engine.
 */
export const DECORATOR_SEMANTICS: Readonly<Record<Decorator, (next: BinaryOperator) => BinaryOperator>> = {
  someFact: (next) => (a, b) => isArray(a) && a.some((fv) => next(fv, b)),
  everyFact: (next) => (a, b) => isArray(a) && a.every((fv) => next(fv, b)),
  someValue: (next) => (a, b) => (b as unknown[]).some((jv) => next(a, jv)),
  everyValue: (next) => (a, b) => (b as unknown[]).every((jv) => next(a, jv)),
  swap: (next) => (a, b) => next(b, a),
  not: (next) => (a, b) => !next(a, b),
};

/** json-rules-engine's Operator.evaluate: the fact validator, then the comparison. */
export function baseOperator(op: OperatorDefinition): BinaryOperator {
  const check = op.factCheck;
  const evaluate = op.evaluate;
  return check ? (a, b) => check(a) && evaluate(a, b) : evaluate;
}

/**
 * The whole operator, decorators applied as json-rules-engine's OperatorMap.get applies them:
 * the rightmost decorator wraps the base operator, the leftmost is outermost
 * ("not:someFact:codeIn" is not(someFact(codeIn))).
 */
export function operatorFunction(parsed: ParsedOperator): BinaryOperator {
  let op = baseOperator(parsed.base);
  for (let i = parsed.decorators.length - 1; i >= 0; i--) op = DECORATOR_SEMANTICS[parsed.decorators[i]!](op);
  return op;
}

/**
 * operatorFunction of an operator by its text, built once and shared: every rule that uses
 * "codeIn" calls the same function, which stays warm however many rules there are.
 */
export function sharedOperator(name: string, parsed: ParsedOperator): BinaryOperator {
  let op = sharedOperators.get(name);
  if (!op) sharedOperators.set(name, (op = operatorFunction(parsed)));
  return op;
}

const sharedOperators = new Map<string, BinaryOperator>();

/**
 * The operator with its condition value fixed, when the decorators leave that value alone
 * (not, someFact, everyFact); undefined when they move it (swap, someValue, everyValue).
 * Agrees with operatorFunction(parsed)(a, value) for every a.
 */
export function preparedOperator(parsed: ParsedOperator): ((value: unknown) => (factValue: unknown) => unknown) | undefined {
  if (parsed.decorators.some((d) => d === 'swap' || d === 'someValue' || d === 'everyValue')) return undefined;
  const { base } = parsed;
  const check = base.preparedChecks ? undefined : base.factCheck;
  const evaluate = base.evaluate;
  // Without a prepare of its own, the check and the comparison make one function, not two.
  const prepare: (b: unknown) => (a: unknown) => unknown =
    base.prepare ?? (check ? (b) => (a) => check(a) && evaluate(a, b) : (b) => (a) => evaluate(a, b));
  const wrap = base.prepare !== undefined && check !== undefined;
  return (value) => {
    let test: (a: unknown) => unknown = prepare(value);
    if (wrap) {
      const compare = test;
      test = (a) => check!(a) && compare(a);
    }
    for (let i = parsed.decorators.length - 1; i >= 0; i--) {
      const inner = test;
      switch (parsed.decorators[i]) {
        case 'not':
          test = (a) => !inner(a);
          break;
        case 'someFact':
          test = (a) => isArray(a) && a.some((fv) => inner(fv));
          break;
        case 'everyFact':
          test = (a) => isArray(a) && a.every((fv) => inner(fv));
          break;
      }
    }
    return test;
  };
}

/**
 * Whether evaluating the condition can throw. json-rules-engine evaluates every condition of a
 * rule (and every rule of a run), so a throwing one fails the whole run even when another
 * condition already decided; the compiled evaluator must then evaluate in full too. Two things
 * throw: someValue/everyValue on a value without .some/.every, and in/notIn on a value without
 * .indexOf. A literal list is safe; a fact reference or a moved value is not.
 */
export function mayThrow(parsed: ParsedOperator, valueIsLiteralList: boolean): boolean {
  const moves = parsed.decorators.some((d) => d === 'swap' || d === 'someValue' || d === 'everyValue');
  const overValues = parsed.decorators.some((d) => d === 'someValue' || d === 'everyValue');
  const indexOf = parsed.base.name === 'in' || parsed.base.name === 'notIn';
  if (indexOf) return moves || !valueIsLiteralList;
  if (overValues) return !valueIsLiteralList || parsed.decorators.includes('swap');
  return false;
}

/** Splits "someFact:codeIn" into decorators and the base operator; undefined if unknown. */
export function parseOperator(name: string): ParsedOperator | undefined {
  const parts = name.split(':');
  const baseName = parts.pop()!;
  const base = OPERATORS.get(baseName);
  if (!base) return undefined;
  for (const d of parts) if (!(DECORATORS as readonly string[]).includes(d)) return undefined;
  return { decorators: parts as Decorator[], base };
}
