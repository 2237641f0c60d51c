import type { Severity } from '../findings/finding.js';
import type { Adjustment } from '../remits/remittance.js';
import type { RuleActivity, RuleActivityQuery } from './activity.js';

/**
 * What the history keeps to learn from remittances: every recording of a claim with the
 * findings the scrubber returned when it recorded it, and each payer's adjudication (835)
 * matched to the recording it judged. Both stores (SQLite, PostgreSQL) implement `RemitStore`
 * with the same behaviour; the effectiveness report reads it back.
 */

/** A finding as a recording keeps it: enough to count it against the payer's answer. */
export interface RecordedFinding {
  ruleId: string;
  pack: string;
  severity: Severity;
  category: string;
  /** 1-based lines of the recorded version; empty for a claim-level finding. */
  lines: number[];
}

/** A line of a recorded version, as matching needs it. */
export interface RecordingLine {
  number: number;
  code: string;
  modifiers: string[];
  serviceDate: string;
  serviceDateEnd?: string;
  units: number;
  charge: number;
}

/** One recording of a claim: a version the scrubber saw (and, as a rule, the version submitted). */
export interface Recording {
  seq: number;
  claimId: string;
  /** The claim a replacement (frequency 7) or void (8) names. */
  replaces?: string;
  frequencyCode?: string;
  payerId: string;
  recordedAt: string;
  lastServiceDate: string;
  lines: RecordingLine[];
  /** The findings of the scrub that recorded it; null when it was recorded without a scrub (history import). */
  findings: RecordedFinding[] | null;
}

/**
 * How the payer treated a claim or a line: paid (in full or as the contract allows, the
 * patient's share included), partial (paid, less a denial of part of it), denied (nothing paid,
 * for a denial reason), reversal (the payer took back an earlier payment), not-adjudicated
 * (forwarded elsewhere, or predetermination only).
 */
export type Outcome = 'paid' | 'partial' | 'denied' | 'reversal' | 'not-adjudicated';

/** How a payment found its claim. */
export type MatchedBy = 'claim-id' | 'payer-claim-number' | 'replacement' | 'unmatched';

export interface StoredLineOutcome {
  /** 1-based position of the SVC in its claim payment. */
  seq: number;
  /** The recorded line it matched, when it matched one. */
  lineNumber?: number;
  procedureCode: string;
  modifiers: string[];
  /** SVC06: the code as submitted, when the payer adjudicated another. */
  submittedCode?: string;
  serviceDate?: string;
  charge: number;
  paid: number;
  units: number;
  outcome: Outcome;
  adjustments: Adjustment[];
  remarks: string[];
}

export interface StoredPayment {
  /** The payment's identity (see the 835 reader): the same payment in two files is stored once. */
  identity: string;
  transactionHash: string;
  seq: number;
  /** CLP01 as the payer sent it. */
  claimId: string;
  matchedClaimId?: string;
  recordingSeq?: number;
  matchedBy: MatchedBy;
  statusCode: string;
  outcome: Outcome;
  payerClaimNumber?: string;
  /** The recorded claim's payer when matched; else the payer the 835 names. */
  payerId: string;
  charge: number;
  paid: number;
  patientResponsibility?: number;
  /** Claim-level adjustments. */
  adjustments: Adjustment[];
  /** Claim-level remark codes (MIA, MOA). */
  remarks: string[];
  /** The first date of service: retention counts from it. */
  serviceDate: string;
  /** The payment or production date of the 835. */
  adjudicatedOn?: string;
  /** The reversal (CLP02 22) that took this payment back. */
  reversedBy?: string;
  importedAt: string;
  lines: StoredLineOutcome[];
}

export interface StoredTransaction {
  contentHash: string;
  fileSha256: string;
  interchangeControl: string;
  groupControl: string;
  transactionControl: string;
  payerId?: string;
  payerName?: string;
  traceNumber: string;
  originatorId?: string;
  paymentAmount: number;
  paymentMethod?: string;
  paymentDate?: string;
  claims: number;
  importedAt: string;
}

export interface StoredProviderAdjustment {
  identity: string;
  transactionHash: string;
  providerId: string;
  fiscalPeriodDate?: string;
  reason: string;
  reference?: string;
  amount: number;
  importedAt: string;
}

export interface RemitFileRecord {
  sha256: string;
  /** Where it came from, for the operator: a file's base name, or "POST /v1/remits". */
  source?: string;
  bytes: number;
  /** The ISA, GS and ST control numbers of the file. */
  interchanges: unknown;
  payments: number;
  /** Payments new to the store (the others were imported before, from this or another file). */
  imported: number;
  importedAt: string;
}

