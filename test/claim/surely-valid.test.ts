import { describe, expect, it } from 'vitest';
import { claimSchema, claimValidator } from '../../src/claim/schema.js';
import { surelyValidClaim } from '../../src/claim/surely-valid.js';
import { checkClaimStructure } from '../../src/claim/validate.js';
import { exampleClaim } from '../helpers.js';
import { generateWorkload } from '../support/workload.js';

/**
 * surelyValidClaim may accept a claim only when the claim schema (ajv) does: checkClaimStructure
 * then skips ajv. Claims are broken field by field, with every field name the schema knows set
 * at every level to values that break some keyword (type, length, pattern, format, range, enum,
 * list size, the claimType branch, unknown keys), and each claim it accepts must be one ajv
 * accepts. A new constraint in the schema that the plain checks lack fails this test.
 */

type Json = Record<string, unknown>;
const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

const provider = { npi: '1245319599', name: 'Dr Who', taxonomy: '207Q00000X' };
const fullLine = {
  procedureCode: '99213', modifiers: ['25', 'XS'], units: 1, charge: 120, serviceDate: '2026-02-20', serviceDateEnd: '2026-02-21',
  placeOfService: '11', diagnosisPointers: [1, 2], ndc: '00002-1433-80', renderingProvider: provider, ndcUnit: 'UN', ndcQuantity: 2.5,
  prescriptionNumber: 'RX1', description: 'unlisted procedure', cliaNumber: '05D0987654', orderingProvider: provider, referringProvider: provider,
};
const professional: Json = {
  ...exampleClaim('clean.json'),
  originalClaimNumber: 'ORIG-1', renderingProvider: provider, referringProvider: provider, priorAuthorization: 'PA1', cliaNumber: '05D0987654',
  billingProvider: { npi: '1234567893', taxId: '123456789', name: 'Bay Clinic', taxonomy: '207Q00000X', entityType: 'organization' },
  diagnoses: [{ code: 'E11.9', presentOnAdmission: 'Y' }, { code: 'I10' }],
  attachments: [{ type: '03', transmission: 'FX', controlNumber: 'A1' }],
  lines: [fullLine, { procedureCode: '11102', units: 1, charge: 40, serviceDate: '2026-02-20', diagnosisPointers: [1] }],
  extensions: { anything: [1, { a: null }] },
};
const institutional: Json = {
  ...professional, claimType: 'institutional', typeOfBill: '0131', admissionDate: '2026-02-19', dischargeDate: '2026-02-21',
  patientStatus: '01', statementFromDate: '2026-02-19', statementToDate: '2026-02-21', conditionCodes: ['A1', '07'],
  lines: [{ ...fullLine, revenueCode: '0450' }, { revenueCode: '0250', units: 2, charge: 10, serviceDate: '2026-02-20' }],
};

/** Every property name the schema knows, at any level. */
function schemaFieldNames(node: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(node)) node.forEach((n) => schemaFieldNames(n, into));
  else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node as Json)) {
      if (key === 'properties') Object.keys(value as Json).forEach((k) => into.add(k));
      schemaFieldNames(value, into);
    }
  }
  return into;
}

const astral = '\u{1F600}';
const VALUES: unknown[] = [
  null, true, 0, -1, -0.001, 0.5, 1, 12, 13, 99999, 99999.5, 100000, 9999999.999, 10000000, 99999999.99, 100000000, 1e308,
  '', 'A', 'a', 'AB', 'ab', 'A1', '1', '01', '001', '0131', '1234', '12345', '99213', '9921!', 'E11.9', 'E11.99999', 'F2', 'UN', 'XX',
  'Y', '1', 'medicare', 'dental', 'person', 'professional', 'institutional', 'F', '207Q00000X', '207q00000X', '123456789', '12345678',
  '00002143380', '0002-143-8', '00002-1433-800', '2024-02-29', '2026-02-29', '2026-13-01', '0000-01-01', '2026-1-01',
  'a'.repeat(38), 'a'.repeat(39), 'a'.repeat(50), 'a'.repeat(51), 'a'.repeat(80), 'a'.repeat(81), 'a'.repeat(120), 'a'.repeat(121), 'a'.repeat(1001),
  astral, astral.repeat(38), astral.repeat(41), astral.repeat(61), [], [1], [13], [0], ['25'], ['2'], [null], {}, { npi: '1' }, { code: 'I10' },
];

