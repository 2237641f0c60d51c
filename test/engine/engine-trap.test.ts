import { Engine } from 'json-rules-engine';
import { describe, expect, it } from 'vitest';
import { Scrubber } from '../../src/engine/scrubber.js';
import { bundledPacks } from '../helpers.js';
import { generateClaims } from '../support/generate-claims.js';

/**
 * Why the reference evaluator never shares an Engine between runs (DESIGN.md, "json-rules-engine:
 * known traps"): a run that finishes marks the shared Engine FINISHED, and a run still between
 * priority tiers then skips its remaining rules without a word.
 */
function twoTierEngine(): Engine {
  const engine = new Engine([], { allowUndefinedFacts: true });
  engine.addRule({ name: 'high', priority: 10, conditions: { all: [{ fact: 'slow', operator: 'equal', value: true }] }, event: { type: 'high' } });
  engine.addRule({ name: 'low', priority: 1, conditions: { all: [{ fact: 'n', operator: 'greaterThanInclusive', value: 0 }] }, event: { type: 'low' } });
  return engine;
}

const slowFact = (ms: number) => () => new Promise<boolean>((resolve) => setTimeout(() => resolve(true), ms));

describe('json-rules-engine run state', () => {
  it('loses the lower tier of overlapping runs on one shared Engine (the trap we avoid)', async () => {
    const shared = twoTierEngine();
    const runs = await Promise.all(
      Array.from({ length: 100 }, (_, i) => shared.run({ n: i, slow: slowFact(i % 2 === 0 ? 0 : 5) })),
    );
    const lowFired = runs.filter((r) => r.events.some((e) => e.type === 'low')).length;
    expect(lowFired).toBeLessThan(100);
  });

  it('loses nothing when every run has an Engine of its own', async () => {
    const runs = await Promise.all(Array.from({ length: 100 }, (_, i) => twoTierEngine().run({ n: i, slow: slowFact(i % 2 === 0 ? 0 : 5) })));
    expect(runs.filter((r) => r.events.some((e) => e.type === 'low')).length).toBe(100);
  });
});

describe('the reference evaluator', () => {
  it('builds as many Engines as runs overlap, so no two runs ever share one', async () => {
    const packs = await bundledPacks();
    const scrubber = new Scrubber(packs);
    const built = new Set<unknown>();
    const original = Engine.prototype.run;
    const inUse = new Set<unknown>();
    let overlapSeen = false;
    Engine.prototype.run = async function (this: Engine, ...args: Parameters<Engine['run']>) {
      built.add(this);
      if (inUse.has(this)) overlapSeen = true;
      inUse.add(this);
      try {
        return await original.apply(this, args);
      } finally {
        inUse.delete(this);
      }
    };
    try {
      await Promise.all(generateClaims(60, { seed: 11 }).map((c) => scrubber.scrub(c, { asOf: '2026-06-01' })));
    } finally {
      Engine.prototype.run = original;
    }
    expect(overlapSeen).toBe(false);
    expect(built.size).toBeGreaterThan(10); // runs did overlap, on engines of their own
  });
});
