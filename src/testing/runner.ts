import type { Finding } from '../findings/finding.js';
import { RULE_FAILED, Scrubber, type ScrubberOptions } from '../engine/scrubber.js';
import { PackLoadError, type PackDiagnostic } from '../packs/diagnostics.js';
import { readPackSet } from '../packs/loader.js';
import type { PackSet } from '../packs/model.js';
import { SharedTables } from '../tables/shared.js';
import { SCHEMA_PACK } from '../claim/validate.js';
import { ClaimHistory } from '../history/claim-history.js';
import { DEFAULT_RETENTION_DAYS } from '../history/config.js';
import { IN_MEMORY, SqliteHistoryStore } from '../history/sqlite.js';
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
  // A rule that threw is a broken pack, whatever the case expects of other rules.
  for (const f of actual.filter((x) => x.ruleId === RULE_FAILED)) {
    failures.push(`rule "${String(f.details.rule)}" failed at run time: ${String(f.details.error)}`);
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

/** The key pack tests make patient keys with: their histories are fresh and in memory. */
const TEST_HISTORY_SECRET = 'pack-test-history-secret';

export async function runCase(scrubber: Scrubber, testCase: TestCase): Promise<CaseResult> {
  const options = testCase.asOf ? { asOf: testCase.asOf } : {};
  if (!testCase.history) {
    const result = await scrubber.scrub(testCase.claim, options);
    const failures = judge(testCase, result.findings);
    return { testCase, passed: failures.length === 0, failures, actual: result.findings };
  }
  // The case's earlier claims go into a history of its own, then its claim is scrubbed against it.
  const history = new ClaimHistory(SqliteHistoryStore.open(IN_MEMORY), TEST_HISTORY_SECRET, DEFAULT_RETENTION_DAYS);
  try {
    const claims = testCase.history;
    const recorded = await history.importClaims(
      (async function* () {
        for (const [i, input] of claims.entries()) yield { label: `history entry ${i + 1}`, input };
      })(),
    );
    if (recorded.skipped.length > 0) {
      const failures = recorded.skipped.map((s) => `${s.label} could not be recorded: ${s.reason}`);
      return { testCase, passed: false, failures, actual: [] };
    }
    const result = await history.scrub(scrubber, testCase.claim, options);
    const failures = judge(testCase, result.findings);
    if (result.history && !result.history.consulted) failures.push(`history was not consulted for the case claim: ${result.history.reason ?? 'no reason given'}`);
    return { testCase, passed: failures.length === 0, failures, actual: result.findings };
  } finally {
    await history.close();
  }
}

/**
 * The scrubber each case runs against: the rules folder's own, or, for a test file that swaps
 * tables for fixtures, the same packs loaded with those files (built once per set of fixtures).
 */
export class CaseScrubbers {
  private readonly variants = new Map<string, Promise<Scrubber>>();

  constructor(
    private readonly rulesDir: string,
    private readonly packSet: PackSet,
    private readonly options: ScrubberOptions = {},
    /** Indexes the variants share with the folder's own pack set, so each table is read once. */
    private readonly shared: SharedTables = new SharedTables(),
  ) {}

  async for(testCase: TestCase): Promise<Scrubber> {
    const tables = testCase.tables;
    const key = tables ? JSON.stringify(Object.entries(tables).sort(([a], [b]) => (a < b ? -1 : 1))) : '';
    let scrubber = this.variants.get(key);
    if (!scrubber) {
      scrubber = tables
        ? readPackSet(this.rulesDir, undefined, { replace: tables, shared: this.shared }).then((r) => {
            const declared = new Set(r.packSet?.packs.flatMap((p) => p.tables.map((t) => t.name)) ?? []);
            const unknown = Object.keys(tables).filter((name) => !declared.has(name));
            const problems = [
              ...r.diagnostics.filter((d) => d.severity === 'error'),
              ...unknown.map((name) => ({
                file: testCase.file,
                line: 1,
                column: 1,
                severity: 'error' as const,
                code: 'test-unknown-table',
                message: `the file swaps table "${name}" for fixtures, but no pack declares a table of that name`,
              })),
            ];
            if (!r.packSet || problems.length > 0) throw new PackLoadError(problems);
            return new Scrubber(r.packSet, this.options);
          })
        : Promise.resolve(new Scrubber(this.packSet, this.options));
      this.variants.set(key, scrubber);
    }
    return scrubber;
  }
}
