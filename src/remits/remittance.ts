import type { X12Source } from '../findings/finding.js';

/**
 * The remittance advice (X12 835, 005010X221A1) as the scrubber reads it: what the payer did
 * with each claim and each service line. Only adjudication data is kept; the patient's and
 * insured's names and ids (NM1*QC, NM1*IL) are never read into this model.
 */

/** CAS group codes: contractual obligation, patient responsibility, other, payer initiated, correction/reversal. */
export const ADJUSTMENT_GROUPS = ['CO', 'PR', 'OA', 'PI', 'CR'] as const;
export type AdjustmentGroup = (typeof ADJUSTMENT_GROUPS)[number];

/** One adjustment of a CAS segment (a CAS holds up to six). */
export interface Adjustment {
  group: AdjustmentGroup;
  /** Claim adjustment reason code (CARC), e.g. "97", "A2". */
  reason: string;
  /** Positive when it reduces the payment; negative when it increases it. */
  amount: number;
  quantity?: number;
}

/** CLP02, the claim status code. */
export const CLAIM_STATUSES: Readonly<Record<string, string>> = {
  '1': 'processed as primary',
  '2': 'processed as secondary',
  '3': 'processed as tertiary',
  '4': 'denied',
  '19': 'processed as primary, forwarded to additional payer(s)',
  '20': 'processed as secondary, forwarded to additional payer(s)',
  '21': 'processed as tertiary, forwarded to additional payer(s)',
  '22': 'reversal of previous payment',
  '23': 'not our claim, forwarded to additional payer(s)',
  '25': 'predetermination pricing only, no payment',
};

/** A procedure as an SVC composite names it (SVC01 or SVC06). */
export interface AdjudicatedProcedure {
  /** Product/service id qualifier: HC (CPT/HCPCS), NU (revenue code), AD, ER, HP, IV, N4, WK, ZZ. */
  qualifier: string;
  code: string;
  /** Upper case, in the order given. */
  modifiers: string[];
}

/** One service line of a claim payment (loop 2110). */
export interface ServicePayment {
  /** 1-based position of the SVC within its claim payment. */
  seq: number;
  /** SVC01: the procedure as the payer adjudicated it. */
  procedure: AdjudicatedProcedure;
  /** SVC06: the procedure as submitted, when the payer adjudicated another code. */
  submitted?: AdjudicatedProcedure;
  charge: number;
  paid: number;
  /** SVC04: the NUBC revenue code, on institutional lines. */
  revenueCode?: string;
  /** SVC05: units paid (1 when absent, as the TR3 says). */
  units: number;
  /** SVC07: units submitted, when the payer paid another number. */
  submittedUnits?: number;
  serviceDate?: string;
  serviceDateEnd?: string;
  adjustments: Adjustment[];
  /** LQ*HE remittance advice remark codes (RARC). */
  remarks: string[];
  /** REF*6R: the line item control number the provider sent. */
  lineControlNumber?: string;
  /** AMT*B6: the allowed amount. */
  allowed?: number;
  source: X12Source;
}

/** One claim payment (loop 2100, CLP). */
export interface ClaimPayment {
  /** 1-based position of the CLP within its transaction set. */
  seq: number;
  /** CLP01: the patient control number, which is our claim id. */
  claimId: string;
  /** CLP02. */
  statusCode: string;
  charge: number;
  paid: number;
  /** CLP05. */
  patientResponsibility?: number;
  /** CLP06: the claim filing indicator (MA, MB, MC, 12, CI, ...). */
  filingIndicator?: string;
  /** CLP07: the payer's claim control number (ICN/DCN). */
  payerClaimNumber?: string;
  /** CLP08: facility type (place of service or type of bill's first two digits). */
  facilityType?: string;
  /** CLP09: claim frequency code. */
  frequencyCode?: string;
  /** DTM*232 / DTM*233: the claim's statement period. */
  statementFrom?: string;
  statementTo?: string;
  /** REF*F8: the original reference number, on a correction. */
  originalReference?: string;
  /** Claim-level adjustments (the CAS segments of loop 2100). */
  adjustments: Adjustment[];
  /** Remark codes of MIA (inpatient) and MOA (outpatient). */
  remarks: string[];
  services: ServicePayment[];
  source: X12Source;
}

/** A provider-level adjustment (PLB): money the payer moved that belongs to no one claim. */
export interface ProviderAdjustment {
  /** 1-based position among the transaction set's PLB adjustments. */
  seq: number;
  providerId: string;
  /** PLB02: the last day of the provider's fiscal period. */
  fiscalPeriodDate?: string;
  /** Adjustment reason (PLB03-1): WO overpayment recovery, L6 interest, FB forwarding balance, CV capital pass-through, ... */
  reason: string;
  /** PLB03-2: the reference the reason comes with (often the claim control number recovered). */
  reference?: string;
  /** Positive reduces the payment; negative increases it. */
  amount: number;
  source: X12Source;
}

/** The envelope of one transaction set: which interchange and group it came in. */
export interface ControlNumbers {
  /** ISA13. */
  interchange: string;
  /** GS06. */
  group: string;
  /** ST02. */
  transaction: string;
  /** ISA06 and ISA08, trimmed. */
  sender: string;
  receiver: string;
}

/** One 835 transaction set: one payment (or notice) from one payer to one payee. */
export interface RemittanceHeader {
  control: ControlNumbers;
  /** SHA-256 of the transaction set's segments after ST and before SE: the same payment sent in another envelope has the same hash. */
  contentHash: string;
  /** BPR01: I remittance information only, C payment accompanies remittance, H notification only, ... */
  handling: string;
  /** BPR02: the total actual provider payment. */
  paymentAmount: number;
  /** BPR03: C credit, D debit. */
  creditDebit: string;
  /** BPR04: ACH, BOP, CHK, FWT, NON. */
  paymentMethod: string;
  /** BPR16: the check issue or EFT effective date. */
  paymentDate?: string;
  /** TRN02: the check or EFT trace number. */
  traceNumber: string;
  /** TRN03: the payer's identifier (1 + EIN, as a rule). */
  originatorId?: string;
  /** DTM*405: production date. */
  productionDate?: string;
  payer: { name?: string; id?: string };
  payee: { name?: string; npi?: string; taxId?: string };
}
