import { todayIso } from '../claim/dates.js';
import { meets, type FieldPath } from '../claim/fields.js';
import { checkClaimStructure, claimIdOf } from '../claim/validate.js';
import { buildClaimView, type ClaimView } from '../claim/view.js';
import type { Finding, ScrubResult } from '../findings/finding.js';
import { FindingOrder, buildResult } from '../findings/result.js';
import { inWindow, overlapsWindow, type DateWindow, type Pack, type PackSet, type Rule, type RuleOverride } from '../packs/model.js';
import { blockedPositions, gateKeyOf, gatesOf, type Gate } from './claim-gate.js';
import { CompiledEvaluator, type CompiledRule } from './compiled-evaluator.js';
import { DEFAULT_ENGINE, createEvaluator } from './engines.js';
import { groupRules, type ConditionTrace, type EngineName, type Evaluator, type RuleGroup } from './evaluator.js';
import { FactSource, type FactCatalog, type PackContext, type RunContext, type TableCoverage } from './facts.js';
import { FindingMaker } from './finding-maker.js';
import type { HistoryView } from './history.js';
import type { GlobalDaysLookup } from './history-facts.js';
import { fieldsReadBy } from './reads.js';
import { IndexKeys, RuleIndex } from './rule-index.js';
import { appliesToPayerType, tableNeedOf, type TableNeed } from './table-needs.js';
import { buildScopeItems, pairItemAt, type ScopeItem, type ScopeKey } from './scopes.js';

export interface ScrubOptions {
  /** The date "today" means for date rules (YYYY-MM-DD); defaults to the current date. */
  asOf?: string;
  /** Also report every rule that applied and how its conditions came out. */
  explain?: boolean;
  /** The patient's recorded claims for the history edits (src/history fetches them); none: not consulted. */
  history?: HistoryView;
}

export interface RuleExplanation {
  ruleId: string;
  pack: string;
  /** What the rule looked at: "claim", "line 2", "lines 1 and 3", ... */
  target: string;
  lines: number[];
  fired: boolean;
  conditions: ConditionTrace;
}

export interface ExplainedResult extends ScrubResult {
  explain: RuleExplanation[];
}

export function packAppliesTo(pack: Pack, claim: ClaimView): boolean {
  const a = pack.appliesTo;
  if (a) {
    if (a.payerIds && !a.payerIds.includes(claim.payer.id)) return false;
    if (a.payerTypes && (claim.payer.type === undefined || !a.payerTypes.includes(claim.payer.type))) return false;
    if (a.claimTypes && !a.claimTypes.includes(claim.claimType)) return false;
    if (a.billTypes && (claim.billTypeClass === undefined || !a.billTypes.includes(claim.billTypeClass))) return false;
  }
  return overlapsWindow(pack.effective, claim.firstServiceDate, claim.lastServiceDate);
}

/** What the payer packs that apply to a claim change in one base pack. */
interface PackAdjustment {
  params: Record<string, unknown>;
  overrides: Map<string, RuleOverride>;
}

/**
 * Payer packs adjust the packs they extend for the claims they apply to. Applied in pack-name
 * order, so when two payer packs apply to one claim, the later name wins on a clash.
 */
function adjustmentsFor(selected: readonly Pack[]): Map<string, PackAdjustment> {
  const out = new Map<string, PackAdjustment>();
  for (const payer of selected) {
    for (const baseName of payer.extends) {
      const adj = out.get(baseName) ?? { params: {}, overrides: new Map<string, RuleOverride>() };
      for (const [k, p] of Object.entries(payer.parameters)) adj.params[k] = p.value;
      for (const o of payer.overrides) adj.overrides.set(o.rule, o);
      out.set(baseName, adj);
    }
  }
  return out;
}

export interface ScrubberOptions {
  /** Which evaluator runs the conditions: the compiled one (default) or json-rules-engine. */
  engine?: EngineName | Evaluator;
  /**
   * Evaluate, on each scope item, only the rules it can trigger (default: on). Applies to the
   * compiled evaluator without explain; json-rules-engine runs every rule of a group at once.
   */
  indexing?: boolean;
}

/** One rule group of one pack, with everything per-claim work can be spared. */
interface GroupPlan {
  group: RuleGroup;
  /** The group's rules compiled, when the evaluator is the compiled one. */
  compiled?: readonly CompiledRule[];
  /** Their findings' makers, position for position (with `compiled`). */
  makers?: readonly FindingMaker[];
  /**
   * Which of them can fire on an item, per parameter values (a pack's own, or as a payer pack
   * sets them: the same objects for every claim of a selection); absent when indexing is off.
   */
  indexes?: WeakMap<object, RuleIndex>;
}

