import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { editFile, rulesCopy as copyOfRules } from '../support/rules-copy.js';
import { scrub } from './run-cli.js';

/** A copy of the bundled rules, with one file edited or one rule file added to the modifiers pack. */
async function rulesCopy(edit?: { file: string; change: (t: string) => string }, extraRule?: string): Promise<string> {
  const root = await copyOfRules();
  if (edit) await editFile(root, edit.file, edit.change);
  if (extraRule) await writeFile(path.join(root, 'modifiers/rules/extra.yaml'), extraRule);
  return root;
}

interface Diagnostic {
  file: string;
  line: number;
  column: number;
  severity: string;
  code: string;
  message: string;
}

async function lintJson(root: string): Promise<{ code: number; errors: number; warnings: number; diagnostics: Diagnostic[] }> {
  const run = await scrub(['lint', root, '--format', 'json']);
  return { code: run.code, ...JSON.parse(run.stdout) };
}

const rule = (id: string, condition: string) => `rules:
  - id: ${id}
    title: A rule for lint tests
    category: payer-policy
    severity: warning
    scope: line
    conditions:
      all:
${condition}
    message: "Line {{line.number}}."
`;

describe('scrub lint', () => {
  it('passes the bundled packs with no errors and no warnings', async () => {
    const run = await scrub(['lint', 'rules']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/21 packs, \d+ rules: 0 errors, 0 warnings/);
    expect(run.stdout).toContain("table cms-ncci-ptp/ptp: NCCI PTP practitioner v32.2 (2026 Q3) [excerpt]: 155 rows taken, 0 skipped from tables/ccipra-v322r0-f1.excerpt.txt");
  });

  it('warns about notIn on a field that may be missing, at the operator, and says how to guard it', async () => {
    const root = await rulesCopy(undefined, rule('pos-not-office', `        - fact: line
          path: placeOfService
          operator: notIn
          value: ["11", "22"]`));
    const result = await lintJson(root);
    const d = result.diagnostics.find((x) => x.code === 'unguarded-negative')!;
    expect(d).toMatchObject({ severity: 'warning', line: 11, column: 21 });
    expect(d.file).toMatch(/extra\.yaml$/);
    expect(d.message).toContain('operator: exists, value: true');
    expect(result.code).toBe(0);
  });

  it('accepts the same condition once an exists guard sits beside it', async () => {
    const root = await rulesCopy(undefined, rule('pos-not-office', `        - fact: line
          path: placeOfService
          operator: exists
          value: true
        - fact: line
          path: placeOfService
          operator: notIn
          value: ["11", "22"]`));
    expect((await lintJson(root)).diagnostics.map((d) => d.code)).not.toContain('unguarded-negative');
  });

  it('warns about a rule that has no test', async () => {
    const root = await rulesCopy(undefined, rule('lonely-rule', `        - fact: line
          operator: hasModifier
          value: GA`));
    const d = (await lintJson(root)).diagnostics.find((x) => x.code === 'untested-rule')!;
    expect(d).toMatchObject({ severity: 'warning', line: 2, column: 5 });
    expect(d.message).toContain('/modifiers/tests/lonely-rule.test.yaml');
  });

  it('refuses a CPT code with four characters in a rule', async () => {
    const root = await rulesCopy(undefined, rule('short-code', `        - fact: line
          path: procedureCode
          operator: codeIn
          value: ["99213", "9921"]`));
    const result = await lintJson(root);
    expect(result.code).toBe(1);
    expect(result.diagnostics.find((x) => x.code === 'malformed-code')).toMatchObject({ severity: 'error', line: 12, column: 28 });
  });

  it('refuses a malformed code in a parameter list a rule reads as codes', async () => {
    const root = await rulesCopy({ file: 'documentation/pack.yaml', change: (t) => t.replace('"17999"', '"1799"') });
    const d = (await lintJson(root)).diagnostics.find((x) => x.code === 'malformed-code')!;
    expect(d.file).toMatch(/documentation\/pack\.yaml$/);
    expect(d.message).toContain('parameter "unlistedCodes"');
    expect(d.message).toContain('"1799"');
  });

  it('refuses a payer pack code list with a code that cannot be a procedure code', async () => {
    const root = await rulesCopy({ file: 'acme-health/pack.yaml', change: (t) => t.replace('"72125-72158"', '"7212-72158"') });
    const result = await lintJson(root);
    // A range whose ends differ in length is refused when the pack loads, before lint looks further.
    expect(result.diagnostics.map((d) => d.code)).toContain('malformed-code');
  });

  it('warns about a parameter no rule reads', async () => {
    const root = await rulesCopy({ file: 'modifiers/pack.yaml', change: (t) => t + '  forgottenLimit:\n    value: 3\n' });
    const d = (await lintJson(root)).diagnostics.find((x) => x.code === 'unused-parameter')!;
    expect(d.message).toContain('"forgottenLimit"');
  });

  it('prints file:line:column lines in text format and exits 1 on errors', async () => {
    const root = await rulesCopy(undefined, rule('short-code', `        - fact: line
          path: procedureCode
          operator: codeIn
          value: ["9921"]`));
    const run = await scrub(['lint', root]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/extra\.yaml:12:19: error \[malformed-code\] rule "short-code": "9921" is not a valid procedure code/);
  });
});
