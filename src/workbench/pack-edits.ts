import path from 'node:path';
import { STRUCTURE_RULE_IDS } from '../claim/validate.js';
import { CompiledEvaluator } from '../engine/compiled-evaluator.js';
import { Scrubber, type ScrubOptions } from '../engine/scrubber.js';
import type { Finding, ScrubResult } from '../findings/finding.js';
import { completeResult } from '../formats/decorate.js';
import type { ReadClaim } from '../formats/types.js';
import { compareDiagnostics, type PackDiagnostic } from '../packs/diagnostics.js';
import { editedFileName, loadEditedPack, type PackEdit } from '../packs/edit.js';
import { lintPackSet } from '../packs/lint.js';
import type { PackSet } from '../packs/model.js';
import { parseYaml } from '../packs/yaml-source.js';
import { FixtureStore, TESTS_FOLDER, testCasesFrom, type ExpectedFinding, type TestDiscovery } from '../testing/cases.js';
import { describeFinding, runCase, unknownRuleIds } from '../testing/runner.js';

/**
 * What the workbench does with a pack being edited: lint it, run its tests, and show how it
 * would change the findings on some claims. Everything happens in memory against the serving
 * pack set, which is never changed; nothing is written to disk.
 */

export interface LintReport {
  errors: number;
  warnings: number;
  diagnostics: PackDiagnostic[];
}

/** The test cases of the edit's own test files (fixtures from the edit first, then the rules folder). */
async function editedTests(rulesDir: string, edit: PackEdit): Promise<TestDiscovery> {
  const packDir = path.join(rulesDir, edit.name);
  const fixtures = new FixtureStore(
    rulesDir,
    new Map(Object.entries(edit.files).filter(([f]) => f.startsWith(`${TESTS_FOLDER}/fixtures/`)).map(([f, text]) => [path.join(packDir, f), text])),
  );
  const all: TestDiscovery = { cases: [], diagnostics: [] };
  const testFiles = Object.keys(edit.files).filter((f) => /^tests\/[^/]+\.test\.ya?ml$/.test(f)).sort();
  for (const file of testFiles) {
    const found = await testCasesFrom(parseYaml(editedFileName(rulesDir, edit.name, file), edit.files[file]!), path.join(packDir, file), edit.name, packDir, fixtures);
    all.cases.push(...found.cases);
    all.diagnostics.push(...found.diagnostics);
  }
  return all;
}

function report(diagnostics: PackDiagnostic[]): LintReport {
  diagnostics.sort(compareDiagnostics);
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  return { errors, warnings: diagnostics.length - errors, diagnostics };
}

/** What `scrub lint` says of the pack as edited, within the serving set. */
export async function lintEdit(base: PackSet, edit: PackEdit): Promise<LintReport> {
  const loaded = await loadEditedPack(base, edit);
  const tests = await editedTests(base.dir, edit);
  const diagnostics = [...loaded.diagnostics, ...tests.diagnostics];
  const packSet = loaded.packSet;
  if (packSet) {
    // Lint looks at every pack; only the edited one is new (its tests are the only ones here).
    const packDir = editedFileName(base.dir, edit.name, '');
    const own = (d: PackDiagnostic) => d.file.startsWith(packDir + path.sep);
    diagnostics.push(
      ...lintPackSet(packSet, tests.cases).filter(own),
      ...unknownRuleIds(tests.cases, (id) => packSet.rulesById.has(id) || STRUCTURE_RULE_IDS.has(id)),
    );
  }
  return report(diagnostics);
}

export interface CaseReport {
  name: string;
  file: string;
  line: number;
  column: number;
  rule?: string;
  passed: boolean;
  /** One sentence per unmet expectation (as `scrub test` prints them). */
  failures: string[];
  expected: ExpectedFinding[];
  /** Rules that must not fire. */
  ok: string[];
  /** What the claim produced, one line per finding. */
  actual: string[];
}

export interface TestReport {
  /** Problems that stop the tests from running (the edit does not load, a test file is broken). */
  diagnostics: PackDiagnostic[];
  passed: number;
  failed: number;
  cases: CaseReport[];
}

/** An evaluator of the same kind as the serving one, for a scrubber of an edited set. */
function engineLike(serving: Scrubber) {
  return serving.evaluator instanceof CompiledEvaluator ? 'compiled' : 'reference';
}