interface PackPlan {
  pack: Pack;
  /** Every fact the pack's rules read. */
  factsRead: readonly string[];
  /** The pack's own parameter values, computed once. */
  defaults: Readonly<Record<string, unknown>>;
  groups: GroupPlan[];
}

/** One selected pack as it runs on a claim: its parameters and rule overrides after payer packs. */
interface PackRun {
  plan: PackPlan;
  context: PackContext;
  overrides?: ReadonlyMap<string, RuleOverride>;
}

/**
 * One group of one selected pack, with all the fast path reads for it in one object: with
 * thousands of rules, a claim mostly reaches a selection no recent claim used, and every
 * object between the selection and a rule is a likely cache miss.
 */
interface GroupRun {
  scopeKey: ScopeKey;
  /** The pack's owner, named in a rule-failed finding. */
  owner: string;
  /** The pack's effective window. */
  effective: DateWindow | undefined;
  rules: readonly CompiledRule[];
  /** Each rule's finding maker, position for position with `rules`. */
  makers: readonly FindingMaker[];
  /** The group's rule index for the selection's parameters (when indexing). */
  index: RuleIndex | undefined;
  context: PackContext;
  overrides: ReadonlyMap<string, RuleOverride> | undefined;
  /** Each rule's claim gates (see claim-gate.ts), position for position with `rules`. */
  gates: ReadonlyArray<readonly Gate[]>;
}

/** Which packs apply to a claim, and how payer packs adjust them: the same for many claims. */
interface Selection {
  packs: Pack[];
  /** The selected packs' rules that need a table, with their packs' parameters (after payer packs). */
  tableReaders: ReadonlyArray<{ need: TableNeed; params: Readonly<Record<string, unknown>> }>;
  /** By payer type: the tables the rules applying to such a claim read, for the tableEditions fact. */
  tablesByPayerType: Map<string | undefined, TableCoverage[]>;
  runs: PackRun[];
  /**
   * With the compiled evaluator: the groups of the selected packs that run one by one, in order
   * (with indexing, those `merged` leaves out).
   */
  groups: GroupRun[];
  /** With indexing: the groups of one scope, of several packs, that run under one index. */
  merged: MergedRun[];
  /** Whether any rule of the selection has a claim gate: else no claim needs GateMasks. */
  gated: boolean;
  /** By gate key (gateKeyOf): which rules the claim gates rule out, group by group. */
  masks: Map<string, GateMasks>;
}

/** Per group (`groups`, then `merged`), 1 at the positions of rules a claim's gates rule out; undefined: none. */
interface GateMasks {
  groups: Array<Uint8Array | undefined>;
  merged: Array<Uint8Array | undefined>;
}

/** Gate keys kept per selection; past it (claims with odd field values) masks are worked out per claim. */
const GATE_MASK_LIMIT = 64;

/**
 * Groups of one scope from several selected packs, under one index over all their rules: an
 * item's codes are looked up once for them all, instead of once per pack (with 100 packs that
 * all apply, the lookups were most of the index's cost). The rules are evaluated item by
 * item, each item's candidates in pack order; the findings' order does not depend on it (they
 * are sorted, and one rule's findings are still made item after item).
 */
interface MergedRun {
  scopeKey: ScopeKey;
  index: RuleIndex;
  runs: readonly GroupRun[];
  /** By position in the merged index: the position in `runs` of its group, and its position there. */
  runOf: Int32Array;
  positionOf: Int32Array;
}

const SELECTION_CACHE_LIMIT = 10_000;

const POSITIONS = new WeakMap<readonly unknown[], readonly number[]>();
function allPositions(list: readonly unknown[]): readonly number[] {
  let positions = POSITIONS.get(list);
  if (!positions) POSITIONS.set(list, (positions = list.map((_, i) => i)));
  return positions;
}

/**
 * Scrubs claims against one pack set. Holds nothing per claim: any number of scrubs may run
 * at once, and a new pack set means a new Scrubber (the swap is one assignment). Everything
 * that does not depend on the claim (parameter values, compiled conditions, the rule index,
 * which packs a payer can select and how payer packs adjust them) is built here, or once per
 * combination of packs, not per claim.
 */
