import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
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
  KEY_INDEX_COLUMN,
  readManySql,
  recordingRow,
  recordedLinesOf,
  rowsByPatient,
  type HistoryStore,
  type HistoryWriter,
  type RecordedClaim,
  type StoreCounts,
} from './store.js';
import { SqliteRemitStore } from './sqlite-remits.js';

/**
 * The embedded history: one SQLite file in WAL mode (readers never wait for the writer, and a
 * process killed mid-write leaves every transaction either committed or absent). Every change
 * is one IMMEDIATE transaction, which takes SQLite's write lock before it reads: a check and a
 * record of one claim are one unit even when several processes share the file.
 */

export interface SqliteOptions {
  /** How long a writer waits for another process's write lock before giving up, in ms. */
  busyTimeoutMs?: number;
  /** The longest the read lock of what-if reads is held between them, in ms (ReadLockHolder). */
  readLockHoldMs?: number;
}

/** ReadLockHolder's default: how long a checkpoint may have to wait for it, at most twice this. */
const READ_LOCK_HOLD_MS = 1000;

/**
 * Spares a what-if read its system calls. Every read transaction in WAL mode takes a shared
 * lock on a read slot of the `-shm` file and releases it (two fcntl calls); on these VMs a
 * system call flushes the TLB (PTI without PCID), and the scrub after it pays more for that than
 * for the read itself (bench history: 36 us CPU per claim for the lock pair of a one-row read,
 * none without it). SQLite takes the lock from the system only when no other connection of the
 * process holds it: this connection holds it, in a read transaction it never reads from, so
 * that the reader's own transactions find it held and make no system call. The reader still
 * starts a transaction of its own for every read, and sees every commit made before it (by any
 * process): when a commit has moved the log past the held slot, the reader takes a slot of its
 * own, as without the holder, until the holder moves on. The holder lets go after each
 * recording of this process and at most `holdMs` after taking the lock (a timer lets go of it
 * when no read comes), so checkpoints wait at most that long for the frames committed since.
 */
class ReadLockHolder {
  private readonly start: Database.Statement;
  private heldSince: number | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly db: Database.Database,
    private readonly holdMs: number,
  ) {
    this.start = db.prepare(`SELECT max(version) FROM ${SCHEMA_TABLE}`).raw(true);
    this.timer = setInterval(() => {
      if (this.heldSince !== undefined && performance.now() - this.heldSince >= this.holdMs) this.release();
    }, holdMs);
    this.timer.unref();
  }

  /** Holds the read slot of the store's latest commit, taking it anew once held `holdMs`. */
  hold(): void {
    if (this.heldSince !== undefined) {
      if (performance.now() - this.heldSince < this.holdMs) return;
      this.release();
    }
    try {
      this.db.exec('BEGIN');
      this.start.all();
      this.heldSince = performance.now();
    } catch {
      // Not holding costs the reads their system calls, nothing else: the read itself reports any failure.
      this.release();
    }
  }

  release(): void {
    this.heldSince = undefined;
    if (this.db.inTransaction) this.db.exec('ROLLBACK');
  }

  close(): void {
    clearInterval(this.timer);
    this.release();
    this.db.close();
  }
}

/** The most of the file mapped into memory for reads (address space, not memory used): SQLite's own ceiling. */
const MMAP_BYTES = 0x7fff0000;

/**
 * Most patient keys in one statement of a chunk's read. Lists are padded (with '', which no
 * patient key is) to a power of two, so a handful of statements serve every chunk size.
 */
const MOST_KEYS_PER_READ = 256;

/** A history that lives only as long as the process (pack tests). */
export const IN_MEMORY = ':memory:';

