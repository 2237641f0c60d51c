import { seededRandom } from './generate-claims.js';

/**
 * The realistic, seeded workload of the benchmarks and the differential test: professional
 * claims of 1 to 12 lines drawn from code pools (the bundled tables' codes when they are
 * loaded, a built-in sample otherwise), with the usual share of problems: PTP pairs billed
 * together, units over the MUE, modifier conflicts, diagnosis pointer and NPI mistakes,
 * charge mismatches, duplicates, date errors, undocumented unlisted and drug codes, and a
 * few claims that are not valid claims at all. The same seed gives the same claims everywhere.
 */

export interface PtpPair {
  column1: string;
  column2: string;
  /** YYYY-MM-DD, both ends inclusive. */
  from?: string;
  to?: string;
}

export interface CodePools {
  /** Evaluation and management codes (first line of most visits). */
  em: readonly string[];
  /** Other procedure codes. */
  procedures: readonly string[];
  /** Column 1 / column 2 code pairs of PTP edits, with the dates the edit is in force when known. */
  ptpPairs: ReadonlyArray<PtpPair>;
  /** Codes with their MUE unit limit. */
  mue: ReadonlyArray<readonly [string, number]>;
  /** ICD-10-CM codes, as written on claims. */
  diagnoses: readonly string[];
  /** Diagnosis codes that are wrong for some patients (sex- or age-specific, manifestation). */
  problemDiagnoses: readonly string[];
  /** Unlisted and drug codes, which need a description or an NDC. */
  unlisted: readonly string[];
  drugs: readonly string[];
}

/** CPT/HCPCS and ICD-10-CM code numbers only (no descriptors), common in office claims. */
export const SAMPLE_CODES: CodePools = {
  em: ['99202', '99203', '99204', '99205', '99211', '99212', '99213', '99214', '99215'],
  procedures: [
    '11102', '11103', '11104', '17000', '17003', '17110', '20550', '20610', '36415', '69210',
    '81002', '82947', '85025', '93000', '94640', '96372', '97110', '97140', '99497', '0591T',
    'G0008', 'G0439', '90471', '90686', '71046', '73030', '76700', '80053', '70551', '72148',
    '87880', '99396', 'G2211', 'L1902', 'E0114',
  ],
  ptpPairs: [
    ['0001A', '0591T'], ['0001A', '96523'], ['0001A', '99211'], ['11102', '11104'], ['17000', '17110'],
    ['20610', '20550'], ['93000', '99211'], ['96372', '36415'], ['97110', '97140'], ['80053', '82947'],
  ].map(([column1, column2]) => ({ column1: column1!, column2: column2! })),
  mue: [
    ['99213', 1], ['36415', 2], ['20610', 2], ['96372', 4], ['97110', 4], ['17003', 13],
    ['11103', 6], ['81002', 2], ['93000', 3], ['J1100', 10],
  ],
  diagnoses: [
    'E11.9', 'I10', 'E78.5', 'Z79.4', 'R53.83', 'M54.50', 'J06.9', 'L98.9', 'K21.9', 'A09',
    'M25.561', 'Z00.00', 'F41.1', 'E66.9', 'N39.0', 'J45.909', 'M17.11', 'R10.9', 'Z23', 'G47.33',
  ],
  problemDiagnoses: ['O80', 'N40.0', 'C61', 'Z34.00', 'P07.30', 'G01', 'N95.1', 'Z3A.20'],
  unlisted: ['17999', '20999', '64999', 'J3490', '99499'],
  drugs: ['J1100', 'J0696', 'J1885', 'J3301', 'J7030', 'J0585', 'Q5103'],
};

/** Modifiers clean claims carry; the problems below add the troublesome ones. */
const EVERYDAY_MODIFIERS = ['LT', 'RT', '26', 'TC', 'XS', 'XU', 'GA', 'QW', '76', 'GT', '95'];
const VALID_NPIS = ['1234567893', '1987654328', '1122334455', '1245319599', '1000000004'];
const INVALID_NPIS = ['1234567890', '12345', 'ABCDEFGHIJ', '1987654327'];
const PAYER_TYPES = ['medicare', 'medicaid', 'commercial', 'other'] as const;

