import { describe, expect, it } from 'vitest';
import { readPackSet } from '../../src/packs/loader.js';
import { bundledRulesDir } from '../../src/paths.js';
import { Scrubber } from '../../src/engine/scrubber.js';
import { fixtureClaim } from '../helpers.js';
import { editFile, rulesCopy } from '../support/rules-copy.js';

/** A copy of the bundled rules with acme-health/pack.yaml edited. */
async function withAcmePack(edit: (text: string) => string) {
  const root = await rulesCopy();
  await editFile(root, 'acme-health/pack.yaml', edit);
  return readPackSet(root);
}

describe('payer packs', () => {
  it('list themselves in the result of the claims they apply to, and only those', async () => {
    const scrubber = new Scrubber((await readPackSet(bundledRulesDir)).packSet!);
    const acme = { ...fixtureClaim('office-visit'), payer: { id: 'ACME-HEALTH', type: 'commercial' } };
    const other = fixtureClaim('office-visit');
    expect((await scrubber.scrub(acme)).packs.map((p) => p.name)).toContain('acme-health');
    expect((await scrubber.scrub(other)).packs.map((p) => p.name)).not.toContain('acme-health');
  });

  it('refuse an override of a rule that none of the extended packs has', async () => {
    const r = await withAcmePack((t) => t.replace('rule: modifier-59-prefer-x', 'rule: modifier-59-prefer-y'));
    expect(r.packSet).toBeUndefined();
    expect(r.diagnostics).toEqual([expect.objectContaining({ code: 'override-unknown-rule', line: 32, column: 5 })]);
    expect(r.diagnostics[0]!.message).toContain('"modifier-59-prefer-y"');
  });

  it('leave a broken base pack to its own error, without calling the overrides of its rules unknown', async () => {
    const root = await rulesCopy();
    await editFile(root, 'modifiers/rules/evaluation-and-management.yaml', (t) => t.replace('operator: lacksModifier', 'operator: lacksModifer'));
    const r = await readPackSet(root);
    expect(r.packSet).toBeUndefined();
    expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => [d.code, d.file.split(/[\\/]/).slice(-3).join('/')])).toEqual([
      ['unknown-operator', 'modifiers/rules/evaluation-and-management.yaml'],
    ]);
  });

  it('refuse switching a rule off without a reason', async () => {
    const r = await withAcmePack((t) => t.replace(/    reason: ACME Health pays 59.*\n/, ''));
    expect(r.diagnostics).toEqual([expect.objectContaining({ code: 'schema-missing-field' })]);
    expect(r.diagnostics[0]!.message).toContain('"reason" is required');
  });

  it('refuse a parameter of the wrong kind', async () => {
    const r = await withAcmePack((t) => t.replace('value: 90', 'value: "90 days"'));
    expect(r.diagnostics).toEqual([expect.objectContaining({ code: 'parameter-type' })]);
    expect(r.diagnostics[0]!.message).toContain('"timelyFilingDays" of pack "payer-policy" is number');
  });

  it('refuse extending a pack that does not exist', async () => {
    const r = await withAcmePack((t) => t.replace('extends: [payer-policy, modifiers, cms-mce, drug]', 'extends: [payer-policy, modifers, cms-mce, drug]'));
    expect(r.diagnostics.map((d) => d.code)).toContain('unknown-pack');
  });

  it('must say which payers they apply to', async () => {
    const r = await withAcmePack((t) => t.replace('appliesTo:\n  payerIds: [ACME-HEALTH]\n', ''));
    expect(r.diagnostics.map((d) => d.code)).toEqual(['payer-pack-without-payer']);
  });

  it('refuse an override that changes nothing', async () => {
    const r = await withAcmePack((t) => t.replace('    enabled: false\n    reason: ACME Health pays 59', '    reason: ACME Health pays 59'));
    expect(r.diagnostics.map((d) => d.code)).toEqual(['override-does-nothing']);
  });
});
