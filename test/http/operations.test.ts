import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { hashApiKey, parseApiKeys } from '../../src/http/api-keys.js';
import { buildApp } from '../../src/http/app.js';
import { PackHolder } from '../../src/service/pack-holder.js';
import type { ServiceState } from '../../src/service/state.js';
import { bundledScrubber, exampleClaim } from '../helpers.js';
import { editFile, rulesCopy } from '../support/rules-copy.js';

const scrubClaim = (app: FastifyInstance, claim: unknown = exampleClaim('clean.json'), headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: '/v1/scrub', headers: { 'content-type': 'application/json', ...headers }, payload: JSON.stringify(claim) });

describe('readiness', () => {
  let app: FastifyInstance;
  let state: ServiceState;
  beforeAll(async () => {
    const scrubber = await bundledScrubber();
    const packs = new PackHolder(scrubber.packSet.dir, scrubber);
    state = { packs, shuttingDown: false, draining: false };
    app = await buildApp({ packs, state });
  });
  afterAll(() => app.close());

  it('is ready with the packs it serves', async () => {
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'ready', loadedAt: expect.any(String), packs: expect.arrayContaining([{ name: 'core', version: '1.1.0' }]) });
  });

  it('shows each table: its editions, the dates they cover, and days until its coverage ends', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const daysLeft = Math.round((Date.parse('2026-09-30') - Date.parse(today)) / 86_400_000);
    const ready = (await app.inject({ method: 'GET', url: '/readyz' })).json();
    expect(ready.tables).toContainEqual({
      pack: 'code-sets',
      table: 'icd10cm',
      editions: [{ edition: 'ICD-10-CM FY2026', covers: { from: '2025-10-01', to: '2026-09-30' }, rows: 98_186, complete: true }],
      coverageEnds: '2026-09-30',
      daysLeft,
      stale: daysLeft < 0,
    });
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toContain('# TYPE scrub_table_coverage_days_remaining gauge');
    expect(metrics).toMatch(new RegExp(`^scrub_table_coverage_days_remaining\\{pack="code-sets",table="icd10cm",edition="ICD-10-CM FY2026"\\} ${daysLeft}$`, 'm'));
    expect(metrics).toMatch(/^scrub_table_coverage_days_remaining\{pack="code-sets",table="hcpcs",edition="HCPCS Level II January 2026"\} -?\d+$/m);
  });

  it('turns not ready (503 not-ready) as soon as shutdown starts, while liveness and scrubbing go on', async () => {
    state.shuttingDown = true;
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ code: 'not-ready' });
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await scrubClaim(app)).statusCode).toBe(200);
  });

  it('answers a request that arrives while draining with 503 shutting-down and closes the connection', async () => {
    state.draining = true;
    const res = await scrubClaim(app);
    expect(res.statusCode).toBe(503);
    expect(res.headers.connection).toBe('close');
    expect(res.json()).toMatchObject({ code: 'shutting-down' });
    state.draining = false;
    state.shuttingDown = false;
  });
});

