import type { Pack } from '../packs/model.js';
import type { CaseResult } from './runner.js';

/**
 * Which rules the pack tests prove: a rule is covered when a passing case makes it fire
 * (`expect`) and a passing case shows it staying quiet (`ok`). Failing cases prove nothing.
 */
export interface RuleCoverage {
  pack: string;
  ruleId: string;
  fires: boolean;
  quiet: boolean;
}

export interface CoverageReport {
  rules: RuleCoverage[];
  covered: number;
  total: number;
  /** 0 to 100, one decimal. */
  percent: number;
}

export function measureCoverage(packs: readonly Pack[], results: readonly CaseResult[]): CoverageReport {
  const fires = new Set<string>();
  const quiet = new Set<string>();
  for (const r of results) {
    if (!r.passed) continue;
    for (const e of r.testCase.expect) fires.add(e.rule);
    for (const id of r.testCase.ok) quiet.add(id);
  }
  const rules = packs.flatMap((p) =>
    p.rules.map((rule) => ({ pack: p.name, ruleId: rule.id, fires: fires.has(rule.id), quiet: quiet.has(rule.id) })),
  );
  const covered = rules.filter((r) => r.fires && r.quiet).length;
  const percent = rules.length === 0 ? 100 : Math.floor((covered / rules.length) * 1000) / 10;
  return { rules, covered, total: rules.length, percent };
}
