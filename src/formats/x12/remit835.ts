import { createHash } from 'node:crypto';
import { isIsoDate } from '../../claim/dates.js';
import {
  ADJUSTMENT_GROUPS,
  CLAIM_STATUSES,
  type AdjudicatedProcedure,
  type Adjustment,
  type AdjustmentGroup,
  type ClaimPayment,
  type ControlNumbers,
  type ProviderAdjustment,
  type RemittanceHeader,
  type ServicePayment,
} from '../../remits/remittance.js';
import type { ReadProblem } from '../types.js';
import { readEnvelopes, type Transaction } from './envelope.js';
import { at, issueToProblem, type X12Issue } from './issues.js';
import { reconcileComponentSeparator } from './separators.js';
import { components, el, forgetLastSegment, sourceOf, tokenize, type Segment } from './segments.js';
import { dtpDates, isoDate } from './values.js';

/**
 * The 835 remittance advice reader (005010X221A1). It shares the tokenizer and the envelope
 * reader with the 837 reader: any delimiters, any number of interchanges, counts and control
 * numbers checked. The structure of every transaction set is read at once (header, claim
 * payments, provider adjustments); each claim payment is mapped only when `payments()` reaches
 * it, so that a 100,000-claim file never holds 100,000 mapped payments.
 *
 * Like the 837 reader it never throws: what cannot be read is a problem with its place in the
 * file, and what can be read is read. A claim payment with an error (no patient control number,
 * an amount that is not a number, an adjustment group that does not exist) is reported and
 * not imported: a misread denial would be worse than a missing one.
 */

/** An interchange of the file and the control numbers of what it holds. */
export interface InterchangeControl {
  control: string;
  sender: string;
  receiver: string;
  /** ISA09 as YYYY-MM-DD. */
  date?: string;
  groups: Array<{ control: string; transactions: string[] }>;
}

/** A claim payment as read: mapped, with its own problems, or not readable. */
export type PaymentRead =
  | { kind: 'payment'; label: string; payment: ClaimPayment; problems: ReadProblem[]; identity: string }
  | { kind: 'unreadable'; label: string; claimId: string; problems: ReadProblem[] };

export interface RemittanceRead {
  header: RemittanceHeader;
  /** How many claim payments (CLP) the transaction set holds. */
  claims: number;
  /** Maps the claim payments one at a time, in file order. */
  payments(): Generator<PaymentRead>;
  providerAdjustments: ProviderAdjustment[];
  /** Each provider adjustment's identity, as `PaymentRead.identity` (same order). */
  providerAdjustmentIdentities: string[];
  /** Problems of the transaction set as a whole (its header, the payment's balance). */
  problems: ReadProblem[];
}

export interface Remittance835 {
  interchanges: InterchangeControl[];
  remittances: RemittanceRead[];
  /** Problems of the file and of the parts that hold no readable remittance. */
  problems: ReadProblem[];
  /** Claim payments in every remittance. */
  claims: number;
}

/** Amounts are equal when they differ by less than half a cent. */
const CENT = 0.005;

/** Segments of each part of an 835, for the check that a segment belongs there. */
const HEADER_SEGMENTS = new Set(['BPR', 'TRN', 'CUR', 'REF', 'DTM', 'N1', 'N2', 'N3', 'N4', 'PER', 'RDM']);
const CLAIM_SEGMENTS = new Set(['CAS', 'NM1', 'MIA', 'MOA', 'REF', 'DTM', 'PER', 'AMT', 'QTY']);
const SERVICE_SEGMENTS = new Set(['CAS', 'REF', 'DTM', 'AMT', 'QTY', 'LQ']);
const KNOWN_835 = new Set([...HEADER_SEGMENTS, ...CLAIM_SEGMENTS, ...SERVICE_SEGMENTS, 'LX', 'TS3', 'TS2', 'CLP', 'SVC', 'PLB']);

/** SVC01 always starts with a two-character qualifier (HC, NU, AD, ...): it shows the separator used. */
const SVC01 = { segment: 'SVC', element: 1, parts: [2, 8] } as const;

interface ClaimBlock {
  clp: Segment;
  segments: Segment[];
  services: Segment[][];
  /** The transaction set ended (no SE) inside this claim payment: it may be incomplete. */
  cutOff: boolean;
}

