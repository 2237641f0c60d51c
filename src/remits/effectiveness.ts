import type { Severity } from '../findings/finding.js';
import type { Recording, RecordedFinding, RemitStore, ReportFilter, StoredLineOutcome, StoredPayment } from '../history/outcomes.js';
import type { PredictedDenial } from '../packs/model.js';
import type { AdjustmentCodes } from './codes.js';
import { isDenial } from './outcome.js';
import type { Adjustment } from './remittance.js';

/**
 * The effectiveness report: every rule measured against what payers did with the claims it
 * fired on, and the denials no rule saw coming. It answers a compliance lead's two questions
 * ("which of our rules prevent denials?", "which denials should we write rules for?") from the
 * claim history: each recording keeps the findings the scrubber returned, and each imported
 * 835 payment is matched to the recording it adjudicated.
 *
 * Units: a rule fires on a recording (one scrub of a claim version). A line-level finding is
 * judged by the payer's answer for the lines it names; a claim-level finding by the payer's
 * answer for the whole claim. Only the payment in force counts: a payment a reversal took back
 * (and the reversal itself) is left out, and the correction that follows counts.
 */

/** What a report needs to know of a loaded rule. */
export interface RuleFacts {
  pack: string;
  severity: Severity;
  predicts?: readonly PredictedDenial[];
}

export interface CarcCount {
  /** Group and reason, "CO-97". */
  code: string;
  count: number;
  amount: number;
}

export interface RuleEffectiveness {
  ruleId: string;
  pack: string;
  category: string;
  /** The severity of its latest finding counted. */
  severity: Severity;
  fired: { claims: number; lines: number };
  /** Of those, the ones the payer adjudicated (the recording was submitted as scrubbed). */
  adjudicated: { claims: number; lines: number };
  /** Of those, denied in whole or in part; amount is the sum of the denial adjustments. */
  denied: { claims: number; lines: number; amount: number };
  /** Of those adjudicated, paid without a denial. */
  paid: { claims: number; lines: number };
  /** The denial codes on what it fired on, most frequent first. */
  carcs: CarcCount[];
  /** Claims it fired on that were recorded again without its finding, and that version was paid. */
  fixedThenPaid: number;
  /** As the rule's pack declares them. */
  predicts?: string[];
  /**
   * Of the adjudicated units (lines for a line-level finding, claims for a claim-level one), how
   * many the payer denied with a predicted code: `value` = predicted / adjudicated. Only for a rule
   * that declares `predicts`; null when nothing it fired on was adjudicated.
   */
  precision?: { predicted: number; adjudicated: number; value: number | null };
}

export interface UnpredictedDenial {
  /** Group and reason, "CO-16". */
  code: string;
  group: string;
  reason: string;
  payerId: string;
  /** The adjudicated procedure code; "" for a denial of the whole claim. */
  procedureCode: string;
  /** Denied lines (or claims, for procedureCode ""). */
  count: number;
  amount: number;
  /** Of those, how many had a finding on them (a rule fired, but it does not predict this code). */
  withFinding: number;
  remarks: string[];
}

export interface PaidDespiteFinding {
  ruleId: string;
  pack: string;
  /** Claims the rule fired on at severity error that the payer paid without a denial. */
  claims: number;
  lines: number;
  /** Of its adjudicated error findings, the share paid. */
  share: number;
}

export interface EffectivenessReport {
  generatedAt: string;
  filter: ReportFilter;
  totals: {
    recordings: number;
    /** Recordings made by a scrub (with findings), as opposed to a history import. */
    scrubbed: number;
    payments: number;
    /** Payments matched to a recording; the rest matched no recorded claim. */
    matched: number;
    unmatched: number;
    /** Payments a reversal took back, and the reversals: left out of every count below. */
    reversed: number;
    /** Payments in force on scrubbed recordings, by claim outcome. */
    outcomes: { paid: number; partial: number; denied: number; notAdjudicated: number };
    /** Denied lines (and whole-claim denials) on scrubbed recordings, and their amount. */
    denials: { count: number; amount: number; predicted: number; predictedAmount: number };
    /** Denials on payments that matched no recording: claims the scrubber never saw. */
    denialsUnmatched: { count: number; amount: number };
  };
  rules: RuleEffectiveness[];
  unpredicted: UnpredictedDenial[];
  paidDespiteFinding: PaidDespiteFinding[];
  /** Descriptions of the codes the report names (bundled words, or the official list loaded). */
  codes: { carc: Record<string, string>; rarc: Record<string, string> };
}

