import { createHash } from 'node:crypto';
import { readRemittances, type InterchangeControl, type PaymentRead, type RemittanceRead } from '../formats/x12/remit835.js';
import type { ReadProblem } from '../formats/types.js';
import type { MatchedBy, Outcome, Recording, RemitStore, StoredLineOutcome, StoredPayment, StoredProviderAdjustment } from '../history/outcomes.js';
import { AdjustmentCodes } from './codes.js';
import { matchLines, type LineMatch } from './match.js';
import { claimOutcome, lineOutcome } from './outcome.js';
import type { ClaimPayment, RemittanceHeader } from './remittance.js';

/**
 * Importing an 835: every claim payment matched to the recording of the claim it pays (by
 * claim id; else by the payer's claim control number seen before, or a replacement that names
 * it), each service payment to the recorded line it pays, and all of it stored beside the
 * recordings. What matches nothing is stored too and reported, never dropped. The same file
 * twice changes nothing (its SHA-256 is kept), and the same payment in another file is
 * imported once (payments are keyed by their content, not their envelope).
 */

export interface ImportOptions {
  codes?: AdjustmentCodes;
  /** Where the file came from, kept with it: a base name, or "POST /v1/remits". */
  source?: string;
  /** Most claim payments one file may hold (the batch limit); a larger file is refused whole. */
  maxPayments?: number;
  /** The time stamps written; tests fix it. */
  now?: () => string;
}

/** One claim payment as the import treated it: ids, codes and outcomes only, never patient data. */
export interface PaymentRecord {
  label: string;
  claimId: string;
  status: 'imported' | 'already-imported' | 'unreadable';
  statusCode?: string;
  outcome?: Outcome;
  matched?: { claimId: string; by: Exclude<MatchedBy, 'unmatched'>; recordedAt: string };
  lines?: Array<{ seq: number; procedureCode: string; lineNumber?: number; submittedCode?: string; outcome: Outcome }>;
  /** A reversal (CLP02 22): whether it found the earlier payment it takes back. */
  reversal?: 'applied' | 'no-earlier-payment';
  problems: ReadProblem[];
}

export interface ImportSummary {
  sha256: string;
  bytes: number;
  interchanges: InterchangeControl[];
  /** The file was imported before: nothing changed. */
  alreadyImported?: { importedAt: string; source?: string };
  transactions: number;
  payments: { total: number; imported: number; alreadyImported: number; unreadable: number };
  /** Of the payments imported now. */
  matched: number;
  unmatched: number;
  outcomes: Record<Outcome, number>;
  reversals: { applied: number; noEarlierPayment: number };
  lines: { total: number; matched: number; unmatched: number; codeChangedByPayer: number };
  providerAdjustments: { total: number; imported: number; amount: number };
  /** Problems of the file and its transaction sets (a payment's own are on its record). */
  problems: ReadProblem[];
}

export class RemitImportError extends Error {
  constructor(
    message: string,
    readonly code: 'unreadable-remittance' | 'remittance-too-large',
    readonly problems: ReadProblem[] = [],
  ) {
    super(message);
    this.name = 'RemitImportError';
  }
}

/** Payments written per database transaction. */
const CHUNK = 500;

const REVERSAL = '22';

function emptyOutcomes(): Record<Outcome, number> {
  return { paid: 0, partial: 0, denied: 0, reversal: 0, 'not-adjudicated': 0 };
}

function earliest(dates: Array<string | undefined>): string | undefined {
  let out: string | undefined;
  for (const d of dates) if (d !== undefined && (out === undefined || d < out)) out = d;
  return out;
}

/** The claim ids a payment may be known by: CLP07, and REF*F8 (the original reference on a correction). */
function payerNumbers(payment: ClaimPayment): string[] {
  return [payment.payerClaimNumber, payment.originalReference].filter((n): n is string => n !== undefined);
}

interface Matched {
  recording: Recording;
  by: Exclude<MatchedBy, 'unmatched'>;
}

