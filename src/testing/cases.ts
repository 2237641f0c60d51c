import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ValidateFunction } from 'ajv';
import { readSchema, strictAjv } from '../claim/schema.js';
import type { Severity } from '../findings/finding.js';
import type { PackDiagnostic } from '../packs/diagnostics.js';
import { displayPath, findPackDirs } from '../packs/loader.js';
import { explainAjvError } from '../util/ajv-messages.js';
import { pointerFrom } from '../util/json-pointer.js';
import { removeAt, setAt } from '../util/patch.js';
import { parseSafeJson } from '../util/safe-json.js';
import { parseYaml, readYamlFile, type YamlParse, type YamlSource } from '../packs/yaml-source.js';
import type { TableReplacement } from '../tables/load.js';

/**
 * Pack tests live beside the rules they test: rules/<pack>/tests/*.test.yaml. A case names a
 * claim (a fixture plus a small patch, or a whole claim), the findings it must produce and the
 * rules that must stay silent.
 */

export const TESTS_FOLDER = 'tests';
export const FIXTURES_FOLDER = 'fixtures';

export interface ExpectedFinding {
  rule: string;
  lines?: number[];
  path?: string;
  severity?: Severity;
}

export interface TestCase {
  name: string;
  /** The pack whose tests folder holds the case. */
  pack: string;
  /** The rule the file groups its cases under, if any. */
  rule?: string;
  file: string;
  line: number;
  column: number;
  claim: unknown;
  asOf?: string;
  /** Tables read from fixture files instead of their own, by table name (absolute paths). */
  tables?: Record<string, TableReplacement>;
  /** Claims recorded in a fresh history before the case claim is scrubbed against it. */
  history?: unknown[];
  expect: ExpectedFinding[];
  ok: string[];
}

export interface TestDiscovery {
  cases: TestCase[];
  /** Files that could not be read or understood; running them is pointless until fixed. */
  diagnostics: PackDiagnostic[];
}

interface ClaimSpec {
  base?: string;
  claim?: unknown;
  set?: Record<string, unknown>;
  remove?: string[];
}

interface RawCase extends ClaimSpec {
  name: string;
  /** Claims recorded for the patient before the case claim is scrubbed, in order. */
  history?: ClaimSpec[];
  asOf?: string;
  expect?: Array<Partial<ExpectedFinding>>;
  ok?: string[];
}

interface RawFile {
  rule?: string;
  asOf?: string;
  tables?: Record<string, string[] | { files: string[]; complete?: boolean }>;
  cases: RawCase[];
}

/** The file's table fixtures with their paths made absolute (relative to the test file). */
function tableFixtures(raw: RawFile, file: string): Record<string, TableReplacement> | undefined {
  if (!raw.tables) return undefined;
  const dir = path.dirname(file);
  return Object.fromEntries(
    Object.entries(raw.tables).map(([name, t]) => {
      const spec = Array.isArray(t) ? { files: t } : t;
      const replacement: TableReplacement = { files: spec.files.map((f) => path.resolve(dir, f)) };
      if (!Array.isArray(t) && t.complete !== undefined) replacement.complete = t.complete;
      return [name, replacement];
    }),
  );
}

let validator: ValidateFunction | undefined;
function testFileValidator(): ValidateFunction {
  validator ??= strictAjv().compile(readSchema('pack-test.schema.json'));
  return validator;
}

async function listTestFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((f) => f.endsWith('.test.yaml') || f.endsWith('.test.yml')).sort().map((f) => path.join(dir, f));
  } catch {
    return [];
  }
}

export class FixtureStore {
  private readonly cache = new Map<string, { value?: unknown; problem?: string }>();
  /**
   * @param texts fixture texts by absolute path, used instead of the file of that path (the
   * workbench's edited fixtures); other fixtures are read from disk.
   */
  constructor(
    private readonly rulesRoot: string,
    private readonly texts: ReadonlyMap<string, string> = new Map(),
  ) {}