describe('reloading packs (POST /v1/packs/reload)', () => {
  it('swaps in the new set, says when it was loaded, and counts it', async () => {
    const dir = await rulesCopy();
    const loaded = await PackHolder.load(dir);
    const app = await buildApp({ packs: loaded.holder! });
    const before = (await app.inject({ method: 'GET', url: '/v1/packs' })).json().loadedAt;
    await editFile(dir, 'core/pack.yaml', (t) => t.replace(/^version:.*$/m, 'version: "2.0.0"'));
    await new Promise((r) => setTimeout(r, 5));
    const res = await app.inject({ method: 'POST', url: '/v1/packs/reload' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'reloaded', workers: 1, packs: expect.arrayContaining([{ name: 'core', version: '2.0.0' }]) });
    const after = (await app.inject({ method: 'GET', url: '/v1/packs' })).json().loadedAt;
    expect(after > before).toBe(true);
    expect((await scrubClaim(app)).json().packs).toContainEqual({ name: 'core', version: '2.0.0' });
    expect((await app.inject({ method: 'GET', url: '/metrics' })).body).toMatch(/^scrub_pack_reloads_total\{result="success"\} 1$/m);
    await app.close();
  });

  it('refuses a broken set with 422 packs-invalid and every diagnostic, and keeps the old set serving', async () => {
    const dir = await rulesCopy();
    const loaded = await PackHolder.load(dir);
    const app = await buildApp({ packs: loaded.holder! });
    const before = (await app.inject({ method: 'GET', url: '/v1/packs' })).json().loadedAt;
    await editFile(dir, 'modifiers/rules/laterality.yaml', (t) => t.replace('operator: hasModifier', 'operator: hasModifer'));
    const res = await app.inject({ method: 'POST', url: '/v1/packs/reload' });
    expect(res.statusCode).toBe(422);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const body = res.json();
    expect(body).toMatchObject({ code: 'packs-invalid', loadedAt: before });
    expect(body.diagnostics.map((d: { code: string }) => d.code)).toEqual(expect.arrayContaining(['unknown-operator']));
    for (const d of body.diagnostics) expect(d.text).toMatch(/\.yaml:\d+:\d+: (error|warning) \[/);
    expect(body.diagnostics).toContainEqual(expect.objectContaining({ code: 'unknown-operator', file: expect.stringMatching(/laterality\.yaml$/) }));
    expect((await app.inject({ method: 'GET', url: '/v1/packs' })).json().loadedAt).toBe(before);
    expect((await scrubClaim(app)).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/metrics' })).body).toMatch(/^scrub_pack_reloads_total\{result="failure"\} 1$/m);
    await app.close();
  });

  it('runs concurrent reloads one after the other', async () => {
    const dir = await rulesCopy();
    const holder = (await PackHolder.load(dir)).holder!;
    let running = 0;
    let overlapped = false;
    const prepare = holder.prepare.bind(holder);
    holder.prepare = async () => {
      if (++running > 1) overlapped = true;
      try {
        return await prepare();
      } finally {
        running--;
      }
    };
    const outcomes = await Promise.all([holder.reload(), holder.reload(), holder.reload()]);
    expect(overlapped).toBe(false);
    expect(outcomes.every((o) => o.ok)).toBe(true);
    const times = outcomes.map((o) => o.loadedAt);
    expect([...times].sort()).toEqual(times);
  });

  it('lets a request in flight finish on the set it started with', async () => {
    const dir = await rulesCopy();
    const holder = (await PackHolder.load(dir)).holder!;
    const first = holder.current();
    await editFile(dir, 'core/pack.yaml', (t) => t.replace(/^version:.*$/m, 'version: "9.9.9"'));
    const inFlight = first.scrub(exampleClaim('clean.json'));
    await holder.reload();
    expect((await inFlight).packs).toContainEqual({ name: 'core', version: '1.1.0' });
    expect((await holder.current().scrub(exampleClaim('clean.json'))).packs).toContainEqual({ name: 'core', version: '9.9.9' });
  });
});

describe('metrics (GET /metrics)', () => {
  it('counts claims by outcome, findings by rule and severity, request latency by route, and the event loop', async () => {
    const scrubber = await bundledScrubber();
    const app = await buildApp({ scrubber: () => scrubber });
    const failing = exampleClaim('clean.json') as { lines: Array<{ modifiers: string[] }> };
    failing.lines[1]!.modifiers = ['LT', 'RT'];
    await scrubClaim(app);
    await scrubClaim(app, failing);
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = res.body;
    expect(text).toMatch(/^scrub_claims_scrubbed_total\{outcome="pass"\} 1$/m);
    expect(text).toMatch(/^scrub_claims_scrubbed_total\{outcome="fail"\} 1$/m);
    expect(text).toMatch(/^scrub_findings_total\{rule_id="lt-rt-same-line",category="modifier",severity="error"\} 1$/m);
    expect(text).toMatch(/^scrub_http_request_duration_seconds_count\{route="\/v1\/scrub",method="POST",status_code="200"\} 2$/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds /m);
    expect(text).toMatch(/^process_resident_memory_bytes /m);
    expect(text).toMatch(/^scrub_pack_info\{pack="core",version="1.1.0"\} 1$/m);
    await app.close();
  });

  it('keeps counting findings across scrapes, each finding once', async () => {
    const scrubber = await bundledScrubber();
    const app = await buildApp({ scrubber: () => scrubber, config: { metricsCacheMs: 0 } });
    const failing = exampleClaim('clean.json') as { lines: Array<{ modifiers: string[] }> };
    failing.lines[1]!.modifiers = ['LT', 'RT'];
    const ltRt = async () => {
      const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      return text.match(/^scrub_findings_total\{rule_id="lt-rt-same-line",category="modifier",severity="error"\} (\d+)$/m)?.[1];
    };
    expect(await ltRt()).toBeUndefined();
    await scrubClaim(app, failing);
    expect(await ltRt()).toBe('1');
    expect(await ltRt()).toBe('1');
    await scrubClaim(app, failing);
    await scrubClaim(app, failing);
    expect(await ltRt()).toBe('3');
    await app.close();
  });

  it('labels unknown URLs as one route, so they cannot make new series', async () => {
    const scrubber = await bundledScrubber();
    const app = await buildApp({ scrubber: () => scrubber });
    for (const url of ['/a', '/b', '/c']) await app.inject({ method: 'GET', url });
    expect((await app.inject({ method: 'GET', url: '/metrics' })).body).toMatch(/route="unmatched",method="GET",status_code="404"\} 3$/m);
    await app.close();
  });
});

describe('the API docs', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    const scrubber = await bundledScrubber();
    app = await buildApp({ scrubber: () => scrubber });
  });
  afterAll(() => app.close());

  it('publishes OpenAPI 3.1 at /docs/json with the claim and result schemas and an example claim', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/scrub', '/v1/scrub/batch', '/v1/packs', '/v1/packs/reload', '/healthz', '/readyz', '/metrics']));
    expect(doc.components.schemas.Claim.required).toContain('claimId');
    expect(doc.components.schemas.ScrubResult.properties.outcome).toBeDefined();
    const scrub = doc.paths['/v1/scrub'].post;
    expect(scrub.requestBody.content['application/json'].schema).toEqual({ allOf: [{ $ref: '#/components/schemas/Claim' }] });
    expect(scrub.requestBody.content['application/json'].example).toMatchObject({ claimId: 'C-1001' });
    expect(scrub.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/ScrubResult' });
    expect(Object.keys(doc.paths['/v1/scrub/batch'].post.requestBody.content)).toEqual(['application/x-ndjson', 'application/json', 'application/edi-x12', 'application/fhir+json', 'text/plain']);
    expect(doc.paths['/v1/scrub/batch'].post.responses['200'].content['application/json'].schema.items).toEqual({ $ref: '#/components/schemas/ScrubResult-batchRecord' });
    expect(doc.components.schemas['ScrubResult-fileProblem'].required).toEqual(['code', 'severity', 'message']);
    expect(doc.components.securitySchemes).toMatchObject({ bearer: { scheme: 'bearer' }, apiKey: { in: 'header', name: 'X-API-Key' } });
  });

  it('serves a browsable page, with its scripts from this service only', async () => {
    const page = await app.inject({ method: 'GET', url: '/docs' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    const csp = page.headers['content-security-policy'] as string;
    expect(csp).toMatch(/script-src 'self' ?;/);
    expect(csp).not.toMatch(/swagger\.io|upgrade-insecure-requests/);
    const bundle = await app.inject({ method: 'GET', url: '/docs/static/swagger-ui-bundle.js' });
    expect(bundle.statusCode).toBe(200);
  });

  it('documents without validating: a claim that breaks the schema still gets 200 and structure findings', async () => {
    const res = await scrubClaim(app, { claimId: 7, lines: 'none', unknownField: true });
    expect(res.statusCode).toBe(200);
    expect(res.json().findings.every((f: { category: string }) => f.category === 'structure')).toBe(true);
  });
});

