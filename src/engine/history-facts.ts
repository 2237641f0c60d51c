import { compileCodeList, type CodeMatcher } from '../claim/codes.js';
import { daysBetween, dayNumber } from '../claim/dates.js';
import type { LineView } from '../claim/view.js';
import type { FactDefinition, PackContext, RunContext } from './facts.js';
import { HistoryView, lineReference, type RecordedLine } from './history.js';
import type { CodeDateGroup, ScopeItem } from './scopes.js';
import { BOOLEAN, NUMBER, STRING, arrayOf, objectOf, type Shape } from './shapes.js';

/**
 * The facts of the history edits. Each reads the HistoryView fetched for the claim before
 * rules ran (RunContext.history) and the pack's parameters; none does any I/O, so both
 * evaluators stay synchronous. Findings built from them name earlier claims by claim id and
 * line only.
 */

/** The provider of a line of the claim being scrubbed, as recorded lines store it. */
export function providerOf(line: Pick<LineView, 'renderingProvider'>, claim: RunContext['claim']): string {
  return line.renderingProvider?.npi ?? claim.renderingProvider?.npi ?? claim.billingProvider.npi;
}

function sameModifierSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((m) => b.includes(m)) && b.every((m) => a.includes(m));
}

function historyOf(run: RunContext): HistoryView {
  return run.history ?? HistoryView.NONE;
}

/* ---------------- frequency limits (pack data) ---------------- */

/** A period a frequency limit counts over. */
export type LimitPeriod = { kind: 'lifetime' } | { kind: 'calendar-year' } | { kind: 'days'; count: number } | { kind: 'months'; count: number };

export interface FrequencyLimit {
  id: string;
  title: string;
  /** The billed codes the limit applies to. */
  codes: CodeMatcher;
  /** The codes whose recorded units count against it (default: `codes`). */
  counts: CodeMatcher;
  maxUnits: number;
  period: LimitPeriod;
  periodText: string;
  payerTypes?: readonly string[];
  reference: { title: string; url?: string; citation?: string };
}

const PERIOD = /^(\d+)\s+(day|days|month|months)$/;

function parsePeriod(text: unknown): LimitPeriod | undefined {
  if (text === 'lifetime') return { kind: 'lifetime' };
  if (text === 'calendar-year') return { kind: 'calendar-year' };
  const m = typeof text === 'string' ? PERIOD.exec(text.trim()) : null;
  if (!m || Number(m[1]) < 1) return undefined;
  return { kind: m[2]!.startsWith('day') ? 'days' : 'months', count: Number(m[1]) };
}

function describePeriod(p: LimitPeriod): string {
  switch (p.kind) {
    case 'lifetime':
      return 'per lifetime';
    case 'calendar-year':
      return 'per calendar year';
    case 'days':
      return `per ${p.count} days`;
    case 'months':
      return `per ${p.count} months (counted in calendar months)`;
  }
}

function codeList(value: unknown, what: string): CodeMatcher {
  if (!Array.isArray(value) || value.length === 0 || !value.every((c) => typeof c === 'string')) {
    throw new Error(`${what} must be a list of procedure codes`);
  }
  return compileCodeList(value as string[]);
}

/** Parses the `frequencyLimits` parameter; a malformed entry is an error naming the entry. */
export function parseFrequencyLimits(value: unknown): FrequencyLimit[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new Error('the parameter frequencyLimits must be a list of limits');
  return value.map((raw: unknown, i) => {
    const entry = (raw ?? {}) as Record<string, unknown>;
    const where = `frequencyLimits entry ${i + 1}${typeof entry.id === 'string' ? ` ("${entry.id}")` : ''}`;
    if (typeof entry.id !== 'string' || typeof entry.title !== 'string') throw new Error(`${where} needs an id and a title`);
    const maxUnits = entry.maxUnits;
    if (typeof maxUnits !== 'number' || !Number.isInteger(maxUnits) || maxUnits < 1) throw new Error(`${where}: maxUnits must be a whole number of at least 1`);
    const period = parsePeriod(entry.per);
    if (!period) throw new Error(`${where}: per must be lifetime, calendar-year, "N days" or "N months", not ${JSON.stringify(entry.per)}`);
    const reference = entry.reference as FrequencyLimit['reference'] | undefined;
    if (!reference || typeof reference.title !== 'string') throw new Error(`${where} needs a reference with a title (the policy it encodes)`);
    const limit: FrequencyLimit = {
      id: entry.id,
      title: entry.title,
      codes: codeList(entry.codes, `${where}: codes`),
      counts: codeList(entry.counts ?? entry.codes, `${where}: counts`),
      maxUnits,
      period,
      periodText: describePeriod(period),
      reference,
    };
    if (entry.payerTypes !== undefined) {
      if (!Array.isArray(entry.payerTypes)) throw new Error(`${where}: payerTypes must be a list such as [medicare]`);
      limit.payerTypes = entry.payerTypes as string[];
    }
    return limit;
  });
}

