import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LATEST_VERSION } from '../../src/history/migrations.js';
import { PAGE_BYTES, SqliteHistoryStore } from '../../src/history/sqlite.js';
import type { RecordedClaim } from '../../src/history/store.js';

/**
 * How the embedded store lays out its file: what the per-claim read costs depends on it
 * (docs/history.md, Cost), and stores made by earlier versions must keep working as they are.
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
  it(`creates a new store with ${PAGE_BYTES}-byte pages`, async () => {
    const file = path.join(tmp, 'new.sqlite');
    const store = SqliteHistoryStore.open(file);
    await store.recordMany([claim('N-1', 'a'.repeat(64))]);
    await store.close();
    expect(pragma(file, 'page_size')).toBe(PAGE_BYTES);
  });

  it('keeps the page size of a store created with another one, and reads and records in it', async () => {
    const file = path.join(tmp, 'old-pages.sqlite');
    const old = new Database(file);
    old.pragma('page_size = 4096');
    old.pragma('journal_mode = WAL');
    old.exec('CREATE TABLE placeholder (x)');
    old.close();
    const store = SqliteHistoryStore.open(file);
    await store.recordMany([claim('O-1', 'b'.repeat(64))]);
    expect(store.linesNow('b'.repeat(64), []).map((l) => [l.claimId, l.procedureCode, l.modifiers])).toEqual([['O-1', '99213', ['25']]]);
    await store.close();
    expect(pragma(file, 'page_size')).toBe(4096);
  });

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
