import { SourceMap } from '../locator.js';
import { at, type X12Issue } from './issues.js';
import type { ClaimBlock, Level, LineBlock, Transaction837 } from './loops837.js';
import { comp, components, el, elementsOf, sourceOf, type Segment } from './segments.js';
import { decimal, dtpDates, isoDate, payerTypeOf, whole } from './values.js';

/** One claim of an 837, as canonical JSON, with where each field came from. */
export interface Mapped837 {
  claim: Record<string, unknown>;
  sources: SourceMap;
  issues: X12Issue[];
}

type Json = Record<string, unknown>;

/** Diagnosis code list qualifiers: ICD-10-CM (ABK principal, ABF other) and ICD-9-CM (BK, BF). */
const DIAGNOSIS_QUALIFIERS = new Set(['ABK', 'ABF', 'BK', 'BF']);

function find(segments: readonly Segment[], loop: string, id: string, qualifier?: string, qualifierElement = 1): Segment | undefined {
  for (const s of segments) {
    if (s.loop === loop && s.id === id && (qualifier === undefined || el(s, qualifierElement) === qualifier)) return s;
  }
  return undefined;
}

function findAll(segments: readonly Segment[], loop: string, id: string): Segment[] {
  return segments.filter((s) => s.loop === loop && s.id === id);
}

/**
 * Builds one canonical object while noting, for each JSON Pointer, the segment and element it
 * came from. Sources are noted even for empty elements of a present segment, so that "this
 * field is missing" points at the element to fill in.
 */
class Builder {
  readonly sources = new SourceMap();

  /** Without `recording`, only the claim is built (the common case: most claims need no sources). */
  constructor(private readonly recording: boolean) {}

  note(pointer: string, segment: Segment, element?: number, component?: number): void {
    if (this.recording) this.sources.record(pointer, sourceOf(segment, element, component));
  }

  /** Notes the source of `${base}/${suffix}`; the pointer is only built when recording. */
  noteIn(base: string, suffix: string | number, segment: Segment, element?: number, component?: number): void {
    if (this.recording) this.sources.record(`${base}/${suffix}`, sourceOf(segment, element, component));
  }

  /** Sets target[key] (unless the value is empty) and notes the source of `${base}/${key}`. */
  set(target: Json, key: string, value: unknown, base: string, segment: Segment, element?: number, component?: number): void {
    this.noteIn(base, key, segment, element, component);
    if (value !== undefined && value !== '') target[key] = value;
  }
}

function missing(segment: Segment, loop: string, what: string, segmentLabel: string, path: string, lines?: number[]): X12Issue {
  return {
    ruleId: 'x12-missing-segment',
    severity: 'error',
    message: `Loop ${loop} (${what}) has no ${segmentLabel} segment; it belongs after ${at(segment)}.`,
    segment,
    path,
    ...(lines ? { lines } : {}),
    details: { missing: segmentLabel, loop },
  };
}

function personName(nm1: Segment): string | undefined {
  const last = el(nm1, 3);
  const first = el(nm1, 4);
  const name = el(nm1, 2) === '1' ? [first, last].filter((x) => x !== '').join(' ') : last;
  return name === '' ? undefined : name;
}

/** A provider from its NM1 (NPI when NM108 is XX) and the PRV taxonomy of the same loop. */
function provider(b: Builder, pointer: string, nm1: Segment, segments: readonly Segment[]): Json {
  const p: Json = {};
  b.note(pointer, nm1);
  b.set(p, 'npi', el(nm1, 8) === 'XX' ? el(nm1, 9) : undefined, pointer, nm1, 9);
  b.set(p, 'name', personName(nm1), pointer, nm1, 3);
  const prv = find(segments, nm1.loop, 'PRV');
  if (prv && el(prv, 2) === 'PXC') b.set(p, 'taxonomy', el(prv, 3), pointer, prv, 3);
  return p;
}

function ancestors(level: Level | undefined): { billing?: Level; subscriber?: Level; patient?: Level } {
  const out: { billing?: Level; subscriber?: Level; patient?: Level } = {};
  let l = level;
  // Bounded: HL parents always come earlier in the file, so the chain cannot loop, but a
  // corrupt file is cheap to guard against.
  for (let guard = 0; l && guard < 8; guard++, l = l.parent) {
    if (l.code === '23' && !out.patient && !out.subscriber) out.patient = l;
    else if (l.code === '22' && !out.subscriber) out.subscriber = l;
    else if (l.code === '20' && !out.billing) out.billing = l;
  }
  return out;
}

