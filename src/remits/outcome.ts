import type { Outcome } from '../history/outcomes.js';
import type { AdjustmentCodes } from './codes.js';
import type { Adjustment, ClaimPayment, ServicePayment } from './remittance.js';

/**
 * What the payer did, in the terms of the effectiveness report: paid, partial, denied. A line
 * is denied when the payer paid nothing and said why with a denial reason; the patient's share
 * (a deductible that takes the whole line) and the contract's price are not denials.
 */

/** CLP02 statuses that take back, or do not yet decide, a payment. */
const REVERSAL = '22';
const NOT_ADJUDICATED = new Set(['23', '25']);
const DENIED = '4';

/**
 * Whether an adjustment is a denial: a denial reason the scrubber knows, or a reason it does
 * not know that the payer (not the patient) bears, reducing the payment.
 */
export function isDenial(adjustment: Adjustment, codes: AdjustmentCodes): boolean {
  if (adjustment.amount <= 0) return false;
  const kind = codes.kindOf(adjustment.reason);
  if (kind) return kind === 'denial';
  return adjustment.group !== 'PR';
}

function byMoney(paid: number, charge: number, denials: boolean): Outcome {
  if (!denials) return 'paid';
  return paid <= 0 && charge > 0 ? 'denied' : 'partial';
}

export function lineOutcome(service: ServicePayment, statusCode: string, codes: AdjustmentCodes): Outcome {
  if (statusCode === REVERSAL) return 'reversal';
  if (NOT_ADJUDICATED.has(statusCode)) return 'not-adjudicated';
  if (statusCode === DENIED) return 'denied';
  return byMoney(service.paid, service.charge, service.adjustments.some((a) => isDenial(a, codes)));
}

/** The claim's outcome from its status, its own adjustments and its lines' outcomes. */
export function claimOutcome(payment: ClaimPayment, lines: readonly Outcome[], codes: AdjustmentCodes): Outcome {
  if (payment.statusCode === REVERSAL) return 'reversal';
  if (NOT_ADJUDICATED.has(payment.statusCode)) return 'not-adjudicated';
  if (payment.statusCode === DENIED) return 'denied';
  const claimDenials = payment.adjustments.some((a) => isDenial(a, codes));
  if (lines.length === 0) return byMoney(payment.paid, payment.charge, claimDenials);
  if (lines.every((o) => o === 'denied')) return 'denied';
  if (claimDenials && payment.paid <= 0 && payment.charge > 0) return 'denied';
  return claimDenials || lines.some((o) => o === 'denied' || o === 'partial') ? 'partial' : 'paid';
}