describe('protection', () => {
  it('sends security headers on every answer', async () => {
    const scrubber = await bundledScrubber();
    const app = await buildApp({ scrubber: () => scrubber });
    const res = await scrubClaim(app);
    expect(res.headers).toMatchObject({ 'x-content-type-options': 'nosniff', 'x-frame-options': 'SAMEORIGIN', 'referrer-policy': 'no-referrer' });
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    await app.close();
  });

  it('answers CORS only for the origins configured', async () => {
    const scrubber = await bundledScrubber();
    const app = await buildApp({ scrubber: () => scrubber, config: { corsOrigins: ['https://billing.example.org'] } });
    const preflight = await app.inject({
      method: 'OPTIONS',
      url: '/v1/scrub',
      headers: { origin: 'https://billing.example.org', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('https://billing.example.org');
    const other = await scrubClaim(app, undefined, { origin: 'https://elsewhere.example.com' });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    await app.close();
  });

  it('limits requests per API key with 429 rate-limited and Retry-After, one budget per key', async () => {
    const scrubber = await bundledScrubber();
    const { keys } = parseApiKeys(`a:scrub:${hashApiKey('key-a-0000000000000000000000000000')},b:scrub:${hashApiKey('key-b-0000000000000000000000000000')}`);
    const app = await buildApp({ scrubber: () => scrubber, config: { auth: { enabled: true, keys }, rateLimit: { max: 2, windowMs: 60_000 } } });
    const asA = { 'x-api-key': 'key-a-0000000000000000000000000000' };
    expect((await scrubClaim(app, undefined, asA)).statusCode).toBe(200);
    expect((await scrubClaim(app, undefined, asA)).statusCode).toBe(200);
    const limited = await scrubClaim(app, undefined, asA);
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.json()).toMatchObject({ code: 'rate-limited', retryAfterSeconds: expect.any(Number) });
    expect((await scrubClaim(app, undefined, { 'x-api-key': 'key-b-0000000000000000000000000000' })).statusCode).toBe(200);
    // Probes are never limited.
    for (let i = 0; i < 5; i++) expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    await app.close();
  });

  it('states the configured limit in its headers and 429s when workers share it (each counts its share)', async () => {
    const scrubber = await bundledScrubber();
    const app = await buildApp({ scrubber: () => scrubber, config: { rateLimit: { max: 4, windowMs: 60_000 } }, processes: 2 });
    const first = await scrubClaim(app);
    expect(first.headers).toMatchObject({ 'x-ratelimit-limit': '4', 'x-ratelimit-remaining': '2' });
    expect((await scrubClaim(app)).headers).toMatchObject({ 'x-ratelimit-limit': '4', 'x-ratelimit-remaining': '0' });
    const limited = await scrubClaim(app);
    expect(limited.statusCode).toBe(429);
    expect(limited.headers).toMatchObject({ 'x-ratelimit-limit': '4', 'x-ratelimit-remaining': '0' });
    expect(limited.json().detail).toMatch(/^At most 4 requests are allowed per 60 s/);
    await app.close();
  });

  it('refuses a body that is not UTF-8 with 400 invalid-json', async () => {
    const scrubber = await bundledScrubber();
    const app = await buildApp({ scrubber: () => scrubber });
    const res = await app.inject({ method: 'POST', url: '/v1/scrub', headers: { 'content-type': 'application/json' }, payload: Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]) });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'invalid-json', detail: 'The body cannot be used: it is not valid UTF-8 text.' });
    await app.close();
  });
});

