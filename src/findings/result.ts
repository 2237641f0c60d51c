import type { Finding, PackVersion, ScrubResult } from './finding.js';

function compareNumberLists(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * DESIGN.md order: first line (claim-level findings first), then category, then ruleId.
 * The remaining keys only break ties, so that identical input gives byte-identical output.
 */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    (a.lines[0] ?? 0) - (b.lines[0] ?? 0) ||
    compareText(a.category, b.category) ||
    compareText(a.ruleId, b.ruleId) ||
    compareNumberLists(a.lines, b.lines) ||
    compareText(a.path, b.path) ||
    compareText(a.message, b.message)
  );
}

/**
 * The order compareFindings gives to (category, ruleId), as numbers, worked out once for a pack
 * set's rules: a claim with hundreds of findings is then sorted by first line and rank, and
 * compares texts only between findings of one rule (or of no known rule: structure, rule-failed).
 * The order is compareFindings' exactly.
 */
export class FindingOrder {
  /** By rule id: its category and rank; rank -1 when two categories share the id. */
  private readonly ranks = new Map<string, { category: string; rank: number }>();

  constructor(rules: Iterable<{ id: string; category: string }>) {
    const keys = new Map<string, { id: string; category: string }>();
    for (const r of rules) keys.set(`${r.category}\u0000${r.id}`, { id: r.id, category: r.category });
    const sorted = [...keys.values()].sort((a, b) => compareText(a.category, b.category) || compareText(a.id, b.id));
    sorted.forEach((k, rank) => {
      const known = this.ranks.get(k.id);
      this.ranks.set(k.id, known ? { category: k.category, rank: -1 } : { category: k.category, rank });
    });
  }

  private rankOf(f: Finding): number {
    const known = this.ranks.get(f.ruleId);
    return known !== undefined && known.category === f.category ? known.rank : -1;
  }

  /** The findings in compareFindings order (a new array). */
  sort(findings: readonly Finding[]): Finding[] {
    if (findings.length < 8) return [...findings].sort(compareFindings);
    const keyed = findings.map((f) => ({ f, first: f.lines[0] ?? 0, rank: this.rankOf(f) }));
    keyed.sort((a, b) => a.first - b.first || (a.rank !== b.rank && a.rank >= 0 && b.rank >= 0 ? a.rank - b.rank : compareFindings(a.f, b.f)));
    return keyed.map((k) => k.f);
  }
}

export function buildResult(
  claimId: string | null,
  findings: Finding[],
  packs: readonly PackVersion[],
  order?: FindingOrder,
): ScrubResult {
  const sorted = order ? order.sort(findings) : [...findings].sort(compareFindings);
  const summary = { errors: 0, warnings: 0, infos: 0 };
  for (const f of sorted) {
    if (f.severity === 'error') summary.errors++;
    else if (f.severity === 'warning') summary.warnings++;
    else summary.infos++;
  }
  return {
    claimId,
    outcome: summary.errors > 0 ? 'fail' : 'pass',
    summary,
    findings: sorted,
    packs: packs.map((p) => ({ name: p.name, version: p.version })),
  };
}
