import { SourceMap } from '../locator.js';
import { printable } from '../../util/text.js';
import type { ReadClaim, ReadProblem, ReadRecord } from '../types.js';

/**
 * FHIR R4 Claim resources (alone, in a Bundle, or in a JSON array) to canonical claims. Patient,
 * Organization, Practitioner, Coverage and ServiceRequest references are resolved when the
 * resource is contained (`#id`) or in the same Bundle (by fullUrl or Type/id); anything else is
 * out of reach, and the claim schema then reports what is missing at the reference.
 */

type Json = Record<string, unknown>;

const NPI_SYSTEM = 'http://hl7.org/fhir/sid/us-npi';
const EIN_SYSTEMS = new Set(['urn:oid:2.16.840.1.113883.4.4', 'http://hl7.org/fhir/sid/us-ein']);
const ICD10_SYSTEMS = ['http://hl7.org/fhir/sid/icd-10-cm', 'http://hl7.org/fhir/sid/icd-10', 'http://hl7.org/fhir/sid/icd-9-cm'];
const PROCEDURE_SYSTEMS = [
  'http://www.ama-assn.org/go/cpt',
  'urn:oid:2.16.840.1.113883.6.285',
  'http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets',
  'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets',
];
const NDC_SYSTEM = 'http://hl7.org/fhir/sid/ndc';
const BILL_TYPE_SYSTEM = 'https://www.cms.gov/codes/billtype';
/** PHDSC Source of Payment Typology: 1 Medicare, 2 Medicaid, 5 and 6 private insurance. */
const PAYMENT_TYPOLOGY_SYSTEMS = new Set(['https://nahdo.org/sopt', 'urn:oid:2.16.840.1.113883.3.221.5']);

function obj(value: unknown): Json | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;
}
function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
/** The date part of a FHIR date or dateTime, as written (no time-zone shift). */
function datePart(value: unknown): string | undefined {
  const s = str(value);
  if (s === undefined) return undefined;
  return /^\d{4}-\d{2}-\d{2}T/.test(s) ? s.slice(0, 10) : s;
}

interface Coded {
  code: string;
  /** Relative expression of the code, e.g. "coding[1].code". */
  at: string;
}

/** The code of a CodeableConcept, preferring the given systems in order, then the first coding. */
function codeOf(concept: unknown, preferred: readonly string[] = []): Coded | undefined {
  const codings = list(obj(concept)?.coding);
  for (const system of preferred) {
    const i = codings.findIndex((c) => obj(c)?.system === system && str(obj(c)?.code) !== undefined);
    if (i >= 0) return { code: obj(codings[i])!.code as string, at: `coding[${i}].code` };
  }
  const i = codings.findIndex((c) => str(obj(c)?.code) !== undefined);
  return i >= 0 ? { code: obj(codings[i])!.code as string, at: `coding[${i}].code` } : undefined;
}

function hasCode(concept: unknown, code: string): boolean {
  return list(obj(concept)?.coding).some((c) => obj(c)?.code === code);
}

/** A resolved reference and the FHIRPath of the resource it names. */
interface Resolved {
  resource: Json;
  expression: string;
}

export type BundleIndex = ReadonlyMap<string, Resolved>;

class References {
  private readonly contained = new Map<string, Resolved>();

  constructor(
    claim: Json,
    base: string,
    private readonly bundle: BundleIndex,
  ) {
    list(claim.contained).forEach((r, k) => {
      const resource = obj(r);
      const id = str(resource?.id);
      if (resource && id) this.contained.set(id, { resource, expression: `${base}.contained[${k}]` });
    });
  }

  resolve(reference: unknown): Resolved | undefined {
    const ref = str(obj(reference)?.reference);
    if (ref === undefined) return undefined;
    if (ref.startsWith('#')) return this.contained.get(ref.slice(1));
    const direct = this.bundle.get(ref);
    if (direct) return direct;
    // An absolute URL whose tail is Type/id (and, rarely, a _history suffix).
    const parts = ref.split('/');
    const h = parts.indexOf('_history');
    const tail = h >= 2 ? parts.slice(h - 2, h) : parts.slice(-2);
    return tail.length === 2 ? this.bundle.get(tail.join('/')) : undefined;
  }
}

function identifierValue(identifiers: unknown, systems: ReadonlySet<string> | string): string | undefined {
  for (const i of list(identifiers)) {
    const id = obj(i);
    const system = str(id?.system);
    const matches = typeof systems === 'string' ? system === systems : system !== undefined && systems.has(system);
    if (matches && str(id?.value)) return id!.value as string;
  }
  return undefined;
}

/** An NPI from the referenced resource's identifiers, or from the reference's own identifier. */
function npiOf(reference: unknown, resolved: Json | undefined): string | undefined {
  const own = obj(obj(reference)?.identifier);
  if (own && own.system === NPI_SYSTEM && str(own.value)) return own.value as string;
  return resolved ? identifierValue(resolved.identifier, NPI_SYSTEM) : undefined;
}