/**
 * Maps one 2300 claim (with its levels) to the canonical claim. With `recordSources` it also
 * notes where each field came from; readers do that lazily, only for claims whose findings
 * are located, which keeps a large file's memory (and garbage collection) small.
 */
export function mapClaim(tx: Transaction837, block: ClaimBlock, recordSources = true): Mapped837 {
  const b = new Builder(recordSources);
  const issues: X12Issue[] = [];
  const claim: Json = {};
  const clm = block.clm;
  const institutional = tx.kind === 'institutional';
  const { billing, subscriber, patient } = ancestors(block.level);

  b.note('', clm);
  b.set(claim, 'claimId', el(clm, 1), '', clm, 1);
  b.set(claim, 'claimType', tx.kind, '', tx.versionSegment, tx.versionElement);
  b.set(claim, 'frequencyCode', comp(clm, 5, 3), '', clm, 5, 3);
  checkFacilityCode(clm, institutional, issues);
  const bht = tx.header.find((s) => s.id === 'BHT');
  if (bht) b.set(claim, 'submissionDate', isoDate(el(bht, 4)), '', bht, 4);

  // Payer (2010BB) and its type from the subscriber's claim filing indicator (SBR09).
  const payer: Json = {};
  const sbr = subscriber ? find(subscriber.segments, '2000B', 'SBR') : undefined;
  const payerName = subscriber ? find(subscriber.segments, '2010BB', 'NM1', 'PR') : undefined;
  if (payerName) {
    b.note('/payer', payerName);
    b.set(payer, 'id', el(payerName, 9), '/payer', payerName, 9);
    b.set(payer, 'name', el(payerName, 3), '/payer', payerName, 3);
  } else if (subscriber) {
    b.note('/payer', subscriber.hl);
    issues.push(missing(subscriber.hl, '2010BB', 'payer name', 'NM1*PR', '/payer'));
  }
  if (sbr) b.set(payer, 'type', payerTypeOf(el(sbr, 9)), '/payer', sbr, 9);
  else if (subscriber) issues.push(missing(subscriber.hl, '2000B', 'subscriber', 'SBR', '/payer/type'));
  claim.payer = payer;

  // Billing provider (2000A PRV, 2010AA NM1*85 and REF*EI).
  const billingProvider: Json = {};
  const billingName = billing ? find(billing.segments, '2010AA', 'NM1', '85') : undefined;
  if (billingName) {
    Object.assign(billingProvider, provider(b, '/billingProvider', billingName, []));
    b.set(billingProvider, 'entityType', entityTypeOf(el(billingName, 2)), '/billingProvider', billingName, 2);
    const taxId = find(billing!.segments, '2010AA', 'REF', 'EI') ?? find(billing!.segments, '2010AA', 'REF', 'SY');
    if (taxId) b.set(billingProvider, 'taxId', el(taxId, 2), '/billingProvider', taxId, 2);
  } else if (billing) {
    b.note('/billingProvider', billing.hl);
    issues.push(missing(billing.hl, '2010AA', 'billing provider name', 'NM1*85', '/billingProvider'));
  } else {
    issues.push({
      ruleId: 'x12-missing-segment',
      severity: 'error',
      message: `${at(clm)}: the claim has no billing provider level (HL with level code 20) above it.`,
      segment: clm,
      path: '/billingProvider',
      details: { missing: 'HL*20', loop: '2000A' },
    });
  }
  const billingTaxonomy = billing ? find(billing.segments, '2000A', 'PRV', 'BI') : undefined;
  if (billingTaxonomy && el(billingTaxonomy, 2) === 'PXC') {
    b.set(billingProvider, 'taxonomy', el(billingTaxonomy, 3), '/billingProvider', billingTaxonomy, 3);
  }
  claim.billingProvider = billingProvider;

  // Claim-level rendering and referring providers (2310x).
  const renderingLoop = institutional ? '2310D' : '2310B';
  const referringLoop = institutional ? '2310F' : '2310A';
  const rendering = find(block.segments, renderingLoop, 'NM1', '82');
  if (rendering) claim.renderingProvider = provider(b, '/renderingProvider', rendering, block.segments);
  const referring = find(block.segments, referringLoop, 'NM1', 'DN');
  if (referring) claim.referringProvider = provider(b, '/referringProvider', referring, block.segments);

  // Patient: the 2000C patient when there is one, else the subscriber (2010BA).
  const patientJson: Json = {};
  const subscriberName = subscriber ? find(subscriber.segments, '2010BA', 'NM1', 'IL') : undefined;
  if (subscriber && !subscriberName) issues.push(missing(subscriber.hl, '2010BA', 'subscriber name', 'NM1*IL', '/patient/memberId'));
  const patientName = patient ? find(patient.segments, '2010CA', 'NM1', 'QC') : undefined;
  if (patient && !patientName) issues.push(missing(patient.hl, '2010CA', 'patient name', 'NM1*QC', '/patient'));
  const nameSegment = patient ? patientName : subscriberName;
  const demographics = patient ? find(patient.segments, '2010CA', 'DMG') : subscriber ? find(subscriber.segments, '2010BA', 'DMG') : undefined;
  const patientAnchor = nameSegment ?? patient?.hl ?? subscriber?.hl;
  if (patientAnchor) b.note('/patient', patientAnchor);
  if (subscriberName) b.set(patientJson, 'memberId', el(subscriberName, 9), '/patient', subscriberName, 9);
  if (nameSegment) {
    b.set(patientJson, 'firstName', el(nameSegment, 4), '/patient', nameSegment, 4);
    b.set(patientJson, 'lastName', el(nameSegment, 3), '/patient', nameSegment, 3);
  }
  if (demographics) {
    b.set(patientJson, 'birthDate', el(demographics, 1) === 'D8' ? isoDate(el(demographics, 2)) : el(demographics, 2), '/patient', demographics, 2);
    b.set(patientJson, 'sex', el(demographics, 3), '/patient', demographics, 3);
  } else if (patientAnchor) {
    issues.push(missing(patientAnchor, patient ? '2010CA' : '2010BA', patient ? 'patient name' : 'subscriber name', 'DMG', '/patient/birthDate'));
  }
  claim.patient = patientJson;

  if (!institutional) b.set(claim, 'placeOfService', comp(clm, 5, 1), '', clm, 5, 1);
  const priorAuthorization = find(block.segments, '2300', 'REF', 'G1');
  if (priorAuthorization) b.set(claim, 'priorAuthorization', el(priorAuthorization, 2), '', priorAuthorization, 2);
  mapReferences(b, claim, '', block.segments, '2300');
  b.set(claim, 'totalCharge', decimal(el(clm, 2)), '', clm, 2);

  mapDiagnoses(b, claim, block, institutional, issues);
  mapAttachments(b, claim, block);
  mapLines(b, claim, block, tx, issues);
  if (institutional) mapInstitutionalHeader(b, claim, block, issues);

  return { claim, sources: b.sources, issues };
}