export class Scrubber {
  readonly evaluator: Evaluator;
  private readonly plans: readonly PackPlan[];
  /** Positions in `plans` of the packs that name a payer, by payer id; and of those that name none. */
  private readonly plansByPayer = new Map<string, number[]>();
  private readonly plansForAnyPayer: number[] = [];
  /** By payer id: the pack selections seen, with the positions (in `plans`) that make them up. */
  private readonly selections = new Map<string, Array<{ positions: number[]; selection: Selection }>>();
  /**
   * The same selections by their positions: a selection depends on its packs alone, and payers
   * whose claims select the same packs (every payer, when no pack names one) share it.
   */
  private readonly selectionsByPacks = new Map<string, Selection>();
  private selectionCount = 0;
  private readonly compiled: CompiledEvaluator | undefined;
  private readonly reusableFacts: FactSource;
  private readonly indexKeys = new IndexKeys();
  /** By rule id: the rules whose findings make its finding redundant (rules with suppressedBy only). */
  private readonly suppressions = new Map<string, ReadonlySet<string>>();
  /** Every table of the pack set with the dates its editions cover. */
  private readonly tableCoverage: TableCoverage[];
  /** By rule id: the tables it needs and the payer types it applies to (rules that read a table only). */
  private readonly tableNeeds = new Map<string, TableNeed>();
  /** The findings' order, by rule, worked out once. */
  private readonly order: FindingOrder;
  /** By rule: what its findings are made of (templates compiled, rank in the order). */
  private readonly makers = new Map<Rule, FindingMaker>();
  private readonly gatesByRule = new WeakMap<CompiledRule, readonly Gate[]>();

  constructor(
    readonly packSet: PackSet,
    options: ScrubberOptions | Evaluator = {},
  ) {
    const opts: ScrubberOptions = 'evaluate' in options ? { engine: options } : options;
    const engine = opts.engine ?? DEFAULT_ENGINE;
    this.evaluator = typeof engine === 'string' ? createEvaluator(engine) : engine;
    this.compiled = this.evaluator instanceof CompiledEvaluator ? this.evaluator : undefined;
    const indexing = opts.indexing ?? true;
    const placeholder: ScopeItem = { scope: 'claim', label: '', serviceDate: '', lines: [], defaultPath: '', values: {} };
    this.reusableFacts = new FactSource(packSet.facts, placeholder, {} as RunContext, { params: {} });
    for (const rule of packSet.rulesById.values()) if (rule.suppressedBy) this.suppressions.set(rule.id, new Set(rule.suppressedBy));
    this.order = new FindingOrder(packSet.packs.flatMap((p) => p.rules));
    for (const pack of packSet.packs) for (const rule of pack.rules) this.makers.set(rule, new FindingMaker(rule, this.order.rankOf(rule.id, rule.category)));
    this.tableCoverage = packSet.packs.flatMap((p) =>
      p.tables.map((t) => ({ name: t.name, title: t.title ?? t.format, editions: t.editions.map((e) => (e.covers ? { edition: e.edition, covers: e.covers } : { edition: e.edition })) })),
    );
    const tableNames = new Set(this.tableCoverage.map((t) => t.name));
    for (const rule of packSet.rulesById.values()) {
      const need = tableNeedOf(rule, tableNames);
      if (need.tables.length > 0) this.tableNeeds.set(rule.id, need);
    }
    this.plans = packSet.packs.map((pack, position) => {
      const payers = pack.appliesTo?.payerIds;
      if (payers) {
        for (const id of new Set(payers)) {
          const list = this.plansByPayer.get(id) ?? [];
          list.push(position);
          this.plansByPayer.set(id, list);
        }
      } else {
        this.plansForAnyPayer.push(position);
      }
      const groups = groupRules(pack).map((group): GroupPlan => {
        if (!this.compiled) return { group };
        const compiled = this.compiled.rulesOf(group, packSet.facts);
        const makers = compiled.map((c) => this.makerOf(c.rule));
        return indexing ? { group, compiled, makers, indexes: new WeakMap() } : { group, compiled, makers };
      });
      const defaults = Object.fromEntries(Object.entries(pack.parameters).map(([k, v]) => [k, v.value]));
      return { pack, factsRead: [...new Set(pack.rules.flatMap((r) => r.facts))], defaults, groups };
    });
    // Index every group now for the packs' own parameters (payer packs' variants are built on
    // the first claim that needs them): no claim should pay for work that belongs to loading.
    for (const plan of this.plans) for (const group of plan.groups) this.indexFor(group, plan.defaults);
  }