function nameOf(resource: Json | undefined): string | undefined {
  if (!resource) return undefined;
  if (str(resource.name)) return resource.name as string;
  const human = humanName(resource);
  if (!human) return undefined;
  const text = [human.given, human.family].filter((x) => x !== undefined).join(' ');
  return text === '' ? undefined : text;
}

function humanName(resource: Json): { family?: string; given?: string; index: number } | undefined {
  const names = list(resource.name);
  let index = names.findIndex((n) => obj(n)?.use === 'official');
  if (index < 0) index = names.findIndex((n) => obj(n) !== undefined);
  if (index < 0) return undefined;
  const n = obj(names[index])!;
  const family = str(n.family);
  const given = str(list(n.given)[0]);
  return { ...(family !== undefined ? { family } : {}), ...(given !== undefined ? { given } : {}), index };
}

const GENDER: Record<string, string> = { female: 'F', male: 'M', other: 'U', unknown: 'U' };

class Builder {
  readonly sources = new SourceMap();
  constructor(readonly base: string) {}

  expression(relative: string): string {
    return relative === '' ? this.base : `${this.base}.${relative}`;
  }
  note(pointer: string, relative: string): void {
    this.sources.record(pointer, { format: 'fhir', expression: this.expression(relative) });
  }
  set(target: Json, key: string, value: unknown, pointer: string, relative: string): void {
    this.note(pointer, relative);
    if (value !== undefined && value !== '') target[key] = value;
  }
  /** Like `set`, for a field read from a referenced resource: the source is that resource. */
  setFrom(target: Json, key: string, value: unknown, pointer: string, absolute: string): void {
    this.sources.record(pointer, { format: 'fhir', expression: absolute });
    if (value !== undefined && value !== '') target[key] = value;
  }
}

function claimTypeOf(claim: Json): string | undefined {
  const code = codeOf(claim.type, ['http://terminology.hl7.org/CodeSystem/claim-type'])?.code;
  // oral, vision and pharmacy are passed through: the canonical claim has no such type, and the
  // schema says so rather than the reader pretending the claim is professional.
  return code;
}

function focalInsurance(claim: Json): { insurance?: Json; index: number } {
  const all = list(claim.insurance);
  let index = all.findIndex((i) => obj(i)?.focal === true);
  if (index < 0) index = all.findIndex((i) => obj(i) !== undefined);
  return index < 0 ? { index } : { insurance: obj(all[index])!, index };
}

function payerTypeOf(coverage: Json | undefined): string | undefined {
  if (!coverage) return undefined;
  for (const c of list(obj(coverage.type)?.coding)) {
    const coding = obj(c);
    const code = str(coding?.code);
    if (!code || !PAYMENT_TYPOLOGY_SYSTEMS.has(str(coding?.system) ?? '')) continue;
    if (code.startsWith('1')) return 'medicare';
    if (code.startsWith('2')) return 'medicaid';
    if (code.startsWith('5') || code.startsWith('6')) return 'commercial';
    return 'other';
  }
  return undefined;
}

function supportingInfo(claim: Json, category: string): { info: Json; index: number } | undefined {
  const all = list(claim.supportingInfo);
  const index = all.findIndex((s) => hasCode(obj(s)?.category, category));
  return index < 0 ? undefined : { info: obj(all[index])!, index };
}

