import { describe, expect, it } from 'vitest';
import { Scrubber } from '../../src/engine/scrubber.js';
import type { ScrubResult } from '../../src/findings/finding.js';
import { buildApp } from '../../src/http/app.js';
import { readPackSet } from '../../src/packs/loader.js';
import { exampleClaim } from '../helpers.js';
import { scrub } from '../cli/run-cli.js';
import { ruleYaml, tempPack } from '../support/temp-pack.js';

/**
 * A rule that throws while it runs (a value the loader could not check, here a list expected in
 * the caller's own `extensions`) must not fail the claim: the claim gets a `rule-failed` finding
 * naming the rule and the pack's owner, and every other finding, with both evaluators, in the
 * library, the single and the batch endpoints, and pack tests.
 */

const RULES = `rules:
${ruleYaml(
  'code-allowed-by-caller',
  'line',
  `all:
  - fact: line
    path: procedureCode
    operator: someValue:equal
    value: { fact: claim, path: extensions.allowedCodes }`,
  'Line {{line.number}} is allowed.',
)}${ruleYaml(
  'visit-code',
  'line',
  `all:
  - fact: line
    path: procedureCode
    operator: equal
    value: "99213"`,
  'Line {{line.number}} is a visit.',
)}`;

/** The caller sent text where the rule expects a list: someValue: calls "99213".some(...). */
function claimWithTextList(claimId = 'C-FAIL-1'): Record<string, unknown> {
  return { ...exampleClaim('clean.json'), claimId, extensions: { allowedCodes: '99213' } };
}

async function packSet() {
  const { root } = await tempPack({ rules: RULES });
  const loaded = await readPackSet(root);
  expect(loaded.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return { root, packSet: loaded.packSet! };
}

function expectRuleFailed(result: ScrubResult, claimId = 'C-FAIL-1'): void {
  expect(result.claimId).toBe(claimId);
  expect(result.outcome).toBe('fail');
  const failed = result.findings.filter((f) => f.ruleId === 'rule-failed');
  // Once per line the rule ran on: the clean claim has two.
  expect(failed.map((f) => f.lines)).toEqual([[1], [2]]);
  expect(failed[0]).toMatchObject({
    pack: 'demo',
    severity: 'error',
    lines: [1],
    path: '/lines/0',
    details: { rule: 'code-allowed-by-caller', owner: 'Test Owners <owners@example.org>', error: expect.stringContaining('TypeError') },
    message: expect.stringMatching(/^Rule "code-allowed-by-caller" of pack "demo" could not be evaluated for line 1 /),
  });
  // The claim's other findings are all there.
  expect(result.findings.filter((f) => f.ruleId === 'visit-code').map((f) => f.lines)).toEqual([[1]]);
}

describe('a rule that throws at run time', () => {
  it.each(['compiled', 'reference'] as const)('yields a rule-failed finding plus the other findings (%s evaluator)', async (engine) => {
    const { packSet: set } = await packSet();
    const scrubber = new Scrubber(set, { engine });
    expectRuleFailed(await scrubber.scrub(claimWithTextList()));
    const explained = await scrubber.scrub(claimWithTextList(), { explain: true });
    expectRuleFailed(explained);
    // With a list, as meant, the rule runs and no rule-failed finding appears.
    const good = await scrubber.scrub({ ...claimWithTextList(), extensions: { allowedCodes: ['99213'] } });
    expect(good.findings.map((f) => f.ruleId).sort()).toEqual(['code-allowed-by-caller', 'visit-code']);
  });

  it('answers 200 with the rule-failed finding on POST /v1/scrub, and a result with the claim id in a batch', async () => {
    const { packSet: set } = await packSet();
    const scrubber = new Scrubber(set);
    const app = await buildApp({ scrubber: () => scrubber });
    try {
      const single = await app.inject({ method: 'POST', url: '/v1/scrub', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(claimWithTextList()) });
      expect(single.statusCode).toBe(200);
      expectRuleFailed(single.json());
      const batch = await app.inject({
        method: 'POST',
        url: '/v1/scrub/batch',
        headers: { 'content-type': 'application/x-ndjson' },
        payload: [claimWithTextList('C-FAIL-1'), claimWithTextList('C-FAIL-2')].map((c) => JSON.stringify(c)).join('\n'),
      });
      expect(batch.statusCode).toBe(200);
      const results = batch.body.trim().split('\n').map((l) => JSON.parse(l) as ScrubResult);
      expectRuleFailed(results[0]!, 'C-FAIL-1');
      expectRuleFailed(results[1]!, 'C-FAIL-2');
    } finally {
      await app.close();
    }
  });

  it('fails a pack test case, naming the rule and the error', async () => {
    const { root } = await tempPack({
      rules: RULES,
      files: {
        'tests/visit-code.test.yaml': `rule: visit-code
cases:
  - name: fires on a visit, while the other rule fails
    claim: ${JSON.stringify(claimWithTextList())}
    expect: [{ lines: [1] }]
  - name: stays quiet on another code
    claim: ${JSON.stringify({ ...exampleClaim('clean.json'), extensions: { allowedCodes: [] }, lines: [{ ...(exampleClaim('clean.json').lines as object[])[0], procedureCode: '99214' }] })}
    ok: [visit-code]
`,
      },
    });
    const run = await scrub(['test', root]);
    expect(run.stdout).toContain('rule "code-allowed-by-caller" failed at run time');
    expect(run.stdout).toMatch(/^1 passed, 1 failed$/m);
    expect(run.code).toBe(1);
  });
});

describe('loading catches the type mismatch it can see', () => {
  const leaf = (operator: string, value: string) => `all:\n  - fact: line\n    path: procedureCode\n    operator: ${operator}\n    value: ${value}`;
  it.each([
    ['someValue: over a text field', 'someValue:equal', '{ fact: line, path: procedureCode }', /someValue:equal.*goes through a list.*line\.procedureCode holds text/],
    ['everyValue: over a number field', 'everyValue:equal', '{ fact: line, path: units }', /line\.units holds a number/],
    ['in with a number field as the list', 'in', '{ fact: line, path: units }', /line\.units holds a number/],
  ])('refuses %s', async (_what, operator, value, message) => {
    const { root } = await tempPack({ rules: `rules:\n${ruleYaml('mismatch', 'line', leaf(operator, value))}` });
    const { packSet: set, diagnostics } = await readPackSet(root);
    expect(set).toBeUndefined();
    expect(diagnostics).toEqual([expect.objectContaining({ line: 12, code: 'value-type-mismatch', message: expect.stringMatching(message) })]);
  });

  it('accepts the same operators over a list field', async () => {
    const { root } = await tempPack({ rules: `rules:\n${ruleYaml('fine', 'line', leaf('someValue:equal', '{ fact: line, path: modifiers }'))}` });
    expect((await readPackSet(root)).diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  });
});
