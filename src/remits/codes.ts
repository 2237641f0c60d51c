import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { CsvParser } from '../tables/csv.js';

/**
 * Claim adjustment reason codes (CARC) and remittance advice remark codes (RARC). X12 maintains
 * both lists and their texts, which are not free to copy: the scrubber ships the common codes
 * with short descriptions of its own, written for a compliance lead reading a report, and a
 * deployment that licenses the official lists can load them from a file (`loadCodeList`), whose
 * descriptions then win. What kind of adjustment a code is (a denial, a contractual reduction,
 * the patient's share) is the scrubber's own classification, whichever list is loaded.
 */

/**
 * denial: the payer refused to pay for a reason a claim edit might have caught or a record
 * explains; contractual: the price the contract or fee schedule sets; patient: the patient's
 * share (deductible, coinsurance, copay); coordination: another payer's part.
 */
export type AdjustmentKind = 'denial' | 'contractual' | 'patient' | 'coordination';

interface CodeEntry {
  kind: AdjustmentKind;
  description: string;
}

const c = (kind: AdjustmentKind, description: string): CodeEntry => ({ kind, description });

/** The common CARCs, described in the scrubber's own words. */
const CARC: Readonly<Record<string, CodeEntry>> = {
  '1': c('patient', 'Applied to the deductible'),
  '2': c('patient', 'Coinsurance'),
  '3': c('patient', 'Copayment'),
  '4': c('denial', 'Procedure and modifier do not fit together, or a needed modifier is missing'),
  '5': c('denial', 'Procedure or bill type does not fit the place of service'),
  '6': c('denial', "Procedure or revenue code does not fit the patient's age"),
  '7': c('denial', "Procedure or revenue code does not fit the patient's sex"),
  '8': c('denial', "Procedure does not fit the provider's type or specialty"),
  '9': c('denial', "Diagnosis does not fit the patient's age"),
  '10': c('denial', "Diagnosis does not fit the patient's sex"),
  '11': c('denial', 'Diagnosis does not support the procedure'),
  '12': c('denial', "Diagnosis does not fit the provider's type"),
  '13': c('denial', 'Patient had died before the date of service'),
  '15': c('denial', 'Authorization number missing, invalid or not for this service'),
  '16': c('denial', 'Claim lacks information or has billing errors (see the remark codes)'),
  '18': c('denial', 'Exact duplicate of a claim or service already processed'),
  '19': c('denial', "Work-related: the workers' compensation carrier pays"),
  '20': c('denial', 'Injury covered by another payer (liability or no-fault)'),
  '21': c('denial', 'Covered by no-fault or liability insurance'),
  '22': c('denial', 'Another payer may cover this first (coordination of benefits)'),
  '23': c('coordination', "What prior payers paid or allowed reduces this payer's part"),
  '24': c('denial', 'Charges covered under a capitation or managed care plan'),
  '26': c('denial', 'Services before coverage began'),
  '27': c('denial', 'Services after coverage ended'),
  '29': c('denial', 'Filed after the time limit for filing'),
  '31': c('denial', 'Patient cannot be identified as our insured'),
  '32': c('denial', 'Our records show the patient is not an eligible dependent'),
  '33': c('denial', 'Insured has no dependent coverage'),
  '34': c('denial', 'Insured has no coverage for newborns'),
  '35': c('denial', 'Lifetime benefit maximum reached'),
  '39': c('denial', 'Services denied when authorization was requested'),
  '40': c('denial', 'Charges do not meet the criteria for emergency or urgent care'),
  '42': c('contractual', 'Charges exceed the fee schedule or maximum allowable'),
  '45': c('contractual', 'Charge exceeds the fee schedule, maximum allowable or contracted rate'),
  '49': c('denial', 'Routine or preventive service not covered with this diagnosis'),
  '50': c('denial', 'Not deemed medically necessary by the payer'),
  '51': c('denial', 'Pre-existing condition not covered'),
  '54': c('denial', 'Assistant surgeon not covered for this procedure'),
  '55': c('denial', 'Experimental or investigational procedure, drug or device'),
  '56': c('denial', 'Treatment not shown to be effective by the payer'),
  '58': c('denial', 'Treatment given in a place of service that does not fit'),
  '59': c('contractual', 'Reduced under multiple or concurrent procedure rules'),
  '60': c('denial', 'Outpatient services this close to an inpatient stay are not paid separately'),
  '66': c('patient', 'Blood deductible'),
  '89': c('contractual', 'Professional fees removed from facility charges'),
  '90': c('contractual', 'Ingredient cost adjustment'),
  '94': c('contractual', 'Processed in excess of charges'),
  '96': c('denial', 'Charge not covered (see the remark codes)'),
  '97': c('denial', 'Included in the payment for another service already adjudicated (bundled)'),
  '100': c('coordination', 'Payment made to the patient, insured or responsible party'),
  '104': c('contractual', 'Managed care withholding'),
  '107': c('denial', 'The related or qualifying claim or service was not identified'),
  '109': c('denial', 'Not covered by this payer or contractor; send to the right one'),
  '110': c('denial', 'Billing date before the service date'),
  '114': c('denial', 'Procedure or product not approved by the FDA'),
  '115': c('denial', 'Procedure postponed, canceled or delayed'),
  '116': c('denial', 'Advance notice given to the patient did not meet requirements'),
  '119': c('denial', 'Benefit maximum for this period or occurrence reached'),
  '121': c('contractual', 'Indemnification adjustment'),
  '129': c('denial', 'Prior processing information is wrong'),
  '131': c('contractual', 'Claim-specific negotiated discount'),
  '136': c('coordination', 'Failure to follow the prior payer rules'),
  '140': c('denial', 'Patient or insured health identification number and name do not match'),
  '142': c('patient', 'Monthly Medicaid patient liability amount'),
  '144': c('contractual', 'Incentive adjustment'),
  '146': c('denial', 'Diagnosis invalid for the date of service'),
  '149': c('denial', 'Lifetime benefit maximum for this service reached'),
  '150': c('denial', 'Payer judges the information does not support this level of service'),
  '151': c('denial', 'Payer judges the information does not support this many services or units'),
  '152': c('denial', 'Payer judges the information does not support this length of service'),
  '154': c('denial', 'Payer judges the information does not support this dosage'),
  '155': c('denial', 'Patient refused the service'),
  '167': c('denial', 'Diagnosis or diagnoses not covered'),
  '170': c('denial', 'Not paid when performed or billed by this type of provider'),
  '171': c('denial', 'Not paid when performed or billed by this type of provider in this facility'),
  '172': c('denial', 'Not paid when performed or billed by a provider of this specialty'),
  '181': c('denial', 'Procedure code invalid on the date of service'),
  '182': c('denial', 'Procedure modifier invalid on the date of service'),
  '183': c('denial', 'Referring provider not eligible to refer this service'),
  '184': c('denial', 'Prescribing or ordering provider not eligible to prescribe or order this service'),
  '185': c('denial', 'Rendering provider not eligible to perform this service'),
  '189': c('denial', 'Not otherwise classified or unlisted code used where a specific code exists'),
  '190': c('denial', 'Payment included in the allowance for a skilled nursing facility stay'),
  '197': c('denial', 'Precertification, notification or authorization absent'),
  '198': c('denial', 'Precertification, notification or authorization exceeded'),
  '199': c('denial', 'Revenue code and procedure code do not match'),
  '204': c('denial', "Service, equipment or drug not covered under the patient's current benefit plan"),
  '206': c('denial', 'National provider identifier missing'),
  '207': c('denial', 'National provider identifier invalid'),
  '208': c('denial', 'National provider identifier not matched to the provider'),
  '219': c('denial', 'Based on extent of injury'),
  '222': c('denial', 'Exceeds the hours this provider may bill in one day'),
  '223': c('contractual', 'Adjustment required by law'),
  '226': c('denial', 'Information requested from the billing provider was not given or not enough'),
  '227': c('denial', 'Information requested from the patient or insured was not given or not enough'),
  '231': c('denial', 'Mutually exclusive procedures cannot be done in the same day or session'),
  '234': c('denial', 'This procedure is not paid separately'),
  '235': c('denial', 'Sales tax'),
  '236': c('denial', 'Procedure or procedure and modifier not compatible with another procedure on the same day (NCCI or payer edit)'),
  '237': c('contractual', 'Legislated or regulatory penalty'),
  '242': c('denial', 'Services not provided by network or primary care providers'),
  '243': c('denial', 'Services not authorized by network or primary care providers'),
  '246': c('denial', 'Service not payable when billed this way'),
  '251': c('denial', 'Attachment or other documentation needed was missing or incomplete'),
  '252': c('denial', 'An attachment or other documentation is required to adjudicate this claim'),
  '253': c('contractual', 'Sequestration: reduction of federal payment'),
  '256': c('denial', 'Service not payable under the patient’s managed care contract'),
  A1: c('denial', 'Claim or service denied (see the remark codes)'),
  A2: c('contractual', 'Contractual adjustment'),
  A6: c('denial', 'Prior hospitalization or 30-day transfer requirement not met'),
  B1: c('denial', 'Non-covered visits'),
  B4: c('denial', 'Late filing penalty'),
  B5: c('denial', 'Coverage or program guidelines not met or exceeded'),
  B7: c('denial', 'Provider not certified or eligible to be paid for this procedure on this date'),
  B8: c('denial', 'Alternative services were available and should have been used'),
  B9: c('denial', 'Patient is enrolled in a hospice'),
  B10: c('contractual', 'Allowed amount reduced because a component of the basic procedure or test was paid'),
  B11: c('denial', 'Claim transferred to the proper payer or processor'),
  B12: c('denial', 'Services not documented in the patient’s medical records'),
  B13: c('denial', 'Previously paid: payment for this claim or service may have been made on another claim'),
  B14: c('denial', 'Only one visit or consultation per physician per day is covered'),
  B15: c('denial', 'Needs a qualifying service or procedure that was not received or paid'),
  B16: c('denial', 'New patient qualifications not met'),
  B20: c('denial', 'Procedure or service was partially or fully furnished by another provider'),
  B22: c('denial', 'Payment adjusted based on the diagnosis'),
  P1: c('contractual', 'State-mandated requirement for property and casualty'),
};

