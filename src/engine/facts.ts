import { addDays, ageOn, daysBetween, sameDayYearsLater } from '../claim/dates.js';
import { claimSchema } from '../claim/schema.js';
import {
  DERIVED_CLAIM_FIELDS,
  DERIVED_DIAGNOSIS_FIELDS,
  DERIVED_LINE_FIELDS,
  type ClaimView,
  type LineView,
} from '../claim/view.js';
import { isDatedValue, valueOnDate } from '../packs/model.js';
import type { HistoryView } from './history.js';
import { HISTORY_FACTS, type GlobalDaysLookup } from './history-facts.js';
import { OWN_DIAGNOSIS, OWN_LINE, viewFieldsRead, type FieldPath } from './reads.js';
import type { Scope, ScopeItem } from './scopes.js';
import {
  ANY,
  BOOLEAN,
  NUMBER,
  STRING,
  arrayOf,
  objectOf,
  shapeFromSchema,
  withOptionalProps,
  withProps,
  type Shape,
} from './shapes.js';

/** A data table the rules of a claim's packs read, and the dates of service its editions cover. */
export interface TableCoverage {
  /** The table's name, which is also its fact's. */
  name: string;
  /** In words: "ICD-10-CM order file". */
  title: string;
  editions: ReadonlyArray<{ edition: string; covers?: { from?: string; to?: string } }>;
}

/** Everything a fact may read while one claim is scrubbed. */
export interface RunContext {
  claim: ClaimView;
  /** The date "today" means: the caller's `asOf`, or the current date. */
  today: string;
  /** The tables that the rules of the packs applying to the claim read (tableEditions reports on them). */
  tables?: readonly TableCoverage[];
  /** The patient's recorded claims, fetched before rules run; absent: history not consulted. */
  history?: HistoryView;
  /**
   * Global days of a procedure code from a loaded fee schedule (MPFS PPRRVU "GLOB DAYS");
   * the history pack's `globalDays` parameter answers for codes it does not know.
   */
  globalDays?: GlobalDaysLookup;
}

function coveredBy(editions: TableCoverage['editions'], date: string): boolean {
  for (const { covers } of editions) {
    if (!covers || ((covers.from === undefined || covers.from <= date) && (covers.to === undefined || date <= covers.to))) return true;
  }
  return false;
}

type TableEditionsValue = { missing: Array<{ table: string; title: string; dates: string[]; editions: string[] }>; tables: string[]; dates: string[]; text: string };

/**
 * What tableEditions knows of a list of tables (one list per pack selection and payer type):
 * each table's edition names, and the answer for each single date of service, frozen and
 * shared by every claim of that one date that asks. A claim with several dates of service
 * (about half of them, and their sets of dates seldom repeat) gets an answer of its own.
 */
interface EditionGaps {
  editions: ReadonlyArray<readonly string[]>;
  byDate: Map<string, TableEditionsValue>;
}
const editionGaps = new WeakMap<readonly TableCoverage[], EditionGaps>();
const EDITION_GAPS_PER_TABLE_LIST = 4_096;
const NO_EDITION_GAPS: TableEditionsValue = deepFrozen({ missing: [], tables: [], dates: [], text: '' });

/** The claim's dates of service that some table read by its packs has no edition for. */
function missingEditions(run: RunContext): TableEditionsValue {
  const tables = run.tables;
  if (!tables || tables.length === 0) return NO_EDITION_GAPS;
  let gaps = editionGaps.get(tables);
  if (!gaps) editionGaps.set(tables, (gaps = { editions: tables.map((t) => Object.freeze(t.editions.map((e) => e.edition))), byDate: new Map() }));
  const lines = run.claim.lines;
  if (lines.length === 0) return NO_EDITION_GAPS;
  const first = lines[0]!.serviceDate;
  let dates: string[] | undefined;
  for (let i = 1; i < lines.length; i++) {
    const date = lines[i]!.serviceDate;
    if (date === first || dates?.includes(date)) continue;
    (dates ??= [first]).push(date);
  }
  if (dates) return missingEditionsOn(tables, gaps.editions, dates.sort());
  let value = gaps.byDate.get(first);
  if (!value) {
    if (gaps.byDate.size >= EDITION_GAPS_PER_TABLE_LIST) gaps.byDate.clear();
    gaps.byDate.set(first, (value = deepFrozen(missingEditionsOn(tables, gaps.editions, [first]))));
  }
  return value;
}

