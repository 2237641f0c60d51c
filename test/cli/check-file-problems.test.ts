import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { readSchema, strictAjv } from '../../src/claim/schema.js';
import { scrub } from './run-cli.js';

/**
 * scrub check on files that are only partly readable (issue 14, items 3 and 8): the readable
 * claims are scrubbed, each file-level problem is reported once in its place, and the exit
 * status tells "partly unreadable" (1) from "nothing could be read" (2).
 */

const variants = 'test/fixtures/x12/variants';
const ajv = strictAjv();
ajv.addSchema(readSchema('scrub-result.schema.json'));
const validRecord = ajv.compile({ $ref: 'https://claim-scrubber.dev/schemas/scrub-result.schema.json#/$defs/batchRecord' });
const dir = mkdtempSync(path.join(tmpdir(), 'scrub-check-problems-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lines = (stdout: string) => stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);

describe('a file that is only partly readable', () => {
  it('exits 1, scrubs its readable claim and reports the unreadable part once, in its place', async () => {
    const run = await scrub(['check', '--format', 'ndjson', '--as-of', '2026-01-01', `${variants}/837-then-835.x12`]);
    expect(run.code).toBe(1);
    const records = lines(run.stdout);
    expect(records.map((r) => (r.problem ? r.problem.code : r.claimId))).toEqual(['26463774', 'x12-not-a-claim']);
    expect(records[1]).toEqual({
      problem: expect.objectContaining({ file: `${variants}/837-then-835.x12`, severity: 'error', claims: 0, position: expect.objectContaining({ format: 'x12', segment: 'ST', position: 47 }) }),
    });
    for (const r of records) expect(validRecord(r), JSON.stringify(validRecord.errors)).toBe(true);
    expect(run.stderr).toContain(`scrub check: ${variants}/837-then-835.x12: ST at segment 47 opens transaction set 835, not an 837 claim; it was skipped. (segment 47, ST-01)`);
  });

  it('exits 1 even when its readable claims all pass', async () => {
    const good = readFileSync('test/fixtures/x12/837p/demo.example8.837', 'utf8');
    const file = path.join(dir, 'good-then-text.837');
    writeFileSync(file, `${good}\nEnd of transmission\n`);
    const run = await scrub(['check', '--format', 'json', '--as-of', '2026-01-01', file]);
    const records = JSON.parse(run.stdout) as Array<Record<string, any>>;
    expect(records.map((r) => r.problem?.code ?? r.outcome)).toEqual(['pass', 'x12-outside-interchange']);
    expect(run.code).toBe(1);
  });

  it('prints problems for people on stderr, and counts only claims in the summary', async () => {
    const run = await scrub(['check', '--as-of', '2026-01-01', `${variants}/subscriber-without-claim.837`]);
    expect(run.stdout).toContain('1 claim: 0 passed, 1 failed');
    expect(run.stderr).toMatch(/subscriber-without-claim\.837: The subscriber level HL at segment 42 has no claim.*\(segment 42\)/);
    expect(run.code).toBe(1);
  });
});

describe('a file with a defect of its envelope', () => {
  it('reports an SE01 error once, however many claims the set holds, and exits 1', async () => {
    const run = await scrub(['check', '--format', 'ndjson', '--as-of', '2026-01-01', `${variants}/thirty-claims-se-count-wrong.837`]);
    const records = lines(run.stdout);
    expect(records.filter((r) => r.problem)).toEqual([{ problem: expect.objectContaining({ code: 'x12-se-count', claims: 30 }) }]);
    expect(records.filter((r) => r.claimId)).toHaveLength(30);
    for (const r of records.filter((r) => r.claimId)) expect(r.findings.map((f: { ruleId: string }) => f.ruleId)).not.toContain('x12-se-count');
    expect(run.code).toBe(1);
  });
});

describe('a file of which nothing can be read', () => {
  it.each([
    ['version-4010.837', 'x12-version-unsupported'],
    ['utf-16le.837', 'unsupported-encoding'],
  ])('%s exits 2, names the reason on stderr and gives the problem record', async (name, code) => {
    const run = await scrub(['check', '--format', 'json', `${variants}/${name}`]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`cannot read ${variants}/${name}:`);
    expect(JSON.parse(run.stdout)).toEqual([{ problem: expect.objectContaining({ code, file: `${variants}/${name}` }) }]);
  });
});

describe('a file whose only problem is a warning', () => {
  it('exits as its claims do: a wrapped file whose claim passes exits 0', async () => {
    const flat = readFileSync('test/fixtures/x12/837p/demo.example8.837', 'utf8').replace(/\n/g, '');
    const file = path.join(dir, 'wrapped.837');
    writeFileSync(file, flat.match(/.{1,80}/g)!.join('\n') + '\n');
    const run = await scrub(['check', '--format', 'ndjson', '--as-of', '2026-01-01', file]);
    expect(lines(run.stdout).map((r) => r.problem?.code ?? r.outcome)).toEqual(['x12-wrapped-lines', 'pass']);
    expect(run.stderr).toContain('warning: The file is wrapped into lines of 80 characters');
    expect(run.code).toBe(0);
  });
});
