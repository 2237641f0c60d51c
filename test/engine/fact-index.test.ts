import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LineView } from '../../src/claim/view.js';
import { FactCatalog, type FactDefinition } from '../../src/engine/facts.js';
import { Scrubber } from '../../src/engine/scrubber.js';
import { objectOf, STRING } from '../../src/engine/shapes.js';
import { loadPackSet } from '../../src/packs/loader.js';
import type { PackSet } from '../../src/packs/model.js';
import { fixtureClaim } from '../helpers.js';

/**
 * The rule index keyed by a fact read through the FactSource (a table's `hcpcs.status`,
 * `pos.status`, `mue.found`, ...): a rule that requires `probe.status equal retired` is tried
 * only on lines whose probe says so. Exact: a line whose fact throws keeps every rule keyed by
 * it (they report rule-failed, as without the index), a missing value meets no key, and a
 * negated condition keys nothing. Compared with json-rules-engine and the unindexed run.
 */

/** A stand-in for a table fact: by procedure code, a status; THROW fails, NONE has no entry. */
function probeFact(samePerPack: boolean): FactDefinition {
  return {
    name: 'probe',
    scopes: ['line'],
    description: 'a test fact keyed by procedure code',
    shape: objectOf({ status: STRING }),
    samePerPack,
    value: (item) => {
      const code = (item.values.line as LineView).procedureCode;
      if (code === 'THROW') throw new Error('probe failed');
      if (code === 'NONE') return undefined;
      return { status: code === 'J3490' ? 'retired' : 'active' };
    },
  };
}

const rule = (id: string, conditions: string) => `  - id: ${id}
    title: ${id}
    category: code-validity
    severity: error
    scope: line
    conditions:
${conditions}
    message: "Line {{line.number}}: ${id}."
`;

const RULES = `rules:
${rule(
  'probe-retired',
  `      all:
        - fact: probe
          path: status
          operator: equal
          value: retired
        - fact: line
          path: units
          operator: greaterThanInclusive
          value: 1`,
)}${rule(
  'probe-status-listed',
  `      all:
        - fact: probe
          path: status
          operator: in
          value: [retired, suspended]`,
)}${rule(
  'probe-present',
  `      all:
        - fact: probe
          path: status
          operator: exists
          value: true`,
)}${rule(
  'probe-not-active',
  `      all:
        - not:
            fact: probe
            path: status
            operator: equal
            value: active`,
)}`;

let dir: string;

async function packsWith(samePerPack: boolean, secondPack: boolean): Promise<PackSet> {
  const root = await mkdtemp(path.join(dir, 'set-'));
  const names = secondPack ? ['alpha', 'beta'] : ['alpha'];
  for (const name of names) {
    await mkdir(path.join(root, name, 'rules'), { recursive: true });
    await writeFile(path.join(root, name, 'pack.yaml'), `name: ${name}\nversion: "1.0.0"\ntitle: ${name}\ndescription: Fact index.\nowner: Tests\n`);
    await writeFile(path.join(root, name, 'rules', 'rules.yaml'), name === 'alpha' ? RULES : RULES.replaceAll('id: probe-', 'id: beta-probe-').replaceAll('title: probe-', 'title: beta-probe-'));
  }
  return loadPackSet(root, new FactCatalog().extendedWith([probeFact(samePerPack)]));
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'scrub-fact-index-'));
});

afterAll(() => rm(dir, { recursive: true, force: true }));

const CODES = ['99213', 'J3490', 'THROW', 'NONE'];

function claimWith(codes: readonly string[]): unknown {
  const claim = fixtureClaim('visit-and-procedure') as { lines: Array<Record<string, unknown>> };
  claim.lines = codes.map((procedureCode) => ({ ...claim.lines[1]!, procedureCode }));
  return claim;
}