/** Finds the recording of each payment of a chunk, in four batched reads at most. */
async function matchClaims(store: RemitStore, payments: readonly ClaimPayment[]): Promise<Array<Matched | undefined>> {
  const byId = await store.latestRecordings(payments.map((p) => p.claimId));
  const rest = payments.filter((p) => !byId.has(p.claimId));
  const numbers = rest.flatMap(payerNumbers);
  const earlier = numbers.length > 0 ? await store.claimsOfPayerNumbers(numbers) : new Map<string, string>();
  const earlierIds = [...earlier.values()].filter((id) => !byId.has(id));
  const viaEarlier = earlierIds.length > 0 ? await store.latestRecordings(earlierIds) : new Map<string, Recording>();
  const replaced = rest.length > 0 ? await store.replacementsOf([...rest.map((p) => p.claimId), ...numbers]) : new Map<string, Recording>();
  return payments.map((p): Matched | undefined => {
    const own = byId.get(p.claimId);
    if (own) return { recording: own, by: 'claim-id' };
    for (const n of payerNumbers(p)) {
      const id = earlier.get(n);
      const recording = id === undefined ? undefined : (byId.get(id) ?? viaEarlier.get(id));
      if (recording) return { recording, by: 'payer-claim-number' };
    }
    for (const key of [p.claimId, ...payerNumbers(p)]) {
      const recording = replaced.get(key);
      if (recording) return { recording, by: 'replacement' };
    }
    return undefined;
  });
}

function payerOf(header: RemittanceHeader): string {
  return header.payer.id ?? header.originatorId ?? header.payer.name ?? 'unknown payer';
}

export class RemitImport {
  readonly summary: ImportSummary;
  private readonly codes: AdjustmentCodes;
  private readonly now: () => string;

  constructor(
    private readonly store: RemitStore,
    private readonly bytes: Uint8Array,
    private readonly options: ImportOptions = {},
  ) {
    this.codes = options.codes ?? AdjustmentCodes.BUNDLED;
    this.now = options.now ?? (() => new Date().toISOString());
    this.summary = {
      sha256: createHash('sha256').update(bytes).digest('hex'),
      bytes: bytes.byteLength,
      interchanges: [],
      transactions: 0,
      payments: { total: 0, imported: 0, alreadyImported: 0, unreadable: 0 },
      matched: 0,
      unmatched: 0,
      outcomes: emptyOutcomes(),
      reversals: { applied: 0, noEarlierPayment: 0 },
      lines: { total: 0, matched: 0, unmatched: 0, codeChangedByPayer: 0 },
      providerAdjustments: { total: 0, imported: 0, amount: 0 },
      problems: [],
    };
  }

  /**
   * Imports the file, yielding a record per claim payment in file order as each chunk is
   * stored. Throws RemitImportError before anything is written when the file holds no readable
   * remittance or more payments than allowed; HistoryUnavailableError when the store fails.
   */
  async *run(): AsyncGenerator<PaymentRecord> {
    const summary = this.summary;
    const known = await this.store.file(summary.sha256);
    if (known) {
      summary.alreadyImported = { importedAt: known.importedAt, ...(known.source ? { source: known.source } : {}) };
      summary.interchanges = known.interchanges as InterchangeControl[];
      summary.payments.total = known.payments;
      summary.payments.alreadyImported = known.payments;
      return;
    }
    const text = new TextDecoder('utf-8').decode(this.bytes);
    const read = readRemittances(text);
    summary.interchanges = read.interchanges;
    summary.problems = [...read.problems, ...read.remittances.flatMap((r) => r.problems)];
    if (read.remittances.length === 0) {
      const first = read.problems.find((p) => p.severity === 'error') ?? read.problems[0];
      throw new RemitImportError(`the file holds no 835 remittance that can be read${first ? `: ${first.message}` : ''}`, 'unreadable-remittance', read.problems);
    }
    if (this.options.maxPayments !== undefined && read.claims > this.options.maxPayments) {
      throw new RemitImportError(
        `the file holds ${read.claims} claim payments, more than the ${this.options.maxPayments} one import may hold; nothing was imported. Split it by transaction set (ST ... SE), or raise the limit.`,
        'remittance-too-large',
      );
    }
    const importedAt = this.now();
    for (const remittance of read.remittances) {
      summary.transactions++;
      yield* this.importRemittance(remittance, importedAt);
    }
    summary.payments.total = read.claims;
    await this.store.finishFile({
      sha256: summary.sha256,
      ...(this.options.source ? { source: this.options.source } : {}),
      bytes: summary.bytes,
      interchanges: summary.interchanges,
      payments: read.claims,
      imported: summary.payments.imported,
      importedAt,
    });
  }

  /** Runs the import to its end and returns the summary (the records are counted in it). */
  async complete(): Promise<ImportSummary> {
    for await (const _ of this.run());
    return this.summary;
  }