/** One unit of an import, written in one database transaction. */
export interface RemitWrite {
  payments: StoredPayment[];
  /** Earlier payments taken back by a reversal in `payments`. */
  reversals: Array<{ target: string; by: string }>;
  providerAdjustments: StoredProviderAdjustment[];
  /** The transaction set, written with its last unit. */
  transaction?: StoredTransaction;
}

export interface ReportFilter {
  /** Recordings made on or after this date (YYYY-MM-DD). */
  since?: string;
  /** The recorded claims' payer id. */
  payerId?: string;
}

export interface RemitCounts {
  files: number;
  payments: number;
  unmatched: number;
  providerAdjustments: number;
}

export interface RemitStore {
  /** The file with this checksum, when it was imported before. */
  file(sha256: string): Promise<RemitFileRecord | undefined>;
  /** The latest recording of each of these claim ids. */
  latestRecordings(claimIds: readonly string[]): Promise<Map<string, Recording>>;
  /** The latest recording that names each of these as the claim it replaces. */
  replacementsOf(claimIds: readonly string[]): Promise<Map<string, Recording>>;
  /** The claim each payer claim control number was matched to before. */
  claimsOfPayerNumbers(numbers: readonly string[]): Promise<Map<string, string>>;
  /** The identities among these that are stored already (payments and provider adjustments). */
  knownIdentities(identities: readonly string[]): Promise<Set<string>>;
  /** The latest payment a reversal of this claim takes back: not a reversal, not reversed yet. */
  paymentToReverse(claimId: string, payerClaimNumber: string | undefined): Promise<string | undefined>;
  write(unit: RemitWrite): Promise<void>;
  finishFile(file: RemitFileRecord): Promise<void>;
  /** Recordings for a report, in recording order. */
  recordings(filter: ReportFilter): Promise<Recording[]>;
  /**
   * Payments (with their lines) for a report, in import order: those matched to a recording the
   * filter selects, and those that matched none (by their own payer and import date).
   */
  payments(filter: ReportFilter): Promise<StoredPayment[]>;
  counts(): Promise<RemitCounts>;
  /** How often a rule fired on the claims scrubbed and recorded in a period (the workbench's rule activity). */
  ruleActivity(query: RuleActivityQuery): Promise<RuleActivity>;
}

/**
 * The two queries of a rule's activity, in either dialect (`mark(n)` writes the n-th
 * placeholder; the values are `activityValues`): claims recorded with findings in the period,
 * in all and by day, and of those the claims with a finding of the rule. A recording keeps its
 * findings as `[["rule-id","pack",...],...]`, so a finding of the rule starts with `["rule-id",`.
 */
export function activitySql(mark: (n: number) => string): { total: string; byDay: string } {
  const where = `findings IS NOT NULL AND recorded_at >= ${mark(2)} AND recorded_at < ${mark(3)}`;
  const fired = `count(DISTINCT CASE WHEN findings LIKE ${mark(1)} ESCAPE '\\' THEN claim_id END)`;
  return {
    total: `SELECT count(DISTINCT claim_id) AS claims, ${fired} AS fired FROM history_recordings WHERE ${where}`,
    byDay: `SELECT substr(recorded_at, 1, 10) AS day, ${fired} AS fired FROM history_recordings WHERE ${where} GROUP BY substr(recorded_at, 1, 10) ORDER BY day`,
  };
}