  /**
   * Whether a rule reads a field the claim has malformed: such a rule is not run on the claim
   * (the structure finding already says what is wrong there); every other rule is.
   */
  private readsUnusable(rule: Rule, unusable: readonly FieldPath[], item: ScopeItem): boolean {
    const diagnosis = item.scope === 'diagnosis' ? (item.values.diagnosis as ClaimView['diagnoses'][number]).index : undefined;
    return meets(fieldsReadBy(rule, this.packSet.facts), unusable, { lines: item.lines.map((n) => n - 1), diagnoses: diagnosis === undefined ? [] : [diagnosis] });
  }

  /** Every compiled rule this scrubber runs (empty with json-rules-engine): for counting and tests. */
  compiledRules(): CompiledRule[] {
    return this.plans.flatMap((p) => p.groups.flatMap((g) => [...(g.compiled ?? [])]));
  }

  /** The packs that apply to a claim, in pack set order, with payer packs' adjustments. */
  private selectionFor(claim: ClaimView): Selection {
    const named = this.plansByPayer.get(claim.payer.id);
    const open = this.plansForAnyPayer;
    const positions: number[] = [];
    // Merge two ascending position lists, keeping the pack set's order.
    let i = 0;
    let j = 0;
    const n = named?.length ?? 0;
    while (i < n || j < open.length) {
      const position = j >= open.length || (i < n && named![i]! < open[j]!) ? named![i++]! : open[j++]!;
      if (packAppliesTo(this.plans[position]!.pack, claim)) positions.push(position);
    }
    // Claims of one payer mostly select the same packs: look among that payer's selections.
    let known = this.selections.get(claim.payer.id);
    if (!known) {
      if (this.selectionCount >= SELECTION_CACHE_LIMIT) {
        this.selections.clear();
        this.selectionsByPacks.clear();
        this.selectionCount = 0;
      }
      this.selections.set(claim.payer.id, (known = []));
    }
    for (const k of known) if (samePositions(k.positions, positions)) return k.selection;
    const key = positions.join(',');
    let selection = this.selectionsByPacks.get(key);
    if (!selection) this.selectionsByPacks.set(key, (selection = this.select(positions.map((p) => this.plans[p]!))));
    known.push({ positions, selection });
    this.selectionCount++;
    return selection;
  }

  private select(plans: readonly PackPlan[]): Selection {
    const packs = plans.map((p) => p.pack);
    const adjustments = adjustmentsFor(packs);
    const runs = plans.map((plan): PackRun => {
      const adjustment = adjustments.get(plan.pack.name);
      const params = adjustment ? { ...plan.defaults, ...pickKnown(adjustment.params, plan.defaults) } : plan.defaults;
      const run: PackRun = { plan, context: { params } };
      if (adjustment) run.overrides = adjustment.overrides;
      return run;
    });
    const groups = !this.compiled
      ? []
      : runs.flatMap(({ plan, context, overrides }) =>
          plan.groups.map(
            (g): GroupRun => ({
              scopeKey: g.group.scopeKey,
              owner: plan.pack.owner,
              effective: plan.pack.effective,
              rules: g.compiled!,
              makers: g.makers!,
              index: this.indexFor(g, context.params),
              context,
              overrides,
              gates: g.compiled!.map((c) => this.gatesOfRule(c)),
            }),
          ),
        );
    const { single, merged } = this.compiled ? mergeGroups(groups, this.packSet.facts) : { single: groups, merged: [] };
    const tableReaders = runs.flatMap(({ plan, context, overrides }) =>
      plan.pack.rules.flatMap((rule) => {
        const need = this.tableNeeds.get(rule.id);
        return need && overrides?.get(rule.id)?.enabled !== false ? [{ need, params: context.params }] : [];
      }),
    );
    const gated = groups.some((g) => g.gates.some((list) => list.length > 0));
    return { packs, tableReaders, tablesByPayerType: new Map(), runs, groups: single, merged, gated, masks: new Map() };
  }

  private gatesOfRule(c: CompiledRule): readonly Gate[] {
    let gates = this.gatesByRule.get(c);
    if (!gates) this.gatesByRule.set(c, (gates = gatesOf(c.rule.conditions, c.total, this.packSet.facts)));
    return gates;
  }

