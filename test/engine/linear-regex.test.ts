import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PARALLEL_AFTER } from '../../src/cli/parallel-scrub.js';
import { createRequire } from 'node:module';
import type { RE2 as RE2Class } from 're2-wasm';
import { MAX_REGEX_TEXT, compileRegex, fixedShapeTest } from '../../src/engine/linear-regex.js';
import { Scrubber } from '../../src/engine/scrubber.js';
import { readPackSet } from '../../src/packs/loader.js';
import { packageRoot } from '../../src/paths.js';
import { exampleClaim } from '../helpers.js';
import { json, request, startServer } from '../service/server.js';
import { scrub } from '../cli/run-cli.js';
import { ruleYaml, tempPack } from '../support/temp-pack.js';

/**
 * Pack regular expressions run in linear time (RE2): a pattern that makes a backtracking engine
 * take exponential time on a 40-character name answers at once, in the library, the CLI (on
 * its worker threads too) and the service; what RE2 cannot run is refused when the pack loads.
 */

// Catastrophic backtracking: V8's own engine needs about 2^n steps to reject a name of n letters
// followed by a digit (12 s at 31 letters on this machine); this one has 40.
const EVIL = '^([a-zA-Z]+)*$';
const LONG_NAME = `${'a'.repeat(40)}1`;

const evilRules = `rules:\n${ruleYaml(
  'name-letters-only',
  'claim',
  `all:
  - fact: claim
    path: patient.lastName
    operator: notMatches
    value: "${EVIL}"`,
  'The last name has characters other than letters.',
)}`;

function claimNamed(lastName: string, claimId = 'C-1001'): Record<string, unknown> {
  const claim = exampleClaim('clean.json') as { patient: Record<string, unknown> };
  return { ...claim, claimId, patient: { ...claim.patient, lastName } };
}

describe('pack regular expressions run in linear time', () => {
  it('evaluates a catastrophic pattern on a 40-letter name at once, with both evaluators', async () => {
    const { root } = await tempPack({ rules: evilRules });
    const { packSet, diagnostics } = await readPackSet(root);
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    for (const engine of ['compiled', 'reference'] as const) {
      const scrubber = new Scrubber(packSet!, { engine });
      const bad = await scrubber.scrub(claimNamed(LONG_NAME));
      expect(bad.findings.map((f) => f.ruleId)).toEqual(['name-letters-only']);
      const good = await scrubber.scrub(claimNamed('a'.repeat(40)));
      expect(good.findings).toEqual([]);
    }
  });

  it(`reads at most the first ${MAX_REGEX_TEXT} characters of a field`, () => {
    const compiled = compileRegex('^x+$');
    if (!compiled.ok) throw new Error(compiled.problem);
    expect(compiled.regex.test('x'.repeat(MAX_REGEX_TEXT))).toBe(true);
    expect(compiled.regex.test(`${'x'.repeat(MAX_REGEX_TEXT)}y`)).toBe(true);
    expect(compiled.regex.test(`${'x'.repeat(MAX_REGEX_TEXT - 1)}y`)).toBe(false);
  });

  it('gives the same answers as V8 for a safe pattern, over thousands of values and again when they repeat', () => {
    const pattern = '^([0-9]{4}[0-9A-Z]|[A-V][0-9]{4})$';
    const compiled = compileRegex(pattern);
    if (!compiled.ok) throw new Error(compiled.problem);
    const v8 = new RegExp(pattern, 'u');
    const values = Array.from({ length: 3000 }, (_, i) => (i % 3 === 0 ? String(90000 + i) : i % 3 === 1 ? `J${String(i).padStart(4, '0')}` : `${i}X-${'y'.repeat(i % 20)}`));
    for (const round of [1, 2]) {
      const differing = values.filter((v) => compiled.regex.test(v) !== v8.test(v));
      expect({ round, differing }).toEqual({ round, differing: [] });
    }
  });

  it('keeps the JavaScript syntax packs already use: \\d, \\u escapes, classes, anchors, named groups, and (?i)', () => {
    const cases: Array<[string, string, boolean]> = [
      ['^([0-9]{4}[0-9A-Z]|[A-V][0-9]{4})$', '0591T', true],
      ['^([0-9]{4}[0-9A-Z]|[A-V][0-9]{4})$', 'W1234', false],
      ['^\\d{5}(-\\d{4})?$', '12345-6789', true],
      ['^\\u0041\\w+$', 'Ann', true],
      ['^(?<prefix>E11)\\.', 'E11.9', true],
      ['(?i)^lee$', 'LEE', true],
      ['a/b', 'a/b', true],
    ];
    for (const [pattern, text, expected] of cases) {
      const compiled = compileRegex(pattern);
      if (!compiled.ok) throw new Error(compiled.problem);
      expect([pattern, text, compiled.regex.test(text)]).toEqual([pattern, text, expected]);
    }
  });
});

