import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { ScrubOptions } from '../../src/engine/scrubber.js';
import { buildApp } from '../../src/http/app.js';
import { scrub as runScrub } from '../cli/run-cli.js';
import { bundledScrubber, exampleClaim } from '../helpers.js';
import { generateClaims } from '../support/generate-claims.js';

let app: FastifyInstance;
beforeAll(async () => {
  const scrubber = await bundledScrubber();
  app = await buildApp({ scrubber: () => scrubber, config: { batch: { maxClaims: 5, maxJsonClaims: 3, jsonBodyLimit: 64 * 1024 } } });
});
afterAll(() => app.close());

const ndjson = (payload: string | Buffer, url = '/v1/scrub/batch?asOf=2026-06-01') =>
  app.inject({ method: 'POST', url, headers: { 'content-type': 'application/x-ndjson' }, payload });
const resultLines = (body: string) => body.split('\n').filter((l) => l !== '');

describe('POST /v1/scrub/batch with NDJSON', () => {
  it('answers one result line per claim line, in input order, skipping blank lines', async () => {
    const claims = generateClaims(4, { seed: 11 });
    const res = await ndjson(claims.map((c) => JSON.stringify(c)).join('\n\n') + '\n');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    expect(resultLines(res.body).map((l) => JSON.parse(l).claimId)).toEqual(claims.map((c) => c.claimId));
  });

  it('gives each claim the same bytes POST /v1/scrub gives it, with the line it came from after its claimId', async () => {
    const claims = generateClaims(4, { seed: 12, problemRate: 0.9 });
    const res = await ndjson(claims.map((c) => JSON.stringify(c)).join('\n'));
    const singles = await Promise.all(
      claims.map(async (c) => (await app.inject({ method: 'POST', url: '/v1/scrub?asOf=2026-06-01', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(c) })).body),
    );
    expect(resultLines(res.body)).toEqual(singles.map((single, i) => single.replace(/^\{"claimId":"[^"]*",/, (head) => `${head}"inputLine":${i + 1},`)));
  });

  it('numbers every result with its input line: blank lines count, and each claim of a FHIR line carries that line', async () => {
    const { readFile } = await import('node:fs/promises');
    const bundle = JSON.parse(await readFile('examples/claims/modifier-problems.fhir.json', 'utf8')) as { entry: Array<{ resource: { resourceType: string; id?: string } }> };
    // The bundle twice over: one NDJSON line that yields two claims.
    const twoClaims = JSON.stringify({ ...bundle, entry: [...bundle.entry, ...bundle.entry.map((e) => (e.resource.resourceType === 'Claim' ? { ...e, resource: { ...e.resource, id: 'second' } } : e))] });
    const clean = (id: string) => JSON.stringify({ ...exampleClaim('clean.json'), claimId: id });
    const res = await ndjson(['', clean('A'), '', '  ', clean('B'), twoClaims, '{"claimId": "cut', clean('C')].join('\n'));
    const results = resultLines(res.body).map((l) => JSON.parse(l));
    expect(results.map((r) => [r.inputLine, r.claimId])).toEqual([
      [2, 'A'],
      [5, 'B'],
      [6, 'C-3001'],
      [6, 'C-3001'],
      [7, null],
      [8, 'C'],
    ]);
    // The app takes 5 claims a batch: the sixth is refused, and its result too names the line.
    expect(results[5].findings[0]).toMatchObject({ ruleId: 'batch-limit', details: { line: 8 } });
  });

  it('gives the same lines as scrub check --format ndjson for the same file', async () => {
    const res = await ndjson(await (await import('node:fs/promises')).readFile('examples/claims/batch.ndjson'));
    const cli = await runScrub(['check', '--format', 'ndjson', '--as-of', '2026-06-01', 'examples/claims/batch.ndjson']);
    expect(res.body).toBe(cli.stdout);
  });

  it('answers a line that is not a claim with a structure finding naming the line, and goes on', async () => {
    const clean = JSON.stringify(exampleClaim('clean.json'));
    const res = await ndjson([clean, '{"claimId": "cut', '"just text"', '{"constructor":{"prototype":{}}}', clean].join('\n'));
    const results = resultLines(res.body).map((l) => JSON.parse(l));
    expect(results.map((r) => r.findings[0]?.ruleId)).toEqual(['table-edition-missing', 'invalid-json', 'wrong-type', 'forbidden-key', 'table-edition-missing']);
    expect(results[1].findings[0]).toMatchObject({ category: 'structure', severity: 'error', details: { line: 2 }, message: expect.stringMatching(/^Line 2 is not valid JSON/) });
    expect(results[3].findings[0]).toMatchObject({ details: { line: 4 } });
    expect(results.map((r) => r.outcome)).toEqual(['pass', 'fail', 'fail', 'fail', 'pass']);
  });

  it('is not held to the body limit: each line is', async () => {
    const scrubber = await bundledScrubber();
    const small = await buildApp({ scrubber: () => scrubber, bodyLimit: 4096, config: { batch: { maxClaims: 100, maxJsonClaims: 3, jsonBodyLimit: 4096 } } });
    const line = JSON.stringify(exampleClaim('clean.json'));
    const res = await small.inject({ method: 'POST', url: '/v1/scrub/batch', headers: { 'content-type': 'application/x-ndjson' }, payload: Array(20).fill(line).join('\n') + '\n' + JSON.stringify({ claimId: 'L', extensions: { x: 'y'.repeat(5000) } }) });
    expect(Buffer.byteLength(res.payload)).toBeGreaterThan(4096);
    const results = resultLines(res.body).map((l) => JSON.parse(l));
    expect(results).toHaveLength(21);
    expect(results[20].findings[0]).toMatchObject({ ruleId: 'line-too-long', message: 'Line 21 is longer than the limit of 4096 bytes, so it was not read.' });
    await small.close();
  });

  it('ends the stream with a batch-limit result after the most claims a batch may hold', async () => {
    const line = JSON.stringify(exampleClaim('clean.json'));
    const res = await ndjson(Array(8).fill(line).join('\n'));
    const results = resultLines(res.body).map((l) => JSON.parse(l));
    expect(results).toHaveLength(6);
    expect(results[5].findings).toEqual([
      expect.objectContaining({ ruleId: 'batch-limit', category: 'structure', details: { line: 6 }, message: expect.stringContaining('at most 5 claims') }),
    ]);
  });

  it('reads a line holding a FHIR resource (bulk data) as the claims in it', async () => {
    const { readFile } = await import('node:fs/promises');
    const bundle = JSON.stringify(JSON.parse(await readFile('examples/claims/modifier-problems.fhir.json', 'utf8')));
    const res = await ndjson(`${JSON.stringify(exampleClaim('clean.json'))}\n${bundle}\n`);
    const results = resultLines(res.body).map((l) => JSON.parse(l));
    expect(results.map((r) => r.claimId)).toEqual(['C-1001', 'C-3001']);
    expect(results[1].findings.find((f: { ruleId: string }) => f.ruleId === 'lt-rt-same-line').source).toMatchObject({ format: 'fhir' });
  });

  it('scrubs with the query options, like POST /v1/scrub', async () => {
    const res = await ndjson(JSON.stringify(exampleClaim('clean.json')), '/v1/scrub/batch?explain=true&asOf=2026-03-02');
    expect(JSON.parse(resultLines(res.body)[0]!).explain.length).toBeGreaterThan(0);
    expect((await ndjson('{}', '/v1/scrub/batch?asOf=tomorrow')).json()).toMatchObject({ code: 'invalid-request' });
  });
});

describe('POST /v1/scrub/batch with a JSON array', () => {
  const postJson = (payload: string) => app.inject({ method: 'POST', url: '/v1/scrub/batch', headers: { 'content-type': 'application/json' }, payload });

  it('answers the array of results, in order', async () => {
    const claims = generateClaims(3, { seed: 13 });
    const res = await postJson(JSON.stringify(claims));
    expect(res.statusCode).toBe(200);
    expect(res.json().map((r: { claimId: string }) => r.claimId)).toEqual(claims.map((c) => c.claimId));
  });

  it('refuses more claims than allowed with 413 batch-too-large', async () => {
    const res = await postJson(JSON.stringify(generateClaims(4, { seed: 14 })));
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ code: 'batch-too-large', maxClaims: 3 });
  });

  it('refuses a body that is not an array with 400 batch-not-array', async () => {
    expect((await postJson(JSON.stringify(exampleClaim('clean.json')))).json()).toMatchObject({ code: 'batch-not-array' });
  });

  it('refuses a JSON body over its limit with 413 body-too-large', async () => {
    expect((await postJson(JSON.stringify([{ claimId: 'x', extensions: { pad: 'p'.repeat(70 * 1024) } }]))).json()).toMatchObject({ code: 'body-too-large' });
  });

  it('scrubs every claim of an X12 file, each result saying where its findings are in the file', async () => {
    const { readFile } = await import('node:fs/promises');
    const x12 = await readFile('examples/claims/modifier-problems.837', 'utf8');
    const twice = x12 + x12.replace(/000000001/g, '000000002');
    const res = await app.inject({ method: 'POST', url: '/v1/scrub/batch?asOf=2026-06-01', headers: { 'content-type': 'application/edi-x12' }, payload: twice });
    expect(res.statusCode).toBe(200);
    const results = res.json() as Array<{ claimId: string; findings: Array<{ ruleId: string; source?: { format: string } }> }>;
    expect(results.map((r) => r.claimId)).toEqual(['C-3001', 'C-3001']);
    const single = await app.inject({ method: 'POST', url: '/v1/scrub?asOf=2026-06-01', headers: { 'content-type': 'application/edi-x12' }, payload: x12 });
    expect(JSON.stringify(results[0])).toBe(single.body);
    expect(results[0]!.findings.find((f) => f.ruleId === 'lt-rt-same-line')?.source).toMatchObject({ format: 'x12' });
  });

  it('refuses an X12 body with no claim in it with 400 unreadable-claims', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/scrub/batch', headers: { 'content-type': 'application/edi-x12' }, payload: 'ISA*garbage~' });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('unreadable-claims');
  });

  it('refuses other content types with 415', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/scrub/batch', headers: { 'content-type': 'text/csv' }, payload: 'a,b' });
    expect(res.statusCode).toBe(415);
    expect(res.json().code).toBe('unsupported-media-type');
  });
});

