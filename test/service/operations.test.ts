import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../../src/http/api-keys.js';
import { exampleClaim } from '../helpers.js';
import { keepScrubbing, request, runScrub, sleep, startServer, streamBatch, type RunningServer } from './server.js';

/** Authentication, development mode, start-up checks and worker restarts, on the real service. */

const clean = JSON.stringify(exampleClaim('clean.json'));
const JSON_TYPE = { 'content-type': 'application/json' };
const SCRUB_KEY = 'sk_test_scrubber_0123456789abcdefghijklmnopqrstuvwxyz';
const ADMIN_KEY = 'sk_test_admin_0123456789abcdefghijklmnopqrstuvwxyzABCD';

describe('with API keys configured', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({
      env: { SCRUB_API_KEYS: `billing:scrub:${hashApiKey(SCRUB_KEY)},ops:admin:${hashApiKey(ADMIN_KEY)}`, LOG_LEVEL: 'debug' },
    });
  });
  afterAll(() => server?.stop());

  it('refuses a scrub without a key with 401 unauthenticated and a WWW-Authenticate challenge', async () => {
    const answer = await request(server.url, { path: '/v1/scrub', headers: JSON_TYPE, body: clean });
    expect(answer.status).toBe(401);
    expect(answer.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(answer.json()).toMatchObject({ code: 'unauthenticated' });
  });

  it('refuses a wrong key with 401', async () => {
    const answer = await request(server.url, { path: '/v1/scrub', headers: { ...JSON_TYPE, authorization: `Bearer ${SCRUB_KEY}x` }, body: clean });
    expect(answer.status).toBe(401);
    expect(answer.json()).toMatchObject({ code: 'unauthenticated', detail: 'The API key is not one this service knows.' });
  });

  it('scrubs with a scrub key, sent as a bearer token or as X-API-Key', async () => {
    const both: Array<Record<string, string>> = [{ authorization: `Bearer ${SCRUB_KEY}` }, { 'x-api-key': SCRUB_KEY }];
    for (const headers of both) {
      const answer = await request(server.url, { path: '/v1/scrub', headers: { ...JSON_TYPE, ...headers }, body: clean });
      expect(answer.status).toBe(200);
    }
  });

  it('refuses a reload with a scrub key (403 forbidden) and does it with an admin key', async () => {
    const refused = await request(server.url, { method: 'POST', path: '/v1/packs/reload', headers: { authorization: `Bearer ${SCRUB_KEY}` } });
    expect(refused.status).toBe(403);
    expect(refused.json()).toMatchObject({ code: 'forbidden' });
    const done = await request(server.url, { method: 'POST', path: '/v1/packs/reload', headers: { 'x-api-key': ADMIN_KEY } });
    expect(done.status).toBe(200);
  });

  it('leaves liveness, readiness, metrics and the docs open', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/docs/json', '/docs']) {
      expect((await request(server.url, { path })).status, path).toBe(200);
    }
  });

  it('shows, in the start-up banner, a curl hint that carries a key', () => {
    expect(server.output()).toMatch(/^Try: curl -s -H "Authorization: Bearer \$KEY" http:\/\/127\.0\.0\.1:\d+\/v1\/packs /m);
  });

  it('never writes a key to the log, even at debug level', async () => {
    expect(server.output()).toContain('API keys required');
    expect(server.output()).not.toContain(SCRUB_KEY);
    expect(server.output()).not.toContain(ADMIN_KEY);
    expect(server.output()).not.toContain('AUTHENTICATION IS OFF');
  });
});

