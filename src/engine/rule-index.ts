import { normalizeCode } from '../claim/codes.js';
import type { ConditionNode } from '../packs/model.js';
import type { LineView } from '../claim/view.js';
import { STANDARD_FACTS, type FactCatalog, type FactSource, type PairKey } from './facts.js';
import { mayThrow, parseOperator, sharedOperator } from './operators.js';
import { compilePath } from './path.js';
import type { ScopeItem, ScopeKey } from './scopes.js';

/**
 * Which rules of a group can fire on a scope item, decided from what triggers them, so that a
 * claim pays only for the rules it can trigger. Derived at load time from the conditions:
 *
 * - a rule whose conditions require `line.procedureCode codeIn [...]` (or `equal`, `in`; any
 *   text field of the item: a diagnosis code, a code-date group's code, a pair's first or
 *   second line) can fire only on items whose code matches one of those entries, and one that
 *   requires `line.sameDayCodes someFact:codeIn [...]` only on items whose list holds a match;
 * - a rule that requires `hasModifier X` (or `contains`/`containsAny`/`containsAll` on a
 *   list field) can fire only on items whose list holds one of those values;
 * - a rule that requires a yes/no or number field to `equal` a value (`pair.sameProcedureCode
 *   equal true`) can fire only on items where the field holds that value;
 * - a rule that requires a field to be filled in (`line.ndc exists true`) can fire only on
 *   items where it is;
 * - in the claim scope, the claim's own fields count the same way (`claim.payer.type in [...]`);
 * - a rule that requires a number to pass a threshold (`filingLagDays greaterThanInclusive 30`,
 *   `group.units greaterThan 4`) can fire only on items whose number passes it: the item's own
 *   fields, and the other facts of the scope (patientAge, filingLagDays, a table's numbers),
 *   read through the FactSource the rules then use;
 * - a rule that requires another fact of the scope (a table's: `hcpcs.status equal not-found`,
 *   `mue.found equal true`, `pos.status in [...]`, `exists true`) to hold a value can fire only
 *   on items where that fact, read through the same FactSource, holds it. A fact that throws
 *   keeps every rule it keys: they then report the error as they would without the index.
 *
 * "Require" means: the condition sits in the rule's `all` (nested `all`s included), or every
 * branch of an `any` requires something of the same field. Of several such conditions, the
 * index keys the rule by the most telling (see `better`). Anything else, and every rule whose
 * evaluation could throw, is always evaluated. The index is a superset filter: it may keep a
 * rule that then does not fire, never drop one that would (the differential test compares
 * indexed and unindexed results).
 */

/** A field of a scope item's own fact ("line", "first", "diagnosis", "group", ...), or of a standard fact. */
interface Field {
  fact: string;
  path: string;
  resolve: (value: unknown) => unknown;
  /**
   * code: a text value matched by code entry; codes: a list of such values, any of which may
   * match (someFact:codeIn); member: a list value matched by its elements; value: a yes/no or
   * number value matched exactly; range: a number against thresholds; present: any value
   * that is filled in (not missing, null or empty), as `exists true` asks; same: a condition
   * on a pair of lines that can hold only when the two lines have the same key (`pairKey`).
   */
  kind: 'code' | 'codes' | 'member' | 'value' | 'range' | 'present' | 'same';
  /** The fact's catalog slot when it is not the item's own, and so is read through a FactSource. */
  slot?: number;
  /** For `same`: a line's key as the pair's first or second line (FactDefinition.pairKeys). */
  pairKey?: PairKey;
}

/**
 * What a rule needs for it to fire: `field` holds one of `exact`, starts with one of
 * `prefixes`, or passes one of `thresholds`.
 */
interface Trigger {
  field: Field;
  exact: unknown[];
  prefixes: string[];
  thresholds: Array<{ operator: string; value: number }>;
}

function keyed(field: Field, exact: unknown[]): Trigger {
  return { field, exact, prefixes: [], thresholds: [] };
}

/** Adds a rule's position to a list built in rule order, once however many keys name it. */
function appendPosition(list: number[], position: number): void {
  if (list[list.length - 1] !== position) list.push(position);
}