  async load(packDir: string, name: string): Promise<{ value?: unknown; problem?: string }> {
    const candidates = [
      ...['.json', '.yaml', '.yml'].map((ext) => path.join(packDir, TESTS_FOLDER, FIXTURES_FOLDER, name + ext)),
      ...['.json', '.yaml', '.yml'].map((ext) => path.join(this.rulesRoot, FIXTURES_FOLDER, name + ext)),
    ];
    for (const file of candidates) {
      const cached = this.cache.get(file);
      if (cached) return cached;
      let text = this.texts.get(file);
      if (text === undefined) {
        try {
          text = await readFile(file, 'utf8');
        } catch {
          continue;
        }
      }
      let entry: { value?: unknown; problem?: string };
      if (file.endsWith('.json')) {
        // As a caller's claim is read: no prototype keys, bounded nesting.
        const parsed = parseSafeJson(text);
        entry = parsed.ok ? { value: parsed.value } : { problem: `fixture ${displayPath(file)} cannot be used: ${parsed.message}` };
      } else {
        const parsed = parseYaml(displayPath(file), text);
        entry = parsed.ok ? { value: parsed.source.value } : { problem: `fixture ${displayPath(file)}: ${parsed.diagnostics[0]!.message}` };
      }
      this.cache.set(file, entry);
      return entry;
    }
    return {
      problem: `there is no fixture "${name}": looked for ${TESTS_FOLDER}/${FIXTURES_FOLDER}/${name}.json (or .yaml) in the pack and ${FIXTURES_FOLDER}/${name}.json in the rules folder`,
    };
  }
}

function schemaProblems(source: YamlSource): PackDiagnostic[] {
  const validate = testFileValidator();
  if (validate(source.value)) return [];
  const out: PackDiagnostic[] = [];
  for (const e of validate.errors ?? []) {
    const p = explainAjvError(e, () => 'case');
    if (!p) continue;
    const pointer = pointerFrom(p.tokens);
    const at = p.kind === 'unknown-field' ? source.keyPositionOf(pointer) : source.positionOf(p.kind === 'missing-field' ? pointerFrom(p.tokens.slice(0, -1)) : pointer);
    const name = p.tokens.filter((t) => !/^\d+$/.test(t)).at(-1) ?? 'the file';
    out.push({
      file: source.file,
      line: at.line,
      column: at.column,
      severity: 'error',
      code: `test-${p.kind}`,
      message: p.kind === 'missing-field' || p.kind === 'unknown-field' ? `"${p.key}" ${p.text}` : `"${name}" ${p.text}`,
    });
  }
  return out;
}

export async function loadTestFile(file: string, pack: string, packDir: string, fixtures: FixtureStore): Promise<TestDiscovery> {
  return testCasesFrom(await readYamlFile(file, displayPath(file)), file, pack, packDir, fixtures);
}