/** An 835 problem: the count of 837 claims a problem covers does not apply to a remittance. */
function problemOf(issue: X12Issue): ReadProblem {
  const { claims: _notClaims, ...problem } = issueToProblem(issue, 0);
  return problem;
}

function issue(segment: Segment, code: string, severity: 'error' | 'warning', message: string, element?: number): X12Issue {
  return { ruleId: code, severity, message, segment, ...(element !== undefined ? { element } : {}) };
}

function amountOf(segment: Segment, element: number, name: string, required: boolean, issues: X12Issue[]): number | undefined {
  const raw = el(segment, element).trim();
  if (raw === '') {
    if (required) issues.push(issue(segment, 'x12-835-missing-element', 'error', `${at(segment)}: ${name} is empty; it must be an amount.`, element));
    return undefined;
  }
  if (raw.length > 20 || !/^-?(?:\d+\.?\d*|\.\d+)$/.test(raw)) {
    issues.push(issue(segment, 'x12-835-not-a-number', 'error', `${at(segment)}: ${name} is "${raw}", which is not an amount.`, element));
    return undefined;
  }
  return Number(raw);
}

function quantityOf(segment: Segment, element: number, name: string, issues: X12Issue[]): number | undefined {
  const raw = el(segment, element).trim();
  if (raw === '') return undefined;
  if (raw.length > 20 || !/^-?(?:\d+\.?\d*|\.\d+)$/.test(raw)) {
    issues.push(issue(segment, 'x12-835-not-a-number', 'warning', `${at(segment)}: ${name} is "${raw}", which is not a number; it was left out.`, element));
    return undefined;
  }
  return Number(raw);
}

function dateOf(segment: Segment, element: number, issues: X12Issue[]): string | undefined {
  const raw = el(segment, element).trim();
  if (raw === '') return undefined;
  const date = isoDate(raw);
  if (!isIsoDate(date)) {
    issues.push(issue(segment, 'x12-835-bad-date', 'warning', `${at(segment)}: "${raw}" is not a date written CCYYMMDD; it was left out.`, element));
    return undefined;
  }
  return date;
}

/** The adjustments of one CAS segment: a group code, then up to six reason/amount/quantity triples. */
function adjustmentsOf(cas: Segment, issues: X12Issue[]): Adjustment[] {
  const group = el(cas, 1).trim();
  if (!(ADJUSTMENT_GROUPS as readonly string[]).includes(group)) {
    issues.push(
      issue(cas, 'x12-835-adjustment-group', 'error', `${at(cas)}: CAS01 "${group}" is not a claim adjustment group code; it must be CO, PR, OA, PI or CR.`, 1),
    );
    return [];
  }
  const out: Adjustment[] = [];
  for (let k = 0; k < 6; k++) {
    const e = 2 + k * 3;
    const reason = el(cas, e).trim();
    const rawAmount = el(cas, e + 1).trim();
    if (reason === '' && rawAmount === '') continue;
    if (reason === '') {
      issues.push(issue(cas, 'x12-835-missing-element', 'error', `${at(cas)}: CAS${String(e).padStart(2, '0')} is empty, but an adjustment amount follows it; the reason code is missing.`, e));
      continue;
    }
    const amount = amountOf(cas, e + 1, `CAS${String(e + 1).padStart(2, '0')} (the amount of reason ${reason})`, true, issues);
    if (amount === undefined) continue;
    const adjustment: Adjustment = { group: group as AdjustmentGroup, reason, amount };
    const quantity = quantityOf(cas, e + 2, `CAS${String(e + 2).padStart(2, '0')} (quantity)`, issues);
    if (quantity !== undefined) adjustment.quantity = quantity;
    out.push(adjustment);
  }
  if (out.length === 0 && !issues.some((i) => i.segment === cas)) {
    issues.push(issue(cas, 'x12-835-missing-element', 'error', `${at(cas)} holds no adjustment: CAS02 (reason) and CAS03 (amount) are empty.`, 2));
  }
  return out;
}

function procedureOf(segment: Segment, element: number): AdjudicatedProcedure | undefined {
  const parts = components(segment, element);
  if (parts.length === 0) return undefined;
  return {
    qualifier: (parts[0] ?? '').trim(),
    code: (parts[1] ?? '').trim().toUpperCase(),
    modifiers: parts
      .slice(2, 6)
      .map((m) => m.trim().toUpperCase())
      .filter((m) => m !== ''),
  };
}