/** The answer for dates of service given in order, once each; `editions`: each table's edition names. */
function missingEditionsOn(tables: readonly TableCoverage[], editions: EditionGaps['editions'], dates: readonly string[]): TableEditionsValue {
  const missing: TableEditionsValue['missing'] = [];
  for (let i = 0; i < tables.length; i++) {
    const t = tables[i]!;
    const uncovered = dates.filter((d) => !coveredBy(t.editions, d));
    if (uncovered.length > 0) missing.push({ table: t.name, title: t.title, dates: uncovered, editions: editions[i] as string[] });
  }
  if (missing.length === 0) return NO_EDITION_GAPS;
  // The dates are in order and once each, and each table's are some of them: so are these.
  const allDates = missing.length === 1 ? missing[0]!.dates : dates.filter((d) => missing.some((m) => m.dates.includes(d)));
  const text = missing.map((m) => `${m.title} (${m.table}) for ${m.dates.join(', ')}`).join('; ');
  return { missing, tables: missing.map((m) => m.table), dates: allDates, text };
}

function deepFrozen<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFrozen(v);
    Object.freeze(value);
  }
  return value;
}

/** What one pack contributes to a fact's value: its parameters (after payer overrides). */
export interface PackContext {
  params: Readonly<Record<string, unknown>>;
}

/** A line's key as the first or the second line of a pair (FactDefinition.pairKeys); undefined: none. */
export type PairKey = (line: LineView, role: 'first' | 'second') => unknown;

export interface FactDefinition {
  name: string;
  /** The scopes whose rules may use the fact. */
  scopes: readonly Scope[];
  description: string;
  /** The fact's shape, for checking paths; `params` depends on the pack. */
  shape: Shape | ((pack: { parameters: Record<string, unknown> }) => Shape);
  value(item: ScopeItem, run: RunContext, pack: PackContext, params?: Record<string, unknown>): unknown;
  /**
   * Pack parameters the fact reads itself (pack data such as frequency limits), each with its
   * check: a problem in words, or undefined. The loader refuses a pack whose rules use the
   * fact when a value it declares fails the check.
   */
  parameters?: Readonly<Record<string, (value: unknown) => string | undefined>>;
  /**
   * The claim fields the fact's value at `path` depends on (see engine/reads.ts), so that a
   * malformed field stops only the rules that read it. Without it, the fact is taken to read
   * the whole claim. The dates of service are not listed: a claim whose dates are malformed
   * is not scrubbed at all (packs and rules apply by date of service).
   */
  reads?(path: readonly string[]): FieldPath[];
  /**
   * For a fact of line pairs: by path, a value that `path equal value` can meet only on a pair
   * whose first line's key (as a first line) is the second line's key (as a second line), and
   * is not undefined. The rule index then skips every other pair without building it: a PTP
   * edit is found only between lines of one date whose codes the table has in its columns.
   * Each key must be a necessary condition, never a sufficient one: the rules still decide.
   */
  pairKeys?: Readonly<Record<string, { value: unknown; key: PairKey }>>;
  /**
   * The value depends on the scope item and the claim alone, never on the pack reading it (its
   * parameters): on an item that rules of several packs reach, it is computed once for them all.
   * Absent: computed again for each pack.
   */
  samePerPack?: boolean;
}

const ALL_SCOPES: readonly Scope[] = ['claim', 'line', 'line-pair', 'diagnosis', 'code-date', 'history-pair'];

