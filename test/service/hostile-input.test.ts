import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleClaim } from '../helpers.js';
import { request, startServer, streamBatch, type HttpAnswer, type RunningServer } from './server.js';

/**
 * Malformed and hostile requests against the real service: each gets the documented answer,
 * and the service keeps serving after every one.
 */

let server: RunningServer;
beforeAll(async () => {
  server = await startServer({ env: { LOG_LEVEL: 'warn' } });
});
afterAll(() => server?.stop());

const JSON_TYPE = { 'content-type': 'application/json' };
const clean = exampleClaim('clean.json') as { lines: Array<Record<string, unknown>> };

async function expectStillServing(): Promise<void> {
  const health = await request(server.url, { path: '/healthz' });
  expect(health.status).toBe(200);
  const scrub = await request(server.url, { path: '/v1/scrub', headers: JSON_TYPE, body: JSON.stringify(clean) });
  expect(scrub.status).toBe(200);
  expect(scrub.json()).toMatchObject({ claimId: 'C-1001', outcome: 'pass' });
}

function expectProblem(answer: HttpAnswer, status: number, code: string): void {
  expect(answer.status).toBe(status);
  expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(answer.json()).toMatchObject({ status, code });
}

const manyLines = JSON.stringify({
  ...clean,
  lines: Array.from({ length: 10_000 }, () => ({ procedureCode: '99213', units: 1, charge: 1, serviceDate: '2026-01-01', diagnosisPointers: [1] })),
});

const hostileBodies: Array<[string, string | Buffer, number, string]> = [
  ['truncated JSON', JSON.stringify(clean).slice(0, 200), 400, 'invalid-json'],
  ['bytes that are not UTF-8', Buffer.concat([Buffer.from('{"claimId":"'), Buffer.from([0xff, 0xfe, 0xc3, 0x28]), Buffer.from('"}')]), 400, 'invalid-json'],
  ['a 10,000-deep array', '['.repeat(10_000) + ']'.repeat(10_000), 400, 'too-deep'],
  ['a __proto__ key', '{"claimId":"A","__proto__":{"isAdmin":true}}', 400, 'forbidden-key'],
  ['an escaped __proto__ key', '{"claimId":"A","\\u005f_proto__":{"isAdmin":true}}', 400, 'forbidden-key'],
  ['a constructor.prototype key', '{"claimId":"A","constructor":{"prototype":{"isAdmin":true}}}', 400, 'forbidden-key'],
  ['an empty body', '', 400, 'empty-body'],
];