function sum(list: readonly Adjustment[]): number {
  let total = 0;
  for (const a of list) total += a.amount;
  return total;
}

const money = (n: number) => n.toFixed(2);

function mapService(segments: Segment[], seq: number, issues: X12Issue[]): ServicePayment | undefined {
  const svc = segments[0]!;
  const before = issues.length;
  const procedure = procedureOf(svc, 1);
  if (!procedure || procedure.code === '') {
    issues.push(
      issue(
        svc,
        'x12-835-missing-element',
        'error',
        `${at(svc)}: SVC01 "${el(svc, 1)}" names no procedure or revenue code; it must be a qualifier and a code, such as HC${svc.delimiters.component}99213.`,
        1,
      ),
    );
  }
  const charge = amountOf(svc, 2, 'SVC02 (line charge)', true, issues);
  const paid = amountOf(svc, 3, 'SVC03 (line payment)', true, issues);
  if (issues.length > before || !procedure || charge === undefined || paid === undefined) return undefined;
  const service: ServicePayment = { seq, procedure, charge, paid, units: 1, adjustments: [], remarks: [], source: sourceOf(svc) };
  const revenue = el(svc, 4).trim();
  if (revenue !== '') service.revenueCode = revenue;
  const units = quantityOf(svc, 5, 'SVC05 (units paid)', issues);
  if (units !== undefined) service.units = units;
  const submitted = procedureOf(svc, 6);
  if (submitted && submitted.code !== '') service.submitted = submitted;
  const submittedUnits = quantityOf(svc, 7, 'SVC07 (units submitted)', issues);
  if (submittedUnits !== undefined) service.submittedUnits = submittedUnits;
  for (const s of segments) {
    switch (s.id) {
      case 'DTM': {
        const qualifier = el(s, 1);
        if (qualifier === '472' || qualifier === '150') {
          // DTM02 is a date; a sender that writes a period puts it in DTM05 RD8 / DTM06.
          const range = el(s, 5) === 'RD8' ? dtpDates('RD8', el(s, 6)) : undefined;
          const date = range ? range.from : dateOf(s, 2, issues);
          if (date) service.serviceDate = date;
          if (range?.to && range.to !== range.from) service.serviceDateEnd = range.to;
        } else if (qualifier === '151') {
          const date = dateOf(s, 2, issues);
          if (date) service.serviceDateEnd = date;
        }
        break;
      }
      case 'CAS':
        service.adjustments.push(...adjustmentsOf(s, issues));
        break;
      case 'LQ':
        if (el(s, 1) === 'HE' && el(s, 2).trim() !== '') service.remarks.push(el(s, 2).trim().toUpperCase());
        break;
      case 'REF':
        if (el(s, 1) === '6R' && el(s, 2).trim() !== '') service.lineControlNumber = el(s, 2).trim();
        break;
      case 'AMT': {
        if (el(s, 1) === 'B6') {
          const allowed = amountOf(s, 2, 'AMT02 (allowed amount)', false, issues);
          if (allowed !== undefined) service.allowed = allowed;
        }
        break;
      }
    }
  }
  if (service.serviceDateEnd !== undefined && service.serviceDate === undefined) {
    service.serviceDate = service.serviceDateEnd;
    delete service.serviceDateEnd;
  }
  // The TR3's line balance: charge less the line's adjustments is the line's payment.
  const expected = service.charge - sum(service.adjustments);
  if (Math.abs(expected - service.paid) >= CENT) {
    issues.push(
      issue(
        svc,
        'x12-835-unbalanced',
        'warning',
        `${at(svc)}: the line does not balance: charge ${money(service.charge)} less adjustments ${money(sum(service.adjustments))} is ${money(expected)}, but SVC03 pays ${money(service.paid)}.`,
        3,
      ),
    );
  }
  return service;
}

function remarkCodes(segment: Segment, elements: readonly number[]): string[] {
  const out: string[] = [];
  for (const e of elements) {
    const code = el(segment, e).trim().toUpperCase();
    if (code !== '') out.push(code);
  }
  return out;
}

