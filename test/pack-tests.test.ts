import { describe, expect, it } from 'vitest';
import { bundledRulesDir } from '../src/paths.js';
import { STRUCTURE_RULE_IDS } from '../src/claim/validate.js';
import { formatDiagnostic } from '../src/packs/diagnostics.js';
import { discoverTests } from '../src/testing/cases.js';
import { CaseScrubbers, runCase, unknownRuleIds } from '../src/testing/runner.js';
import { bundledPacks, bundledScrubber } from './helpers.js';

// Every case in rules/<pack>/tests/*.test.yaml becomes one vitest test, so `npm test` runs
// the pack tests beside the code tests.
const discovery = await discoverTests([bundledRulesDir]);

describe('the bundled pack test files', () => {
  it('all load', () => {
    expect(discovery.diagnostics.map(formatDiagnostic)).toEqual([]);
  });
  it('name only rules that exist', async () => {
    const packs = await bundledPacks();
    expect(unknownRuleIds(discovery.cases, (id) => packs.rulesById.has(id) || STRUCTURE_RULE_IDS.has(id)).map(formatDiagnostic)).toEqual([]);
  });
});

// A test file may swap a table for fixture files: such cases get packs loaded with them.
let scrubbers: CaseScrubbers | undefined;
const scrubberFor = async (testCase: (typeof discovery.cases)[number]) => {
  scrubbers ??= new CaseScrubbers(bundledRulesDir, await bundledPacks());
  return testCase.tables ? scrubbers.for(testCase) : bundledScrubber();
};

const byFile = new Map<string, typeof discovery.cases>();
for (const c of discovery.cases) byFile.set(c.file, [...(byFile.get(c.file) ?? []), c]);
for (const [file, cases] of byFile) {
  describe(file, () => {
    for (const testCase of cases) {
      it(testCase.name, async () => {
        const result = await runCase(await scrubberFor(testCase), testCase);
        expect(result.failures, `${testCase.file}:${testCase.line}`).toEqual([]);
      });
    }
  });
}
