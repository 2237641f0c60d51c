import { parseOperator } from '../engine/operators.js';
import type { ConditionLeaf, ConditionNode, Pack } from '../packs/model.js';

/** Rule conditions in words, for the generated docs: "the line has modifier LT". */

const PHRASES: Record<string, (value: string, raw: unknown) => string> = {
  equal: (v) => `is ${v}`,
  notEqual: (v) => `is not ${v}`,
  in: (v) => `is one of ${v}`,
  notIn: (v) => `is none of ${v}`,
  contains: (v) => `contains ${v}`,
  doesNotContain: (v) => `does not contain ${v}`,
  lessThan: (v) => `is less than ${v}`,
  lessThanInclusive: (v) => `is at most ${v}`,
  greaterThan: (v) => `is more than ${v}`,
  greaterThanInclusive: (v) => `is at least ${v}`,
  codeIn: (v) => `is a code in ${v}`,
  codeNotIn: (v) => `is a code not in ${v}`,
  hasModifier: (v) => `has modifier ${v}`,
  lacksModifier: (v) => `has none of the modifiers ${v}`,
  containsAny: (v) => `contains any of ${v}`,
  containsAll: (v) => `contains all of ${v}`,
  containsNone: (v) => `contains none of ${v}`,
  hasDuplicates: (_v, raw) => (raw ? 'repeats an entry' : 'has no repeated entry'),
  matches: (v) => `matches the pattern ${v}`,
  notMatches: (v) => `does not match the pattern ${v}`,
  isValidNpi: (_v, raw) => (raw ? 'is a valid NPI' : 'is not a valid NPI (10 digits with a Luhn check digit)'),
  exists: (_v, raw) => (raw ? 'is filled in' : 'is missing'),
  dateBefore: (v) => `is before ${v}`,
  dateOnOrBefore: (v) => `is on or before ${v}`,
  dateAfter: (v) => `is after ${v}`,
  dateOnOrAfter: (v) => `is on or after ${v}`,
};

const DECORATOR_PHRASES: Record<string, string> = {
  someFact: 'some entry of',
  everyFact: 'every entry of',
};

function showList(list: unknown[], max = 12): string {
  const shown = list.slice(0, max).map((x) => `\`${String(x)}\``).join(', ');
  return list.length > max ? `${shown} and ${list.length - max} more` : shown;
}

function showValue(value: unknown, pack: Pack): string {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && 'fact' in value) {
    const ref = value as { fact: string; path?: string };
    const name = `${ref.fact}${ref.path ? '.' + ref.path : ''}`;
    if (ref.fact === 'params' && ref.path) {
      const p = pack.parameters[ref.path];
      if (p && Array.isArray(p.value)) return `the parameter \`${ref.path}\` (${showList(p.value)})`;
      if (p) return `the parameter \`${ref.path}\` (${p.value === null ? 'unset unless a payer pack sets it' : `\`${String(p.value)}\``})`;
    }
    return `\`${name}\``;
  }
  if (Array.isArray(value)) return showList(value);
  return `\`${String(value)}\``;
}

/** One condition in words: "`line.modifiers` has modifier `LT`" (Markdown code spans). */
export function describeLeaf(node: ConditionLeaf, pack: Pack): string {
  const parsed = parseOperator(node.operator);
  const subject = `\`${node.fact}${node.path ? '.' + node.path : ''}\``;
  if (!parsed) return `${subject} ${node.operator} ${showValue(node.value, pack)}`;
  let phrase = (PHRASES[parsed.base.name] ?? ((v: string) => `${parsed.base.name} ${v}`))(showValue(node.value, pack), node.value);
  let prefix = '';
  for (const d of parsed.decorators) {
    if (d === 'not') phrase = `does not satisfy: ${phrase}`;
    else if (DECORATOR_PHRASES[d]) prefix = `${DECORATOR_PHRASES[d]} `;
    else phrase = `${d}: ${phrase}`;
  }
  return `${prefix}${subject} ${phrase}`;
}

/** A rule's conditions with each one in words, in the shape of the conditions themselves. */
export type DescribedCondition =
  | { all: DescribedCondition[] }
  | { any: DescribedCondition[] }
  | { not: DescribedCondition }
  | { text: string; fact: string; path?: string; operator: string };

export function describeTree(node: ConditionNode, pack: Pack): DescribedCondition {
  if ('all' in node) return { all: node.all.map((c) => describeTree(c, pack)) };
  if ('any' in node) return { any: node.any.map((c) => describeTree(c, pack)) };
  if ('not' in node) return { not: describeTree(node.not, pack) };
  return { text: describeLeaf(node, pack), fact: node.fact, ...(node.path ? { path: node.path } : {}), operator: node.operator };
}

/** The conditions as a Markdown list, one line per condition and group. */
export function describeCondition(node: ConditionNode, pack: Pack, depth = 0): string[] {
  const pad = '  '.repeat(depth);
  if ('all' in node) return [`${pad}- all of:`, ...node.all.flatMap((c) => describeCondition(c, pack, depth + 1))];
  if ('any' in node) return [`${pad}- any of:`, ...node.any.flatMap((c) => describeCondition(c, pack, depth + 1))];
  if ('not' in node) return [`${pad}- not:`, ...describeCondition(node.not, pack, depth + 1)];
  return [`${pad}- ${describeLeaf(node, pack)}`];
}
