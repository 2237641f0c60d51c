import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/app.js';
import { bundledScrubber, exampleClaim } from '../helpers.js';

let app: FastifyInstance;
beforeAll(async () => {
  const scrubber = await bundledScrubber();
  app = await buildApp({ scrubber: () => scrubber });
});
afterAll(() => app.close());

const post = (payload: string | object, contentType = 'application/json', url = '/v1/scrub') =>
  app.inject({ method: 'POST', url, payload: typeof payload === 'string' ? payload : JSON.stringify(payload), headers: { 'content-type': contentType } });

describe('POST /v1/scrub', () => {
  it('returns the ScrubResult of a clean claim with 200', async () => {
    const res = await post(exampleClaim('clean.json'));
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    // Clean: no error or warning. The bundled NCCI PTP and MUE excerpts cover 2026 Q3, the add-on code
    // edits 2026 Q2, the fee schedule October to December 2025, and the MCE
    // lists FY2020, so one info finding says those tables gave no verdict on 2026-02-20.
    expect(res.json()).toMatchObject({ claimId: 'C-1001', outcome: 'pass', summary: { errors: 0, warnings: 0, infos: 1 } });
    expect(res.json().findings).toEqual([
      expect.objectContaining({ ruleId: 'table-edition-missing', severity: 'info', details: { tables: ['aoc', 'mce', 'mpfs', 'mue', 'ptp'], dates: ['2026-02-20'], missing: expect.any(Array) } }),
    ]);
    expect(res.json().packs.map((p: { name: string }) => p.name)).toEqual(['cms-add-on-codes', 'cms-mce', 'cms-mpfs', 'cms-mue', 'cms-ncci-ptp', 'code-sets', 'completeness', 'core', 'documentation', 'drug', 'history', 'lab', 'medicare-part-b', 'modifiers', 'payer-policy', 'telehealth']);
  });

  it('returns 200 with a fail outcome for a claim with errors', async () => {
    const claim = exampleClaim('clean.json') as { lines: Array<{ modifiers: string[] }> };
    claim.lines[1]!.modifiers = ['LT', 'RT'];
    const res = await post(claim);
    expect(res.statusCode).toBe(200);
    expect(res.json().outcome).toBe('fail');
    expect(res.json().findings).toContainEqual(expect.objectContaining({ ruleId: 'lt-rt-same-line', lines: [2], path: '/lines/1/modifiers' }));
  });

  it('answers a claim missing required fields with structure findings and runs no rule', async () => {
    const res = await post({ claimId: 'X-1', claimType: 'professional' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.outcome).toBe('fail');
    expect(body.findings.every((f: { category: string }) => f.category === 'structure')).toBe(true);
    expect(body.findings.map((f: { path: string }) => f.path)).toEqual(
      expect.arrayContaining(['/payer', '/billingProvider', '/patient', '/diagnoses', '/lines']),
    );
    expect(body.packs).toEqual([]);
  });

  it('gives the same bytes for the same claim every time', async () => {
    const claim = exampleClaim('modifier-problems.json');
    const first = (await post(claim)).body;
    for (let i = 0; i < 5; i++) expect((await post(claim)).body).toBe(first);
  });

  it('explains each rule that applied when asked', async () => {
    const res = await post(exampleClaim('clean.json'), 'application/json', '/v1/scrub?explain=true&asOf=2026-03-02');
    const body = res.json();
    expect(body.explain.length).toBeGreaterThan(0);
    expect(body.explain).toContainEqual(expect.objectContaining({ ruleId: 'lt-rt-same-line', target: 'line 1', fired: false }));
  });

  const problems: Array<[string, string | object, string, number, string]> = [
    ['malformed JSON', '{"claimId": ', 'application/json', 400, 'invalid-json'],
    ['an empty body', '', 'application/json', 400, 'empty-body'],
    ['a JSON array', '[{"claimId":"A"}]', 'application/json', 400, 'claim-not-object'],
    ['a JSON string', '"hello"', 'application/json', 400, 'claim-not-object'],
    ['a __proto__ key', '{"claimId":"A","__proto__":{"polluted":true}}', 'application/json', 400, 'forbidden-key'],
    ['a constructor key', '{"constructor":{"prototype":{"x":1}}}', 'application/json', 400, 'forbidden-key'],
    ['a 1,000-deep array', '['.repeat(1000) + ']'.repeat(1000), 'application/json', 400, 'too-deep'],
    ['a plain-text body that holds no claim (read by its content)', 'claimId=A', 'text/plain', 400, 'unreadable-claims'],
    ['a form body', 'claimId=A', 'application/x-www-form-urlencoded', 415, 'unsupported-media-type'],
    ['a bad explain flag', '{}', 'application/json', 400, 'invalid-request'],
  ];
  it.each(problems)('refuses %s with problem+json', async (_what, payload, type, status, code) => {
    const url = code === 'invalid-request' ? '/v1/scrub?explain=yes' : '/v1/scrub';
    const res = await post(payload, type, url);
    expect(res.statusCode).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ status, code, type: `urn:claim-scrubber:problem:${code}` });
    expect(res.json().detail).toEqual(expect.any(String));
  });

  it('refuses a body over the limit with 413', async () => {
    const big = JSON.stringify({ claimId: 'A', extensions: { padding: 'x'.repeat(2 * 1024 * 1024) } });
    const res = await post(big);
    expect(res.statusCode).toBe(413);
    expect(res.json().code).toBe('body-too-large');
  });

  it('does not pollute Object.prototype', async () => {
    await post('{"claimId":"A","__proto__":{"polluted":true}}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('keeps serving after every refusal', async () => {
    expect((await post(exampleClaim('clean.json'))).statusCode).toBe(200);
  });
});

