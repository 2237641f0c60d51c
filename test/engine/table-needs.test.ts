import { beforeAll, describe, expect, it } from 'vitest';
import { appliesToPayerType, tableNeedOf } from '../../src/engine/table-needs.js';
import { loadPackSet } from '../../src/packs/loader.js';
import type { PackSet, Rule } from '../../src/packs/model.js';
import { bundledRulesDir } from '../../src/paths.js';

// Which tables a rule leaves a claim unchecked without, and which payer types it applies to:
// what the table-edition-missing info names.
let packSet: PackSet;
let tables: Set<string>;
const rule = (id: string): Rule => packSet.rulesById.get(id)!;

beforeAll(async () => {
  packSet = await loadPackSet(bundledRulesDir);
  tables = new Set(packSet.packs.flatMap((p) => p.tables.map((t) => t.name)));
}, 60_000);

describe('a rule\'s table needs', () => {
  it('gate a fee schedule rule by its pack\'s payerTypes, as a payer pack sets them', () => {
    const need = tableNeedOf(rule('mpfs-status-non-covered'), tables);
    expect(need).toEqual({ tables: ['mpfs'], payerGates: [{ param: 'payerTypes' }] });
    expect(appliesToPayerType(need, { payerTypes: ['medicare'] }, 'medicare')).toBe(true);
    expect(appliesToPayerType(need, { payerTypes: ['medicare'] }, 'commercial')).toBe(false);
    expect(appliesToPayerType(need, { payerTypes: ['medicare', 'commercial'] }, 'commercial')).toBe(true);
    expect(appliesToPayerType(need, { payerTypes: ['medicare'] }, undefined)).toBe(false);
    // A value written as dated entries cannot be judged without the date: the rule counts.
    expect(appliesToPayerType(need, { payerTypes: [{ from: '2026-01-01', value: ['medicare'] }] }, 'commercial')).toBe(true);
  });

  it('leave out a table the rule falls back from on dates no edition covers (it tests covered)', () => {
    expect(tableNeedOf(rule('em-without-modifier-25'), tables).tables).toEqual([]);
    // add-on-code-billed-alone tests aoc.covered, not mpfs.covered: only the fee schedule counts.
    expect(tableNeedOf(rule('add-on-code-billed-alone'), tables).tables).toEqual(['mpfs']);
  });

  it('apply ungated rules to every payer type', () => {
    const need = tableNeedOf(rule('ncci-ptp'), tables);
    expect(need.tables).toEqual(['ptp']);
    expect(appliesToPayerType(need, {}, 'commercial')).toBe(true);
    expect(appliesToPayerType(need, {}, undefined)).toBe(true);
  });

  it('need nothing of a rule that reads no table', () => {
    expect(tableNeedOf(rule('modifier-repeated'), tables)).toEqual({ tables: [], payerGates: [] });
  });
});
