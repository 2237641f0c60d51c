import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { rulesCopy } from '../support/rules-copy.js';
import { scrub } from './run-cli.js';

describe('scrub test', () => {
  it('runs every bundled case and ends with a plain count line', async () => {
    const run = await scrub(['test', 'rules']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^\d+ passed, 0 failed$/m);
  });

  it('reports a case that expects the wrong line with expected and actual findings and its file:line', async () => {
    const root = await rulesCopy();
    const file = path.join(root, 'modifiers/tests/lt-rt-same-line.test.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('expect: [{ lines: [2], path: /lines/1/modifiers }]', 'expect: [{ lines: [1] }]'));
    const run = await scrub(['test', root]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('FAIL');
    expect(run.stdout).toMatch(/lt-rt-same-line\.test\.yaml:3:5 flags a line that carries both LT and RT/);
    expect(run.stdout).toContain('expected lt-rt-same-line on lines [1]');
    expect(run.stdout).toContain('lt-rt-same-line on lines [2] at /lines/1/modifiers');
    expect(run.stdout).toMatch(/^\d+ passed, 1 failed$/m);
  });

  it('writes JUnit XML that names the failing case', async () => {
    const root = await rulesCopy();
    const file = path.join(root, 'core/tests/units-not-positive.test.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('lines[1].units: 0\n', 'lines[1].units: 2\n'));
    const out = path.join(root, 'junit.xml');
    const run = await scrub(['test', root, '--reporter', 'junit', '--output', out]);
    expect(run.code).toBe(1);
    const xml = await readFile(out, 'utf8');
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="scrub test" tests="\d+" failures="1" errors="0">/);
    expect(xml).toMatch(/<testcase classname="core\.units-not-positive" name="flags a line billed with zero units" file="[^"]+units-not-positive\.test\.yaml" line="3" time="[\d.]+">\n\s+<failure message="expected units-not-positive on lines \[2\] at \/lines\/1\/units"/);
    expect(xml.match(/<testcase /g)!.length).toBeGreaterThan(50);
  });

  it('runs only the cases a filter names', async () => {
    const run = await scrub(['test', 'rules', '--filter', 'units-not-positive']);
    expect(run.stdout).toMatch(/^2 passed, 0 failed$/m);
  });

  it('fails a 100% coverage threshold when a rule has no case where it stays quiet', async () => {
    const root = await rulesCopy();
    await rm(path.join(root, 'modifiers/tests/too-many-modifiers.test.yaml'));
    await writeFile(path.join(root, 'modifiers/tests/too-many-modifiers.test.yaml'), `rule: too-many-modifiers
cases:
  - name: flags five modifiers
    base: visit-and-procedure
    set:
      lines[1].modifiers: ["59", RT, "76", GT, "95"]
    expect: [{ lines: [2] }]
`);
    const run = await scrub(['test', root, '--coverage', '--coverage-threshold', '100']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/too-many-modifiers\s+✓ fires\s+✗ quiet/);
    expect(run.stderr).toContain('below the threshold of 100%');
    expect(run.stderr).toContain('too-many-modifiers (no case where it stays quiet)');
  });

  it('exits 2 when a test file cannot be read, naming file:line:column', async () => {
    const root = await rulesCopy();
    await writeFile(path.join(root, 'core/tests/broken.test.yaml'), 'cases:\n  - name: x\n    base: office-visit\n    expect: [{ rule: no-such-rule }]\n');
    const run = await scrub(['test', root]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/broken\.test\.yaml:2:5: error \[test-unknown-rule\] case "x" names rule "no-such-rule"/);
  });

  it('exits 2 when a pack cannot be loaded', async () => {
    const root = await rulesCopy();
    const file = path.join(root, 'core/rules/npi.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('operator: isValidNpi', 'operator: isValidNPI'));
    const run = await scrub(['test', root]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('[unknown-operator]');
  });
});

describe('scrub test on a folder that is not there', () => {
  it('reports no-rules-folder and exits 2, as lint does, without a stack trace', async () => {
    const run = await scrub(['test', 'no-such-rules-folder']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^no-such-rules-folder:1:1: error \[no-rules-folder\] /m);
    expect(run.stderr).not.toMatch(/\bat .*\.ts:\d+/);
    const lint = await scrub(['lint', 'no-such-rules-folder']);
    expect(lint.stdout).toContain('no-such-rules-folder:1:1: error [no-rules-folder] ');
  });
});