  /** Which rules of the selection the claim's gates rule out (undefined: none can be). */
  private masksFor(selection: Selection, claim: ClaimView): GateMasks | undefined {
    if (!selection.gated) return undefined;
    const key = gateKeyOf(claim);
    if (key === undefined) return undefined;
    let masks = selection.masks.get(key);
    if (!masks) {
      masks = {
        groups: selection.groups.map((g) => blockedPositions(g.gates, () => g.context.params, claim)),
        merged: selection.merged.map(({ runs, runOf, positionOf }) =>
          blockedPositions(
            Array.from(runOf, (r, p) => runs[r]!.gates[positionOf[p]!]!),
            (p) => runs[runOf[p]!]!.context.params,
            claim,
          ),
        ),
      };
      if (selection.masks.size < GATE_MASK_LIMIT) selection.masks.set(key, masks);
    }
    return masks;
  }

  /** The tables that the selection's rules applying to a claim of this payer type read. */
  private tablesOf(selection: Selection, payerType: string | undefined): TableCoverage[] {
    let tables = selection.tablesByPayerType.get(payerType);
    if (!tables) {
      const read = new Set<string>();
      for (const { need, params } of selection.tableReaders) if (appliesToPayerType(need, params, payerType)) for (const t of need.tables) read.add(t);
      tables = this.tableCoverage.filter((t) => read.has(t.name));
      selection.tablesByPayerType.set(payerType, tables);
    }
    return tables;
  }

  private indexFor(plan: GroupPlan, params: Readonly<Record<string, unknown>>): RuleIndex | undefined {
    if (!plan.indexes) return undefined;
    let index = plan.indexes.get(params);
    if (!index) {
      index = new RuleIndex(plan.compiled!.map((c) => ({ conditions: c.rule.conditions, total: c.total })), plan.group.facts, this.packSet.facts, params, this.indexKeys, plan.group.scopeKey);
      plan.indexes.set(params, index);
    }
    return index;
  }

  scrub(input: unknown, options?: ScrubOptions & { explain?: false }): Promise<ScrubResult>;
  scrub(input: unknown, options: ScrubOptions & { explain: true }): Promise<ExplainedResult>;
  scrub(input: unknown, options?: ScrubOptions): Promise<ScrubResult | ExplainedResult>;
  async scrub(input: unknown, options: ScrubOptions = {}): Promise<ScrubResult | ExplainedResult> {
    if (this.compiled && !options.explain) return this.scrubCompiled(input, options);
    const structure = checkClaimStructure(input);
    const usable = structure.ok ? { claim: structure.claim, unusable: undefined } : structure.usable;
    if (!usable) {
      const result = buildResult(claimIdOf(input), structure.ok ? [] : structure.findings, []);
      return options.explain ? { ...result, explain: [] } : result;
    }
    const claim = buildClaimView(usable.claim);
    const selection = this.selectionFor(claim);
    const { packs, runs } = selection;
    const run = runContext(claim, this.tablesOf(selection, claim.payer.type), options, this.packSet.globalDays);
    const findings: Finding[] = structure.ok ? [] : [...structure.findings];
    const unusable = usable.unusable;
    const explain: RuleExplanation[] = [];
    const itemsFor = scopeItemCache(claim, options.history);
    for (const { plan, context, overrides } of runs) {
      const pack = plan.pack;
      for (const { group } of plan.groups) {
        for (const item of itemsFor(group.scopeKey)) {
          if (!inWindow(pack.effective, item.serviceDate)) continue;
          const facts = new FactSource(this.packSet.facts, item, run, context);
          const evaluated = this.evaluator.evaluate(group, facts, options.explain === true);
          const outcomes = Array.isArray(evaluated) ? evaluated : await evaluated;
          for (const outcome of outcomes) {
            if (!inWindow(outcome.rule.effective, item.serviceDate)) continue;
            const override = overrides?.get(outcome.rule.id);
            if (override?.enabled === false) continue;
            if (unusable && this.readsUnusable(outcome.rule, unusable, item)) continue;
            if (outcome.error !== undefined) findings.push(ruleFailed(outcome.rule, pack.owner, item, outcome.error));
            else if (outcome.fired) findings.push(this.findingOrFailure(outcome.rule, pack.owner, item, facts, override?.severity));
            if (options.explain && outcome.trace) {
              explain.push({
                ruleId: outcome.rule.id,
                pack: pack.name,
                target: item.label,
                lines: item.lines,
                fired: outcome.fired,
                conditions: outcome.trace,
              });
            }
          }
        }
      }
    }
    const result = buildResult(claim.claimId, this.withoutSuppressed(findings), packs);
    return options.explain ? { ...result, explain } : result;
  }