/** Principal diagnosis qualifiers: ICD-10-CM ABK and ICD-9-CM BK. */
const PRINCIPAL_QUALIFIERS = new Set(['ABK', 'BK']);

function mapDiagnoses(b: Builder, claim: Json, block: ClaimBlock, institutional: boolean, issues: X12Issue[]): void {
  // The principal diagnosis comes first in the canonical claim (rules read the first as the
  // principal one), wherever its HI stands in the file.
  const principal: Array<{ hi: Segment; n: number; parts: string[] }> = [];
  const others: Array<{ hi: Segment; n: number; parts: string[] }> = [];
  const his = findAll(block.segments, '2300', 'HI');
  for (const hi of his) {
    const elementCount = elementsOf(hi).length;
    for (let n = 1; n < elementCount; n++) {
      const parts = components(hi, n);
      const qualifier = parts[0] ?? '';
      if (!DIAGNOSIS_QUALIFIERS.has(qualifier)) continue;
      (PRINCIPAL_QUALIFIERS.has(qualifier) ? principal : others).push({ hi, n, parts });
    }
  }
  const diagnoses: Json[] = [];
  for (const { hi, n, parts } of [...principal, ...others]) {
    const pointer = `/diagnoses/${diagnoses.length}`;
    const d: Json = {};
    b.note(pointer, hi, n);
    if (diagnoses.length === 0) b.note('/diagnoses', hi);
    b.set(d, 'code', parts[1] ?? '', pointer, hi, n, 2);
    // Present-on-admission indicator: 837I only (HI0n-9).
    if (institutional) b.set(d, 'presentOnAdmission', parts[8] ?? '', pointer, hi, n, 9);
    diagnoses.push(d);
  }
  if (diagnoses.length === 0) {
    issues.push(missing(block.clm, '2300', 'claim information', 'HI (diagnosis codes)', '/diagnoses'));
  } else if (principal.length === 0) {
    const first = others[0]!;
    issues.push({
      ruleId: 'x12-principal-diagnosis-missing',
      severity: 'error',
      message: `${at(first.hi)} gives other diagnoses (qualifier ${first.parts[0]}) but the claim has no principal diagnosis (an HI with qualifier ${
        first.parts[0] === 'BF' ? 'BK' : 'ABK'
      }); the first other diagnosis was read as the principal one. Add the principal diagnosis as HI01 with qualifier ABK.`,
      segment: first.hi,
      element: first.n,
      component: 1,
      path: '/diagnoses/0',
      details: { missing: first.parts[0] === 'BF' ? 'BK' : 'ABK', found: first.parts[0] },
    });
  }
  claim.diagnoses = diagnoses;
}

