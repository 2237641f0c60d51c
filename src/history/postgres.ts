import pg from 'pg';
import type { RecordedLine } from '../engine/history.js';
import { LATEST_VERSION, MIGRATIONS, SCHEMA_TABLE, newerSchemaMessage } from './migrations.js';
import {
  HistoryConfigError,
  HistoryUnavailableError,
  LINE_COLUMNS,
  PURGE_STATEMENTS,
  READ_SQL,
  RECORDING_INSERT_COLUMNS,
  lineRow,
  readManySql,
  recordingRow,
  recordedLinesOf,
  rowsByPatient,
  type HistoryStore,
  type HistoryWriter,
  type RecordedClaim,
  type StoreCounts,
} from './store.js';
import { PostgresRemitStore } from './postgres-remits.js';

/**
 * The shared history: PostgreSQL, for several instances (or cluster workers) that must see one
 * another's claims. A patient's check-and-record is one transaction holding a transaction-level
 * advisory lock on the patient key: READ COMMITTED is enough once every writer of that patient
 * waits for the one before it, and unlike SERIALIZABLE nothing has to be retried. Other
 * patients' claims never wait.
 */

export interface PostgresOptions {
  /** Connections kept per process. */
  poolSize?: number;
  /** Longest wait for a connection, and longest statement, in ms. */
  timeoutMs?: number;
}

/** The advisory lock that serialises migrations of instances starting at once. */
const MIGRATION_LOCK = 0x5c7b0b1e;

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unreadable URL)';
  }
}

/** A 64-bit advisory lock key from the patient key (hex HMAC): the first 16 hex digits. */
export function lockKeyOf(patientKey: string): string {
  return BigInt.asIntN(64, BigInt(`0x${patientKey.slice(0, 16)}`)).toString();
}

/** PostgreSQL types of LINE_COLUMNS, for inserting whole columns at once with unnest. */
const LINE_TYPES = ['text', 'int', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'float8', 'float8', 'text', 'text', 'text', 'text'];
const CLAIM_COLUMNS = ['claim_id', 'patient_key', 'payer_id', 'frequency_code', 'last_service_date', 'line_count', 'recorded_at'];
const CLAIM_TYPES = ['text', 'text', 'text', 'text', 'text', 'int', 'text'];

/** One INSERT of many rows: each column is sent as one array parameter and unnested. */
function unnestInsert(table: string, columns: readonly string[], types: readonly string[]): string {
  return `INSERT INTO ${table} (${columns.join(', ')}) SELECT * FROM unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(', ')})`;
}
const INSERT_CLAIMS = unnestInsert('history_claims', CLAIM_COLUMNS, CLAIM_TYPES);
const INSERT_LINES = unnestInsert('history_lines', LINE_COLUMNS, LINE_TYPES);
const INSERT_RECORDINGS = unnestInsert('history_recordings', RECORDING_INSERT_COLUMNS, ['text', 'text', 'text', 'text', 'text', 'text', 'text', 'text']);

function columnsOf(rows: readonly unknown[][], width: number): unknown[][] {
  const columns: unknown[][] = Array.from({ length: width }, () => []);
  for (const row of rows) for (let c = 0; c < width; c++) columns[c]!.push(row[c]);
  return columns;
}

async function insertClaims(client: pg.PoolClient, claims: readonly RecordedClaim[]): Promise<void> {
  if (claims.length === 0) return;
  const claimRows = claims.map((c) => [c.claimId, c.patientKey, c.payerId, c.frequencyCode ?? null, c.lastServiceDate, c.lines.length, c.recordedAt]);
  await client.query(INSERT_CLAIMS, columnsOf(claimRows, CLAIM_COLUMNS.length));
  const lineRows = claims.flatMap((c) => c.lines.map((l) => lineRow(c.patientKey, l)));
  if (lineRows.length > 0) await client.query(INSERT_LINES, columnsOf(lineRows, LINE_COLUMNS.length));
  await client.query(INSERT_RECORDINGS, columnsOf(claims.map(recordingRow), RECORDING_INSERT_COLUMNS.length));
}

/** The one read per claim: a patient's lines, by the primary key's first column. */
const READ_LINES = `${READ_SQL}$1`;

/** The read of a chunk of claims: several patients' lines in one statement (one snapshot). */
const READ_MANY = readManySql('(SELECT key, (n - 1)::int AS i FROM unnest($1::text[]) WITH ORDINALITY AS u(key, n)) AS k');

/** Carries an error of the caller's work through the transaction, told apart from the database's. */
class WorkFailed {
  constructor(readonly error: unknown) {}
}

export class PostgresHistoryStore implements HistoryStore {
  readonly kind = 'postgresql' as const;
  readonly remits: PostgresRemitStore;

  private constructor(
    readonly where: string,
    private readonly pool: pg.Pool,
  ) {
    this.remits = new PostgresRemitStore({
      query: async (what, sql, values) => {
        try {
          return (await this.pool.query(sql, values)).rows;
        } catch (err) {
          throw this.unavailable(what, err);
        }
      },
      transaction: (what, work) => this.transaction(what, work),
    });
  }

