import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSchema, strictAjv } from '../src/claim/schema.js';
import { CATEGORIES } from '../src/findings/finding.js';
import { packageRoot } from '../src/paths.js';
import { bundledScrubber } from './helpers.js';
import { generateClaims } from './support/generate-claims.js';
// @ts-expect-error plain ESM script without types
import { generateClaimTypes } from '../scripts/gen-claim-types.mjs';

describe('the ScrubResult contract', () => {
  const validate = strictAjv().compile(readSchema('scrub-result.schema.json'));

  it('holds for every result of 300 generated claims, and for invalid ones', async () => {
    const scrubber = await bundledScrubber();
    const inputs: unknown[] = [...generateClaims(300, { seed: 3, problemRate: 0.7 }), { claimId: 'broken' }, [], 'text'];
    for (const input of inputs) {
      const result = await scrubber.scrub(input, { asOf: '2026-06-01' });
      expect(validate(result), JSON.stringify(validate.errors)).toBe(true);
      expect(result.outcome).toBe(result.findings.some((f) => f.severity === 'error') ? 'fail' : 'pass');
      expect(result.summary.errors + result.summary.warnings + result.summary.infos).toBe(result.findings.length);
      for (const f of result.findings) expect([...f.lines].sort((a, b) => a - b)).toEqual(f.lines);
    }
  });

  it('sorts findings by first line, then category, then rule id', async () => {
    const scrubber = await bundledScrubber();
    for (const claim of generateClaims(100, { seed: 4, problemRate: 1 })) {
      const { findings } = await scrubber.scrub(claim, { asOf: '2026-06-01' });
      const keys = findings.map((f) => [f.lines[0] ?? 0, f.category, f.ruleId] as const);
      const sorted = [...keys].sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0) || (a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : 0));
      expect(keys).toEqual(sorted);
    }
  });

  it('lists exactly the categories of DESIGN.md in the result schema', () => {
    const schema = readSchema('scrub-result.schema.json') as { $defs: { finding: { properties: { category: { enum: string[] } } } } };
    expect(schema.$defs.finding.properties.category.enum).toEqual([...CATEGORIES]);
  });
});

describe('the claim types', () => {
  it('are generated from the current claim schema (run `npm run gen:types` after editing it)', async () => {
    const committed = await readFile(path.join(packageRoot, 'src/claim/claim.generated.ts'), 'utf8');
    expect(await generateClaimTypes()).toBe(committed);
  });
});
