import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { Scrubber } from '../../src/engine/scrubber.js';
import { loadPackSet } from '../../src/packs/loader.js';
import type { PackSet } from '../../src/packs/model.js';
import { bundledRulesDir } from '../../src/paths.js';
import { payerIdOf, writePayerPacks } from '../support/generate-packs.js';
import { codePoolsFromTables } from '../support/table-codes.js';
import { generateWorkload, type CodePools } from '../support/workload.js';

/**
 * What the differential tests share (they are split over two files so that vitest runs them on
 * two cores): the bundled packs plus generated payer packs that use every operator family,
 * decorators and fact references, half of them extending bundled packs (parameters and rule
 * overrides); three scrubbers over them, json-rules-engine (the reference), the compiled
 * evaluator with the rule index, and without it; and the claims, codes drawn from the bundled
 * CMS tables, most with problems.
 */

export const CLAIMS_PER_SEED = 2_000;
export const GENERATED_PACKS = 6;
const DATES = ['2026-04-15', '2026-12-01', '2027-06-30'];

export interface Differential {
  packs: PackSet;
  codes: CodePools;
  scrubbers: { reference: Scrubber; compiled: Scrubber; unindexed: Scrubber };
  payerIds: string[];
  close(): Promise<void>;
}

export async function setUpDifferential(): Promise<Differential> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'scrub-differential-'));
  const codes = await codePoolsFromTables(await loadPackSet(bundledRulesDir));
  await writePayerPacks(dir, { packs: GENERATED_PACKS, rulesPerPack: 30, seed: 5, extendsBundled: true, codes });
  await cp(bundledRulesDir, dir, { recursive: true });
  const packs = await loadPackSet(dir);
  return {
    packs,
    codes,
    scrubbers: {
      reference: new Scrubber(packs, { engine: 'reference' }),
      compiled: new Scrubber(packs, { engine: 'compiled' }),
      unindexed: new Scrubber(packs, { engine: 'compiled', indexing: false }),
    },
    payerIds: ['MEDICARE', 'ACME-HEALTH', 'OTHER-PLAN', ...Array.from({ length: GENERATED_PACKS }, (_, i) => payerIdOf(i))],
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Scrubs the claims of one seed three ways and requires byte-identical results. */
export async function compareSeed(d: Differential, seed: number): Promise<{ findings: number; fired: Set<string> }> {
  const claims = generateWorkload(CLAIMS_PER_SEED, { seed, problemRate: 0.85, invalidRate: 0.02, payerIds: d.payerIds, codes: d.codes });
  let findings = 0;
  const fired = new Set<string>();
  for (let i = 0; i < claims.length; i++) {
    const options = { asOf: DATES[i % DATES.length]! };
    const want = JSON.stringify(await d.scrubbers.reference.scrub(claims[i], options));
    const indexed = JSON.stringify(await d.scrubbers.compiled.scrub(claims[i], options));
    const unindexed = JSON.stringify(await d.scrubbers.unindexed.scrub(claims[i], options));
    if (indexed !== want || unindexed !== want) {
      expect({ claim: claims[i], indexed: JSON.parse(indexed) }).toEqual({ claim: claims[i], indexed: JSON.parse(want) });
      expect({ claim: claims[i], unindexed: JSON.parse(unindexed) }).toEqual({ claim: claims[i], unindexed: JSON.parse(want) });
    }
    const result = JSON.parse(want) as { findings: Array<{ ruleId: string }> };
    findings += result.findings.length;
    for (const f of result.findings) fired.add(f.ruleId);
  }
  return { findings, fired };
}

/** What every seed's comparison must show for the agreement to mean something. */
export function expectMeaningful({ findings, fired }: { findings: number; fired: Set<string> }): void {
  expect(findings).toBeGreaterThan(CLAIMS_PER_SEED * 2);
  expect(fired.size).toBeGreaterThan(80);
  // ...including the rules on CMS tables (PTP, MUE) and on payer-pack parameters.
  for (const id of ['ncci-ptp', 'mue-date-of-service-policy', 'em-without-modifier-25', 'timely-filing-exceeded']) expect(fired).toContain(id);
}
