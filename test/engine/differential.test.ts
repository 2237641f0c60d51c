import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Scrubber } from '../../src/engine/scrubber.js';
import { loadPackSet } from '../../src/packs/loader.js';
import { bundledRulesDir } from '../../src/paths.js';
import { discoverTests } from '../../src/testing/cases.js';
import { generateWorkload } from '../support/workload.js';
import { GENERATED_PACKS, compareSeed, expectMeaningful, setUpDifferential, type Differential } from './differential-setup.js';

/**
 * The compiled evaluator is used by default only because it gives exactly json-rules-engine's
 * results: every pack test case, 10,000 generated claims (five seeds; three here, two in
 * differential-more.test.ts) and explain output on a sample, scrubbed by json-rules-engine and by
 * the compiled evaluator with and without the rule index, compared byte for byte. In explain, both
 * evaluate every condition, so even the traces must be identical.
 */

let d: Differential;
beforeAll(async () => {
  d = await setUpDifferential();
});
afterAll(() => d.close());

describe('compiled evaluator vs json-rules-engine', () => {
  it('the packs under test include generated payer packs and every bundled pack', () => {
    expect(d.packs.packs.length).toBeGreaterThanOrEqual(GENERATED_PACKS + 6);
    expect(d.packs.rulesById.size).toBeGreaterThan(GENERATED_PACKS * 30);
  });

  it('agree on every pack test case, findings and explain', { timeout: 120_000 }, async () => {
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

  for (const seed of [11, 12, 13]) {
    it(`agree on 2,000 generated claims (seed ${seed})`, async () => expectMeaningful(await compareSeed(d, seed)), 300_000);
  }

  it('explain the same way on 300 claims: fired per rule, and every condition', async () => {
    const claims = generateWorkload(300, { seed: 99, problemRate: 0.9, payerIds: d.payerIds, codes: d.codes });
    for (const claim of claims) {
      const want = JSON.stringify(await d.scrubbers.reference.scrub(claim, { asOf: '2026-12-01', explain: true }));
      const got = JSON.stringify(await d.scrubbers.compiled.scrub(claim, { asOf: '2026-12-01', explain: true }));
      if (got !== want) expect(JSON.parse(got)).toEqual(JSON.parse(want));
    }
  }, 300_000);
});
