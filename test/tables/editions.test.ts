import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Scrubber } from '../../src/engine/scrubber.js';
import { readPackSet } from '../../src/packs/loader.js';
import type { PackSet } from '../../src/packs/model.js';
import { bundledRulesDir } from '../../src/paths.js';
import { fy2025OrderFile } from '../support/icd10cm-fy2025.js';
import { zipOf } from '../support/zip-writer.js';

/**
 * The code-sets pack with the FY2025 ICD-10-CM zip dropped into its tables folder beside the
 * bundled FY2026 one: both load, and each date of service is judged by its own fiscal year.
 */
let root: string;
let packSet: PackSet;
let scrubber: Scrubber;
// Both complete editions are read from their zips once for the whole file (the FY2025 zip is
// made here, so no snapshot has it): every test below works on this one load.
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'scrub-editions-'));
  await cp(path.join(bundledRulesDir, 'code-sets'), path.join(root, 'code-sets'), { recursive: true });
  const { text } = await fy2025OrderFile();
  await writeFile(path.join(root, 'code-sets', 'tables', '2025-code-descriptions-tabular-order.zip'), zipOf([{ name: 'icd10cm_order_2025.txt', data: text, deflate: false }]));
  const r = await readPackSet(root, undefined, { env: {} });
  expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  packSet = r.packSet!;
  scrubber = new Scrubber(packSet);
}, 180_000); // two complete code sets are read from their zips: slow on a shared machine
afterAll(() => rm(root, { recursive: true, force: true }));

const claim = (diagnoses: string[], dates: string[]) => ({
  claimId: 'E-1',
  claimType: 'professional',
  payer: { id: 'MEDICARE', type: 'medicare' },
  billingProvider: { npi: '1234567893' },
  patient: { birthDate: '1950-04-01', sex: 'F' },
  placeOfService: '11',
  diagnoses: diagnoses.map((code) => ({ code })),
  lines: dates.map((serviceDate) => ({ procedureCode: '99213', units: 1, charge: 10, serviceDate, diagnosisPointers: [1] })),
});
const icd = async (c: object) => (await scrubber.scrub(c, { asOf: '2025-12-01' })).findings.filter((f) => f.ruleId.startsWith('icd10cm-')).map((f) => [f.ruleId, f.details.edition]);

describe('two editions of a table loaded at once', () => {
  it('lists both, each with the fiscal year it covers', () => {
    const table = packSet.packs[0]!.tables.find((t) => t.name === 'icd10cm')!;
    expect(table.editions.map((e) => [e.edition, e.covers, e.named, e.rowsTaken])).toEqual([
      ['ICD-10-CM FY2025', { from: '2024-10-01', to: '2025-09-30' }, 'recognised', 97_584],
      ['ICD-10-CM FY2026', { from: '2025-10-01', to: '2026-09-30' }, 'recognised', 98_186],
    ]);
    expect(table).toMatchObject({ edition: 'ICD-10-CM FY2025 + ICD-10-CM FY2026', covers: { from: '2024-10-01', to: '2026-09-30' } });
  });

  it('judge a code FY2026 added by the edition of each date of service', async () => {
    expect(await icd(claim(['E11.A'], ['2025-09-30']))).toEqual([['icd10cm-code-unknown', 'ICD-10-CM FY2025']]);
    expect(await icd(claim(['E11.A'], ['2025-10-01']))).toEqual([]);
  });

  it('judge a code FY2026 turned into a header by the edition of each date', async () => {
    expect(await icd(claim(['B88.0'], ['2025-09-30']))).toEqual([]);
    expect(await icd(claim(['B88.0'], ['2025-10-01']))).toEqual([['icd10cm-code-not-billable', 'ICD-10-CM FY2026']]);
  });

  it('hold a diagnosis pointed at from both fiscal years to both editions', async () => {
    expect(await icd(claim(['E11.A'], ['2025-09-30', '2025-10-01']))).toEqual([['icd10cm-code-unknown', 'ICD-10-CM FY2025']]);
    expect(await icd(claim(['B88.0'], ['2025-09-30', '2025-10-01']))).toEqual([['icd10cm-code-not-billable', 'ICD-10-CM FY2026']]);
  });
});
