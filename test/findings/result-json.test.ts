import { describe, expect, it } from 'vitest';
import { withInputPlace } from '../../src/formats/decorate.js';
import { buildResult, resultJson } from '../../src/findings/result.js';
import type { ScrubResult } from '../../src/findings/finding.js';
import { generateWorkload } from '../support/workload.js';
import { bundledScrubber, exampleClaim } from '../helpers.js';

/** resultJson serialises what repeats once; its text must be JSON.stringify's, byte for byte. */
describe('the JSON of a result', () => {
  it('is JSON.stringify of the result for every kind of claim: clean, failing, broken, not a claim', async () => {
    const scrubber = await bundledScrubber();
    const inputs: unknown[] = [
      ...['clean.json', 'core-problems.json', 'documentation-problems.json', 'modifier-problems.json', 'structure-problems.json'].map(exampleClaim),
      ...generateWorkload(300, { seed: 7 }),
      { claimId: 'only-an-id' },
      [1, 2],
      'text',
      null,
    ];
    let withFindings = 0;
    for (const [i, input] of inputs.entries()) {
      const result = withInputPlace(await scrubber.scrub(input, { asOf: '2026-12-01' }), { line: i + 1, input });
      if (result.findings.length > 0) withFindings++;
      expect(resultJson(result)).toBe(JSON.stringify(result));
    }
    expect(withFindings).toBeGreaterThan(100);
  });

  it('keeps the order of the members and leaves out undefined ones, as JSON.stringify does', () => {
    const base = buildResult('C-1', [], [{ name: 'core', version: '1.0.0' }]);
    const shapes: ScrubResult[] = [
      base,
      { ...base, history: { consulted: true, recorded: false, reason: 'no "quoted" \u2028 text' } },
      { ...base, claimId: null, inputLine: undefined },
      { inputLine: 4, ...base },
      { ...base, packs: [{ name: 'not-shared', version: '2' }] },
      { ...base, explain: [{ ruleId: 'r', when: new Date(0), skip: () => 1 }] } as unknown as ScrubResult,
    ];
    for (const result of shapes) expect(resultJson(result)).toBe(JSON.stringify(result));
  });

  it('shares the pack versions of one selection between its results, frozen, so their text cannot go stale', () => {
    const selected = [
      { name: 'core', version: '1.0.0' },
      { name: 'modifiers', version: '1.1.0' },
    ];
    const a = buildResult('A', [], selected);
    const b = buildResult('B', [], selected);
    expect(a.packs).toBe(b.packs);
    expect(Object.isFrozen(a.packs) && Object.isFrozen(a.packs[0])).toBe(true);
    expect(() => (a.packs as Array<{ name: string; version: string }>).push({ name: 'x', version: '1' })).toThrow(TypeError);
    expect(resultJson(b)).toBe('{"claimId":"B","outcome":"pass","summary":{"errors":0,"warnings":0,"infos":0},"findings":[],"packs":[{"name":"core","version":"1.0.0"},{"name":"modifiers","version":"1.1.0"}]}');
    // A result rebuilt from another's packs (an X12 claim's reader findings merged in) shares them too.
    expect(buildResult('A', [], a.packs).packs).toBe(a.packs);
  });
});
