/**
 * The hand-written baseline of the benchmarks: every check of the bundled packs written directly
 * in TypeScript over the same CMS tables, as a team without a rule engine would write it, giving
 * the very same ScrubResult (the benchmark checks that on every claim before it times anything).
 *
 * What it shares with the product is what any scrubber of this contract needs whatever its
 * rules: the claim schema validator (structure findings are part of the output), the table
 * readers and their indexes (the same tables), the NPI check digit, date and code helpers, and
 * the final ordering of findings. The words of a finding come from the packs' message templates
 * (rendered only for findings, as the product does), so that a reworded message does not break
 * the comparison. The conditions are plain code. Professional claims only, as in the workload.
 * Not part of the product.
 */
import { compileCodeList, normalizeCode, type CodeMatcher } from '../src/claim/codes.js';
import { addDays, ageOn, daysBetween, isIsoDate, sameDayYearsLater } from '../src/claim/dates.js';
import type { Claim, Diagnosis, Line } from '../src/claim/claim.generated.js';
import { isValidNpi } from '../src/claim/npi.js';
import { serviceText } from '../src/claim/view.js';
import { checkClaimStructure, claimIdOf } from '../src/claim/validate.js';
import { resolvePath } from '../src/engine/path.js';
import { renderTemplate, renderValue } from '../src/engine/template.js';
import type { Finding, PackVersion, ScrubResult, Severity } from '../src/findings/finding.js';
import { buildResult } from '../src/findings/result.js';
import { inWindow, type PackSet, type Rule } from '../src/packs/model.js';
import { codeLookup, type DatedCodeSet } from '../src/tables/code-set.js';
import { OPEN_END, dateNumberOfIso, isoOfDateNumber } from '../src/tables/encoding.js';
import type { HcpcsIndex } from '../src/tables/formats/hcpcs.js';
import type { Icd10Index } from '../src/tables/formats/icd10cm-order.js';
import { TABLE_FORMAT_DEFINITIONS } from '../src/tables/formats/index.js';
import type { MceIndex } from '../src/tables/formats/mce.js';
import { feeScheduleValues, type FeeScheduleIndex } from '../src/tables/formats/mpfs-rvu.js';
import { addOnFacts, type AddOnIndex } from '../src/tables/formats/ncci-add-on.js';
import { Editions } from '../src/tables/editions.js';
import type { ClaimView, LineView } from '../src/claim/view.js';
import type { MueIndex } from '../src/tables/formats/mue.js';
import type { PtpIndex } from '../src/tables/formats/ncci-ptp.js';
import { RowCounter, type TableContext, type TableInfo } from '../src/tables/model.js';
import { tableFilePaths, type TableEnv } from '../test/support/table-codes.js';

const ICD10_FORM = /^[A-Za-z][0-9A-Za-z][A-Za-z0-9](\.?[A-Za-z0-9]{1,4})?$/u;
const PROCEDURE_FORM = /^([0-9]{4}[0-9A-Z]|[A-V][0-9]{4})$/u;
const LEVEL_II_CODE = /^[A-V][0-9]{4}$/;
const LEVEL_II_MODIFIER = /^[A-Z][A-Z0-9]$/;
const AMBULANCE_ORIGIN_DESTINATION = /^[DEGHIJNPRSX]{2}$/;
const ICD10_FROM = '2015-10-01';
const NDC_FORM = /^([0-9]{11}|[0-9]{5}-[0-9]{4}-[0-9]{2})$/u;
const CLIA_FORM = /^[0-9]{2}D[0-9]{7}$/u;
const DISTINCT_ON_EM = ['59', 'XE', 'XP', 'XS', 'XU'];
const TELEHEALTH_PLACES = ['02', '10'];
const MBI = /^[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9][0-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9][0-9][AC-HJKMNP-RT-Y]{2}[0-9]{2}$/u;

/** The completeness pack's parameters, compiled once. */
interface CompletenessParams {
  organizationBillingNpis: readonly string[];
  selfRenderingTaxonomies: readonly string[];
  organizationRenderedCodes: CodeMatcher;
  orderingProviderPayerTypes: readonly string[];
  /** Ordering-provider rules by the code list they read. */
  ordered: ReadonlyArray<{ ruleId: string; codes: CodeMatcher }>;
  nonMbiMedicarePayerIds: readonly string[];
}

function completenessParams(packSet: PackSet): CompletenessParams {
  const p = (name: string) => parameter(packSet, 'completeness', name);
  const codes = (name: string) => compileCodeList(p(name) as string[]);
  return {
    organizationBillingNpis: p('organizationBillingNpis') as string[],
    selfRenderingTaxonomies: p('selfRenderingTaxonomies') as string[],
    organizationRenderedCodes: codes('organizationRenderedCodes'),
    orderingProviderPayerTypes: p('orderingProviderPayerTypes') as string[],
    ordered: [
      { ruleId: 'lab-line-without-ordering-provider', codes: codes('laboratoryCodes') },
      { ruleId: 'imaging-line-without-ordering-provider', codes: codes('imagingCodes') },
      { ruleId: 'dmepos-line-without-ordering-provider', codes: codes('dmeposCodes') },
    ],
    nonMbiMedicarePayerIds: p('nonMbiMedicarePayerIds') as string[],
  };
}

interface Edition<Index> {
  index: Index;
  context: TableContext;
}

/** A table's editions, each judging the dates of service it covers (the newest start wins where two do). */
interface Table<Index> {
  name: string;
  title: string;
  editions: Array<Edition<Index>>;
}

function editionAt<Index>(table: Table<Index>, date: string): Edition<Index> | undefined {
  let best: Edition<Index> | undefined;
  for (const e of table.editions) {
    if (!inWindow(e.context.covers, date)) continue;
    if (!best || (e.context.covers?.from ?? '') > (best.context.covers?.from ?? '')) best = e;
  }
  return best;
}

type Values = Record<string, unknown>;