const { RE2 } = createRequire(import.meta.url)('re2-wasm') as { RE2: typeof RE2Class };

/** Fixed-shape patterns (the bundled packs' ids and codes among them), each with texts that match. */
const FIXED_SHAPES: Array<[string, string[]]> = [
  ['^[0-9]{2}D[0-9]{7}$', ['05D0987654', '99D0000000']],
  ['^[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9][0-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9][0-9][AC-HJKMNP-RT-Y]{2}[0-9]{2}$', ['1EG4TE5MK73', '9Y99YY9YY99']],
  ['^([0-9]{11}|[0-9]{5}-[0-9]{4}-[0-9]{2})$', ['00002143380', '00002-1433-80']],
  ['^([0-9]{4}[0-9A-Z]|[A-V][0-9]{4})$', ['0591T', 'J1234', '99213']],
  ['^[0-9]{4}F$', ['3074F']],
  ['^(?:AB|[a-c_. -][x-z]\\.\\-|)$', ['AB', '_y.-', ' z.-', '']],
  ['^[-A]{0}Z[A-]$', ['ZA', 'Z-']],
  ['^$', ['']],
  ['^\\d{3}\\.\\d{2}$', ['123.45']],
];

/** Patterns left to RE2 alone: a shape test for them would answer differently (or not be one). */
const NOT_FIXED = ['^[0-9]{2,3}$', '^a|b$', '^(a)(b)$', '(?i)^lee$', '^[^0-9]{2}$', '^\\w{2}$', '^a.c$', '^[A-Za-z][0-9A-Za-z][A-Za-z0-9](\\.?[A-Za-z0-9]{1,4})?$', '^ab', 'ab$', '^ab\\$', '^[a-c-e]$', '^(a\\|b)$', '^a+$', `^x{${MAX_REGEX_TEXT}}$`];

/** Texts near each match: every character replaced by others, cut, lengthened, cased, padded. */
function nearTexts(matches: readonly string[]): string[] {
  const others = ['0', '9', 'A', 'D', 'I', 'O', 'Z', 'a', 'z', '-', '.', '_', ' ', '\n', '|', 'é', '０', '٣', '\uD800', '😀'];
  const texts = new Set<string>(['', 'x'.repeat(MAX_REGEX_TEXT + 5)]);
  for (const m of matches) {
    texts.add(m).add(`${m}\n`).add(`\n${m}`).add(` ${m}`).add(`${m} `).add(m.toLowerCase()).add(m.toUpperCase()).add(m + m);
    texts.add(`${m}${'0'.repeat(MAX_REGEX_TEXT)}`);
    for (let i = 0; i <= m.length; i++) {
      texts.add(m.slice(0, i)).add(m.slice(0, i) + m.slice(i + 1));
      for (const o of others) texts.add(m.slice(0, i) + o + m.slice(i + 1)).add(m.slice(0, i) + o + m.slice(i));
    }
  }
  return [...texts];
}

describe('fixed-shape patterns are decided without RE2, with its answers', () => {
  it.each(FIXED_SHAPES)('%s', (pattern, matches) => {
    const shape = fixedShapeTest(pattern);
    expect(shape).toBeDefined();
    const re2 = new RE2(pattern, 'u');
    const compiled = compileRegex(pattern);
    if (!compiled.ok) throw new Error(compiled.problem);
    const texts = nearTexts(matches);
    const differing = texts.filter((t) => {
      const expected = re2.test(t.length > MAX_REGEX_TEXT ? t.slice(0, MAX_REGEX_TEXT) : t);
      return shape!(t.slice(0, MAX_REGEX_TEXT)) !== expected || compiled.regex.test(t) !== expected;
    });
    expect(differing).toEqual([]);
    expect(matches.every((m) => compiled.regex.test(m))).toBe(true);
    expect(texts.filter((t) => compiled.regex.test(t)).length).toBeLessThan(texts.length / 2);
  });

  it.each(NOT_FIXED)('leaves %s to RE2', (pattern) => {
    expect(fixedShapeTest(pattern)).toBeUndefined();
  });
});

