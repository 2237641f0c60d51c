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

export function buildResult(
  claimId: string | null,
  findings: Finding[],
  packs: readonly PackVersion[],
): ScrubResult {
  const sorted = [...findings].sort(compareFindings);
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