export interface ReportOptions {
  codes: AdjustmentCodes;
  /** The loaded rules, for their `predicts` and pack. */
  rules: (ruleId: string) => RuleFacts | undefined;
  now?: () => string;
}

const cents = (n: number) => Math.round(n * 100) / 100;

/** The payer's answer for one unit a finding covers. */
interface Verdict {
  state: 'paid' | 'denied' | 'other';
  denials: Adjustment[];
  remarks: string[];
}

function codeOf(a: Adjustment): string {
  return `${a.group}-${a.reason}`;
}

function predicted(predicts: readonly PredictedDenial[] | undefined, verdict: Verdict): boolean {
  if (!predicts || verdict.state !== 'denied') return false;
  return verdict.denials.some((a) => predicts.some((p) => p.group === a.group && p.reason === a.reason && (p.remark === undefined || verdict.remarks.includes(p.remark))));
}

/** The payer's answer for a finding on several lines: denied when any was, paid when all were. */
function combined(verdicts: readonly Verdict[]): Verdict {
  const denied = verdicts.filter((v) => v.state === 'denied');
  if (denied.length > 0) return { state: 'denied', denials: denied.flatMap((v) => v.denials), remarks: denied.flatMap((v) => v.remarks) };
  return { state: verdicts.every((v) => v.state === 'paid') ? 'paid' : 'other', denials: [], remarks: [] };
}

/** The line sets of a rule's findings on one recording, each once. */
function distinctLineSets(findings: readonly RecordedFinding[]): number[][] {
  const seen = new Map<string, number[]>();
  for (const f of findings) seen.set(f.lines.join(','), f.lines);
  return [...seen.values()];
}

function sum(adjustments: readonly Adjustment[]): number {
  return adjustments.reduce((t, a) => t + a.amount, 0);
}

class Judge {
  constructor(private readonly codes: AdjustmentCodes) {}

  denials(adjustments: readonly Adjustment[]): Adjustment[] {
    return adjustments.filter((a) => isDenial(a, this.codes));
  }

  /** The payer's answer for recorded line `n`: its service lines, else (no service lines at all) the claim's. */
  line(payment: StoredPayment, n: number): Verdict {
    if (payment.lines.length === 0) return this.claim(payment);
    const services = payment.lines.filter((l) => l.lineNumber === n);
    if (services.length === 0) return { state: 'other', denials: [], remarks: [] };
    const denials = services.flatMap((s) => this.denials(s.adjustments));
    const remarks = [...services.flatMap((s) => s.remarks), ...payment.remarks];
    if (denials.length > 0 || services.some((s) => s.outcome === 'denied')) return { state: 'denied', denials: [...denials, ...this.denials(payment.adjustments)], remarks };
    return { state: services.every((s) => s.outcome === 'paid') ? 'paid' : 'other', denials: [], remarks };
  }

  claim(payment: StoredPayment): Verdict {
    const denials = [...this.denials(payment.adjustments), ...payment.lines.flatMap((l) => this.denials(l.adjustments))];
    const remarks = [...payment.remarks, ...payment.lines.flatMap((l) => l.remarks)];
    if (payment.outcome === 'denied' || payment.outcome === 'partial') return { state: 'denied', denials, remarks };
    return { state: payment.outcome === 'paid' ? 'paid' : 'other', denials: [], remarks };
  }
}

interface RuleTally {
  ruleId: string;
  pack: string;
  category: string;
  severity: Severity;
  fired: { claims: number; lines: number };
  adjudicated: { claims: number; lines: number };
  denied: { claims: number; lines: number; amount: number };
  paid: { claims: number; lines: number };
  carcs: Map<string, CarcCount>;
  fixed: Set<string>;
  units: { adjudicated: number; predicted: number };
  errorsAdjudicated: number;
  paidDespite: { claims: number; lines: number };
}