export class SqliteHistoryStore implements HistoryStore {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  /** The connection of the reads outside a recording (a what-if scrub): its pages come through a memory map. */
  private readonly reader: Database.Database;
  /** Holds the reader's read lock between what-if reads (a file store only). */
  private readonly lockHolder: ReadLockHolder | undefined;
  /** The read inside a recording's transaction, on the writing connection. */
  private readonly readLines: Database.Statement;
  private readonly readLinesMapped: Database.Statement;
  /** The chunk reads on the reader, by how many keys they take (a power of two). */
  private readonly readManyMapped = new Map<number, Database.Statement>();
  private readonly readTransaction: (keys: readonly string[]) => unknown[][];
  private readonly insertClaim: Database.Statement;
  private readonly insertLine: Database.Statement;
  private readonly deleteClaim: Database.Statement;
  private readonly insertRecording: Database.Statement;
  readonly remits: SqliteRemitStore;
  /** An asynchronous unit in flight holds the one connection (and its transaction) until it settles. */
  private busy: Promise<unknown> | undefined;
  private closed = false;

  private constructor(
    readonly where: string,
    db: Database.Database,
    reader: Database.Database,
    lockHolder?: ReadLockHolder,
  ) {
    this.db = db;
    this.reader = reader;
    this.lockHolder = lockHolder;
    // A plain lookup of the primary key's first column: one range scan of the patient's lines,
    // which WITHOUT ROWID keeps together in the table itself.
    this.readLines = db.prepare(`${READ_SQL}?`).raw(true);
    this.readLinesMapped = reader.prepare(`${READ_SQL}?`).raw(true);
    this.insertClaim = db.prepare(
      'INSERT INTO history_claims (claim_id, patient_key, payer_id, frequency_code, last_service_date, line_count, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.insertLine = db.prepare(`INSERT INTO history_lines (${LINE_COLUMNS.join(', ')}) VALUES (${LINE_COLUMNS.map(() => '?').join(', ')})`);
    this.deleteClaim = db.prepare('DELETE FROM history_claims WHERE claim_id = ?');
    this.insertRecording = db.prepare(`INSERT INTO history_recordings (${RECORDING_INSERT_COLUMNS.join(', ')}) VALUES (${RECORDING_INSERT_COLUMNS.map(() => '?').join(', ')})`);
    this.remits = new SqliteRemitStore(db, (what, work) => this.exclusive(what, work));
    // A list longer than one statement takes: its statements in one read transaction, one snapshot.
    this.readTransaction = reader.transaction((keys: readonly string[]) => {
      const rows: unknown[][] = [];
      for (let at = 0; at < keys.length; at += MOST_KEYS_PER_READ) {
        // Each statement numbers its keys from 0: renumber them as positions in the whole list.
        for (const row of this.readManyRows(keys.slice(at, at + MOST_KEYS_PER_READ))) {
          row[KEY_INDEX_COLUMN] = (row[KEY_INDEX_COLUMN] as number) + at;
          rows.push(row);
        }
      }
      return rows;
    });
  }

  /** One statement's rows for at most MOST_KEYS_PER_READ keys. */
  private readManyRows(keys: readonly string[]): unknown[][] {
    let size = 1;
    while (size < keys.length) size *= 2;
    let statement = this.readManyMapped.get(size);
    if (!statement) {
      // The keys as a little table (position, key), joined to the lines by the primary key's first column.
      const values = Array.from({ length: size }, (_, i) => `(${i}, ?)`).join(', ');
      statement = this.reader.prepare(`WITH k(i, key) AS (VALUES ${values}) ${readManySql('k')}`).raw(true);
      this.readManyMapped.set(size, statement);
    }
    const values = keys.length === size ? keys : [...keys, ...Array.from({ length: size - keys.length }, () => '')];
    return statement.all(...values) as unknown[][];
  }

  /** Runs `work` once no asynchronous unit holds the connection. */
  private async exclusive<T>(what: string, work: () => T): Promise<T> {
    while (this.busy) await this.busy.catch(() => undefined);
    return this.guard(what, work);
  }

  /** Opens (creating on first use) the history file and brings its schema up to date. */
  static open(file: string, options: SqliteOptions = {}): SqliteHistoryStore {
    const memory = file === IN_MEMORY;
    const where = memory ? 'in memory' : path.resolve(file);
    let db: Database.Database;
    try {
      if (!memory) mkdirSync(path.dirname(where), { recursive: true });
      db = new Database(memory ? IN_MEMORY : where, { timeout: options.busyTimeoutMs ?? 5000 });
      db.pragma('journal_mode = WAL');
      // NORMAL in WAL mode: a process that dies loses nothing committed; only a power cut can
      // lose the last transactions, and it never corrupts the file.
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
    } catch (err) {
      throw new HistoryUnavailableError(`the history file ${where} cannot be opened: ${(err as Error).message}`, err);
    }
    migrate(db, where);
    if (memory) return new SqliteHistoryStore(where, db, db);
    let reader: Database.Database | undefined;
    let holder: Database.Database;
    try {
      reader = new Database(where, { timeout: options.busyTimeoutMs ?? 5000 });
      // The read per what-if scrub touches a few pages of a file far larger than the page
      // cache: through a memory map rather than a read() call each, since a system call between
      // two scrubs cost more than the lookup on the machines measured (bench history: about 10 us
      // per claim with 1,000,000 recorded lines). Only this connection maps the file: the pages
      // a recording writes stay out of the process's resident set.
      reader.pragma(`mmap_size = ${MMAP_BYTES}`);
      // It never waits for a lock: when it cannot hold one at once, the reads take their own.
      holder = new Database(where, { readonly: true, timeout: 0 });
    } catch (err) {
      reader?.close();
      db.close();
      throw new HistoryUnavailableError(`the history file ${where} cannot be opened: ${(err as Error).message}`, err);
    }
    return new SqliteHistoryStore(where, db, reader, new ReadLockHolder(holder, options.readLockHoldMs ?? READ_LOCK_HOLD_MS));
  }

  private read(patientKey: string, exclude: readonly string[]): RecordedLine[] {
    return recordedLinesOf(this.readLines.all(patientKey) as unknown[][], exclude);
  }

  private guard<T>(what: string, work: () => T): T {
    if (this.closed) throw new HistoryUnavailableError(`the history file ${this.where} is closed`);
    try {
      return work();
    } catch (err) {
      if (err instanceof HistoryUnavailableError || !(err instanceof Database.SqliteError)) throw err;
      throw new HistoryUnavailableError(`the history file ${this.where} could not ${what}: ${err.message}`, err);
    }
  }

  async linesOf(patientKey: string, exclude: readonly string[]): Promise<RecordedLine[]> {
    return this.linesNow(patientKey, exclude);
  }

  linesNow(patientKey: string, exclude: readonly string[]): RecordedLine[] {
    // The reader sees what is committed, also while a recording's transaction is open on the writer.
    return this.guard('be read', () => {
      this.lockHolder?.hold();
      return recordedLinesOf(this.readLinesMapped.all(patientKey) as unknown[][], exclude);
    });
  }

  async rowsOfMany(patientKeys: readonly string[]): Promise<Map<string, Array<readonly unknown[]>>> {
    if (patientKeys.length === 0) return new Map();
    return this.guard('be read', () => {
      this.lockHolder?.hold();
      return rowsByPatient(patientKeys, patientKeys.length <= MOST_KEYS_PER_READ ? this.readManyRows(patientKeys) : this.readTransaction(patientKeys));
    });
  }

  private readonly writer: HistoryWriter = {
    record: (claim) => this.writeClaim(claim),
    remove: (ids) => {
      for (const id of ids) this.deleteClaim.run(id);
    },
  };

  private writeClaim(claim: RecordedClaim): void {
    this.deleteClaim.run(claim.claimId);
    this.insertClaim.run(claim.claimId, claim.patientKey, claim.payerId, claim.frequencyCode ?? null, claim.lastServiceDate, claim.lines.length, claim.recordedAt);
    for (const line of claim.lines) this.insertLine.run(...lineRow(claim.patientKey, line));
    this.insertRecording.run(...recordingRow(claim));
  }

  async withPatient<T>(patientKey: string, exclude: readonly string[], work: (lines: RecordedLine[], writer: HistoryWriter) => T | Promise<T>): Promise<T> {
    // One connection, one transaction at a time: wait for an asynchronous unit to finish.
    while (this.busy) await this.busy.catch(() => undefined);
    // The patient key needs no lock of its own here: IMMEDIATE takes the database's write lock.
    this.guard('start a transaction', () => this.db.exec('BEGIN IMMEDIATE'));
    let result: T | Promise<T>;
    try {
      result = work(this.read(patientKey, exclude), this.writer);
    } catch (err) {
      this.rollback();
      throw this.wrap(err);
    }
    if (!(result instanceof Promise)) {
      this.commit();
      return result;
    }
    const settled = result.then(
      (value) => {
        this.commit();
        return value;
      },
      (err: unknown) => {
        this.rollback();
        throw this.wrap(err);
      },
    );
    this.busy = settled.finally(() => {
      this.busy = undefined;
    });
    return settled;
  }

  private wrap(err: unknown): unknown {
    return err instanceof Database.SqliteError ? new HistoryUnavailableError(`the history file ${this.where} could not be written: ${err.message}`, err) : err;
  }

  private commit(): void {
    try {
      this.db.exec('COMMIT');
    } catch (err) {
      this.rollback();
      throw this.wrap(err);
    }
    this.afterCommit();
  }

  /** This process moved the log on: the held read lock (of an older commit) is let go at once, not up to holdMs later. */
  private afterCommit(): void {
    this.lockHolder?.release();
  }

  private rollback(): void {
    if (this.db.inTransaction) this.db.exec('ROLLBACK');
  }

  async recordMany(claims: readonly RecordedClaim[], removals: readonly string[] = []): Promise<void> {
    while (this.busy) await this.busy.catch(() => undefined);
    this.guard('be written', () =>
      this.db.transaction(() => {
        for (const id of removals) this.deleteClaim.run(id);
        for (const claim of claims) this.writeClaim(claim);
      }).immediate(),
    );
    this.afterCommit();
  }

  async purgeBefore(date: string): Promise<number> {
    while (this.busy) await this.busy.catch(() => undefined);
    const removed = this.guard('be purged', () =>
      this.db
        .transaction(() => {
          for (const sql of PURGE_STATEMENTS) this.db.prepare(sql).run(date);
          return this.db.prepare('DELETE FROM history_claims WHERE last_service_date < ?').run(date).changes;
        })
        .immediate(),
    );
    this.afterCommit();
    return removed;
  }

  async ping(): Promise<void> {
    this.guard('be read', () => this.db.prepare('SELECT 1').get());
  }

  async counts(): Promise<StoreCounts> {
    return this.guard('be read', () => {
      const claims = (this.db.prepare('SELECT count(*) AS n FROM history_claims').get() as { n: number }).n;
      const lines = (this.db.prepare('SELECT count(*) AS n FROM history_lines').get() as { n: number }).n;
      return { claims, lines };
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    while (this.busy) await this.busy.catch(() => undefined);
    this.closed = true;
    this.lockHolder?.close();
    if (this.reader !== this.db) this.reader.close();
    this.db.close();
  }
}

function migrate(db: Database.Database, where: string): void {
  try {
    db.transaction(() => {
      db.exec(`CREATE TABLE IF NOT EXISTS ${SCHEMA_TABLE} (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
      const current = (db.prepare(`SELECT max(version) AS v FROM ${SCHEMA_TABLE}`).get() as { v: number | null }).v ?? 0;
      if (current > LATEST_VERSION) throw new HistoryConfigError(newerSchemaMessage(where, current));
      for (const m of MIGRATIONS) {
        if (m.version <= current) continue;
        db.exec(m.sqlite);
        db.prepare(`INSERT INTO ${SCHEMA_TABLE} (version, name, applied_at) VALUES (?, ?, ?)`).run(m.version, m.name, new Date().toISOString());
      }
      // Every open commits (the schema version into the file header, where `PRAGMA user_version`
      // shows it): until a store's write-ahead log holds a commit, SQLite asks the file system for
      // the file's size on every read transaction (one fstat per what-if scrub, for a store
      // reopened and not recorded to since: a service that only answers what-ifs, forever).
      db.pragma(`user_version = ${LATEST_VERSION}`);
    }).immediate();
  } catch (err) {
    db.close();
    if (err instanceof HistoryConfigError) throw err;
    throw new HistoryUnavailableError(`the history file ${where} could not be prepared: ${(err as Error).message}`, err);
  }
}
