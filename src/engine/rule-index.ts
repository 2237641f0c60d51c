import { normalizeCode } from '../claim/codes.js';
import type { ConditionNode } from '../packs/model.js';
import { STANDARD_FACTS, type FactCatalog } from './facts.js';
import { parseOperator } from './operators.js';
import { pathTokens, resolveTokens } from './path.js';
import type { ScopeItem } from './scopes.js';

/**
 * Which rules of a group can fire on a scope item, decided from what triggers them, so that a
 * claim pays only for the rules it can trigger. Derived at load time from the conditions:
 *
 * - a rule whose conditions require `line.procedureCode codeIn [...]` (or `equal`, `in`; any
 *   text field of the item: a diagnosis code, a code-date group's code, a pair's first or
 *   second line) can fire only on items whose code matches one of those entries;
 * - a rule that requires `hasModifier X` (or `contains`/`containsAny`/`containsAll` on a
 *   list field) can fire only on items whose list holds one of those values.
 *
 * "Require" means: the condition sits in the rule's `all` (nested `all`s included), or every
 * branch of an `any` requires something of the same field. Anything else, and every rule whose
 * evaluation could throw, is always evaluated. The index is a superset filter: it may keep a
 * rule that then does not fire, never drop one that would (the differential test compares
 * indexed and unindexed results).
 */

/** A field of a scope item's own fact ("line", "first", "diagnosis", "group", ...). */
interface Field {
  fact: string;
  path: string;
  tokens: readonly string[];
  /** code: a text value matched by code entry; member: a list value matched by its elements. */
  kind: 'code' | 'member';
}

/** What a rule needs for it to fire: `field` holds one of `exact`, or starts with one of `prefixes`. */
interface Trigger {
  field: Field;
  exact: unknown[];
  prefixes: string[];
}

/** Facts whose value is the scope item's own (item.values[name]), and so readable before any FactSource. */
const ITEM_FACTS = new Map(
  STANDARD_FACTS.filter((f) => ['line', 'first', 'second', 'diagnosis', 'group'].includes(f.name)).map((f) => [f.name, f]),
);

function fieldKey(f: Field): string {
  return `${f.kind}\u0000${f.fact}\u0000${f.path}`;
}

/**
 * The index key of a code-list entry: its normalised text, or for a prefix ("E11*") and a
 * range ("99202-99215") the text every matching code starts with. Undefined when a range's
 * ends share no first character: such an entry could match almost anything.
 */
function codeEntryKey(entry: unknown): { exact?: string; prefix?: string } | undefined {
  const text = String(entry).trim();
  if (text.endsWith('*')) return { prefix: normalizeCode(text.slice(0, -1)) };
  const parts = text.split('-');
  if (parts.length === 2) {
    const low = normalizeCode(parts[0]!.trim());
    const high = normalizeCode(parts[1]!.trim());
    let n = 0;
    while (n < low.length && low[n] === high[n]) n++;
    return n === 0 ? undefined : { prefix: low.slice(0, n) };
  }
  return { exact: normalizeCode(text) };
}

class TriggerFinder {
  constructor(
    private readonly catalog: FactCatalog,
    private readonly scopeFacts: ReadonlySet<string>,
  ) {}

  /** The trigger one condition (leaf) imposes, if it imposes one we can index. */
  private leaf(node: { fact: string; path?: string; operator: string; value: unknown; params?: unknown }): Trigger | undefined {
    if (node.params !== undefined || !this.scopeFacts.has(node.fact)) return undefined;
    // Only the standard definition is known to read item.values; a replaced fact is not indexed.
    if (this.catalog.get(node.fact) !== ITEM_FACTS.get(node.fact)) return undefined;
    const parsed = parseOperator(node.operator);
    if (!parsed || parsed.decorators.length > 0) return undefined;
    const value = node.value;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return undefined; // a fact reference
    const path = node.path ?? '';
    const field = (kind: Field['kind'], p: string): Field => ({ fact: node.fact, path: p, tokens: p === '' ? [] : pathTokens(p), kind });
    switch (parsed.base.name) {
      case 'codeIn': {
        if (!Array.isArray(value) || path === '') return undefined;
        const t: Trigger = { field: field('code', path), exact: [], prefixes: [] };
        for (const entry of value) {
          const key = codeEntryKey(entry);
          if (!key) return undefined;
          if (key.exact !== undefined) t.exact.push(key.exact);
          else t.prefixes.push(key.prefix!);
        }
        return t;
      }
      case 'equal':
        if (typeof value !== 'string' || path === '') return undefined;
        return { field: field('code', path), exact: [normalizeCode(value)], prefixes: [] };
      case 'in':
        if (!Array.isArray(value) || path === '' || !value.every((v) => typeof v === 'string')) return undefined;
        return { field: field('code', path), exact: value.map((v) => normalizeCode(v as string)), prefixes: [] };
      case 'hasModifier': {
        if (path !== '') return undefined;
        const list = Array.isArray(value) ? value : [value];
        return { field: field('member', 'modifiers'), exact: list.map((m) => String(m).toUpperCase()), prefixes: [] };
      }
      case 'contains':
        if (path === '' || (typeof value !== 'string' && typeof value !== 'number')) return undefined;
        return { field: field('member', path), exact: [value], prefixes: [] };
      case 'containsAny':
      case 'containsAll': {
        const list = Array.isArray(value) ? value : [value];
        if (path === '' || list.length === 0 || !list.every((v) => typeof v === 'string' || typeof v === 'number')) return undefined;
        return { field: field('member', path), exact: list, prefixes: [] };
      }
      default:
        return undefined;
    }
  }

