import type { RecordedLine } from '../engine/history.js';
import { findingsJson, linesJson, type RecordedFinding, type RemitStore } from './outcomes.js';

/**
 * The claim history store: the same schema and the same behaviour on SQLite (one file, the
 * default) and PostgreSQL (several instances sharing one history). Only what the history edits
 * need is stored: a patient key (an HMAC, never the member id or birth date), ids, codes, dates,
 * units and charges.
 */

/**
 * A claim line as the store keeps it: what the edits read (RecordedLine) plus what an operator
 * may need to audit a recording (billing NPI, place of service, diagnoses, frequency code, when
 * it was recorded). Reads for a scrub fetch only the RecordedLine part.
 */
export interface StoredLine extends RecordedLine {
  billingNpi: string;
  placeOfService?: string;
  /** The diagnosis codes the line points at, normalised (no dot). */
  diagnoses: string[];
  frequencyCode?: string;
  recordedAt: string;
}

/** One claim to record, its lines ready for the store. */
export interface RecordedClaim {
  patientKey: string;
  claimId: string;
  payerId: string;
  frequencyCode?: string;
  recordedAt: string;
  /** The latest date of service: retention counts from it. */
  lastServiceDate: string;
  lines: StoredLine[];
  /** The claim a replacement (frequency 7) names. */
  replaces?: string;
  /** The findings the scrubber returned when it recorded the claim; absent when recorded without a scrub. */
  findings?: RecordedFinding[];
}

/** Changes to a patient's history, made inside `withPatient` so that they commit with the read. */
export interface HistoryWriter {
  /** Records a claim, replacing any earlier version with the same claim id. */
  record(claim: RecordedClaim): void | Promise<void>;
  /** Removes the claims with these ids (a void, or the claim a replacement names). */
  remove(claimIds: readonly string[]): void | Promise<void>;
}

export interface StoreCounts {
  claims: number;
  lines: number;
}

export interface HistoryStore {
  readonly kind: 'sqlite' | 'postgresql';
  /** Where the store is, for messages (a file, or a URL without its password). */
  readonly where: string;
  /** The patient's recorded lines, without those of `exclude` (claim ids). */
  linesOf(patientKey: string, exclude: readonly string[]): Promise<RecordedLine[]>;
  /** The same at once, where the driver reads synchronously (SQLite): a what-if scrub then waits on no promise. */
  linesNow?(patientKey: string, exclude: readonly string[]): RecordedLine[];
  /**
   * The rows (READ_SQL's columns, as `recordedLinesOf` takes them) of several patients in one
   * statement, so from one snapshot of the store: what a chunk of what-if claims reads.
   */
  rowsOfMany(patientKeys: readonly string[]): Promise<Map<string, Array<readonly unknown[]>>>;
  /**
   * Reads the patient's lines and runs `work`, which may write, as one unit serialised per
   * patient key across every process that shares the store: two claims of one patient recorded
   * at once never both miss each other.
   */
  withPatient<T>(patientKey: string, exclude: readonly string[], work: (lines: RecordedLine[], writer: HistoryWriter) => T | Promise<T>): Promise<T>;
  /** Records many claims in one transaction (bulk import), each replacing its earlier version. */
  recordMany(claims: readonly RecordedClaim[], removals?: readonly string[]): Promise<void>;
  /**
   * Removes every claim whose latest date of service is before `date`, with its recordings and
   * the payments matched to them (and payments of such dates that matched nothing); returns how
   * many claims.
   */
  purgeBefore(date: string): Promise<number>;
  /** The recordings' findings and the remittances matched to them. */
  readonly remits: RemitStore;
  /** Answers when the store can be used; throws HistoryUnavailableError when not. */
  ping(): Promise<void>;
  counts(): Promise<StoreCounts>;
  close(): Promise<void>;
}

/** The store cannot be reached or failed: scrubs that need history answer 503 history-unavailable. */
export class HistoryUnavailableError extends Error {
  constructor(
    message: string,
    cause?: unknown,
  ) {
    super(message, { cause });
    this.name = 'HistoryUnavailableError';
  }
}

/** A store whose schema is newer than this program, or otherwise unusable as configured. */
export class HistoryConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HistoryConfigError';
  }
}

/** The store's columns, in the order both backends insert them. */
export const LINE_COLUMNS = [
  'claim_id',
  'line_number',
  'patient_key',
  'payer_id',
  'provider_npi',
  'billing_npi',
  'service_date',
  'service_date_end',
  'procedure_code',
  'modifiers',
  'units',
  'charge',
  'place_of_service',
  'diagnoses',
  'frequency_code',
  'recorded_at',
] as const;

export function lineRow(patientKey: string, l: StoredLine): unknown[] {
  return [
    l.claimId,
    l.lineNumber,
    patientKey,
    l.payerId,
    l.providerNpi,
    l.billingNpi,
    l.serviceDate,
    l.serviceDateEnd ?? null,
    l.procedureCode,
    l.modifiers.join(' '),
    l.units,
    l.charge,
    l.placeOfService ?? null,
    l.diagnoses.join(' '),
    l.frequencyCode ?? null,
    l.recordedAt,
  ];
}

