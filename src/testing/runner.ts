import type { Finding } from '../findings/finding.js';
import type { Scrubber } from '../engine/scrubber.js';
import type { PackDiagnostic } from '../packs/diagnostics.js';
import { SCHEMA_PACK } from '../claim/validate.js';
import type { ExpectedFinding, TestCase } from './cases.js';

export interface CaseResult {
  testCase: TestCase;
  passed: boolean;
  /** One sentence per unmet expectation. */
  failures: string[];
  /** Every finding the claim produced. */
  actual: Finding[];
}

function describeExpected(e: ExpectedFinding): string {
  const parts = [e.rule];
  if (e.lines) parts.push(`on lines [${e.lines.join(', ')}]`);
  if (e.path !== undefined) parts.push(`at ${e.path || '(the claim)'}`);
  if (e.severity) parts.push(`as ${e.severity}`);
  return parts.join(' ');
}

export function describeFinding(f: Finding): string {
  return `${f.ruleId} on lines [${f.lines.join(', ')}] at ${f.path || '(the claim)'} as ${f.severity}: ${f.message}`;
}

function matches(e: ExpectedFinding, f: Finding): boolean {
  return (
    f.ruleId === e.rule &&
    (e.lines === undefined || (e.lines.length === f.lines.length && e.lines.every((l, i) => f.lines[i] === l))) &&
    (e.path === undefined || e.path === f.path) &&
    (e.severity === undefined || e.severity === f.severity)
  );
}

/** Compares what a case expects with the findings its claim produced. */
export function judge(testCase: TestCase, actual: Finding[]): string[] {
  const failures: string[] = [];
  const expectsStructure = testCase.expect.some((e) => actual.some((f) => f.pack === SCHEMA_PACK && f.ruleId === e.rule));
  const structure = actual.filter((f) => f.pack === SCHEMA_PACK);
  if (structure.length > 0 && !expectsStructure) {
    failures.push(
      `the test claim is not a valid claim, so no rule ran: ${structure.map((f) => f.message).join(' ')}`,
    );
    return failures;
  }
  const named = [...new Set(testCase.expect.map((e) => e.rule))];
  for (const rule of named) {
    const wanted = testCase.expect.filter((e) => e.rule === rule);
    const got = actual.filter((f) => f.ruleId === rule);
    const unmatched = [...got];
    const missing: ExpectedFinding[] = [];
    for (const e of wanted) {
      const i = unmatched.findIndex((f) => matches(e, f));
      if (i === -1) missing.push(e);
      else unmatched.splice(i, 1);
    }
    if (missing.length === 0 && unmatched.length === 0) continue;
    const lines: string[] = [];
    for (const e of missing) lines.push(`expected ${describeExpected(e)}`);
    if (got.length === 0) lines.push(`but ${rule} did not fire`);
    else lines.push(`but ${rule} produced:`, ...got.map((f) => `  ${describeFinding(f)}`));
    failures.push(lines.join('\n'));
  }
  for (const rule of testCase.ok) {
    const fired = actual.filter((f) => f.ruleId === rule);
    if (fired.length > 0) {
      failures.push([`expected ${rule} not to fire, but it produced:`, ...fired.map((f) => `  ${describeFinding(f)}`)].join('\n'));
    }
  }
  return failures;
}

/** Rule ids a case names that no loaded pack defines: the case could never pass honestly. */
export function unknownRuleIds(cases: readonly TestCase[], known: (id: string) => boolean): PackDiagnostic[] {
  const out: PackDiagnostic[] = [];
  for (const c of cases) {
    for (const id of [...c.expect.map((e) => e.rule), ...c.ok]) {
      if (!known(id)) {
        out.push({
          file: c.file,
          line: c.line,
          column: c.column,
          severity: 'error',
          code: 'test-unknown-rule',
          message: `case "${c.name}" names rule "${id}", which no loaded pack defines`,
        });
      }
    }
  }
  return out;
}

export async function runCase(scrubber: Scrubber, testCase: TestCase): Promise<CaseResult> {
  const result = await scrubber.scrub(testCase.claim, testCase.asOf ? { asOf: testCase.asOf } : {});
  const failures = judge(testCase, result.findings);
  return { testCase, passed: failures.length === 0, failures, actual: result.findings };
}
