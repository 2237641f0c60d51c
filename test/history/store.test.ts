import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Scrubber } from '../../src/engine/scrubber.js';
import { ClaimHistory } from '../../src/history/claim-history.js';
import { PostgresHistoryStore } from '../../src/history/postgres.js';
import { SqliteHistoryStore } from '../../src/history/sqlite.js';
import { HistoryConfigError, type HistoryStore } from '../../src/history/store.js';
import { loadPackSet } from '../../src/packs/loader.js';
import { bundledRulesDir } from '../../src/paths.js';
import { startTestPostgres, type TestPostgres } from './postgres-server.js';

const SECRET = 'store-test-secret-0123456789';
const fixture = JSON.parse(readFileSync(path.join(bundledRulesDir, 'history/tests/fixtures/medicare-visit.json'), 'utf8')) as Record<string, unknown>;

/** The fixture visit as claim `id` of patient `member`. */
function visit(id: string, member = 'M-1', changes: Record<string, unknown> = {}): Record<string, unknown> {
  const claim = structuredClone(fixture) as Record<string, any>;
  claim.claimId = id;
  claim.patient.memberId = member;
  Object.assign(claim.lines[0], changes);
  return claim;
}

interface Backend {
  name: string;
  /** A new store on the backend's test database (several may be open at once: several instances). */
  open: () => Promise<HistoryStore>;
  /** Writes a schema version this program does not know. */
  claimNewerSchema: () => Promise<void>;
}

let scrubber: Scrubber;
let tmp: string;
let postgres: TestPostgres | { reason: string };

beforeAll(async () => {
  scrubber = new Scrubber(await loadPackSet(bundledRulesDir));
  tmp = mkdtempSync(path.join(tmpdir(), 'scrub-history-'));
  postgres = await startTestPostgres();
  if ('reason' in postgres) console.warn(`PostgreSQL history tests skipped: ${postgres.reason}`);
}, 60_000);

afterAll(async () => {
  if (postgres && !('reason' in postgres)) await postgres.close();
  rmSync(tmp, { recursive: true, force: true });
});

const backends: Backend[] = [
  {
    name: 'sqlite',
    open: async () => SqliteHistoryStore.open(path.join(tmp, 'history.sqlite')),
    claimNewerSchema: async () => {
      const db = new Database(path.join(tmp, 'history.sqlite'));
      db.prepare('INSERT INTO scrub_history_schema (version, name, applied_at) VALUES (999, ?, ?)').run('future', 'now');
      db.close();
    },
  },
  {
    name: 'postgresql',
    open: async () => PostgresHistoryStore.open((postgres as TestPostgres).url, { poolSize: 8 }),
    claimNewerSchema: async () => {
      const c = new pg.Client({ connectionString: (postgres as TestPostgres).url });
      await c.connect();
      await c.query("INSERT INTO scrub_history_schema (version, name, applied_at) VALUES (999, 'future', 'now')");
      await c.end();
    },
  },
];

const unavailable = () => postgres !== undefined && 'reason' in postgres;