/** Reads a table the way its pack declared it, with the product's reader for the format. */
async function readTable<Index>(packSet: PackSet, env: TableEnv, pack: string, name: string): Promise<Table<Index>> {
  const owner = packSet.packs.find((p) => p.name === pack)!;
  const info: TableInfo = owner.tables.find((t) => t.name === name)!;
  const editions: Array<Edition<Index>> = [];
  for (const e of info.editions) {
    const files = tableFilePaths(owner.dir, info, e.files, env);
    const index = (await TABLE_FORMAT_DEFINITIONS.get(info.format)!.read(files, new RowCounter())) as Index;
    const context: TableContext = { name, edition: e.edition, complete: e.complete };
    if (e.covers) context.covers = e.covers;
    editions.push({ index, context });
  }
  return { name, title: info.title ?? info.format, editions };
}

function parameter(packSet: PackSet, pack: string, name: string): unknown {
  return packSet.packs.find((p) => p.name === pack)!.parameters[name]!.value;
}

const codes = (packSet: PackSet, pack: string, name: string): CodeMatcher => compileCodeList(parameter(packSet, pack, name) as string[]);
const upper = (packSet: PackSet, pack: string, name: string): string[] => (parameter(packSet, pack, name) as string[]).map((m) => m.toUpperCase());

/** A parameter written as dated entries: the value in force on a date. */
function onDate(entries: unknown, date: string): unknown {
  for (const e of entries as Array<{ from?: string; to?: string; value: unknown }>) {
    if ((e.from === undefined || e.from <= date) && (e.to === undefined || date <= e.to)) return e.value;
  }
  return undefined;
}

/** The code lists and modifier lists the new rules read, from their packs' parameters. */
function listsOf(packSet: PackSet) {
  return {
    minorProcedures: codes(packSet, 'modifiers', 'minorProcedureCodes'),
    problemVisits: codes(packSet, 'modifiers', 'problemVisitCodes'),
    preventiveVisits: codes(packSet, 'modifiers', 'preventiveVisitCodes'),
    emBypass: upper(packSet, 'modifiers', 'evaluationAndManagementBypassModifiers'),
    dmepos: codes(packSet, 'modifiers', 'dmeposCodes'),
    ptpEm: codes(packSet, 'cms-ncci-ptp', 'evaluationAndManagementCodes'),
    ptpEmModifiers: upper(packSet, 'cms-ncci-ptp', 'evaluationAndManagementModifiers'),
    ptpDistinct: upper(packSet, 'cms-ncci-ptp', 'distinctServiceModifiers'),
    ptpRepeat: upper(packSet, 'cms-ncci-ptp', 'repeatTestModifiers'),
    ptpLab: codes(packSet, 'cms-ncci-ptp', 'laboratoryCodes'),
    ptpAnatomic: upper(packSet, 'cms-ncci-ptp', 'anatomicModifiers'),
    drugQ: codes(packSet, 'drug', 'drugQCodes'),
    singleDose: codes(packSet, 'drug', 'singleDoseDrugCodes'),
    discarded: upper(packSet, 'drug', 'discardedDrugModifiers'),
    labs: codes(packSet, 'lab', 'laboratoryCodes'),
    cliaExcluded: codes(packSet, 'lab', 'cliaExcludedCodes'),
    professionalComponent: upper(packSet, 'lab', 'professionalComponentModifiers'),
    waived: codes(packSet, 'lab', 'waivedTestCodes'),
    waivedModifiers: upper(packSet, 'lab', 'waivedTestModifiers'),
    nonWaivedClia: parameter(packSet, 'lab', 'nonWaivedCliaNumbers') as string[],
    audioOnly: upper(packSet, 'telehealth', 'audioOnlyModifiers'),
    telehealthModifiers: upper(packSet, 'telehealth', 'telehealthModifiers'),
    sunshineTelehealthCodes: compileCodeList(parameter(packSet, 'sunshine-medicaid', 'telehealthCodes') as string[]),
    sexBypassModifiers: (parameter(packSet, 'cms-mce', 'sexConflictBypassModifiers') as string[]).map((m) => m.toUpperCase()),
    sexConflictEdits: parameter(packSet, 'cms-mce', 'sexConflictEdits'),
    suppressedBy: new Map([...packSet.rulesById.values()].filter((r) => r.suppressedBy).map((r) => [r.id, new Set(r.suppressedBy)])),
  };
}
type Lists = ReturnType<typeof listsOf>;

export class Baseline {
  private constructor(
    private readonly rules: ReadonlyMap<string, Rule>,
    private readonly versions: ReadonlyMap<string, string>,
    private readonly ptp: Table<PtpIndex>,
    private readonly mue: Table<MueIndex>,
    private readonly mce: Table<MceIndex>,
    private readonly icd10: Table<Icd10Index>,
    private readonly hcpcs: Table<HcpcsIndex>,
    private readonly pos: Table<DatedCodeSet>,
    private readonly unlisted: CodeMatcher,
    private readonly drugs: CodeMatcher,
    private readonly visits: CodeMatcher,
    private readonly externalCause: CodeMatcher,
    private readonly mceParams: Values,
    private readonly lists: Lists,
    private readonly completeness: CompletenessParams,
    private readonly mpfs: Table<FeeScheduleIndex>,
    private readonly aoc: Table<AddOnIndex>,
    private readonly mpfsEditions: Editions<FeeScheduleIndex>,
    private readonly aocEditions: Editions<AddOnIndex>,
    private readonly mpfsParams: Values,
    private readonly mpfsVisits: CodeMatcher,
    private readonly aocPayerTypes: readonly string[],
  ) {}