const THRESHOLD_OPERATORS: ReadonlySet<string> = new Set(['greaterThan', 'greaterThanInclusive', 'lessThan', 'lessThanInclusive']);

/** Facts whose value is the scope item's own (item.values[name]), and so readable before any FactSource. */
const ITEM_FACTS: ReadonlySet<string> = new Set(['line', 'first', 'second', 'pair', 'diagnosis', 'group']);

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

/** A requirement no item can meet: the rule cannot fire under these parameters. */
const NEVER = 'never' as const;
type Requirement = Trigger | typeof NEVER | undefined;

interface Leaf {
  fact: string;
  path?: string;
  operator: string;
  value: unknown;
  params?: unknown;
}

class TriggerFinder {
  constructor(
    private readonly catalog: FactCatalog,
    private readonly scopeFacts: ReadonlySet<string>,
    /** The pack's parameter values, when known: `params` then reads as a constant. */
    private readonly params: Readonly<Record<string, unknown>> | undefined,
    /** The other facts of the scope, which only a threshold can key (read by slot). */
    private readonly otherFacts: ReadonlySet<string> = new Set(),
    /** Whether the items are pairs of this claim's lines, which a fact's pairKeys can key. */
    private readonly linePairs = false,
  ) {}

  /** Whether the standard definition of a fact (not one a pack set replaced) is in use. */
  private standard(fact: string): boolean {
    const def = this.catalog.get(fact);
    return def !== undefined && def === STANDARD_FACTS.find((f) => f.name === fact);
  }

  /**
   * The value of `{fact: params, path}` under the known parameters, as json-rules-engine's
   * Almanac would read it; `unknown` when it is not such a reference or the parameters are not known.
   */
  private constant(fact: string, path: string | undefined, factParams: unknown): { value: unknown } | undefined {
    if (fact !== 'params' || this.params === undefined || factParams !== undefined || !this.standard('params')) return undefined;
    return { value: path ? compilePath(path)(this.params) : this.params };
  }

  /** The condition's value: a literal, or a parameter reference resolved; undefined for other references. */
  private valueOf(value: unknown): { value: unknown } | undefined {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return { value };
    if (!Object.prototype.hasOwnProperty.call(value, 'fact')) return { value };
    const ref = value as { fact: string; path?: string; params?: unknown };
    return this.constant(ref.fact, ref.path, ref.params);
  }