/** Maps one Claim resource; `base` is its FHIRPath ("Claim" or "Bundle.entry[2].resource"). */
export function mapFhirClaim(claim: Json, base: string, bundle: BundleIndex): { claim: Json; sources: SourceMap } {
  const b = new Builder(base);
  const refs = new References(claim, base, bundle);
  const out: Json = {};
  b.note('', '');

  const identifiers = list(claim.identifier);
  const businessId = identifiers.findIndex((i) => str(obj(i)?.value) !== undefined);
  if (businessId >= 0) b.set(out, 'claimId', obj(identifiers[businessId])!.value, '/claimId', `identifier[${businessId}].value`);
  else b.set(out, 'claimId', str(claim.id), '/claimId', 'id');

  const claimType = claimTypeOf(claim);
  b.set(out, 'claimType', claimType, '/claimType', 'type');
  const institutional = claimType === 'institutional';
  b.set(out, 'submissionDate', datePart(claim.created), '/submissionDate', 'created');

  // Payer: the insurer, and the focal coverage for the member id and payer type.
  const { insurance, index: insuranceIndex } = focalInsurance(claim);
  const coverage = insurance ? refs.resolve(insurance.coverage)?.resource : undefined;
  const insurer = refs.resolve(claim.insurer)?.resource;
  const payer: Json = {};
  b.note('/payer', 'insurer');
  const insurerIdentifier = obj(obj(claim.insurer)?.identifier);
  if (str(insurerIdentifier?.value)) b.set(payer, 'id', insurerIdentifier!.value, '/payer/id', 'insurer.identifier.value');
  else if (insurer) {
    const ids = list(insurer.identifier);
    const k = ids.findIndex((i) => str(obj(i)?.value) !== undefined);
    if (k >= 0) b.set(payer, 'id', obj(ids[k])!.value, '/payer/id', 'insurer');
  }
  b.set(payer, 'name', str(insurer?.name) ?? str(obj(claim.insurer)?.display), '/payer/name', 'insurer');
  const payerType = payerTypeOf(coverage);
  if (payerType) b.set(payer, 'type', payerType, '/payer/type', `insurance[${insuranceIndex}].coverage`);
  out.payer = payer;

  // Billing provider: Claim.provider (an Organization or Practitioner with an NPI identifier).
  const provider = refs.resolve(claim.provider);
  const providerResource = provider?.resource;
  const billing: Json = {};
  b.note('/billingProvider', 'provider');
  const providerAt = provider ? `${provider.expression}.identifier` : b.expression('provider');
  b.setFrom(billing, 'npi', npiOf(claim.provider, providerResource), '/billingProvider/npi', providerAt);
  b.set(billing, 'name', nameOf(providerResource) ?? str(obj(claim.provider)?.display), '/billingProvider/name', 'provider');
  if (providerResource) b.setFrom(billing, 'taxId', identifierValue(providerResource.identifier, EIN_SYSTEMS), '/billingProvider/taxId', providerAt);
  b.set(billing, 'entityType', entityTypeOf(claim.provider, providerResource), '/billingProvider/entityType', 'provider');
  out.billingProvider = billing;

  // Rendering provider: the care team member marked primary or responsible, or the only one.
  const team = list(claim.careTeam);
  let member = team.findIndex((m) => RENDERING_ROLES.some((role) => hasCode(obj(m)?.role, role)));
  if (member < 0) member = team.findIndex((m) => obj(m)?.responsible === true && !ordersOrRefers(m));
  if (member < 0 && team.length === 1 && !ordersOrRefers(team[0])) member = 0;
  if (member >= 0) {
    const reference = obj(team[member])?.provider;
    const resource = refs.resolve(reference)?.resource;
    const npi = npiOf(reference, resource);
    if (npi) {
      const rendering: Json = {};
      b.note('/renderingProvider', `careTeam[${member}].provider`);
      b.set(rendering, 'npi', npi, '/renderingProvider/npi', `careTeam[${member}].provider`);
      b.set(rendering, 'name', nameOf(resource), '/renderingProvider/name', `careTeam[${member}].provider`);
      out.renderingProvider = rendering;
    }
  }
  // Referring provider: the requester of the referral (a ServiceRequest).
  const referral = refs.resolve(claim.referral)?.resource;
  if (referral) {
    const requester = referral.requester;
    const npi = npiOf(requester, refs.resolve(requester)?.resource);
    if (npi) {
      b.note('/referringProvider', 'referral');
      out.referringProvider = { npi };
    }
  }
  const orderers = orderingTeam(claim, refs);
  if (!out.referringProvider && orderers.claimReferring) {
    const { member: m, npi } = orderers.claimReferring;
    b.note('/referringProvider', `careTeam[${m}].provider`);
    b.set(out, 'referringProvider', { npi }, '/referringProvider/npi', `careTeam[${m}].provider`);
  }

  // Patient.
  const patientRef = refs.resolve(claim.patient);
  const patient: Json = {};
  b.note('/patient', 'patient');
  const memberId = str(coverage?.subscriberId) ?? str(obj(list(coverage?.identifier)[0])?.value);
  if (memberId) b.set(patient, 'memberId', memberId, '/patient/memberId', `insurance[${insuranceIndex}].coverage`);
  if (patientRef) {
    const { resource: person, expression } = patientRef;
    const name = humanName(person);
    if (name) {
      b.setFrom(patient, 'firstName', name.given, '/patient/firstName', `${expression}.name[${name.index}].given[0]`);
      b.setFrom(patient, 'lastName', name.family, '/patient/lastName', `${expression}.name[${name.index}].family`);
    }
    b.setFrom(patient, 'birthDate', str(person.birthDate), '/patient/birthDate', `${expression}.birthDate`);
    const gender = str(person.gender);
    b.setFrom(patient, 'sex', gender === undefined ? undefined : (GENDER[gender] ?? gender), '/patient/sex', `${expression}.gender`);
  }
  out.patient = patient;

  mapRelatedClaim(b, out, claim);
  if (insurance) {
    const preAuth = list(insurance.preAuthRef);
    if (str(preAuth[0])) b.set(out, 'priorAuthorization', preAuth[0], '/priorAuthorization', `insurance[${insuranceIndex}].preAuthRef[0]`);
  }
  const total = obj(claim.total)?.value;
  if (total !== undefined) b.set(out, 'totalCharge', total, '/totalCharge', 'total.value');

  // Diagnoses, ordered by sequence; items point at them by sequence number.
  const diagnosisEntries = list(claim.diagnosis)
    .map((d, index) => ({ d: obj(d), index }))
    .filter((x): x is { d: Json; index: number } => x.d !== undefined)
    .sort((x, y) => (Number(x.d.sequence) || 0) - (Number(y.d.sequence) || 0) || x.index - y.index);
  const positionOfSequence = new Map<number, number>();
  const diagnoses: Json[] = [];
  b.note('/diagnoses', 'diagnosis');
  diagnosisEntries.forEach(({ d, index }, k) => {
    if (typeof d.sequence === 'number') positionOfSequence.set(d.sequence, k + 1);
    const pointer = `/diagnoses/${k}`;
    const dx: Json = {};
    b.note(pointer, `diagnosis[${index}]`);
    let coded = codeOf(d.diagnosisCodeableConcept, ICD10_SYSTEMS);
    let at = coded ? `diagnosis[${index}].diagnosisCodeableConcept.${coded.at}` : `diagnosis[${index}]`;
    if (!coded) {
      const condition = refs.resolve(d.diagnosisReference)?.resource;
      coded = condition ? codeOf(condition.code, ICD10_SYSTEMS) : undefined;
      if (coded) at = `diagnosis[${index}].diagnosisReference`;
    }
    b.set(dx, 'code', coded?.code, `${pointer}/code`, at);
    const poa = codeOf(d.onAdmission)?.code;
    if (poa) b.set(dx, 'presentOnAdmission', poa.toUpperCase(), `${pointer}/presentOnAdmission`, `diagnosis[${index}].onAdmission`);
    diagnoses.push(dx);
  });
  out.diagnoses = diagnoses;

  // Care team NPIs by sequence, for items whose performer differs from the claim's.
  const teamNpi = new Map<number, { npi: string; index: number }>();
  team.forEach((m, index) => {
    const entry = obj(m);
    const npi = npiOf(entry?.provider, refs.resolve(entry?.provider)?.resource);
    if (typeof entry?.sequence === 'number' && npi && !ordersOrRefers(m)) teamNpi.set(entry.sequence, { npi, index });
  });
  const clia = cliaInfo(claim);
  const prescriptions = prescriptionNumbers(claim);
  const claimRenderer = (out.renderingProvider as Json | undefined)?.npi;
  // An institutional item without dates of its own is dated by the claim's billable period, as
  // an 837I line without DTP*472 is dated by the statement period.
  const billable = obj(claim.billablePeriod);
  const statement = institutional && billable ? { start: datePart(billable.start), end: datePart(billable.end) } : undefined;
  out.lines = list(claim.item).map((raw, i) => {
    const item = obj(raw) ?? {};
    const line = mapItem(b, item, i, institutional, positionOfSequence, statement);
    const sequences = list(item.careTeamSequence).map(Number);
    const performer = sequences.map((n) => teamNpi.get(n)).find((p) => p !== undefined);
    if (performer && performer.npi !== claimRenderer) {
      b.note(`/lines/${i}/renderingProvider`, `item[${i}].careTeamSequence`);
      b.setFrom(line, 'renderingProvider', { npi: performer.npi }, `/lines/${i}/renderingProvider/npi`, b.expression(`careTeam[${performer.index}].provider`));
    }
    mapItemOrderers(b, line, i, sequences, orderers);
    mapItemClia(b, line, item, i, clia);
    mapItemPrescription(b, line, item, i, prescriptions);
    return line;
  });

  if (clia.claim) b.set(out, 'cliaNumber', clia.claim.value, '/cliaNumber', clia.claim.at);
  if (institutional) {
    mapConditionCodes(b, out, claim);
    const billType = list(obj(claim.subType)?.coding).findIndex(
      (c) => obj(c)?.system === BILL_TYPE_SYSTEM && str(obj(c)?.code) !== undefined,
    );
    if (billType >= 0) b.set(out, 'typeOfBill', obj(list(obj(claim.subType)!.coding)[billType])!.code, '/typeOfBill', `subType.coding[${billType}].code`);
    const period = obj(claim.billablePeriod);
    if (period) {
      b.set(out, 'statementFromDate', datePart(period.start), '/statementFromDate', 'billablePeriod.start');
      b.set(out, 'statementToDate', datePart(period.end), '/statementToDate', 'billablePeriod.end');
    }
    const stay = supportingInfo(claim, 'hospitalized');
    if (stay) {
      const timing = obj(stay.info.timingPeriod);
      b.set(out, 'admissionDate', datePart(timing?.start ?? stay.info.timingDate), '/admissionDate', `supportingInfo[${stay.index}].timing`);
      b.set(out, 'dischargeDate', datePart(timing?.end), '/dischargeDate', `supportingInfo[${stay.index}].timing`);
    }
    const discharge = supportingInfo(claim, 'discharge');
    if (discharge) {
      const status = codeOf(discharge.info.code);
      if (status) b.set(out, 'patientStatus', status.code, '/patientStatus', `supportingInfo[${discharge.index}].code.${status.at}`);
    }
  }
  return { claim: out, sources: b.sources };
}

