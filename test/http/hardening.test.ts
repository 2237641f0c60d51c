import net from 'node:net';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey, parseApiKeys } from '../../src/http/api-keys.js';
import { buildApp } from '../../src/http/app.js';
import { clientErrorHandler } from '../../src/http/plugins/problems.js';
import { bundledScrubber, exampleClaim } from '../helpers.js';

/**
 * What an attacker (or a careless client) can make the service write: no key from a URL in a
 * log, no guessing keys at full speed, no request id of the caller's choosing that is not a
 * short token, no claim text in a JSON error, and on every answer, including those written
 * before routing and those a plugin refuses, the request id and the security headers.
 */

const KEY = 'sk_live_hardening_key_0000000000000000000000';
const URL_KEY = 'sk_live_in_the_url_77777777777777777';

let app: FastifyInstance;
let port: number;
const logs: string[] = [];
const logText = () => logs.join('');

beforeAll(async () => {
  const scrubber = await bundledScrubber();
  const { keys } = parseApiKeys(`billing:scrub:${hashApiKey(KEY)}`);
  app = await buildApp({
    scrubber: () => scrubber,
    config: { auth: { enabled: true, keys }, authFailureLimit: { max: 5, windowMs: 60_000 }, rateLimit: undefined },
    logger: { level: 'info', stream: new Writable({ write: (chunk, _enc, done) => (logs.push(String(chunk)), done()) }) },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  port = (app.server.address() as net.AddressInfo).port;
});
afterAll(() => app.close());

const auth = { authorization: `Bearer ${KEY}` };

/** Bytes sent as they are over a fresh connection; the whole answer back. */
function raw(text: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const answer = Buffer.concat(chunks).toString();
      const [head, ...rest] = answer.split('\r\n\r\n');
      const [statusLine, ...lines] = head!.split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      resolve({ status: Number(statusLine!.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
    });
  });
}

function expectSecurityHeaders(headers: Record<string, string | string[] | number | undefined>): void {
  expect(headers['x-content-type-options']).toBe('nosniff');
  expect(headers['content-security-policy']).toContain("default-src 'self'");
  expect(headers['strict-transport-security']).toMatch(/^max-age=/);
  expect(headers['x-frame-options']).toBe('SAMEORIGIN');
}

describe('a key in the query string', () => {
  it('is logged as [redacted], with the route and the parameters the API defines, and not echoed in the answer', async () => {
    const res = await app.inject({ method: 'GET', url: `/v1/packs?api_key=${URL_KEY}&explain=true&${URL_KEY}`, headers: auth });
    expect(res.statusCode).toBe(200);
    const missing = await app.inject({ method: 'GET', url: `/v1/nothing?token=${URL_KEY}`, headers: auth });
    expect(missing.statusCode).toBe(404);
    expect(missing.body).not.toContain(URL_KEY);
    expect(missing.json().instance).toBe('/v1/nothing?token=[redacted]');
    expect(logText()).toContain('"url":"/v1/packs?api_key=[redacted]&explain=true&[redacted]"');
    expect(logText()).not.toContain(URL_KEY);
  });
});

describe('failed authentications', () => {
  it('are limited per address: 429 with Retry-After, even with the right key, until the window ends; other addresses are not affected', async () => {
    const from = (remoteAddress: string, headers: Record<string, string>) => app.inject({ method: 'GET', url: '/v1/packs', remoteAddress, headers });
    for (let i = 0; i < 5; i++) expect((await from('10.9.9.9', { authorization: `Bearer wrong-${i}` })).statusCode).toBe(401);
    const blocked = await from('10.9.9.9', { authorization: 'Bearer wrong-again' });
    expect(blocked.statusCode).toBe(429);
    expect(blocked.json()).toMatchObject({ code: 'too-many-failed-authentications', retryAfterSeconds: expect.any(Number) });
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(blocked.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect((await from('10.9.9.9', auth)).statusCode).toBe(429);
    expect((await from('10.8.8.8', auth)).statusCode).toBe(200);
    expect((await from('10.9.9.9', {})).statusCode).toBe(429);
    expect((await app.inject({ method: 'GET', url: '/healthz', remoteAddress: '10.9.9.9' })).statusCode).toBe(200);
  });

  it('are not counted for a valid key', async () => {
    for (let i = 0; i < 10; i++) expect((await app.inject({ method: 'GET', url: '/v1/packs', remoteAddress: '10.7.7.7', headers: auth })).statusCode).toBe(200);
  });
});

describe('X-Request-Id', () => {
  it('is kept when it is a short token', async () => {
    const res = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'billing-7f3a:42' } });
    expect(res.headers['x-request-id']).toBe('billing-7f3a:42');
  });

  it.each([
    ['15,000 characters', 'a'.repeat(15_000)],
    ['129 characters', 'b'.repeat(129)],
    ['spaces and quotes', 'id with "quotes"'],
    ['a JSON fragment', '","level":60,"msg":"forged'],
  ])('is replaced by one of our own when it is %s', async (_what, id) => {
    const res = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': id } });
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(logText()).not.toContain(id);
  });
});