  private async *importRemittance(remittance: RemittanceRead, importedAt: string): AsyncGenerator<PaymentRecord> {
    const { header } = remittance;
    const transactionHash = header.contentHash;
    let chunk: PaymentRead[] = [];
    const providerAdjustments = await this.providerAdjustments(remittance, importedAt);
    const transaction = {
      contentHash: transactionHash,
      fileSha256: this.summary.sha256,
      interchangeControl: header.control.interchange,
      groupControl: header.control.group,
      transactionControl: header.control.transaction,
      ...(header.payer.id ? { payerId: header.payer.id } : {}),
      ...(header.payer.name ? { payerName: header.payer.name } : {}),
      traceNumber: header.traceNumber,
      ...(header.originatorId ? { originatorId: header.originatorId } : {}),
      paymentAmount: header.paymentAmount,
      ...(header.paymentMethod ? { paymentMethod: header.paymentMethod } : {}),
      ...(header.paymentDate ? { paymentDate: header.paymentDate } : {}),
      claims: remittance.claims,
      importedAt,
    };
    let seen = 0;
    for (const item of remittance.payments()) {
      chunk.push(item);
      seen++;
      if (chunk.length === CHUNK || seen === remittance.claims) {
        const last = seen === remittance.claims;
        yield* await this.importChunk(header, chunk, importedAt, last ? { transaction, providerAdjustments } : undefined);
        chunk = [];
      }
    }
    if (remittance.claims === 0) await this.store.write({ payments: [], reversals: [], providerAdjustments, transaction });
  }

  private async providerAdjustments(remittance: RemittanceRead, importedAt: string): Promise<StoredProviderAdjustment[]> {
    const identities = remittance.providerAdjustmentIdentities;
    const stored = await this.store.knownIdentities(identities);
    this.summary.providerAdjustments.total += identities.length;
    const out: StoredProviderAdjustment[] = [];
    remittance.providerAdjustments.forEach((a, i) => {
      const identity = identities[i]!;
      if (stored.has(identity)) return;
      out.push({
        identity,
        transactionHash: remittance.header.contentHash,
        providerId: a.providerId,
        ...(a.fiscalPeriodDate ? { fiscalPeriodDate: a.fiscalPeriodDate } : {}),
        reason: a.reason,
        ...(a.reference ? { reference: a.reference } : {}),
        amount: a.amount,
        importedAt,
      });
      this.summary.providerAdjustments.imported++;
      this.summary.providerAdjustments.amount += a.amount;
    });
    return out;
  }

