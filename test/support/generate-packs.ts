import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import { seededRandom } from './generate-claims.js';
import { SAMPLE_CODES, type CodePools } from './workload.js';

/**
 * Generated payer packs, written as YAML the way compliance staff write them, for the
 * rule-count benchmark and the differential test: each pack applies to one payer id and holds
 * rules on procedure codes, modifiers, diagnoses, units, places of service and dates in every
 * scope, with every operator family: decorators (not:, someFact:, everyFact:, someValue:,
 * everyValue:, swap:), fact references (to the claim and to pack parameters), `any` and `not`
 * blocks, and effective windows.
 */

export interface PackGenerationOptions {
  packs: number;
  rulesPerPack: number;
  seed?: number;
  codes?: CodePools;
  /** The payer id of pack i (default PAYER-001, PAYER-002, ...). */
  payerId?: (i: number) => string;
  /** Leave out appliesTo, so that every pack applies to every claim. */
  everyPayer?: boolean;
  /**
   * varied (default): every operator family, including the odd ones (someValue:, swap:,
   * conditions no index can use) the differential test wants; realistic: the kinds of rules
   * payer policies are mostly made of, triggered by procedure codes, modifiers or diagnoses.
   */
  style?: 'varied' | 'realistic';
  /**
   * Make every other pack a payer pack of the bundled ones: it extends payer-policy and
   * modifiers, sets their parameters and overrides some of their rules.
   */
  extendsBundled?: boolean;
}

export function payerIdOf(i: number): string {
  return `PAYER-${String(i + 1).padStart(3, '0')}`;
}

type Json = Record<string, unknown>;

const MODIFIERS = ['25', '59', 'LT', 'RT', '50', 'XS', 'XU', 'GT', '76', '91', 'TC', '26', 'GA', 'QW'];

/** 6,000 procedure codes shaped like CPT (5 digits) and HCPCS Level II (a letter and 4 digits). */
const CODE_UNIVERSE: readonly string[] = (() => {
  const rand = seededRandom(777);
  const out = new Set<string>();
  while (out.size < 6_000) {
    out.add(rand() < 0.8 ? String(10_000 + Math.floor(rand() * 89_999)) : 'ABCEGHJKLQ'[Math.floor(rand() * 10)]! + String(Math.floor(rand() * 10_000)).padStart(4, '0'));
  }
  return [...out];
})();