const described = (fields: Record<string, string>, types: Record<string, Shape>): Record<string, Shape> =>
  Object.fromEntries(Object.keys(fields).map((k) => [k, types[k] ?? ANY]));

const claimShape = shapeFromSchema(claimSchema);
const { effectivePlaceOfService: _optional, ...alwaysDerivedLineFields } = DERIVED_LINE_FIELDS;
const lineShape = withOptionalProps(
  withProps(
    shapeFromSchema({ $ref: '#/$defs/line' }, claimSchema),
    described(alwaysDerivedLineFields, { number: NUMBER, index: NUMBER, sameDayCodes: arrayOf(STRING), sameDayProviderCodes: arrayOf(STRING), renderingNpi: STRING, service: STRING }),
    ['modifiers', 'diagnosisPointers'], // the view fills them in with empty lists
  ),
  { effectivePlaceOfService: STRING }, // missing when neither the line nor the claim has one
);
const diagnosisShape = withProps(
  shapeFromSchema({ $ref: '#/$defs/diagnosis' }, claimSchema),
  described(DERIVED_DIAGNOSIS_FIELDS, {
    normalizedCode: STRING,
    number: NUMBER,
    index: NUMBER,
    isFirst: BOOLEAN,
    pointedBy: arrayOf(NUMBER),
    lineModifiers: arrayOf(STRING),
  }),
);
const claimViewShape =
  claimShape.kind === 'object'
    ? withProps(
        { ...claimShape, props: { ...claimShape.props, lines: arrayOf(lineShape), diagnoses: arrayOf(diagnosisShape) } },
        described(DERIVED_CLAIM_FIELDS, { firstServiceDate: STRING, lastServiceDate: STRING, frequency: STRING, billTypeClass: STRING }),
      )
    : claimShape;

const scopeValue = (name: string) => (item: ScopeItem) => item.values[name];
const lineReads = (path: readonly string[]) => viewFieldsRead(OWN_LINE, path);

/**
 * The date a claim's timely filing counts from (Medicare Claims Processing Manual ch. 1, 70.1):
 * on a professional claim each line's From date (the earliest one for a claim rule); on an
 * institutional claim the claim's Through date, for every line.
 */
function filingFrom(item: ScopeItem, run: RunContext): string {
  const claim = run.claim;
  if (claim.claimType === 'institutional') return claim.statementToDate ?? claim.lastServiceDate;
  const line = item.values.line as ClaimView['lines'][number] | undefined;
  return line ? line.serviceDate : claim.firstServiceDate;
}

/** What filingFrom and the filing date read. */
const FILING_READS: readonly FieldPath[] = [['submissionDate'], ['claimType'], ['statementToDate'], ['lines', '*', 'serviceDate'], ['lines', '*', 'serviceDateEnd']];

/** Parameters as in force on one date: per parameter set, the dated ones and each date's view. */
const datedViews = new WeakMap<object, { names: string[]; byDate: Map<string, Readonly<Record<string, unknown>>> }>();
const DATED_VIEWS_PER_PARAMETER_SET = 4_096;

function paramsOnDate(params: Readonly<Record<string, unknown>>, date: string): Readonly<Record<string, unknown>> {
  let views = datedViews.get(params);
  if (!views) datedViews.set(params, (views = { names: Object.keys(params).filter((k) => isDatedValue(params[k])), byDate: new Map() }));
  if (views.names.length === 0) return params;
  let view = views.byDate.get(date);
  if (!view) {
    const resolved: Record<string, unknown> = { ...params };
    for (const name of views.names) resolved[name] = valueOnDate(params[name] as Parameters<typeof valueOnDate>[0], date);
    if (views.byDate.size >= DATED_VIEWS_PER_PARAMETER_SET) views.byDate.clear();
    views.byDate.set(date, (view = resolved));
  }
  return view;
}

function cents(n: number): number {
  return Math.round(n * 100) / 100;
}

/** UB-04 revenue code 0001 is the total of the other lines (form locator 47, line 23), not a service. */
export const TOTAL_REVENUE_CODE = '0001';

