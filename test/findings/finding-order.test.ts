import { describe, expect, it } from 'vitest';
import type { Category, Finding } from '../../src/findings/finding.js';
import { FindingOrder, compareFindings } from '../../src/findings/result.js';
import { seededRandom } from '../support/generate-claims.js';

/** FindingOrder sorts by rank what compareFindings sorts by text: the two orders must be one. */
describe('the order of findings', () => {
  const rules: Array<{ id: string; category: Category }> = [
    { id: 'ncci-ptp', category: 'ncci-ptp' },
    { id: 'mue-line-units', category: 'mue' },
    { id: 'b-rule', category: 'modifier' },
    { id: 'a-rule', category: 'modifier' },
    // One id in two categories (two packs): ranked by text, not by number.
    { id: 'shared-id', category: 'date' },
    { id: 'shared-id', category: 'diagnosis' },
  ];
  const order = new FindingOrder(rules);
  const rand = seededRandom(5);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;

  function finding(): Finding {
    // Also findings of no known rule: structure and rule-failed findings.
    const rule = rand() < 0.15 ? pick([{ id: 'structure', category: 'structure' as const }, { id: 'rule-failed', category: 'mue' as const }]) : pick(rules);
    const first = Math.floor(rand() * 4);
    const lines = first === 0 ? [] : rand() < 0.3 ? [first, first + 1 + Math.floor(rand() * 2)] : [first];
    return { ruleId: rule.id, pack: 'p', category: rule.category, severity: 'error', message: pick(['m1', 'm2']), lines, path: pick(['/a', '/b']), details: {} };
  }

  it('is compareFindings\' order, whatever the mix of findings', () => {
    for (let round = 0; round < 200; round++) {
      const findings = Array.from({ length: 1 + Math.floor(rand() * 60) }, finding);
      const byText = [...findings].sort(compareFindings);
      expect(order.sort(findings).map((f) => JSON.stringify(f))).toEqual(byText.map((f) => JSON.stringify(f)));
    }
  });
});