describe('errors before a request reaches the service', () => {
  it('answers a request that took too long to arrive with 408 problem+json', async () => {
    const { clientErrorHandler } = await import('../../src/http/plugins/problems.js');
    let written = '';
    const socket = { destroyed: false, writable: true, end: (text: string) => (written = text), destroy: () => undefined };
    const log = { info: () => undefined };
    clientErrorHandler.call({ log } as never, Object.assign(new Error('timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }), socket as never);
    expect(written).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(written).toContain('content-type: application/problem+json'.replace('content-type', 'Content-Type'));
    expect(JSON.parse(written.split('\r\n\r\n')[1]!)).toMatchObject({ code: 'request-timeout', status: 408 });
  });

  it('cuts, rather than writes into, an answer already under way (a streamed batch out of time)', async () => {
    const { clientErrorHandler } = await import('../../src/http/plugins/problems.js');
    let written = '';
    let destroyed = false;
    const socket = { destroyed: false, writable: true, _httpMessage: { headersSent: true }, end: (text: string) => (written = text), destroy: () => (destroyed = true) };
    clientErrorHandler.call({ log: { info: () => undefined } } as never, Object.assign(new Error('timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }), socket as never);
    expect(written).toBe('');
    expect(destroyed).toBe(true);
  });
});

describe('the access log', () => {
  it('writes one line per request, and for a refused one that line carries the problem code', async () => {
    const lines: string[] = [];
    const scrubber = await bundledScrubber();
    const app = await buildApp({ scrubber: () => scrubber, logger: { level: 'info', stream: { write: (line: string) => void lines.push(line) } } });
    try {
      const refused = await app.inject({ method: 'POST', url: '/v1/scrub', headers: { 'content-type': 'application/json', 'x-request-id': 'refused-1' }, payload: '{"claimId":' });
      const scrubbed = await scrubClaim(app, exampleClaim('clean.json'), { 'x-request-id': 'scrubbed-1' });
      expect([refused.statusCode, scrubbed.statusCode]).toEqual([400, 200]);
      const of = (id: string) => lines.map((l) => JSON.parse(l)).filter((entry) => entry.reqId === id);
      expect(of('refused-1')).toEqual([expect.objectContaining({ msg: 'request completed', statusCode: 400, code: 'invalid-json', url: '/v1/scrub' })]);
      expect(of('scrubbed-1')).toEqual([expect.objectContaining({ msg: 'request completed', statusCode: 200 })]);
      expect(of('scrubbed-1')[0]).not.toHaveProperty('code');
    } finally {
      await app.close();
    }
  });
});