describe('POST /v1/scrub with hostile bodies', () => {
  it.each(hostileBodies.map(([what, body, status, code]) => ({ what, body, status, code })))('answers $what with $status $code and keeps serving', async ({ body, status, code }) => {
    const answer = await request(server.url, { path: '/v1/scrub', headers: JSON_TYPE, body });
    expectProblem(answer, status, code);
    await expectStillServing();
  });

  it.each([
    ['with its length given', true],
    ['chunked, no length given', false],
  ])('answers a 50 MB body (%s) with 413 body-too-large before it is all sent, and keeps serving', async (_how, withLength) => {
    const { answer, bytesSent } = await sendLargeBody(server.url, '/v1/scrub', 50 * 1024 * 1024, withLength);
    expectProblem(answer, 413, 'body-too-large');
    expect(bytesSent).toBeLessThan(50 * 1024 * 1024);
    await expectStillServing();
  });

  it('answers a claim with 10,000 lines with 200 and one structure finding, at once', async () => {
    expect(manyLines.length).toBeLessThan(1024 * 1024);
    const answer = await request(server.url, { path: '/v1/scrub', headers: JSON_TYPE, body: manyLines });
    expect(answer.status).toBe(200);
    expect(answer.json().findings).toEqual([expect.objectContaining({ ruleId: 'wrong-count', category: 'structure', path: '/lines' })]);
    await expectStillServing();
  });

  it('answers a body that is not JSON by type with 415', async () => {
    expectProblem(await request(server.url, { path: '/v1/scrub', headers: { 'content-type': 'text/xml' }, body: '<claim/>' }), 415, 'unsupported-media-type');
    await expectStillServing();
  });

  it('answers headers over the size limit with 431 problem+json', async () => {
    const answer = await request(server.url, { path: '/healthz', headers: { 'x-padding': 'x'.repeat(64 * 1024) } });
    expectProblem(answer, 431, 'headers-too-large');
    await expectStillServing();
  });

  it('answers bytes that are not HTTP with 400 problem+json', async () => {
    const reply = await new Promise<string>((resolve) => {
      const socket = net.connect(server.port, '127.0.0.1', () => socket.end('HELLO \u0000 THERE\r\n\r\n'));
      const parts: Buffer[] = [];
      socket.on('data', (c: Buffer) => parts.push(c));
      socket.on('close', () => resolve(Buffer.concat(parts).toString()));
      socket.on('error', () => resolve(Buffer.concat(parts).toString()));
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    expect(reply).toContain('"code":"bad-request"');
    await expectStillServing();
  });
});

describe('POST /v1/scrub/batch with hostile lines', () => {
  it('answers each bad line with a structure finding naming the line, and scrubs the lines around it', async () => {
    const lines = [
      JSON.stringify({ ...clean, claimId: 'B-1' }),
      JSON.stringify(clean).slice(0, 120),
      '{"claimId":"B-3","__proto__":{"isAdmin":true}}',
      '['.repeat(10_000) + ']'.repeat(10_000),
      manyLines,
      'x'.repeat(2 * 1024 * 1024),
      JSON.stringify({ ...clean, claimId: 'B-7' }),
    ];
    const results: Array<{ claimId: string | null; findings: Array<{ ruleId: string; details: Record<string, unknown>; message: string }> }> = [];
    const run = await streamBatch(server.url, lines.length, (i) => lines[i]!, { onResult: (text) => results.push(JSON.parse(text)) });
    expect(run.status).toBe(200);
    expect(results.map((r) => r.claimId)).toEqual(['B-1', null, null, null, 'C-1001', null, 'B-7']);
    // The clean claims' one finding: the tables with no edition for their date (info).
    expect(results.map((r) => r.findings[0]?.ruleId)).toEqual(['table-edition-missing', 'invalid-json', 'forbidden-key', 'too-deep', 'wrong-count', 'line-too-long', 'table-edition-missing']);
    expect(results[1]!.findings[0]).toMatchObject({ message: expect.stringMatching(/^Line 2 is not valid JSON/), details: { line: 2 } });
    expect(results[5]!.findings[0]).toMatchObject({ details: { line: 6 } });
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    await expectStillServing();
  });

  it('gives a line that is not UTF-8 a structure finding', async () => {
    const answer = await request(server.url, {
      path: '/v1/scrub/batch',
      headers: { 'content-type': 'application/x-ndjson' },
      body: Buffer.concat([Buffer.from('{"claimId":"'), Buffer.from([0xff]), Buffer.from('"}\n')]),
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text.trim()).findings[0]).toMatchObject({ ruleId: 'invalid-json', message: 'Line 1 is not valid UTF-8 text.' });
    await expectStillServing();
  });
});

/**
 * Sends a large body the way a careful client does: a chunk at a time, waiting for the socket
 * to drain, and stopping as soon as the answer arrives (the server may answer and close early).
 */
function sendLargeBody(url: string, path: string, total: number, withLength: boolean): Promise<{ answer: HttpAnswer; bytesSent: number }> {
  return new Promise((resolve, reject) => {
    let bytesSent = 0;
    let answered = false;
    const headers: Record<string, string> = { 'content-type': 'application/json', ...(withLength ? { 'content-length': String(total) } : {}) };
    const req = http.request(new URL(path, url), { method: 'POST', headers, agent: false }, (res) => {
      answered = true;
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        const body = Buffer.concat(parts);
        resolve({ answer: { status: res.statusCode!, headers: res.headers, body, text: body.toString(), json: () => JSON.parse(body.toString()) }, bytesSent });
      });
    });
    // Writing after the server has answered and closed fails; the answer is what counts.
    const started = performance.now();
    req.on('error', (err) => {
      if (!answered) reject(new Error(`${err.message} after ${bytesSent} bytes, ${Math.round(performance.now() - started)} ms, with no answer`));
    });
    const chunk = Buffer.alloc(256 * 1024, 0x20);
    chunk.write('{"claimId":"BIG","extensions":{"x":"');
    const pump = () => {
      while (!answered && !req.destroyed && bytesSent < total) {
        bytesSent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!answered && !req.destroyed) req.end();
    };
    pump();
  });
}