  /** The best trigger a condition tree imposes: code fields first, then the fewest keys. */
  find(node: ConditionNode): Trigger | undefined {
    if ('all' in node) {
      let best: Trigger | undefined;
      for (const child of node.all) {
        const t = this.find(child);
        if (t && (!best || better(t, best))) best = t;
      }
      return best;
    }
    if ('any' in node) {
      // Every branch must require something of the same field; the union of their keys.
      let union: Trigger | undefined;
      for (const child of node.any) {
        const t = this.find(child);
        if (!t || (union && fieldKey(union.field) !== fieldKey(t.field))) return undefined;
        union = union ? { field: union.field, exact: [...union.exact, ...t.exact], prefixes: [...union.prefixes, ...t.prefixes] } : t;
      }
      return union;
    }
    if ('not' in node) return undefined;
    return this.leaf(node);
  }
}

function better(a: Trigger, b: Trigger): boolean {
  if (a.field.kind !== b.field.kind) return a.field.kind === 'code';
  return a.exact.length + a.prefixes.length < b.exact.length + b.prefixes.length;
}

interface FieldIndex {
  field: Field;
  exact: Map<unknown, number[]>;
  prefixes: Map<string, number[]>;
  /** Lengths of the prefixes present, longest first, so a lookup tries only those. */
  prefixLengths: number[];
}

function push(map: Map<unknown, number[]>, key: unknown, position: number): void {
  const list = map.get(key);
  if (!list) map.set(key, [position]);
  else if (list[list.length - 1] !== position) list.push(position);
}

export interface IndexableRule {
  conditions: ConditionNode;
  /** False when evaluating the rule can throw: it is then always evaluated. */
  total: boolean;
}

export class RuleIndex {
  /** Positions (in group order) of the rules evaluated on every item. */
  private readonly always: number[] = [];
  private readonly fields: FieldIndex[] = [];
  /** Per-position marks for merging candidate lists without a Set. */
  private readonly marks: Int32Array;
  private generation = 0;
  readonly indexedCount: number;

  constructor(rules: readonly IndexableRule[], scopeFacts: readonly string[], catalog: FactCatalog) {
    const finder = new TriggerFinder(catalog, new Set(scopeFacts.filter((f) => ITEM_FACTS.has(f))));
    const byField = new Map<string, FieldIndex>();
    rules.forEach((rule, position) => {
      const trigger = rule.total ? finder.find(rule.conditions) : undefined;
      if (!trigger) {
        this.always.push(position);
        return;
      }
      const key = fieldKey(trigger.field);
      let fi = byField.get(key);
      if (!fi) {
        fi = { field: trigger.field, exact: new Map(), prefixes: new Map(), prefixLengths: [] };
        byField.set(key, fi);
        this.fields.push(fi);
      }
      for (const k of trigger.exact) push(fi.exact, k, position);
      for (const p of trigger.prefixes) {
        push(fi.prefixes as Map<unknown, number[]>, p, position);
        if (!fi.prefixLengths.includes(p.length)) fi.prefixLengths.push(p.length);
      }
    });
    for (const fi of this.fields) fi.prefixLengths.sort((a, b) => b - a);
    this.indexedCount = rules.length - this.always.length;
    this.marks = new Int32Array(rules.length);
  }

  /** Positions of the rules that can fire on the item, ascending (group order). */
  candidates(item: ScopeItem): readonly number[] {
    if (this.fields.length === 0) return this.always;
    let found: number[][] | undefined;
    const collect = (list: number[] | undefined) => {
      if (list) (found ??= []).push(list);
    };
    for (const fi of this.fields) {
      const value = resolveTokens(item.values[fi.field.fact], fi.field.tokens);
      if (fi.field.kind === 'code') {
        if (typeof value !== 'string') continue; // codeIn, equal and in need text to match
        const code = normalizeCode(value);
        collect(fi.exact.get(code));
        for (const n of fi.prefixLengths) if (n <= code.length) collect(fi.prefixes.get(code.slice(0, n)));
      } else {
        if (!Array.isArray(value)) continue;
        for (const element of value) collect(fi.exact.get(element));
      }
    }
    if (!found) return this.always;
    if (found.length === 1 && this.always.length === 0) return found[0]!;
    if (this.generation === 0x7fffffff) {
      this.marks.fill(0);
      this.generation = 0;
    }
    const generation = ++this.generation;
    const out: number[] = [];
    for (const list of [this.always, ...found]) {
      for (const p of list) {
        if (this.marks[p] !== generation) {
          this.marks[p] = generation;
          out.push(p);
        }
      }
    }
    return out.sort((a, b) => a - b);
  }
}
