import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { findApiKey, hashApiKey, parseApiKeys } from '../../src/http/api-keys.js';
import { buildApp } from '../../src/http/app.js';
import { bundledScrubber, exampleClaim } from '../helpers.js';

const SCRUB_KEY = 'sk_unit_scrub_key_000000000000000000000000000';
const ADMIN_KEY = 'sk_unit_admin_key_00000000000000000000000000';

describe('API keys in the configuration', () => {
  it('are read as name:role:sha256hex entries, separated by commas or lines, with comments', () => {
    const { keys, problems } = parseApiKeys(`billing:scrub:${hashApiKey(SCRUB_KEY)}  # the billing system\nops:admin:${hashApiKey(ADMIN_KEY)}`);
    expect(problems).toEqual([]);
    expect(keys.map((k) => [k.name, k.role])).toEqual([
      ['billing', 'scrub'],
      ['ops', 'admin'],
    ]);
  });

  it('refuse a key given in plain text, an unknown role, a bad name and a name used twice', () => {
    const hash = hashApiKey('x');
    const { problems } = parseApiKeys(`a:scrub:plain-secret,b:root:${hash},bad name:scrub:${hash},c:scrub:${hash},c:admin:${hash},justtext`);
    expect(problems).toEqual([
      'key "a" must give the SHA-256 of the key as 64 hex digits (see "scrub keys hash"), not the key itself',
      'key "b" has the role "root"; the roles are scrub and admin',
      'the key name "bad name" must be letters, digits, ".", "_" or "-" (at most 64)',
      'the key name "c" is used twice',
      'an entry has 1 part; write name:role:sha256hex',
    ]);
    expect(problems.join(' ')).not.toContain('plain-secret');
  });

  it('are matched by hash, only in full', () => {
    const { keys } = parseApiKeys(`billing:scrub:${hashApiKey(SCRUB_KEY)},ops:admin:${hashApiKey(ADMIN_KEY)}`);
    expect(findApiKey(keys, ADMIN_KEY)?.name).toBe('ops');
    expect(findApiKey(keys, SCRUB_KEY)?.name).toBe('billing');
    expect(findApiKey(keys, SCRUB_KEY.slice(0, -1))).toBeUndefined();
    expect(findApiKey(keys, '')).toBeUndefined();
  });
});

describe('the service with API keys', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    const scrubber = await bundledScrubber();
    const { keys } = parseApiKeys(`billing:scrub:${hashApiKey(SCRUB_KEY)},ops:admin:${hashApiKey(ADMIN_KEY)}`);
    app = await buildApp({ scrubber: () => scrubber, config: { auth: { enabled: true, keys } } });
  });
  afterAll(() => app.close());

  const scrub = (headers: Record<string, string>) =>
    app.inject({ method: 'POST', url: '/v1/scrub', headers: { 'content-type': 'application/json', ...headers }, payload: JSON.stringify(exampleClaim('clean.json')) });

  it('answers a request without a key with 401 unauthenticated, before reading its body', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/scrub', headers: { 'content-type': 'application/json' }, payload: '{not json' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="claim-scrubber"');
    expect(res.json()).toMatchObject({ code: 'unauthenticated', status: 401, requestId: res.headers['x-request-id'] });
  });

  it('answers an unknown key with 401', async () => {
    expect((await scrub({ authorization: 'Bearer sk_not_a_key' })).statusCode).toBe(401);
    expect((await scrub({ 'x-api-key': 'sk_not_a_key' })).statusCode).toBe(401);
  });

  it('scrubs with a scrub key or an admin key', async () => {
    expect((await scrub({ authorization: `Bearer ${SCRUB_KEY}` })).statusCode).toBe(200);
    expect((await scrub({ 'x-api-key': ADMIN_KEY })).statusCode).toBe(200);
  });

  it('lets a scrub key read the packs but not reload them (403 forbidden)', async () => {
    expect((await app.inject({ method: 'GET', url: '/v1/packs', headers: { 'x-api-key': SCRUB_KEY } })).statusCode).toBe(200);
    const res = await app.inject({ method: 'POST', url: '/v1/packs/reload', headers: { 'x-api-key': SCRUB_KEY } });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'forbidden', detail: 'The key "billing" has the role "scrub"; this endpoint needs the role "admin".' });
    expect((await app.inject({ method: 'POST', url: '/v1/packs/reload', headers: { 'x-api-key': ADMIN_KEY } })).statusCode).toBe(200);
  });

  it('needs no key for liveness, readiness, metrics and the docs', async () => {
    for (const url of ['/healthz', '/readyz', '/metrics', '/docs/json', '/docs']) {
      expect((await app.inject({ method: 'GET', url })).statusCode, url).toBe(200);
    }
  });

  it('needs a key even to learn that a route does not exist', async () => {
    expect((await app.inject({ method: 'GET', url: '/v1/secret' })).statusCode).toBe(401);
  });
});
