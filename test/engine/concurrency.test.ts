import { describe, expect, it } from 'vitest';
import { Scrubber } from '../../src/engine/scrubber.js';
import { bundledPacks } from '../helpers.js';
import { generateClaims } from '../support/generate-claims.js';

describe('scrubbing claims concurrently', () => {
  it('gives every one of 200 concurrent claims exactly the result it gets alone', async () => {
    const scrubber = new Scrubber(await bundledPacks());
    const claims = generateClaims(200, { seed: 7, problemRate: 0.6 });
    const sequential = [];
    for (const claim of claims) sequential.push(JSON.stringify(await scrubber.scrub(claim, { asOf: '2026-06-01' })));
    const concurrent = await Promise.all(claims.map(async (claim) => JSON.stringify(await scrubber.scrub(claim, { asOf: '2026-06-01' }))));
    expect(concurrent).toEqual(sequential);
    // The comparison means something only if the claims produce findings to lose.
    const findings = sequential.reduce((n, r) => n + (JSON.parse(r) as { findings: unknown[] }).findings.length, 0);
    expect(findings).toBeGreaterThan(100);
  });

  it('gives the same results when two pack sets serve at once', async () => {
    const packs = await bundledPacks();
    const a = new Scrubber(packs);
    const b = new Scrubber(packs);
    const claims = generateClaims(50, { seed: 8 });
    const results = await Promise.all(claims.flatMap((c) => [a.scrub(c, { asOf: '2026-06-01' }), b.scrub(c, { asOf: '2026-06-01' })]));
    for (let i = 0; i < results.length; i += 2) expect(results[i]).toEqual(results[i + 1]);
  });
});
