/**
 * Writes X12 835 remittances for tests and benchmarks: claim payments built from claims (the
 * canonical JSON the scrubber records), paid, denied or partly paid as a test says, balanced as
 * the TR3 requires (charge less adjustments is the payment, at line, claim and check level),
 * with correct segment counts and control numbers.
 */

export interface Adj {
  group: 'CO' | 'PR' | 'OA' | 'PI';
  reason: string;
  amount: number;
}

export interface RemitLine {
  code: string;
  modifiers?: string[];
  /** The code as submitted, written to SVC06 when the payer adjudicated `code` instead. */
  submittedCode?: string;
  charge: number;
  paid: number;
  units?: number;
  date?: string;
  adjustments: Adj[];
  remarks?: string[];
}

export interface RemitClaim {
  claimId: string;
  /** CLP02: 1 primary, 4 denied, 22 reversal, ... */
  status: string;
  charge: number;
  paid: number;
  payerClaimNumber?: string;
  adjustments?: Adj[];
  remarks?: string[];
  lines: RemitLine[];
}

export interface ClaimLike {
  claimId: string;
  lines: Array<{ procedureCode: string; modifiers?: string[]; units: number; charge: number; serviceDate: string }>;
}

const round = (n: number) => Math.round(n * 100) / 100;
const money = (n: number) => round(n).toFixed(2);

/** A claim paid in full as the contract allows: 80% paid, the rest CO-45. */
export function paid(claim: ClaimLike, payerClaimNumber = `ICN${claim.claimId}`): RemitClaim {
  const lines = claim.lines.map((l): RemitLine => {
    const pay = round(l.charge * 0.8);
    return { code: l.procedureCode, modifiers: l.modifiers ?? [], charge: l.charge, paid: pay, units: l.units, date: l.serviceDate, adjustments: [{ group: 'CO', reason: '45', amount: round(l.charge - pay) }] };
  });
  return totalled({ claimId: claim.claimId, status: '1', charge: 0, paid: 0, payerClaimNumber, lines });
}

/** Recomputes the claim's charge and payment from its lines and adjustments. */
export function totalled(claim: RemitClaim): RemitClaim {
  const charge = round(claim.lines.reduce((t, l) => t + l.charge, 0));
  const claimAdj = (claim.adjustments ?? []).reduce((t, a) => t + a.amount, 0);
  const paidTotal = round(claim.lines.reduce((t, l) => t + l.paid, 0) - claimAdj);
  return { ...claim, charge: claim.lines.length > 0 ? charge : claim.charge, paid: claim.lines.length > 0 ? paidTotal : claim.paid };
}

/** The same claim with the given lines (0-based) denied for `reason`, nothing paid on them. */
export function denyLines(remit: RemitClaim, indexes: readonly number[], adj: { group: Adj['group']; reason: string; remark?: string }): RemitClaim {
  const lines = remit.lines.map((l, i) =>
    indexes.includes(i) ? { ...l, paid: 0, adjustments: [{ group: adj.group, reason: adj.reason, amount: l.charge }], remarks: adj.remark ? [adj.remark] : [] } : l,
  );
  return totalled({ ...remit, lines });
}

/** Denied as a whole (CLP02 4): every line adjusted for `reason`. */
export function deniedClaim(remit: RemitClaim, adj: { group: Adj['group']; reason: string; remark?: string }): RemitClaim {
  const denied = denyLines(
    remit,
    remit.lines.map((_, i) => i),
    adj,
  );
  return { ...denied, status: '4' };
}

/** The reversal of an earlier payment (CLP02 22): every amount negated. */
export function reversal(remit: RemitClaim): RemitClaim {
  const neg = (a: Adj): Adj => ({ ...a, amount: -a.amount });
  return {
    ...remit,
    status: '22',
    charge: -remit.charge,
    paid: -remit.paid,
    adjustments: (remit.adjustments ?? []).map(neg),
    lines: remit.lines.map((l) => ({ ...l, charge: -l.charge, paid: -l.paid, adjustments: l.adjustments.map(neg) })),
  };
}