  /**
   * The result at once when evaluation is synchronous (the compiled evaluator, without
   * explain), else undefined: a caller holding a lock or a transaction around the scrub (the
   * history store) then never yields while holding it.
   */
  scrubNow(input: unknown, options: ScrubOptions = {}): ScrubResult | undefined {
    return this.compiled && !options.explain ? this.scrubCompiled(input, options) : undefined;
  }

  /**
   * The fast path: compiled rules, synchronous, and on each item only the rules the index
   * says can fire. Gives exactly the findings of the path above (the differential test).
   */
  private scrubCompiled(input: unknown, options: ScrubOptions): ScrubResult {
    const structure = checkClaimStructure(input);
    const usable = structure.ok ? { claim: structure.claim, unusable: undefined } : structure.usable;
    if (!usable) return buildResult(claimIdOf(input), structure.ok ? [] : structure.findings, []);
    const claim = buildClaimView(usable.claim);
    const selection = this.selectionFor(claim);
    const { packs, groups } = selection;
    const run = runContext(claim, this.tablesOf(selection, claim.payer.type), options, this.packSet.globalDays);
    const findings: Finding[] = structure.ok ? [] : [...structure.findings];
    // Each finding's rank in the findings' order, known from its rule (-1: none, as for structure findings).
    const ranks: number[] = findings.map(() => -1);
    const unusable = usable.unusable;
    const itemsFor = scopeItemCache(claim, options.history);
    const pairAt = pairItemCache(claim);
    // One FactSource, pointed at each item (and pack) in turn: this path never yields, so nothing
    // else can be using it meanwhile. `factsAt` says what it is pointed at.
    const facts = this.reusableFacts;
    const factsAt: FactsAt = { item: undefined, context: undefined };
    const out: Found = { findings, ranks };
    const masks = this.masksFor(selection, claim);
    for (let g = 0; g < groups.length; g++) {
      const group = groups[g]!;
      const blocked = masks?.groups[g];
      const { scopeKey, effective, rules, index, context } = group;
      // A pair group keyed by its lines: only the pairs that can trigger a rule, each built when reached.
      const pairs = index?.pairwise ? index.pairsOf(claim.lines, scopeKey === 'line-pair-ordered') : undefined;
      const items = pairs ? undefined : itemsFor(scopeKey);
      const count = pairs ? pairs.length : items!.length;
      for (let t = 0; t < count; t++) {
        const item = pairs ? pairAt(scopeKey, pairs[t]!) : items![t]!;
        if (!inWindow(effective, item.serviceDate)) continue;
        if (index?.readsFacts) {
          facts.reset(item, run, context);
          factsAt.item = item;
          factsAt.context = context;
        }
        const positions = pairs && index!.onePairKey ? index!.onePairKey : index ? index.candidates(item, facts, blocked) : allPositions(rules);
        for (let k = 0; k < positions.length; k++) {
          const p = positions[k]!;
          if (blocked === undefined || blocked[p] === 0) this.evaluateRule(group, p, item, run, unusable, factsAt, out);
        }
      }
    }
    for (let m = 0; m < selection.merged.length; m++) {
      const { scopeKey, index, runs, runOf, positionOf } = selection.merged[m]!;
      const blocked = masks?.merged[m];
      const pairs = index.pairwise ? index.pairsOf(claim.lines, scopeKey === 'line-pair-ordered') : undefined;
      const items = pairs ? undefined : itemsFor(scopeKey);
      const count = pairs ? pairs.length : items!.length;
      for (let t = 0; t < count; t++) {
        const item = pairs ? pairAt(scopeKey, pairs[t]!) : items![t]!;
        const date = item.serviceDate;
        // The facts such an index reads are the same for every pack (readsPackFacts is false).
        if (index.readsFacts && (factsAt.item !== item || factsAt.context !== runs[0]!.context)) {
          facts.reset(item, run, runs[0]!.context);
          factsAt.item = item;
          factsAt.context = runs[0]!.context;
        }
        const positions = pairs && index.onePairKey ? index.onePairKey : index.candidates(item, facts, blocked);
        let at = -1;
        let outside = false;
        for (let k = 0; k < positions.length; k++) {
          const p = positions[k]!;
          const r = runOf[p]!;
          if (r !== at) {
            at = r;
            outside = !inWindow(runs[r]!.effective, date);
          }
          if (!outside && (blocked === undefined || blocked[p] === 0)) this.evaluateRule(runs[r]!, positionOf[p]!, item, run, unusable, factsAt, out);
        }
      }
    }
    const kept = this.suppressedLeftOut(findings);
    if (!kept) return buildResult(claim.claimId, findings, packs, this.order, ranks);
    return buildResult(claim.claimId, findings.filter((_, i) => kept[i]), packs, this.order, ranks.filter((_, i) => kept[i]));
  }