/** The cases of a parsed test file (`file`: its absolute path, which table fixtures are relative to). */
export async function testCasesFrom(parsed: YamlParse, file: string, pack: string, packDir: string, fixtures: FixtureStore): Promise<TestDiscovery> {
  if (!parsed.ok) return { cases: [], diagnostics: parsed.diagnostics };
  const source = parsed.source;
  const diagnostics = schemaProblems(source);
  if (diagnostics.length > 0) return { cases: [], diagnostics };
  const raw = source.value as RawFile;
  const tables = tableFixtures(raw, file);
  const cases: TestCase[] = [];
  for (const [i, c] of raw.cases.entries()) {
    const at = source.positionOf(`/cases/${i}`);
    const problem = (pointer: string, code: string, message: string) => {
      const p = source.positionOf(pointer);
      diagnostics.push({ file: source.file, line: p.line, column: p.column, severity: 'error', code, message: `case "${c.name}": ${message}` });
    };
    if ((c.base === undefined) === (c.claim === undefined)) {
      problem(`/cases/${i}`, 'test-no-claim', 'give either "base" (a fixture name) or "claim" (a whole claim), not both or neither');
      continue;
    }
    if (!c.expect?.length && !c.ok?.length) {
      problem(`/cases/${i}`, 'test-no-assertion', 'say what must happen: list findings under "expect" or rule ids that must not fire under "ok"');
      continue;
    }
    const claim = await buildClaim(c, `/cases/${i}`, packDir, fixtures, problem);
    if (claim === undefined) continue;
    const history: unknown[] = [];
    for (const [j, h] of (c.history ?? []).entries()) {
      const pointer = `/cases/${i}/history/${j}`;
      if ((h.base === undefined) === (h.claim === undefined)) {
        problem(pointer, 'test-no-claim', `history entry ${j + 1}: give either "base" (a fixture name) or "claim" (a whole claim), not both or neither`);
        continue;
      }
      const prior = await buildClaim(h, pointer, packDir, fixtures, problem);
      if (prior === undefined) continue;
      // An earlier claim with the case claim's id would be the same claim recorded before (and
      // so left out): unless the entry names its own claimId, it gets one of its own.
      const namesId = h.claim !== undefined || Object.keys(h.set ?? {}).some((k) => k === 'claimId' || k === '/claimId');
      if (!namesId && prior && typeof prior === 'object') (prior as Record<string, unknown>).claimId = `PRIOR-${j + 1}`;
      history.push(prior);
    }
    if (history.length !== (c.history ?? []).length) continue;
    const expect: ExpectedFinding[] = [];
    for (const [j, e] of (c.expect ?? []).entries()) {
      const rule = e.rule ?? raw.rule;
      if (!rule) {
        problem(`/cases/${i}/expect/${j}`, 'test-no-rule', 'say which rule must fire ("rule: ..."), or name the rule at the top of the file');
        continue;
      }
      expect.push({ ...e, rule });
    }
    const testCase: TestCase = {
      name: c.name,
      pack,
      file: source.file,
      line: at.line,
      column: at.column,
      claim,
      expect,
      ok: c.ok ?? [],
    };
    if (raw.rule) testCase.rule = raw.rule;
    if (tables) testCase.tables = tables;
    if (c.history) testCase.history = history;
    const asOf = c.asOf ?? raw.asOf;
    if (asOf) testCase.asOf = asOf;
    cases.push(testCase);
  }
  return { cases, diagnostics };
}

/** A claim as a case or a history entry writes it: a fixture or a whole claim, then `set` and `remove`. */
async function buildClaim(
  c: ClaimSpec,
  pointer: string,
  packDir: string,
  fixtures: FixtureStore,
  problem: (pointer: string, code: string, message: string) => void,
): Promise<unknown> {
  let claim: unknown;
  if (c.base !== undefined) {
    const fixture = await fixtures.load(packDir, c.base);
    if (fixture.problem) {
      problem(`${pointer}/base`, 'test-fixture', fixture.problem);
      return undefined;
    }
    claim = structuredClone(fixture.value);
  } else {
    claim = structuredClone(c.claim);
  }
  let patched = true;
  for (const [p, value] of Object.entries(c.set ?? {})) {
    try {
      setAt(claim, p, structuredClone(value));
    } catch (err) {
      problem(`${pointer}/set/${p.replace(/~/g, '~0').replace(/\//g, '~1')}`, 'test-bad-path', (err as Error).message);
      patched = false;
    }
  }
  for (const [j, p] of (c.remove ?? []).entries()) {
    try {
      removeAt(claim, p);
    } catch (err) {
      problem(`${pointer}/remove/${j}`, 'test-bad-path', (err as Error).message);
      patched = false;
    }
  }
  return patched ? claim : undefined;
}

/**
 * Finds every *.test.yaml under the tests folder of every pack in the given rules folders. A
 * folder that cannot be read holds no tests: loading its packs reports it (no-rules-folder).
 */
export async function discoverTests(rulesDirs: readonly string[]): Promise<TestDiscovery> {
  const all: TestDiscovery = { cases: [], diagnostics: [] };
  for (const rulesDir of rulesDirs) {
    const root = path.resolve(rulesDir);
    const fixtures = new FixtureStore(root);
    let packDirs: string[];
    try {
      packDirs = await findPackDirs(root);
    } catch {
      continue;
    }
    for (const packDir of packDirs) {
      for (const file of await listTestFiles(path.join(packDir, TESTS_FOLDER))) {
        const found = await loadTestFile(file, path.basename(packDir), packDir, fixtures);
        all.cases.push(...found.cases);
        all.diagnostics.push(...found.diagnostics);
      }
    }
  }
  return all;
}