/** Each object and list inside a claim, with how to reach it. */
function containers(value: unknown, at: (string | number)[] = [], found: Array<(string | number)[]> = []): Array<(string | number)[]> {
  if (value !== null && typeof value === 'object') {
    if (!(at.length > 0 && at[0] === 'extensions')) found.push(at);
    for (const [k, v] of Object.entries(value as Json)) containers(v, [...at, Array.isArray(value) ? Number(k) : k], found);
  }
  return found;
}

function reach(root: unknown, path: (string | number)[]): Json {
  let node = root as Json;
  for (const step of path) node = node[step] as Json;
  return node;
}

/** The claims broken one change at a time from a base claim. */
function brokenClaims(base: Json): Json[] {
  const out: Json[] = [];
  const names = [...schemaFieldNames(claimSchema), 'zzUnknown'];
  for (const path of containers(base)) {
    const target = reach(base, path);
    if (Array.isArray(target)) {
      for (const v of VALUES) {
        const put = clone(base);
        (reach(put, path) as unknown as unknown[])[0] = v;
        out.push(put);
        const add = clone(base);
        (reach(add, path) as unknown as unknown[]).push(v);
        out.push(add);
      }
      for (const size of [0, 11, 13, 25, 26, 51, 1000]) {
        const sized = clone(base);
        const list = reach(sized, path) as unknown as unknown[];
        const first = list[0];
        list.length = 0;
        for (let i = 0; i < size; i++) list.push(clone(first));
        out.push(sized);
      }
      continue;
    }
    for (const key of Object.keys(target)) {
      const without = clone(base);
      delete reach(without, path)[key];
      out.push(without);
    }
    for (const name of names) {
      for (const v of VALUES) {
        const put = clone(base);
        reach(put, path)[name] = v;
        out.push(put);
      }
    }
  }
  return out;
}

describe('the plain checks of the claim schema', () => {
  const validate = claimValidator();

  it('accept the full claims of both types, as ajv does', () => {
    expect([validate(professional), validate(institutional)]).toEqual([true, true]);
    expect([surelyValidClaim(professional), surelyValidClaim(institutional)]).toEqual([true, true]);
  });

  it.each([['professional', professional], ['institutional', institutional]] as const)('accept no %s claim broken field by field that ajv refuses', (_type, base) => {
    const broken = [...brokenClaims(base), { ...clone(base), claimType: base.claimType === 'professional' ? 'institutional' : 'professional' }];
    // Shown by ajv's errors for the claim: which keyword the plain checks missed.
    const wronglyAccepted = broken.filter((c) => surelyValidClaim(c) && !validate(c)).map((c) => {
      validate(c);
      return JSON.stringify(validate.errors?.slice(0, 2));
    });
    expect(wronglyAccepted).toEqual([]);
    // Most of the breaks are refused by the schema, and checkClaimStructure's verdict is ajv's.
    const refused = broken.filter((c) => !validate(c));
    expect(refused.length).toBeGreaterThan(broken.length / 2);
    expect(broken.filter((c) => checkClaimStructure(c).ok !== validate(c))).toEqual([]);
  }, 120_000);

  it('accept the generated workload\'s valid claims, so that ajv is left the rest', () => {
    const claims = generateWorkload(2000, { seed: 11 }) as Json[];
    const valid = claims.filter((c) => validate(c));
    expect(valid.length).toBeGreaterThan(1500);
    expect(valid.filter((c) => !surelyValidClaim(c))).toEqual([]);
    expect(claims.filter((c) => surelyValidClaim(c) && !validate(c))).toEqual([]);
  });
});
