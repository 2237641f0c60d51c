import { isFullDate } from './dates.js';
import { claimSchema } from './schema.js';

/**
 * The claim schema restated as plain checks, for the claims that meet it: ajv collects every
 * error (allErrors, verbose) and calls a function with an options object per line, provider
 * and diagnosis, about 5 µs a bench claim; these checks cost a fraction of that. True means
 * the schema accepts the claim; false means "not known": checkClaimStructure then asks ajv,
 * which gives every finding as before. So a check here may be stricter than the schema (a
 * string of astral characters is measured in UTF-16 units, which can only overcount), never
 * looser: test/claim/surely-valid.test.ts breaks claims keyword by keyword of the schema and
 * holds every claim this accepts to ajv's verdict.
 */

type Json = Record<string, unknown>;

/** The schema's own patterns, compiled as ajv compiles them (Unicode mode), so both read them alike. */
function schemaPattern(...path: string[]): RegExp {
  let node: unknown = claimSchema;
  for (const key of path) node = (node as Json)[key];
  const pattern = (node as { pattern?: unknown }).pattern;
  if (typeof pattern !== 'string') throw new Error(`claim schema: no pattern at ${path.join('/')}`);
  return new RegExp(pattern, 'u');
}

const FREQUENCY_CODE = schemaPattern('properties', 'frequencyCode');
const TAX_ID = schemaPattern('properties', 'billingProvider', 'properties', 'taxId');
const TAXONOMY = schemaPattern('$defs', 'taxonomy');
const PLACE_OF_SERVICE = schemaPattern('$defs', 'placeOfService');
const PROCEDURE_CODE = schemaPattern('$defs', 'procedureCode');
const DIAGNOSIS_CODE = schemaPattern('$defs', 'diagnosis', 'properties', 'code');
const ATTACHMENT_TYPE = schemaPattern('$defs', 'attachment', 'properties', 'type');
const TRANSMISSION = schemaPattern('$defs', 'attachment', 'properties', 'transmission');
const REVENUE_CODE = schemaPattern('$defs', 'line', 'properties', 'revenueCode');
const MODIFIER = schemaPattern('$defs', 'line', 'properties', 'modifiers', 'items');
const NDC = schemaPattern('$defs', 'line', 'properties', 'ndc');
const TYPE_OF_BILL = schemaPattern('properties', 'typeOfBill');
const PATIENT_STATUS = schemaPattern('properties', 'patientStatus');
const CONDITION_CODE = schemaPattern('properties', 'conditionCodes', 'items');

const keysOf = (node: unknown) => new Set(Object.keys((node as { properties: Json }).properties));
const CLAIM_KEYS = keysOf(claimSchema);
const PAYER_KEYS = keysOf((claimSchema.properties as Json).payer);
const BILLING_KEYS = keysOf((claimSchema.properties as Json).billingProvider);
const PATIENT_KEYS = keysOf((claimSchema.properties as Json).patient);
const defs = claimSchema.$defs as Json;
const PROVIDER_KEYS = keysOf(defs.provider);
const DIAGNOSIS_KEYS = keysOf(defs.diagnosis);
const ATTACHMENT_KEYS = keysOf(defs.attachment);
const LINE_KEYS = keysOf(defs.line);

const MAX_MONEY = 99999999.99;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** additionalProperties: false, as ajv reads it (every enumerable key, own or inherited). */
function onlyKeys(object: Json, allowed: ReadonlySet<string>): boolean {
  for (const key in object) if (!allowed.has(key)) return false;
  return true;
}

/**
 * A string of at most `max` characters (and at least one when `nonEmpty`). ajv counts code
 * points; UTF-16 units are never fewer, so a string within `max` units is within `max` code
 * points, and one of at least one unit has at least one code point.
 */
function text(value: unknown, max: number, nonEmpty: boolean): boolean {
  return typeof value === 'string' && value.length <= max && (!nonEmpty || value.length > 0);
}

const optionalText = (value: unknown, max: number, nonEmpty: boolean) => value === undefined || text(value, max, nonEmpty);
const matching = (value: unknown, pattern: RegExp) => typeof value === 'string' && pattern.test(value);
const optionalMatching = (value: unknown, pattern: RegExp) => value === undefined || matching(value, pattern);
const date = (value: unknown) => typeof value === 'string' && isFullDate(value);
const optionalDate = (value: unknown) => value === undefined || date(value);
/** ajv's number type: finite. */
const numberWithin = (value: unknown, min: number, max: number) => typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max;
const optionalMoney = (value: unknown) => value === undefined || numberWithin(value, 0, MAX_MONEY);

function provider(value: unknown): boolean {
  return isObject(value) && onlyKeys(value, PROVIDER_KEYS) && text(value.npi, 80, true) && optionalText(value.name, 120, false) && optionalMatching(value.taxonomy, TAXONOMY);
}
const optionalProvider = (value: unknown) => value === undefined || provider(value);

function listOf(value: unknown, min: number, max: number, item: (v: unknown) => boolean): boolean {
  if (!Array.isArray(value) || value.length < min || value.length > max) return false;
  for (let i = 0; i < value.length; i++) if (!item(value[i])) return false;
  return true;
}

const modifier = (value: unknown) => matching(value, MODIFIER);
const diagnosisPointer = (value: unknown) => typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 12;