  /** What one condition (leaf) requires, if it is something we can index or decide now. */
  private leaf(node: Leaf): Requirement {
    const parsed = parseOperator(node.operator);
    if (!parsed) return undefined;
    const resolved = this.valueOf(node.value);
    if (!resolved) return undefined;
    const value = resolved.value;
    // A condition on parameters alone has the same result for every item: decide it here.
    const fixed = this.constant(node.fact, node.path, node.params);
    if (fixed) {
      if (mayThrow(parsed, Array.isArray(value))) return undefined;
      return sharedOperator(node.operator, parsed)(fixed.value, value) === false ? NEVER : undefined;
    }
    // A pair fact that says on which pairs `path equal value` can hold (same date, both codes in the table).
    const pairKey = this.linePairs && node.params === undefined && node.operator === 'equal' ? this.catalog.get(node.fact)?.pairKeys?.[node.path ?? ''] : undefined;
    if (pairKey && pairKey.value === value) {
      const path = node.path ?? '';
      return keyed({ fact: node.fact, path, resolve: compilePath(path), kind: 'same', pairKey: pairKey.key }, []);
    }
    if (node.params !== undefined) return undefined;
    const path = node.path ?? '';
    const field = (kind: Field['kind'], p: string, slot?: number): Field => ({ fact: node.fact, path: p, resolve: compilePath(p), kind, ...(slot === undefined ? {} : { slot }) });
    const threshold = (f: Field): Trigger => ({ ...keyed(f, []), thresholds: [{ operator: node.operator, value: value as number }] });
    const isThreshold = THRESHOLD_OPERATORS.has(parsed.base.name) && typeof value === 'number' && !Number.isNaN(value);
    if (!this.scopeFacts.has(node.fact)) {
      // Another fact of the scope (a table's, patientAge, ...): read by slot through the FactSource
      // the rules then read, so its definition, standard or a pack's, is the rules' own.
      const slot = this.catalog.slotOf(node.fact);
      if (parsed.decorators.length > 0 || !this.otherFacts.has(node.fact) || slot === undefined) return undefined;
      if (isThreshold) return threshold(field('range', path, slot));
      // Pair groups are keyed by their lines and pair keys (pairsOf); a fact read per pair would undo that.
      return this.linePairs ? undefined : readValueTrigger(parsed.base.name, value, field('value', path, slot), field('present', path, slot));
    }
    if (!this.standard(node.fact)) return undefined;
    // someFact:codeIn on a list of codes (`line.sameDayCodes`): only an element can trigger it.
    const anyOfList = parsed.decorators.length === 1 && parsed.decorators[0] === 'someFact' && parsed.base.name === 'codeIn';
    if (parsed.decorators.length > 0 && !anyOfList) return undefined;
    if (isThreshold) return path === '' ? undefined : threshold(field('range', path));
    switch (parsed.base.name) {
      case 'codeIn': {
        if (!Array.isArray(value) || path === '') return undefined;
        const t: Trigger = keyed(field(anyOfList ? 'codes' : 'code', path), []);
        for (const entry of value) {
          const key = codeEntryKey(entry);
          if (!key) return undefined;
          if (key.exact !== undefined) t.exact.push(key.exact);
          else t.prefixes.push(key.prefix!);
        }
        return t;
      }
      case 'equal':
        if (path === '') return undefined;
        if (typeof value === 'string') return keyed(field('code', path), [normalizeCode(value)]);
        // === and a Map key agree for these, NaN aside, which YAML cannot write.
        if (typeof value === 'boolean' || (typeof value === 'number' && !Number.isNaN(value))) {
          return keyed(field('value', path), [value]);
        }
        return undefined;
      case 'in':
        if (!Array.isArray(value) || path === '' || !value.every((v) => typeof v === 'string')) return undefined;
        return keyed(field('code', path), value.map((v) => normalizeCode(v as string)));
      case 'hasModifier': {
        if (path !== '') return undefined;
        const list = Array.isArray(value) ? value : [value];
        return keyed(field('member', 'modifiers'), list.map((m) => String(m).toUpperCase()));
      }
      case 'exists':
        // Only "filled in" singles items out; "missing" holds for most of them.
        return path === '' || value !== true ? undefined : keyed(field('present', path), []);
      case 'contains':
        if (path === '' || (typeof value !== 'string' && typeof value !== 'number')) return undefined;
        return keyed(field('member', path), [value]);
      case 'containsAny':
      case 'containsAll': {
        const list = Array.isArray(value) ? value : [value];
        if (path === '' || !list.every((v) => typeof v === 'string' || typeof v === 'number')) return undefined;
        // containsAll of nothing holds for every list; containsAny of nothing for none.
        if (list.length === 0) return parsed.base.name === 'containsAny' ? keyed(field('member', path), []) : undefined;
        // A list holding all of them holds the first: one key is enough, and far fewer items have it.
        return keyed(field('member', path), parsed.base.name === 'containsAll' ? [list[0]] : list);
      }
      default:
        return undefined;
    }
  }

  /** What a condition tree requires: the best trigger (code fields first, then fewest keys), or NEVER. */
  find(node: ConditionNode): Requirement {
    if ('all' in node) {
      let best: Trigger | undefined;
      for (const child of node.all) {
        const t = this.find(child);
        if (t === NEVER) return NEVER;
        if (t && (!best || better(t, best))) best = t;
      }
      return best;
    }
    if ('any' in node) {
      // Every branch that can hold must require something of the same field; the union of their keys.
      let union: Trigger | undefined;
      for (const child of node.any) {
        const t = this.find(child);
        if (t === NEVER) continue;
        if (!t || (union && fieldKey(union.field) !== fieldKey(t.field))) return undefined;
        union = union
          ? { field: union.field, exact: [...union.exact, ...t.exact], prefixes: [...union.prefixes, ...t.prefixes], thresholds: [...union.thresholds, ...t.thresholds] }
          : t;
      }
      return union ?? NEVER;
    }
    if ('not' in node) return undefined;
    return this.leaf(node);
  }
}

