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

  /** Rules with a rank of their own: every finding of theirs sorts by number. */
  const ranked = rules.filter((r) => r.id !== 'shared-id');

  function finding(onlyRanked = false): Finding {
    // Also findings of no known rule: structure and rule-failed findings.
    const rule = onlyRanked ? pick(ranked) : rand() < 0.15 ? pick([{ id: 'structure', category: 'structure' as const }, { id: 'rule-failed', category: 'mue' as const }]) : pick(rules);
    const first = Math.floor(rand() * 4);
    const lines = first === 0 ? [] : rand() < 0.3 ? [first, first + 1 + Math.floor(rand() * 2)] : [first];
    return { ruleId: rule.id, pack: 'p', category: rule.category, severity: 'error', message: pick(['m1', 'm2']), lines, path: pick(['/a', '/b']), details: {} };
  }

  it('is compareFindings\' order, whatever the mix of findings', () => {
    for (let round = 0; round < 200; round++) {
      const findings = Array.from({ length: 1 + Math.floor(rand() * 60) }, () => finding());
      const byText = [...findings].sort(compareFindings);
      expect(order.sort(findings).map((f) => JSON.stringify(f))).toEqual(byText.map((f) => JSON.stringify(f)));
    }
  });

  it('is compareFindings\' order when the ranks come with the findings (the scrubber\'s way)', () => {
    for (let round = 0; round < 200; round++) {
      // Half the rounds with ranked rules only: the whole claim then sorts by number.
      const onlyRanked = round % 2 === 0;
      const findings = Array.from({ length: 1 + Math.floor(rand() * 60) }, () => finding(onlyRanked));
      const ranks = findings.map((f) => order.rankOf(f.ruleId, f.category));
      const byText = [...findings].sort(compareFindings);
      expect(order.sort(findings, ranks).map((f) => JSON.stringify(f))).toEqual(byText.map((f) => JSON.stringify(f)));
    }
  });

  it('keeps the order findings were made in among those compareFindings cannot tell apart', () => {
    // One rule, one first line, the same lines, path and message: only the details differ.
    const rule = rules[0]!;
    const rank = order.rankOf(rule.id, rule.category);
    expect(rank).toBeGreaterThanOrEqual(0);
    const findings: Finding[] = Array.from({ length: 20 }, (_, i) => ({
      ruleId: rule.id,
      pack: 'p',
      category: rule.category,
      severity: 'error',
      message: i % 2 === 0 ? 'm2' : 'm1',
      lines: [1, 2],
      path: '/lines/1',
      details: { made: i },
    }));
    const sorted = order.sort(findings, findings.map(() => rank));
    expect(sorted.map((f) => f.details.made)).toEqual([...[1, 3, 5, 7, 9, 11, 13, 15, 17, 19], ...[0, 2, 4, 6, 8, 10, 12, 14, 16, 18]]);
  });

  it('ranks by (category, ruleId) text, and gives -1 where the text must decide', () => {
    expect(order.rankOf('ncci-ptp', 'ncci-ptp')).toBeGreaterThan(order.rankOf('a-rule', 'modifier'));
    expect(order.rankOf('a-rule', 'modifier')).toBe(order.rankOf('b-rule', 'modifier') - 1);
    expect(order.rankOf('shared-id', 'date')).toBe(-1);
    expect(order.rankOf('a-rule', 'mue')).toBe(-1);
    expect(order.rankOf('structure', 'structure')).toBe(-1);
  });
});
