import type { CaseResult } from './runner.js';

/** JUnit XML, the format CI dashboards read: one testsuite per test file, one testcase per case. */

function xml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    // XML 1.0 cannot carry most control characters at all.
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');
}

export function junitReport(results: readonly CaseResult[], seconds: (r: CaseResult) => number = () => 0): string {
  const byFile = new Map<string, CaseResult[]>();
  for (const r of results) byFile.set(r.testCase.file, [...(byFile.get(r.testCase.file) ?? []), r]);
  const failures = results.filter((r) => !r.passed).length;
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="scrub test" tests="${results.length}" failures="${failures}" errors="0">`,
  ];
  for (const [file, cases] of byFile) {
    const failed = cases.filter((r) => !r.passed).length;
    out.push(`  <testsuite name="${xml(file)}" tests="${cases.length}" failures="${failed}" errors="0" skipped="0">`);
    for (const r of cases) {
      const c = r.testCase;
      const classname = `${c.pack}.${c.rule ?? c.expect[0]?.rule ?? c.ok[0] ?? 'cases'}`;
      const head = `    <testcase classname="${xml(classname)}" name="${xml(c.name)}" file="${xml(c.file)}" line="${c.line}" time="${seconds(r).toFixed(3)}"`;
      if (r.passed) {
        out.push(`${head}/>`);
      } else {
        out.push(`${head}>`);
        out.push(`      <failure message="${xml(r.failures[0]!.split('\n')[0]!)}" type="expectation">${xml(`${c.file}:${c.line}:${c.column}\n${r.failures.join('\n')}`)}</failure>`);
        out.push('    </testcase>');
      }
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return out.join('\n') + '\n';
}