export function generatePayerPack(i: number, options: PackGenerationOptions): { name: string; pack: Json } {
  const rand = seededRandom((options.seed ?? 1) * 100_003 + i);
  const codes = options.codes ?? SAMPLE_CODES;
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
  const some = <T>(list: readonly T[], n: number): T[] => [...new Set(Array.from({ length: n }, () => pick(list)))];
  const int = (low: number, high: number) => low + Math.floor(rand() * (high - low + 1));
  const claimCodes = [...codes.em, ...codes.procedures, ...codes.drugs, ...codes.ptpPairs.flatMap((p) => [p.column1, p.column2]), ...codes.mue.map(([c]) => c)];
  const realistic = options.style === 'realistic';
  // A real policy names codes from the whole code set, of which one claim bills a handful: a
  // realistic rule draws most of its codes from thousands, a varied one from the claims' own.
  const allCodes = realistic ? [...claimCodes, ...CODE_UNIVERSE] : claimCodes;
  const name = `payer-${String(i + 1).padStart(3, '0')}`;
  const payerId = (options.payerId ?? payerIdOf)(i);

  const line = (id: string, title: string, conditions: Json, extra: Json = {}): Json => ({
    id,
    title,
    category: pick(['payer-policy', 'payer-policy', 'modifier', 'mue', 'diagnosis']),
    severity: pick(['error', 'warning', 'info']),
    scope: 'line',
    conditions,
    message: `Line {{line.number}} ({{line.procedureCode}}): ${title.toLowerCase()}.`,
    path: '/lines/{{line.index}}',
    ...extra,
  });
  const code = (list: readonly string[] = allCodes) => pick(list);
  const codeList = () => {
    const list: string[] = some(allCodes, int(1, 4));
    if (rand() < (realistic ? 0.02 : 0.2)) list.push(`${code(codes.em).slice(0, 4)}*`);
    if (rand() < (realistic ? 0.02 : 0.15)) list.push('99202-99215');
    return list;
  };

  const templates: Array<(id: string) => Json> = [
    (id) => line(id, 'Code needs a modifier', { all: [{ fact: 'line', path: 'procedureCode', operator: 'codeIn', value: codeList() }, { fact: 'line', operator: 'lacksModifier', value: some(MODIFIERS, 2) }] }),
    (id) => line(id, 'Code billed with a modifier this payer refuses', { all: [{ fact: 'line', path: 'procedureCode', operator: 'codeIn', value: codeList() }, { fact: 'line', operator: 'hasModifier', value: pick(MODIFIERS) }] }),
    (id) => line(id, 'Units over the payer limit', { all: [{ fact: 'line', path: 'procedureCode', operator: 'equal', value: code() }, { fact: 'line', path: 'units', operator: 'greaterThan', value: int(1, 3) }] }, { details: { units: '{{line.units}}' } }),
    (id) => line(id, 'First-listed diagnosis does not support the code', { all: [{ fact: 'line', path: 'procedureCode', operator: 'in', value: some(allCodes, 3) }, { fact: 'claim', path: 'diagnoses.0.code', operator: 'codeNotIn', value: some(codes.diagnoses, 6) }] }),
    (id) => line(id, 'Pointers past the second diagnosis', { all: [{ fact: 'line', path: 'procedureCode', operator: 'codeIn', value: codeList() }, { fact: 'line', path: 'diagnosisPointers', operator: 'not:everyFact:lessThanInclusive', value: 2 }] }),
    (id) => line(id, 'Code from a listed pair', { all: [{ fact: 'line', path: 'procedureCode', operator: 'someValue:equal', value: some(allCodes, 3) }, { fact: 'line', path: 'charge', operator: 'greaterThan', value: int(50, 250) }] }),
    (id) => line(id, 'Code the payer lists, billed over its parameter charge', {
      all: [{ fact: 'line', path: 'procedureCode', operator: 'swap:contains', value: some(allCodes, 4) }, { fact: 'line', path: 'charge', operator: 'greaterThan', value: { fact: 'params', path: 'chargeLimit' } }],
    }),
    (id) => line(id, 'Code billed outside the allowed places of service', {
      all: [
        { fact: 'line', path: 'placeOfService', operator: 'exists', value: true },
        { fact: 'line', path: 'placeOfService', operator: 'notIn', value: { fact: 'params', path: 'allowedPlaces' } },
        { fact: 'line', path: 'procedureCode', operator: 'codeIn', value: { fact: 'params', path: 'placeRestricted' } },
      ],
    }),
    (id) => line(id, 'Telehealth modifier on a listed code', { all: [{ fact: 'line', path: 'modifiers', operator: 'swap:in', value: 'GT' }, { fact: 'line', path: 'procedureCode', operator: 'codeIn', value: codeList() }] }),
    (id) => line(id, 'Visit with a listed procedure the same day', {
      all: [{ fact: 'line', path: 'procedureCode', operator: 'codeIn', value: ['99202-99215'] }, { fact: 'line', path: 'sameDayCodes', operator: 'someFact:codeIn', value: codeList() }, { not: { fact: 'line', operator: 'hasModifier', value: ['25', '57'] } }],
    }),
    (id) => line(id, 'Service before the payer covers the code', { all: [{ fact: 'line', path: 'procedureCode', operator: 'codeIn', value: codeList() }, { fact: 'line', path: 'serviceDate', operator: 'dateBefore', value: `2026-0${int(2, 6)}-01` }] }, { effective: { from: '2026-01-01', to: `2026-0${int(5, 9)}-30` } }),
    (id) => line(id, 'Advance notice modifiers on a listed code', { all: [{ fact: 'line', path: 'procedureCode', operator: 'codeIn', value: codeList() }, { fact: 'line', path: 'modifiers', operator: 'everyValue:doesNotContain', value: ['GA', 'GZ'] }] }),
    (id) => line(id, 'Either of two codes with a modifier', { any: [{ fact: 'line', path: 'procedureCode', operator: 'equal', value: code() }, { all: [{ fact: 'line', path: 'procedureCode', operator: 'codeIn', value: codeList() }, { fact: 'line', operator: 'hasModifier', value: pick(MODIFIERS) }] }] }),
    (id) => line(id, 'Code or modifier the payer reviews', { any: [{ fact: 'line', path: 'procedureCode', operator: 'codeIn', value: codeList() }, { fact: 'line', operator: 'hasModifier', value: pick(MODIFIERS) }] }),
    (id) => line(id, 'Late filing for a listed code', { all: [{ fact: 'line', path: 'procedureCode', operator: 'codeIn', value: codeList() }, { fact: 'filingLagDays', operator: 'greaterThan', value: int(20, 60) }] }),
    (id) => line(id, 'Listed modifier pair on one line', { all: [{ fact: 'line', path: 'modifiers', operator: 'containsAll', value: some(MODIFIERS, 2) }] }),
    (id) => line(id, 'Adult-only code for a child', { all: [{ fact: 'line', path: 'procedureCode', operator: 'codeIn', value: codeList() }, { fact: 'patientAge', operator: 'lessThan', value: 18 }] }),
    (id) => ({
      id,
      title: 'Listed pair billed on the same day',
      category: 'ncci-ptp',
      severity: 'error',
      scope: 'line-pair',
      ...(rand() < 0.4 ? { pairs: 'ordered' } : {}),
      conditions: {
        all: [
          { fact: 'first', path: 'procedureCode', operator: 'codeIn', value: codeList() },
          { fact: 'second', path: 'procedureCode', operator: 'codeIn', value: codeList() },
          { fact: 'pair', path: 'sameServiceDate', operator: 'equal', value: true },
          { not: { fact: 'second', operator: 'hasModifier', value: ['59', 'XS', 'XU'] } },
        ],
      },
      message: 'Line {{second.number}} ({{second.procedureCode}}) is not paid with line {{first.number}} ({{first.procedureCode}}) on {{first.serviceDate}}.',
      path: '/lines/{{second.index}}/procedureCode',
      details: { column1: '{{first.procedureCode}}', column2: '{{second.procedureCode}}' },
    }),
    (id) => ({
      id,
      title: 'Units per day over the payer limit',
      category: 'mue',
      severity: pick(['error', 'warning']),
      scope: 'code-date',
      conditions: { all: [{ fact: 'group', path: 'procedureCode', operator: 'in', value: some(allCodes, 3) }, { fact: 'group', path: 'units', operator: 'greaterThan', value: int(1, 4) }] },
      message: '{{group.procedureCode}} is billed for {{group.units}} units on {{group.serviceDate}} (lines {{group.lines}}).',
      details: { units: '{{group.units}}', lines: '{{group.lines}}' },
    }),
    (id) => ({
      id,
      title: 'Diagnosis needs a specific patient',
      category: 'diagnosis',
      severity: 'error',
      scope: 'diagnosis',
      conditions: { all: [{ fact: 'diagnosis', path: 'code', operator: 'codeIn', value: [...some(codes.problemDiagnoses, 2), `${pick(codes.diagnoses).slice(0, realistic ? 3 : 2)}*`] }, { fact: 'patientAge', operator: pick(['lessThan', 'greaterThan']), value: int(12, 65) }] },
      message: 'Diagnosis {{diagnosis.number}} ({{diagnosis.code}}) does not fit a patient aged {{patientAge}}.',
    }),
    (id) => ({
      id,
      title: 'Principal diagnosis the payer does not accept first',
      category: 'diagnosis',
      severity: 'warning',
      scope: 'diagnosis',
      conditions: { all: [{ fact: 'diagnosis', path: 'isFirst', operator: 'equal', value: true }, { any: some(codes.diagnoses, 2).map((c) => ({ fact: 'diagnosis', path: 'normalizedCode', operator: 'equal', value: c.replace('.', '') })) }] },
      message: 'Diagnosis {{diagnosis.code}} should not be listed first.',
    }),
    (id) => ({
      id,
      title: 'Long claims need review',
      category: 'payer-policy',
      severity: 'info',
      scope: 'claim',
      conditions: { all: [{ fact: 'claim', path: 'lines.length', operator: 'greaterThan', value: int(6, 10) }, { fact: 'claim', path: 'payer.type', operator: 'in', value: ['commercial', 'medicaid'] }] },
      message: 'Claim {{claim.claimId}} has {{claim.lines.length}} lines.',
      path: '/lines',
    }),
    (id) => ({
      id,
      title: 'Submitted long after the service',
      category: 'date',
      severity: 'warning',
      scope: 'claim',
      conditions: { all: [{ fact: 'claim', path: 'submissionDate', operator: 'dateAfter', value: { fact: 'claim', path: 'lastServiceDate' } }, { fact: 'filingLagDays', operator: 'greaterThanInclusive', value: int(30, 60) }] },
      message: 'Claim {{claim.claimId}} was submitted {{filingLagDays}} days after the last service ({{claim.lastServiceDate}}).',
      path: '/submissionDate',
    }),
  ];

  // The templates realistic packs leave out: value-side decorators, swapped operands, and
  // conditions on a mix of fields or on parameters of the claim as a whole.
  const ODD = new Set([5, 6, 7, 8, 13]);
  const usable = options.style === 'realistic' ? templates.filter((_, k) => !ODD.has(k)) : templates;
  const rules: Json[] = [];
  for (let r = 0; r < options.rulesPerPack; r++) rules.push(pick(usable)(`${name}-rule-${r + 1}`));
  const pack: Json = {
    name,
    version: '1.0.0',
    title: `Generated payer policy ${i + 1}`,
    description: 'Generated for benchmarks and the differential test; not a real payer policy.',
    owner: 'bench',
    parameters: {
      chargeLimit: { value: int(80, 200) },
      allowedPlaces: { value: ['11', '22'] },
      placeRestricted: { value: codeList() },
    },
    rules,
  };
  if (!options.everyPayer) pack.appliesTo = { payerIds: [payerId], claimTypes: ['professional'] };
  if (options.extendsBundled && i % 2 === 0 && !options.everyPayer) {
    pack.extends = ['payer-policy', 'modifiers'];
    Object.assign(pack.parameters as Json, {
      timelyFilingDays: { value: int(30, 120) },
      priorAuthorizationCodes: { value: rand() < 0.5 ? ['70450-70553'] : codeList() },
      unacceptedModifiers: { value: some(MODIFIERS, int(1, 2)) },
      evaluationAndManagementCodes: { value: rand() < 0.5 ? ['99202-99215'] : ['99202-99499'] },
    });
    const modifierRules = ['modifier-59-prefer-x', 'em-without-modifier-25', 'lt-rt-same-line', 'too-many-modifiers', 'modifier-repeated'];
    pack.overrides = some(modifierRules, int(1, 3)).map((rule) =>
      rand() < 0.5 ? { rule, enabled: false, reason: 'generated: the payer does not check this' } : { rule, severity: pick(['error', 'warning', 'info']), reason: 'generated: the payer grades this differently' },
    );
  }
  if (rand() < 0.2) pack.effective = { from: '2026-02-01' };
  return { name, pack };
}

/** Writes the packs as <dir>/<name>/pack.yaml (replacing the folder); returns the folder. */
export async function writePayerPacks(dir: string, options: PackGenerationOptions): Promise<string> {
  await rm(dir, { recursive: true, force: true });
  for (let i = 0; i < options.packs; i++) {
    const { name, pack } = generatePayerPack(i, options);
    await mkdir(path.join(dir, name), { recursive: true });
    await writeFile(path.join(dir, name, 'pack.yaml'), stringify(pack));
  }
  return dir;
}