describe('development mode', () => {
  it('runs with no keys configured, and says so loudly at start-up', async () => {
    const server = await startServer({ env: { SCRUB_BATCH_MAX_CLAIMS: '10' } });
    try {
      expect(server.output()).toMatch(/"level":40.*AUTHENTICATION IS OFF \(development mode: no API keys are configured\)/);
      // No deprecation notice from a dependency.
      expect(server.output()).not.toMatch(/Deprecation|FSTDEP\d+/);
      // Each table is logged with its editions; a table whose coverage has ended is a warning.
      // (The logger writes asynchronously: wait for the lines rather than race them.)
      await server.waitForOutput(/"table":"pos"/);
      expect(server.output()).toMatch(/"pack":"code-sets","table":"icd10cm","editions":\["ICD-10-CM FY2026 \(2025-10-01 to 2026-09-30, 98186 rows\)"\]/);
      const hcpcsStale = new Date().toISOString().slice(0, 10) > '2026-03-31';
      expect(server.output()).toMatch(hcpcsStale ? /"level":40,.*"table":"hcpcs".*the newest edition loaded, HCPCS Level II January 2026, covers dates of service up to 2026-03-31/ : /"level":30,.*"table":"hcpcs"/);
      // No key needed, so the start-up banner's curl hint carries none.
      expect(server.output()).toMatch(/^Try: curl -s http:\/\/127\.0\.0\.1:\d+\/v1\/packs /m);
      expect((await request(server.url, { path: '/v1/scrub', headers: JSON_TYPE, body: clean })).status).toBe(200);
      expect((await request(server.url, { method: 'POST', path: '/v1/packs/reload' })).status).toBe(200);

      // A batch over the claim limit: the answer ends with a batch-limit result and arrives
      // whole, though the sender was still sending.
      const last: string[] = [];
      const run = await streamBatch(server.url, 20_000, () => clean, { onResult: (text) => last.splice(0, 1, text) });
      expect(run).toMatchObject({ status: 200, results: 11 });
      expect(JSON.parse(last[0]!).findings[0]).toMatchObject({ ruleId: 'batch-limit', details: { line: 11 } });
      expect((await request(server.url, { path: '/healthz' })).status).toBe(200);
    } finally {
      await server.stop();
    }
    // A service start may take up to startServer's 60 s on a loaded machine, then a reload and a batch.
  }, 90_000);
});

describe('start-up configuration checks', () => {
  it('exits 2 naming each bad variable, its value and what is expected', async () => {
    const run = await runScrub(['serve', '--port', '0'], {
      SCRUB_RATE_LIMIT: 'fast',
      SCRUB_SHUTDOWN_DEADLINE_MS: '-5',
      SCRUB_API_KEYS: 'billing:scrub:my-plain-secret',
      LOG_LEVEL: 'loud',
    });
    expect(run.code).toBe(2);
    expect(run.output).toContain('SCRUB_RATE_LIMIT="fast": expected a whole number');
    expect(run.output).toContain('SCRUB_SHUTDOWN_DEADLINE_MS="-5": expected a whole number');
    expect(run.output).toMatch(/SCRUB_API_KEYS="\(hidden\)": key "billing" must give the SHA-256 of the key as 64 hex digits/);
    expect(run.output).toContain('LOG_LEVEL="loud": expected one of fatal, error, warn, info, debug, trace, silent');
    expect(run.output).not.toContain('my-plain-secret');
  });

  it.each(['1', '2'])('exits 2 and says once what is wrong when the packs are broken (--workers %s)', async (workers) => {
    const run = await runScrub(['serve', '--port', '0', '--workers', workers, '--rules', 'test']);
    expect(run.code).toBe(2);
    expect(run.output.match(/cannot be loaded/g)).toHaveLength(1);
    expect(run.output).toMatch(/no-packs/);
  });
});

describe('a worker that dies', () => {
  it('is replaced by the primary while the other worker keeps serving', async () => {
    const started = performance.now();
    const server = await startServer({ workers: 2 });
    try {
      await server.waitForOutput(/worker listening[\s\S]*worker listening/, 60_000);
      // A replacement worker, and then a reload on both, each load the packs as the start-up
      // did: give each twice what the start-up took on this machine now (30 s to 80 s).
      const allowance = Math.min(80_000, Math.max(30_000, 2 * (performance.now() - started)));
      const pids = [...server.output().matchAll(/"workerPid":(\d+)[^\n]*worker listening/g)].map((m) => Number(m[1]));
      expect(pids).toHaveLength(2);
      const load = keepScrubbing(server.url, exampleClaim('clean.json'), 4);
      await sleep(200);
      process.kill(pids[0]!, 'SIGKILL');
      await server.waitForOutput(/worker died unexpectedly; starting another[\s\S]*worker listening/, allowance);
      const replacedAt = performance.now();
      await sleep(500);
      const results = await load.stop();
      // Requests the killed worker held are lost with it; everything sent afterwards is served.
      const later = results.filter((r) => r.startedAt > replacedAt);
      expect(later.length).toBeGreaterThan(0);
      expect(later.filter((r) => r.status !== 200)).toEqual([]);
      expect((await request(server.url, { path: '/readyz' })).status).toBe(200);
      // The replacement loaded the packs itself; the primary then reloaded both, so that both
      // serve one set, loaded at one moment.
      await server.waitForOutput(/"trigger":"worker replaced"[^\n]*packs reloaded on every worker/, allowance);
      const loadedAt = new Set<string>();
      for (let i = 0; i < 8; i++) loadedAt.add((await request(server.url, { path: '/v1/packs' })).json().loadedAt);
      expect(loadedAt.size).toBe(1);
    } finally {
      expect(await server.stop()).toEqual({ code: 0, signal: null });
    }
    // The start (at most 60 s each for the primary and its workers), two allowances, and the rest.
  }, 260_000);
});
