import { readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Scrubber } from '../../src/engine/scrubber.js';
import { ClaimHistory } from '../../src/history/claim-history.js';
import { PostgresHistoryStore } from '../../src/history/postgres.js';
import { SqliteHistoryStore } from '../../src/history/sqlite.js';
import { MIGRATIONS } from '../../src/history/migrations.js';
import { HistoryConfigError, type HistoryStore } from '../../src/history/store.js';
import { loadPackSet } from '../../src/packs/loader.js';
import { bundledRulesDir } from '../../src/paths.js';
import { storeTestBed } from './store-test-bed.js';

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
  /**
   * A store at schema version 2 in a place of its own, written by `fill` (raw SQL), then brought
   * to schema version `from` by its migrations as released, then opened by this program; with
   * the names of its tables after the opening.
   */
  openUpgraded: (from: number, fill: string[]) => Promise<{ store: HistoryStore; tables: () => Promise<string[]> }>;
  /** A new store on the backend's test database (several may be open at once: several instances). */
  open: () => Promise<HistoryStore>;
  /** Writes a schema version this program does not know. */
  claimNewerSchema: () => Promise<void>;
}

let scrubber: Scrubber;

const bed = storeTestBed('history');

beforeAll(async () => {
  scrubber = new Scrubber(await loadPackSet(bundledRulesDir));
}, 60_000);

const backends: Backend[] = [
  {
    name: 'sqlite',
    openUpgraded: async (from, fill) => {
      const file = path.join(bed.tmp, `version-${from}.sqlite`);
      const db = new Database(file);
      db.exec(`CREATE TABLE scrub_history_schema (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
      const migrate = (m: (typeof MIGRATIONS)[number]) => {
        db.exec(m.sqlite);
        db.prepare('INSERT INTO scrub_history_schema VALUES (?, ?, ?)').run(m.version, m.name, 'then');
      };
      for (const m of MIGRATIONS.filter((m) => m.version <= 2)) migrate(m);
      for (const sql of fill) db.exec(sql);
      for (const m of MIGRATIONS.filter((m) => m.version > 2 && m.version <= from)) migrate(m);
      db.close();
      const store = SqliteHistoryStore.open(file);
      const tables = async () => {
        const check = new Database(file, { readonly: true });
        try {
          return check.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
        } finally {
          check.close();
        }
      };
      return { store, tables };
    },
    open: async () => SqliteHistoryStore.open(path.join(bed.tmp, 'history.sqlite')),
    claimNewerSchema: async () => {
      const db = new Database(path.join(bed.tmp, 'history.sqlite'));
      db.prepare('INSERT INTO scrub_history_schema (version, name, applied_at) VALUES (999, ?, ?)').run('future', 'now');
      db.close();
    },
  },
  {
    name: 'postgresql',
    openUpgraded: async (from, fill) => {
      const url = new URL(bed.postgresUrl);
      const admin = new pg.Client({ connectionString: url.toString() });
      await admin.connect();
      const name = `${url.pathname.slice(1)}_v${from}`;
      await admin.query(`DROP DATABASE IF EXISTS ${name}`);
      await admin.query(`CREATE DATABASE ${name}`);
      await admin.end();
      url.pathname = `/${name}`;
      const c = new pg.Client({ connectionString: url.toString() });
      await c.connect();
      await c.query(`CREATE TABLE scrub_history_schema (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
      const migrate = async (m: (typeof MIGRATIONS)[number]) => {
        await c.query(m.postgresql);
        await c.query('INSERT INTO scrub_history_schema VALUES ($1, $2, $3)', [m.version, m.name, 'then']);
      };
      for (const m of MIGRATIONS.filter((m) => m.version <= 2)) await migrate(m);
      for (const sql of fill) await c.query(sql);
      for (const m of MIGRATIONS.filter((m) => m.version > 2 && m.version <= from)) await migrate(m);
      await c.end();
      const store = await PostgresHistoryStore.open(url.toString(), { poolSize: 2 });
      const tables = async () => {
        const check = new pg.Client({ connectionString: url.toString() });
        await check.connect();
        try {
          return (await check.query<{ name: string }>("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'")).rows.map((r) => r.name);
        } finally {
          await check.end();
        }
      };
      return { store, tables };
    },
    open: async () => PostgresHistoryStore.open(bed.postgresUrl, { poolSize: 8 }),
    claimNewerSchema: async () => {
      const c = new pg.Client({ connectionString: bed.postgresUrl });
      await c.connect();
      await c.query("INSERT INTO scrub_history_schema (version, name, applied_at) VALUES (999, 'future', 'now')");
      await c.end();
    },
  },
];

const unavailable = () => bed.postgresMissing !== undefined;

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

  it.for([2, 3])('brings a version-%i store up to date: its recorded lines read back the same, new claims record beside them, one copy of each line', async (from, ctx) => {
    if (skip()) return ctx.skip();
    const key = await keyOf('M-UPGRADE');
    const line = (n: number, rest: string) =>
      `INSERT INTO history_lines (claim_id, line_number, patient_key, payer_id, provider_npi, billing_npi, service_date, service_date_end, procedure_code, modifiers, units, charge, place_of_service, diagnoses, frequency_code, recorded_at) VALUES ('OLD-9', ${n}, '${key}', ${rest}, '11', 'E119', '1', '2026-01-05T00:00:00Z')`;
    const { store: upgraded, tables } = await backend.openUpgraded(from, [
      `INSERT INTO history_claims (claim_id, patient_key, payer_id, frequency_code, last_service_date, line_count, recorded_at) VALUES ('OLD-9', '${key}', 'MEDICARE', '1', '2026-01-04', 2, '2026-01-05T00:00:00Z')`,
      line(2, `'MEDICARE', '1987654328', '1234567893', '2026-01-03', '2026-01-04', '97110', 'GP 59', 2.5, 80.25`),
      line(1, `'MEDICARE', '1234567893', '1234567893', '2026-01-03', NULL, '99213', '', 1, 120`),
    ]);
    const migrated = new ClaimHistory(upgraded, SECRET, 1185);
    try {
      // Version 3's packed copy of the lines (history_patient_claims) is gone: the lines are kept once.
      expect(await tables()).toContain('history_lines');
      expect(await tables()).not.toContain('history_patient_claims');
      expect(await upgraded.linesOf(key, [])).toEqual([
        { claimId: 'OLD-9', lineNumber: 1, payerId: 'MEDICARE', providerNpi: '1234567893', serviceDate: '2026-01-03', procedureCode: '99213', modifiers: [], units: 1, charge: 120 },
        { claimId: 'OLD-9', lineNumber: 2, payerId: 'MEDICARE', providerNpi: '1987654328', serviceDate: '2026-01-03', serviceDateEnd: '2026-01-04', procedureCode: '97110', modifiers: ['GP', '59'], units: 2.5, charge: 80.25 },
      ]);
      await migrated.scrub(scrubber, visit('NEW-9', 'M-UPGRADE'), { record: true });
      expect((await upgraded.linesOf(key, ['OLD-9'])).map((l) => l.claimId)).toEqual(['NEW-9']);
      expect(await upgraded.counts()).toEqual({ claims: 2, lines: 2 + (fixture.lines as unknown[]).length });
      await upgraded.purgeBefore('2026-02-01');
      expect((await upgraded.linesOf(key, [])).map((l) => l.claimId)).not.toContain('OLD-9');
    } finally {
      await migrated.close();
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
