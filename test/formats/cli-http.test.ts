import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { readSchema, strictAjv } from '../../src/claim/schema.js';
import { buildApp } from '../../src/http/app.js';
import { scrub } from '../cli/run-cli.js';
import { bundledScrubber, fixture } from './support.js';

const validResult = strictAjv().compile(readSchema('scrub-result.schema.json'));

describe('scrub check on claim files of any format', () => {
  it('tells X12 from the content and shows where each finding is in the file', async () => {
    const run = await scrub(['check', 'test/fixtures/x12/837p/demo.cob.example3.A.837']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('ST 0021 claim 26407789');
    expect(run.stdout).toContain('in the file: 2010AA NM1-09 (segment 9, byte 348)');
  });

  it('prints X12 results with their sources, valid against the result schema, with --format json', async () => {
    const run = await scrub(['check', '--format', 'json', 'test/fixtures/x12/837i/two-claims-single-provider.837i', 'test/fixtures/fhir/Claim-MED-00050.json']);
    const results = JSON.parse(run.stdout) as unknown[];
    expect(results).toHaveLength(3);
    for (const r of results) expect(validResult(r), JSON.stringify(validResult.errors)).toBe(true);
    expect(results[2]).toMatchObject({ claimId: 'MED-00050', findings: expect.arrayContaining([expect.objectContaining({ source: { format: 'fhir', expression: 'Claim.provider' } })]) });
  });

  it('reads X12 from standard input', async () => {
    const run = await scrub(['check', '--format', 'ndjson', '-'], { stdin: fixture('x12/837p/demo.example8.837') });
    expect(JSON.parse(run.stdout)).toMatchObject({ claimId: 'SMI123', outcome: 'pass' });
    expect(run.code).toBe(0);
  });

  it('exits 2 and says why when an X12 file holds no claim', async () => {
    const run = await scrub(['check', '-'], { stdin: fixture('x12/837p/demo.example1.837').replace('ST*837*0021*005010X222A2', 'ST*835*0021*005010X221A1') });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('not an 837 claim');
  });

  it('scrubs the claims it can read, reports the part it cannot as a problem record in its place, and exits 1', async () => {
    const good = fixture('x12/837p/demo.example8.837');
    const remittance = fixture('x12/837p/demo.example1.837').replace('ST*837*0021*005010X222A2', 'ST*835*0021*005010X221A1');
    const run = await scrub(['check', '--format', 'ndjson', '-'], { stdin: remittance + '\n' + good });
    const records = run.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(records).toMatchObject([
      { problem: { file: 'stdin', code: 'x12-not-a-claim', severity: 'error', claims: 0, position: { format: 'x12', segment: 'ST', position: 3, element: 'ST-01' } } },
      { claimId: 'SMI123', outcome: 'pass' },
    ]);
    expect(records[0]).not.toHaveProperty('claimId');
    expect(run.stderr).toContain('not an 837 claim');
    expect(run.code).toBe(1);
  });
});

describe('POST /v1/scrub with X12 and FHIR bodies', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    const scrubber = await bundledScrubber();
    app = await buildApp({ scrubber: () => scrubber });
  });
  afterAll(() => app.close());

  const post = (payload: string, contentType: string) =>
    app.inject({ method: 'POST', url: '/v1/scrub?asOf=2026-01-01', payload, headers: { 'content-type': contentType } });

  it('scrubs a one-claim 837 sent as application/edi-x12, with X12 sources', async () => {
    const res = await post(fixture('x12/837p/demo.cob.example3.A.837'), 'application/edi-x12');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(validResult(body)).toBe(true);
    expect(body.claimId).toBe('26407789');
    expect(body.findings).toContainEqual(
      expect.objectContaining({ path: '/lines/2/ndc', source: { format: 'x12', segment: 'SV1', position: 51, offset: 1288, loop: '2400' } }),
    );
  });

  it('accepts a charset parameter on the content type', async () => {
    const res = await post(fixture('x12/837p/demo.example8.837'), 'application/edi-x12; charset=utf-8');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ claimId: 'SMI123', outcome: 'pass' });
  });

  it('scrubs a FHIR Claim sent as application/fhir+json, with FHIRPath sources', async () => {
    const res = await post(fixture('fhir/Claim-MED-00050.json'), 'application/fhir+json');
    expect(res.statusCode).toBe(200);
    expect(res.json().findings).toContainEqual(
      expect.objectContaining({ path: '/lines/0/revenueCode', source: { format: 'fhir', expression: 'Claim.item[0].revenue' } }),
    );
  });

  it('reads a FHIR Claim sent as plain application/json as FHIR', async () => {
    const res = await post(fixture('fhir/Claim-MED-00050.json'), 'application/json');
    expect(res.statusCode).toBe(200);
    expect(res.json().claimId).toBe('MED-00050');
  });

  it('refuses a body with several claims with 400 multiple-claims, naming them', async () => {
    const res = await post(fixture('x12/837i/two-claims-single-provider.837i'), 'application/edi-x12');
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ code: 'multiple-claims', claims: ['ST 987654 claim 756048Q', 'ST 987654 claim 756049Q'] });
  });

  it('refuses an unreadable X12 body with 400 unreadable-claims, naming the segment', async () => {
    const res = await post('ISA*00*short~', 'application/edi-x12');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'unreadable-claims', problems: [{ code: 'x12-isa-unreadable', position: { segment: 'ISA', position: 1 } }] });
  });

  it('refuses FHIR JSON with a prototype key, like any JSON body', async () => {
    const res = await post('{"resourceType":"Claim","__proto__":{"x":1}}', 'application/fhir+json');
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('unreadable-claims');
  });

  it('still answers other content types with 415', async () => {
    const res = await post('hello', 'text/csv');
    expect(res.statusCode).toBe(415);
    expect(res.json().detail).toContain('application/edi-x12');
  });
});