function line(value: unknown, institutional: boolean): boolean {
  if (!isObject(value) || !onlyKeys(value, LINE_KEYS)) return false;
  // The schema's claimType branch: institutional lines need a revenue code; the others a
  // procedure code and diagnosis pointers, and no revenue code.
  if (institutional ? value.revenueCode === undefined : value.procedureCode === undefined || value.diagnosisPointers === undefined || value.revenueCode !== undefined) return false;
  return (
    optionalMatching(value.procedureCode, PROCEDURE_CODE) &&
    optionalMatching(value.revenueCode, REVENUE_CODE) &&
    (value.modifiers === undefined || listOf(value.modifiers, 0, 10, modifier)) &&
    numberWithin(value.units, 0, 99999) &&
    numberWithin(value.charge, 0, MAX_MONEY) &&
    date(value.serviceDate) &&
    optionalDate(value.serviceDateEnd) &&
    optionalMatching(value.placeOfService, PLACE_OF_SERVICE) &&
    (value.diagnosisPointers === undefined || listOf(value.diagnosisPointers, 0, 12, diagnosisPointer)) &&
    optionalMatching(value.ndc, NDC) &&
    optionalProvider(value.renderingProvider) &&
    (value.ndcUnit === undefined || value.ndcUnit === 'F2' || value.ndcUnit === 'GR' || value.ndcUnit === 'ML' || value.ndcUnit === 'UN' || value.ndcUnit === 'ME') &&
    (value.ndcQuantity === undefined || (numberWithin(value.ndcQuantity, 0, 9999999.999) && (value.ndcQuantity as number) > 0)) &&
    optionalText(value.description, 1000, false) &&
    optionalText(value.prescriptionNumber, 50, true) &&
    optionalText(value.cliaNumber, 50, true) &&
    optionalProvider(value.orderingProvider) &&
    optionalProvider(value.referringProvider)
  );
}

function diagnosis(value: unknown): boolean {
  if (!isObject(value) || !onlyKeys(value, DIAGNOSIS_KEYS) || !matching(value.code, DIAGNOSIS_CODE)) return false;
  const poa = value.presentOnAdmission;
  return poa === undefined || poa === 'Y' || poa === 'N' || poa === 'U' || poa === 'W' || poa === '1';
}

function attachment(value: unknown): boolean {
  return isObject(value) && onlyKeys(value, ATTACHMENT_KEYS) && matching(value.type, ATTACHMENT_TYPE) && matching(value.transmission, TRANSMISSION) && optionalText(value.controlNumber, 80, false);
}

const conditionCode = (value: unknown) => matching(value, CONDITION_CODE);

/** True only for a claim the claim schema accepts (false: ask ajv). */
export function surelyValidClaim(claim: Json): boolean {
  if (!onlyKeys(claim, CLAIM_KEYS)) return false;
  const claimType = claim.claimType;
  if (claimType !== 'professional' && claimType !== 'institutional') return false;
  const institutional = claimType === 'institutional';
  if (!institutional) {
    for (const field of ['typeOfBill', 'admissionDate', 'dischargeDate', 'patientStatus', 'statementFromDate', 'statementToDate', 'conditionCodes']) {
      if (claim[field] !== undefined) return false;
    }
  }
  const { payer, billingProvider: billing, patient } = claim;
  if (!isObject(payer) || !onlyKeys(payer, PAYER_KEYS) || !text(payer.id, 80, true) || !optionalText(payer.name, 120, false)) return false;
  if (payer.type !== undefined && payer.type !== 'medicare' && payer.type !== 'medicaid' && payer.type !== 'commercial' && payer.type !== 'other') return false;
  if (!isObject(billing) || !onlyKeys(billing, BILLING_KEYS) || !text(billing.npi, 80, true) || !optionalMatching(billing.taxId, TAX_ID)) return false;
  if (!optionalText(billing.name, 120, false) || !optionalMatching(billing.taxonomy, TAXONOMY)) return false;
  if (billing.entityType !== undefined && billing.entityType !== 'person' && billing.entityType !== 'organization') return false;
  if (!isObject(patient) || !onlyKeys(patient, PATIENT_KEYS) || !date(patient.birthDate)) return false;
  if (patient.sex !== 'F' && patient.sex !== 'M' && patient.sex !== 'U') return false;
  if (!optionalText(patient.memberId, 80, false) || !optionalText(patient.firstName, 80, false) || !optionalText(patient.lastName, 80, false)) return false;
  const lines = claim.lines;
  if (!Array.isArray(lines) || lines.length < 1 || lines.length > (institutional ? 999 : 50)) return false;
  for (let i = 0; i < lines.length; i++) if (!line(lines[i], institutional)) return false;
  return (
    text(claim.claimId, 38, true) &&
    optionalMatching(claim.frequencyCode, FREQUENCY_CODE) &&
    optionalText(claim.originalClaimNumber, 50, true) &&
    optionalDate(claim.submissionDate) &&
    optionalProvider(claim.renderingProvider) &&
    optionalProvider(claim.referringProvider) &&
    optionalMatching(claim.placeOfService, PLACE_OF_SERVICE) &&
    optionalText(claim.priorAuthorization, 50, true) &&
    optionalText(claim.cliaNumber, 50, true) &&
    optionalMoney(claim.totalCharge) &&
    listOf(claim.diagnoses, 1, institutional ? 25 : 12, diagnosis) &&
    (claim.attachments === undefined || listOf(claim.attachments, 0, 10, attachment)) &&
    optionalMatching(claim.typeOfBill, TYPE_OF_BILL) &&
    optionalDate(claim.admissionDate) &&
    optionalDate(claim.dischargeDate) &&
    optionalMatching(claim.patientStatus, PATIENT_STATUS) &&
    optionalDate(claim.statementFromDate) &&
    optionalDate(claim.statementToDate) &&
    (claim.conditionCodes === undefined || listOf(claim.conditionCodes, 0, 24, conditionCode)) &&
    (claim.extensions === undefined || isObject(claim.extensions))
  );
}