export interface Remit835Options {
  /** ISA13 / GS06 control number. */
  control?: number;
  traceNumber?: string;
  payerName?: string;
  payerId?: string;
  paymentDate?: string;
  /** Provider-level adjustments (PLB): positive reduces the check. */
  providerAdjustments?: Array<{ reason: string; reference?: string; amount: number }>;
}

function casSegments(adjustments: readonly Adj[]): string[] {
  const byGroup = new Map<string, Adj[]>();
  for (const a of adjustments) byGroup.set(a.group, [...(byGroup.get(a.group) ?? []), a]);
  const out: string[] = [];
  for (const [group, list] of byGroup) {
    for (let i = 0; i < list.length; i += 6) out.push(`CAS*${group}*${list.slice(i, i + 6).map((a) => `${a.reason}*${money(a.amount)}`).join('**')}`);
  }
  return out;
}

/** The 835 text (one interchange, one transaction set) paying `claims`. Segments end with "~" and a line break. */
export function write835(claims: readonly RemitClaim[], options: Remit835Options = {}): string {
  const control = String(options.control ?? 1).padStart(9, '0');
  const date = (options.paymentDate ?? '2026-06-01').replace(/-/g, '');
  const plb = options.providerAdjustments ?? [];
  const total = round(claims.reduce((t, c) => t + c.paid, 0) - plb.reduce((t, a) => t + a.amount, 0));
  const body: string[] = [
    `BPR*I*${money(total)}*C*ACH*CCP*01*999999992*DA*123456*1512345678**01*999988880*DA*98765*${date}`,
    `TRN*1*${options.traceNumber ?? `TRACE${control}`}*1512345678`,
    `DTM*405*${date}`,
    `N1*PR*${options.payerName ?? 'TEST PAYER'}`,
    `REF*2U*${options.payerId ?? 'TESTPAYER'}`,
    'N1*PE*TEST CLINIC*XX*1234567893',
  ];
  claims.forEach((c, i) => {
    body.push(`LX*${i + 1}`);
    body.push(`CLP*${c.claimId}*${c.status}*${money(c.charge)}*${money(c.paid)}**12*${c.payerClaimNumber ?? `ICN${c.claimId}`}`);
    body.push(...casSegments(c.adjustments ?? []));
    body.push('NM1*QC*1*DOE*JANE****MI*TESTMEMBER');
    if (c.remarks && c.remarks.length > 0) body.push(`MOA***${c.remarks.join('*')}`);
    for (const l of c.lines) {
      const composite = (code: string) => ['HC', code, ...(l.modifiers ?? [])].join(':');
      const original = l.submittedCode ? `*${composite(l.submittedCode)}` : '';
      body.push(`SVC*${composite(l.code)}*${money(l.charge)}*${money(l.paid)}**${l.units ?? 1}${original}`);
      if (l.date) body.push(`DTM*472*${l.date.replace(/-/g, '')}`);
      body.push(...casSegments(l.adjustments));
      for (const r of l.remarks ?? []) body.push(`LQ*HE*${r}`);
    }
  });
  for (const a of plb) body.push(`PLB*1234567893*${date.slice(0, 4)}1231*${a.reason}${a.reference ? `:${a.reference}` : ''}*${money(a.amount)}`);
  const st = '0001';
  const segments = [
    `ISA*00*          *00*          *ZZ*PAYER          *ZZ*CLINIC         *260601*1200*^*00501*${control}*0*T*:`,
    `GS*HP*PAYER*CLINIC*${date}*1200*${Number(control)}*X*005010X221A1`,
    `ST*835*${st}`,
    ...body,
    `SE*${body.length + 2}*${st}`,
    `GE*1*${Number(control)}`,
    `IEA*1*${control}`,
  ];
  return segments.join('~\n') + '~\n';
}
