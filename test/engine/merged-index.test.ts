import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Scrubber } from '../../src/engine/scrubber.js';
import { loadPackSet } from '../../src/packs/loader.js';
import type { PackSet } from '../../src/packs/model.js';
import { bundledRulesDir } from '../../src/paths.js';
import { writePayerPacks } from '../support/generate-packs.js';
import { codePoolsFromTables } from '../support/table-codes.js';
import { generateWorkload, type CodePools } from '../support/workload.js';

/**
 * When several packs apply to a claim, their groups of one scope run under one merged rule
 * index (each rule keyed with its own pack's parameters, payer packs' included), item by item
 * instead of pack by pack. Here eight generated packs apply to every claim, half of them payer
 * packs of the bundled ones: the merged index must give json-rules-engine's results, and the
 * unindexed evaluator's, byte for byte.
 */

let dir: string;
let packs: PackSet;
let codes: CodePools;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'scrub-merged-'));
  codes = await codePoolsFromTables(await loadPackSet(bundledRulesDir));
  await writePayerPacks(dir, { packs: 8, rulesPerPack: 25, seed: 41, everyPayer: true, extendsBundled: true, codes });
  await cp(bundledRulesDir, dir, { recursive: true });
  packs = await loadPackSet(dir);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the rule index merged over the packs that apply to a claim', () => {
  for (const style of ['varied', 'realistic'] as const) {
    it(`gives json-rules-engine's findings on 300 claims, with generated packs (${style}) all applying`, { timeout: 300_000 }, async () => {
      const set = style === 'varied' ? packs : await realistic();
      const reference = new Scrubber(set, { engine: 'reference' });
      const merged = new Scrubber(set);
      const unindexed = new Scrubber(set, { indexing: false });
      const claims = generateWorkload(300, { seed: 43, problemRate: 0.85, invalidRate: 0.02, payerIds: ['MEDICARE', 'ACME-HEALTH', 'OTHER-PLAN'], codes });
      const generatedPacksFiring = new Set<string>();
      let findings = 0;
      for (const [i, claim] of claims.entries()) {
        const options = { asOf: i % 2 === 0 ? '2026-06-01' : '2027-03-01' };
        const want = JSON.stringify(await reference.scrub(claim, options));
        const got = JSON.stringify(await merged.scrub(claim, options));
        if (got !== want) expect({ i, got: JSON.parse(got) }).toEqual({ i, got: JSON.parse(want) });
        expect(JSON.stringify(await unindexed.scrub(claim, options))).toBe(want);
        const result = JSON.parse(want) as { findings: Array<{ pack: string }> };
        findings += result.findings.length;
        for (const f of result.findings) if (f.pack.startsWith('payer-')) generatedPacksFiring.add(f.pack);
      }
      // Meaningful only if many packs' rules fired on the same claims.
      expect(findings).toBeGreaterThan(claims.length);
      expect(generatedPacksFiring.size).toBeGreaterThanOrEqual(6);
    });
  }
});

async function realistic(): Promise<PackSet> {
  const other = await mkdtemp(path.join(os.tmpdir(), 'scrub-merged-realistic-'));
  try {
    await writePayerPacks(other, { packs: 8, rulesPerPack: 25, seed: 42, everyPayer: true, style: 'realistic', codes });
    return await loadPackSet(other);
  } finally {
    await rm(other, { recursive: true, force: true });
  }
}