  /** `env`: the environment the packs were loaded with (a deployment's table files are looked up in it). */
  static async load(packSet: PackSet, env: TableEnv = {}): Promise<Baseline> {
    const paramsOf = (pack: string) => Object.fromEntries(Object.entries(packSet.packs.find((p) => p.name === pack)!.parameters).map(([k, v]) => [k, v.value]));
    const mceParams = paramsOf('cms-mce');
    const mpfsParams = paramsOf('cms-mpfs');
    const mpfs = await readTable<FeeScheduleIndex>(packSet, env, 'cms-mpfs', 'mpfs');
    const aoc = await readTable<AddOnIndex>(packSet, env, 'cms-add-on-codes', 'aoc');
    return new Baseline(
      packSet.rulesById,
      new Map(packSet.packs.map((p) => [p.name, p.version])),
      await readTable(packSet, env, 'cms-ncci-ptp', 'ptp'),
      await readTable(packSet, env, 'cms-mue', 'mue'),
      await readTable(packSet, env, 'cms-mce', 'mce'),
      await readTable(packSet, env, 'code-sets', 'icd10cm'),
      await readTable(packSet, env, 'code-sets', 'hcpcs'),
      await readTable(packSet, env, 'code-sets', 'pos'),
      compileCodeList(parameter(packSet, 'documentation', 'unlistedCodes') as string[]),
      compileCodeList(parameter(packSet, 'drug', 'drugCodes') as string[]),
      compileCodeList(parameter(packSet, 'modifiers', 'evaluationAndManagementCodes') as string[]),
      compileCodeList(mceParams.externalCauseCodes as string[]),
      mceParams,
      listsOf(packSet),
      completenessParams(packSet),
      mpfs,
      aoc,
      new Editions(mpfs.name, mpfs.editions),
      new Editions(aoc.name, aoc.editions),
      mpfsParams,
      compileCodeList(mpfsParams.evaluationAndManagementCodes as string[]),
      parameter(packSet, 'cms-add-on-codes', 'payerTypes') as string[],
    );
  }

  /** A finding of a rule, in the words of its templates. */
  private finding(ruleId: string, values: Values, lines: number[], defaultPath: string, severity?: Severity): Finding {
    const rule = this.rules.get(ruleId)!;
    const lookup = (fact: string, p: string) => resolvePath(values[fact], p);
    const details: Record<string, unknown> = {};
    for (const [k, t] of Object.entries(rule.details)) details[k] = renderValue(t, lookup);
    const f: Finding = {
      ruleId,
      pack: rule.pack,
      category: rule.category,
      severity: severity ?? rule.severity,
      message: renderTemplate(rule.message, lookup),
      lines,
      path: rule.path ? renderTemplate(rule.path, lookup) : defaultPath,
      details,
    };
    if (rule.suggestion) f.suggestion = renderTemplate(rule.suggestion, lookup);
    return f;
  }