  /**
   * Evaluates one rule of a group on an item and keeps its finding: the fast path's inner step.
   * A rule that cannot produce a finding there (out of its dates, switched off by a payer pack,
   * or reading a field that is malformed) is not evaluated: even one that would throw has
   * nothing to report.
   */
  private evaluateRule(group: GroupRun, position: number, item: ScopeItem, run: RunContext, unusable: readonly FieldPath[] | undefined, factsAt: FactsAt, out: Found): void {
    const c = group.rules[position]!;
    const override = group.overrides?.get(c.id);
    if (!inWindow(c.effective, item.serviceDate) || override?.enabled === false) return;
    if (unusable !== undefined && this.readsUnusable(c.rule, unusable, item)) return;
    const facts = this.reusableFacts;
    if (factsAt.item !== item || factsAt.context !== group.context) {
      facts.reset(item, run, group.context);
      factsAt.item = item;
      factsAt.context = group.context;
    }
    // A rule whose conditions or whose finding's templates throw is reported as failed.
    const maker = group.makers[position]!;
    let finding: Finding;
    try {
      if (!c.fires(facts)) return;
      finding = maker.make(item, facts, override?.severity);
    } catch (error) {
      out.findings.push(ruleFailed(c.rule, group.owner, item, error));
      out.ranks.push(-1);
      return;
    }
    out.findings.push(finding);
    out.ranks.push(maker.rank);
  }

  private makerOf(rule: Rule): FindingMaker {
    let maker = this.makers.get(rule);
    // A rule of no pack of this pack set (a caller's own group) gets its maker when it first fires.
    if (!maker) this.makers.set(rule, (maker = new FindingMaker(rule, this.order.rankOf(rule.id, rule.category))));
    return maker;
  }

  /** The rule's finding, or rule-failed when a fact its message needs throws. */
  private findingOrFailure(rule: Rule, owner: string, item: ScopeItem, facts: FactSource, severity?: Rule['severity']): Finding {
    try {
      return this.makerOf(rule).make(item, facts, severity);
    } catch (error) {
      return ruleFailed(rule, owner, item, error);
    }
  }

  /** Leaves out each finding that a finding of one of its rule's suppressedBy rules covers (every line of it). */
  private withoutSuppressed(findings: Finding[]): Finding[] {
    const kept = this.suppressedLeftOut(findings);
    return kept ? findings.filter((_, i) => kept[i]) : findings;
  }

  /**
   * Which findings withoutSuppressed keeps, position for position; undefined when it keeps
   * them all (mostly: few rules name suppressedBy), so that nothing is copied then.
   */
  private suppressedLeftOut(findings: readonly Finding[]): boolean[] | undefined {
    if (this.suppressions.size === 0 || findings.length < 2) return undefined;
    let kept: boolean[] | undefined;
    for (let i = 0; i < findings.length; i++) {
      const f = findings[i]!;
      const by = this.suppressions.get(f.ruleId);
      if (!by || !findings.some((g) => g !== f && by.has(g.ruleId) && f.lines.every((l) => g.lines.includes(l)))) continue;
      kept ??= findings.map(() => true);
      kept[i] = false;
    }
    return kept;
  }
}

function runContext(claim: ClaimView, tables: readonly TableCoverage[], options: ScrubOptions, globalDays: GlobalDaysLookup | undefined): RunContext {
  const run: RunContext = { claim, today: options.asOf ?? todayIso(), tables };
  if (options.history) {
    run.history = options.history;
    if (globalDays) run.globalDays = globalDays;
  }
  return run;
}

/** What the fast path's one FactSource is pointed at. */
interface FactsAt {
  item: ScopeItem | undefined;
  context: PackContext | undefined;
}