/** Whether two dates of service fall in one period of a limit (either may be the earlier). */
export function inOnePeriod(period: LimitPeriod, a: string, b: string): boolean {
  switch (period.kind) {
    case 'lifetime':
      return true;
    case 'calendar-year':
      return a.slice(0, 4) === b.slice(0, 4);
    case 'days':
      return Math.abs(daysBetween(a, b)) < period.count;
    case 'months': {
      // CMS counts these in whole months after the month of the last service ("11 full
      // months must have passed following the month of the last screening"): a service in
      // month M blocks months M-(N-1) .. M+(N-1).
      const month = (d: string) => Number(d.slice(0, 4)) * 12 + Number(d.slice(5, 7));
      return Math.abs(month(a) - month(b)) < period.count;
    }
  }
}

/* ---------------- global surgery (the fee schedule, else pack data) ---------------- */

/** Global days of a procedure code on a date: from the fee schedule once loaded, else from pack data. */
export type GlobalDaysLookup = (code: string, serviceDate: string) => { days: number; source: string } | undefined;

interface GlobalDaysEntry {
  days: number;
  codes: CodeMatcher;
}

export function parseGlobalDays(value: unknown): GlobalDaysEntry[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new Error('the parameter globalDays must be a list of { days, codes } entries');
  return value.map((raw: unknown, i) => {
    const entry = (raw ?? {}) as Record<string, unknown>;
    const days = entry.days;
    if (typeof days !== 'number' || !Number.isInteger(days) || days < 0) throw new Error(`globalDays entry ${i + 1}: days must be a whole number (0, 10 or 90)`);
    return { days, codes: codeList(entry.codes, `globalDays entry ${i + 1}: codes`) };
  });
}

interface PackData {
  limits: FrequencyLimit[];
  globalDays: GlobalDaysEntry[];
  /** The limits whose codes a billed code is among, by code, as codes are met (most lines: none). */
  limitsByCode: Map<string, readonly FrequencyLimit[]>;
}

/** Codes whose limits limitsOf keeps per parameter set; past this the map starts again (memory stays bounded). */
const CODES_KEPT = 20_000;

/** Parsed pack data, once per parameter set (the same object for every claim of a selection). */
const parsed = new WeakMap<object, PackData>();
function packData(pack: PackContext): PackData {
  let data = parsed.get(pack.params);
  if (!data) {
    data = { limits: parseFrequencyLimits(pack.params.frequencyLimits), globalDays: parseGlobalDays(pack.params.globalDays), limitsByCode: new Map() };
    parsed.set(pack.params, data);
  }
  return data;
}

/** The frequency limits that apply to a billed code, in the parameter's order. */
function limitsOf(data: PackData, code: string): readonly FrequencyLimit[] {
  let limits = data.limitsByCode.get(code);
  if (limits === undefined) {
    const matching = data.limits.filter((limit) => limit.codes.matches(code));
    limits = matching.length === 0 ? NO_LIMITS : matching;
    if (data.limitsByCode.size >= CODES_KEPT) data.limitsByCode.clear();
    data.limitsByCode.set(code, limits);
  }
  return limits;
}

const NO_LIMITS: readonly FrequencyLimit[] = [];

function globalDaysOf(code: string, date: string, run: RunContext, pack: PackContext): { days: number; source: string } | undefined {
  const fromTable = run.globalDays?.(code, date);
  if (fromTable) return fromTable;
  for (const entry of packData(pack).globalDays) if (entry.codes.matches(code)) return { days: entry.days, source: 'pack parameter globalDays' };
  return undefined;
}

