import type Database from 'better-sqlite3';
import type { RuleActivity, RuleActivityQuery } from './activity.js';
import {
  activityOf,
  activitySql,
  activityValues,
  FILE_COLUMNS,
  LINE_OUTCOME_COLUMNS,
  PAYMENT_COLUMNS,
  PROVIDER_ADJUSTMENT_COLUMNS,
  RECORDING_COLUMNS,
  TRANSACTION_COLUMNS,
  fileOf,
  fileRow,
  lineOutcomeOf,
  paymentFilter,
  lineOutcomeRow,
  paymentOf,
  paymentRow,
  providerAdjustmentRow,
  recordingOf,
  transactionRow,
  type FileRowRead,
  type LineRowRead,
  type PaymentRowRead,
  type Recording,
  type RecordingRow,
  type RemitCounts,
  type RemitFileRecord,
  type RemitStore,
  type RemitWrite,
  type ReportFilter,
  type StoredLineOutcome,
  type StoredPayment,
} from './outcomes.js';

/** Runs `work` when the connection is free, turning SQLite errors into HistoryUnavailableError. */
export type SqliteRunner = <T>(what: string, work: () => T) => Promise<T>;

const insert = (table: string, columns: readonly string[]) => `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;

/** Most values bound in one statement: SQLite's limit is 32,766; lists are read in slices below it. */
const SLICE = 500;

function slices<T>(list: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += SLICE) out.push(list.slice(i, i + SLICE));
  return out;
}

const marks = (n: number) => Array.from({ length: n }, () => '?').join(', ');

/** The remittances and recordings of a SQLite history (see RemitStore). */
export class SqliteRemitStore implements RemitStore {
  private readonly insertPayment: Database.Statement;
  private readonly insertLine: Database.Statement;
  private readonly insertTransaction: Database.Statement;
  private readonly insertProviderAdjustment: Database.Statement;
  private readonly markReversed: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly run: SqliteRunner,
  ) {
    this.insertPayment = db.prepare(insert('remit_payments', PAYMENT_COLUMNS).replace('INSERT', 'INSERT OR IGNORE'));
    this.insertLine = db.prepare(insert('remit_lines', LINE_OUTCOME_COLUMNS).replace('INSERT', 'INSERT OR IGNORE'));
    this.insertTransaction = db.prepare(insert('remit_transactions', TRANSACTION_COLUMNS).replace('INSERT', 'INSERT OR IGNORE'));
    this.insertProviderAdjustment = db.prepare(insert('remit_provider_adjustments', PROVIDER_ADJUSTMENT_COLUMNS).replace('INSERT', 'INSERT OR IGNORE'));
    this.markReversed = db.prepare('UPDATE remit_payments SET reversed_by = ? WHERE identity = ? AND reversed_by IS NULL');
  }

  async file(sha256: string): Promise<RemitFileRecord | undefined> {
    return this.run('be read', () => {
      const row = this.db.prepare(`SELECT ${FILE_COLUMNS.join(', ')} FROM remit_files WHERE sha256 = ?`).get(sha256) as FileRowRead | undefined;
      return row ? fileOf(row) : undefined;
    });
  }

  private latestBy(column: 'claim_id' | 'replaces', ids: readonly string[]): Promise<Map<string, Recording>> {
    return this.run('be read', () => {
      const out = new Map<string, Recording>();
      for (const part of slices([...new Set(ids)])) {
        const rows = this.db
          .prepare(`SELECT ${RECORDING_COLUMNS} FROM history_recordings WHERE ${column} IN (${marks(part.length)}) ORDER BY seq`)
          .all(...part) as RecordingRow[];
        // Ascending: the last one seen for a key is its latest.
        for (const row of rows) out.set(column === 'claim_id' ? row.claim_id : row.replaces!, recordingOf(row));
      }
      return out;
    });
  }

  latestRecordings(claimIds: readonly string[]): Promise<Map<string, Recording>> {
    return this.latestBy('claim_id', claimIds);
  }

  replacementsOf(claimIds: readonly string[]): Promise<Map<string, Recording>> {
    return this.latestBy('replaces', claimIds);
  }

  async claimsOfPayerNumbers(numbers: readonly string[]): Promise<Map<string, string>> {
    return this.run('be read', () => {
      const out = new Map<string, string>();
      for (const part of slices([...new Set(numbers)])) {
        const rows = this.db
          .prepare(
            `SELECT payer_claim_number, matched_claim_id FROM remit_payments WHERE payer_claim_number IN (${marks(part.length)}) AND matched_claim_id IS NOT NULL ORDER BY imported_at, seq`,
          )
          .raw(true)
          .all(...part) as Array<[string, string]>;
        for (const [number, claim] of rows) out.set(number, claim);
      }
      return out;
    });
  }

  async knownIdentities(identities: readonly string[]): Promise<Set<string>> {
    return this.run('be read', () => {
      const out = new Set<string>();
      for (const part of slices(identities)) {
        const list = marks(part.length);
        const rows = this.db
          .prepare(`SELECT identity FROM remit_payments WHERE identity IN (${list}) UNION SELECT identity FROM remit_provider_adjustments WHERE identity IN (${list})`)
          .raw(true)
          .all(...part, ...part) as Array<[string]>;
        for (const [identity] of rows) out.add(identity);
      }
      return out;
    });
  }

  async paymentToReverse(claimId: string, payerClaimNumber: string | undefined): Promise<string | undefined> {
    return this.run('be read', () => {
      const row = this.db
        .prepare(
          `SELECT identity FROM remit_payments WHERE claim_id = ? AND outcome <> 'reversal' AND reversed_by IS NULL AND (? IS NULL OR payer_claim_number = ?)
           ORDER BY imported_at DESC, seq DESC LIMIT 1`,
        )
        .raw(true)
        .get(claimId, payerClaimNumber ?? null, payerClaimNumber ?? null) as [string] | undefined;
      return row?.[0];
    });
  }

  async write(unit: RemitWrite): Promise<void> {
    await this.run('be written', () =>
      this.db
        .transaction(() => {
          for (const p of unit.payments) {
            if (this.insertPayment.run(...paymentRow(p)).changes === 0) continue;
            for (const l of p.lines) this.insertLine.run(...lineOutcomeRow(p.identity, l));
          }
          for (const r of unit.reversals) this.markReversed.run(r.by, r.target);
          for (const a of unit.providerAdjustments) this.insertProviderAdjustment.run(...providerAdjustmentRow(a));
          if (unit.transaction) this.insertTransaction.run(...transactionRow(unit.transaction));
        })
        .immediate(),
    );
  }

  async finishFile(file: RemitFileRecord): Promise<void> {
    await this.run('be written', () => this.db.prepare(insert('remit_files', FILE_COLUMNS).replace('INSERT', 'INSERT OR IGNORE')).run(...fileRow(file)));
  }

  async recordings(filter: ReportFilter): Promise<Recording[]> {
    return this.run('be read', () => {
      const where: string[] = [];
      const values: string[] = [];
      if (filter.since) {
        where.push('recorded_at >= ?');
        values.push(filter.since);
      }
      if (filter.payerId) {
        where.push('payer_id = ?');
        values.push(filter.payerId);
      }
      const rows = this.db.prepare(`SELECT ${RECORDING_COLUMNS} FROM history_recordings${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY seq`).all(...values) as RecordingRow[];
      return rows.map(recordingOf);
    });
  }

  async payments(filter: ReportFilter): Promise<StoredPayment[]> {
    return this.run('be read', () => {
      const { sql, values } = paymentFilter(filter, () => '?');
      const rows = this.db.prepare(`SELECT ${PAYMENT_COLUMNS.join(', ')} FROM remit_payments WHERE ${sql} ORDER BY imported_at, transaction_hash, seq`).all(...values) as PaymentRowRead[];
      const lines = new Map<string, StoredLineOutcome[]>();
      const readLines = this.db.prepare(`SELECT ${LINE_OUTCOME_COLUMNS.join(', ')} FROM remit_lines WHERE identity IN (${marks(SLICE)}) ORDER BY identity, seq`);
      for (const part of slices(rows.map((r) => r.identity))) {
        const padded = [...part, ...Array.from({ length: SLICE - part.length }, () => '')];
        for (const row of readLines.all(...padded) as LineRowRead[]) {
          const list = lines.get(row.identity);
          if (list) list.push(lineOutcomeOf(row));
          else lines.set(row.identity, [lineOutcomeOf(row)]);
        }
      }
      return rows.map((r) => paymentOf(r, lines.get(r.identity) ?? []));
    });
  }

  async ruleActivity(query: RuleActivityQuery): Promise<RuleActivity> {
    return this.run('be read', () => {
      const sql = activitySql(() => '?');
      const values = activityValues(query);
      const total = this.db.prepare(sql.total).get(...values) as { claims: number; fired: number } | undefined;
      const days = this.db.prepare(sql.byDay).all(...values) as Array<{ day: string; fired: number }>;
      return activityOf(query, total, days);
    });
  }

  async counts(): Promise<RemitCounts> {
    return this.run('be read', () => {
      const n = (sql: string) => (this.db.prepare(sql).raw(true).get() as [number])[0];
      return {
        files: n('SELECT count(*) FROM remit_files'),
        payments: n('SELECT count(*) FROM remit_payments'),
        unmatched: n('SELECT count(*) FROM remit_payments WHERE matched_claim_id IS NULL'),
        providerAdjustments: n('SELECT count(*) FROM remit_provider_adjustments'),
      };
    });
  }
}