/** A key that === and a Map both compare as json-rules-engine's `equal` and `in` do (NaN aside). */
function isPlainKey(v: unknown): v is string | number | boolean {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && !Number.isNaN(v));
}

/**
 * What `equal`, `in` or `exists true` on a fact read through the FactSource requires: the value
 * itself, compared as the operator compares (===, no code normalisation), or a filled-in value.
 */
function readValueTrigger(operator: string, value: unknown, byValue: Field, filled: Field): Trigger | undefined {
  if (byValue.path === '') return undefined;
  if (operator === 'equal') return isPlainKey(value) ? keyed(byValue, [value]) : undefined;
  if (operator === 'in') return Array.isArray(value) && value.every(isPlainKey) ? keyed(byValue, [...value]) : undefined;
  if (operator === 'exists') return value === true ? keyed(filled, []) : undefined;
  return undefined;
}

/**
 * Codes tell rules apart best, modifiers, pair keys and statuses next, then thresholds; yes/no fields least. Then whole
 * codes before prefixes and ranges ("99202-99215" is every office visit), then the fewest keys.
 */
const SELECTIVITY = { code: 0, codes: 0, member: 1, same: 1, range: 2, present: 2, value: 3 } as const;
/**
 * A fact's status as text (`hcpcs.status equal not-found`) tells as much as a modifier; a number
 * (`exactDuplicates.length equal 0`, mostly true) or yes/no least.
 */
function selectivity(t: Trigger): number {
  if (t.field.kind === 'value' && t.field.slot !== undefined && t.exact.length > 0 && t.exact.every((k) => typeof k === 'string')) return SELECTIVITY.member;
  return SELECTIVITY[t.field.kind];
}
const keyCount = (t: Trigger) => t.exact.length + t.prefixes.length + t.thresholds.length;
function better(a: Trigger, b: Trigger): boolean {
  const sa = selectivity(a);
  const sb = selectivity(b);
  if (sa !== sb) return sa < sb;
  if (a.prefixes.length !== b.prefixes.length) return a.prefixes.length < b.prefixes.length;
  return keyCount(a) < keyCount(b);
}

interface FieldIndex {
  field: Field;
  /** This field's slots in the shared IndexKeys: for whole keys, and for prefixes. */
  exactSlot: number;
  prefixSlot: number;
  /** Lengths of the prefixes present, longest first, so a lookup tries only those. */
  prefixLengths: number[];
  /** For a range field: each distinct threshold, and the positions of the rules that need it passed. */
  thresholds: Array<{ operator: string; value: number; positions: number[] }>;
  /** Every position the field keys: what it must give when its value cannot be read. */
  positions: number[];
}

/**
 * Every index key (code, code prefix, modifier, yes/no value) of every RuleIndex of a Scrubber
 * in one table: by key, then by the slot of the index field that names it, the positions of
 * the rules the key triggers there. With 100 payer packs a claim reaches a different pack's
 * index almost every time, cold in the CPU caches, and most of its codes are named by some
 * other pack's rules but not by this one's: a table per pack would be read (several cache
 * misses) just to find nothing. Keyed by value first, the entries a claim reads are those of
 * the codes claims keep billing, which stay warm, and a pack that does not name the code costs
 * a miss in that warm entry. Map key equality (SameValueZero) decides what counts as the same key.
 *
 * It also holds what the indexes share at run time, warm for the same reason: the threshold
 * tests, the prefix-length lists, and the scratch space `candidates` merges lists in.
 */
export class IndexKeys {
  private readonly entries = new Map<unknown, Map<number, number[]>>();
  private slots = 0;
  private readonly tests = new Map<string, (value: unknown) => boolean>();
  private readonly lengthLists = new Map<string, readonly number[]>();
  /** Scratch for `candidates` (synchronous, never nested): the lists found, and marks for merging them. */
  readonly found: number[][] = [];
  marks = new Int32Array(0);
  generation = 0;

  /** A slot for one field of one index. */
  newSlot(): number {
    return this.slots++;
  }

  add(key: unknown, slot: number, position: number): void {
    let bySlot = this.entries.get(key);
    if (!bySlot) this.entries.set(key, (bySlot = new Map()));
    const list = bySlot.get(slot);
    if (list) appendPosition(list, position);
    else bySlot.set(slot, [position]);
  }