/**
 * The one read per scrub: what the edits read of a patient's lines (never the patient key),
 * by the first column of history_lines' primary key (patient key, claim id, line number): on
 * SQLite, a WITHOUT ROWID table, one range scan of the table itself; on PostgreSQL the primary
 * key's index. Rows come back as arrays in this column order on both backends.
 */
const READ_COLUMNS = 'claim_id, line_number, payer_id, provider_npi, service_date, service_date_end, procedure_code, modifiers, units, charge';
export const READ_SQL = `SELECT ${READ_COLUMNS} FROM history_lines WHERE patient_key = `;

/**
 * The read of a chunk of claims (a what-if batch): the lines of several patients in one
 * statement, so in one read transaction and one snapshot. READ_SQL's columns, then which of the
 * keys asked for the row belongs to (its 0-based position, column KEY_INDEX_COLUMN: a small
 * integer per row rather than the 64-character key). `keys` is the backend's relation of the
 * keys, `k(i, key)`.
 */
export function readManySql(keys: string): string {
  return `SELECT ${READ_COLUMNS}, k.i FROM ${keys} JOIN history_lines ON history_lines.patient_key = k.key`;
}

/** The column after READ_SQL's own. */
export const KEY_INDEX_COLUMN = READ_COLUMNS.split(',').length;

/** Rows of readManySql by patient key (every key asked for has an entry, empty when it has no lines). */
export function rowsByPatient(keys: readonly string[], rows: readonly (readonly unknown[])[]): Map<string, Array<readonly unknown[]>> {
  const byIndex: Array<Array<readonly unknown[]>> = keys.map(() => []);
  for (const row of rows) byIndex[row[KEY_INDEX_COLUMN] as number]?.push(row);
  return new Map(keys.map((key, i) => [key, byIndex[i]!]));
}

/** A row of READ_SQL as the edits see it. */
function recordedLineOfRow(row: readonly unknown[]): RecordedLine {
  const modifiers = row[7] as string;
  const line: RecordedLine = {
    claimId: row[0] as string,
    lineNumber: Number(row[1]),
    payerId: row[2] as string,
    providerNpi: row[3] as string,
    serviceDate: row[4] as string,
    procedureCode: row[6] as string,
    modifiers: modifiers === '' ? [] : modifiers.split(' '),
    units: Number(row[8]),
    charge: Number(row[9]),
  };
  if (row[5] !== null) line.serviceDateEnd = row[5] as string;
  return line;
}

function scrubOrder(a: RecordedLine, b: RecordedLine): number {
  if (a.serviceDate !== b.serviceDate) return a.serviceDate < b.serviceDate ? -1 : 1;
  if (a.claimId !== b.claimId) return a.claimId < b.claimId ? -1 : 1;
  return a.lineNumber - b.lineNumber;
}

/**
 * A patient's rows (read by patient key alone, in READ_SQL's column order) as the edits see
 * them: without the excluded claims, by date of service, claim id and line number. Done here
 * rather than in SQL: the read stays a plain key lookup (no sorter, no IN list), and both
 * backends give the same order whatever a database collation says.
 */
export function recordedLinesOf(rows: readonly (readonly unknown[])[], exclude: readonly string[]): RecordedLine[] {
  const lines: RecordedLine[] = [];
  for (const row of rows) if (!exclude.includes(row[0] as string)) lines.push(recordedLineOfRow(row));
  return lines.length > 1 ? lines.sort(scrubOrder) : lines;
}

/** The columns of a recording (history_recordings), in the order both backends insert them. */
export const RECORDING_INSERT_COLUMNS = ['claim_id', 'replaces', 'frequency_code', 'payer_id', 'recorded_at', 'last_service_date', 'lines', 'findings'] as const;

/** A recorded claim as a row of history_recordings: the version, its lines and what the scrubber found. */
export function recordingRow(claim: RecordedClaim): unknown[] {
  const lines = claim.lines.map((l) => {
    const line = { number: l.lineNumber, code: l.procedureCode, modifiers: l.modifiers, serviceDate: l.serviceDate, units: l.units, charge: l.charge };
    return l.serviceDateEnd !== undefined ? { ...line, serviceDateEnd: l.serviceDateEnd } : line;
  });
  return [claim.claimId, claim.replaces ?? null, claim.frequencyCode ?? null, claim.payerId, claim.recordedAt, claim.lastServiceDate, linesJson(lines), findingsJson(claim.findings)];
}

/** What a purge removes besides the claims: recordings and payments of service dates before the cut-off. */
export const PURGE_STATEMENTS = [
  'DELETE FROM history_recordings WHERE last_service_date < ?',
  'DELETE FROM remit_payments WHERE service_date < ?',
  'DELETE FROM remit_provider_adjustments WHERE imported_at < ?',
  'DELETE FROM remit_transactions WHERE imported_at < ?',
  'DELETE FROM remit_files WHERE imported_at < ?',
] as const;