function mapItem(
  b: Builder,
  item: Json,
  i: number,
  institutional: boolean,
  positionOfSequence: ReadonlyMap<number, number>,
  statement: { start?: string; end?: string } | undefined,
): Json {
  const pointer = `/lines/${i}`;
  const at = `item[${i}]`;
  const line: Json = {};
  b.note(pointer, at);
  if (institutional) {
    const revenue = codeOf(item.revenue);
    b.set(line, 'revenueCode', revenue?.code, `${pointer}/revenueCode`, revenue ? `${at}.revenue.${revenue.at}` : `${at}.revenue`);
  }
  const product = codeOf(item.productOrService, PROCEDURE_SYSTEMS);
  const isDrug = product !== undefined && list(obj(item.productOrService)?.coding).some((c) => obj(c)?.system === NDC_SYSTEM && obj(c)?.code === product.code);
  b.set(line, 'procedureCode', isDrug ? undefined : product?.code, `${pointer}/procedureCode`, product ? `${at}.productOrService.${product.at}` : `${at}.productOrService`);
  const modifiers: string[] = [];
  b.note(`${pointer}/modifiers`, `${at}.modifier`);
  list(item.modifier).forEach((m, k) => {
    const code = codeOf(m)?.code;
    if (code === undefined) return;
    b.note(`${pointer}/modifiers/${modifiers.length}`, `${at}.modifier[${k}]`);
    modifiers.push(code);
  });
  line.modifiers = modifiers;

  // FHIR leaves quantity out for a single unit (net = quantity x unitPrice x factor).
  const quantity = obj(item.quantity)?.value;
  b.set(line, 'units', quantity ?? 1, `${pointer}/units`, quantity !== undefined ? `${at}.quantity.value` : at);
  const net = obj(item.net)?.value;
  const unitPrice = obj(item.unitPrice)?.value;
  const factor = typeof item.factor === 'number' ? item.factor : 1;
  const charge =
    net !== undefined ? net : typeof unitPrice === 'number' ? Math.round(unitPrice * (typeof quantity === 'number' ? quantity : 1) * factor * 100) / 100 : undefined;
  b.set(line, 'charge', charge, `${pointer}/charge`, net !== undefined ? `${at}.net.value` : `${at}.unitPrice.value`);

  const period = obj(item.servicedPeriod);
  if (item.servicedDate === undefined && !period && statement?.start !== undefined) {
    b.set(line, 'serviceDate', statement.start, `${pointer}/serviceDate`, 'billablePeriod.start');
    if (statement.end !== undefined && statement.end !== statement.start) b.set(line, 'serviceDateEnd', statement.end, `${pointer}/serviceDateEnd`, 'billablePeriod.end');
  } else if (item.servicedDate !== undefined || !period) {
    b.set(line, 'serviceDate', datePart(item.servicedDate), `${pointer}/serviceDate`, `${at}.servicedDate`);
  } else {
    b.set(line, 'serviceDate', datePart(period.start), `${pointer}/serviceDate`, `${at}.servicedPeriod.start`);
    const end = datePart(period.end);
    if (end !== undefined) b.set(line, 'serviceDateEnd', end, `${pointer}/serviceDateEnd`, `${at}.servicedPeriod.end`);
  }
  const location = codeOf(item.locationCodeableConcept);
  if (location && !institutional) b.set(line, 'placeOfService', location.code, `${pointer}/placeOfService`, `${at}.locationCodeableConcept.${location.at}`);

  b.note(`${pointer}/diagnosisPointers`, `${at}.diagnosisSequence`);
  const sequences = list(item.diagnosisSequence);
  if (sequences.length > 0) {
    line.diagnosisPointers = sequences.map((s, k) => {
      b.note(`${pointer}/diagnosisPointers/${k}`, `${at}.diagnosisSequence[${k}]`);
      // A sequence with no diagnosis stays as sent, so that the pointer check reports it.
      return typeof s === 'number' ? (positionOfSequence.get(s) ?? s) : s;
    });
  }
  const ndc = list(obj(item.productOrService)?.coding).findIndex((c) => obj(c)?.system === NDC_SYSTEM && str(obj(c)?.code) !== undefined);
  if (ndc >= 0) b.set(line, 'ndc', obj(list(obj(item.productOrService)!.coding)[ndc])!.code, `${pointer}/ndc`, `${at}.productOrService.coding[${ndc}].code`);
  const text = str(obj(item.productOrService)?.text);
  if (text) b.set(line, 'description', text, `${pointer}/description`, `${at}.productOrService.text`);
  mapDrugDetail(b, line, item, i);
  return line;
}

