import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Scrubber } from '../../src/engine/scrubber.js';
import { loadPackSet } from '../../src/packs/loader.js';
import type { PackSet } from '../../src/packs/model.js';
import { bundledRulesDir } from '../../src/paths.js';
import { discoverTests } from '../../src/testing/cases.js';
import { payerIdOf, writePayerPacks } from '../support/generate-packs.js';
import { codePoolsFromTables } from '../support/table-codes.js';
import { generateWorkload, type CodePools } from '../support/workload.js';

/**
 * The compiled evaluator is used by default only because it gives exactly json-rules-engine's
 * results. Three scrubbers over the same packs must agree byte for byte: json-rules-engine
 * (the reference), the compiled evaluator with the rule index, and without it. The claims:
 * every pack test case, and 10,000 generated claims (five seeds, most with problems, codes drawn
 * from the bundled CMS tables) over the bundled packs plus generated payer packs that use every operator family, decorators and fact
 * references, half of them extending bundled packs (parameters and rule overrides). Explain output is compared too, on a sample: both evaluators evaluate every
 * condition there, so the traces must be identical.
 */

const SEEDS = [11, 12, 13, 14, 15];
const CLAIMS_PER_SEED = 2_000;
const GENERATED_PACKS = 6;
const dates = ['2026-04-15', '2026-12-01', '2027-06-30'];

let dir: string;
let packs: PackSet;
let codes: CodePools;
let scrubbers: { reference: Scrubber; compiled: Scrubber; unindexed: Scrubber };

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'scrub-differential-'));
  const bundled = await loadPackSet(bundledRulesDir);
  codes = codePoolsFromTables(bundled);
  await writePayerPacks(dir, { packs: GENERATED_PACKS, rulesPerPack: 30, seed: 5, extendsBundled: true, codes });
  await cp(bundledRulesDir, dir, { recursive: true });
  packs = await loadPackSet(dir);
  scrubbers = {
    reference: new Scrubber(packs, { engine: 'reference' }),
    compiled: new Scrubber(packs, { engine: 'compiled' }),
    unindexed: new Scrubber(packs, { engine: 'compiled', indexing: false }),
  };
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function compare(claims: readonly unknown[], asOf: (i: number) => string): Promise<{ findings: number; fired: Set<string> }> {
  let findings = 0;
  const fired = new Set<string>();
  for (let i = 0; i < claims.length; i++) {
    const options = { asOf: asOf(i) };
    const want = JSON.stringify(await scrubbers.reference.scrub(claims[i], options));
    const indexed = JSON.stringify(await scrubbers.compiled.scrub(claims[i], options));
    const unindexed = JSON.stringify(await scrubbers.unindexed.scrub(claims[i], options));
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

describe('compiled evaluator vs json-rules-engine', () => {
  it('the packs under test include generated payer packs and every bundled pack', () => {
    expect(packs.packs.length).toBeGreaterThanOrEqual(GENERATED_PACKS + 6);
    expect(packs.rulesById.size).toBeGreaterThan(GENERATED_PACKS * 30);
  });

  it('agree on every pack test case, findings and explain', async () => {
    const discovery = await discoverTests([bundledRulesDir]);
    expect(discovery.cases.length).toBeGreaterThan(50);
    const bundled = await loadPackSet(bundledRulesDir);
    const reference = new Scrubber(bundled, { engine: 'reference' });
    const compiled = new Scrubber(bundled);
    const unindexed = new Scrubber(bundled, { indexing: false });
    for (const c of discovery.cases) {
      const options = c.asOf ? { asOf: c.asOf } : { asOf: '2026-06-01' };
      const want = JSON.stringify(await reference.scrub(c.claim, options));
      expect(JSON.stringify(await compiled.scrub(c.claim, options)), `${c.file}:${c.line} ${c.name}`).toBe(want);
      expect(JSON.stringify(await unindexed.scrub(c.claim, options)), `${c.file}:${c.line} ${c.name}`).toBe(want);
      const explained = JSON.stringify(await reference.scrub(c.claim, { ...options, explain: true }));
      expect(JSON.stringify(await compiled.scrub(c.claim, { ...options, explain: true })), `${c.file}:${c.line} ${c.name}`).toBe(explained);
    }
  });

  for (const seed of SEEDS) {
    it(`agree on ${CLAIMS_PER_SEED} generated claims (seed ${seed})`, async () => {
      const payerIds = ['MEDICARE', 'ACME-HEALTH', 'OTHER-PLAN', ...Array.from({ length: GENERATED_PACKS }, (_, i) => payerIdOf(i))];
      const claims = generateWorkload(CLAIMS_PER_SEED, { seed, problemRate: 0.85, invalidRate: 0.02, payerIds, codes });
      const { findings, fired } = await compare(claims, (i) => dates[i % dates.length]!);
      // The agreement means something only if many rules fired, many times.
      expect(findings).toBeGreaterThan(CLAIMS_PER_SEED * 2);
      expect(fired.size).toBeGreaterThan(80);
      // ...including the rules on CMS tables (PTP, MUE, MCE) and payer packs.
      for (const id of ['ncci-ptp', 'mue-date-of-service-policy', 'em-without-modifier-25', 'timely-filing-exceeded']) expect(fired).toContain(id);
    }, 300_000);
  }

  it('explain the same way on 300 claims: fired per rule, and every condition', async () => {
    const payerIds = ['MEDICARE', 'ACME-HEALTH', ...Array.from({ length: GENERATED_PACKS }, (_, i) => payerIdOf(i))];
    const claims = generateWorkload(300, { seed: 99, problemRate: 0.9, payerIds, codes });
    for (const claim of claims) {
      const want = JSON.stringify(await scrubbers.reference.scrub(claim, { asOf: '2026-12-01', explain: true }));
      const got = JSON.stringify(await scrubbers.compiled.scrub(claim, { asOf: '2026-12-01', explain: true }));
      if (got !== want) expect(JSON.parse(got)).toEqual(JSON.parse(want));
    }
  }, 300_000);
});
