import type pg from 'pg';
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
  lineOutcomeRow,
  paymentFilter,
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

/** How the PostgreSQL history lends its pool and its transactions (with its error handling). */
export interface PostgresAccess {
  query<R extends pg.QueryResultRow>(what: string, sql: string, values?: unknown[]): Promise<R[]>;
  transaction<T>(what: string, work: (client: pg.PoolClient) => Promise<T>): Promise<T>;
}

const PAYMENT_TYPES = ['text', 'text', 'int', 'text', 'text', 'bigint', 'text', 'text', 'text', 'text', 'text', 'float8', 'float8', 'float8', 'text', 'text', 'text', 'text', 'text', 'text'];
const LINE_TYPES = ['text', 'int', 'int', 'text', 'text', 'text', 'text', 'float8', 'float8', 'float8', 'text', 'text', 'text'];

function columnsOf(rows: readonly unknown[][], width: number): unknown[][] {
  const columns: unknown[][] = Array.from({ length: width }, () => []);
  for (const row of rows) for (let c = 0; c < width; c++) columns[c]!.push(row[c]);
  return columns;
}

/** One INSERT of many rows (each column one array parameter), skipping rows whose key is stored already. */
function unnestInsert(table: string, columns: readonly string[], types: readonly string[], returning?: string): string {
  return `INSERT INTO ${table} (${columns.join(', ')}) SELECT * FROM unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(', ')}) ON CONFLICT DO NOTHING${
    returning ? ` RETURNING ${returning}` : ''
  }`;
}
const INSERT_PAYMENTS = unnestInsert('remit_payments', PAYMENT_COLUMNS, PAYMENT_TYPES, 'identity');
const INSERT_LINES = unnestInsert('remit_lines', LINE_OUTCOME_COLUMNS, LINE_TYPES);
const placeholders = (n: number) => Array.from({ length: n }, (_, i) => `$${i + 1}`).join(', ');
const insertOne = (table: string, columns: readonly string[]) => `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${placeholders(columns.length)}) ON CONFLICT DO NOTHING`;

/** The remittances and recordings of a PostgreSQL history (see RemitStore). */
export class PostgresRemitStore implements RemitStore {
  constructor(private readonly db: PostgresAccess) {}

  async file(sha256: string): Promise<RemitFileRecord | undefined> {
    const rows = await this.db.query<FileRowRead>('be read', `SELECT ${FILE_COLUMNS.join(', ')} FROM remit_files WHERE sha256 = $1`, [sha256]);
    return rows[0] ? fileOf(rows[0]) : undefined;
  }

  private async latestBy(column: 'claim_id' | 'replaces', ids: readonly string[]): Promise<Map<string, Recording>> {
    const out = new Map<string, Recording>();
    if (ids.length === 0) return out;
    const rows = await this.db.query<RecordingRow>('be read', `SELECT ${RECORDING_COLUMNS} FROM history_recordings WHERE ${column} = ANY($1) ORDER BY seq`, [[...new Set(ids)]]);
    for (const row of rows) out.set(column === 'claim_id' ? row.claim_id : row.replaces!, recordingOf(row));
    return out;
  }

  latestRecordings(claimIds: readonly string[]): Promise<Map<string, Recording>> {
    return this.latestBy('claim_id', claimIds);
  }

  replacementsOf(claimIds: readonly string[]): Promise<Map<string, Recording>> {
    return this.latestBy('replaces', claimIds);
  }

  async claimsOfPayerNumbers(numbers: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (numbers.length === 0) return out;
    const rows = await this.db.query<{ payer_claim_number: string; matched_claim_id: string }>(
      'be read',
      'SELECT payer_claim_number, matched_claim_id FROM remit_payments WHERE payer_claim_number = ANY($1) AND matched_claim_id IS NOT NULL ORDER BY imported_at, seq',
      [[...new Set(numbers)]],
    );
    for (const r of rows) out.set(r.payer_claim_number, r.matched_claim_id);
    return out;
  }

  async knownIdentities(identities: readonly string[]): Promise<Set<string>> {
    if (identities.length === 0) return new Set();
    const rows = await this.db.query<{ identity: string }>(
      'be read',
      'SELECT identity FROM remit_payments WHERE identity = ANY($1) UNION SELECT identity FROM remit_provider_adjustments WHERE identity = ANY($1)',
      [identities],
    );
    return new Set(rows.map((r) => r.identity));
  }

