import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultServiceConfig } from '../../src/config.js';
import { Scrubber } from '../../src/engine/scrubber.js';
import { ClaimHistory } from '../../src/history/claim-history.js';
import { SqliteHistoryStore } from '../../src/history/sqlite.js';
import { hashApiKey, parseApiKeys } from '../../src/http/api-keys.js';
import { buildApp } from '../../src/http/app.js';
import { loadPackSet } from '../../src/packs/loader.js';
import { bundledRulesDir } from '../../src/paths.js';
import { denyLines, paid, write835 } from '../support/generate-835.js';
import { tempDir } from '../support/temp-pack.js';

const SECRET = 'remits-http-test-secret-0123456789';
const SCRUB_KEY = 'sk_remits_http_scrub_000000000000000000';
const ADMIN_KEY = 'sk_remits_http_admin_000000000000000000';
const fixture = JSON.parse(readFileSync(path.join(bundledRulesDir, 'history/tests/fixtures/medicare-visit.json'), 'utf8')) as Record<string, any>;

function visit(id: string): Record<string, any> & { claimId: string; lines: any[] } {
  const claim = structuredClone(fixture);
  claim.claimId = id;
  claim.patient.memberId = `M-${id}`;
  return claim as Record<string, any> & { claimId: string; lines: any[] };
}

let scrubber: Scrubber;
let history: ClaimHistory;
let app: FastifyInstance;
let small: FastifyInstance;
let off: FastifyInstance;
const admin = { authorization: `Bearer ${ADMIN_KEY}` };
const billing = { authorization: `Bearer ${SCRUB_KEY}` };
const x12 = { 'content-type': 'application/edi-x12' };

beforeAll(async () => {
  scrubber = new Scrubber(await loadPackSet(bundledRulesDir));
  const dir = await tempDir('scrub-remits-http-');
  history = new ClaimHistory(SqliteHistoryStore.open(path.join(dir, 'history.sqlite')), SECRET, 1185);
  const { keys } = parseApiKeys(`billing:scrub:${hashApiKey(SCRUB_KEY)},ops:admin:${hashApiKey(ADMIN_KEY)}`);
  const auth = { enabled: true as const, keys };
  app = await buildApp({ scrubber: () => scrubber, history, config: { auth } });
  small = await buildApp({ scrubber: () => scrubber, history, config: { auth, batch: { ...defaultServiceConfig().batch, maxClaims: 1 } } });
  off = await buildApp({ scrubber: () => scrubber, config: { auth } });
  for (const id of ['H-1', 'H-2']) {
    const r = await app.inject({ method: 'POST', url: '/v1/scrub?record=true', headers: billing, payload: visit(id) });
    expect(r.json().history).toMatchObject({ recorded: true });
  }
}, 60_000);

afterAll(async () => {
  await Promise.all([app?.close(), small?.close(), off?.close()]);
  await history?.close();
});