/** The charges of the claim's service lines, added up unrounded. */
export function lineChargeSum(claim: { lines: ReadonlyArray<{ charge: number; revenueCode?: string }> }): number {
  let sum = 0;
  for (const l of claim.lines) if (l.revenueCode !== TOTAL_REVENUE_CODE) sum += l.charge;
  return sum;
}

export const STANDARD_FACTS: readonly FactDefinition[] = [
  {
    name: 'claim',
    samePerPack: true,
    scopes: ALL_SCOPES,
    description: 'the whole claim, with codes in upper case and derived fields (firstServiceDate, lastServiceDate)',
    shape: claimViewShape,
    value: (_item, run) => run.claim,
    reads: (path) => viewFieldsRead([], path),
  },
  {
    name: 'params',
    scopes: ALL_SCOPES,
    description: "the pack's parameters, after any payer pack's overrides",
    shape: (pack) => objectOf(Object.fromEntries(Object.keys(pack.parameters).map((k) => [k, ANY]))),
    value: (_item, _run, pack) => pack.params,
    reads: () => [],
  },
  {
    name: 'datedParams',
    scopes: ALL_SCOPES,
    description:
      "the pack's parameters as in force on the date of service: a parameter written as a list of dated entries " +
      '({ from, to, value }) reads as the value of the entry whose dates cover the date (missing when none does); ' +
      'every other parameter reads as it is',
    shape: (pack) => objectOf(Object.fromEntries(Object.keys(pack.parameters).map((k) => [k, ANY]))),
    value: (item, _run, pack) => paramsOnDate(pack.params, item.serviceDate),
    // The item's date of service: a line's, or the claim's first for claim and diagnosis rules.
    reads: () => [['lines', '*', 'serviceDate']],
  },
  {
    name: 'today',
    samePerPack: true,
    scopes: ALL_SCOPES,
    description: 'the date of the check (YYYY-MM-DD); tests pin it with asOf',
    shape: STRING,
    value: (_item, run) => run.today,
    reads: () => [],
  },
  {
    name: 'patientAge',
    samePerPack: true,
    scopes: ALL_SCOPES,
    description: "the patient's age in whole years on the date of service (for claim and diagnosis rules, the first date of service)",
    shape: NUMBER,
    value: (item, run) => ageOn(run.claim.patient.birthDate, item.serviceDate),
    reads: () => [['patient', 'birthDate']],
  },
  {
    name: 'diagnosisAge',
    samePerPack: true,
    scopes: ['diagnosis'],
    description:
      "the patient's age in whole years on the dates of service of the lines that point at the diagnosis (every line when none does): " +
      'youngest on the earliest of those dates, oldest on the latest, and both as text for messages ("45", or "17 to 18"); ' +
      'an age-specific code is out of range only when it is out of range on every date',
    shape: objectOf({ youngest: NUMBER, oldest: NUMBER, text: STRING }),
    value: (item, run) => {
      const diagnosis = item.values.diagnosis as ClaimView['diagnoses'][number];
      const pointing = run.claim.lines.filter((l) => diagnosis.pointedBy.includes(l.number));
      let earliest: string | undefined;
      let latest: string | undefined;
      for (const line of pointing.length > 0 ? pointing : run.claim.lines) {
        if (earliest === undefined || line.serviceDate < earliest) earliest = line.serviceDate;
        if (latest === undefined || line.serviceDate > latest) latest = line.serviceDate;
      }
      const birth = run.claim.patient.birthDate;
      const youngest = ageOn(birth, earliest ?? item.serviceDate);
      const oldest = ageOn(birth, latest ?? item.serviceDate);
      return { youngest, oldest, text: youngest === oldest ? String(youngest) : `${youngest} to ${oldest}` };
    },
    reads: () => [
      ['patient', 'birthDate'],
      ['lines', '*', 'diagnosisPointers'],
    ],
  },
  {
    name: 'tableEditions',
    samePerPack: true,
    scopes: ['claim'],
    description:
      "the claim's dates of service that no loaded edition of a table covers, among the tables read by the rules that apply to the claim " +
      "(its packs' rules, less those whose payer-type condition excludes the claim's payer type, and less tables a rule tests `covered` of, having a fallback): " +
      'missing (table, title, dates, editions loaded), tables, dates, and text for messages; on those dates the table gives no verdict',
    shape: objectOf({
      missing: arrayOf(objectOf({ table: STRING, title: STRING, dates: arrayOf(STRING), editions: arrayOf(STRING) })),
      tables: arrayOf(STRING),
      dates: arrayOf(STRING),
      text: STRING,
    }),
    value: (_item, run) => missingEditions(run),
    // It reads only the dates of service, which every claim that is scrubbed has well formed.
    reads: () => [],
  },
  {
    name: 'filingLagDays',
    samePerPack: true,
    scopes: ['claim', 'line'],
    description:
      "days from the date timely filing counts from (a professional line's From date, the earliest for claim rules; an institutional claim's Through date) " +
      'to the submission date, or to today when the claim has none',
    shape: NUMBER,
    value: (item, run) => daysBetween(filingFrom(item, run), run.claim.submissionDate ?? run.today),
    reads: () => [...FILING_READS],
  },
  {
    name: 'timelyFiling',
    scopes: ['claim', 'line'],
    description:
      "the pack's timely filing limit applied to the date of service: parameter timelyFilingDays (days after the date of service) or " +
      'timelyFilingCalendarYears (the same month and day that many years later, February 29 counting as February 28). ' +
      "from: a professional line's From date (the earliest for claim rules), an institutional claim's Through date; limit: the limit in words; " +
      'deadline: the last day a claim is on time; filedOn: the submission date, else today; daysAfterService; late. Missing when the pack sets neither limit',
    shape: objectOf({ from: STRING, limit: STRING, deadline: STRING, filedOn: STRING, daysAfterService: NUMBER, late: BOOLEAN }),
    value: (item, run, pack) => {
      const days = pack.params.timelyFilingDays;
      const years = pack.params.timelyFilingCalendarYears;
      const from = filingFrom(item, run);
      let deadline: string;
      let limit: string;
      if (typeof years === 'number' && years > 0) {
        deadline = sameDayYearsLater(from, years);
        limit = years === 1 ? 'one calendar year' : `${years} calendar years`;
      } else if (typeof days === 'number') {
        deadline = addDays(from, days);
        limit = days === 1 ? '1 day' : `${days} days`;
      } else {
        return undefined;
      }
      const filedOn = run.claim.submissionDate ?? run.today;
      return { from, limit, deadline, filedOn, daysAfterService: daysBetween(from, filedOn), late: filedOn > deadline };
    },
    reads: () => [...FILING_READS],
  },
  {
    name: 'lineChargeTotal',
    samePerPack: true,
    scopes: ['claim'],
    description: 'the sum of the line charges, rounded to cents (an institutional total line, revenue code 0001, is not counted)',
    shape: NUMBER,
    value: (_item, run) => cents(lineChargeSum(run.claim)),
    reads: () => [['lines', '*', 'charge'], ['lines', '*', 'revenueCode']],
  },
  {
    name: 'totalChargeDifference',
    samePerPack: true,
    scopes: ['claim'],
    description: 'totalCharge minus the sum of the line charges (without a revenue code 0001 total line), rounded to cents; missing when the claim gives no totalCharge',
    shape: NUMBER,
    value: (_item, run) => (run.claim.totalCharge === undefined ? undefined : cents(run.claim.totalCharge - lineChargeSum(run.claim))),
    reads: () => [['totalCharge'], ['lines', '*', 'charge'], ['lines', '*', 'revenueCode']],
  },
  {
    name: 'line',
    samePerPack: true,
    scopes: ['line', 'history-pair'],
    description: "the line being checked (in a history pair: this claim's line)",
    shape: lineShape,
    value: scopeValue('line'),
    reads: lineReads,
  },
  {
    name: 'first',
    samePerPack: true,
    scopes: ['line-pair', 'history-pair'],
    description: 'the first line of the pair (in a history pair: this claim\'s line or the recorded one, as the pair is ordered)',
    shape: lineShape,
    value: scopeValue('first'),
    reads: lineReads,
  },
  {
    name: 'second',
    samePerPack: true,
    scopes: ['line-pair', 'history-pair'],
    description: 'the second line of the pair (in a history pair: the other of the two)',
    shape: lineShape,
    value: scopeValue('second'),
    reads: lineReads,
  },
  {
    name: 'pair',
    samePerPack: true,
    scopes: ['line-pair'],
    description:
      'facts about the two lines together: sameServiceDate, sameProcedureCode, sameModifiers, sameRenderingProvider (the same rendering NPI), ' +
      'sharedModifiers (the modifiers both lines carry)',
    // Every field is always there: PairValues works them all out.
    shape: withProps(objectOf({}), { sameServiceDate: BOOLEAN, sameProcedureCode: BOOLEAN, sameModifiers: BOOLEAN, sameRenderingProvider: BOOLEAN, sharedModifiers: arrayOf(STRING) }),
    value: scopeValue('pair'),
    pairKeys: {
      sameServiceDate: { value: true, key: (line) => line.serviceDate },
      sameProcedureCode: { value: true, key: (line) => line.procedureCode },
      sameRenderingProvider: { value: true, key: (line) => line.renderingNpi },
    },
    reads: () => [
      ['lines', '@', 'serviceDate'],
      ['lines', '@', 'procedureCode'],
      ['lines', '@', 'modifiers'],
      ['lines', '@', 'renderingProvider'],
      ['renderingProvider'],
      ['billingProvider', 'npi'],
    ],
  },
  {
    name: 'diagnosis',
    samePerPack: true,
    scopes: ['diagnosis'],
    description: 'the diagnosis being checked',
    shape: diagnosisShape,
    value: scopeValue('diagnosis'),
    reads: (path) => viewFieldsRead(OWN_DIAGNOSIS, path),
  },
  {
    name: 'group',
    samePerPack: true,
    scopes: ['code-date'],
    description: 'the lines billing one procedure code on one date of service: procedureCode, serviceDate, units (summed), lines, count, modifiers',
    shape: objectOf({
      procedureCode: STRING,
      serviceDate: STRING,
      units: NUMBER,
      lines: arrayOf(NUMBER),
      count: NUMBER,
      firstIndex: NUMBER,
      lastIndex: NUMBER,
      modifiers: arrayOf(STRING),
    }),
    value: scopeValue('group'),
    reads: () => [
      ['lines', '@', 'procedureCode'],
      ['lines', '@', 'units'],
      ['lines', '@', 'modifiers'],
    ],
  },
  ...HISTORY_FACTS,
];