/**
 * CLM05 is required: facility code (837P place of service, 837I type of facility and care),
 * its qualifier, and the claim frequency code. Payers reject a claim that leaves it empty.
 */
function checkFacilityCode(clm: Segment, institutional: boolean, issues: X12Issue[]): void {
  const facility = comp(clm, 5, 1);
  const frequency = comp(clm, 5, 3);
  if (facility !== '' && frequency !== '') return;
  const facilityName = institutional ? 'facility type code (the first two digits of the type of bill)' : 'place of service code';
  const facilityPath = institutional ? '/typeOfBill' : '/placeOfService';
  if (facility === '' && frequency === '') {
    issues.push({
      ruleId: 'x12-missing-element',
      severity: 'error',
      message: `${at(clm)}: CLM05 is empty; it must give the ${facilityName} (CLM05-1) and the claim frequency code (CLM05-3), such as "${institutional ? '13:A:1' : '11:B:1'}".`,
      segment: clm,
      element: 5,
      path: facilityPath,
      details: { missing: ['CLM05-1', 'CLM05-3'] },
    });
    return;
  }
  const [component, what, path] = facility === '' ? [1, facilityName, facilityPath] : [3, 'claim frequency code (1 original, 7 replacement, 8 void)', '/frequencyCode'];
  issues.push({
    ruleId: 'x12-missing-element',
    severity: 'error',
    message: `${at(clm)}: CLM05-${component}, the ${what}, is empty.`,
    segment: clm,
    element: 5,
    component,
    path,
    details: { missing: [`CLM05-${component}`] },
  });
}

function mapAttachments(b: Builder, claim: Json, block: ClaimBlock): void {
  // Claim-level PWK first, then line-level ones: the canonical claim lists attachments only
  // at claim level, and documentation rules need to see that a line's attachment was sent.
  const pwks = [...findAll(block.segments, '2300', 'PWK'), ...block.lines.flatMap((l) => findAll(l.segments, '2400', 'PWK'))];
  if (pwks.length === 0) return;
  const attachments: Json[] = [];
  const seen = new Set<string>();
  for (const pwk of pwks) {
    const key = [el(pwk, 1), el(pwk, 2), el(pwk, 6)].join('\u0000');
    if (seen.has(key)) continue;
    seen.add(key);
    const pointer = `/attachments/${attachments.length}`;
    const a: Json = {};
    b.note(pointer, pwk);
    if (attachments.length === 0) b.note('/attachments', pwk);
    b.set(a, 'type', el(pwk, 1), pointer, pwk, 1);
    b.set(a, 'transmission', el(pwk, 2), pointer, pwk, 2);
    b.set(a, 'controlNumber', el(pwk, 6), pointer, pwk, 6);
    attachments.push(a);
  }
  claim.attachments = attachments;
}

function statementPeriod(block: ClaimBlock): { segment?: Segment; from?: string; to?: string } {
  const dtp = find(block.segments, '2300', 'DTP', '434');
  if (!dtp) return {};
  const { from, to } = dtpDates(el(dtp, 2), el(dtp, 3));
  return { segment: dtp, ...(from !== undefined ? { from } : {}), to: to ?? from };
}

function mapLines(b: Builder, claim: Json, block: ClaimBlock, tx: Transaction837, issues: X12Issue[]): void {
  const institutional = tx.kind === 'institutional';
  const lines: Json[] = [];
  const statement = institutional ? statementPeriod(block) : {};
  if (block.lines.length === 0) {
    issues.push(missing(block.clm, '2400', 'service line', 'LX', '/lines'));
  }
  block.lines.forEach((lineBlock, index) => {
    lines.push(mapLine(b, lineBlock, index, tx, statement, issues));
  });
  claim.lines = lines;
}