/** The common RARCs, described in the scrubber's own words. */
const RARC: Readonly<Record<string, string>> = {
  M15: 'Separately billed services or tests were bundled: they are part of another service paid',
  M20: 'HCPCS code missing or incomplete',
  M51: 'Procedure code missing, incomplete or invalid',
  M76: 'Diagnosis code missing, incomplete or invalid',
  M77: 'Place of service missing, incomplete or invalid',
  M79: 'Charge missing',
  M80: 'Not covered when performed during the same session or date as another service',
  M81: 'Diagnosis must be coded to the highest level of specificity',
  M86: 'Service denied because payment was already made for a similar procedure in the time frame',
  M114: 'Processed under the competitive acquisition program',
  M119: 'NDC missing, incomplete or invalid',
  M127: 'Medical records or other documentation needed',
  MA04: 'Secondary payment cannot be considered without the primary payer’s information',
  MA13: 'You may have to bill the patient’s secondary insurance',
  MA18: 'Claim information also sent to the patient’s supplemental insurer',
  MA01: 'How to appeal this decision if you disagree',
  MA02: 'How to appeal this decision if you disagree (the claim was not paid in full)',
  MA07: 'Claim information also sent to Medicaid',
  MA27: 'Missing or invalid information about the entitlement number or name',
  MA30: 'Type of bill missing, incomplete or invalid',
  MA61: 'Social security number or health insurance claim number missing or invalid',
  MA63: 'Principal diagnosis missing or invalid',
  MA66: 'Principal procedure code missing or invalid',
  MA120: 'CLIA certification number missing, incomplete or invalid',
  MA130: 'Claim has incomplete or invalid information; no appeal rights: send a new claim with the corrections',
  N4: 'Prior insurance carrier’s explanation of benefits missing, incomplete or invalid',
  N19: 'Procedure code incidental to the primary procedure',
  N20: 'Service not paid separately',
  N29: 'Documentation, records or reports required',
  N30: 'Patient not eligible for this service',
  N56: 'Procedure code billed is not right for the service or benefit',
  N95: 'This provider type or specialty may not bill this service',
  N115: 'Decision based on a local coverage determination',
  N122: 'Add-on code cannot be billed by itself',
  N130: 'Consult the plan’s benefit documents or guidelines',
  N179: 'Additional information was requested from the member',
  N180: 'This item or service does not meet the criteria for the category under which it was billed',
  N211: 'You may not appeal this decision',
  N257: 'Billing provider name, address, ZIP or NPI missing, incomplete or invalid',
  N264: 'Ordering provider name missing, incomplete or invalid',
  N265: 'Ordering provider NPI missing, incomplete or invalid',
  N276: 'Services pending the outcome of another claim',
  N286: 'Referring provider NPI missing, incomplete or invalid',
  N290: 'Rendering provider NPI missing, incomplete or invalid',
  N362: 'Units of service exceed the number allowed (medically unlikely edit)',
  N381: 'Consult the contract or agreement for restrictions or billing requirements',
  N386: 'Decision based on a national coverage determination',
  N390: 'This service or report cannot be billed separately',
  N425: 'Statutorily excluded service',
  N432: 'Adjustment based on a recovery audit',
  N522: 'Duplicate of a claim processed, or to be processed, as a crossover',
  N525: 'These services are not covered when performed within the global period of another service',
  N640: 'Exceeds the number or frequency limit for this period',
  N657: 'Should be billed with the appropriate code for these services',
  N674: 'Not covered unless a prerequisite procedure or service has been provided',
  N700: 'Payment based on an appropriate use criteria or imaging consultation requirement',
  N767: 'The NDC billed does not fit the procedure code',
  N822: 'Missing procedure modifier',
  N823: 'Incomplete or invalid procedure modifier',
};

