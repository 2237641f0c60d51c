import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Scrubber } from '../../src/engine/scrubber.js';
import { CATEGORIES, SEVERITIES } from '../../src/findings/finding.js';
import { loadPackSet } from '../../src/packs/loader.js';
import type { PackSet } from '../../src/packs/model.js';
import { fixtureClaim } from '../helpers.js';

/**
 * Conditions written the same way in several rules compile once, and rules with the same
 * message share one template: with thousands of rules loaded, what is shared stays warm in the
 * CPU caches. Conditions that only look alike must not be shared.
 */

const rule = (id: string, conditions: string, message = 'Line {{line.number}} matches.') => `  - id: ${id}
    title: Rule ${id}
    category: payer-policy
    severity: warning
    scope: line
    conditions:
${conditions
  .trim()
  .split('\n')
  .map((l) => `      ${l}`)
  .join('\n')}
    message: "${message}"
`;

const UNITS_ONE = `all:
  - fact: line
    path: units
    operator: equal
    value: 1
  - fact: line
    operator: hasModifier
    value: [LT, RT]`;

const RULES = `rules:
${rule('units-one', UNITS_ONE)}
${rule('units-one-again', UNITS_ONE, 'Line {{line.number}} matches again.')}
${rule('units-two', UNITS_ONE.replace('value: 1', 'value: 2'))}
${rule('units-parameter', UNITS_ONE.replace('value: 1', 'value: { fact: params, path: units }'))}
${rule('units-one-not', `not:\n  ${UNITS_ONE.replace(/\n/g, '\n  ')}`)}
${rule('modifiers-swapped', UNITS_ONE.replace('[LT, RT]', '[RT, LT]'))}
${rule('any-units-one', UNITS_ONE.replace('all:', 'any:'))}
`;

let dir: string;
let packs: PackSet;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'scrub-shared-'));
  await mkdir(path.join(dir, 'demo', 'rules'), { recursive: true });
  await writeFile(path.join(dir, 'demo', 'pack.yaml'), 'name: demo\nversion: "1.0.0"\ntitle: Demo\ndescription: Shared conditions.\nowner: Tests\nparameters:\n  units:\n    value: 1\n');
  await writeFile(path.join(dir, 'demo', 'rules', 'rules.yaml'), RULES);
  packs = await loadPackSet(dir);
});

afterAll(() => rm(dir, { recursive: true, force: true }));

describe('conditions shared between rules', () => {
  it('compiles a condition written the same way in two rules once', () => {
    const fires = new Map(new Scrubber(packs).compiledRules().map((c) => [c.id, c.fires]));
    expect(fires.get('units-one-again')).toBe(fires.get('units-one'));
  });

  it('keeps apart conditions that differ in a value, a reference, an order, a not or an any', () => {
    const fires = new Map(new Scrubber(packs).compiledRules().map((c) => [c.id, c.fires]));
    const distinct = ['units-one', 'units-two', 'units-parameter', 'units-one-not', 'modifiers-swapped', 'any-units-one'].map((id) => fires.get(id));
    expect(new Set(distinct).size).toBe(6);
  });

  it('gives the findings json-rules-engine gives, rule by rule', async () => {
    const compiled = new Scrubber(packs);
    const reference = new Scrubber(packs, { engine: 'reference' });
    const claim = fixtureClaim('visit-and-procedure') as { lines: Array<{ units: unknown; modifiers: string[] }> };
    const variants = [
      { units: 1, modifiers: ['LT'] },
      { units: 2, modifiers: ['RT'] },
      { units: 1, modifiers: [] },
    ];
    const fired: string[][] = [];
    for (const v of variants) {
      claim.lines[0]!.units = v.units;
      claim.lines[0]!.modifiers = v.modifiers;
      const want = await reference.scrub(claim, { asOf: '2026-12-01' });
      const got = await compiled.scrub(claim, { asOf: '2026-12-01' });
      expect(got).toEqual(want);
      fired.push(got.findings.filter((f) => f.lines[0] === 1).map((f) => f.ruleId).sort());
    }
    expect(fired[0]).toEqual(['any-units-one', 'modifiers-swapped', 'units-one', 'units-one-again', 'units-parameter']);
    expect(fired[1]).toEqual(['any-units-one', 'units-one-not', 'units-two']);
    expect(fired[2]).toEqual(['any-units-one', 'units-one-not']);
  });
});

describe('words and templates shared between rules', () => {
  it('gives rules with the same message one template', () => {
    const rules = packs.packs[0]!.rules;
    const byId = new Map(rules.map((r) => [r.id, r]));
    expect(byId.get('units-two')!.message).toBe(byId.get('units-one')!.message);
    expect(byId.get('units-one-again')!.message).not.toBe(byId.get('units-one')!.message);
  });

  it('uses the program’s own words for category and severity', () => {
    for (const r of packs.packs[0]!.rules) {
      expect(CATEGORIES.find((c) => Object.is(c, r.category))).toBeDefined();
      expect(SEVERITIES.find((s) => Object.is(s, r.severity))).toBeDefined();
    }
  });
});