function mapClaimPayment(block: ClaimBlock, seq: number): { payment?: ClaimPayment; issues: X12Issue[] } {
  const issues: X12Issue[] = [];
  const clp = block.clp;
  const claimId = el(clp, 1).trim();
  const statusCode = el(clp, 2).trim();
  if (claimId === '') issues.push(issue(clp, 'x12-835-missing-element', 'error', `${at(clp)}: CLP01 (the patient control number, our claim id) is empty.`, 1));
  if (!(statusCode in CLAIM_STATUSES)) {
    issues.push(
      issue(
        clp,
        'x12-835-claim-status',
        'error',
        `${at(clp)}: CLP02 "${statusCode}" is not a claim status code; it must be one of ${Object.keys(CLAIM_STATUSES).join(', ')}.`,
        2,
      ),
    );
  }
  const charge = amountOf(clp, 3, 'CLP03 (claim charge)', true, issues);
  const paid = amountOf(clp, 4, 'CLP04 (claim payment)', true, issues);
  const patientResponsibility = amountOf(clp, 5, 'CLP05 (patient responsibility)', false, issues);
  if (block.cutOff) {
    issues.push(
      issue(clp, 'x12-835-cut-off', 'error', `${at(clp)}: the file ends inside this claim payment (no SE follows it), so its service lines may be missing; it was not imported.`),
    );
  }
  const payment: ClaimPayment = {
    seq,
    claimId,
    statusCode,
    charge: charge ?? 0,
    paid: paid ?? 0,
    adjustments: [],
    remarks: [],
    services: [],
    source: sourceOf(clp),
  };
  if (patientResponsibility !== undefined) payment.patientResponsibility = patientResponsibility;
  const optional = (element: number, key: 'filingIndicator' | 'payerClaimNumber' | 'facilityType' | 'frequencyCode') => {
    const v = el(clp, element).trim();
    if (v !== '') payment[key] = v;
  };
  optional(6, 'filingIndicator');
  optional(7, 'payerClaimNumber');
  optional(8, 'facilityType');
  optional(9, 'frequencyCode');
  for (const s of block.segments) {
    switch (s.id) {
      case 'CAS':
        payment.adjustments.push(...adjustmentsOf(s, issues));
        break;
      case 'MIA':
        payment.remarks.push(...remarkCodes(s, [5, 20, 21, 22, 23]));
        break;
      case 'MOA':
        payment.remarks.push(...remarkCodes(s, [3, 4, 5, 6, 7]));
        break;
      case 'DTM': {
        const qualifier = el(s, 1);
        if (qualifier === '232') {
          const d = dateOf(s, 2, issues);
          if (d) payment.statementFrom = d;
        } else if (qualifier === '233') {
          const d = dateOf(s, 2, issues);
          if (d) payment.statementTo = d;
        }
        break;
      }
      case 'REF':
        if (el(s, 1) === 'F8' && el(s, 2).trim() !== '') payment.originalReference = el(s, 2).trim();
        break;
    }
  }
  block.services.forEach((segments, i) => {
    const service = mapService(segments, i + 1, issues);
    if (service) payment.services.push(service);
  });
  if (issues.some((i) => i.severity === 'error') || charge === undefined || paid === undefined) return { issues };
  // The TR3's claim balance: charge less every adjustment (claim and line) is the payment.
  const adjusted = sum(payment.adjustments) + payment.services.reduce((t, s) => t + sum(s.adjustments), 0);
  if (Math.abs(payment.charge - adjusted - payment.paid) >= CENT) {
    issues.push(
      issue(
        clp,
        'x12-835-unbalanced',
        'warning',
        `${at(clp)}: the claim payment does not balance: charge ${money(payment.charge)} less adjustments ${money(adjusted)} is ${money(payment.charge - adjusted)}, but CLP04 pays ${money(payment.paid)}.`,
        4,
      ),
    );
  }
  return { payment, issues };
}

/** The claim blocks, provider adjustments and header of one 835 transaction set. */
interface Structure835 {
  header: Segment[];
  claims: ClaimBlock[];
  plb: Segment[];
  issues: X12Issue[];
}