/** Runs the edit's tests against the serving set with the edit in place, as `scrub test` does. */
export async function testEdit(serving: Scrubber, edit: PackEdit, filter?: string): Promise<TestReport> {
  const base = serving.packSet;
  const loaded = await loadEditedPack(base, edit);
  const tests = await editedTests(base.dir, edit);
  const problems = [...loaded.diagnostics.filter((d) => d.severity === 'error'), ...tests.diagnostics];
  const packSet = loaded.packSet;
  if (packSet) problems.push(...unknownRuleIds(tests.cases, (id) => packSet.rulesById.has(id) || STRUCTURE_RULE_IDS.has(id)));
  if (!packSet || problems.length > 0) return { diagnostics: problems.sort(compareDiagnostics), passed: 0, failed: 0, cases: [] };

  const engine = engineLike(serving);
  const main = new Scrubber(packSet, { engine });
  // Test files that swap a table for fixture files get a set loaded with those files, once each.
  const variants = new Map<string, Promise<Scrubber | PackDiagnostic[]>>();
  const cases: CaseReport[] = [];
  const needle = filter?.toLowerCase();
  for (const c of tests.cases) {
    if (needle && ![c.name, c.rule ?? '', ...c.expect.map((e) => e.rule), ...c.ok].some((t) => t.toLowerCase().includes(needle))) continue;
    let scrubber = main;
    if (c.tables) {
      const key = JSON.stringify(Object.entries(c.tables).sort(([a], [b]) => (a < b ? -1 : 1)));
      let variant = variants.get(key);
      if (!variant) {
        variant = loadEditedPack(base, edit, { replace: c.tables }).then((r) => (r.packSet ? new Scrubber(r.packSet, { engine }) : r.diagnostics.filter((d) => d.severity === 'error')));
        variants.set(key, variant);
      }
      const got = await variant;
      if (Array.isArray(got)) return { diagnostics: got, passed: 0, failed: 0, cases: [] };
      scrubber = got;
    }
    const result = await runCase(scrubber, c);
    cases.push({
      name: c.name,
      file: c.file,
      line: c.line,
      column: c.column,
      ...(c.rule ? { rule: c.rule } : {}),
      passed: result.passed,
      failures: result.failures,
      expected: c.expect,
      ok: c.ok,
      actual: result.actual.map(describeFinding),
    });
  }
  const passed = cases.filter((c) => c.passed).length;
  return { diagnostics: [], passed, failed: cases.length - passed, cases };
}

/** Findings compare as the same when they say the same thing about the same place. */
function findingKey(f: Finding): string {
  return JSON.stringify([f.ruleId, f.severity, f.lines, f.path, f.message]);
}

export interface ClaimComparison {
  label: string;
  claimId: string | null;
  before: Pick<ScrubResult, 'outcome' | 'summary'>;
  after: Pick<ScrubResult, 'outcome' | 'summary'>;
  /** Findings the edited pack adds, and those it no longer gives. */
  added: Finding[];
  removed: Finding[];
}

export interface WhatIfReport {
  diagnostics: PackDiagnostic[];
  claims: number;
  /** Claims whose findings change. */
  changed: number;
  /** Claims that passed and would fail, and the other way. */
  newlyFailing: number;
  newlyPassing: number;
  /** Findings added and removed, by rule id. */
  byRule: Array<{ ruleId: string; added: number; removed: number }>;
  comparisons: ClaimComparison[];
}

/** Scrubs each claim with the serving packs and with the edit in place, and tells the differences. */
export async function whatIf(serving: Scrubber, edit: PackEdit, claims: readonly ReadClaim[], options: ScrubOptions = {}): Promise<WhatIfReport> {
  const loaded = await loadEditedPack(serving.packSet, edit);
  const empty = { claims: 0, changed: 0, newlyFailing: 0, newlyPassing: 0, byRule: [], comparisons: [] };
  if (!loaded.packSet) return { diagnostics: loaded.diagnostics.filter((d) => d.severity === 'error'), ...empty };
  const edited = new Scrubber(loaded.packSet, { engine: engineLike(serving) });
  const comparisons: ClaimComparison[] = [];
  const byRule = new Map<string, { added: number; removed: number }>();
  const scrubOptions: ScrubOptions = options.asOf ? { asOf: options.asOf } : {};
  for (const claim of claims) {
    const before = completeResult(await serving.scrub(claim.input, scrubOptions), claim);
    const after = completeResult(await edited.scrub(claim.input, scrubOptions), claim);
    const beforeKeys = new Set(before.findings.map(findingKey));
    const afterKeys = new Set(after.findings.map(findingKey));
    const added = after.findings.filter((f) => !beforeKeys.has(findingKey(f)));
    const removed = before.findings.filter((f) => !afterKeys.has(findingKey(f)));
    for (const [list, field] of [
      [added, 'added'],
      [removed, 'removed'],
    ] as const) {
      for (const f of list) {
        const counts = byRule.get(f.ruleId) ?? { added: 0, removed: 0 };
        counts[field]++;
        byRule.set(f.ruleId, counts);
      }
    }
    comparisons.push({
      label: claim.label,
      claimId: after.claimId,
      before: { outcome: before.outcome, summary: before.summary },
      after: { outcome: after.outcome, summary: after.summary },
      added,
      removed,
    });
  }
  return {
    diagnostics: [],
    claims: comparisons.length,
    changed: comparisons.filter((c) => c.added.length > 0 || c.removed.length > 0).length,
    newlyFailing: comparisons.filter((c) => c.before.outcome === 'pass' && c.after.outcome === 'fail').length,
    newlyPassing: comparisons.filter((c) => c.before.outcome === 'fail' && c.after.outcome === 'pass').length,
    byRule: [...byRule.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([ruleId, c]) => ({ ruleId, ...c })),
    comparisons,
  };
}