function claimLabel(claim: Json): string {
  const id = str(claim.id) ?? str(obj(list(claim.identifier)[0])?.value);
  return id ? `Claim ${id}` : 'Claim';
}

function toItem(claim: Json, base: string, label: string, bundle: BundleIndex): ReadClaim {
  const mapped = mapFhirClaim(claim, base, bundle);
  return { kind: 'claim', input: mapped.claim, label, locate: mapped.sources.locator(), findings: [] };
}

const USE_MEANING: Record<string, string> = {
  preauthorization: 'a request to authorize services before they are given (prior authorization, as in a Da Vinci PAS request)',
  predetermination: 'a request for an estimate of what the payer would pay (predetermination)',
};

/**
 * A Claim whose `use` is not "claim" asks the payer something (may we, what would you pay)
 * rather than bills a service: scrubbing it as a billed claim would judge it by rules that do
 * not apply to it. A Claim without `use` is taken as billed.
 */
function notBilled(claim: Json, base: string, label: string): ReadProblem | undefined {
  const use = claim.use;
  if (use === undefined || use === 'claim') return undefined;
  const shown = typeof use === 'string' ? use : JSON.stringify(use);
  return {
    code: 'fhir-not-a-billed-claim',
    severity: 'error',
    message: printable(
      `${label} is not a billed claim: its use is "${shown}"${USE_MEANING[shown] ? `, ${USE_MEANING[shown]}` : ''}. Only a Claim with use "claim" is scrubbed; it was skipped.`,
    ),
    position: { format: 'fhir', expression: `${base}.use` },
    details: { use: shown },
    claims: 0,
  };
}

