import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LATEST_VERSION } from '../../src/history/migrations.js';
import { SqliteHistoryStore } from '../../src/history/sqlite.js';
import type { RecordedClaim } from '../../src/history/store.js';

/**
 * The embedded store's file as SQLite keeps it: what the per-claim read costs depends on its
 * state (docs/history.md, Cost).
 */

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'scrub-sqlite-file-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const claim = (claimId: string, patientKey: string): RecordedClaim => ({
  patientKey,
  claimId,
  payerId: 'MEDICARE',
  recordedAt: '2026-03-02T00:00:00Z',
  lastServiceDate: '2026-03-01',
  lines: [
    { claimId, lineNumber: 1, payerId: 'MEDICARE', providerNpi: '1234567893', billingNpi: '1234567893', serviceDate: '2026-03-01', procedureCode: '99213', modifiers: ['25'], units: 1, charge: 120, diagnoses: ['E119'], recordedAt: '2026-03-02T00:00:00Z' },
  ],
});

const pragma = (file: string, name: string): unknown => {
  const db = new Database(file, { readonly: true });
  try {
    return db.pragma(name, { simple: true });
  } finally {
    db.close();
  }
};

const walBytes = (file: string): number => {
  try {
    return statSync(`${file}-wal`).size;
  } catch {
    return 0;
  }
};

describe('the SQLite history file', () => {
  it('commits when it opens, so the write-ahead log holds a commit before any claim is recorded', async () => {
    const file = path.join(tmp, 'reopened.sqlite');
    const first = SqliteHistoryStore.open(file);
    await first.recordMany([claim('R-1', 'c'.repeat(64))]);
    await first.close();
    // The last connection to close checkpoints the log into the file and removes it.
    expect(walBytes(file)).toBe(0);
    const again = SqliteHistoryStore.open(file);
    try {
      // Without a commit in the log, SQLite reads the file's size (fstat) on every read transaction.
      expect(walBytes(file)).toBeGreaterThan(0);
      expect(pragma(file, 'user_version')).toBe(LATEST_VERSION);
      expect(again.linesNow('c'.repeat(64), []).map((l) => l.claimId)).toEqual(['R-1']);
    } finally {
      await again.close();
    }
  });

  /** `PRAGMA wal_checkpoint(TRUNCATE)` from a connection of its own: busy 1 while a reader holds a lock on the log. */
  const checkpoint = (file: string): { busy: number; log: number } => {
    const db = new Database(file, { timeout: 0 });
    try {
      return (db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number; log: number }>)[0]!;
    } finally {
      db.close();
    }
  };

  it('reads what another process recorded a moment before, while it holds the read lock between reads', async () => {
    const file = path.join(tmp, 'other-process.sqlite');
    const key = 'd'.repeat(64);
    const store = SqliteHistoryStore.open(file, { readLockHoldMs: 60_000 });
    try {
      await store.recordMany([claim('P-1', key)]);
      expect(store.linesNow(key, []).map((l) => l.claimId)).toEqual(['P-1']);
      // The lock is held between reads (what spares each read its system calls) ...
      expect(checkpoint(file).busy).toBe(1);
      const sql = [
        `INSERT INTO history_claims (claim_id, patient_key, payer_id, last_service_date, line_count, recorded_at) VALUES ('P-2', '${key}', 'MEDICARE', '2026-03-04', 1, 'now')`,
        `INSERT INTO history_lines (claim_id, line_number, patient_key, payer_id, provider_npi, billing_npi, service_date, procedure_code, modifiers, units, charge, diagnoses, recorded_at) VALUES ('P-2', 1, '${key}', 'MEDICARE', '1234567893', '1234567893', '2026-03-04', '99214', '', 1, 150, 'E119', 'now')`,
      ];
      const child = spawnSync(process.execPath, ['-e', `const db = new (require('better-sqlite3'))(${JSON.stringify(file)}); db.transaction(() => { for (const s of ${JSON.stringify(sql)}) db.exec(s); })(); db.close();`], { cwd: process.cwd(), encoding: 'utf8' });
      expect(child.stderr).toBe('');
      expect(child.status).toBe(0);
      // ... and never makes a read stale: each read is a transaction of its own, after the other process's commit.
      expect(store.linesNow(key, []).map((l) => [l.claimId, l.procedureCode])).toEqual([
        ['P-1', '99213'],
        ['P-2', '99214'],
      ]);
      expect((await store.rowsOfMany([key])).get(key)).toHaveLength(2);
    } finally {
      await store.close();
    }
  });

  it('lets go of the read lock when reads stop, and at once after a recording, so checkpoints go on', async () => {
    const file = path.join(tmp, 'checkpoints.sqlite');
    const key = 'e'.repeat(64);
    const store = SqliteHistoryStore.open(file, { readLockHoldMs: 50 });
    try {
      await store.recordMany([claim('Q-1', key)]);
      store.linesNow(key, []);
      expect(checkpoint(file).busy).toBe(1);
      // No read for a while: the timer lets go (within twice readLockHoldMs) and a checkpoint empties the log.
      await new Promise((resolve) => setTimeout(resolve, 250));
      expect(checkpoint(file)).toMatchObject({ busy: 0, log: 0 });
      // A commit in the log again, and a read holding the lock on it ...
      await store.recordMany([claim('Q-2', key)]);
      expect(store.linesNow(key, []).map((l) => l.claimId)).toEqual(['Q-1', 'Q-2']);
      expect(checkpoint(file).busy).toBe(1);
      // ... which a recording of this process lets go of at once.
      await store.recordMany([claim('Q-3', key)]);
      expect(checkpoint(file)).toMatchObject({ busy: 0, log: 0 });
    } finally {
      await store.close();
    }
  });
});
