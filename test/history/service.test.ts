import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundledRulesDir } from '../../src/paths.js';
import { request, runScrub, startServer, type RunningServer } from '../service/server.js';
import { startTestPostgres, type TestPostgres } from './postgres-server.js';

const SECRET = 'service-test-secret-0123456789';
const fixture = JSON.parse(readFileSync(path.join(bundledRulesDir, 'history/tests/fixtures/medicare-visit.json'), 'utf8')) as Record<string, any>;

function visit(id: string, member: string): string {
  const claim = structuredClone(fixture);
  claim.claimId = id;
  claim.patient.memberId = member;
  return JSON.stringify(claim);
}

const json = { 'content-type': 'application/json' };
const duplicateFlagged = (body: { findings: Array<{ ruleId: string }> }) => body.findings.some((f) => f.ruleId === 'history-duplicate-line');

describe('the service with a SQLite history in its data directory', () => {
  let server: RunningServer;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'scrub-data-'));
    server = await startServer({ env: { SCRUB_DATA_DIR: dataDir, SCRUB_HISTORY_SECRET: SECRET } });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('records a claim with record=true and flags the same service sent again on another claim', async () => {
    const first = await request(server.url, { path: '/v1/scrub?record=true', headers: json, body: visit('S-1', 'SVC-1') });
    expect(first.status).toBe(200);
    expect(first.json().history).toEqual({ consulted: true, recorded: true });
    const again = await request(server.url, { path: '/v1/scrub', headers: json, body: visit('S-2', 'SVC-1') });
    expect(duplicateFlagged(again.json())).toBe(true);
    expect(again.json().history).toEqual({ consulted: true, recorded: false });
  });

  it('scrubs without the history edits with history=off, and says so', async () => {
    const off = await request(server.url, { path: '/v1/scrub?history=off', headers: json, body: visit('S-3', 'SVC-1') });
    expect(off.status).toBe(200);
    expect(duplicateFlagged(off.json())).toBe(false);
    expect(off.json().history).toMatchObject({ consulted: false, recorded: false });
  });

  it('records every claim of a batch with record=true, in order', async () => {
    const body = [visit('B-1', 'SVC-B'), visit('B-2', 'SVC-B')].join('\n') + '\n';
    const answer = await request(server.url, { path: '/v1/scrub/batch?record=true', headers: { 'content-type': 'application/x-ndjson' }, body });
    const results = answer.text.trim().split('\n').map((l) => JSON.parse(l));
    expect(results.map(duplicateFlagged)).toEqual([false, true]);
  });

  it('refuses record=true with history=off, and values other than true and false', async () => {
    const both = await request(server.url, { path: '/v1/scrub?record=true&history=off', headers: json, body: visit('S-4', 'SVC-1') });
    expect(both.status).toBe(400);
    const bad = await request(server.url, { path: '/v1/scrub?record=yes', headers: json, body: visit('S-4', 'SVC-1') });
    expect(bad.json().detail).toMatch(/record must be true or false/);
  });
});

describe('a service started without a history', () => {
  it('refuses record=true, naming what to configure', async () => {
    const server = await startServer();
    try {
      const answer = await request(server.url, { path: '/v1/scrub?record=true', headers: json, body: visit('N-1', 'N') });
      expect(answer.status).toBe(400);
      expect(answer.json().detail).toMatch(/SCRUB_DATA_DIR.*SCRUB_HISTORY_URL/);
    } finally {
      await server.stop();
    }
  }, 60_000);

  it('does not start with a history but no SCRUB_HISTORY_SECRET', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'scrub-data-'));
    try {
      const { code, output } = await runScrub(['serve', '--port', '0'], { SCRUB_DATA_DIR: dataDir });
      expect(code).toBe(2);
      expect(output).toMatch(/SCRUB_HISTORY_SECRET.*claim history needs SCRUB_HISTORY_SECRET/s);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('several service workers sharing one PostgreSQL history', () => {
  let postgres: TestPostgres | { reason: string };
  let server: RunningServer | undefined;
  beforeAll(async () => {
    postgres = await startTestPostgres({ own: true });
    if ('reason' in postgres) {
      console.warn(`PostgreSQL service tests skipped: ${postgres.reason}`);
      return;
    }
    server = await startServer({ workers: 2, env: { SCRUB_HISTORY_URL: postgres.url, SCRUB_HISTORY_SECRET: SECRET } });
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    if (postgres && !('reason' in postgres)) await postgres.close();
  });

  it('flags exactly one claim of each duplicate pair sent at the same time', async (ctx) => {
    if (!server) return ctx.skip();
    const pairs = 30;
    const answers = await Promise.all(
      Array.from({ length: pairs }, (_, i) => [`a`, `b`].map((side) => request(server!.url, { path: '/v1/scrub?record=true', headers: json, body: visit(`W${i}-${side}`, `WORKERS-${i}`) }))).flat(),
    );
    for (let i = 0; i < pairs; i++) {
      const pair = [answers[2 * i]!, answers[2 * i + 1]!];
      expect(pair.map((a) => a.status), pair.map((a) => a.text).join(" / ")).toEqual([200, 200]);
      expect(pair.filter((a) => duplicateFlagged(a.json())), `pair ${i}`).toHaveLength(1);
    }
  }, 60_000);

  it('answers 503 history-unavailable and is not ready while PostgreSQL is down, and recovers', async (ctx) => {
    if (!server || 'reason' in postgres) return ctx.skip();
    postgres.stop!();
    try {
      const ready = await request(server.url, { path: '/readyz' });
      expect(ready.status).toBe(503);
      expect(ready.json().detail).toMatch(/claim history cannot be reached/);
      const scrub = await request(server.url, { path: '/v1/scrub', headers: json, body: visit('DOWN-1', 'DOWN') });
      expect(scrub.status).toBe(503);
      expect(scrub.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(scrub.json().code).toBe('history-unavailable');
      const off = await request(server.url, { path: '/v1/scrub?history=off', headers: json, body: visit('DOWN-2', 'DOWN') });
      expect(off.status).toBe(200);
      expect(off.json().history).toMatchObject({ consulted: false });
    } finally {
      postgres.start!();
    }
    const until = performance.now() + 20_000;
    let status = 0;
    while (performance.now() < until && status !== 200) {
      status = (await request(server.url, { path: '/readyz' })).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe(200);
  }, 60_000);
});
