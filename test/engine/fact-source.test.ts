import { describe, expect, it } from 'vitest';
import type { Claim } from '../../src/claim/claim.generated.js';
import { buildClaimView } from '../../src/claim/view.js';
import { FactCatalog, FactSource, STANDARD_FACTS, type FactDefinition, type RunContext, type TableCoverage } from '../../src/engine/facts.js';
import { buildScopeItems } from '../../src/engine/scopes.js';
import { fixtureClaim } from '../helpers.js';

const claim = buildClaimView(fixtureClaim('office-visit') as unknown as Claim);
const [line] = buildScopeItems(claim, 'line', undefined);

/** A catalog with two counting facts: one the same for every pack, one that reads the pack's parameters. */
function countingCatalog() {
  const calls = { table: 0, perPack: 0 };
  const table: FactDefinition = {
    name: 'lookup',
    scopes: ['line'],
    description: 'a table lookup',
    shape: { kind: 'any' } as FactDefinition['shape'],
    samePerPack: true,
    value: (item) => {
      calls.table++;
      return { code: (item.values.line as { procedureCode: string }).procedureCode };
    },
  };
  const perPack: FactDefinition = {
    name: 'limit',
    scopes: ['line'],
    description: "a pack's limit",
    shape: { kind: 'any' } as FactDefinition['shape'],
    value: (_item, _run, pack) => {
      calls.perPack++;
      return pack.params.limit;
    },
  };
  return { catalog: new FactCatalog([...STANDARD_FACTS, table, perPack]), calls };
}

describe('fact values shared by the packs reaching one item', () => {
  const run: RunContext = { claim, today: '2026-12-01' };
  const packA = { params: { limit: 1 } };
  const packB = { params: { limit: 2 } };

  it('computes a samePerPack fact once on an item whatever packs read it, and a pack fact again for each pack', () => {
    const { catalog, calls } = countingCatalog();
    const lookup = catalog.slotOf('lookup')!;
    const limit = catalog.slotOf('limit')!;
    const facts = new FactSource(catalog, line!, run, packA);
    const first = facts.at(lookup);
    expect(facts.at(limit)).toBe(1);
    facts.reset(line!, run, packB);
    expect(facts.at(lookup)).toBe(first);
    expect(facts.at(limit)).toBe(2);
    expect(calls).toEqual({ table: 1, perPack: 2 });
  });

  it('forgets every value on another item, and on the same item of another claim', () => {
    const { catalog, calls } = countingCatalog();
    const lookup = catalog.slotOf('lookup')!;
    const facts = new FactSource(catalog, line!, run, packA);
    facts.at(lookup);
    const [, second] = buildScopeItems(claim, 'line', undefined);
    facts.reset(second ?? line!, { ...run }, packA);
    facts.at(lookup);
    facts.reset(line!, { ...run }, packB);
    facts.at(lookup);
    expect(calls.table).toBe(3);
  });
});

describe('the tableEditions fact', () => {
  const tables: TableCoverage[] = [
    { name: 'icd10cm', title: 'ICD-10-CM', editions: [{ edition: 'FY2026', covers: { from: '2025-10-01', to: '2026-09-30' } }] },
    { name: 'hcpcs', title: 'HCPCS', editions: [{ edition: '2026-01', covers: { from: '2026-01-01' } }] },
  ];
  const catalog = new FactCatalog();
  const slot = catalog.slotOf('tableEditions')!;
  const [claimItem] = buildScopeItems(claim, 'claim', undefined);
  const valueFor = (serviceDates: string[]) => {
    const dated = buildClaimView({ ...(fixtureClaim('office-visit') as unknown as Claim), lines: serviceDates.map((d) => ({ procedureCode: '99213', units: 1, charge: 10, serviceDate: d, diagnosisPointers: [1] })) as Claim['lines'] });
    return new FactSource(catalog, claimItem!, { claim: dated, today: '2026-12-01', tables }, { params: {} }).at(slot);
  };

  it('names the tables with no edition for a date of service, the same answer for every claim of those dates', () => {
    const gap = valueFor(['2026-10-02', '2025-12-01']);
    expect(gap).toEqual({
      missing: [
        { table: 'icd10cm', title: 'ICD-10-CM', dates: ['2026-10-02'], editions: ['FY2026'] },
        { table: 'hcpcs', title: 'HCPCS', dates: ['2025-12-01'], editions: ['2026-01'] },
      ],
      tables: ['icd10cm', 'hcpcs'],
      dates: ['2025-12-01', '2026-10-02'],
      text: 'ICD-10-CM (icd10cm) for 2026-10-02; HCPCS (hcpcs) for 2025-12-01',
    });
    // The same answer for the same dates in any order and number; a claim of several dates gets its own.
    expect(valueFor(['2025-12-01', '2026-10-02', '2025-12-01'])).toEqual(gap);
    expect(valueFor(['2025-12-01', '2026-10-02', '2025-12-01'])).not.toBe(gap);
    expect(valueFor(['2026-03-02'])).toEqual({ missing: [], tables: [], dates: [], text: '' });
    expect(valueFor(['2026-10-02', '2026-03-02'])).toEqual({
      missing: [{ table: 'icd10cm', title: 'ICD-10-CM', dates: ['2026-10-02'], editions: ['FY2026'] }],
      tables: ['icd10cm'],
      dates: ['2026-10-02'],
      text: 'ICD-10-CM (icd10cm) for 2026-10-02',
    });
  });

  it('shares one frozen answer among the claims of one date of service, so no finding can change it for the next claim', () => {
    const gap = valueFor(['2026-10-02']);
    expect(gap).toEqual({
      missing: [{ table: 'icd10cm', title: 'ICD-10-CM', dates: ['2026-10-02'], editions: ['FY2026'] }],
      tables: ['icd10cm'],
      dates: ['2026-10-02'],
      text: 'ICD-10-CM (icd10cm) for 2026-10-02',
    });
    expect(valueFor(['2026-10-02', '2026-10-02'])).toBe(gap);
    const missing = (gap as { missing: Array<{ dates: string[]; editions: string[] }> }).missing;
    expect(Object.isFrozen(gap) && Object.isFrozen(missing) && Object.isFrozen(missing[0]) && Object.isFrozen(missing[0]!.dates) && Object.isFrozen(missing[0]!.editions)).toBe(true);
    expect(Object.isFrozen(valueFor(['2026-03-02']))).toBe(true);
  });
});
