import { mkdtemp, mkdir, writeFile, cp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readPackSet } from '../../src/packs/loader.js';
import { bundledRulesDir } from '../../src/paths.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const PACK = `name: demo
version: "1.0.0"
title: Demo pack
description: A pack for loader tests.
owner: Tests
`;

const GOOD_RULE = `rules:
  - id: demo-lt-rt
    title: LT and RT together
    category: modifier
    severity: error
    scope: line
    conditions:
      all:
        - fact: line
          operator: hasModifier
          value: LT
    message: "Line {{line.number}} has LT."
`;

/** A rules folder holding one pack "demo" with the given rule file text. */
async function packWith(ruleFile: string, packFile = PACK): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'scrub-packs-'));
  dirs.push(root);
  await mkdir(path.join(root, 'demo', 'rules'), { recursive: true });
  await writeFile(path.join(root, 'demo', 'pack.yaml'), packFile);
  await writeFile(path.join(root, 'demo', 'rules', 'rules.yaml'), ruleFile);
  return root;
}

async function problems(ruleFile: string, packFile?: string) {
  const result = await readPackSet(await packWith(ruleFile, packFile));
  expect(result.packSet).toBeUndefined();
  return result.diagnostics.map((d) => ({ ...d, file: path.basename(d.file) }));
}

describe('loading rule packs', () => {
  it('loads the bundled packs without a single diagnostic', async () => {
    const result = await readPackSet(bundledRulesDir);
    expect(result.diagnostics).toEqual([]);
    expect(result.packSet?.packs.map((p) => p.name)).toEqual([
      'acme-health',
      'cms-add-on-codes',
      'cms-mce',
      'cms-mpfs',
      'cms-mue',
      'cms-mue-hospital',
      'cms-ncci-ptp',
      'cms-ncci-ptp-hospital',
      'code-sets',
      'completeness',
      'core',
      'documentation',
      'drug',
      'history',
      'institutional',
      'lab',
      'medicare-part-b',
      'modifiers',
      'payer-policy',
      'sunshine-medicaid',
      'telehealth',
    ]);
  });

  it('loads a well-formed pack', async () => {
    const result = await readPackSet(await packWith(GOOD_RULE));
    expect(result.diagnostics).toEqual([]);
    expect(result.packSet?.rulesById.has('demo-lt-rt')).toBe(true);
  });

  it('still names file:line:column for a loaded rule after letting go of the position tables', async () => {
    const rule = (await readPackSet(await packWith(GOOD_RULE))).packSet!.rulesById.get('demo-lt-rt')!;
    // Worked out again from the text: the operator of the first condition is on line 10.
    expect({ ...rule.locate('/conditions/all/0/operator'), file: path.basename(rule.locate('').file) }).toEqual({ file: 'rules.yaml', line: 10, column: 21 });
    expect(rule.locate('/message')).toMatchObject({ line: 12, column: 14 });
    expect(rule.locate('')).toMatchObject({ line: rule.location.line, column: rule.location.column });
  });

  it('refuses an unknown operator at its line and column, suggesting the right one', async () => {
    const [d] = await problems(GOOD_RULE.replace('operator: hasModifier', 'operator: hasModifer'));
    expect(d).toMatchObject({ file: 'rules.yaml', line: 10, column: 21, code: 'unknown-operator', severity: 'error' });
    expect(d!.message).toContain('did you mean "hasModifier"?');
  });

  it('refuses a misspelled key and suggests the right one', async () => {
    const d = (await problems(GOOD_RULE.replace('    severity: error', '    severty: error'))).find((x) => x.code === 'schema-unknown-field');
    expect(d).toMatchObject({ line: 5, column: 5 });
    expect(d!.message).toContain('did you mean "severity"?');
  });

  it('refuses a value outside the allowed list, naming the allowed values', async () => {
    const [d] = await problems(GOOD_RULE.replace('severity: error', 'severity: fatal'));
    expect(d).toMatchObject({ line: 5, column: 15, code: 'schema-invalid-value' });
    expect(d!.message).toContain('"error", "warning" or "info"');
  });

  it('refuses bad indentation with the line and a hint about columns', async () => {
    const ds = await problems(GOOD_RULE.replace('    severity: error', '   severity: error'));
    expect(ds).toHaveLength(1);
    expect(ds[0]).toMatchObject({ file: 'rules.yaml', line: 5, code: 'yaml-syntax' });
    expect(ds[0]!.message).toMatch(/indentation|column/);
  });

  it('refuses a fact that does not exist in the rule scope', async () => {
    const [d] = await problems(GOOD_RULE.replace('- fact: line', '- fact: first'));
    expect(d).toMatchObject({ line: 9, column: 17, code: 'fact-not-in-scope' });
    expect(d!.message).toContain('Facts for line rules: ');
  });

  it('refuses a path that the claim schema does not have', async () => {
    const [d] = await problems(GOOD_RULE.replace('operator: hasModifier\n          value: LT', 'path: modifer\n          operator: contains\n          value: LT'));
    expect(d).toMatchObject({ line: 10, column: 17, code: 'unknown-path' });
    expect(d!.message).toContain('did you mean "modifiers"?');
  });

  it('refuses a number compared with a text field, telling the author to quote it', async () => {
    const [d] = await problems(GOOD_RULE.replace('operator: hasModifier\n          value: LT', 'path: placeOfService\n          operator: equal\n          value: 11'));
    expect(d).toMatchObject({ code: 'value-type-mismatch' });
    expect(d!.message).toContain('"11"');
  });

  it('refuses a malformed code in a code list', async () => {
    const [d] = await problems(GOOD_RULE.replace('operator: hasModifier\n          value: LT', 'path: procedureCode\n          operator: codeIn\n          value: ["99215-99202"]'));
    expect(d).toMatchObject({ code: 'invalid-code' });
    expect(d!.message).toContain('starts after it ends');
  });

  it('refuses a placeholder naming an unknown field', async () => {
    const [d] = await problems(GOOD_RULE.replace('{{line.number}}', '{{line.nmber}}'));
    expect(d).toMatchObject({ line: 12, code: 'unknown-path' });
    expect(d!.message).toContain('{{line.nmber}}');
  });

  it('refuses YAML aliases, so an alias bomb cannot be loaded', async () => {
    const bomb = `rules:\n  - &a { id: x }\n  - *a\n`;
    const ds = await problems(bomb);
    expect(ds.map((d) => d.code)).toEqual(expect.arrayContaining(['yaml-anchor', 'yaml-alias']));
  });

  it('refuses a rule id used twice across packs', async () => {
    const root = await packWith(GOOD_RULE);
    await cp(path.join(root, 'demo'), path.join(root, 'demo2'), { recursive: true });
    await writeFile(path.join(root, 'demo2', 'pack.yaml'), PACK.replace('name: demo', 'name: demo2'));
    const result = await readPackSet(root);
    expect(result.packSet).toBeUndefined();
    expect(result.diagnostics.map((d) => d.code)).toEqual(['duplicate-rule-id']);
  });

  it('refuses a pack whose name differs from its folder', async () => {
    const [d] = await problems(GOOD_RULE, PACK.replace('name: demo', 'name: other'));
    expect(d).toMatchObject({ file: 'pack.yaml', line: 1, code: 'pack-name-mismatch' });
  });

  it('refuses a version written as a number, telling the author to quote it', async () => {
    const [d] = await problems(GOOD_RULE, PACK.replace('version: "1.0.0"', 'version: 1.0'));
    expect(d).toMatchObject({ file: 'pack.yaml', line: 2, column: 10, code: 'schema-wrong-type' });
    expect(d!.message).toContain('quotes');
  });

  it('refuses the whole pack when one of its rules is broken', async () => {
    const result = await readPackSet(await packWith(GOOD_RULE + GOOD_RULE.replace('rules:\n', '').replace('demo-lt-rt', 'demo-two').replace('hasModifier', 'nope')));
    expect(result.packSet).toBeUndefined();
  });

  it('reports every problem, not just the first', async () => {
    const ds = await problems(GOOD_RULE.replace('severity: error', 'severity: fatal').replace('hasModifier', 'nope'));
    expect(ds.map((d) => d.code).sort()).toEqual(['schema-invalid-value']);
    // schema errors stop a file before its rules compile; a schema-valid file reports all its rule errors
    const ds2 = await problems(GOOD_RULE.replace('hasModifier', 'nope').replace('{{line.number}}', '{{line.nmber}}'));
    expect(ds2.map((d) => d.code).sort()).toEqual(['unknown-operator', 'unknown-path']);
  });

  it('refuses someValue:/everyValue: with a value that is not a list (json-rules-engine would fail every claim)', async () => {
    const [d] = await problems(GOOD_RULE.replace('operator: hasModifier', 'operator: someValue:hasModifier'));
    expect(d).toMatchObject({ file: 'rules.yaml', line: 11, code: 'invalid-value' });
    expect(d!.message).toContain('each value of a list');
    const list = await readPackSet(await packWith(GOOD_RULE.replace('operator: hasModifier', 'operator: someValue:hasModifier').replace('value: LT', 'value: [LT, RT]')));
    expect(list.diagnostics).toEqual([]);
  });

  it('reads the denials a rule predicts, with or without a remark code', async () => {
    const result = await readPackSet(await packWith(GOOD_RULE.replace('    scope: line\n', '    scope: line\n    predicts: [CO-4, CO-16/N290]\n')));
    expect(result.diagnostics).toEqual([]);
    expect(result.packSet!.rulesById.get('demo-lt-rt')!.predicts).toEqual([
      { group: 'CO', reason: '4', text: 'CO-4' },
      { group: 'CO', reason: '16', remark: 'N290', text: 'CO-16/N290' },
    ]);
  });

  it('refuses a predicted denial that is not a group and a reason code, at its line, saying what is expected', async () => {
    const [d] = await problems(GOOD_RULE.replace('    scope: line\n', '    scope: line\n    predicts: [CO-4, "97"]\n'));
    expect(d).toMatchObject({ file: 'rules.yaml', line: 7, code: 'schema-invalid-value' });
    expect(d!.message).toContain('CO-97');
    const [twice] = await problems(GOOD_RULE.replace('    scope: line\n', '    scope: line\n    predicts: [CO-4, CO-4]\n'));
    expect(twice).toMatchObject({ line: 7 });
  });

  it('checks the value of a not:, someFact: or everyFact: operator as it checks the operator alone', async () => {
    const rule = GOOD_RULE.replace('operator: hasModifier', 'operator: not:codeIn').replace('value: LT', 'value: "99213"').replace('- fact: line\n', '- fact: line\n          path: procedureCode\n');
    const [d] = await problems(rule);
    expect(d).toMatchObject({ code: 'invalid-value' });
    expect(d!.message).toContain('a list of codes');
  });
});