/** The facts a pack set offers: the standard ones plus any its tables add. */
export class FactCatalog {
  private readonly facts = new Map<string, FactDefinition>();
  /** Each fact's position, so that a FactSource can keep values in an array. */
  private readonly slots = new Map<string, number>();
  private readonly bySlot: FactDefinition[] = [];
  /** Bit i set: the fact of slot i (below 30) is samePerPack. */
  samePerPackBits = 0;
  constructor(definitions: Iterable<FactDefinition> = STANDARD_FACTS) {
    for (const d of definitions) this.add(d);
  }
  add(definition: FactDefinition): void {
    if (this.facts.has(definition.name)) throw new Error(`fact "${definition.name}" is defined twice`);
    this.facts.set(definition.name, definition);
    const slot = this.bySlot.length;
    this.slots.set(definition.name, slot);
    this.bySlot.push(definition);
    if (definition.samePerPack === true && slot < 30) this.samePerPackBits |= 1 << slot;
  }
  get(name: string): FactDefinition | undefined {
    return this.facts.get(name);
  }
  /** A new catalog with these facts added (this one is left as it was). */
  extendedWith(definitions: Iterable<FactDefinition>): FactCatalog {
    return new FactCatalog([...this.facts.values(), ...definitions]);
  }
  names(): string[] {
    return [...this.facts.keys()];
  }
  inScope(scope: Scope): FactDefinition[] {
    return [...this.facts.values()].filter((f) => f.scopes.includes(scope));
  }
  /** The fact's slot for FactSource.at, or undefined for an unknown fact. */
  slotOf(name: string): number | undefined {
    return this.slots.get(name);
  }
  definitionAt(slot: number): FactDefinition {
    return this.bySlot[slot]!;
  }
  get size(): number {
    return this.bySlot.length;
  }
}