function mapLine(
  b: Builder,
  block: LineBlock,
  index: number,
  tx: Transaction837,
  statement: { segment?: Segment; from?: string; to?: string },
  issues: X12Issue[],
): Json {
  const institutional = tx.kind === 'institutional';
  const pointer = `/lines/${index}`;
  const line: Json = {};
  const serviceId = institutional ? 'SV2' : 'SV1';
  const service = find(block.segments, '2400', serviceId);
  b.note(pointer, service ?? block.lx);
  if (!service) {
    issues.push(missing(block.lx, '2400', 'service line', serviceId, pointer, [index + 1]));
  } else if (institutional) {
    b.set(line, 'revenueCode', el(service, 1), pointer, service, 1);
    procedure(b, line, pointer, service, 2);
    b.set(line, 'charge', decimal(el(service, 3)), pointer, service, 3);
    b.set(line, 'units', decimal(el(service, 5)), pointer, service, 5);
  } else {
    procedure(b, line, pointer, service, 1);
    b.set(line, 'charge', decimal(el(service, 2)), pointer, service, 2);
    b.set(line, 'units', decimal(el(service, 4)), pointer, service, 4);
    b.set(line, 'placeOfService', el(service, 5), pointer, service, 5);
    const pointers = components(service, 7);
    b.noteIn(pointer, 'diagnosisPointers', service, 7);
    const given = pointers.filter((p) => p !== '').map((p) => whole(p));
    // An empty SV107 is left out, so that the schema reports the required pointers as missing.
    if (given.length > 0) line.diagnosisPointers = given;
    pointers.forEach((p, k) => {
      if (p !== '') b.noteIn(`${pointer}/diagnosisPointers`, k, service, 7, k + 1);
    });
  }

  const date = find(block.segments, '2400', 'DTP', '472');
  if (date) {
    const { from, to } = dtpDates(el(date, 2), el(date, 3));
    b.set(line, 'serviceDate', from, pointer, date, 3);
    if (to !== undefined) b.set(line, 'serviceDateEnd', to, pointer, date, 3);
  } else if (institutional && statement.segment && statement.from !== undefined) {
    // 837I lines carry their own date only for outpatient services; the others are dated by
    // the statement period (DTP*434), which is where a wrong date has to be fixed.
    b.set(line, 'serviceDate', statement.from, pointer, statement.segment, 3);
    if (statement.to !== undefined && statement.to !== statement.from) {
      b.set(line, 'serviceDateEnd', statement.to, pointer, statement.segment, 3);
    }
  } else if (!institutional && service) {
    issues.push(missing(service, '2400', 'service date', 'DTP*472', `${pointer}/serviceDate`, [index + 1]));
  }

  if (line.description === undefined) {
    const note = find(block.segments, '2400', 'NTE');
    if (note) b.set(line, 'description', el(note, 2), pointer, note, 2);
  }
  const drug = find(block.segments, '2410', 'LIN', 'N4', 2);
  if (drug) b.set(line, 'ndc', el(drug, 3), pointer, drug, 3);
  const lineRendering = find(block.segments, institutional ? '2420C' : '2420A', 'NM1', '82');
  if (lineRendering) line.renderingProvider = provider(b, `${pointer}/renderingProvider`, lineRendering, block.segments);
  mapLineOrderAndDrug(b, line, pointer, block, institutional);
  return line;
}

/** SV101 / SV202: qualifier:code:mod1:mod2:mod3:mod4:description. */
function procedure(b: Builder, line: Json, pointer: string, service: Segment, element: number): void {
  const parts = components(service, element);
  b.set(line, 'procedureCode', parts[1] ?? '', pointer, service, element, 2);
  const modifiers: string[] = [];
  b.noteIn(pointer, 'modifiers', service, element);
  for (let k = 3; k <= 6; k++) {
    const m = parts[k - 1] ?? '';
    if (m === '') continue;
    b.noteIn(`${pointer}/modifiers`, modifiers.length, service, element, k);
    modifiers.push(m);
  }
  line.modifiers = modifiers;
  const description = parts[6] ?? '';
  if (description !== '') b.set(line, 'description', description, pointer, service, element, 7);
}