describe('a claim the scrubber fails on, in a batch', () => {
  it('gets a scrub-failed result in its place, and the batch goes on', async () => {
    const real = await bundledScrubber();
    // The same scrubber, with a bug that strikes claim B only.
    const failing = Object.create(real) as typeof real;
    failing.scrub = (async (input: unknown, options?: ScrubOptions) => {
      // A bug whose message quotes the claim: the log must get the frames, not the message.
      if ((input as { claimId?: string }).claimId === 'B') throw new Error('a bug near patient Zebediah Quillfeather');
      return real.scrub(input, options);
    }) as typeof real.scrub;
    const logs: string[] = [];
    const small = await buildApp({ scrubber: () => failing, logger: { level: 'info', stream: { write: (line: string) => void logs.push(line) } } });
    const res = await small.inject({ method: 'POST', url: '/v1/scrub/batch', headers: { 'content-type': 'application/x-ndjson' }, payload: ['A', 'B', 'C'].map((id) => JSON.stringify({ ...exampleClaim('clean.json'), claimId: id })).join('\n') });
    const results = resultLines(res.body).map((l) => JSON.parse(l));
    expect(results.map((r) => r.outcome)).toEqual(['pass', 'fail', 'pass']);
    expect(results[1].findings[0]).toMatchObject({ ruleId: 'scrub-failed', category: 'structure', details: { line: 2 } });
    // The claim could be read, so its result names it, and the line it came from.
    expect(results[1]).toMatchObject({ claimId: 'B', inputLine: 2 });
    const failure = logs.find((l) => l.includes('claim in batch failed'));
    expect(JSON.parse(failure!)).toMatchObject({ level: 50, line: 2, err: { type: 'Error', frames: expect.arrayContaining([expect.stringMatching(/^at /)]) } });
    expect(logs.join('')).not.toContain('Zebediah');
    await small.close();
  });
});

