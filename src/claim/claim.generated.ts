/* Generated from schemas/claim.schema.json by `npm run gen:types`. Do not edit. */

/**
 * The canonical claim, modelled on the 837P / CMS-1500 (professional) and 837I / UB-04 (institutional). Unknown fields are an error; put your own data under `extensions`.
 */
export type Claim = {
  /**
   * Patient control number (837 CLM01).
   */
  claimId: string;
  claimType: 'professional' | 'institutional';
  /**
   * Claim frequency type code (CLM05-3): 1 original, 7 replacement, 8 void.
   */
  frequencyCode?: string;
  /**
   * The payer's claim control number of the claim that a replacement (frequency 7) or void (frequency 8) corrects (837 2300 REF*F8, CMS-1500 item 22).
   */
  originalClaimNumber?: string;
  submissionDate?: IsoDate;
  payer: {
    id: string;
    name?: string;
    type?: 'medicare' | 'medicaid' | 'commercial' | 'other';
  };
  billingProvider: {
    npi: Npi;
    taxId?: string;
    name?: string;
    taxonomy?: Taxonomy;
    /**
     * Whether the billing provider is a person or an organization (837 2010AA NM102: 1 person, 2 non-person entity).
     */
    entityType?: 'person' | 'organization';
  };
  renderingProvider?: Provider;
  referringProvider?: Provider;
  patient: {
    memberId?: string;
    firstName?: string;
    lastName?: string;
    birthDate: IsoDate;
    sex: 'F' | 'M' | 'U';
  };
  placeOfService?: PlaceOfService;
  priorAuthorization?: string;
  /**
   * CLIA certificate number of the laboratory (837P 2300 REF*X4, CMS-1500 item 23): 10 characters, two digits, the letter D, seven digits. Its form is checked by the lab pack.
   */
  cliaNumber?: string;
  totalCharge?: Money;
  /**
   * At most 12 on a professional claim (837P HI), 25 on an institutional one (837I principal and 24 other diagnoses).
   *
   * @minItems 1
   */
  diagnoses: [Diagnosis, ...Diagnosis[]];
  /**
   * @maxItems 10
   */
  attachments?: Attachment[];
  /**
   * At most 50 on a professional claim (837P), 999 on an institutional one (837I).
   *
   * @minItems 1
   */
  lines: [Line, ...Line[]];
  /**
   * Institutional only: type of bill (facility type, classification, frequency).
   */
  typeOfBill?: string;
  /**
   * A calendar date, YYYY-MM-DD.
   */
  admissionDate?: string;
  /**
   * A calendar date, YYYY-MM-DD.
   */
  dischargeDate?: string;
  /**
   * Institutional only: patient discharge status code.
   */
  patientStatus?: string;
  /**
   * A calendar date, YYYY-MM-DD.
   */
  statementFromDate?: string;
  /**
   * A calendar date, YYYY-MM-DD.
   */
  statementToDate?: string;
  /**
   * Institutional only: condition codes (837I HI*BG, UB-04 form locators 18-28), such as "45" (ambiguous gender category).
   *
   * @maxItems 24
   */
  conditionCodes?: string[];
  /**
   * The caller's own data; never read by the scrubber.
   */
  extensions?: {};
};
/**
 * A calendar date, YYYY-MM-DD.
 */
export type IsoDate = string;
/**
 * National Provider Identifier: 10 digits with a Luhn check digit (checked by the core pack, not the schema, so that a bad NPI is a finding a clerk can act on).
 */
export type Npi = string;
export type Taxonomy = string;
export type PlaceOfService = string;
export type Money = number;
/**
 * CPT or HCPCS code. Its validity is checked by the code-sets pack.
 */
export type ProcedureCode = string;

export interface Provider {
  npi: Npi;
  name?: string;
  taxonomy?: Taxonomy;
}
export interface Diagnosis {
  /**
   * ICD-10-CM code, with or without the dot.
   */
  code: string;
  presentOnAdmission?: 'Y' | 'N' | 'U' | 'W' | '1';
}
export interface Attachment {
  /**
   * PWK01 report type code.
   */
  type: string;
  /**
   * PWK02 transmission code (EL, FX, BM, ...).
   */
  transmission: string;
  controlNumber?: string;
}
export interface Line {
  procedureCode?: ProcedureCode;
  /**
   * Institutional only: UB-04 revenue code.
   */
  revenueCode?: string;
  /**
   * @maxItems 10
   */
  modifiers?: string[];
  units: number;
  charge: Money;
  serviceDate: IsoDate;
  serviceDateEnd?: IsoDate;
  placeOfService?: PlaceOfService;
  /**
   * @maxItems 12
   */
  diagnosisPointers?: number[];
  /**
   * National Drug Code, 11 digits (5-4-2) with or without hyphens.
   */
  ndc?: string;
  /**
   * Free text describing the service (unlisted and not-otherwise-classified codes). Not held to an X12 width: an 837 carries 80 characters of it (SV101-7, NTE02), a FHIR Claim any length.
   */
  description?: string;
  renderingProvider?: Provider;
  /**
   * Unit of the NDC quantity (837P 2410 CTP05-1): F2 international unit, GR gram, ML millilitre, UN unit, ME milligram.
   */
  ndcUnit?: 'F2' | 'GR' | 'ML' | 'UN' | 'ME';
  /**
   * Quantity of the drug dispensed, in ndcUnit (837P 2410 CTP04).
   */
  ndcQuantity?: number;
  /**
   * Prescription or compound number of a drug a pharmacy dispensed (837P 2410 REF*XZ): the line is the pharmacy's own supply, not a practitioner's service.
   */
  prescriptionNumber?: string;
  /**
   * CLIA number of the laboratory that performed this line, when it differs from the claim's (837P 2400 REF*X4).
   */
  cliaNumber?: string;
  orderingProvider?: Provider1;
  referringProvider?: Provider2;
}
/**
 * Ordering provider of this line (837P 2420E NM1*DK), as on lab, imaging and DME lines.
 */
export interface Provider1 {
  npi: Npi;
  name?: string;
  taxonomy?: Taxonomy;
}
/**
 * Referring provider of this line when it differs from the claim's (837P 2420F NM1*DN).
 */
export interface Provider2 {
  npi: Npi;
  name?: string;
  taxonomy?: Taxonomy;
}