function mapInstitutionalHeader(b: Builder, claim: Json, block: ClaimBlock, issues: X12Issue[]): void {
  const clm = block.clm;
  const facility = comp(clm, 5, 1);
  const frequency = comp(clm, 5, 3);
  b.set(claim, 'typeOfBill', facility === '' && frequency === '' ? undefined : `${facility}${frequency}`, '', clm, 5);
  const statement = statementPeriod(block);
  if (statement.segment) {
    b.set(claim, 'statementFromDate', statement.from, '', statement.segment, 3);
    b.set(claim, 'statementToDate', statement.to, '', statement.segment, 3);
  } else {
    issues.push(missing(clm, '2300', 'claim information', 'DTP*434 (statement dates)', '/statementFromDate'));
  }
  const admission = find(block.segments, '2300', 'DTP', '435');
  if (admission) b.set(claim, 'admissionDate', dtpDates(el(admission, 2), el(admission, 3)).from, '', admission, 3);
  // The 837I has no discharge date element: a discharge hour (DTP*096) says the patient was
  // discharged, on the statement's "through" date (UB-04 form locator 6).
  const discharge = find(block.segments, '2300', 'DTP', '096');
  if (discharge && statement.segment && statement.to !== undefined) {
    b.set(claim, 'dischargeDate', statement.to, '', statement.segment, 3);
  }
  const institutionalCode = find(block.segments, '2300', 'CL1');
  if (institutionalCode) b.set(claim, 'patientStatus', el(institutionalCode, 3), '', institutionalCode, 3);
  mapConditionCodes(b, claim, block);
}

/** 2010AA NM102: 1 a person, 2 a non-person entity; any other value is passed through for the schema to report. */
function entityTypeOf(code: string): string | undefined {
  return code === '1' ? 'person' : code === '2' ? 'organization' : code === '' ? undefined : code;
}

/**
 * REF*F8 (payer claim control number of the claim a replacement or void corrects; 2300 only)
 * and REF*X4 (CLIA number; the claim's in 2300, a line's own in 2400).
 */
function mapReferences(b: Builder, target: Json, pointer: string, segments: readonly Segment[], loop: '2300' | '2400'): void {
  const original = loop === '2300' ? find(segments, loop, 'REF', 'F8') : undefined;
  if (original) b.set(target, 'originalClaimNumber', el(original, 2), pointer, original, 2);
  const clia = find(segments, loop, 'REF', 'X4');
  if (clia) b.set(target, 'cliaNumber', el(clia, 2), pointer, clia, 2);
}

/**
 * A line's CLIA number (2400 REF*X4), ordering provider (837P 2420E NM1*DK), referring provider
 * (837P 2420F, 837I 2420D NM1*DN), the drug's quantity (2410 CTP04), its unit (CTP05-1) and the
 * pharmacy's prescription number (2410 REF*XZ).
 */
function mapLineOrderAndDrug(b: Builder, line: Json, pointer: string, block: LineBlock, institutional: boolean): void {
  mapReferences(b, line, pointer, block.segments, '2400');
  const ordering = institutional ? undefined : find(block.segments, '2420E', 'NM1', 'DK');
  if (ordering) line.orderingProvider = provider(b, `${pointer}/orderingProvider`, ordering, block.segments);
  const referring = find(block.segments, institutional ? '2420D' : '2420F', 'NM1', 'DN');
  if (referring) line.referringProvider = provider(b, `${pointer}/referringProvider`, referring, block.segments);
  const price = find(block.segments, '2410', 'CTP');
  if (price) {
    b.set(line, 'ndcQuantity', decimal(el(price, 4)), pointer, price, 4);
    b.set(line, 'ndcUnit', comp(price, 5, 1), pointer, price, 5, 1);
  }
  const prescription = find(block.segments, '2410', 'REF', 'XZ');
  if (prescription) b.set(line, 'prescriptionNumber', el(prescription, 2), pointer, prescription, 2);
}

/** 837I condition codes: HI composites with qualifier BG (2300, up to two HI of 12). */
function mapConditionCodes(b: Builder, claim: Json, block: ClaimBlock): void {
  const codes: string[] = [];
  for (const hi of findAll(block.segments, '2300', 'HI')) {
    const elementCount = elementsOf(hi).length;
    for (let n = 1; n < elementCount; n++) {
      const parts = components(hi, n);
      if (parts[0] !== 'BG' || (parts[1] ?? '') === '') continue;
      if (codes.length === 0) b.note('/conditionCodes', hi);
      b.noteIn('/conditionCodes', codes.length, hi, n, 2);
      codes.push(parts[1]!);
    }
  }
  if (codes.length > 0) claim.conditionCodes = codes;
}