describe.each(backends)('the claim history on $name', (backend) => {
  const skip = () => backend.name === 'postgresql' && unavailable();
  let store: HistoryStore;
  let history: ClaimHistory;

  beforeAll(async () => {
    if (skip()) return;
    store = await backend.open();
    history = new ClaimHistory(store, SECRET, 1185);
  });
  afterAll(async () => {
    await history?.close();
  });

  it('creates its schema on first use and opens again without changing it', async (ctx) => {
    if (skip()) return ctx.skip();
    const again = await backend.open();
    expect(await again.counts()).toEqual(await store.counts());
    await again.close();
  });

  it('records a claim, finds it as an exact duplicate, and keeps no member id or birth date', async (ctx) => {
    if (skip()) return ctx.skip();
    const first = await history.scrub(scrubber, visit('A-1', 'MEMBER-SECRET-1'), { record: true, asOf: '2026-03-02' });
    expect(first.history).toEqual({ consulted: true, recorded: true });
    expect(first.findings.map((f) => f.ruleId)).not.toContain('history-duplicate-line');
    const second = await history.scrub(scrubber, visit('A-2', 'MEMBER-SECRET-1'), { asOf: '2026-03-02' });
    const duplicate = second.findings.find((f) => f.ruleId === 'history-duplicate-line');
    expect(duplicate?.details).toEqual({ earlier: ['A-1 line 1'] });
    expect(second.history).toEqual({ consulted: true, recorded: false });
    // A what-if scrub recorded nothing.
    const lines = await store.linesOf((await keyOf('MEMBER-SECRET-1')), []);
    expect(lines.map((l) => l.claimId)).toEqual(['A-1']);
    expect(JSON.stringify(lines)).not.toMatch(/MEMBER-SECRET-1|1950-04-01|Test/);
  });

  it('replaces a claim recorded again under its id, and a replacement (7) replaces the claim it names', async (ctx) => {
    if (skip()) return ctx.skip();
    await history.scrub(scrubber, visit('B-1', 'M-B'), { record: true });
    const again = await history.scrub(scrubber, visit('B-1', 'M-B', { units: 2 }), { record: true });
    expect(again.findings.some((f) => f.pack === 'history')).toBe(false);
    const replacement = { ...visit('B-2', 'M-B', { units: 3 }), frequencyCode: '7', originalClaimNumber: 'B-1' };
    const replaced = await history.scrub(scrubber, replacement, { record: true });
    expect(replaced.findings.some((f) => f.pack === 'history')).toBe(false);
    const lines = await store.linesOf(await keyOf('M-B'), []);
    expect(lines.map((l) => [l.claimId, l.units])).toEqual([['B-2', 3]]);
  });

  it('removes a voided claim (frequency 8)', async (ctx) => {
    if (skip()) return ctx.skip();
    await history.scrub(scrubber, visit('C-1', 'M-C'), { record: true });
    const voided = await history.scrub(scrubber, { ...visit('C-VOID', 'M-C'), frequencyCode: '8', originalClaimNumber: 'C-1' }, { record: true });
    expect(voided.history).toEqual({ consulted: true, recorded: true });
    expect(await store.linesOf(await keyOf('M-C'), [])).toEqual([]);
  });

  it('does not record a claim that fails the claim schema, and says why', async (ctx) => {
    if (skip()) return ctx.skip();
    const broken = visit('D-1', 'M-D', { units: 'one' });
    const result = await history.scrub(scrubber, broken, { record: true });
    expect(result.history).toMatchObject({ consulted: true, recorded: false });
    expect(result.history?.reason).toMatch(/claim schema/);
    expect(await store.linesOf(await keyOf('M-D'), [])).toEqual([]);
  });

  it('says history was not consulted when asked to scrub without it, or when the claim has no member id', async (ctx) => {
    if (skip()) return ctx.skip();
    const off = await history.scrub(scrubber, visit('A-3', 'MEMBER-SECRET-1'), { mode: 'off' });
    expect(off.history).toMatchObject({ consulted: false, recorded: false });
    expect(off.findings.some((f) => f.pack === 'history')).toBe(false);
    const anonymous = visit('E-1');
    delete (anonymous.patient as Record<string, unknown>).memberId;
    const result = await history.scrub(scrubber, anonymous, { record: true });
    expect(result.history).toMatchObject({ consulted: false, recorded: false });
    expect(result.history?.reason).toMatch(/member id/);
  });

  it('purges claims whose last date of service is past the retention period', async (ctx) => {
    if (skip()) return ctx.skip();
    await history.scrub(scrubber, visit('OLD-1', 'M-OLD', { serviceDate: '2020-01-02' }), { record: true });
    await history.scrub(scrubber, visit('NEW-1', 'M-OLD', { serviceDate: '2026-01-02' }), { record: true });
    const { removed, before } = await history.purge('2026-03-01');
    expect(before).toBe('2022-12-02'); // 1185 days before
    expect(removed).toBe(1);
    expect((await store.linesOf(await keyOf('M-OLD'), [])).map((l) => l.claimId)).toEqual(['NEW-1']);
  });

  it('flags exactly one claim of each duplicate pair scrubbed and recorded at the same time', async (ctx) => {
    if (skip()) return ctx.skip();
    // Two "instances" sharing the store: on PostgreSQL two pools, on SQLite two connections.
    const other = new ClaimHistory(await backend.open(), SECRET, 1185);
    try {
      const pairs = 40;
      const runs = Array.from({ length: pairs }, (_, i) => [
        history.scrub(scrubber, visit(`P${i}-a`, `PAIR-${i}`), { record: true }),
        other.scrub(scrubber, visit(`P${i}-b`, `PAIR-${i}`), { record: true }),
      ]);
      const results = await Promise.all(runs.flat());
      for (let i = 0; i < pairs; i++) {
        const flagged = [results[2 * i]!, results[2 * i + 1]!].filter((r) => r.findings.some((f) => f.ruleId === 'history-duplicate-line'));
        expect(flagged, `pair ${i}`).toHaveLength(1);
      }
    } finally {
      await other.close();
    }
  });

  it('refuses a store whose schema is newer than this program', async (ctx) => {
    if (skip()) return ctx.skip();
    await backend.claimNewerSchema();
    await expect(backend.open()).rejects.toThrow(HistoryConfigError);
    await expect(backend.open()).rejects.toThrow(/schema version 999, newer than this program knows/);
  });
});

async function keyOf(member: string): Promise<string> {
  const { patientKeyOf } = await import('../../src/history/record.js');
  return patientKeyOf(SECRET, member, '1950-04-01');
}