  /** Positions (ascending) of the rules that `key` triggers in the field with this slot. */
  find(key: unknown, slot: number): number[] | undefined {
    return this.entries.get(key)?.get(slot);
  }

  /** Whether a value passes `operator value` (greaterThan 4, ...): one function per threshold. */
  threshold(operator: string, value: number): (value: unknown) => boolean {
    const key = `${operator} ${value}`;
    let test = this.tests.get(key);
    if (!test) {
      const compare = sharedOperator(operator, parseOperator(operator)!);
      this.tests.set(key, (test = (v: unknown) => compare(v, value) === true));
    }
    return test;
  }

  /** One array per list of prefix lengths. */
  lengths(list: readonly number[]): readonly number[] {
    const key = list.join(',');
    let known = this.lengthLists.get(key);
    if (!known) this.lengthLists.set(key, (known = list));
    return known;
  }

  /** Room to mark this many positions. */
  reserve(positions: number): void {
    if (this.marks.length < positions) this.marks = new Int32Array(positions);
  }
}

export interface IndexableRule {
  conditions: ConditionNode;
  /** False when evaluating the rule can throw: it is then always evaluated. */
  total: boolean;
  /**
   * The rule's own parameter values, when they are not the index's (an index over the groups
   * of several packs, each with its parameters).
   */
  params?: Readonly<Record<string, unknown>>;
}

const NO_POSITIONS: readonly number[] = Object.freeze([]);

/** Appends the positions of `list` not yet marked with `generation` to `out`, marking them. */
function takeUnmarked(list: readonly number[], marks: Int32Array, generation: number, out: number[]): void {
  for (let i = 0; i < list.length; i++) {
    const p = list[i]!;
    if (marks[p] !== generation) {
      marks[p] = generation;
      out.push(p);
    }
  }
}

/** Longer lists go to Array.prototype.sort; an item's candidates are mostly a dozen or two. */
const INSERTION_SORT_LIMIT = 32;

/**
 * Distinct positions in ascending order. An item's candidates are a few ascending lists laid end
 * to end, short enough that an insertion sort beats sort's call of a comparator per comparison.
 */
function sortPositions(out: number[]): number[] {
  const n = out.length;
  if (n > INSERTION_SORT_LIMIT) return out.sort((a, b) => a - b);
  for (let i = 1; i < n; i++) {
    const p = out[i]!;
    let j = i - 1;
    while (j >= 0 && out[j]! > p) {
      out[j + 1] = out[j]!;
      j--;
    }
    out[j + 1] = p;
  }
  return out;
}

function allBlocked(positions: readonly number[], blocked: Uint8Array): boolean {
  for (let i = 0; i < positions.length; i++) if (blocked[positions[i]!] === 0) return false;
  return true;
}

/** Field kinds as the walk stores them. */
const CODE = 0;
const CODES = 1;
const MEMBER = 2;
const VALUE = 3;
const RANGE = 4;
const PRESENT = 5;
const SAME = 6;
const KIND_NUMBER = { code: CODE, codes: CODES, member: MEMBER, value: VALUE, range: RANGE, present: PRESENT, same: SAME } as const;

/**
 * The fields of an index as `candidates` reads them: one flat array, WALK_STRIDE entries per
 * field at these offsets, so that an index a claim finds cold costs a few neighbouring cache
 * lines, not a handful of objects per field.
 */
const KIND = 0; // CODE, CODES, MEMBER, VALUE, RANGE or PRESENT
const FACT = 1; // the item's fact name, or the catalog slot of a fact read through a FactSource
const HAS_PATH = 2;
const RESOLVE = 3; // the path resolver; for SAME, the pair key
const EXACT_SLOT = 4; // the field's slots in IndexKeys
const PREFIX_SLOT = 5;
const PREFIX_LENGTHS = 6; // longest first; shared
const THRESHOLDS = 7; // a range field's [test, positions, test, positions, ...]
const POSITIONS = 8; // every position the field keys
const WALK_STRIDE = 9;