export interface CodeDescription {
  code: string;
  description?: string;
  /** Whose text it is: the official list a deployment loaded, or the scrubber's own words. */
  from?: 'official' | 'bundled';
  /** The official list says the code stopped on this date. */
  stopped?: string;
}

export interface OfficialList {
  /** Where the list was read, for messages. */
  file: string;
  codes: Map<string, { description: string; stopped?: string }>;
}

export class AdjustmentCodes {
  constructor(
    private readonly officialCarc?: OfficialList,
    private readonly officialRarc?: OfficialList,
  ) {}

  /** The bundled descriptions only. */
  static readonly BUNDLED = new AdjustmentCodes();

  /** What kind of adjustment a CARC is; a code the scrubber does not know is judged by its group (below). */
  kindOf(reason: string): AdjustmentKind | undefined {
    return CARC[reason.toUpperCase()]?.kind;
  }

  carc(code: string): CodeDescription {
    return describe(code, this.officialCarc, CARC[code.toUpperCase()]?.description);
  }

  rarc(code: string): CodeDescription {
    return describe(code, this.officialRarc, RARC[code.toUpperCase()]);
  }

  /** The codes the scrubber describes itself (for docs and tests). */
  static bundledCarcs(): string[] {
    return Object.keys(CARC);
  }