function readStructure(tx: Transaction): Structure835 {
  const out: Structure835 = { header: [], claims: [], plb: [], issues: [] };
  let claim: ClaimBlock | undefined;
  let service: Segment[] | undefined;
  let loop = 'ST';
  for (const s of tx.body) {
    const id = s.id;
    if (!KNOWN_835.has(id)) {
      s.loop = loop;
      out.issues.push(issue(s, 'x12-unknown-segment', 'warning', `${at(s)}: "${id}" is not a segment of the 835 remittance advice (loop ${loop}); it was skipped.`));
      continue;
    }
    switch (id) {
      case 'CLP':
        loop = s.loop = '2100';
        service = undefined;
        claim = { clp: s, segments: [], services: [], cutOff: false };
        out.claims.push(claim);
        continue;
      case 'SVC':
        if (!claim) {
          s.loop = loop;
          out.issues.push(issue(s, 'x12-segment-out-of-place', 'warning', `${at(s)} is out of place: a service payment (SVC, loop 2110) must follow a claim payment (CLP); it was skipped.`));
          continue;
        }
        loop = s.loop = '2110';
        service = [s];
        claim.services.push(service);
        continue;
      case 'LX':
      case 'TS3':
      case 'TS2':
        loop = s.loop = '2000';
        claim = undefined;
        service = undefined;
        continue;
      case 'PLB':
        loop = s.loop = 'PLB';
        claim = undefined;
        service = undefined;
        out.plb.push(s);
        continue;
    }
    if (service && SERVICE_SEGMENTS.has(id)) {
      s.loop = '2110';
      service.push(s);
    } else if (claim && CLAIM_SEGMENTS.has(id)) {
      s.loop = '2100';
      service = undefined;
      claim.segments.push(s);
    } else if (!claim && loop !== 'PLB' && loop !== '2000' && HEADER_SEGMENTS.has(id)) {
      if (id === 'N1') loop = el(s, 1) === 'PR' ? '1000A' : el(s, 1) === 'PE' ? '1000B' : loop;
      s.loop = loop;
      out.header.push(s);
    } else {
      s.loop = loop;
      out.issues.push(issue(s, 'x12-segment-out-of-place', 'warning', `${at(s)} is out of place in loop ${loop}; it was skipped.`));
    }
  }
  if (!tx.se && out.claims.length > 0) out.claims[out.claims.length - 1]!.cutOff = true;
  return out;
}

function readHeader(tx: Transaction, header: readonly Segment[], control: ControlNumbers, contentHash: string, issues: X12Issue[]): RemittanceHeader | undefined {
  const bpr = header.find((s) => s.id === 'BPR');
  const trn = header.find((s) => s.id === 'TRN');
  if (!bpr || !trn) {
    issues.push(
      issue(
        tx.st,
        'x12-missing-segment',
        'error',
        `The 835 transaction set ${at(tx.st)} has no ${!bpr ? 'BPR (financial information)' : 'TRN (reassociation trace number)'} segment; its claim payments were not imported.`,
      ),
    );
    return undefined;
  }
  const paymentAmount = amountOf(bpr, 2, 'BPR02 (total payment)', true, issues);
  if (paymentAmount === undefined) return undefined;
  const result: RemittanceHeader = {
    control,
    contentHash,
    handling: el(bpr, 1).trim(),
    paymentAmount,
    creditDebit: el(bpr, 3).trim(),
    paymentMethod: el(bpr, 4).trim(),
    traceNumber: el(trn, 2).trim(),
    payer: {},
    payee: {},
  };
  const paymentDate = dateOf(bpr, 16, issues);
  if (paymentDate) result.paymentDate = paymentDate;
  const originator = el(trn, 3).trim();
  if (originator !== '') result.originatorId = originator;
  if (result.traceNumber === '') issues.push(issue(trn, 'x12-835-missing-element', 'error', `${at(trn)}: TRN02 (the check or EFT trace number) is empty.`, 2));
  for (const s of header) {
    if (s.id === 'DTM' && el(s, 1) === '405') {
      const d = dateOf(s, 2, issues);
      if (d) result.productionDate = d;
    } else if (s.id === 'N1' && s.loop === '1000A') {
      if (el(s, 2).trim() !== '') result.payer.name = el(s, 2).trim();
      if (el(s, 3) === 'XV' && el(s, 4).trim() !== '') result.payer.id = el(s, 4).trim();
    } else if (s.id === 'REF' && s.loop === '1000A' && el(s, 1) === '2U' && el(s, 2).trim() !== '') {
      result.payer.id = el(s, 2).trim();
    } else if (s.id === 'N1' && s.loop === '1000B') {
      if (el(s, 2).trim() !== '') result.payee.name = el(s, 2).trim();
      const q = el(s, 3);
      const v = el(s, 4).trim();
      if (q === 'XX' && v !== '') result.payee.npi = v;
      if (q === 'FI' && v !== '') result.payee.taxId = v;
    } else if (s.id === 'REF' && s.loop === '1000B' && el(s, 1) === 'TJ' && el(s, 2).trim() !== '') {
      result.payee.taxId = el(s, 2).trim();
    }
  }
  return result;
}