export class RuleIndex {
  /** Positions (in group order) of the rules evaluated on every item. */
  private readonly always: readonly number[];
  /** Per field, WALK_STRIDE entries (KIND, FACT, ...: see WALK_STRIDE). */
  private readonly walk: readonly unknown[];
  private first: readonly number[] | undefined;
  private more = 0;
  /** Rules evaluated only on items that trigger them. */
  readonly indexedCount: number;
  /** Rules that cannot fire at all under these parameters. */
  neverCount = 0;
  /**
   * Whether a threshold reads a fact that is not the item's own (filingLagDays, patientAge):
   * `candidates` then wants the FactSource the rules will read, pointed at the item.
   */
  readonly readsFacts: boolean;
  /**
   * Whether such a fact's value depends on the pack (its parameters): an index merged over the
   * groups of several packs cannot read it for them all at once.
   */
  readonly readsPackFacts: boolean;
  /** A line-pair group whose every rule is keyed by a field of one of its two lines, or by a pair key: see pairsOf. */
  readonly pairwise: boolean;
  /**
   * When every rule is keyed by one pair key (the PTP edits by the table's): the positions of
   * them all, which are the candidates of every pair pairsOf lists, so it need not be asked again.
   */
  readonly onePairKey: readonly number[] | undefined;

  /**
   * `params`: the pack's parameter values as the rules will see them (after payer packs), so
   * that conditions on parameters index like literals; omit them and such rules always run.
   */
  /** `keys`: shared with the other indexes of a Scrubber (see IndexKeys); a private table by default. */
  constructor(
    rules: readonly IndexableRule[],
    scopeFacts: readonly string[],
    catalog: FactCatalog,
    params?: Readonly<Record<string, unknown>>,
    private readonly keys: IndexKeys = new IndexKeys(),
    /**
     * The group's scope. Claim rules are keyed by the claim's own fields (`claim.payer.type in
     * [...]`); in other scopes the item's own fact keys them, being far more selective.
     */
    scopeKey?: ScopeKey,
  ) {
    const own = (f: string) => ITEM_FACTS.has(f) || (scopeKey === 'claim' && f === 'claim');
    const others = new Set(scopeFacts.filter((f) => !own(f) && f !== 'params'));
    const linePairs = scopeKey === 'line-pair' || scopeKey === 'line-pair-ordered';
    const ownFacts = new Set(scopeFacts.filter(own));
    const finders = new Map<object | undefined, TriggerFinder>();
    const finderFor = (p: Readonly<Record<string, unknown>> | undefined): TriggerFinder => {
      let finder = finders.get(p);
      if (!finder) finders.set(p, (finder = new TriggerFinder(catalog, ownFacts, p, others, linePairs)));
      return finder;
    };
    const byField = new Map<string, FieldIndex>();
    const fields: FieldIndex[] = [];
    const always: number[] = [];
    rules.forEach((rule, position) => {
      const trigger = rule.total ? finderFor(rule.params ?? params).find(rule.conditions) : undefined;
      if (trigger === NEVER) {
        this.neverCount++;
        return;
      }
      if (!trigger) {
        always.push(position);
        return;
      }
      const key = fieldKey(trigger.field);
      let fi = byField.get(key);
      if (!fi) {
        fi = { field: trigger.field, exactSlot: keys.newSlot(), prefixSlot: keys.newSlot(), prefixLengths: [], thresholds: [], positions: [] };
        byField.set(key, fi);
        fields.push(fi);
      }
      appendPosition(fi.positions, position);
      for (const t of trigger.thresholds) {
        let entry = fi.thresholds.find((e) => e.operator === t.operator && e.value === t.value);
        if (!entry) fi.thresholds.push((entry = { ...t, positions: [] }));
        appendPosition(entry.positions, position);
      }
      for (const k of trigger.exact) keys.add(k, fi.exactSlot, position);
      for (const p of trigger.prefixes) {
        keys.add(p, fi.prefixSlot, position);
        if (!fi.prefixLengths.includes(p.length)) fi.prefixLengths.push(p.length);
      }
    });
    this.always = always.length === 0 ? NO_POSITIONS : always;
    this.walk = fields.flatMap((fi) => {
      const { field } = fi;
      const entries: unknown[] = [];
      entries[KIND] = KIND_NUMBER[field.kind];
      entries[FACT] = field.slot ?? field.fact;
      entries[HAS_PATH] = field.path !== '';
      entries[RESOLVE] = field.kind === 'same' ? field.pairKey : field.resolve;
      entries[EXACT_SLOT] = fi.exactSlot;
      entries[PREFIX_SLOT] = fi.prefixSlot;
      entries[PREFIX_LENGTHS] = keys.lengths(fi.prefixLengths.sort((a, b) => b - a));
      entries[THRESHOLDS] = fi.thresholds.flatMap((t) => [keys.threshold(t.operator, t.value), t.positions]);
      entries[POSITIONS] = fi.positions;
      return entries;
    });
    this.readsFacts = fields.some((fi) => fi.field.slot !== undefined);
    this.readsPackFacts = fields.some((fi) => fi.field.slot !== undefined && catalog.definitionAt(fi.field.slot).samePerPack !== true);
    this.pairwise =
      linePairs &&
      always.length === 0 &&
      fields.every((fi) => fi.field.kind === 'same' || (fi.field.slot === undefined && (fi.field.fact === 'first' || fi.field.fact === 'second')));
    this.onePairKey = this.pairwise && fields.length === 1 && fields[0]!.field.kind === 'same' ? fields[0]!.positions : undefined;
    this.indexedCount = rules.length - always.length - this.neverCount;
    keys.reserve(rules.length);
  }