export interface WorkloadOptions {
  seed?: number;
  /** Share of claims with at least one deliberate problem (default 0.35). */
  problemRate?: number;
  /** Share of inputs that are not valid claims (default 0.01). */
  invalidRate?: number;
  /** Payer ids to draw from (default MEDICARE and ACME-HEALTH). */
  payerIds?: readonly string[];
  codes?: CodePools;
  /** The dates of service are drawn from this year (default 2026). */
  year?: number;
  /** Every claim gets exactly this many lines (default: 1 to 12, and problems may add a few). */
  lineCount?: number;
}

type Json = Record<string, unknown>;

export function generateWorkload(count: number, options: WorkloadOptions = {}): unknown[] {
  const seed = options.seed ?? 42;
  const rand = seededRandom(seed);
  const codes = options.codes ?? SAMPLE_CODES;
  const payers = options.payerIds ?? ['MEDICARE', 'ACME-HEALTH'];
  const problemRate = options.problemRate ?? 0.35;
  const invalidRate = options.invalidRate ?? 0.01;
  const year = options.year ?? 2026;
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
  const chance = (p: number) => rand() < p;
  const int = (low: number, high: number) => low + Math.floor(rand() * (high - low + 1));
  const two = (n: number) => String(n).padStart(2, '0');
  const date = (month: number, day: number) => `${year}-${two(month)}-${two(day)}`;

  const claims: unknown[] = [];
  for (let n = 0; n < count; n++) {
    const month = int(1, 9);
    const day = date(month, int(1, 28));
    const diagnoses: Json[] = Array.from({ length: int(1, 5) }, () => ({ code: pick(codes.diagnoses) }));
    const drawn = int(1, 12);
    const lineCount = options.lineCount ?? drawn;
    const lines: Json[] = [];
    const used = new Set<string>();
    for (let i = 0; i < lineCount; i++) {
      // A claim bills a code once unless a problem below repeats it on purpose.
      let code = '';
      for (let tries = 0; tries < 5 && (code === '' || used.has(code)); tries++) {
        code = i === 0 && chance(0.65) ? pick(codes.em) : chance(0.08) ? pick(codes.drugs) : pick(codes.procedures);
      }
      used.add(code);
      const line: Json = {
        procedureCode: code,
        modifiers: chance(0.2) ? [pick(EVERYDAY_MODIFIERS)] : [],
        units: chance(0.95) ? 1 : int(2, 4),
        charge: Math.round(rand() * 30000) / 100,
        serviceDate: chance(0.85) ? day : date(month, int(1, 28)),
        diagnosisPointers: [int(1, diagnoses.length)],
      };
      if (i === 0 && code.startsWith('99') && lineCount > 1 && chance(0.85)) line.modifiers = ['25'];
      if (/^(J|Q5)/.test(code) && chance(0.9)) Object.assign(line, { ndc: '00002751001', ndcUnit: 'UN', ndcQuantity: 1 });
      if (chance(0.15)) line.placeOfService = pick(['11', '22', '02', '10']);
      // Laboratory and imaging lines name the practitioner who ordered them, as payers require.
      if (/^(7[0-8]\d{3}|8\d{4}|\d{4}U)$/.test(code) && chance(0.9)) line.orderingProvider = { npi: pick(VALID_NPIS) };
      lines.push(line);
    }
    const payerId = pick(payers);
    const payerType = payerId === 'MEDICARE' ? 'medicare' : payerId === 'ACME-HEALTH' ? 'commercial' : pick(PAYER_TYPES);
    const claim: Json = {
      claimId: `W-${seed}-${n}`,
      claimType: 'professional',
      frequencyCode: '1',
      submissionDate: date(Math.min(month + 1, 12), int(1, 28)),
      payer: { id: payerId, type: payerType },
      billingProvider: { npi: pick(VALID_NPIS) },
      patient: { birthDate: `${int(1935, year - 1)}-${two(int(1, 12))}-${two(int(1, 28))}`, sex: chance(0.5) ? 'F' : 'M' },
      placeOfService: '11',
      diagnoses,
      lines,
    };
    if (lines.some((l) => /^8[0-9]{4}$/.test(l.procedureCode as string)) && chance(0.9)) claim.cliaNumber = '05D0987654';
    (claim.patient as Json).memberId = payerType === 'medicare' ? medicareBeneficiaryId(rand) : `M${int(10_000_000, 99_999_999)}`;
    if (chance(0.4)) claim.renderingProvider = { npi: pick(VALID_NPIS) };
    if (chance(0.2)) claim.referringProvider = { npi: pick(VALID_NPIS) };
    if (lines.some((l) => /^7(0|2)/.test(l.procedureCode as string)) && chance(0.8)) claim.priorAuthorization = `PA-${int(1000, 9999)}`;

    if (chance(problemRate)) {
      const problems = int(1, 3);
      for (let p = 0; p < problems; p++) addProblem(claim, lines, diagnoses, codes, rand);
    }
    // A fixed line count holds whatever the problems added: the lines they added stay (they are
    // the problem), in place of as many of the claim's own lines before them.
    if (options.lineCount !== undefined && lines.length > options.lineCount) {
      const added = lines.length - options.lineCount;
      lines.splice(Math.max(0, options.lineCount - added), added);
      lines.length = options.lineCount;
    }
    // The total is computed last, so that only a deliberate mismatch makes it wrong.
    const total = lines.reduce((sum, l) => sum + (l.charge as number), 0);
    if (claim.totalCharge === undefined && chance(0.9)) claim.totalCharge = Math.round(total * 100) / 100;
    if (claim.totalCharge === 'mismatch') claim.totalCharge = Math.round(total * 93) / 100 + 1;
    claims.push(chance(invalidRate) ? breakStructure(claim, rand) : claim);
  }
  return claims;
}