/** A Claim, or why it is not scrubbed. */
function claimRecord(claim: Json, base: string, label: string, bundle: BundleIndex): ReadRecord {
  const refused = notBilled(claim, base, label);
  return refused ? { kind: 'problem', problem: refused } : toItem(claim, base, label, bundle);
}

/**
 * True for a FHIR resource of any type. The canonical claim has no `resourceType` field (an
 * unknown field is an error there), so a JSON object with one is FHIR: a Claim or Bundle to
 * read, anything else to refuse with a clear reason.
 */
export function isFhirResource(value: unknown): boolean {
  return typeof obj(value)?.resourceType === 'string';
}

/**
 * The Claims of a Bundle that another Claim of it refers to (`related.claim`: the claim it
 * replaces, the request it follows up): they are the other Claim's context, not claims to scrub.
 */
function referencedClaims(entries: readonly unknown[], index: BundleIndex): Set<Json> {
  const referenced = new Set<Json>();
  for (const e of entries) {
    const claim = obj(obj(e)?.resource);
    if (claim?.resourceType !== 'Claim') continue;
    const refs = new References(claim, '', index);
    for (const related of list(claim.related)) {
      const target = refs.resolve(obj(related)?.claim)?.resource;
      if (target && target !== claim && target.resourceType === 'Claim') referenced.add(target);
    }
  }
  return referenced;
}

/** The claims of a FHIR Claim, Bundle or array of Claims, and why any part is not scrubbed, in order. */
export function readFhir(root: unknown): ReadRecord[] {
  const records: ReadRecord[] = [];
  const resource = obj(root);
  if (Array.isArray(root)) {
    root.forEach((r, i) => {
      const claim = obj(r);
      if (claim?.resourceType === 'Claim') records.push(claimRecord(claim, 'Claim', `item ${i + 1} (${claimLabel(claim)})`, new Map()));
      else {
        records.push({
          kind: 'error',
          label: `item ${i + 1}`,
          error: { code: 'fhir-not-a-claim', message: 'Not a FHIR Claim resource.' },
        });
      }
    });
  } else if (resource?.resourceType === 'Claim') {
    records.push(claimRecord(resource, 'Claim', claimLabel(resource), new Map()));
  } else if (resource?.resourceType === 'Bundle') {
    const entries = list(resource.entry);
    const index = new Map<string, Resolved>();
    entries.forEach((e, i) => {
      const entry = obj(e);
      const r = obj(entry?.resource);
      if (!r) return;
      const resolved = { resource: r, expression: `Bundle.entry[${i}].resource` };
      const fullUrl = str(entry?.fullUrl);
      if (fullUrl) index.set(fullUrl, resolved);
      if (str(r.resourceType) && str(r.id)) index.set(`${r.resourceType as string}/${r.id as string}`, resolved);
    });
    const context = referencedClaims(entries, index);
    let claims = 0;
    entries.forEach((e, i) => {
      const r = obj(obj(e)?.resource);
      if (r?.resourceType !== 'Claim') return;
      claims++;
      if (!context.has(r)) records.push(claimRecord(r, `Bundle.entry[${i}].resource`, `Bundle entry ${i + 1} (${claimLabel(r)})`, index));
    });
    if (claims === 0) {
      records.push({
        kind: 'problem',
        problem: {
          code: 'fhir-no-claim',
          severity: 'error',
          message: `The Bundle has ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'} but no Claim resource.`,
          position: { format: 'fhir', expression: 'Bundle.entry' },
        },
      });
    }
  } else {
    const type = str(resource?.resourceType);
    records.push({
      kind: 'problem',
      problem: {
        code: 'fhir-not-a-claim',
        severity: 'error',
        message: printable(`Not a FHIR Claim or Bundle but ${type ? `a ${type}` : 'a resource without a type'}: send a Claim resource or a Bundle of Claims.`),
        position: { format: 'fhir', expression: type ?? '' },
      },
    });
  }
  return records;
}

/*
 * The fields the completeness, lab and drug packs read: the billing provider's entity type, the
 * claim a replacement corrects, ordering and referring practitioners, CLIA numbers, condition
 * codes and the drug quantity of an item.
 */

/** Care team roles (base claimcareteamrole, CARIN BB C4BBClaimCareTeamRole, X12 entity codes). */
const RENDERING_ROLES = ['primary', 'rendering', 'performing', '82'];
const ORDERING_ROLES = ['ordering', 'DK'];
const REFERRING_ROLES = ['referring', 'DN'];

function careTeamRole(member: unknown): 'rendering' | 'ordering' | 'referring' | 'other' | undefined {
  const role = obj(member)?.role;
  if (list(obj(role)?.coding).length === 0) return undefined;
  if (RENDERING_ROLES.some((r) => hasCode(role, r))) return 'rendering';
  if (ORDERING_ROLES.some((r) => hasCode(role, r))) return 'ordering';
  if (REFERRING_ROLES.some((r) => hasCode(role, r))) return 'referring';
  return 'other';
}