  /**
   * Positions of the rules that can fire on the item, ascending (group order). `facts`, set to
   * the item, is needed when `readsFacts`; without it such fields keep all their rules. `blocked`:
   * the claim's gate mask (1: ruled out); a fact read only for rules it rules out is not read, and
   * those positions may then be missing from the answer.
   */
  candidates(item: ScopeItem, facts?: FactSource, blocked?: Uint8Array): readonly number[] {
    const walk = this.walk;
    if (walk.length === 0) return this.always;
    this.first = undefined;
    this.more = 0;
    for (let at = 0; at < walk.length; at += WALK_STRIDE) {
      if (walk[at + KIND] === SAME) {
        const key = walk[at + RESOLVE] as PairKey;
        const a = key(item.values.first as LineView, 'first');
        if (a !== undefined && a === key(item.values.second as LineView, 'second')) this.add(walk[at + POSITIONS] as number[]);
        continue;
      }
      const fact = walk[at + FACT];
      this.match(at, typeof fact === 'string' ? item.values[fact] : undefined, facts, blocked);
    }
    const first = this.first;
    const more = this.more;
    this.first = undefined;
    if (first === undefined) return this.always;
    if (more === 0 && this.always.length === 0) return first;
    const keys = this.keys;
    if (keys.generation === 0x7fffffff) {
      keys.marks.fill(0);
      keys.generation = 0;
    }
    const generation = ++keys.generation;
    const marks = keys.marks;
    const out: number[] = [];
    takeUnmarked(this.always, marks, generation, out);
    takeUnmarked(first, marks, generation, out);
    for (let k = 0; k < more; k++) takeUnmarked(keys.found[k]!, marks, generation, out);
    return sortPositions(out);
  }

