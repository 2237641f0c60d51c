import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pathSyntaxProblem } from '../../src/engine/path.js';
import { removeAt, setAt } from '../../src/util/patch.js';
import { scrub } from '../cli/run-cli.js';
import { rulesCopy } from '../support/rules-copy.js';

/**
 * Paths written in pack files (a test case's `set:` and `remove:`, a rule's `path:`) are applied
 * to objects; a step named __proto__, constructor or prototype would walk into Object.prototype
 * and change every object of the process. Each is refused, with a message saying so.
 */

const FORBIDDEN = ['__proto__', 'constructor', 'prototype'];
const pollutingPaths = [
  '__proto__.polluted',
  '/__proto__/polluted',
  'constructor.prototype.polluted',
  '/constructor/prototype/polluted',
  'lines[0].__proto__.polluted',
  'patient.prototype',
  'lines.0.constructor.prototype.polluted',
];

afterEach(() => {
  // Never leave a polluted prototype behind for the other tests of this worker.
  delete (Object.prototype as Record<string, unknown>).polluted;
});

function expectPrototypeClean(): void {
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
  expect(typeof Object.prototype.hasOwnProperty).toBe('function');
}

describe('test-case patches refuse prototype keys at every step', () => {
  it.each(pollutingPaths)('set %s is refused and changes no prototype', (p) => {
    const claim = { patient: {}, lines: [{}] };
    expect(() => setAt(claim, p, 'yes')).toThrow(/"(__proto__|constructor|prototype)" is not allowed in a path/);
    expectPrototypeClean();
  });

  it.each([...pollutingPaths, '__proto__.hasOwnProperty', 'constructor.prototype.toString'])('remove %s is refused and deletes nothing from a prototype', (p) => {
    const claim = { patient: {}, lines: [{}] };
    expect(() => removeAt(claim, p)).toThrow(/is not allowed in a path/);
    expectPrototypeClean();
    expect(typeof Object.prototype.toString).toBe('function');
  });

  it('still sets and removes ordinary fields', () => {
    const claim: Record<string, unknown> = { patient: { lastName: 'Lee' } };
    setAt(claim, 'patient.firstName', 'Ann');
    removeAt(claim, 'patient.lastName');
    expect(claim).toEqual({ patient: { firstName: 'Ann' } });
  });
});

describe('rule paths refuse prototype keys', () => {
  it.each(FORBIDDEN.flatMap((k) => [k, `patient.${k}`, `$.lines.0.${k}.x`]))('path %s is refused at load', (p) => {
    expect(pathSyntaxProblem(p)).toMatch(/"(__proto__|constructor|prototype)" is not allowed in a path/);
  });
});

async function packWithPollutingCase(): Promise<{ root: string; file: string }> {
  const root = await rulesCopy();
  const file = path.join(root, 'core/tests/pollution.test.yaml');
  await writeFile(
    file,
    `rule: units-not-positive
cases:
  - name: walks into the prototype with a dotted path
    base: visit-and-procedure
    set:
      __proto__.polluted: "yes"
    ok: [units-not-positive]
  - name: walks into the prototype with a JSON Pointer
    base: visit-and-procedure
    set:
      /constructor/prototype/polluted: "yes"
    ok: [units-not-positive]
  - name: deletes from the prototype
    base: visit-and-procedure
    remove: [__proto__.hasOwnProperty]
    ok: [units-not-positive]
`,
  );
  return { root, file: path.relative(process.cwd(), file) };
}

describe('scrub lint and scrub test on a case that would pollute the prototype', () => {
  it('lint names each bad path at its file:line with test-bad-path, and nothing else goes wrong', async () => {
    const { root } = await packWithPollutingCase();
    const run = await scrub(['lint', root, '--format', 'json']);
    expectPrototypeClean();
    const report = JSON.parse(run.stdout) as { errors: number; diagnostics: Array<{ file: string; line: number; code: string; message: string; severity: string }> };
    const errors = report.diagnostics.filter((d) => d.severity === 'error');
    expect(errors.map((d) => [path.basename(d.file), d.line, d.code])).toEqual([
      ['pollution.test.yaml', 6, 'test-bad-path'],
      ['pollution.test.yaml', 11, 'test-bad-path'],
      ['pollution.test.yaml', 15, 'test-bad-path'],
    ]);
    expect(errors[0]!.message).toContain('"__proto__" is not allowed in a path');
    expect(errors[1]!.message).toContain('"constructor" is not allowed in a path');
    expect(run.code).toBe(1);
  });

  it('test refuses to run the file (exit 2) instead of crashing', async () => {
    const { root } = await packWithPollutingCase();
    const run = await scrub(['test', root]);
    expectPrototypeClean();
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Cannot run the tests:');
    expect(run.stderr.match(/\[test-bad-path\]/g)).toHaveLength(3);
  });
});