function hasKeys(params: Record<string, unknown>): boolean {
  for (const key in params) if (Object.prototype.hasOwnProperty.call(params, key)) return true;
  return false;
}

/**
 * Fact values for one scope item and one pack, computed on first use and then remembered
 * (a rule set asks for `line` many times). Synchronous: both evaluators share it. Values sit in
 * an array by catalog slot, allocated on first use, with a bit per slot saying it is computed
 * (undefined is a value a fact may have): a scrub makes one FactSource per item and pack, so
 * it must cost next to nothing when few rules run.
 */
export class FactSource {
  private values: unknown[] | undefined;
  /** Bit i set: slot i (below 30) is computed. */
  private computed = 0;
  /** Computed slots from 30 up, for catalogs with that many facts. */
  private computedHigh: Set<number> | undefined;
  private withParams: Map<string, unknown> | undefined;
  constructor(
    readonly catalog: FactCatalog,
    private item: ScopeItem,
    private run: RunContext,
    private pack: PackContext,
  ) {}

  /**
   * Points this source at another item (and pack), forgetting every value: the scrubber's
   * synchronous fast path reuses one source for all the items of a claim instead of making one
   * per item and pack. Values a finding took from it are not touched; only the cache is reset.
   */
  reset(item: ScopeItem, run: RunContext, pack: PackContext): this {
    if (item === this.item && run === this.run) return this.forPack(pack);
    this.item = item;
    this.run = run;
    this.pack = pack;
    this.computed = 0;
    this.computedHigh?.clear();
    this.withParams?.clear();
    return this;
  }