  async paymentToReverse(claimId: string, payerClaimNumber: string | undefined): Promise<string | undefined> {
    const rows = await this.db.query<{ identity: string }>(
      'be read',
      `SELECT identity FROM remit_payments WHERE claim_id = $1 AND outcome <> 'reversal' AND reversed_by IS NULL AND ($2::text IS NULL OR payer_claim_number = $2)
       ORDER BY imported_at DESC, seq DESC LIMIT 1`,
      [claimId, payerClaimNumber ?? null],
    );
    return rows[0]?.identity;
  }

  async write(unit: RemitWrite): Promise<void> {
    await this.db.transaction('record the remittance', async (client) => {
      if (unit.payments.length > 0) {
        const inserted = await client.query<{ identity: string }>(INSERT_PAYMENTS, columnsOf(unit.payments.map(paymentRow), PAYMENT_COLUMNS.length));
        const fresh = new Set(inserted.rows.map((r) => r.identity));
        const lines = unit.payments.filter((p) => fresh.has(p.identity)).flatMap((p) => p.lines.map((l) => lineOutcomeRow(p.identity, l)));
        if (lines.length > 0) await client.query(INSERT_LINES, columnsOf(lines, LINE_OUTCOME_COLUMNS.length));
      }
      for (const r of unit.reversals) await client.query('UPDATE remit_payments SET reversed_by = $1 WHERE identity = $2 AND reversed_by IS NULL', [r.by, r.target]);
      for (const a of unit.providerAdjustments) await client.query(insertOne('remit_provider_adjustments', PROVIDER_ADJUSTMENT_COLUMNS), providerAdjustmentRow(a));
      if (unit.transaction) await client.query(insertOne('remit_transactions', TRANSACTION_COLUMNS), transactionRow(unit.transaction));
    });
  }

  async finishFile(file: RemitFileRecord): Promise<void> {
    await this.db.query('be written', insertOne('remit_files', FILE_COLUMNS), fileRow(file));
  }

  async ruleActivity(query: RuleActivityQuery): Promise<RuleActivity> {
    const sql = activitySql((n) => `$${n}`);
    const values = activityValues(query);
    const [total] = await this.db.query<{ claims: string; fired: string }>('be read', sql.total, values);
    const days = await this.db.query<{ day: string; fired: string }>('be read', sql.byDay, values);
    return activityOf(query, total, days);
  }

  async recordings(filter: ReportFilter): Promise<Recording[]> {
    const where: string[] = [];
    const values: string[] = [];
    if (filter.since) where.push(`recorded_at >= $${values.push(filter.since)}`);
    if (filter.payerId) where.push(`payer_id = $${values.push(filter.payerId)}`);
    const rows = await this.db.query<RecordingRow>('be read', `SELECT ${RECORDING_COLUMNS} FROM history_recordings${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY seq`, values);
    return rows.map(recordingOf);
  }

  async payments(filter: ReportFilter): Promise<StoredPayment[]> {
    const { sql, values } = paymentFilter(filter, (n) => `$${n}`);
    const rows = await this.db.query<PaymentRowRead>('be read', `SELECT ${PAYMENT_COLUMNS.join(', ')} FROM remit_payments WHERE ${sql} ORDER BY imported_at, transaction_hash, seq`, values);
    const lines = new Map<string, StoredLineOutcome[]>();
    if (rows.length > 0) {
      const lineRows = await this.db.query<LineRowRead>('be read', `SELECT ${LINE_OUTCOME_COLUMNS.join(', ')} FROM remit_lines WHERE identity = ANY($1) ORDER BY identity, seq`, [
        rows.map((r) => r.identity),
      ]);
      for (const row of lineRows) {
        const list = lines.get(row.identity);
        if (list) list.push(lineOutcomeOf(row));
        else lines.set(row.identity, [lineOutcomeOf(row)]);
      }
    }
    return rows.map((r) => paymentOf(r, lines.get(r.identity) ?? []));
  }

  async counts(): Promise<RemitCounts> {
    const n = async (sql: string) => Number((await this.db.query<{ n: string }>('be read', sql))[0]!.n);
    return {
      files: await n('SELECT count(*) AS n FROM remit_files'),
      payments: await n('SELECT count(*) AS n FROM remit_payments'),
      unmatched: await n('SELECT count(*) AS n FROM remit_payments WHERE matched_claim_id IS NULL'),
      providerAdjustments: await n('SELECT count(*) AS n FROM remit_provider_adjustments'),
    };
  }
}
