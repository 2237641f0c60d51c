import { createReadStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { readSchema, strictAjv } from '../../src/claim/schema.js';
import { openArrivingClaims } from '../../src/formats/index.js';
import { STREAM_WINDOW_CLAIMS } from '../../src/formats/x12/read.js';
import { generate837Text } from '../support/generate-837.js';
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
    const good = readFileSync('test/fixtures/x12/837p/demo.drug.example10.1.837', 'utf8');
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

describe('a file larger than the window the X12 reader holds back', () => {
  it('writes each result and problem where the reader places them, though its claims are scrubbed as they are read', async () => {
    const { text, claims } = await generate837Text(3_400_000, 1_000);
    expect(claims).toBeGreaterThan(STREAM_WINDOW_CLAIMS);
    // The GE is missing (reported at the GS, before every claim, once the file ends) and the IEA miscounts.
    const file = path.join(dir, 'large-broken-envelope.837');
    writeFileSync(file, text.replace(/GE\*[^~]*~/, '').replace(/IEA\*1\*/, 'IEA*2*'));
    const expected: string[] = [];
    // The order the reader gives, read in the chunks scrub check reads it in (1 MiB).
    const read = await openArrivingClaims(createReadStream(file, { highWaterMark: 1 << 20 }), { filename: file });
    for await (const record of read.records) expected.push(record.kind === 'problem' ? record.problem.code : (record.kind === 'claim' ? (record.input as { claimId: string }).claimId : record.kind));
    const run = await scrub(['check', '--format', 'ndjson', '--as-of', '2026-01-01', file]);
    expect(run.code).toBe(1);
    const written = lines(run.stdout).map((r) => (r.problem ? r.problem.code : r.claimId));
    expect(written).toEqual(expected);
    // The missing GE goes after the claims the reader had let go when the file ended, not first.
    expect(written.indexOf('x12-ge-missing')).toBeGreaterThan(0);
    expect(written.slice(written.indexOf('x12-ge-missing')).filter((c) => c.startsWith('C')).length).toBeGreaterThanOrEqual(STREAM_WINDOW_CLAIMS);
  }, 120_000);
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
    const flat = readFileSync('test/fixtures/x12/837p/demo.drug.example10.1.837', 'utf8').replace(/\n/g, '');
    const file = path.join(dir, 'wrapped.837');
    writeFileSync(file, flat.match(/.{1,80}/g)!.join('\n') + '\n');
    const run = await scrub(['check', '--format', 'ndjson', '--as-of', '2026-01-01', file]);
    expect(lines(run.stdout).map((r) => r.problem?.code ?? r.outcome)).toEqual(['x12-wrapped-lines', 'pass']);
    expect(run.stderr).toContain('warning: The file is wrapped into lines of 80 characters');
    expect(run.code).toBe(0);
  });
});