  /** Points this source at another pack on the same item: the values that do not depend on the pack are kept. */
  private forPack(pack: PackContext): this {
    if (pack === this.pack) return this;
    this.pack = pack;
    this.computed &= this.catalog.samePerPackBits;
    const high = this.computedHigh;
    if (high !== undefined && high.size > 0) for (const slot of high) if (this.catalog.definitionAt(slot).samePerPack !== true) high.delete(slot);
    this.withParams?.clear();
    return this;
  }

  get(name: string, params?: Record<string, unknown>): unknown {
    if (params !== undefined && hasKeys(params)) return this.getWithParams(name, params);
    const slot = this.catalog.slotOf(name);
    return slot === undefined ? undefined : this.at(slot);
  }

  /** A fact by its catalog slot (the compiled evaluator looks slots up once, at compile time). */
  at(slot: number): unknown {
    if (slot < 30 ? (this.computed & (1 << slot)) !== 0 : this.computedHigh?.has(slot) === true) return this.values![slot];
    const value = this.catalog.definitionAt(slot).value(this.item, this.run, this.pack, undefined);
    (this.values ??= new Array<unknown>(this.catalog.size))[slot] = value;
    if (slot < 30) this.computed |= 1 << slot;
    else (this.computedHigh ??= new Set()).add(slot);
    return value;
  }

  private getWithParams(name: string, params: Record<string, unknown>): unknown {
    const key = `${name}\u0000${JSON.stringify(params)}`;
    const cache = (this.withParams ??= new Map());
    if (cache.has(key)) return cache.get(key);
    const def = this.catalog.get(name);
    const value = def ? def.value(this.item, this.run, this.pack, params) : undefined;
    cache.set(key, value);
    return value;
  }

}
