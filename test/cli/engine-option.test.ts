import { describe, expect, it } from 'vitest';
import { scrub } from './run-cli.js';

describe('--engine and SCRUB_ENGINE', () => {
  const claims = ['examples/claims/modifier-problems.json', 'examples/claims/core-problems.json', 'examples/claims/batch.ndjson'];

  it('give the same output with json-rules-engine (reference) as with the compiled evaluator', async () => {
    const compiled = await scrub(['check', '--format', 'json', '--as-of', '2026-06-01', ...claims]);
    const reference = await scrub(['check', '--format', 'json', '--as-of', '2026-06-01', '--engine', 'reference', ...claims]);
    const fromEnv = await scrub(['check', '--format', 'json', '--as-of', '2026-06-01', ...claims], { env: { SCRUB_ENGINE: 'reference' } });
    expect(compiled.code).toBe(1);
    expect(reference.stdout).toBe(compiled.stdout);
    expect(fromEnv.stdout).toBe(compiled.stdout);
    expect(JSON.parse(compiled.stdout).length).toBeGreaterThan(3);
  });

  it('runs the pack tests with either engine', async () => {
    for (const engine of ['compiled', 'reference']) {
      const run = await scrub(['test', '--engine', engine, 'rules']);
      expect(run.code, run.stdout).toBe(0);
      expect(run.stdout).toMatch(/\d+ passed, 0 failed/);
    }
    // Two runs of every pack case (515 now) in child processes: about 10 s alone, several times that on a loaded machine.
  }, 120_000);

  it('refuses an engine that does not exist, naming where the choice came from', async () => {
    const bad = await scrub(['check', '--engine', 'fast', 'examples/claims/clean.json']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--engine must be compiled or reference, not "fast"');
    const badEnv = await scrub(['check', 'examples/claims/clean.json'], { env: { SCRUB_ENGINE: 'jre' } });
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr).toContain('SCRUB_ENGINE must be compiled or reference, not "jre"');
  });
});

describe('the service configuration of the engine', () => {
  it('is compiled by default, reference when SCRUB_ENGINE or --engine says so', async () => {
    const { readServiceConfig } = await import('../../src/config.js');
    expect(readServiceConfig({}).engine).toBe('compiled');
    expect(readServiceConfig({ SCRUB_ENGINE: 'reference' }).engine).toBe('reference');
    expect(readServiceConfig({ SCRUB_ENGINE: 'reference' }, { engine: 'compiled' }).engine).toBe('compiled');
  });

  it('refuses an unknown engine with the other configuration problems', async () => {
    const { ConfigError, readServiceConfig } = await import('../../src/config.js');
    let problems: unknown[] = [];
    try {
      readServiceConfig({ SCRUB_ENGINE: 'turbo', PORT: 'x' });
    } catch (err) {
      if (err instanceof ConfigError) problems = err.problems;
    }
    expect(problems).toContainEqual({ variable: 'SCRUB_ENGINE', value: 'turbo', expected: 'expected compiled or reference' });
    expect(problems).toHaveLength(2);
  });
});