/** The values of `activitySql`: the LIKE pattern, and the period as [since, the day after until). */
export function activityValues(query: RuleActivityQuery): [string, string, string] {
  const pattern = `%[${JSON.stringify(query.ruleId).replace(/[\\%_]/g, (c) => `\\${c}`)},%`;
  const after = new Date(Date.parse(`${query.until}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  return [pattern, query.since, after];
}

export function activityOf(query: RuleActivityQuery, total: { claims: number | string; fired: number | string } | undefined, days: Array<{ day: string; fired: number | string }>): RuleActivity {
  return {
    ruleId: query.ruleId,
    since: query.since,
    until: query.until,
    claims: Number(total?.claims ?? 0),
    fired: Number(total?.fired ?? 0),
    byDay: days.filter((d) => Number(d.fired) > 0).map((d) => ({ date: d.day, fired: Number(d.fired) })),
  };
}

/** Rows are kept compact: a recording's lines and findings as JSON arrays. */
type LineTuple = [number, string, string, string, string | null, number, number];
type FindingTuple = [string, string, Severity, string, number[]];

export function linesJson(lines: readonly RecordingLine[]): string {
  return JSON.stringify(lines.map((l): LineTuple => [l.number, l.code, l.modifiers.join(' '), l.serviceDate, l.serviceDateEnd ?? null, l.units, l.charge]));
}

export function findingsJson(findings: readonly RecordedFinding[] | null | undefined): string | null {
  return findings ? JSON.stringify(findings.map((f): FindingTuple => [f.ruleId, f.pack, f.severity, f.category, f.lines])) : null;
}

export interface RecordingRow {
  seq: number | string;
  claim_id: string;
  replaces: string | null;
  frequency_code: string | null;
  payer_id: string;
  recorded_at: string;
  last_service_date: string;
  lines: string;
  findings: string | null;
}

export const RECORDING_COLUMNS = 'seq, claim_id, replaces, frequency_code, payer_id, recorded_at, last_service_date, lines, findings';

export function recordingOf(row: RecordingRow): Recording {
  const lines = (JSON.parse(row.lines) as LineTuple[]).map((t): RecordingLine => {
    const line: RecordingLine = { number: t[0], code: t[1], modifiers: t[2] === '' ? [] : t[2].split(' '), serviceDate: t[3], units: t[5], charge: t[6] };
    if (t[4] !== null) line.serviceDateEnd = t[4];
    return line;
  });
  const findings = row.findings === null ? null : (JSON.parse(row.findings) as FindingTuple[]).map((t): RecordedFinding => ({ ruleId: t[0], pack: t[1], severity: t[2], category: t[3], lines: t[4] }));
  const recording: Recording = {
    seq: Number(row.seq),
    claimId: row.claim_id,
    payerId: row.payer_id,
    recordedAt: row.recorded_at,
    lastServiceDate: row.last_service_date,
    lines,
    findings,
  };
  if (row.replaces !== null) recording.replaces = row.replaces;
  if (row.frequency_code !== null) recording.frequencyCode = row.frequency_code;
  return recording;
}

export const PAYMENT_COLUMNS = [
  'identity',
  'transaction_hash',
  'seq',
  'claim_id',
  'matched_claim_id',
  'recording_seq',
  'matched_by',
  'status_code',
  'outcome',
  'payer_claim_number',
  'payer_id',
  'charge',
  'paid',
  'patient_responsibility',
  'adjustments',
  'remarks',
  'service_date',
  'adjudicated_on',
  'reversed_by',
  'imported_at',
] as const;

export function paymentRow(p: StoredPayment): unknown[] {
  return [
    p.identity,
    p.transactionHash,
    p.seq,
    p.claimId,
    p.matchedClaimId ?? null,
    p.recordingSeq ?? null,
    p.matchedBy,
    p.statusCode,
    p.outcome,
    p.payerClaimNumber ?? null,
    p.payerId,
    p.charge,
    p.paid,
    p.patientResponsibility ?? null,
    JSON.stringify(p.adjustments),
    JSON.stringify(p.remarks),
    p.serviceDate,
    p.adjudicatedOn ?? null,
    p.reversedBy ?? null,
    p.importedAt,
  ];
}

export const LINE_OUTCOME_COLUMNS = [
  'identity',
  'seq',
  'line_number',
  'procedure_code',
  'modifiers',
  'submitted_code',
  'service_date',
  'charge',
  'paid',
  'units',
  'outcome',
  'adjustments',
  'remarks',
] as const;

export function lineOutcomeRow(identity: string, l: StoredLineOutcome): unknown[] {
  return [
    identity,
    l.seq,
    l.lineNumber ?? null,
    l.procedureCode,
    l.modifiers.join(' '),
    l.submittedCode ?? null,
    l.serviceDate ?? null,
    l.charge,
    l.paid,
    l.units,
    l.outcome,
    JSON.stringify(l.adjustments),
    JSON.stringify(l.remarks),
  ];
}

export const TRANSACTION_COLUMNS = [
  'content_hash',
  'file_sha256',
  'interchange_control',
  'group_control',
  'transaction_control',
  'payer_id',
  'payer_name',
  'trace_number',
  'originator_id',
  'payment_amount',
  'payment_method',
  'payment_date',
  'claims',
  'imported_at',
] as const;

export function transactionRow(t: StoredTransaction): unknown[] {
  return [
    t.contentHash,
    t.fileSha256,
    t.interchangeControl,
    t.groupControl,
    t.transactionControl,
    t.payerId ?? null,
    t.payerName ?? null,
    t.traceNumber,
    t.originatorId ?? null,
    t.paymentAmount,
    t.paymentMethod ?? null,
    t.paymentDate ?? null,
    t.claims,
    t.importedAt,
  ];
}

export const PROVIDER_ADJUSTMENT_COLUMNS = ['identity', 'transaction_hash', 'provider_id', 'fiscal_period_date', 'reason', 'reference', 'amount', 'imported_at'] as const;

export function providerAdjustmentRow(a: StoredProviderAdjustment): unknown[] {
  return [a.identity, a.transactionHash, a.providerId, a.fiscalPeriodDate ?? null, a.reason, a.reference ?? null, a.amount, a.importedAt];
}

export const FILE_COLUMNS = ['sha256', 'source', 'bytes', 'interchanges', 'payments', 'imported', 'imported_at'] as const;

export function fileRow(f: RemitFileRecord): unknown[] {
  return [f.sha256, f.source ?? null, f.bytes, JSON.stringify(f.interchanges), f.payments, f.imported, f.importedAt];
}

export interface FileRowRead {
  sha256: string;
  source: string | null;
  bytes: number | string;
  interchanges: string;
  payments: number | string;
  imported: number | string;
  imported_at: string;
}

export function fileOf(row: FileRowRead): RemitFileRecord {
  const file: RemitFileRecord = {
    sha256: row.sha256,
    bytes: Number(row.bytes),
    interchanges: JSON.parse(row.interchanges) as unknown,
    payments: Number(row.payments),
    imported: Number(row.imported),
    importedAt: row.imported_at,
  };
  if (row.source !== null) file.source = row.source;
  return file;
}

export interface PaymentRowRead {
  identity: string;
  transaction_hash: string;
  seq: number | string;
  claim_id: string;
  matched_claim_id: string | null;
  recording_seq: number | string | null;
  matched_by: MatchedBy;
  status_code: string;
  outcome: Outcome;
  payer_claim_number: string | null;
  payer_id: string;
  charge: number | string;
  paid: number | string;
  patient_responsibility: number | string | null;
  adjustments: string;
  remarks: string;
  service_date: string;
  adjudicated_on: string | null;
  reversed_by: string | null;
  imported_at: string;
}

export interface LineRowRead {
  identity: string;
  seq: number | string;
  line_number: number | string | null;
  procedure_code: string;
  modifiers: string;
  submitted_code: string | null;
  service_date: string | null;
  charge: number | string;
  paid: number | string;
  units: number | string;
  outcome: Outcome;
  adjustments: string;
  remarks: string;
}

export function lineOutcomeOf(row: LineRowRead): StoredLineOutcome {
  const line: StoredLineOutcome = {
    seq: Number(row.seq),
    procedureCode: row.procedure_code,
    modifiers: row.modifiers === '' ? [] : row.modifiers.split(' '),
    charge: Number(row.charge),
    paid: Number(row.paid),
    units: Number(row.units),
    outcome: row.outcome,
    adjustments: JSON.parse(row.adjustments) as Adjustment[],
    remarks: JSON.parse(row.remarks) as string[],
  };
  if (row.line_number !== null) line.lineNumber = Number(row.line_number);
  if (row.submitted_code !== null) line.submittedCode = row.submitted_code;
  if (row.service_date !== null) line.serviceDate = row.service_date;
  return line;
}

export function paymentOf(row: PaymentRowRead, lines: StoredLineOutcome[]): StoredPayment {
  const payment: StoredPayment = {
    identity: row.identity,
    transactionHash: row.transaction_hash,
    seq: Number(row.seq),
    claimId: row.claim_id,
    matchedBy: row.matched_by,
    statusCode: row.status_code,
    outcome: row.outcome,
    payerId: row.payer_id,
    charge: Number(row.charge),
    paid: Number(row.paid),
    adjustments: JSON.parse(row.adjustments) as Adjustment[],
    remarks: JSON.parse(row.remarks) as string[],
    serviceDate: row.service_date,
    importedAt: row.imported_at,
    lines,
  };
  if (row.matched_claim_id !== null) payment.matchedClaimId = row.matched_claim_id;
  if (row.recording_seq !== null) payment.recordingSeq = Number(row.recording_seq);
  if (row.payer_claim_number !== null) payment.payerClaimNumber = row.payer_claim_number;
  if (row.patient_responsibility !== null) payment.patientResponsibility = Number(row.patient_responsibility);
  if (row.adjudicated_on !== null) payment.adjudicatedOn = row.adjudicated_on;
  if (row.reversed_by !== null) payment.reversedBy = row.reversed_by;
  return payment;
}

/** The WHERE clause of a report's payments, in either dialect (`mark(n)` writes the n-th placeholder). */
export function paymentFilter(filter: ReportFilter, mark: (n: number) => string): { sql: string; values: string[] } {
  const values: string[] = [];
  const bind = (value: string) => {
    values.push(value);
    return mark(values.length);
  };
  const recording: string[] = [];
  if (filter.since) recording.push(`recorded_at >= ${bind(filter.since)}`);
  if (filter.payerId) recording.push(`payer_id = ${bind(filter.payerId)}`);
  const own: string[] = [];
  if (filter.since) own.push(`imported_at >= ${bind(filter.since)}`);
  if (filter.payerId) own.push(`payer_id = ${bind(filter.payerId)}`);
  const recorded = `recording_seq IN (SELECT seq FROM history_recordings${recording.length ? ` WHERE ${recording.join(' AND ')}` : ''})`;
  const unmatched = `recording_seq IS NULL${own.length ? ` AND ${own.join(' AND ')}` : ''}`;
  return { sql: `(${recorded} OR (${unmatched}))`, values };
}