describe('GET /v1/packs', () => {
  it('lists the loaded packs with versions and their rules', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/packs' });
    expect(res.statusCode).toBe(200);
    const core = res.json().packs.find((p: { name: string }) => p.name === 'core');
    expect(core).toMatchObject({ version: '1.1.0', title: expect.any(String) });
    expect(core.rules).toContainEqual(expect.objectContaining({ id: 'billing-npi-invalid', category: 'provider', severity: 'error', scope: 'claim' }));
    expect(core.tables).toEqual([]);
  });

  it('lists each pack\'s tables with their editions, the dates each covers, the rows they took and how current they are', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/packs' });
    const ptp = res.json().packs.find((p: { name: string }) => p.name === 'cms-ncci-ptp');
    const today = new Date().toISOString().slice(0, 10);
    const daysLeft = Math.round((Date.parse('2026-09-30') - Date.parse(today)) / 86_400_000);
    expect(ptp.tables).toEqual([
      {
        name: 'ptp',
        format: 'ncci-ptp',
        title: 'NCCI procedure-to-procedure edit table',
        edition: 'NCCI PTP practitioner v32.2 (2026 Q3)',
        complete: false,
        covers: { from: '2026-07-01', to: '2026-09-30' },
        files: ['tables/ccipra-v322r0-f1.excerpt.txt'],
        source: 'pack',
        rowsTaken: 155,
        rowsSkipped: 0,
        rowsIgnored: 0,
        editions: [
          { edition: 'NCCI PTP practitioner v32.2 (2026 Q3)', complete: false, rows: 155, rowsSkipped: 0, files: ['tables/ccipra-v322r0-f1.excerpt.txt'], covers: { from: '2026-07-01', to: '2026-09-30' } },
        ],
        coverageEnds: '2026-09-30',
        daysLeft,
        stale: daysLeft < 0,
      },
    ]);
    const codeSets = res.json().packs.find((p: { name: string }) => p.name === 'code-sets');
    expect(codeSets.tables.map((t: { name: string }) => t.name)).toEqual(['icd10cm', 'hcpcs', 'pos']);
    expect(codeSets.tables[1]).toMatchObject({ complete: true, edition: 'HCPCS Level II January 2026', covers: { from: '2026-01-01', to: '2026-03-31' }, rowsTaken: 9006 });
  });
});

describe('GET /healthz', () => {
  it('answers ok', async () => {
    const res = await app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });
});

describe('an unknown route', () => {
  it('is a 404 problem with a request id', async () => {
    const res = await app.inject({ method: 'GET', url: '/v2/nothing' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'not-found', requestId: res.headers['x-request-id'] });
  });
});