  scrub(input: unknown, today: string): ScrubResult {
    const structure = checkClaimStructure(input);
    if (!structure.ok) return buildResult(claimIdOf(input), structure.findings, []);
    const claim: Claim = structure.claim;
    if (claim.claimType !== 'professional') throw new Error('the baseline checks professional claims only');
    const lines = claim.lines;
    const n = lines.length;
    const codes = lines.map((l) => l.procedureCode?.toUpperCase());
    const mods = lines.map((l) => (l.modifiers ?? []).map((m) => m.toUpperCase()));
    let first = lines[0]!.serviceDate;
    let last = lines[0]!.serviceDateEnd ?? first;
    for (const l of lines) {
      if (l.serviceDate < first) first = l.serviceDate;
      const end = l.serviceDateEnd && l.serviceDateEnd > l.serviceDate ? l.serviceDateEnd : l.serviceDate;
      if (end > last) last = end;
    }
    const acme = claim.payer.id === 'ACME-HEALTH';
    const medicare = claim.payer.type === 'medicare';
    const sunshine = claim.payer.id === 'SUNSHINE-MEDICAID';
    const mceApplies = last >= '2015-10-01';
    const packs: PackVersion[] = [];
    const use = (name: string, applies = true) => applies && packs.push({ name, version: this.versions.get(name)! });
    use('acme-health', acme);
    use('cms-add-on-codes');
    use('cms-mce', mceApplies);
    // history: listed on every professional claim; its rules find nothing unless a claim history is consulted, as here.
    ['cms-mpfs', 'cms-mue', 'cms-ncci-ptp', 'code-sets', 'completeness', 'core', 'documentation', 'drug', 'history', 'lab'].forEach((p) => use(p));
    use('medicare-part-b', medicare);
    ['modifiers', 'payer-policy'].forEach((p) => use(p));
    use('sunshine-medicaid', sunshine);
    use('telehealth');
    const L = this.lists;
    const payerType = claim.payer.type;
    const timelyFilingDays = acme ? 90 : null;
    const timelyFilingYears = medicare ? 1 : null;
    const priorAuthorization = acme ? compileCodeListCached(['70450-70553', '72125-72158']) : undefined;
    const unacceptedModifiers = acme ? ['GT'] : [];

    const out: Finding[] = [];
    const npis = lines.map((l) => l.renderingProvider?.npi ?? claim.renderingProvider?.npi ?? claim.billingProvider.npi);
    const sameDayProvider = (i: number): string[] => {
      const out: string[] = [];
      for (let j = 0; j < n; j++) if (j !== i && lines[j]!.serviceDate === lines[i]!.serviceDate && codes[j] !== undefined && npis[j] === npis[i]) out.push(codes[j]!);
      return out;
    };
    const lineView = (i: number): Values => {
      const l = lines[i]!;
      const sameDayCodes: string[] = [];
      for (let j = 0; j < n; j++) if (j !== i && lines[j]!.serviceDate === l.serviceDate && codes[j] !== undefined) sameDayCodes.push(codes[j]!);
      const view: Values = { ...l, procedureCode: codes[i], modifiers: mods[i], diagnosisPointers: l.diagnosisPointers ?? [], number: i + 1, index: i, sameDayCodes, service: serviceText(codes[i], l.revenueCode) };
      view.sameDayProviderCodes = sameDayProvider(i);
      view.renderingNpi = npis[i];
      const pos = l.placeOfService ?? claim.placeOfService;
      if (pos !== undefined) view.effectivePlaceOfService = pos;
      return view;
    };
    const present = (v: unknown) => v !== undefined && v !== null && v !== '';

    // Claim: totals, NPIs, place of service.
    const chargeSum = lines.reduce((sum, l) => sum + l.charge, 0);
    const lineChargeTotal = Math.round(chargeSum * 100) / 100;
    if (claim.totalCharge !== undefined) {
      const difference = Math.round((claim.totalCharge - chargeSum) * 100) / 100;
      if (difference !== 0) out.push(this.finding('total-charge-mismatch', { claim, lineChargeTotal, totalChargeDifference: difference }, [], ''));
    }
    if (!isValidNpi(claim.billingProvider.npi)) out.push(this.finding('billing-npi-invalid', { claim }, [], ''));
    const npi = (p: { npi?: string } | undefined) => p?.npi !== undefined && p.npi !== '' && !isValidNpi(p.npi);
    if (npi(claim.renderingProvider)) out.push(this.finding('rendering-npi-invalid', { claim }, [], ''));
    if (npi(claim.referringProvider)) out.push(this.finding('referring-npi-invalid', { claim }, [], ''));
    if (claim.placeOfService !== undefined) this.placeOfService(claim.placeOfService, first, '', [], { claim }, out);
    if (typeof claim.cliaNumber === 'string' && !CLIA_FORM.test(claim.cliaNumber)) out.push(this.finding('clia-number-form', { claim }, [], ''));
    this.completenessOfClaim(claim, out);

    // Lines.
    const dxCount = claim.diagnoses.length;
    for (let i = 0; i < n; i++) {
      const l = lines[i]!;
      const code = codes[i];
      const m = mods[i]!;
      const pointers = l.diagnosisPointers ?? [];
      const at = [i + 1];
      const fire = (ruleId: string, extra: Values = {}, severity?: Severity) =>
        out.push(this.finding(ruleId, { line: lineView(i), claim, today, ...extra }, at, `/lines/${i}`, severity));
      if (l.units <= 0) fire('units-not-positive');
      if (l.serviceDate > today) fire('service-date-in-future');
      if (claim.submissionDate !== undefined && l.serviceDate > claim.submissionDate) fire('service-date-after-submission');
      if (l.serviceDateEnd !== undefined && isIsoDate(l.serviceDateEnd) && l.serviceDateEnd < l.serviceDate) fire('service-end-before-start');
      if (pointers.length === 0 || pointers.length > 4) fire('diagnosis-pointer-count');
      if (pointers.some((p) => p > dxCount)) fire('diagnosis-pointer-missing-diagnosis');
      if (new Set(pointers).size !== pointers.length) fire('diagnosis-pointer-repeated');
      if (npi(l.renderingProvider)) fire('line-rendering-npi-invalid');
      if (code !== undefined && this.unlisted.matches(code) && !l.description) fire('unlisted-code-needs-description');
      const has = (list: readonly string[]) => list.some((x) => m.includes(x));
      const pos = l.placeOfService ?? claim.placeOfService;

      // drug
      if (code !== undefined && (this.drugs.matches(code) || L.drugQ.matches(code)) && !present(l.ndc)) {
        const ndcRequired = acme;
        if (payerType === 'medicaid' || (ndcRequired && (payerType === undefined || ['medicaid', 'commercial', 'other'].includes(payerType)))) fire('drug-line-needs-ndc');
      }
      if (typeof l.ndc === 'string' && !NDC_FORM.test(l.ndc)) fire('ndc-not-11-digits');
      if (present(l.ndc) && !present(l.ndcUnit)) fire('ndc-unit-missing');
      if (present(l.ndc) && !present(l.ndcQuantity)) fire('ndc-quantity-missing');
      if (code !== undefined && L.singleDose.matches(code) && !has(L.discarded) && medicare) fire('single-dose-drug-without-jw-jz');
      if (m.includes('JW') && m.includes('JZ')) fire('jw-and-jz-same-line');

      // lab
      if (
        code !== undefined &&
        L.labs.matches(code) &&
        !L.cliaExcluded.matches(code) &&
        !has(L.professionalComponent) &&
        !present(l.cliaNumber) &&
        !present(claim.cliaNumber) &&
        (payerType === 'medicare' || payerType === 'medicaid')
      ) {
        fire('clia-number-missing');
      }
      if (typeof l.cliaNumber === 'string' && !CLIA_FORM.test(l.cliaNumber)) fire('line-clia-number-form');
      if (code !== undefined && L.waived.matches(code) && !has(L.waivedModifiers) && medicare && !L.nonWaivedClia.includes(l.cliaNumber as string) && !L.nonWaivedClia.includes(claim.cliaNumber as string)) {
        fire('waived-test-without-qw');
      }

      // telehealth
      if (has(L.audioOnly) && present(pos) && !TELEHEALTH_PLACES.includes(pos!)) fire('audio-only-place-of-service');
      if (sunshine && m.includes('95') && present(pos) && !TELEHEALTH_PLACES.includes(pos!)) fire('telehealth-place-of-service-required');
      if (sunshine && code !== undefined && !L.sunshineTelehealthCodes.matches(code) && (has(L.telehealthModifiers) || (pos !== undefined && TELEHEALTH_PLACES.includes(pos)))) {
        fire('telehealth-code-not-allowed');
      }

      // modifiers
      const em = code !== undefined && this.visits.matches(code);
      if (em && !has(L.emBypass)) {
        const sameDay = sameDayProvider(i);
        // The fee schedule edition covering the date decides what a minor procedure is (global days 000 or 010); else the parameter list.
        const edition = this.mpfsEditions.at(l.serviceDate);
        const minor = edition
          ? sameDay.some((c) => {
              const days = edition.index.globalDaysOf(c);
              return days === '000' || days === '010';
            })
          : sameDay.some((c) => L.minorProcedures.matches(c));
        if (minor || (L.problemVisits.matches(code!) && sameDay.some((c) => L.preventiveVisits.matches(c)))) fire('em-without-modifier-25');
      }
      if (em && has(DISTINCT_ON_EM)) fire('distinct-service-modifier-on-em');
      if (!acme && m.includes('59') && code !== undefined && !em) fire('modifier-59-prefer-x');
      const dme = code !== undefined && L.dmepos.matches(code);
      if (m.includes('LT') && m.includes('RT')) fire(dme ? 'dmepos-lt-rt-same-line' : 'lt-rt-same-line');
      if (m.includes('50') && (m.includes('LT') || m.includes('RT')) && code !== undefined && !dme) fire('bilateral-with-side');
      if (dme && m.includes('50')) fire('dmepos-bilateral-modifier');
      if (new Set(m).size !== m.length) fire('modifier-repeated');
      if (m.length > 4) fire('too-many-modifiers');
      if (timelyFilingDays !== null || timelyFilingYears !== null) {
        const from = l.serviceDate;
        const filedOn = claim.submissionDate ?? today;
        const deadline = timelyFilingYears !== null ? sameDayYearsLater(from, timelyFilingYears) : addDays(from, timelyFilingDays!);
        const limit = timelyFilingYears !== null ? 'one calendar year' : `${timelyFilingDays} days`;
        if (filedOn > deadline) fire('timely-filing-exceeded', { timelyFiling: { from, limit, deadline, filedOn, daysAfterService: daysBetween(from, filedOn), late: true } });
      }
      if (priorAuthorization && code !== undefined && priorAuthorization.matches(code) && !claim.priorAuthorization) fire('prior-authorization-missing');
      if (unacceptedModifiers.some((u) => m.includes(u))) fire('modifier-not-accepted', { params: { unacceptedModifiers } });
      this.completenessOfLine(claim, l, code, fire);

      // MUE, line edit (MAI 1).
      if (code !== undefined) {
        const mue = editionAt(this.mue, l.serviceDate);
        const entry = mue?.index.get(code);
        if (mue && entry && entry.adjudicationIndicator === 1 && l.units > entry.value) fire('mue-line-units', { mue: mueValues(code, entry, mue.context) });
      }
      // Fee schedule indicators, global surgery and add-on codes.
      if (code !== undefined) this.feeScheduleChecks(claim, i, lineView, fire);
      // Code sets: the procedure code, its modifiers, the line's place of service.
      if (code !== undefined && !PROCEDURE_FORM.test(code)) fire('procedure-code-form');
      this.hcpcsChecks(code, m, l.serviceDate, fire);
      if (l.placeOfService !== undefined) this.placeOfService(l.placeOfService, l.serviceDate, `line-`, at, { line: lineView(i), claim }, out, `/lines/${i}`);
    }

    // Pairs of lines: duplicates (each pair once), PTP edits (both orders).
    const ptpDate = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        if (i === j || lines[i]!.serviceDate !== lines[j]!.serviceDate || codes[i] === undefined || codes[j] === undefined) continue;
        const date = lines[i]!.serviceDate;
        let day = ptpDate.get(date);
        if (day === undefined) ptpDate.set(date, (day = dateNumberOfIso(date)));
        if (i < j && codes[i] === codes[j] && sameModifiers(mods[i]!, mods[j]!) && lines[i]!.ndc === lines[j]!.ndc && lines[i]!.description === lines[j]!.description) {
          out.push(this.finding('duplicate-line', { first: lineView(i), second: lineView(j) }, [i + 1, j + 1], `/lines/${j}`));
        }
        const ptpEdition = editionAt(this.ptp, date);
        const edit = ptpEdition?.index.find(codes[i]!, codes[j]!, day);
        if (!edit || edit.modifierIndicator === 9 || npis[i] !== npis[j]) continue;
        let ruleId = 'ncci-ptp-no-modifier-allowed';
        if (edit.modifierIndicator === 1) {
          const [a, b] = [mods[i]!, mods[j]!];
          const emFirst = L.ptpEm.matches(codes[i]!) && this.hasAny(a, L.ptpEmModifiers);
          if (L.ptpEm.matches(codes[j]!)) {
            if (this.hasAny(b, L.ptpEmModifiers) || emFirst) continue;
            ruleId = 'ncci-ptp-evaluation-and-management';
          } else {
            const anatomic = this.hasAny(a, L.ptpAnatomic) && this.hasAny(b, L.ptpAnatomic) && !a.some((x) => b.includes(x) && L.ptpAnatomic.includes(x));
            const repeat = (k: number, ms: string[]) => L.ptpLab.matches(codes[k]!) && this.hasAny(ms, L.ptpRepeat);
            if (this.hasAny(a, L.ptpDistinct) || this.hasAny(b, L.ptpDistinct) || emFirst || repeat(i, a) || repeat(j, b) || anatomic) continue;
            ruleId = 'ncci-ptp';
          }
        }
        const ptp = {
          found: true,
          column1: codes[i],
          column2: codes[j],
          serviceDate: date,
          covered: true,
          edition: ptpEdition!.context.edition,
          modifierIndicator: String(edit.modifierIndicator),
          effective: isoOfDateNumber(edit.effective),
          deletion: edit.deletion === OPEN_END ? '*' : isoOfDateNumber(edit.deletion),
          priorTo1996: edit.priorTo1996,
          rationale: edit.rationale,
        };
        out.push(this.finding(ruleId, { first: lineView(i), second: lineView(j), ptp }, i < j ? [i + 1, j + 1] : [j + 1, i + 1], `/lines/${j}`));
      }
    }

    // MUE per code and date of service (MAI 2 and 3): units added up over the group's lines.
    const groups = new Map<string, { procedureCode: string; serviceDate: string; units: number; lines: number[]; lastIndex: number }>();
    for (let i = 0; i < n; i++) {
      if (codes[i] === undefined) continue;
      const key = `${codes[i]}|${lines[i]!.serviceDate}`;
      const g = groups.get(key) ?? { procedureCode: codes[i]!, serviceDate: lines[i]!.serviceDate, units: 0, lines: [], lastIndex: i };
      g.units += lines[i]!.units;
      g.lines.push(i + 1);
      g.lastIndex = i;
      groups.set(key, g);
    }
    for (const g of groups.values()) {
      const mue = editionAt(this.mue, g.serviceDate);
      const entry = mue?.index.get(g.procedureCode);
      if (!mue || !entry || (entry.adjudicationIndicator !== 2 && entry.adjudicationIndicator !== 3)) continue;
      const units = Math.round(g.units * 1000) / 1000;
      if (units > entry.value) {
        const ruleId = entry.adjudicationIndicator === 2 ? 'mue-date-of-service-policy' : 'mue-date-of-service-clinical';
        out.push(this.finding(ruleId, { group: { ...g, units }, mue: mueValues(g.procedureCode, entry, mue.context) }, g.lines, `/lines/${g.lastIndex}/units`));
      }
    }

    // Diagnoses: the ICD-10-CM code set and the MCE edits.
    claim.diagnoses.forEach((d, index) => this.diagnosisChecks(claim, d, index, first, mceApplies, acme, out));

    // The tables that the rules applying to the claim read (the fee schedule and add-on code
    // rules only for their payer types) and have no edition for one of its dates of service.
    const aocApplies = payerType !== undefined && this.aocPayerTypes.includes(payerType);
    const mpfsApplies = aocApplies || (payerType !== undefined && (this.mpfsParams.payerTypes as string[]).includes(payerType));
    const read = [...(aocApplies ? [this.aoc] : []), ...(mceApplies ? [this.mce] : []), ...(mpfsApplies ? [this.mpfs] : []), this.mue, this.ptp, this.icd10, this.hcpcs, this.pos] as Array<Table<unknown>>;
    const dates = [...new Set(lines.map((l) => l.serviceDate))].sort();
    const missing = read
      .map((t) => ({ table: t.name, title: t.title, dates: dates.filter((d) => !editionAt(t, d)), editions: t.editions.map((e) => e.context.edition) }))
      .filter((m) => m.dates.length > 0);
    if (missing.length > 0) {
      const tableEditions = {
        missing,
        tables: missing.map((m) => m.table),
        dates: [...new Set(missing.flatMap((m) => m.dates))].sort(),
        text: missing.map((m) => `${m.title} (${m.table}) for ${m.dates.join(', ')}`).join('; '),
      };
      out.push(this.finding('table-edition-missing', { claim, tableEditions }, [], ''));
    }
    return buildResult(claim.claimId, this.withoutSuppressed(out), packs);
  }

  /** A finding whose rule names suppressedBy rules is left out when one of theirs names all its lines. */
  private withoutSuppressed(findings: Finding[]): Finding[] {
    const by = this.lists.suppressedBy;
    return findings.filter((f) => {
      const rules = by.get(f.ruleId);
      return !rules || !findings.some((g) => g !== f && rules.has(g.ruleId) && f.lines.every((x) => g.lines.includes(x)));
    });
  }

  /** The completeness pack's claim rules (professional claims). */
  private completenessOfClaim(claim: Claim, out: Finding[]): void {
    const fire = (ruleId: string) => out.push(this.finding(ruleId, { claim: { ...claim, frequency: claim.frequencyCode } }, [], ''));
    const memberId = claim.patient.memberId;
    if (!memberId) fire('member-id-missing');
    if (claim.payer.type === 'medicare' && !this.completeness.nonMbiMedicarePayerIds.includes(claim.payer.id) && memberId && !MBI.test(memberId)) {
      fire('medicare-member-id-not-mbi');
    }
    if ((claim.frequencyCode === '7' || claim.frequencyCode === '8') && !claim.originalClaimNumber) fire('replacement-without-original-claim-number');
    if (claim.totalCharge === undefined) fire('total-charge-missing');
  }

  /** The completeness pack's line rules (professional claims). */
  private completenessOfLine(claim: Claim, line: Line, code: string | undefined, fire: (ruleId: string) => void): void {
    const c = this.completeness;
    if (!claim.placeOfService && !line.placeOfService) fire('place-of-service-missing');
    const billing = claim.billingProvider;
    if (
      (billing.entityType === 'organization' || c.organizationBillingNpis.includes(billing.npi)) &&
      !claim.renderingProvider &&
      !line.renderingProvider &&
      line.prescriptionNumber === undefined &&
      !(billing.taxonomy !== undefined && c.selfRenderingTaxonomies.includes(billing.taxonomy)) &&
      code !== undefined &&
      !c.organizationRenderedCodes.matches(code)
    ) {
      fire('rendering-provider-missing');
    }
    if (code === undefined || claim.payer.type === undefined || !c.orderingProviderPayerTypes.includes(claim.payer.type)) return;
    if (line.orderingProvider || line.referringProvider || claim.referringProvider) return;
    for (const { ruleId, codes } of c.ordered) if (codes.matches(code)) fire(ruleId);
  }

  private claimView?: { claim: Claim; view: ClaimView };

  /** The cms-mpfs and cms-add-on-codes rules on one line, as plain conditions over the tables' line values. */
  private feeScheduleChecks(claim: Claim, i: number, lineView: (i: number) => Values, fire: (ruleId: string, extra?: Values, severity?: Severity) => void): void {
    if (this.claimView?.claim !== claim) this.claimView = { claim, view: { ...claim, lines: claim.lines.map((_, j) => lineView(j)) } as unknown as ClaimView };
    const view = this.claimView.view;
    const line = view.lines[i]!;
    const m = line.modifiers;
    const has = (...wanted: string[]) => wanted.some((w) => m.includes(w));
    const type = claim.payer.type;
    const mpfsApplies = type !== undefined && (this.mpfsParams.payerTypes as string[]).includes(type);
    const aocApplies = type !== undefined && this.aocPayerTypes.includes(type);
    if (!mpfsApplies && !aocApplies) return;
    const mpfs = feeScheduleValues(this.mpfsEditions, line as LineView, view) as Values & Record<string, any>;
    const aoc = addOnFacts(this.aocEditions, line as LineView, view) as Values & Record<string, any>;
    const withMpfs = (ruleId: string) => fire(ruleId, { mpfs });
    if (aocApplies && aoc.found) {
      if (aoc.editType === '1' && !aoc.hasPrimary) fire('add-on-code-without-primary', { aoc });
      if (aoc.editType === '3' && !aoc.hasPrimary) fire('add-on-code-without-listed-primary', { aoc });
      if (aoc.editType === '2' && !aoc.otherProcedureSameDay) fire('add-on-code-contractor-primary-alone', { aoc });
    }
    if (aocApplies && mpfs.globalDays === 'ZZZ' && mpfs.sameDayNonAddOn === false && (!aoc.covered || !aoc.found)) fire('add-on-code-billed-alone', { mpfs, aoc });
    if (!mpfsApplies) return;
    if (mpfs.found) {
      const code = line.procedureCode!;
      if (mpfs.status === 'I' && !/^[0-9]{4}F$/.test(code)) withMpfs('mpfs-status-not-valid-for-medicare');
      if (mpfs.status === 'N' && !has('GA', 'GZ', 'GX', 'GY')) withMpfs('mpfs-status-non-covered');
      if (mpfs.status === 'X' && !has('GY', 'GX')) withMpfs('mpfs-status-statutory-exclusion');
      if (mpfs.status === 'B') withMpfs('mpfs-status-bundled');
      if (mpfs.status === 'P') withMpfs('mpfs-status-bundled-or-excluded');
      if (['0', '2', '9'].includes(mpfs.bilateral) && has('50')) withMpfs('mpfs-bilateral-modifier-not-allowed');
      if (mpfs.bilateral === '1' && has('50') && line.units > 1) withMpfs('mpfs-bilateral-units');
      if (mpfs.bilateral === '1' && mpfs.otherSideLine !== undefined && this.mpfsParams.bilateralReporting === 'modifier-50') withMpfs('mpfs-bilateral-rt-lt-lines');
      const assistant = has('80', '81', '82', 'AS');
      if (['1', '9'].includes(mpfs.assistant) && assistant) withMpfs('mpfs-assistant-not-paid');
      if (mpfs.assistant === '0' && assistant) withMpfs('mpfs-assistant-documentation');
      if (['0', '9'].includes(mpfs.coSurgeon) && has('62')) withMpfs('mpfs-co-surgeon-not-allowed');
      if (['0', '9'].includes(mpfs.team) && has('66')) withMpfs('mpfs-team-surgery-not-allowed');
      if ((has('26') && ['0', '3', '4', '5', '7', '9'].includes(mpfs.pcTc)) || (has('TC') && ['0', '2', '4', '5', '6', '7', '8', '9'].includes(mpfs.pcTc))) withMpfs('mpfs-pc-tc-not-allowed');
      if ((has('26') && ['2', '8'].includes(mpfs.pcTc)) || (has('TC') && mpfs.pcTc === '3')) withMpfs('mpfs-pc-tc-redundant');
      if (['0', '9'].includes(mpfs.multipleProcedure) && has('51')) withMpfs('mpfs-multiple-procedure-not-applicable');
    }
    const visit = this.mpfsVisits.matches(line.procedureCode!);
    if (visit && mpfs.sameDayMinorProcedure && !has('25')) withMpfs('global-em-same-day-minor-procedure');
    if (visit && mpfs.majorProcedure && !has('57')) withMpfs('global-em-major-surgery-without-57');
    if (visit && mpfs.postOperativeOf && !has(...(this.mpfsParams.postOperativeEmModifiers as string[])) && !has('57')) withMpfs('global-em-postoperative-period');
    if (['000', '010', '090'].includes(mpfs.globalDays) && mpfs.postOperativeOf && !has(...(this.mpfsParams.postOperativeProcedureModifiers as string[]))) withMpfs('global-procedure-postoperative-period');
  }

  private hasAny(list: readonly string[], wanted: readonly string[]): boolean {
    for (const w of wanted) if (list.includes(w)) return true;
    return false;
  }

  private hcpcsChecks(code: string | undefined, mods: readonly string[], serviceDate: string, fire: (ruleId: string, extra?: Values) => void): void {
    const edition = editionAt(this.hcpcs, serviceDate);
    if (!edition) return; // no verdict on a date no edition covers
    const date = dateNumberOfIso(serviceDate);
    const unknownModifiers: string[] = [];
    const inactiveModifiers: string[] = [];
    for (const m of mods) {
      if (!LEVEL_II_MODIFIER.test(m)) continue;
      const status = edition.index.modifiers.statusOn(m, date);
      if (status === 'not-found') {
        if (!AMBULANCE_ORIGIN_DESTINATION.test(m)) unknownModifiers.push(m);
      } else if (status !== 'active') inactiveModifiers.push(m);
    }
    const complete = edition.context.complete;
    const levelII = code !== undefined && LEVEL_II_CODE.test(code);
    const status = levelII ? edition.index.codes.statusOn(code, date) : 'not-level-ii';
    const values = (): Values => {
      const lookup = levelII
        ? { ...codeLookup(edition.index.codes, code, serviceDate, edition.context), levelII: true }
        : { found: false, levelII: false, status, ...(code === undefined ? {} : { code }), covered: true, complete, fullSet: complete, edition: edition.context.edition };
      return { hcpcs: { ...lookup, unknownModifiers, inactiveModifiers } };
    };
    if (unknownModifiers.length > 0 && complete) fire('hcpcs-modifier-unknown', values());
    if (inactiveModifiers.length > 0) fire('hcpcs-modifier-not-in-force', values());
    if (status === 'not-found' && complete) fire('hcpcs-code-unknown', values());
    if (status === 'terminated') fire('hcpcs-code-terminated', values());
    if (status === 'not-yet-effective') fire('hcpcs-code-not-yet-effective', values());
  }

  private placeOfService(code: string, serviceDate: string, prefix: '' | 'line-', lines: number[], values: Values, out: Finding[], defaultPath = ''): void {
    const edition = editionAt(this.pos, serviceDate);
    if (!edition) return;
    const status = edition.index.statusOn(code, dateNumberOfIso(serviceDate));
    const fire = (ruleId: string) => out.push(this.finding(`${prefix}${ruleId}`, { ...values, pos: codeLookup(edition.index, code, serviceDate, edition.context) }, lines, defaultPath));
    if (status === 'not-found' && edition.context.complete) fire('place-of-service-unknown');
    if (status === 'not-yet-effective' || status === 'terminated') fire('place-of-service-not-in-force');
  }

  private diagnosisChecks(claim: Claim, d: Diagnosis, index: number, firstServiceDate: string, mceApplies: boolean, acme: boolean, out: Finding[]): void {
    const normalizedCode = normalizeCode(d.code);
    const number = index + 1;
    const diagnosis = { ...d, normalizedCode, number, index, isFirst: index === 0 };
    const at = `/diagnoses/${index}/code`;
    const fire = (ruleId: string, values: Values) => out.push(this.finding(ruleId, { diagnosis, claim, ...values }, [], at));
    // The editions the dates of service of the lines pointing at the diagnosis need (every line when none does).
    const pointing = claim.lines.filter((l: Line) => (l.diagnosisPointers ?? []).includes(number));
    const dates = [...new Set((pointing.length > 0 ? pointing : claim.lines).map((l) => l.serviceDate))];
    const editionsOf = <I>(t: Table<I>): Array<Edition<I>> | undefined => {
      const list: Array<Edition<I>> = [];
      for (const date of dates) {
        const e = editionAt(t, date);
        if (!e) return undefined;
        if (!list.includes(e)) list.push(e);
      }
      return list;
    };
    // code-sets: ICD-10-CM rules are in force from 2015-10-01 (the item's date is the claim's first date of service).
    if (firstServiceDate >= ICD10_FROM) {
      const icd = editionsOf(this.icd10);
      // The strictest verdict among the editions: not found in a complete one, then a header.
      const rank = (e: Edition<Icd10Index>) => {
        const entry = e.index.get(normalizedCode);
        return !entry ? (e.context.complete ? 2 : 0) : entry.billable ? 0 : 1;
      };
      let chosen = icd?.[0];
      for (const e of icd?.slice(1) ?? []) if (rank(e) > rank(chosen!)) chosen = e;
      const entry = chosen?.index.get(normalizedCode);
      const icd10cm = chosen ? { code: normalizedCode, edition: chosen.context.edition, ...(entry ? { title: entry.title } : {}) } : { code: normalizedCode };
      if (!ICD10_FORM.test(d.code)) fire('icd10cm-code-form', { icd10cm });
      if (chosen && entry && !entry.billable) fire('icd10cm-code-not-billable', { icd10cm });
      if (chosen && !entry && chosen.context.complete && ICD10_FORM.test(d.code)) fire('icd10cm-code-unknown', { icd10cm });
    }
    if (!mceApplies || !inWindow({ from: '2015-10-01' }, firstServiceDate)) return;
    // The MCE lists of the edition the dates need; the external-cause rule reads a code range, not the lists.
    const mceEditions = editionsOf(this.mce);
    const mceEdition = mceEditions?.find((e) => e.index.get(normalizedCode)) ?? mceEditions?.[0];
    const entry = mceEdition?.index.get(normalizedCode);
    const external = index === 0 && this.externalCause.matches(normalizedCode);
    if (!entry && !external) return;
    const mce = entry ? { found: true, code: normalizedCode, ...entry.flags, description: entry.description, edition: mceEdition!.context.edition } : { found: false, code: normalizedCode, edition: mceEdition?.context.edition };
    const ageRanges = onDate(this.mceParams.ageRanges, firstServiceDate) as Record<string, { min: number; max: number }>;
    const values: Values = { mce, params: this.mceParams, datedParams: { ...this.mceParams, ageRanges } };
    if (entry) {
      const flags = entry.flags;
      const age = diagnosisAge(claim, number, firstServiceDate);
      const outside = (range: { min: number; max: number }) => age.oldest < range.min || age.youngest > range.max;
      const withAge = { ...values, diagnosisAge: age };
      if (flags.newbornOnly && outside(ageRanges.newborn!)) fire('mce-newborn-diagnosis-age', withAge);
      if (flags.pediatricOnly && outside(ageRanges.pediatric!)) fire('mce-pediatric-diagnosis-age', withAge);
      if (flags.maternityOnly && outside(ageRanges.maternity!)) fire('mce-maternity-diagnosis-age', withAge);
      if (flags.adultOnly && outside(ageRanges.adult!)) fire('mce-adult-diagnosis-age', withAge);
      if (index === 0 && flags.manifestation) fire('mce-manifestation-first-listed', values);
      // The sex edit: in force by date (ACME Health keeps it), bypassed by KX on a line pointing here.
      const sexEdit = acme || onDate(this.lists.sexConflictEdits, firstServiceDate) === true;
      const bypassed = claim.lines.some((l) => (l.diagnosisPointers ?? []).includes(number) && (l.modifiers ?? []).some((x) => this.lists.sexBypassModifiers.includes(x.toUpperCase())));
      if (sexEdit && !bypassed && flags.femaleOnly && claim.patient.sex === 'M') fire('mce-female-only-diagnosis', values);
      if (sexEdit && !bypassed && flags.maleOnly && claim.patient.sex === 'F') fire('mce-male-only-diagnosis', values);
    }
    if (external) fire('mce-external-cause-first-listed', values);
  }
}

