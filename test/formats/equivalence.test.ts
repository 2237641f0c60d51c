import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ScrubResult } from '../../src/findings/finding.js';
import { readClaims, scrubRead } from '../../src/formats/index.js';
import { packageRoot } from '../../src/paths.js';
import { bundledScrubber } from './support.js';

/** The same claim (examples/claims/modifier-problems.*) sent as canonical JSON, X12 837P and a FHIR Bundle. */
async function findingsOf(file: string): Promise<Array<[string, string, number[]]>> {
  const text = readFileSync(path.join(packageRoot, 'examples/claims', file), 'utf8');
  const [out] = await scrubRead(await bundledScrubber(), readClaims(text, { filename: file }).items, { asOf: '2026-03-02' });
  return (out as { result: ScrubResult }).result.findings.map((f) => [f.ruleId, f.path, f.lines]);
}

describe('one claim in three formats', () => {
  it('gives the same findings from FHIR as from canonical JSON', async () => {
    expect(await findingsOf('modifier-problems.fhir.json')).toEqual(await findingsOf('modifier-problems.json'));
  });

  it('gives the same findings from X12, except the fifth modifier an SV1 cannot hold', async () => {
    const json = (await findingsOf('modifier-problems.json')).filter(([ruleId]) => ruleId !== 'too-many-modifiers');
    expect(await findingsOf('modifier-problems.837')).toEqual(json);
  });
});