function tallyOf(f: RecordedFinding): RuleTally {
  return {
    ruleId: f.ruleId,
    pack: f.pack,
    category: f.category,
    severity: f.severity,
    fired: { claims: 0, lines: 0 },
    adjudicated: { claims: 0, lines: 0 },
    denied: { claims: 0, lines: 0, amount: 0 },
    paid: { claims: 0, lines: 0 },
    carcs: new Map(),
    fixed: new Set(),
    units: { adjudicated: 0, predicted: 0 },
    errorsAdjudicated: 0,
    paidDespite: { claims: 0, lines: 0 },
  };
}

/** The payment in force for each recording: the latest one not reversed (and not a reversal). */
function paymentsInForce(payments: readonly StoredPayment[]): { byRecording: Map<number, StoredPayment>; reversed: number; unmatched: StoredPayment[] } {
  const byRecording = new Map<number, StoredPayment>();
  const unmatched: StoredPayment[] = [];
  let reversed = 0;
  for (const p of payments) {
    if (p.outcome === 'reversal' || p.reversedBy !== undefined) {
      reversed++;
      continue;
    }
    if (p.recordingSeq === undefined) unmatched.push(p);
    else byRecording.set(p.recordingSeq, p);
  }
  return { byRecording, reversed, unmatched };
}

/** Later versions of each recording: the same claim id recorded again, or a replacement naming it. */
function laterVersions(recordings: readonly Recording[]): (r: Recording) => Recording[] {
  const byClaim = new Map<string, Recording[]>();
  for (const r of recordings) {
    for (const key of r.replaces !== undefined ? [r.claimId, r.replaces] : [r.claimId]) {
      const list = byClaim.get(key);
      if (list) list.push(r);
      else byClaim.set(key, [r]);
    }
  }
  return (r) => (byClaim.get(r.claimId) ?? []).filter((v) => v.seq > r.seq);
}

export async function effectivenessReport(store: RemitStore, filter: ReportFilter, options: ReportOptions): Promise<EffectivenessReport> {
  const [recordings, payments] = await Promise.all([store.recordings(filter), store.payments(filter)]);
  return buildReport(recordings, payments, filter, options);
}