  static bundledRarcs(): string[] {
    return Object.keys(RARC);
  }

  /** Where the official lists came from, when loaded. */
  sources(): { carc?: string; rarc?: string } {
    return { ...(this.officialCarc ? { carc: this.officialCarc.file } : {}), ...(this.officialRarc ? { rarc: this.officialRarc.file } : {}) };
  }
}

function describe(code: string, official: OfficialList | undefined, bundled: string | undefined): CodeDescription {
  const key = code.toUpperCase();
  const entry = official?.codes.get(key);
  if (entry) return { code: key, description: entry.description, from: 'official', ...(entry.stopped ? { stopped: entry.stopped } : {}) };
  return bundled ? { code: key, description: bundled, from: 'bundled' } : { code: key };
}

export class CodeListError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CodeListError';
  }
}

const STOP_COLUMNS = ['stop', 'stop date', 'stopped', 'deactivated', 'deactivation date', 'end date'];

/**
 * Reads an official code list a deployment licenses: CSV (or tab-separated) with a header row
 * naming a `code` column and a `description` column (any case; "Code Value" and "Description
 * Text" too), and optionally a stop date. Rows without a code are skipped; a file without
 * those columns is refused with a message saying which columns it has.
 */
export async function loadCodeList(file: string): Promise<OfficialList> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new CodeListError(`the code list ${file} cannot be read: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  }
  const firstLine = text.slice(0, text.indexOf('\n') < 0 ? text.length : text.indexOf('\n'));
  const delimiter = firstLine.includes('\t') && !firstLine.includes(',') ? '\t' : ',';
  const rows: string[][] = [];
  const parser = new CsvParser((record) => rows.push(record.fields), { delimiter });
  parser.push(text);
  parser.end();
  if (parser.problems.length > 0) throw new CodeListError(`the code list ${file} is not readable CSV: line ${parser.problems[0]!.line}: ${parser.problems[0]!.message}`);
  const header = (rows.shift() ?? []).map((h) => h.trim().toLowerCase());
  const codeAt = header.findIndex((h) => h === 'code' || h === 'code value' || h === 'carc' || h === 'rarc');
  const textAt = header.findIndex((h) => h === 'description' || h === 'description text' || h === 'text');
  if (codeAt < 0 || textAt < 0) {
    throw new CodeListError(
      `the code list ${path.basename(file)} needs a header row with a "code" and a "description" column; its first row is ${JSON.stringify(header.slice(0, 8))}`,
    );
  }
  const stopAt = header.findIndex((h) => STOP_COLUMNS.includes(h));
  const codes = new Map<string, { description: string; stopped?: string }>();
  for (const row of rows) {
    const code = (row[codeAt] ?? '').trim().toUpperCase();
    const description = (row[textAt] ?? '').trim();
    if (code === '' || description === '') continue;
    const stopped = stopAt >= 0 ? (row[stopAt] ?? '').trim() : '';
    codes.set(code, stopped ? { description, stopped } : { description });
  }
  if (codes.size === 0) throw new CodeListError(`the code list ${path.basename(file)} has no rows with a code and a description`);
  return { file, codes };
}

/**
 * The code lists as the environment names them: SCRUB_CARC_FILE and SCRUB_RARC_FILE (official
 * lists a deployment licenses), else the bundled descriptions.
 */
export async function adjustmentCodesFrom(env: Readonly<Record<string, string | undefined>>, cwd = process.cwd()): Promise<AdjustmentCodes> {
  const carcFile = env.SCRUB_CARC_FILE?.trim();
  const rarcFile = env.SCRUB_RARC_FILE?.trim();
  if (!carcFile && !rarcFile) return AdjustmentCodes.BUNDLED;
  const carc = carcFile ? await loadCodeList(path.resolve(cwd, carcFile)) : undefined;
  const rarc = rarcFile ? await loadCodeList(path.resolve(cwd, rarcFile)) : undefined;
  return new AdjustmentCodes(carc, rarc);
}
