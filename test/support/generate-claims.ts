/**
 * Seeded, realistic claims for tests and benchmarks: 1 to 12 lines drawn from common codes,
 * with the usual share of problems (bad NPIs, charge mismatches, modifier conflicts, pointer
 * errors, duplicates). The same seed gives the same claims on every machine.
 */

export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EM = ['99202', '99203', '99204', '99212', '99213', '99214', '99215'];
const PROCEDURES = ['11102', '11103', '20610', '17110', '36415', '81002', '93000', '96372', '97110', '0591T', '17999', 'J1100', 'J3490', '0001A', '99497'];
const MODIFIERS = ['25', '59', 'LT', 'RT', '50', 'XS', 'XU', 'GT', '76', '91', 'TC', '26'];
const DIAGNOSES = ['E11.9', 'I10', 'E78.5', 'Z79.4', 'R53.83', 'M54.5', 'J06.9', 'L98.9', 'K21.9', 'A09', 'M25.561', 'Z00.00'];
const VALID_NPIS = ['1234567893', '1987654328', '1122334455', '1245319599', '1000000004'];

export interface GenerateOptions {
  seed?: number;
  /** Share of claims that carry at least one deliberate problem. */
  problemRate?: number;
}

export function generateClaims(count: number, options: GenerateOptions = {}): Array<Record<string, unknown>> {
  const rand = seededRandom(options.seed ?? 42);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
  const problemRate = options.problemRate ?? 0.35;
  const claims: Array<Record<string, unknown>> = [];
  for (let n = 0; n < count; n++) {
    const diagnoses = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => ({ code: pick(DIAGNOSES) }));
    const lineCount = 1 + Math.floor(rand() * 12);
    const day = `2026-0${1 + Math.floor(rand() * 3)}-1${Math.floor(rand() * 9)}`;
    const lines = [];
    let total = 0;
    for (let i = 0; i < lineCount; i++) {
      const code = i === 0 && rand() < 0.6 ? pick(EM) : pick(PROCEDURES);
      const modifiers = rand() < 0.4 ? Array.from({ length: 1 + Math.floor(rand() * 2) }, () => pick(MODIFIERS)) : [];
      const charge = Math.round(rand() * 30000) / 100;
      total += charge;
      const line: Record<string, unknown> = {
        procedureCode: code,
        modifiers,
        units: rand() < 0.9 ? 1 : 1 + Math.floor(rand() * 6),
        charge,
        serviceDate: rand() < 0.85 ? day : `2026-04-0${1 + Math.floor(rand() * 9)}`,
        diagnosisPointers: [1 + Math.floor(rand() * diagnoses.length)],
      };
      if (code.startsWith('J') && rand() < 0.5) line.ndc = '00002751001';
      lines.push(line);
    }
    const claim: Record<string, unknown> = {
      claimId: `GEN-${options.seed ?? 42}-${n}`,
      claimType: 'professional',
      submissionDate: '2026-05-01',
      payer: { id: rand() < 0.5 ? 'MEDICARE' : 'ACME-HEALTH', type: rand() < 0.5 ? 'medicare' : 'commercial' },
      billingProvider: { npi: pick(VALID_NPIS) },
      patient: { birthDate: `19${40 + Math.floor(rand() * 60)}-0${1 + Math.floor(rand() * 9)}-1${Math.floor(rand() * 9)}`, sex: rand() < 0.5 ? 'F' : 'M' },
      placeOfService: '11',
      totalCharge: Math.round(total * 100) / 100,
      diagnoses,
      lines,
    };
    if (rand() < problemRate) {
      const problem = Math.floor(rand() * 6);
      if (problem === 0) (claim.billingProvider as Record<string, unknown>).npi = '1234567890';
      if (problem === 1) claim.totalCharge = Math.round(total * 90) / 100;
      if (problem === 2) (lines[0] as Record<string, unknown>).modifiers = ['LT', 'RT'];
      if (problem === 3) (lines[0] as Record<string, unknown>).diagnosisPointers = [1, 1, 9];
      if (problem === 4) lines.push({ ...lines[0]! });
      if (problem === 5) (lines[0] as Record<string, unknown>).units = 0;
    }
    claims.push(claim);
  }
  return claims;
}
