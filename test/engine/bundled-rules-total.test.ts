import { describe, expect, it } from 'vitest';
import { bundledScrubber } from '../helpers.js';

describe('the bundled rules', () => {
  it('can all stop at their first false condition (no in/notIn against a parameter, which json-rules-engine could make throw)', async () => {
    const partial = (await bundledScrubber()).compiledRules().filter((c) => !c.total).map((c) => c.id);
    expect(partial).toEqual([]);
  });
});
