import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { todayIso } from '../../src/claim/dates.js';
import { Scrubber } from '../../src/engine/scrubber.js';
import { ClaimHistory } from '../../src/history/claim-history.js';
import { PostgresHistoryStore } from '../../src/history/postgres.js';
import { SqliteHistoryStore } from '../../src/history/sqlite.js';
import type { HistoryStore } from '../../src/history/store.js';
import { buildApp } from '../../src/http/app.js';
import { loadPackSet } from '../../src/packs/loader.js';
import { bundledRulesDir } from '../../src/paths.js';
import { storeTestBed } from './store-test-bed.js';

/**
 * The workbench's view of the real claim history: how often a rule fired on the claims the
 * service recorded (GET /v1/rules/{id}/activity), read from the recordings and their findings.
 */

const SECRET = 'workbench-history-test-secret-0123456789';
const fixture = JSON.parse(readFileSync(path.join(bundledRulesDir, 'history/tests/fixtures/medicare-visit.json'), 'utf8')) as Record<string, any>;

function visit(id: string, member: string): Record<string, any> {
  const claim = structuredClone(fixture);
  claim.claimId = id;
  claim.patient.memberId = member;
  return claim;
}

let scrubber: Scrubber;

const bed = storeTestBed('workbench-history');

beforeAll(async () => {
  scrubber = new Scrubber(await loadPackSet(bundledRulesDir));
}, 60_000);

const backends = [
  { name: 'sqlite', open: async (): Promise<HistoryStore> => SqliteHistoryStore.open(path.join(bed.tmp, 'history.sqlite')) },
  { name: 'postgresql', open: async (): Promise<HistoryStore> => PostgresHistoryStore.open(bed.postgresUrl, { poolSize: 2 }) },
];

describe.each(backends)('the workbench reads the claim history on $name', (backend) => {
  let history: ClaimHistory;
  let app: FastifyInstance;

  beforeAll(async () => {
    if (backend.name === 'postgresql' && bed.postgresMissing !== undefined) return;
    history = new ClaimHistory(await backend.open(), SECRET, 1185);
    app = await buildApp({ scrubber: () => scrubber, history });
    // The same visit of one patient twice (the second is a duplicate), and a visit of another patient.
    for (const [id, member] of [
      ['W-1', 'P-1'],
      ['W-2', 'P-1'],
      ['W-3', 'P-2'],
    ] as const) {
      const r = await app.inject({ method: 'POST', url: '/v1/scrub?record=true', payload: visit(id, member) });
      expect(r.json().history).toMatchObject({ recorded: true });
    }
    // Scrubbed again (a correction): still one claim.
    await app.inject({ method: 'POST', url: '/v1/scrub?record=true', payload: visit('W-2', 'P-1') });
  });

  afterAll(async () => {
    await app?.close();
    await history?.close();
  });

  it('counts the claims recorded and those the rule fired on, by day', async ({ skip }) => {
    if (!app) return skip();
    const today = todayIso();
    const r = await app.inject({ url: '/v1/rules/history-duplicate-line/activity?days=7' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ ruleId: 'history-duplicate-line', until: today, claims: 3, fired: 1, byDay: [{ date: today, fired: 1 }] });
    const quiet = await app.inject({ url: '/v1/rules/billing-npi-invalid/activity' });
    expect(quiet.json()).toMatchObject({ claims: 3, fired: 0, byDay: [] });
  });

  it('leaves out days outside the period, and says history is on without whole claims to try edits on', async ({ skip }) => {
    if (!app) return skip();
    const old = await history.store.remits.ruleActivity({ ruleId: 'history-duplicate-line', since: '2020-01-01', until: '2020-12-31' });
    expect(old).toEqual({ ruleId: 'history-duplicate-line', since: '2020-01-01', until: '2020-12-31', claims: 0, fired: 0, byDay: [] });
    expect((await app.inject({ url: '/v1/session' })).json()).toMatchObject({ history: 'on', historyClaims: false });
    const { files } = (await app.inject({ url: '/v1/packs/core/files' })).json() as { files: Array<{ path: string; text: string }> };
    const whatIf = await app.inject({ method: 'POST', url: '/v1/packs/what-if', payload: { pack: 'core', files: Object.fromEntries(files.map((f) => [f.path, f.text])), sample: 'history' } });
    expect(whatIf.statusCode).toBe(404);
    expect(whatIf.json()).toMatchObject({ code: 'history-claims-not-kept' });
  });
});
