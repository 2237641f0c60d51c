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
});
