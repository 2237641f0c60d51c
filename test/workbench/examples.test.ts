import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { completeResult, readClaims } from '../../src/formats/index.js';
import type { ReadClaim } from '../../src/formats/types.js';
import { packageRoot } from '../../src/paths.js';
import { bundledScrubber } from '../helpers.js';

/** The example claims the workbench offers in three forms say the same thing in each. */

async function findings(file: string): Promise<string[]> {
  const read = readClaims(await readFile(path.join(packageRoot, 'examples/claims', file), 'utf8'));
  expect(read.items).toHaveLength(1);
  const item = read.items[0] as ReadClaim;
  const result = completeResult(await (await bundledScrubber()).scrub(item.input, {}), item);
  return result.findings.map((f) => `${f.ruleId} [${f.lines.join(',')}]`).sort();
}

describe('example claims in JSON, X12 837 and FHIR', () => {
  for (const name of ['clean', 'core-problems', 'documentation-problems', 'modifier-problems']) {
    it(`${name}: the X12 and FHIR forms give the findings of the JSON form`, async () => {
      const json = await findings(`${name}.json`);
      expect(await findings(`${name}.fhir.json`)).toEqual(json);
      // An SV1 holds four modifiers, so the X12 form cannot carry the fifth that trips too-many-modifiers.
      expect(await findings(`${name}.837`)).toEqual(json.filter((f) => !f.startsWith('too-many-modifiers')));
      if (name !== 'clean') expect(json.length).toBeGreaterThan(1);
    });
  }
});