function addProblem(claim: Json, lines: Json[], diagnoses: Json[], codes: CodePools, rand: () => number): void {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
  const line = pick(lines);
  const first = lines[0]!;
  switch (Math.floor(rand() * 20)) {
    case 0: {
      // A PTP pair on the same date, sometimes with a modifier that may bypass it; the whole
      // claim moves to a date the edit is in force, and is filed soon after.
      const pair = pick(codes.ptpPairs);
      first.procedureCode = pair.column1;
      lines.push({ ...first, procedureCode: pair.column2, modifiers: rand() < 0.3 ? [pick(['59', 'XS', 'XU'])] : [], ndc: undefined });
      if (pair.from) {
        const from = Math.max(dayOf(pair.from), dayOf('2015-10-01'));
        const to = Math.min(dayOf(pair.to ?? '9999-12-31'), dayOf('2026-10-31'));
        if (from <= to) {
          const day = from + Math.floor(rand() * (to - from + 1));
          for (const l of lines) {
            l.serviceDate = isoOfDay(day);
            delete l.serviceDateEnd;
          }
          claim.submissionDate = isoOfDay(day + 1 + Math.floor(rand() * 20));
        }
      }
      break;
    }
    case 1: {
      const [code, limit] = pick(codes.mue);
      line.procedureCode = code;
      line.units = limit + 1 + Math.floor(rand() * 3);
      break;
    }
    case 2: {
      // Units over the MUE only when the lines of one date are added up (MAI 2 and 3).
      const [code, limit] = pick(codes.mue);
      first.procedureCode = code;
      first.units = limit;
      lines.push({ ...first, units: 1, modifiers: ['76'] });
      break;
    }
    case 3:
      line.modifiers = ['LT', 'RT'];
      break;
    case 4:
      line.modifiers = ['50', pick(['LT', 'RT'])];
      break;
    case 5:
      line.modifiers = ['59', '59'];
      break;
    case 6:
      line.modifiers = ['25', '59', 'XS', 'GA', 'QW'];
      break;
    case 7:
      // An E/M visit with a procedure the same day, without modifier 25.
      first.procedureCode = pick(codes.em);
      first.modifiers = [];
      if (lines.length === 1) lines.push({ ...first, procedureCode: pick(codes.procedures) });
      else lines[1]!.serviceDate = first.serviceDate;
      break;
    case 8:
      line.diagnosisPointers = [diagnoses.length + 1 + Math.floor(rand() * 3)];
      break;
    case 9:
      line.diagnosisPointers = [1, 1];
      break;
    case 10:
      line.diagnosisPointers = rand() < 0.5 ? [] : [1, 1, 1, 1, 1].map((_, i) => Math.min(i + 1, diagnoses.length));
      break;
    case 11:
      (claim.billingProvider as Json).npi = pick(INVALID_NPIS);
      break;
    case 12:
      if (rand() < 0.5) claim.renderingProvider = { npi: pick(INVALID_NPIS) };
      else line.renderingProvider = { npi: pick(INVALID_NPIS) };
      break;
    case 13:
      claim.totalCharge = 'mismatch';
      break;
    case 14:
      lines.push({ ...line });
      break;
    case 15:
      line.units = 0;
      break;
    case 16: {
      const which = Math.floor(rand() * 3);
      if (which === 0) line.serviceDate = rand() < 0.5 ? '2031-01-15' : `${Number((claim.submissionDate as string).slice(0, 4)) - 1}-02-10`;
      else if (which === 1) line.serviceDate = `${(claim.submissionDate as string).slice(0, 4)}-12-30`;
      else line.serviceDateEnd = '2001-01-01';
      break;
    }
    case 17:
      line.procedureCode = pick(codes.unlisted);
      delete line.description;
      break;
    case 18:
      line.procedureCode = pick(codes.drugs);
      delete line.ndc;
      break;
    default:
      diagnoses[Math.floor(rand() * diagnoses.length)] = { code: pick(codes.problemDiagnoses) };
      if (rand() < 0.3) (claim.patient as Json).birthDate = `${Number((claim.submissionDate as string).slice(0, 4)) - 1}-06-01`;
      break;
  }
  if (lines.length > 50) lines.length = 50;
  for (const l of lines) if (l.ndc === undefined) delete l.ndc;
}

