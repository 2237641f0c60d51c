import { isIsoDate } from '../claim/dates.js';
import { compileCodeList, type CodeMatcher } from '../claim/codes.js';
import { isValidNpi } from '../claim/npi.js';

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
export function codeMatcherFor(list: unknown): CodeMatcher {
  const entries = isArray(list) ? list : [list];
  const key = entries.join('|');
  let m = codeMatchers.get(key);
  if (!m) {
    m = compileCodeList(entries);
    if (codeMatchers.size > 5_000) codeMatchers.clear();
    codeMatchers.set(key, m);
  }
  return m;
}

const regexes = new Map<string, RegExp | null>();
export function regexFor(pattern: unknown): RegExp | null {
  if (typeof pattern !== 'string') return null;
  let r = regexes.get(pattern);
  if (r === undefined) {
    try {
      r = new RegExp(pattern, 'u');
    } catch {
      r = null;
    }
    if (regexes.size > 5_000) regexes.clear();
    regexes.set(pattern, r);
  }
  return r;
}

function asList(value: unknown): unknown[] {
  return isArray(value) ? value : [value];
}

function modifiersOf(line: unknown): string[] | undefined {
  if (line === null || typeof line !== 'object') return undefined;
  const mods = (line as { modifiers?: unknown }).modifiers;
  return isArray(mods) ? (mods as string[]) : [];
}

const builtIns: OperatorDefinition[] = (
  [
  { name: 'equal', evaluate: (a, b) => a === b, value: 'any', trueWhenMissing: false, description: 'the field equals the value' },
  { name: 'notEqual', evaluate: (a, b) => a !== b, value: 'any', trueWhenMissing: true, description: 'the field does not equal the value (also true when the field is missing)' },
  { name: 'in', evaluate: (a, b) => (b as unknown[]).indexOf(a) > -1, value: 'list', trueWhenMissing: false, description: 'the field is one of the listed values' },
  { name: 'notIn', evaluate: (a, b) => (b as unknown[]).indexOf(a) === -1, value: 'list', trueWhenMissing: true, description: 'the field is none of the listed values (also true when the field is missing)' },
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
    value: 'codes',
    trueWhenMissing: false,
    description: 'the code is in the list; entries may be codes, ranges ("99202-99215") or prefixes ("E11*")',
    builtIn: false,
  },
  {
    name: 'codeNotIn',
    factCheck: isString,
    evaluate: (a, b) => !codeMatcherFor(b).matches(a as string),
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
    value: 'regex',
    trueWhenMissing: false,
    description: 'the text field matches the regular expression',
    builtIn: false,
  },
  {
    name: 'notMatches',
    factCheck: isString,
    evaluate: (a, b) => !(regexFor(b)?.test(a as string) ?? true),
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

/** Splits "someFact:codeIn" into decorators and the base operator; undefined if unknown. */
export function parseOperator(name: string): ParsedOperator | undefined {
  const parts = name.split(':');
  const baseName = parts.pop()!;
  const base = OPERATORS.get(baseName);
  if (!base) return undefined;
  for (const d of parts) if (!(DECORATORS as readonly string[]).includes(d)) return undefined;
  return { decorators: parts as Decorator[], base };
}