/** The report from recordings (in recording order) and payments (in import order). */
export function buildReport(recordings: readonly Recording[], payments: readonly StoredPayment[], filter: ReportFilter, options: ReportOptions): EffectivenessReport {
  const judge = new Judge(options.codes);
  const { byRecording, reversed, unmatched } = paymentsInForce(payments);
  const later = laterVersions(recordings);
  const tallies = new Map<string, RuleTally>();
  const unpredicted = new Map<string, UnpredictedDenial>();
  const usedCarcs = new Set<string>();
  const usedRarcs = new Set<string>();
  const totals: EffectivenessReport['totals'] = {
    recordings: recordings.length,
    scrubbed: 0,
    payments: payments.length,
    matched: payments.filter((p) => p.recordingSeq !== undefined).length,
    unmatched: payments.filter((p) => p.recordingSeq === undefined).length,
    reversed,
    outcomes: { paid: 0, partial: 0, denied: 0, notAdjudicated: 0 },
    denials: { count: 0, amount: 0, predicted: 0, predictedAmount: 0 },
    denialsUnmatched: { count: 0, amount: 0 },
  };
  const predictsOf = (ruleId: string) => options.rules(ruleId)?.predicts;

  for (const recording of recordings) {
    if (recording.findings === null) continue;
    totals.scrubbed++;
    const findings = recording.findings;
    const payment = byRecording.get(recording.seq);

    // Each rule that fired on this recording.
    const byRule = new Map<string, RecordedFinding[]>();
    for (const f of findings) {
      const list = byRule.get(f.ruleId);
      if (list) list.push(f);
      else byRule.set(f.ruleId, [f]);
    }
    for (const [ruleId, ruleFindings] of byRule) {
      const first = ruleFindings[0]!;
      let t = tallies.get(ruleId);
      if (!t) tallies.set(ruleId, (t = tallyOf(first)));
      t.severity = first.severity;
      const claimLevel = ruleFindings.some((f) => f.lines.length === 0);
      const lines = [...new Set(ruleFindings.flatMap((f) => f.lines))].sort((a, b) => a - b);
      const isError = ruleFindings.some((f) => f.severity === 'error');
      t.fired.claims++;
      t.fired.lines += lines.length;

      const fixedVersion = later(recording).find((v) => v.findings !== null && !v.findings.some((f) => f.ruleId === ruleId) && byRecording.get(v.seq)?.outcome === 'paid');
      if (fixedVersion) t.fixed.add(recording.claimId);

      if (!payment || payment.outcome === 'not-adjudicated') continue;
      const predicts = predictsOf(ruleId);
      const byLine = new Map(lines.map((n) => [n, judge.line(payment, n)]));
      const verdicts = claimLevel ? [judge.claim(payment)] : [...byLine.values()];
      const adjudicated = verdicts.filter((v) => v.state !== 'other');
      if (adjudicated.length === 0) continue;
      t.adjudicated.claims++;
      // Precision counts findings: a finding on a pair of lines came true when the payer denied either.
      const units = claimLevel ? verdicts : distinctLineSets(ruleFindings).map((set) => combined(set.map((n) => byLine.get(n)!)));
      for (const unit of units) {
        if (unit.state === 'other') continue;
        t.units.adjudicated++;
        if (predicted(predicts, unit)) t.units.predicted++;
      }
      if (isError) t.errorsAdjudicated++;
      const denied = adjudicated.filter((v) => v.state === 'denied');
      const paidUnits = adjudicated.filter((v) => v.state === 'paid');
      if (!claimLevel) {
        t.adjudicated.lines += adjudicated.length;
        t.denied.lines += denied.length;
        t.paid.lines += paidUnits.length;
      }
      if (denied.length > 0) {
        t.denied.claims++;
        for (const v of denied) {
          for (const a of v.denials) {
            const code = codeOf(a);
            usedCarcs.add(a.reason);
            const c = t.carcs.get(code);
            if (c) {
              c.count++;
              c.amount += a.amount;
            } else t.carcs.set(code, { code, count: 1, amount: a.amount });
            t.denied.amount += a.amount;
          }
        }
      } else if (paidUnits.length === adjudicated.length) {
        t.paid.claims++;
        if (isError) {
          t.paidDespite.claims++;
          if (!claimLevel) t.paidDespite.lines += paidUnits.length;
        }
      }
    }

    if (!payment) continue;
    const outcomeKey = payment.outcome === 'not-adjudicated' ? 'notAdjudicated' : payment.outcome === 'reversal' ? undefined : payment.outcome;
    if (outcomeKey) totals.outcomes[outcomeKey]++;
    if (payment.outcome === 'not-adjudicated') continue;

    // Every denial on this payment: foreseen by a finding whose rule predicts it, or not.
    const covering = (lineNumber: number | undefined) => findings.filter((f) => f.lines.length === 0 || (lineNumber !== undefined && f.lines.includes(lineNumber)));
    const units: Array<{ procedureCode: string; lineNumber?: number; verdict: Verdict }> = [];
    const claimDenials = judge.denials(payment.adjustments);
    if (claimDenials.length > 0 || (payment.lines.length === 0 && payment.outcome === 'denied')) {
      units.push({ procedureCode: '', verdict: { state: 'denied', denials: claimDenials, remarks: payment.remarks } });
    }
    for (const line of payment.lines) {
      const denials = judge.denials(line.adjustments);
      if (denials.length === 0) continue;
      units.push({ procedureCode: line.procedureCode, ...(line.lineNumber !== undefined ? { lineNumber: line.lineNumber } : {}), verdict: { state: 'denied', denials, remarks: [...line.remarks, ...payment.remarks] } });
    }
    for (const unit of units) {
      const on = unit.procedureCode === '' ? findings : covering(unit.lineNumber);
      const amount = sum(unit.verdict.denials);
      totals.denials.count++;
      totals.denials.amount += amount;
      if (on.some((f) => predicted(predictsOf(f.ruleId), unit.verdict))) {
        totals.denials.predicted++;
        totals.denials.predictedAmount += amount;
        continue;
      }
      const main = unit.verdict.denials[0];
      const group = main?.group ?? 'CO';
      const reason = main?.reason ?? '';
      if (main) usedCarcs.add(main.reason);
      for (const r of unit.verdict.remarks) usedRarcs.add(r);
      const code = main ? codeOf(main) : `${payment.statusCode === '4' ? 'denied' : 'unexplained'}`;
      const key = `${code}|${payment.payerId}|${unit.procedureCode}`;
      const bucket = unpredicted.get(key) ?? { code, group, reason, payerId: payment.payerId, procedureCode: unit.procedureCode, count: 0, amount: 0, withFinding: 0, remarks: [] };
      unpredicted.set(key, bucket);
      bucket.count++;
      bucket.amount += amount;
      if (on.length > 0) bucket.withFinding++;
      for (const r of unit.verdict.remarks) if (!bucket.remarks.includes(r)) bucket.remarks.push(r);
    }
  }

  for (const p of unmatched) {
    if (p.outcome === 'not-adjudicated') continue;
    const denials = [...judge.denials(p.adjustments), ...p.lines.flatMap((l: StoredLineOutcome) => judge.denials(l.adjustments))];
    if (denials.length === 0) continue;
    totals.denialsUnmatched.count++;
    totals.denialsUnmatched.amount += sum(denials);
  }

  const rules: RuleEffectiveness[] = [...tallies.values()].map((t) => {
    const facts = options.rules(t.ruleId);
    const out: RuleEffectiveness = {
      ruleId: t.ruleId,
      pack: t.pack,
      category: t.category,
      severity: t.severity,
      fired: t.fired,
      adjudicated: t.adjudicated,
      denied: { ...t.denied, amount: cents(t.denied.amount) },
      paid: t.paid,
      carcs: [...t.carcs.values()].map((c) => ({ ...c, amount: cents(c.amount) })).sort((a, b) => b.count - a.count || b.amount - a.amount || a.code.localeCompare(b.code)),
      fixedThenPaid: t.fixed.size,
    };
    if (facts?.predicts && facts.predicts.length > 0) {
      out.predicts = facts.predicts.map((p) => p.text);
      out.precision = { predicted: t.units.predicted, adjudicated: t.units.adjudicated, value: t.units.adjudicated === 0 ? null : cents(t.units.predicted / t.units.adjudicated) };
    }
    return out;
  });
  rules.sort((a, b) => b.fired.claims - a.fired.claims || a.ruleId.localeCompare(b.ruleId));

  const paidDespiteFinding: PaidDespiteFinding[] = [...tallies.values()]
    .filter((t) => t.paidDespite.claims > 0)
    .map((t) => ({ ruleId: t.ruleId, pack: t.pack, claims: t.paidDespite.claims, lines: t.paidDespite.lines, share: cents(t.paidDespite.claims / t.errorsAdjudicated) }))
    .sort((a, b) => b.claims - a.claims || a.ruleId.localeCompare(b.ruleId));

  const unpredictedList = [...unpredicted.values()]
    .map((u) => ({ ...u, amount: cents(u.amount), remarks: u.remarks.sort() }))
    .sort((a, b) => b.amount - a.amount || b.count - a.count || a.code.localeCompare(b.code) || a.payerId.localeCompare(b.payerId) || a.procedureCode.localeCompare(b.procedureCode));

  totals.denials.amount = cents(totals.denials.amount);
  totals.denials.predictedAmount = cents(totals.denials.predictedAmount);
  totals.denialsUnmatched.amount = cents(totals.denialsUnmatched.amount);
  const describe = (codes: Set<string>, lookup: (c: string) => { description?: string }) =>
    Object.fromEntries(
      [...codes]
        .sort()
        .map((c) => [c, lookup(c).description])
        .filter((e): e is [string, string] => e[1] !== undefined),
    );
  return {
    generatedAt: (options.now ?? (() => new Date().toISOString()))(),
    filter: { ...filter },
    totals,
    rules,
    unpredicted: unpredictedList,
    paidDespiteFinding,
    codes: { carc: describe(usedCarcs, (c) => options.codes.carc(c)), rarc: describe(usedRarcs, (c) => options.codes.rarc(c)) },
  };
}

/** What the report needs of a loaded pack set's rules. */
export function ruleFactsOf(rulesById: ReadonlyMap<string, { pack: string; severity: Severity; predicts?: readonly PredictedDenial[] }>): (ruleId: string) => RuleFacts | undefined {
  return (ruleId) => {
    const rule = rulesById.get(ruleId);
    if (!rule) return undefined;
    return { pack: rule.pack, severity: rule.severity, ...(rule.predicts ? { predicts: rule.predicts } : {}) };
  };
}
