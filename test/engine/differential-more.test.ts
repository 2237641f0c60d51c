import { afterAll, beforeAll, describe, it } from 'vitest';
import { compareSeed, expectMeaningful, setUpDifferential, type Differential } from './differential-setup.js';

/** Two more seeds of the differential test (differential.test.ts), in a file of their own so that they run beside it. */

let d: Differential;
beforeAll(async () => {
  d = await setUpDifferential();
});
afterAll(() => d.close());

describe('compiled evaluator vs json-rules-engine, more claims', () => {
  for (const seed of [14, 15]) {
    it(`agree on 2,000 generated claims (seed ${seed})`, async () => expectMeaningful(await compareSeed(d, seed)), 300_000);
  }
});