describe('answers written before routing', () => {
  it('431 for oversized headers carries a request id and the security headers', async () => {
    const res = await raw(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(res.status).toBe(431);
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(res.body)).toMatchObject({ code: 'headers-too-large', requestId: res.headers['x-request-id'] });
    expectSecurityHeaders(res.headers);
  });

  it('400 for bytes that are not HTTP carries them too', async () => {
    const res = await raw('NOT HTTP AT ALL\r\n\r\n');
    expect(res.status).toBe(400);
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expectSecurityHeaders(res.headers);
  });

  it('408 for a request that took too long carries them too', () => {
    let written = '';
    const socket = { destroyed: false, writable: true, end: (text: string) => (written = text), destroy: () => undefined } as unknown as net.Socket;
    clientErrorHandler.call(app, Object.assign(new Error('timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }), socket);
    expect(written).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(written).toMatch(/\r\nX-Request-Id: [0-9a-f-]{36}\r\n/);
    expect(written).toContain('\r\nX-Content-Type-Options: nosniff\r\n');
    expect(written).toContain('\r\nContent-Security-Policy: ');
  });

  it('400 for a URL the router cannot decode is problem+json with the request id and security headers', async () => {
    const res = await raw('GET /docs/% HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(res.body)).toMatchObject({ code: 'invalid-request', requestId: res.headers['x-request-id'] });
    expectSecurityHeaders(res.headers);
  });
});

describe('invalid-json details', () => {
  it('say where the JSON breaks and never quote the body', async () => {
    for (const body of ['Quimbleworth Fennimore-Baxter', '{"claimId": "C-1", "patient": {"lastName": "Quimbleworth" "x": 1}}', '{"lastName": "Quimbleworth\u0001"}']) {
      const res = await app.inject({ method: 'POST', url: '/v1/scrub', headers: { ...auth, 'content-type': 'application/json' }, payload: body });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'invalid-json', detail: expect.stringMatching(/at line 1, column \d+ \(character \d+\)\.$/) });
      expect(res.body).not.toMatch(/Quimble|Fennimore|lastName/);
    }
  });

  it('in a batch, say where on the line, without quoting it', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/scrub/batch',
      headers: { ...auth, 'content-type': 'application/x-ndjson' },
      payload: `${JSON.stringify(exampleClaim('clean.json'))}\n{"patient": {"lastName": "Quimbleworth" }`,
    });
    const lines = res.body.trim().split('\n').map((l) => JSON.parse(l) as { findings: Array<{ message: string }> });
    expect(lines[1]!.findings[0]!.message).toMatch(/^Line 2 is not valid JSON: .* at character \d+/);
    expect(res.body).not.toContain('Quimble');
  });
});

describe('client errors a plugin raises', () => {
  it.each(['/docs/static/..', '/docs/static/../..', '/docs/static/%2e%2e/%2e%2e/package.json'])('GET %s is 403 forbidden-path, not 500, and logs no error', async (p) => {
    const before = logs.length;
    const res = await raw(`GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body)).toMatchObject({ status: 403, code: 'forbidden-path', requestId: res.headers['x-request-id'] });
    expectSecurityHeaders(res.headers);
    expect(logs.slice(before).join('')).not.toContain('"level":50');
  });

  it('a Range the file does not have is 416 range-not-satisfiable', async () => {
    const page = await app.inject({ method: 'GET', url: '/docs/static/swagger-ui.css' });
    expect(page.statusCode).toBe(200);
    const res = await app.inject({ method: 'GET', url: '/docs/static/swagger-ui.css', headers: { range: 'bytes=999999999-' } });
    expect(res.statusCode).toBe(416);
    expect(res.json()).toMatchObject({ code: 'range-not-satisfiable' });
  });
});
