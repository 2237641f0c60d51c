import { describe, expect, it } from 'vitest';
import { scrub } from './run-cli.js';

describe('scrub check', () => {
  it('exits 0 and prints PASS for a clean claim', async () => {
    const run = await scrub(['check', 'examples/claims/clean.json']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('PASS');
    expect(run.stdout).toContain('1 claim: 1 passed, 0 failed');
  });

  it('exits 1 and names each finding for a failing claim', async () => {
    const run = await scrub(['check', 'examples/claims/core-problems.json']);
    expect(run.code).toBe(1);
    for (const id of ['billing-npi-invalid', 'total-charge-mismatch', 'diagnosis-pointer-missing-diagnosis', 'units-not-positive', 'service-end-before-start']) {
      expect(run.stdout).toContain(`core/${id}`);
    }
  });

  it('prints the ScrubResult array with --format json', async () => {
    const run = await scrub(['check', '--format', 'json', 'examples/claims/clean.json', 'examples/claims/modifier-problems.json']);
    expect(run.code).toBe(1);
    const results = JSON.parse(run.stdout);
    expect(results).toHaveLength(2);
    expect(results[0]).toMatchObject({ claimId: 'C-1001', outcome: 'pass' });
    expect(results[1].findings.map((f: { ruleId: string }) => f.ruleId)).toContain('lt-rt-same-line');
  });

  it('prints one result per line with --format ndjson, going on past a line that is not JSON', async () => {
    const run = await scrub(['check', '--format', 'ndjson', 'examples/claims/batch.ndjson']);
    const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((r) => r.claimId)).toEqual(['C-1001', 'C-2001', 'C-3001', 'C-4001', null]);
    expect(lines[4].findings[0]).toMatchObject({ ruleId: 'invalid-json', category: 'structure' });
    expect(run.code).toBe(1);
  });

  it('reads a claim from standard input with "-"', async () => {
    const run = await scrub(['check', '--format', 'json', '-'], { stdin: '{"claimId":"S-1"}' });
    expect(JSON.parse(run.stdout)[0]).toMatchObject({ claimId: 'S-1', outcome: 'fail' });
  });

  it('exits 2 and names the file when it does not exist', async () => {
    const run = await scrub(['check', 'examples/claims/nope.json']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('cannot read examples/claims/nope.json: no such file');
  });

  it('exits 2 and names the file when it is not JSON', async () => {
    const run = await scrub(['check', 'examples/claims/README.md']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/cannot read examples\/claims\/README\.md: not valid JSON/);
  });

  it('exits 2 with the help for an unknown option or format', async () => {
    for (const args of [['check', '--colour', 'x.json'], ['check', '--format', 'xml', 'x.json'], ['check']]) {
      const run = await scrub(args);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('Usage: scrub check');
    }
  });

  it('uses --as-of as today for date rules', async () => {
    const run = await scrub(['check', '--format', 'json', '--as-of', '2026-02-19', 'examples/claims/clean.json']);
    expect(JSON.parse(run.stdout)[0].findings.map((f: { ruleId: string }) => f.ruleId)).toContain('service-date-in-future');
  });

  it('shows how conditions came out with --explain', async () => {
    const run = await scrub(['check', '--explain', '--as-of', '2026-03-02', 'examples/claims/clean.json']);
    expect(run.stdout).toContain('explain:');
    expect(run.stdout).toMatch(/quiet modifiers\/lt-rt-same-line on line 1/);
  });

  it('prints help for every command', async () => {
    for (const command of ['check', 'lint', 'test', 'serve']) {
      const run = await scrub([command, '--help']);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`Usage: scrub ${command}`);
    }
    expect((await scrub(['--help'])).stdout).toContain('Commands:');
    expect((await scrub(['frobnicate'])).code).toBe(2);
  });
});