/** The patient's age on the dates of the lines that point at a diagnosis (every line when none does). */
function diagnosisAge(claim: Claim, number: number, firstServiceDate: string): { youngest: number; oldest: number; text: string } {
  let earliest: string | undefined;
  let latest: string | undefined;
  const pointing = claim.lines.filter((l: Line) => (l.diagnosisPointers ?? []).includes(number));
  for (const l of pointing.length > 0 ? pointing : claim.lines) {
    if (earliest === undefined || l.serviceDate < earliest) earliest = l.serviceDate;
    if (latest === undefined || l.serviceDate > latest) latest = l.serviceDate;
  }
  const youngest = ageOn(claim.patient.birthDate, earliest ?? firstServiceDate);
  const oldest = ageOn(claim.patient.birthDate, latest ?? firstServiceDate);
  return { youngest, oldest, text: youngest === oldest ? String(youngest) : `${youngest} to ${oldest}` };
}

function mueValues(code: string, entry: { value: number; adjudicationIndicator: number; adjudicationText: string; rationale: string }, table: TableContext): Values {
  return {
    found: true,
    code,
    value: entry.value,
    adjudicationIndicator: String(entry.adjudicationIndicator),
    adjudicationText: entry.adjudicationText,
    rationale: entry.rationale,
    edition: table.edition,
  };
}

function sameModifiers(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const sa = [...a].sort();
  const sb = [...b].sort();
  return sa.every((x, k) => x === sb[k]);
}

const matchers = new Map<string, CodeMatcher>();
function compileCodeListCached(list: string[]): CodeMatcher {
  const key = list.join('|');
  let m = matchers.get(key);
  if (!m) matchers.set(key, (m = compileCodeList(list)));
  return m;
}