/** Ordering and referring practitioners are not the ones who rendered the service. */
function ordersOrRefers(member: unknown): boolean {
  const role = careTeamRole(member);
  return role === 'ordering' || role === 'referring';
}

/** Claim.provider: an Organization is an organisation, a Practitioner (or PractitionerRole) a person. */
function entityTypeOf(reference: unknown, resolved: Json | undefined): string | undefined {
  const ref = str(obj(reference)?.reference);
  const type = str(resolved?.resourceType) ?? str(obj(reference)?.type) ?? (ref !== undefined && !ref.startsWith('#') ? ref.split('/').at(-2) : undefined);
  if (type === 'Organization') return 'organization';
  if (type === 'Practitioner' || type === 'PractitionerRole') return 'person';
  return undefined;
}

/**
 * The payer's number of the claim this one replaces or voids: the `related` entry whose
 * relationship is "prior", by the identifier it gives for that claim (related.claim.identifier),
 * else its file reference (related.reference).
 */
function mapRelatedClaim(b: Builder, out: Json, claim: Json): void {
  list(claim.related).some((r, k) => {
    const related = obj(r);
    if (!hasCode(related?.relationship, 'prior')) return false;
    const byClaim = str(obj(obj(related?.claim)?.identifier)?.value);
    const byReference = str(obj(related?.reference)?.value);
    const at = byClaim !== undefined ? `related[${k}].claim.identifier.value` : `related[${k}].reference.value`;
    b.set(out, 'originalClaimNumber', byClaim ?? byReference, '/originalClaimNumber', at);
    return byClaim !== undefined || byReference !== undefined;
  });
}

interface TeamMember {
  member: number;
  npi: string;
}
interface Orderers {
  /** By care team sequence: the ordering and referring members. */
  ordering: Map<number, TeamMember>;
  referring: Map<number, TeamMember>;
  /** An ordering member no item names orders every line (CMS-1500 item 17 with qualifier DK). */
  claimOrdering?: TeamMember;
  /** A referring member no item names refers the claim (837P 2310A). */
  claimReferring?: TeamMember;
}

function orderingTeam(claim: Json, refs: References): Orderers {
  const out: Orderers = { ordering: new Map(), referring: new Map() };
  const named = new Set(list(claim.item).flatMap((i) => list(obj(i)?.careTeamSequence).map(Number)));
  list(claim.careTeam).forEach((m, member) => {
    const role = careTeamRole(m);
    if (role !== 'ordering' && role !== 'referring') return;
    const entry = obj(m)!;
    const npi = npiOf(entry.provider, refs.resolve(entry.provider)?.resource);
    if (!npi) return;
    const found = { member, npi };
    if (typeof entry.sequence === 'number') (role === 'ordering' ? out.ordering : out.referring).set(entry.sequence, found);
    if (typeof entry.sequence !== 'number' || !named.has(entry.sequence)) {
      if (role === 'ordering') out.claimOrdering ??= found;
      else out.claimReferring ??= found;
    }
  });
  return out;
}

function mapItemOrderers(b: Builder, line: Json, i: number, sequences: readonly number[], orderers: Orderers): void {
  const ordering = sequences.map((n) => orderers.ordering.get(n)).find((m) => m !== undefined) ?? orderers.claimOrdering;
  const referring = sequences.map((n) => orderers.referring.get(n)).find((m) => m !== undefined);
  for (const [key, found] of [['orderingProvider', ordering], ['referringProvider', referring]] as const) {
    if (!found) continue;
    b.note(`/lines/${i}/${key}`, `careTeam[${found.member}]`);
    b.set(line, key, { npi: found.npi }, `/lines/${i}/${key}/npi`, `careTeam[${found.member}].provider`);
  }
}

/** The CLIA number's identifier system (OID 2.16.840.1.113883.4.7). */
const CLIA_SYSTEM = 'urn:oid:2.16.840.1.113883.4.7';

interface CliaInfo {
  claim?: { value: string; at: string };
  /** By supportingInfo sequence. */
  bySequence: Map<number, { value: string; at: string }>;
}

/**
 * CLIA numbers given as supportingInfo: a valueIdentifier in the CLIA system, or a category
 * coded "clia". One that an item names in informationSequence is that line's; the first one no
 * item names is the claim's.
 */
function cliaInfo(claim: Json): CliaInfo {
  const out: CliaInfo = { bySequence: new Map() };
  const named = new Set(list(claim.item).flatMap((i) => list(obj(i)?.informationSequence).map(Number)));
  list(claim.supportingInfo).forEach((raw, k) => {
    const info = obj(raw);
    const identifier = obj(info?.valueIdentifier);
    let value: string | undefined;
    let at = `supportingInfo[${k}]`;
    if (identifier?.system === CLIA_SYSTEM && str(identifier.value)) {
      value = identifier.value as string;
      at = `supportingInfo[${k}].valueIdentifier.value`;
    } else if (hasCode(info?.category, 'clia')) {
      value = str(info?.valueString) ?? str(identifier?.value);
      at = `supportingInfo[${k}].${str(info?.valueString) !== undefined ? 'valueString' : 'valueIdentifier.value'}`;
    }
    if (value === undefined) return;
    const sequence = info?.sequence;
    if (typeof sequence === 'number') out.bySequence.set(sequence, { value, at });
    if ((typeof sequence !== 'number' || !named.has(sequence)) && !out.claim) out.claim = { value, at };
  });
  return out;
}