function readProviderAdjustments(plbs: readonly Segment[], issues: X12Issue[]): ProviderAdjustment[] {
  const out: ProviderAdjustment[] = [];
  for (const plb of plbs) {
    const providerId = el(plb, 1).trim();
    const fiscalPeriodDate = dateOf(plb, 2, issues);
    // Up to six reason/amount pairs: PLB03/04, 05/06, ... 13/14.
    for (let k = 0; k < 6; k++) {
      const e = 3 + k * 2;
      const reason = components(plb, e);
      if (reason.length === 0) continue;
      const amount = amountOf(plb, e + 1, `PLB${String(e + 1).padStart(2, '0')} (adjustment amount)`, true, issues);
      if (amount === undefined) continue;
      const adjustment: ProviderAdjustment = { seq: out.length + 1, providerId, reason: (reason[0] ?? '').trim(), amount, source: sourceOf(plb, e) };
      if (fiscalPeriodDate) adjustment.fiscalPeriodDate = fiscalPeriodDate;
      if (reason[1]?.trim()) adjustment.reference = reason[1].trim();
      out.push(adjustment);
    }
  }
  return out;
}

function segmentText(s: Segment): string {
  return s.text.slice(s.start, s.end);
}

function hashOf(parts: Iterable<string>): string {
  const hash = createHash('sha256');
  for (const p of parts) hash.update(p).update('\n');
  return hash.digest('hex');
}

/**
 * The identity of a claim payment: the payer's trace number and identifier, the payment date
 * and the claim payment's own segments, with how many identical ones came before it. The same
 * payment sent again in another file (new ISA, GS and ST control numbers) has the same
 * identity, and so is imported once.
 */
function identityOf(header: RemittanceHeader, kind: string, texts: readonly string[], seen: Map<string, number>): string {
  const content = hashOf(texts);
  const n = (seen.get(content) ?? 0) + 1;
  seen.set(content, n);
  return hashOf([kind, header.originatorId ?? '', header.traceNumber, header.paymentDate ?? '', content, String(n)]);
}

function notRemittanceProblem(tx: Transaction, setId: string, version: string, versionSegment: Segment, versionElement: number): ReadProblem | undefined {
  if (setId !== '835') {
    return {
      code: 'x12-not-a-remittance',
      severity: 'error',
      message: `${at(tx.st)} opens transaction set ${setId || '(none)'}, not an 835 remittance advice; it was skipped.${
        setId === '837' ? ' Claims are recorded with scrub check --record or scrub history import.' : ''
      }`,
      position: sourceOf(tx.st, 1),
    };
  }
  if (!version.includes('X221')) {
    return {
      code: 'x12-unsupported-version',
      severity: 'error',
      message: `${at(tx.st)}: implementation guide "${version}" is not the 835 of HIPAA version 5010 (005010X221A1); the transaction set was skipped.`,
      position: sourceOf(versionSegment, versionElement),
    };
  }
  return undefined;
}