function addDays(iso: string, days: number): string {
  return new Date((dayNumber(iso) + days) * 86_400_000).toISOString().slice(0, 10);
}

/* ---------------- the facts ---------------- */

const frequencyShape = objectOf({
  exceeded: BOOLEAN,
  id: STRING,
  title: STRING,
  maxUnits: NUMBER,
  period: STRING,
  recordedUnits: NUMBER,
  totalUnits: NUMBER,
  earlier: arrayOf(STRING),
  reference: STRING,
});

const globalPeriodShape = objectOf({
  claimId: STRING,
  line: NUMBER,
  procedureCode: STRING,
  serviceDate: STRING,
  globalDays: NUMBER,
  endsOn: STRING,
  source: STRING,
  reference: STRING,
});

const recordedLineShape = objectOf({
  claimId: STRING,
  line: NUMBER,
  reference: STRING,
  procedureCode: STRING,
  modifiers: arrayOf(STRING),
  units: NUMBER,
  charge: NUMBER,
  serviceDate: STRING,
  sameProvider: BOOLEAN,
  samePayer: BOOLEAN,
});

export const historyShape: Shape = objectOf({
  consulted: BOOLEAN,
  // line rules
  sameDayLines: arrayOf(recordedLineShape),
  exactDuplicates: arrayOf(STRING),
  suspectDuplicates: arrayOf(STRING),
  frequency: frequencyShape,
  globalPeriods: arrayOf(STRING),
  globalPeriod: globalPeriodShape,
  // code-date rules
  recordedUnits: NUMBER,
  totalUnits: NUMBER,
  recordedLines: arrayOf(STRING),
});

/** A recorded line as the `recorded` fact and `history.sameDayLines` show it. */
export interface RecordedLineFact {
  claimId: string;
  line: number;
  reference: string;
  procedureCode: string;
  modifiers: string[];
  units: number;
  charge: number;
  serviceDate: string;
  sameProvider: boolean;
  samePayer: boolean;
}

export function recordedLineFact(recorded: RecordedLine, provider: string, payerId: string): RecordedLineFact {
  return {
    claimId: recorded.claimId,
    line: recorded.lineNumber,
    reference: lineReference(recorded),
    procedureCode: recorded.procedureCode,
    modifiers: recorded.modifiers,
    units: recorded.units,
    charge: recorded.charge,
    serviceDate: recorded.serviceDate,
    sameProvider: recorded.providerNpi === provider,
    samePayer: recorded.payerId === payerId,
  };
}

function frequencyFor(line: LineView, history: HistoryView, run: RunContext, pack: PackContext) {
  const code = line.procedureCode;
  if (code === undefined) return NOT_EXCEEDED;
  for (const limit of limitsOf(packData(pack), code)) {
    if (limit.payerTypes && (run.claim.payer.type === undefined || !limit.payerTypes.includes(run.claim.payer.type))) continue;
    let recordedUnits = 0;
    const earlier: string[] = [];
    for (const r of history.lines) {
      if (!limit.counts.matches(r.procedureCode) || !inOnePeriod(limit.period, r.serviceDate, line.serviceDate)) continue;
      recordedUnits += r.units;
      earlier.push(`${lineReference(r)} (${r.procedureCode} on ${r.serviceDate})`);
    }
    const totalUnits = recordedUnits + line.units;
    if (recordedUnits > 0 && totalUnits > limit.maxUnits) {
      const ref = limit.reference;
      return {
        exceeded: true,
        id: limit.id,
        title: limit.title,
        maxUnits: limit.maxUnits,
        period: limit.periodText,
        recordedUnits,
        totalUnits,
        earlier,
        reference: [ref.title, ref.citation, ref.url].filter(Boolean).join(', '),
      };
    }
  }
  return NOT_EXCEEDED;
}

/** What a line sees when the patient has no recorded lines (most claims): built once. */
const NOTHING_RECORDED = [true, false].map((consulted) =>
  Object.freeze({ consulted, sameDayLines: [], exactDuplicates: [], suspectDuplicates: [], frequency: { exceeded: false }, globalPeriods: [] }),
);