function mapItemClia(b: Builder, line: Json, item: Json, i: number, clia: CliaInfo): void {
  const own = list(item.informationSequence).map((n) => clia.bySequence.get(Number(n))).find((c) => c !== undefined);
  if (own && own.value !== clia.claim?.value) b.set(line, 'cliaNumber', own.value, `/lines/${i}/cliaNumber`, own.at);
}

/**
 * Prescription numbers by supportingInfo sequence: category `rxnumber` (the CARIN Blue Button
 * supporting-info type, which carries the 837P 2410 REF*XZ), as valueString or
 * valueIdentifier.value. Only an item that names one in informationSequence gets it: a number
 * no item names says nothing about which drug line the pharmacy dispensed.
 */
function prescriptionNumbers(claim: Json): Map<number, { value: string; at: string }> {
  const bySequence = new Map<number, { value: string; at: string }>();
  list(claim.supportingInfo).forEach((raw, k) => {
    const info = obj(raw);
    if (!hasCode(info?.category, 'rxnumber') || typeof info?.sequence !== 'number') return;
    const text = str(info.valueString);
    const value = text ?? str(obj(info.valueIdentifier)?.value);
    if (value === undefined) return;
    bySequence.set(info.sequence, { value, at: `supportingInfo[${k}].${text !== undefined ? 'valueString' : 'valueIdentifier.value'}` });
  });
  return bySequence;
}

function mapItemPrescription(b: Builder, line: Json, item: Json, i: number, bySequence: ReadonlyMap<number, { value: string; at: string }>): void {
  if (bySequence.size === 0) return;
  const own = list(item.informationSequence).map((n) => bySequence.get(Number(n))).find((p) => p !== undefined);
  if (own) b.set(line, 'prescriptionNumber', own.value, `/lines/${i}/prescriptionNumber`, own.at);
}

/** NUBC condition codes (UB-04 form locators 18-28) given as supportingInfo codes. */
const CONDITION_CODE_SYSTEMS = ['https://www.nubc.org/CodeSystem/ConditionCodes', 'http://www.nubc.org/CodeSystem/ConditionCodes'];

function mapConditionCodes(b: Builder, out: Json, claim: Json): void {
  const codes: string[] = [];
  list(claim.supportingInfo).forEach((raw, k) => {
    const coded = codeOf(obj(raw)?.code, CONDITION_CODE_SYSTEMS);
    const codings = list(obj(obj(raw)?.code)?.coding);
    if (!coded || !codings.some((c) => CONDITION_CODE_SYSTEMS.includes(str(obj(c)?.system) ?? ''))) return;
    if (codes.length === 0) b.note('/conditionCodes', 'supportingInfo');
    b.note(`/conditionCodes/${codes.length}`, `supportingInfo[${k}].code.${coded.at}`);
    codes.push(coded.code);
  });
  if (codes.length > 0) out.conditionCodes = codes;
}

/** NDC units: the 837's own codes, and their UCUM equivalents. */
const NDC_UNITS: Record<string, string> = { F2: 'F2', GR: 'GR', ML: 'ML', UN: 'UN', ME: 'ME', mL: 'ML', g: 'GR', mg: 'ME', '[iU]': 'F2', '[IU]': 'F2', '{unit}': 'UN', '{each}': 'UN', '1': 'UN' };

/**
 * A drug item's NDC and the quantity given (837P 2410 LIN and CTP): the first item.detail whose
 * productOrService carries an NDC coding, with its quantity (value, and code or unit).
 */
function mapDrugDetail(b: Builder, line: Json, item: Json, i: number): void {
  const pointer = `/lines/${i}`;
  list(item.detail).some((raw, k) => {
    const detail = obj(raw);
    const codings = list(obj(detail?.productOrService)?.coding);
    const n = codings.findIndex((c) => obj(c)?.system === NDC_SYSTEM && str(obj(c)?.code) !== undefined);
    if (n < 0) return false;
    const at = `item[${i}].detail[${k}]`;
    if (line.ndc === undefined) b.set(line, 'ndc', obj(codings[n])!.code, `${pointer}/ndc`, `${at}.productOrService.coding[${n}].code`);
    const quantity = obj(detail!.quantity);
    if (quantity) {
      b.set(line, 'ndcQuantity', quantity.value, `${pointer}/ndcQuantity`, `${at}.quantity.value`);
      const unit = str(quantity.code) ?? str(quantity.unit);
      b.set(line, 'ndcUnit', unit === undefined ? undefined : (NDC_UNITS[unit] ?? unit), `${pointer}/ndcUnit`, `${at}.quantity`);
    }
    return true;
  });
}