describe('a batch the client gives up on', () => {
  it('still writes its access-log line, which says the request was cut and how far it got', async () => {
    const http = await import('node:http');
    const logs: string[] = [];
    const scrubber = await bundledScrubber();
    const served = await buildApp({ scrubber: () => scrubber, logger: { level: 'info', stream: { write: (line: string) => void logs.push(line) } } });
    const address = await served.listen({ port: 0, host: '127.0.0.1' });
    try {
      const line = JSON.stringify(exampleClaim('clean.json')) + '\n';
      const req = http.request(new URL('/v1/scrub/batch', address), { method: 'POST', headers: { 'content-type': 'application/x-ndjson', 'x-request-id': 'given-up-1' } });
      req.on('error', () => undefined);
      const firstResult = new Promise<void>((resolve) => req.on('response', (res) => res.once('data', () => resolve())));
      req.write(line.repeat(5));
      await firstResult;
      req.destroy();
      const entries = () => logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.reqId === 'given-up-1');
      const until = performance.now() + 10_000;
      while (!entries().some((e) => e.msg === 'request cut short: the connection closed before the answer ended')) {
        if (performance.now() > until) throw new Error(`no access-log line for the cut batch:\n${logs.join("")}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(entries()).toContainEqual(expect.objectContaining({ msg: 'request cut short: the connection closed before the answer ended', url: '/v1/scrub/batch', aborted: true, claims: expect.any(Number) }));
      expect(entries()).toContainEqual(expect.objectContaining({ msg: 'batch scrubbed', aborted: true }));
      expect(entries().filter((e) => e.msg === 'request completed')).toEqual([]);
    } finally {
      await served.close();
    }
  });
});