/** A Medicare Beneficiary Identifier: digit 1-9, then letters (no S, L, O, I, B, Z) and digits in the CMS pattern. */
function medicareBeneficiaryId(rand: () => number): string {
  const letters = 'ACDEFGHJKMNPQRTUVWXY';
  const letter = () => letters[Math.floor(rand() * letters.length)]!;
  const digit = () => String(Math.floor(rand() * 10));
  const either = () => (rand() < 0.5 ? letter() : digit());
  return `${1 + Math.floor(rand() * 9)}${letter()}${either()}${digit()}${letter()}${either()}${digit()}${letter()}${letter()}${digit()}${digit()}`;
}

const dayOf = (iso: string) => Date.UTC(+iso.slice(0, 4), +iso.slice(5, 7) - 1, +iso.slice(8, 10)) / 86_400_000;
const isoOfDay = (day: number) => new Date(day * 86_400_000).toISOString().slice(0, 10);

/** A claim with the mistakes a sender's mapping makes: wrong types, missing fields, typos. */
function breakStructure(claim: Json, rand: () => number): unknown {
  const broken = structuredClone(claim);
  const lines = broken.lines as Json[];
  switch (Math.floor(rand() * 4)) {
    case 0:
      lines[0]!.units = '1';
      break;
    case 1:
      delete broken.patient;
      break;
    case 2:
      broken.clamId = broken.claimId;
      break;
    default:
      lines[0]!.serviceDate = '02/20/2026';
  }
  return broken;
}