describe('the rule index keyed by a fact read through the FactSource', () => {
  for (const { samePerPack, secondPack } of [
    { samePerPack: true, secondPack: false },
    { samePerPack: true, secondPack: true }, // merged over two packs, read once for both
    { samePerPack: false, secondPack: true }, // depends on the pack: each group keeps its own index
  ]) {
    it(`tries a keyed rule only where the fact has the value, and finds what json-rules-engine finds (samePerPack ${samePerPack}, ${secondPack ? 'two packs' : 'one pack'})`, async () => {
      const packs = await packsWith(samePerPack, secondPack);
      const indexed = new Scrubber(packs);
      const unindexed = new Scrubber(packs, { indexing: false });
      const reference = new Scrubber(packs, { engine: 'reference' });
      const tried = new Map<string, string[]>();
      for (const c of indexed.compiledRules()) {
        const fires = c.fires.bind(c);
        c.fires = (facts) => {
          const code = (facts.get('line') as LineView).procedureCode ?? '';
          tried.set(c.id, [...(tried.get(c.id) ?? []), code]);
          return fires(facts);
        };
      }
      // json-rules-engine leaves a fact's error unhandled in the conditions it evaluates beside
      // it: it is compared on the lines whose fact does not throw, the unindexed run on them all.
      const calm = claimWith(CODES.filter((c) => c !== 'THROW'));
      expect(indexed.scrubNow(calm, { asOf: '2026-12-01' })).toEqual(await reference.scrub(calm, { asOf: '2026-12-01' }));
      tried.clear();
      const claim = claimWith(CODES);
      const got = indexed.scrubNow(claim, { asOf: '2026-12-01' })!;
      expect(JSON.stringify(got)).toBe(JSON.stringify(unindexed.scrubNow(claim, { asOf: '2026-12-01' })));
      // The throwing line gets rule-failed for each rule that reads the fact, as without the index.
      expect(got.findings.filter((f) => f.ruleId === 'rule-failed' && f.lines[0] === 3).length).toBe(secondPack ? 8 : 4);
      expect(got.findings.filter((f) => f.ruleId !== 'rule-failed').map((f) => `${f.ruleId} ${f.lines.join()}`).sort()).toEqual(
        [
          'probe-retired 2',
          'probe-status-listed 2',
          'probe-present 1',
          'probe-present 2',
          'probe-not-active 2',
          'probe-not-active 4', // no entry: "not equal active" holds on a missing value
          ...(secondPack ? ['beta-probe-retired 2', 'beta-probe-status-listed 2', 'beta-probe-present 1', 'beta-probe-present 2', 'beta-probe-not-active 2', 'beta-probe-not-active 4'] : []),
        ].sort(),
      );
      // Keyed rules: tried on the line with the value and on the line whose fact threw, nowhere else.
      expect(tried.get('probe-retired')).toEqual(['J3490', 'THROW']);
      expect(tried.get('probe-status-listed')).toEqual(['J3490', 'THROW']);
      expect(tried.get('probe-present')).toEqual(['99213', 'J3490', 'THROW']);
      // A negated condition keys nothing: tried on every line.
      expect(tried.get('probe-not-active')).toEqual(CODES);
    });
  }

  it('reads the fact once per line for the index and the rules, and not at all where the claim gates rule them out', async () => {
    const root = await mkdtemp(path.join(dir, 'gated-'));
    await mkdir(path.join(root, 'gated', 'rules'), { recursive: true });
    await writeFile(path.join(root, 'gated', 'pack.yaml'), 'name: gated\nversion: "1.0.0"\ntitle: Gated\ndescription: Fact index.\nowner: Tests\nparameters:\n  payerTypes:\n    value: [medicare]\n');
    const payerListed = `        - fact: params
          path: payerTypes
          operator: contains
          value: { fact: claim, path: payer.type }`;
    await writeFile(
      path.join(root, 'gated', 'rules', 'rules.yaml'),
      RULES.split('    conditions:\n      all:\n').join(`    conditions:\n      all:\n${payerListed}\n`),
    );
    let reads = 0;
    const probe = probeFact(true);
    const packs = await loadPackSet(root, new FactCatalog().extendedWith([{ ...probe, value: (...args) => (reads++, probe.value(...args)) }]));
    const scrubber = new Scrubber(packs);
    const reference = new Scrubber(packs, { engine: 'reference' });
    const claim = claimWith(['99213', 'J3490']) as { payer: { type: string } };
    for (const [type, expected] of [
      ['medicare', 2],
      ['commercial', 0],
    ] as Array<[string, number]>) {
      claim.payer.type = type;
      reads = 0;
      const got = scrubber.scrubNow(claim, { asOf: '2026-12-01' })!;
      expect(reads).toBe(expected);
      expect(got).toEqual(await reference.scrub(claim, { asOf: '2026-12-01' }));
      expect(got.findings.length).toBe(type === 'medicare' ? 5 : 0);
    }
  });
});