/** A claim's findings so far, with each one's rank (-1: none). */
interface Found {
  findings: Finding[];
  ranks: number[];
}

/**
 * Splits a selection's groups into those that run under one index per scope (see MergedRun) and
 * those that run one by one: a group with no index, one whose index reads a fact whose value
 * depends on the pack's parameters, a pair group whose index cannot
 * list its pairs from the lines, and a scope's only group.
 */
function mergeGroups(groups: readonly GroupRun[], catalog: FactCatalog): { single: GroupRun[]; merged: MergedRun[] } {
  const byScope = new Map<ScopeKey, GroupRun[]>();
  const single: GroupRun[] = [];
  for (const g of groups) {
    const pairScope = g.scopeKey === 'line-pair' || g.scopeKey === 'line-pair-ordered';
    if (!g.index || g.index.readsPackFacts || (pairScope && !g.index.pairwise)) single.push(g);
    else {
      const list = byScope.get(g.scopeKey);
      if (list) list.push(g);
      else byScope.set(g.scopeKey, [g]);
    }
  }
  const merged: MergedRun[] = [];
  for (const [scopeKey, runs] of byScope) {
    if (runs.length === 1) {
      single.push(runs[0]!);
      continue;
    }
    const rules = runs.flatMap((g) => g.rules.map((c) => ({ conditions: c.rule.conditions, total: c.total, params: g.context.params })));
    const facts = [...new Set(runs.flatMap((g) => g.rules.flatMap((c) => c.rule.facts)))].sort();
    const runOf = new Int32Array(rules.length);
    const positionOf = new Int32Array(rules.length);
    let at = 0;
    runs.forEach((g, r) => {
      for (let p = 0; p < g.rules.length; p++, at++) {
        runOf[at] = r;
        positionOf[at] = p;
      }
    });
    const index = new RuleIndex(rules, facts, catalog, undefined, new IndexKeys(), scopeKey);
    // Keyed as in each group's own index, which reads no such fact; kept apart should that ever differ.
    if (index.readsPackFacts) single.push(...runs);
    else merged.push({ scopeKey, index, runs, runOf, positionOf });
  }
  return { single, merged };
}

function samePositions(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Scope items are built the first time a group needs them, then shared by every pack. */
function scopeItemCache(claim: ClaimView, history: HistoryView | undefined): (key: ScopeKey) => ScopeItem[] {
  const items = new Map<ScopeKey, ScopeItem[]>();
  return (key) => {
    let list = items.get(key);
    if (!list) items.set(key, (list = buildScopeItems(claim, key, history)));
    return list;
  };
}

/** Pair items built one at a time, by position among the scope's items, and kept for the claim's other groups. */
function pairItemCache(claim: ClaimView): (key: ScopeKey, position: number) => ScopeItem {
  const built = new Map<ScopeKey, Array<ScopeItem | undefined>>();
  return (key, position) => {
    let list = built.get(key);
    if (!list) built.set(key, (list = []));
    return (list[position] ??= pairItemAt(claim.lines, key === 'line-pair-ordered', position));
  };
}

/** A payer pack's parameters that the base pack declares; the rest are the payer pack's own. */
function pickKnown(params: Record<string, unknown>, declared: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(params).filter(([k]) => k in declared));
}

/** The ruleId of the finding that stands for a rule that threw while it ran. */
export const RULE_FAILED = 'rule-failed';

/**
 * A rule that throws (a value of a type the loader could not check, a fact that fails on odd
 * data) is a defect of its pack, not of the claim: the claim gets this finding in the rule's
 * place, with every other finding, instead of failing as a whole. Severity error: the claim was
 * not checked against the rule, so it must not pass as if it had been.
 */
function ruleFailed(rule: Rule, owner: string, item: ScopeItem, error: unknown): Finding {
  const reason = describeError(error);
  const target = item.scope === 'claim' ? 'the claim' : item.label;
  return {
    ruleId: RULE_FAILED,
    pack: rule.pack,
    category: rule.category,
    severity: 'error',
    message: `Rule "${rule.id}" of pack "${rule.pack}" could not be evaluated for ${target} (${reason}), so the claim was not checked against it. This is a defect in the pack: tell its owner, ${owner}.`,
    lines: item.lines,
    path: item.defaultPath,
    details: { rule: rule.id, owner, error: reason },
  };
}

/** The kind and message of what was thrown, kept short. */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return `a ${typeof error} was thrown`;
  const text = `${error.name}: ${error.message}`;
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}