describe('loading refuses what the linear engine cannot run', () => {
  const leaf = (operator: string, value: string) => `all:\n  - fact: claim\n    path: patient.lastName\n    operator: ${operator}\n    value: ${value}`;
  const refusals: Array<[string, string, string, RegExp]> = [
    ['lookahead', 'matches', '"^(?=A)\\\\w+$"', /lookahead or lookbehind/],
    ['negative lookbehind', 'notMatches', '"(?<!Mc)Donald"', /lookahead or lookbehind/],
    ['a backreference', 'matches', '"^(a)\\\\1$"', /backreference/],
    ['a repeat count above 1000', 'matches', '"^a{1,1001}$"', /more than 1000 times/],
    ['a pattern that does not parse', 'matches', '"^(a$"', /is not a regular expression the scrubber can run: missing \)/],
    ['a pattern from the claim', 'matches', '{ fact: claim, path: patient.firstName }', /takes its regular expression from the pack/],
    ['swap:, which takes the pattern from the field', 'swap:matches', '"^a$"', /would take the regular expression from the claim/],
  ];
  it.each(refusals)('refuses %s at its line and column', async (_what, operator, value, message) => {
    const { root } = await tempPack({ rules: `rules:\n${ruleYaml('bad-pattern', 'claim', leaf(operator, value))}` });
    const { packSet, diagnostics } = await readPackSet(root);
    expect(packSet).toBeUndefined();
    expect(diagnostics).toEqual([expect.objectContaining({ file: expect.stringMatching(/rules\.yaml$/), line: 12, column: 18, severity: 'error', code: expect.stringMatching(/^invalid-(regex|value)$/), message: expect.stringMatching(message) })]);
  });

  it('refuses each pattern of a someValue: list', async () => {
    const { root } = await tempPack({ rules: `rules:\n${ruleYaml('bad-list', 'claim', leaf('someValue:matches', '["^A", "(?=B)"]'))}` });
    const { diagnostics } = await readPackSet(root);
    expect(diagnostics).toEqual([expect.objectContaining({ line: 12, code: 'invalid-regex', message: expect.stringContaining('"(?=B)" uses lookahead') })]);
  });

  it('lint refuses a pack parameter read as a pattern that the engine cannot run, where the parameter is set', async () => {
    const { root } = await tempPack({
      pack: `name: demo\nversion: "1.0.0"\ntitle: Demo\ndescription: Demo.\nowner: Tests\nparameters:\n  namePattern:\n    value: "^(?!X)"\n`,
      rules: `rules:\n${ruleYaml('param-pattern', 'claim', leaf('matches', '{ fact: params, path: namePattern }'))}`,
    });
    const run = await scrub(['lint', root, '--format', 'json']);
    const report = JSON.parse(run.stdout) as { diagnostics: Array<{ file: string; line: number; code: string; message: string }> };
    expect(report.diagnostics.filter((d) => d.code === 'invalid-regex')).toEqual([
      expect.objectContaining({ file: expect.stringMatching(/pack\.yaml$/), line: 8, message: expect.stringContaining('parameter "namePattern" of pack "demo" (a regular expression for rule "param-pattern")') }),
    ]);
    expect(run.code).toBe(1);
  });
});

/** Runs the CLI in a child process, killed after `limitMs`: a stalled scrub fails the test instead of hanging it. */
function runCliBounded(args: string[], limitMs: number): Promise<{ code: number | null; killed: boolean; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: packageRoot, stdio: ['ignore', 'pipe', 'inherit'], timeout: limitMs, killSignal: 'SIGKILL' });
    const out: string[] = [];
    child.stdout.setEncoding('utf8').on('data', (c: string) => out.push(c));
    child.once('exit', (code, signal) => resolve({ code, killed: signal === 'SIGKILL', stdout: out.join('') }));
  });
}

describe('in the CLI and the service', () => {
  it('scrub check gets through claims with 40-letter names, on worker threads too', async () => {
    const { root } = await tempPack({ rules: evilRules });
    const claims = Array.from({ length: PARALLEL_AFTER + 60 }, (_, i) => JSON.stringify(claimNamed(i % 2 === 0 ? LONG_NAME : 'Lee', `C-${i}`)));
    const file = path.join(root, 'claims.ndjson');
    await writeFile(file, claims.join('\n') + '\n');
    // A generous bound for a loaded machine: a stalled scrub never ends, a linear one takes seconds.
    const run = await runCliBounded(['check', '--rules', root, '--format', 'ndjson', '--jobs', '2', file], 60_000);
    expect(run.killed).toBe(false);
    const results = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { claimId: string; findings: Array<{ ruleId: string }> });
    expect(results).toHaveLength(claims.length);
    expect(results.filter((r) => r.findings.some((f) => f.ruleId === 'name-letters-only'))).toHaveLength(claims.length / 2);
  }, 90_000);

  it('the service answers a claim with a 40-letter name, and keeps answering', async () => {
    const { root } = await tempPack({ rules: evilRules });
    const server = await startServer({ env: { SCRUB_RULES_DIR: root, LOG_LEVEL: 'warn' } });
    try {
      const answer = await Promise.race([
        request(server.url, { path: '/v1/scrub', ...json(claimNamed(LONG_NAME)) }),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer within 10 s: the worker is stalled')), 10_000)),
      ]);
      expect(answer.status).toBe(200);
      expect(answer.json().findings.map((f: { ruleId: string }) => f.ruleId)).toEqual(['name-letters-only']);
      expect((await request(server.url, { path: '/healthz' })).status).toBe(200);
    } finally {
      server.child.kill('SIGKILL');
    }
  }, 90_000);
});