  private async importChunk(
    header: RemittanceHeader,
    chunk: readonly PaymentRead[],
    importedAt: string,
    last: { transaction: Parameters<RemitStore['write']>[0]['transaction']; providerAdjustments: StoredProviderAdjustment[] } | undefined,
  ): Promise<PaymentRecord[]> {
    const summary = this.summary;
    const readable = chunk.filter((i): i is Extract<PaymentRead, { kind: 'payment' }> => i.kind === 'payment');
    const stored = await this.store.knownIdentities(readable.map((i) => i.identity));
    const fresh = readable.filter((i) => !stored.has(i.identity));
    const matches = await matchClaims(
      this.store,
      fresh.map((i) => i.payment),
    );
    const records: PaymentRecord[] = [];
    const payments: StoredPayment[] = [];
    const reversals: Array<{ target: string; by: string }> = [];
    const matchOf = new Map(fresh.map((item, i) => [item.identity, matches[i]]));
    for (const item of chunk) {
      if (item.kind === 'unreadable') {
        summary.payments.unreadable++;
        records.push({ label: item.label, claimId: item.claimId, status: 'unreadable', problems: item.problems });
        continue;
      }
      const { payment } = item;
      if (stored.has(item.identity)) {
        summary.payments.alreadyImported++;
        records.push({ label: item.label, claimId: payment.claimId, status: 'already-imported', statusCode: payment.statusCode, problems: item.problems });
        continue;
      }
      const match = matchOf.get(item.identity);
      const stored_ = this.storedPayment(header, item.identity, payment, match, importedAt);
      const record: PaymentRecord = {
        label: item.label,
        claimId: payment.claimId,
        status: 'imported',
        statusCode: payment.statusCode,
        outcome: stored_.outcome,
        lines: stored_.lines.map((l) => ({
          seq: l.seq,
          procedureCode: l.procedureCode,
          ...(l.lineNumber !== undefined ? { lineNumber: l.lineNumber } : {}),
          ...(l.submittedCode !== undefined ? { submittedCode: l.submittedCode } : {}),
          outcome: l.outcome,
        })),
        problems: item.problems,
      };
      if (match) record.matched = { claimId: match.recording.claimId, by: match.by, recordedAt: match.recording.recordedAt };
      if (payment.statusCode === REVERSAL) {
        // The payment taken back: earlier in this chunk, or stored before.
        const inChunk = [...payments]
          .reverse()
          .find(
            (p) =>
              p.claimId === payment.claimId &&
              p.outcome !== 'reversal' &&
              p.reversedBy === undefined &&
              (payment.payerClaimNumber === undefined || p.payerClaimNumber === payment.payerClaimNumber),
          );
        const target = inChunk?.identity ?? (await this.store.paymentToReverse(payment.claimId, payment.payerClaimNumber));
        if (target && !reversals.some((r) => r.target === target)) {
          if (inChunk) inChunk.reversedBy = item.identity;
          else reversals.push({ target, by: item.identity });
          summary.reversals.applied++;
          record.reversal = 'applied';
        } else {
          summary.reversals.noEarlierPayment++;
          record.reversal = 'no-earlier-payment';
        }
      }
      payments.push(stored_);
      summary.payments.imported++;
      summary.outcomes[stored_.outcome]++;
      if (match) summary.matched++;
      else summary.unmatched++;
      for (const l of stored_.lines) {
        summary.lines.total++;
        if (l.lineNumber !== undefined) summary.lines.matched++;
        else summary.lines.unmatched++;
        if (l.submittedCode !== undefined && l.lineNumber !== undefined) summary.lines.codeChangedByPayer++;
      }
      records.push(record);
    }
    await this.store.write({ payments, reversals, providerAdjustments: last?.providerAdjustments ?? [], ...(last?.transaction ? { transaction: last.transaction } : {}) });
    return records;
  }

  private storedPayment(header: RemittanceHeader, identity: string, payment: ClaimPayment, match: Matched | undefined, importedAt: string): StoredPayment {
    const lineMatches: LineMatch[] = match ? matchLines(payment.services, match.recording.lines) : payment.services.map(() => ({}));
    const lines: StoredLineOutcome[] = payment.services.map((s, i) => {
      const m = lineMatches[i]!;
      const line: StoredLineOutcome = {
        seq: s.seq,
        procedureCode: s.procedure.code,
        modifiers: s.procedure.modifiers,
        charge: s.charge,
        paid: s.paid,
        units: s.units,
        outcome: lineOutcome(s, payment.statusCode, this.codes),
        adjustments: s.adjustments,
        remarks: s.remarks,
      };
      if (m.lineNumber !== undefined) line.lineNumber = m.lineNumber;
      if (s.submitted && s.submitted.code !== s.procedure.code) line.submittedCode = s.submitted.code;
      if (s.serviceDate !== undefined) line.serviceDate = s.serviceDate;
      return line;
    });
    const adjudicatedOn = header.paymentDate ?? header.productionDate;
    const serviceDate =
      earliest([payment.statementFrom, ...payment.services.map((s) => s.serviceDate)]) ?? match?.recording.lastServiceDate ?? adjudicatedOn ?? importedAt.slice(0, 10);
    const stored: StoredPayment = {
      identity,
      transactionHash: header.contentHash,
      seq: payment.seq,
      claimId: payment.claimId,
      matchedBy: match?.by ?? 'unmatched',
      statusCode: payment.statusCode,
      outcome: claimOutcome(
        payment,
        lines.map((l) => l.outcome),
        this.codes,
      ),
      payerId: match?.recording.payerId ?? payerOf(header),
      charge: payment.charge,
      paid: payment.paid,
      adjustments: payment.adjustments,
      remarks: payment.remarks,
      serviceDate,
      importedAt,
      lines,
    };
    if (match) {
      stored.matchedClaimId = match.recording.claimId;
      stored.recordingSeq = match.recording.seq;
    }
    if (payment.payerClaimNumber !== undefined) stored.payerClaimNumber = payment.payerClaimNumber;
    if (payment.patientResponsibility !== undefined) stored.patientResponsibility = payment.patientResponsibility;
    if (adjudicatedOn !== undefined) stored.adjudicatedOn = adjudicatedOn;
    return stored;
  }
}