describe('POST /v1/remits', () => {
  const file = () => write835([paid(visit('H-1')), denyLines(paid(visit('H-2')), [0], { group: 'CO', reason: '97', remark: 'M15' }), paid(visit('NOBODY'))], { control: 11 });

  it('needs the admin role', async () => {
    const r = await app.inject({ method: 'POST', url: '/v1/remits', headers: { ...billing, ...x12 }, payload: file() });
    expect(r.statusCode).toBe(403);
    expect(r.json()).toMatchObject({ code: 'forbidden' });
  });

  it('imports an 835, answering the summary and the payments that matched no recorded claim', async () => {
    const r = await app.inject({ method: 'POST', url: '/v1/remits', headers: { ...admin, ...x12 }, payload: file() });
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body).toMatchObject({ payments: { total: 3, imported: 3 }, matched: 2, unmatched: 1, outcomes: { paid: 2, denied: 1 } });
    expect(body.interchanges[0]).toMatchObject({ control: '000000011' });
    expect(body.unmatchedPayments).toEqual([{ label: expect.any(String), claimId: 'NOBODY', statusCode: '1', outcome: 'paid' }]);
    const again = await app.inject({ method: 'POST', url: '/v1/remits', headers: { ...admin, ...x12 }, payload: file() });
    expect(again.json()).toMatchObject({ alreadyImported: { source: 'POST /v1/remits' }, payments: { total: 3, alreadyImported: 3 } });
  });

  it('streams one record per payment, then the summary, when asked for NDJSON', async () => {
    const text = write835([paid(visit('H-1'), 'ICN-OTHER')], { control: 12 });
    const r = await app.inject({ method: 'POST', url: '/v1/remits', headers: { ...admin, ...x12, accept: 'application/x-ndjson' }, payload: text });
    expect(r.headers['content-type']).toContain('application/x-ndjson');
    const lines = r.body.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual([{ payment: expect.objectContaining({ claimId: 'H-1', status: 'imported', matched: expect.objectContaining({ claimId: 'H-1', by: 'claim-id' }) }) }, { summary: expect.objectContaining({ matched: 1 }) }]);
  });

  it('refuses what is not an 835, a file over the payment limit, a JSON body, and a service without history', async () => {
    const bad = await app.inject({ method: 'POST', url: '/v1/remits', headers: { ...admin, ...x12 }, payload: 'ISA*nonsense~' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'unreadable-remittance' });
    const big = await small.inject({ method: 'POST', url: '/v1/remits', headers: { ...admin, ...x12 }, payload: write835([paid(visit('H-1'), 'A'), paid(visit('H-2'), 'B')], { control: 13 }) });
    expect(big.statusCode).toBe(413);
    expect(big.json()).toMatchObject({ code: 'remittance-too-large' });
    const json = await app.inject({ method: 'POST', url: '/v1/remits', headers: { ...admin, 'content-type': 'application/json' }, payload: '{}' });
    expect(json.statusCode).toBe(415);
    const none = await off.inject({ method: 'POST', url: '/v1/remits', headers: { ...admin, ...x12 }, payload: file() });
    expect(none.statusCode).toBe(404);
    expect(none.json()).toMatchObject({ code: 'history-off' });
  });
});

describe('GET /v1/reports/effectiveness', () => {
  it('answers the report as JSON, and as HTML, Markdown or text by Accept or format', async () => {
    const json = await app.inject({ url: '/v1/reports/effectiveness', headers: billing });
    expect(json.statusCode).toBe(200);
    const report = json.json();
    expect(report.totals).toMatchObject({ recordings: 2, matched: 3, unmatched: 1 });
    expect(report.unpredicted).toEqual([expect.objectContaining({ code: 'CO-97', payerId: 'MEDICARE', procedureCode: '99213', count: 1, amount: 120, remarks: ['M15'] })]);
    const html = await app.inject({ url: '/v1/reports/effectiveness', headers: { ...billing, accept: 'text/html' } });
    expect(html.headers['content-type']).toContain('text/html');
    expect(html.body).toContain('<svg');
    const md = await app.inject({ url: '/v1/reports/effectiveness?format=markdown&payer=MEDICARE', headers: billing });
    expect(md.headers['content-type']).toContain('text/markdown');
    expect(md.body).toContain('| CO-97 | MEDICARE | 99213 | 1 | $120.00 |');
    const other = await app.inject({ url: '/v1/reports/effectiveness?payer=NOT-A-PAYER', headers: billing });
    expect(other.json().totals.recordings).toBe(0);
  });

  it('refuses a date that is not one, and answers history-off without a history', async () => {
    const bad = await app.inject({ url: '/v1/reports/effectiveness?since=yesterday', headers: billing });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'invalid-request' });
    const none = await off.inject({ url: '/v1/reports/effectiveness', headers: billing });
    expect(none.json()).toMatchObject({ code: 'history-off' });
  });
});