  /** Connects, brings the schema up to date, and keeps a pool of connections. */
  static async open(url: string, options: PostgresOptions = {}): Promise<PostgresHistoryStore> {
    const where = redactUrl(url);
    const timeout = options.timeoutMs ?? 5000;
    const pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: timeout,
      idleTimeoutMillis: 30_000,
      statement_timeout: timeout,
      query_timeout: timeout + 1000,
      idle_in_transaction_session_timeout: timeout * 2,
      application_name: 'claim-scrubber',
    });
    // A connection that breaks while idle in the pool must not crash the process.
    pool.on('error', () => undefined);
    const store = new PostgresHistoryStore(where, pool);
    try {
      await store.migrate();
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw err;
    }
    return store;
  }

  private unavailable(what: string, err: unknown): HistoryUnavailableError {
    if (err instanceof HistoryUnavailableError) return err;
    return new HistoryUnavailableError(`the history database ${this.where} could not ${what}: ${(err as Error).message}`, err);
  }

  private async connect(what: string): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect();
    } catch (err) {
      throw this.unavailable(what, err);
    }
  }

  private async migrate(): Promise<void> {
    const client = await this.connect('be reached');
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query(`CREATE TABLE IF NOT EXISTS ${SCHEMA_TABLE} (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
      const current = Number((await client.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${SCHEMA_TABLE}`)).rows[0]?.v ?? 0);
      if (current > LATEST_VERSION) throw new HistoryConfigError(newerSchemaMessage(this.where, current));
      for (const m of MIGRATIONS) {
        if (m.version <= current) continue;
        await client.query(m.postgresql);
        await client.query(`INSERT INTO ${SCHEMA_TABLE} (version, name, applied_at) VALUES ($1, $2, $3)`, [m.version, m.name, new Date().toISOString()]);
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (err instanceof HistoryConfigError) throw err;
      throw this.unavailable('be prepared', err);
    } finally {
      client.release();
    }
  }

  private async read(q: pg.Pool | pg.PoolClient, patientKey: string, exclude: readonly string[]): Promise<RecordedLine[]> {
    // A named statement: parsed and planned once per connection, then only bound and run.
    const result = await q.query<unknown[]>({ name: 'history-read-claims', text: READ_LINES, values: [patientKey], rowMode: 'array' });
    return recordedLinesOf(result.rows, exclude);
  }

  async linesOf(patientKey: string, exclude: readonly string[]): Promise<RecordedLine[]> {
    try {
      return await this.read(this.pool, patientKey, exclude);
    } catch (err) {
      throw this.unavailable('be read', err);
    }
  }

  async rowsOfMany(patientKeys: readonly string[]): Promise<Map<string, Array<readonly unknown[]>>> {
    if (patientKeys.length === 0) return new Map();
    try {
      const result = await this.pool.query<unknown[]>({ name: 'history-read-many', text: READ_MANY, values: [patientKeys], rowMode: 'array' });
      return rowsByPatient(patientKeys, result.rows);
    } catch (err) {
      throw this.unavailable('be read', err);
    }
  }

  /** Runs `work` in a transaction; a failure of the database (not of `work`) is HistoryUnavailableError. */
  private async transaction<T>(what: string, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.connect(what);
    let broken = false;
    try {
      await client.query('BEGIN');
      const value = await work(client);
      await client.query('COMMIT');
      return value;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      // What the caller's work threw is its own; everything else is the database failing.
      throw err instanceof WorkFailed ? err.error : this.unavailable(what, err);
    } finally {
      client.release(broken);
    }
  }

  async withPatient<T>(patientKey: string, exclude: readonly string[], work: (lines: RecordedLine[], writer: HistoryWriter) => T | Promise<T>): Promise<T> {
    return this.transaction('record the claim', async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [lockKeyOf(patientKey)]);
      const lines = await this.read(client, patientKey, exclude);
      const writing = async (step: () => Promise<unknown>) => {
        try {
          await step();
        } catch (err) {
          throw this.unavailable('record the claim', err);
        }
      };
      const writer: HistoryWriter = {
        record: (claim) =>
          writing(async () => {
            await client.query('DELETE FROM history_claims WHERE claim_id = $1', [claim.claimId]);
            await insertClaims(client, [claim]);
          }),
        remove: (ids) => writing(async () => ids.length > 0 && (await client.query('DELETE FROM history_claims WHERE claim_id = ANY($1)', [ids]))),
      };
      try {
        return await work(lines, writer);
      } catch (error) {
        throw new WorkFailed(error);
      }
    });
  }

  async recordMany(claims: readonly RecordedClaim[], removals: readonly string[] = []): Promise<void> {
    await this.transaction('record the claims', async (client) => {
      const ids = [...removals, ...claims.map((c) => c.claimId)];
      if (ids.length > 0) await client.query('DELETE FROM history_claims WHERE claim_id = ANY($1)', [ids]);
      await insertClaims(client, claims);
    });
  }

  async purgeBefore(date: string): Promise<number> {
    try {
      return await this.transaction('be purged', async (client) => {
        for (const sql of PURGE_STATEMENTS) await client.query(sql.replace('?', '$1'), [date]);
        return (await client.query('DELETE FROM history_claims WHERE last_service_date < $1', [date])).rowCount ?? 0;
      });
    } catch (err) {
      throw this.unavailable('be purged', err);
    }
  }

  async ping(): Promise<void> {
    try {
      await this.pool.query('SELECT 1');
    } catch (err) {
      throw this.unavailable('be reached', err);
    }
  }

  async counts(): Promise<StoreCounts> {
    try {
      const claims = Number((await this.pool.query<{ n: string }>('SELECT count(*) AS n FROM history_claims')).rows[0]!.n);
      const lines = Number((await this.pool.query<{ n: string }>('SELECT count(*) AS n FROM history_lines')).rows[0]!.n);
      return { claims, lines };
    } catch (err) {
      throw this.unavailable('be read', err);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
