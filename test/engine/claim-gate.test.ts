import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClaimView } from '../../src/claim/view.js';
import { gateKeyOf, gatesOf } from '../../src/engine/claim-gate.js';
import { FactCatalog, STANDARD_FACTS } from '../../src/engine/facts.js';
import { Scrubber } from '../../src/engine/scrubber.js';
import { loadPackSet } from '../../src/packs/loader.js';
import type { ConditionNode, PackSet } from '../../src/packs/model.js';
import { fixtureClaim } from '../helpers.js';

/**
 * Claim gates: a rule that requires the claim's payer type (or claim type) to be one its pack
 * checks is ruled out once per claim, not tried and failed on every line; what it finds does
 * not change.
 */

const PAYER_TYPE_LISTED = { fact: 'params', path: 'payerTypes', operator: 'contains', value: { fact: 'claim', path: 'payer.type' } };
const medicare = { payer: { type: 'medicare' }, claimType: 'professional' } as unknown as ClaimView;
const commercial = { payer: { type: 'commercial' }, claimType: 'professional' } as unknown as ClaimView;
const params = { payerTypes: ['medicare'] };
const catalog = new FactCatalog();
const gates = (conditions: unknown, total = true) => gatesOf(conditions as ConditionNode, total, catalog);

describe('which conditions gate a rule', () => {
  it('gates on a required payer type read from the parameters, and on a claim type literal', () => {
    const [payerGate] = gates({ all: [{ fact: 'line', path: 'units', operator: 'greaterThan', value: 1 }, { all: [PAYER_TYPE_LISTED] }] });
    expect(payerGate!(medicare, params)).toBe(true);
    expect(payerGate!(commercial, params)).toBe(false);
    const [typeGate] = gates({ all: [{ fact: 'claim', path: 'claimType', operator: 'equal', value: 'institutional' }] });
    expect(typeGate!(medicare, {})).toBe(false);
  });

  it('leaves alone what is not required, a rule that can throw, other claim fields and replaced facts', () => {
    expect(gates({ any: [PAYER_TYPE_LISTED, { fact: 'line', path: 'units', operator: 'equal', value: 2 }] })).toEqual([]);
    expect(gates({ not: PAYER_TYPE_LISTED })).toEqual([]);
    expect(gates({ all: [PAYER_TYPE_LISTED] }, false)).toEqual([]);
    expect(gates({ all: [{ fact: 'claim', path: 'patient.sex', operator: 'equal', value: 'F' }] })).toEqual([]);
    expect(gates({ all: [{ fact: 'params', path: 'on', operator: 'equal', value: true }] })).toEqual([]);
    const replaced = new FactCatalog(STANDARD_FACTS.map((f) => (f.name === 'claim' ? { ...f, value: () => ({}) } : f)));
    expect(gatesOf({ all: [PAYER_TYPE_LISTED] } as ConditionNode, true, replaced)).toEqual([]);
  });

  it('keys claims by payer type and claim type, and never gates a claim whose values are not text', () => {
    expect(gateKeyOf(medicare)).not.toBe(gateKeyOf(commercial));
    expect(gateKeyOf({ payer: {}, claimType: 'professional' } as unknown as ClaimView)).not.toBe(gateKeyOf(medicare));
    expect(gateKeyOf({ payer: { type: 7 }, claimType: 'professional' } as unknown as ClaimView)).toBeUndefined();
  });
});

const RULES = `rules:
  - id: medicare-units
    title: Units on a Medicare line
    category: payer-policy
    severity: warning
    scope: line
    conditions:
      all:
        - fact: params
          path: payerTypes
          operator: contains
          value: { fact: claim, path: payer.type }
        - fact: line
          path: units
          operator: greaterThanInclusive
          value: 1
    message: "Line {{line.number}} is on a Medicare claim."
  - id: not-medicare-units
    title: Units on a line of another payer
    category: payer-policy
    severity: warning
    scope: line
    conditions:
      all:
        - not:
            fact: params
            path: payerTypes
            operator: contains
            value: { fact: claim, path: payer.type }
        - fact: line
          path: units
          operator: greaterThanInclusive
          value: 1
    message: "Line {{line.number}} is on another payer's claim."
`;

let dir: string;
let packs: PackSet;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'scrub-gate-'));
  await mkdir(path.join(dir, 'demo', 'rules'), { recursive: true });
  await writeFile(
    path.join(dir, 'demo', 'pack.yaml'),
    'name: demo\nversion: "1.0.0"\ntitle: Demo\ndescription: Claim gates.\nowner: Tests\nparameters:\n  payerTypes:\n    value: [medicare]\n',
  );
  await writeFile(path.join(dir, 'demo', 'rules', 'rules.yaml'), RULES);
  packs = await loadPackSet(dir);
});

afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the scrubber with claim gates', () => {
  it('does not try a gated rule on the lines of a claim its gate rules out, and finds what json-rules-engine finds', async () => {
    const compiled = new Scrubber(packs);
    const reference = new Scrubber(packs, { engine: 'reference' });
    const tried = new Map<string, number>();
    for (const c of compiled.compiledRules()) {
      const fires = c.fires.bind(c);
      c.fires = (facts) => {
        tried.set(c.id, (tried.get(c.id) ?? 0) + 1);
        return fires(facts);
      };
    }
    const claim = fixtureClaim('visit-and-procedure') as { payer: { id: string; type: string }; lines: unknown[] };
    const fired: Record<string, string[]> = {};
    for (const type of ['medicare', 'commercial']) {
      claim.payer.type = type;
      tried.clear();
      const got = compiled.scrubNow(claim, { asOf: '2026-12-01' })!;
      expect(got).toEqual(await reference.scrub(claim, { asOf: '2026-12-01' }));
      fired[type] = [...new Set(got.findings.map((f) => f.ruleId))];
      // The gate rules medicare-units out on a commercial claim; a negated payer condition gates nothing.
      if (type === 'commercial') expect(tried.get('medicare-units')).toBeUndefined();
      else expect(tried.get('not-medicare-units')).toBe(claim.lines.length);
    }
    expect(fired).toEqual({ medicare: ['medicare-units'], commercial: ['not-medicare-units'] });
  });
});