function duplicatesOf(line: LineView, sameDay: readonly RecordedLine[], provider: string) {
  if (sameDay.length === 0) return { exact: NO_REFERENCES, suspect: NO_REFERENCES };
  const exact: string[] = [];
  const suspect: string[] = [];
  if (line.procedureCode !== undefined) {
    for (const r of sameDay) {
      if (r.procedureCode !== line.procedureCode || r.providerNpi !== provider) continue;
      const same = sameModifierSet(r.modifiers, line.modifiers) && r.units === line.units && r.charge === line.charge;
      (same ? exact : suspect).push(lineReference(r));
    }
  }
  return { exact, suspect };
}

/** A recorded procedure with a post-operative global period (more than 0 days). */
interface Surgery {
  recorded: RecordedLine;
  days: number;
  source: string;
  /** Its date of service as a day number. */
  day: number;
}

/**
 * The patient's recorded procedures that can put a line of this claim in a global period, in
 * recorded order: those of a provider of the claim's lines, dated before its last date of
 * service, with more than 0 global days. They depend on the claim, the recorded lines, the
 * pack's globalDays and the loaded fee schedule only, so they are looked up once per claim and
 * pack, not once per line (the fee schedule lookup was most of the line fact's cost).
 */
function surgeriesOf(history: HistoryView, run: RunContext, pack: PackContext): readonly Surgery[] {
  const known = history.memo(pack.params, () => ({ claim: run.claim, lookup: run.globalDays, surgeries: findSurgeries(history, run, pack) }));
  // A view consulted for another claim or under another fee schedule (reused by a caller) works them out again.
  return known.claim === run.claim && known.lookup === run.globalDays ? known.surgeries : findSurgeries(history, run, pack);
}

function findSurgeries(history: HistoryView, run: RunContext, pack: PackContext): Surgery[] {
  const claim = run.claim;
  let last = '';
  const providers: string[] = [];
  for (const line of claim.lines) {
    if (line.serviceDate > last) last = line.serviceDate;
    const provider = providerOf(line, claim);
    if (!providers.includes(provider)) providers.push(provider);
  }
  const surgeries: Surgery[] = [];
  for (const r of history.lines) {
    if (r.serviceDate >= last || !providers.includes(r.providerNpi)) continue;
    const global = globalDaysOf(r.procedureCode, r.serviceDate, run, pack);
    if (global && global.days !== 0) surgeries.push({ recorded: r, days: global.days, source: global.source, day: dayNumber(r.serviceDate) });
  }
  return surgeries;
}

/** Recorded procedures of the provider whose post-operative period covers the line's date. */
function globalPeriodsOf(line: LineView, history: HistoryView, provider: string, run: RunContext, pack: PackContext): Array<Record<string, unknown>> {
  const surgeries = surgeriesOf(history, run, pack);
  if (surgeries.length === 0) return NO_PERIODS;
  const periods: Array<Record<string, unknown>> = [];
  const day = dayNumber(line.serviceDate);
  for (const { recorded: r, days, source, day: recordedDay } of surgeries) {
    if (r.providerNpi !== provider || r.serviceDate >= line.serviceDate || day - recordedDay > days) continue;
    const endsOn = addDays(r.serviceDate, days);
    periods.push({
      claimId: r.claimId,
      line: r.lineNumber,
      procedureCode: r.procedureCode,
      serviceDate: r.serviceDate,
      globalDays: days,
      endsOn,
      source,
      reference: `${lineReference(r)} (${r.procedureCode} on ${r.serviceDate}, ${days}-day global period to ${endsOn})`,
    });
  }
  return periods;
}

/** Shared empty answers of the line fact (most lines): never changed by anyone who reads them. */
const NO_PERIODS: Array<Record<string, unknown>> = [];
const NO_REFERENCES: string[] = [];
const NO_FACTS: RecordedLineFact[] = [];
const NOT_EXCEEDED = Object.freeze({ exceeded: false });

