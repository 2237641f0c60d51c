import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { startTestPostgres, type TestPostgres } from './postgres-server.js';

/** What a test file of the history stores shares: a temp folder and a PostgreSQL database of its own. */
export interface StoreTestBed {
  readonly tmp: string;
  /** Why there is no PostgreSQL server (its tests skip), or undefined when there is one. */
  readonly postgresMissing: string | undefined;
  /** The file's database; only when a server is up. */
  readonly postgresUrl: string;
}

/**
 * Makes the test file's bed before its tests and removes it after them. Call it at the top of
 * the file, before the file's own beforeAll, which can then use the bed.
 */
export function storeTestBed(subject: string): StoreTestBed {
  let tmp: string | undefined;
  let postgres: TestPostgres | { reason: string } | undefined;
  const up = (): TestPostgres | { reason: string } => {
    if (!postgres) throw new Error('the store test bed is made in beforeAll: read it inside a test or a hook');
    return postgres;
  };
  beforeAll(async () => {
    tmp = mkdtempSync(path.join(tmpdir(), `scrub-${subject}-`));
    postgres = await startTestPostgres();
    if ('reason' in postgres) console.warn(`PostgreSQL ${subject} tests skipped: ${postgres.reason}`);
  }, 60_000);
  afterAll(async () => {
    if (postgres && !('reason' in postgres)) await postgres.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });
  return {
    get tmp() {
      if (!tmp) throw new Error('the store test bed is made in beforeAll: read it inside a test or a hook');
      return tmp;
    },
    get postgresMissing() {
      const server = up();
      return 'reason' in server ? server.reason : undefined;
    },
    get postgresUrl() {
      const server = up();
      if ('reason' in server) throw new Error(`no PostgreSQL server: ${server.reason}`);
      return server.url;
    },
  };
}