/** Reads every 835 transaction set of an X12 text. Never throws. */
export function readRemittances(text: string): Remittance835 {
  const tokens = tokenize(text);
  const problems: ReadProblem[] = [...tokens.problems];
  const interchanges: InterchangeControl[] = [];
  const remittances: RemittanceRead[] = [];
  const { interchanges: envelopes, outside } = readEnvelopes(tokens.segments);
  problems.push(...outside.map(problemOf));
  const labelPrefix = (isa: Segment) => (envelopes.length > 1 ? `ISA ${el(isa, 13).trim()} ` : '');
  let claims = 0;

  for (const ix of envelopes) {
    const control: InterchangeControl = { control: el(ix.isa, 13).trim(), sender: el(ix.isa, 6).trim(), receiver: el(ix.isa, 8).trim(), groups: [] };
    const date = /^\d{6}$/.test(el(ix.isa, 9)) ? `20${el(ix.isa, 9).slice(0, 2)}-${el(ix.isa, 9).slice(2, 4)}-${el(ix.isa, 9).slice(4, 6)}` : undefined;
    if (date) control.date = date;
    interchanges.push(control);
    problems.push(...ix.issues.map(problemOf));
    for (const group of ix.groups) {
      const groupControl = group.gs ? el(group.gs, 6).trim() : '';
      const transactions: string[] = [];
      control.groups.push({ control: groupControl, transactions });
      problems.push(...group.issues.map(problemOf));
      for (const tx of group.transactions) {
        const stControl = el(tx.st, 2).trim();
        transactions.push(stControl);
        const txIssues: X12Issue[] = [...tx.issues];
        const setId = el(tx.st, 1);
        const versionSegment = el(tx.st, 3) !== '' || !group.gs ? tx.st : group.gs;
        const versionElement = versionSegment === tx.st ? 3 : 8;
        const refused = notRemittanceProblem(tx, setId, el(versionSegment, versionElement), versionSegment, versionElement);
        if (refused) {
          problems.push(refused, ...txIssues.map(problemOf));
          continue;
        }
        const separator = reconcileComponentSeparator(tx, SVC01);
        if (separator) txIssues.push({ ...separator, severity: 'warning' });
        const structure = readStructure(tx);
        txIssues.push(...structure.issues);
        const ids: ControlNumbers = { interchange: control.control, group: groupControl, transaction: stControl, sender: control.sender, receiver: control.receiver };
        const contentHash = hashOf(tx.body.map(segmentText));
        const header = readHeader(tx, structure.header, ids, contentHash, txIssues);
        const txProblems = () => txIssues.map(problemOf);
        if (!header) {
          problems.push(...txProblems());
          continue;
        }
        const providerAdjustments = readProviderAdjustments(structure.plb, txIssues);
        const plbSeen = new Map<string, number>();
        // One PLB holds up to six adjustments: each is the segment and its place in it.
        const providerAdjustmentIdentities = providerAdjustments.map((a) =>
          identityOf(header, 'PLB', [segmentText(structure.plb.find((s) => s.position === a.source.position)!), a.source.element ?? ''], plbSeen),
        );
        // The TR3's payment balance: BPR02 is the claims' payments less the provider adjustments.
        if (tx.se) {
          let claimsPaid = 0;
          let readable = true;
          for (const block of structure.claims) {
            const raw = el(block.clp, 4).trim();
            if (!/^-?(?:\d+\.?\d*|\.\d+)$/.test(raw)) readable = false;
            else claimsPaid += Number(raw);
          }
          const provider = providerAdjustments.reduce((t, a) => t + a.amount, 0);
          const expected = claimsPaid - provider;
          const bpr = structure.header.find((s) => s.id === 'BPR')!;
          if (readable && Math.abs(expected - header.paymentAmount) >= CENT) {
            txIssues.push(
              issue(
                bpr,
                'x12-835-unbalanced',
                'warning',
                `${at(bpr)}: the payment does not balance: the claim payments (${money(claimsPaid)}) less the provider adjustments (${money(provider)}) are ${money(expected)}, but BPR02 is ${money(header.paymentAmount)}.`,
                2,
              ),
            );
          }
        }
        const prefix = `${labelPrefix(ix.isa)}ST ${stControl} `;
        const blocks = structure.claims;
        claims += blocks.length;
        remittances.push({
          header,
          claims: blocks.length,
          providerAdjustments,
          providerAdjustmentIdentities,
          problems: txProblems(),
          *payments() {
            const seen = new Map<string, number>();
            for (let i = 0; i < blocks.length; i++) {
              const block = blocks[i]!;
              const claimId = el(block.clp, 1).trim();
              const label = `${prefix}claim payment ${claimId || `#${i + 1}`}`;
              const mapped = mapClaimPayment(block, i + 1);
              const identity = identityOf(header, 'CLP', [block.clp, ...block.segments, ...block.services.flat()].map(segmentText), seen);
              const paymentProblems = mapped.issues.map(problemOf);
              forgetLastSegment();
              if (mapped.payment) yield { kind: 'payment', label, payment: mapped.payment, problems: paymentProblems, identity };
              else yield { kind: 'unreadable', label, claimId, problems: paymentProblems };
            }
          },
        });
      }
    }
  }
  forgetLastSegment();
  if (envelopes.length === 0 && problems.length === 0) {
    problems.push({ code: 'x12-no-isa', severity: 'error', message: 'The file holds no X12 interchange: an 835 starts with an ISA header.' });
  }
  return { interchanges, remittances, problems, claims };
}