function lineHistory(line: LineView, run: RunContext, pack: PackContext) {
  const history = historyOf(run);
  const nothing = NOTHING_RECORDED[history.consulted ? 0 : 1]!;
  if (history.lines.length === 0) return nothing;
  const provider = providerOf(line, run.claim);
  const sameDay = history.onDate(line.serviceDate);
  const frequency = frequencyFor(line, history, run, pack);
  const periods = globalPeriodsOf(line, history, provider, run, pack);
  // Most lines of a patient with history: no recorded line that day, no limit reached, no
  // global period: no history rule can fire, and the line sees what a patient without history
  // sees (one shared object instead of one per line).
  if (sameDay.length === 0 && frequency === NOT_EXCEEDED && periods === NO_PERIODS) return nothing;
  // Worked out at once: own data properties are what paths read fastest, and a patient's
  // history is a few lines (getters made per object cost more than the work they defer).
  const duplicates = duplicatesOf(line, sameDay, provider);
  return {
    consulted: history.consulted,
    sameDayLines: sameDay.length === 0 ? NO_FACTS : sameDay.map((r) => recordedLineFact(r, provider, run.claim.payer.id)),
    exactDuplicates: duplicates.exact,
    suspectDuplicates: duplicates.suspect,
    frequency,
    globalPeriods: periods.length === 0 ? NO_REFERENCES : periods.map((g) => g.reference as string),
    globalPeriod: periods[0],
  };
}

function codeDateHistory(group: CodeDateGroup, run: RunContext) {
  const history = historyOf(run);
  if (history.lines.length === 0) return { consulted: history.consulted, recordedUnits: 0, totalUnits: group.units, recordedLines: [] };
  const firstLine = run.claim.lines[group.firstIndex]!;
  const provider = providerOf(firstLine, run.claim);
  let recordedUnits = 0;
  const recordedLines: string[] = [];
  for (const r of history.onDate(group.serviceDate)) {
    if (r.procedureCode !== group.procedureCode || r.providerNpi !== provider) continue;
    recordedUnits += r.units;
    recordedLines.push(lineReference(r));
  }
  return { consulted: history.consulted, recordedUnits, totalUnits: Math.round((recordedUnits + group.units) * 1000) / 1000, recordedLines };
}

function problemOf(parse: (value: unknown) => unknown): (value: unknown) => string | undefined {
  return (value) => {
    try {
      parse(value);
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  };
}

export const HISTORY_FACTS: readonly FactDefinition[] = [
  {
    name: 'history',
    scopes: ['claim', 'line', 'code-date'],
    description:
      "the patient's claims recorded earlier (same patient key, other claim ids), fetched once before rules run. " +
      'consulted: whether history was used for this scrub. Line rules: sameDayLines (recorded lines on the date of service), ' +
      'exactDuplicates and suspectDuplicates (references "CLAIM line N" of recorded lines with the same code, provider and date: exact when modifiers, units and charge match too), ' +
      'frequency (the first frequency limit of the pack parameter frequencyLimits that the line exceeds: exceeded, title, maxUnits, period, recordedUnits, earlier, reference), ' +
      'globalPeriods (references of the recorded procedures of the same provider whose post-operative global period covers the date; the global days come from the loaded fee schedule edition that covers the recorded procedure\'s date of service, else from the parameter globalDays) and globalPeriod (the first of them: claimId, line, procedureCode, serviceDate, globalDays, endsOn, source: the edition or "pack parameter globalDays"). ' +
      'Code-date rules: recordedUnits and recordedLines (the code on the date for the same provider), totalUnits (with this claim\'s units)',
    shape: historyShape,
    parameters: { frequencyLimits: problemOf(parseFrequencyLimits), globalDays: problemOf(parseGlobalDays) },
    value: (item: ScopeItem, run, pack) => {
      if (item.scope === 'line') return lineHistory(item.values.line as LineView, run, pack);
      if (item.scope === 'code-date') return codeDateHistory(item.values.group as CodeDateGroup, run);
      return { consulted: historyOf(run).consulted };
    },
  },
  {
    name: 'recorded',
    scopes: ['history-pair'],
    description:
      'the recorded line of a history pair: claimId, line, reference ("CLAIM line N"), procedureCode, modifiers, units, charge, serviceDate, ' +
      'sameProvider (same rendering NPI as this claim\'s line), samePayer',
    shape: recordedLineShape,
    value: (item) => item.values.recorded,
  },
];