  /**
   * In a `pairwise` group, the positions, among the scope's items (buildScopeItems: line i with
   * each line j, j after i unless `ordered`), of the pairs that can trigger a rule. Worked out
   * line by line, once per claim and group, instead of pair by pair: a claim of 50 lines has
   * 2,450 ordered pairs, and a PTP edit can hold only between two lines of one date whose codes
   * the table names in the right columns. A superset, as `candidates` is: each pair it keeps is
   * then asked again.
   */
  pairsOf(lines: readonly LineView[], ordered: boolean): number[] {
    const n = lines.length;
    const walk = this.walk;
    // Lines that trigger a rule by their own fields, as the first line or as the second.
    const asFirst = new Uint8Array(n);
    const asSecond = new Uint8Array(n);
    // Per pair key: each line's key as a first line, then as a second line.
    const keys: Array<readonly [unknown[], unknown[]]> = [];
    for (let at = 0; at < walk.length; at += WALK_STRIDE) {
      if (walk[at + KIND] === SAME) {
        const key = walk[at + RESOLVE] as PairKey;
        const a = new Array<unknown>(n);
        const b = new Array<unknown>(n);
        for (let i = 0; i < n; i++) {
          a[i] = key(lines[i]!, 'first');
          b[i] = key(lines[i]!, 'second');
        }
        keys.push([a, b]);
        continue;
      }
      const marks = walk[at + FACT] === 'first' ? asFirst : asSecond;
      for (let i = 0; i < n; i++) {
        this.first = undefined;
        this.more = 0;
        this.match(at, lines[i], undefined);
        if (this.first !== undefined) marks[i] = 1;
      }
    }
    this.first = undefined;
    this.more = 0;
    const out: number[] = [];
    // Mostly no line names a code of the group's rules: no pair can trigger one.
    if (keys.length === 0 && asFirst.indexOf(1) === -1 && asSecond.indexOf(1) === -1) return out;
    let position = 0;
    for (let i = 0; i < n; i++) {
      for (let j = ordered ? 0 : i + 1; j < n; j++) {
        if (i === j) continue;
        let hit = asFirst[i] === 1 || asSecond[j] === 1;
        for (let k = 0; !hit && k < keys.length; k++) {
          const a = keys[k]![0][i];
          hit = a !== undefined && a === keys[k]![1][j];
        }
        if (hit) out.push(position);
        position++;
      }
    }
    return out;
  }

  /** Adds the lists of the rules that the value of the field at `at` (`own`: the item's fact) triggers. */
  private match(at: number, own: unknown, facts: FactSource | undefined, blocked?: Uint8Array): void {
    const walk = this.walk;
    const kind = walk[at + KIND] as number;
    const resolve = walk[at + RESOLVE] as (value: unknown) => unknown;
    const keys = this.keys;
    const fact = walk[at + FACT];
    let value: unknown;
    if (typeof fact === 'string') value = resolve(own);
    else {
      const positions = walk[at + POSITIONS] as number[];
      // Rules the claim's gates rule out need no read (a table lookup) to be left out again.
      if (blocked !== undefined && allBlocked(positions, blocked)) return;
      if (!facts) {
        this.add(positions);
        return;
      }
      let whole: unknown;
      try {
        whole = facts.at(fact as number);
      } catch {
        // The rules report the error when they read the fact (rule-failed), as without the index.
        this.add(positions);
        return;
      }
      // As json-rules-engine reads a fact: the path applies only to an object.
      value = walk[at + HAS_PATH] === true && whole !== null && typeof whole === 'object' ? resolve(whole) : whole;
    }
    if (kind === RANGE) {
      const thresholds = walk[at + THRESHOLDS] as unknown[];
      for (let t = 0; t < thresholds.length; t += 2) {
        if ((thresholds[t] as (value: unknown) => boolean)(value)) this.add(thresholds[t + 1] as number[]);
      }
      return;
    }
    const exactSlot = walk[at + EXACT_SLOT] as number;
    let list: number[] | undefined;
    // codeIn, equal and in need text to match.
    if (kind === CODE) {
      if (typeof value === 'string') this.matchCode(value, at);
    } else if (kind === CODES) {
      if (Array.isArray(value)) for (const element of value) if (typeof element === 'string') this.matchCode(element, at);
    } else if (kind === MEMBER) {
      if (!Array.isArray(value)) return;
      for (const element of value) if ((list = keys.find(element, exactSlot))) this.add(list);
    } else if (kind === PRESENT) {
      if (value !== undefined && value !== null && value !== '') this.add(walk[at + POSITIONS] as number[]);
    } else if ((list = keys.find(value, exactSlot))) {
      this.add(list);
    }
  }

  private matchCode(text: string, at: number): void {
    const walk = this.walk;
    const keys = this.keys;
    const code = normalizeCode(text);
    let list = keys.find(code, walk[at + EXACT_SLOT] as number);
    if (list) this.add(list);
    const prefixSlot = walk[at + PREFIX_SLOT] as number;
    for (const n of walk[at + PREFIX_LENGTHS] as readonly number[]) {
      if (n <= code.length && (list = keys.find(code.slice(0, n), prefixSlot))) this.add(list);
    }
  }

  private add(list: readonly number[]): void {
    if (this.first === undefined) this.first = list;
    else this.keys.found[this.more++] = list as number[];
  }
}
