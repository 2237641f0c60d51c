/**
 * X12 data element values to canonical JSON values. A value that is not well formed is passed
 * through unchanged, so that the claim schema reports it (with its place in the file) instead of
 * the reader silently dropping or guessing it.
 */

/** X12 "R" (decimal) values: optional minus sign, digits, optional decimal point. */
const DECIMAL = /^-?(?:\d+\.?\d*|\.\d+)$/;

/** X12 decimals are at most 18 digits; a longer value is not tested (nor regex-scanned) at all. */
const MAX_DECIMAL_LENGTH = 20;

export function decimal(value: string): number | string | undefined {
  const v = value.trim();
  if (v === '') return undefined;
  return v.length <= MAX_DECIMAL_LENGTH && DECIMAL.test(v) ? Number(v) : v;
}

export function whole(value: string): number | string | undefined {
  const v = value.trim();
  if (v === '') return undefined;
  return /^\d{1,9}$/.test(v) ? Number(v) : v;
}

/** CCYYMMDD -> YYYY-MM-DD. */
export function isoDate(value: string): string | undefined {
  const v = value.trim();
  if (v === '') return undefined;
  return /^\d{8}$/.test(v) ? `${v.slice(0, 4)}-${v.slice(4, 6)}-${v.slice(6, 8)}` : v;
}

/** A DTP date by its format qualifier: D8 (a date), RD8 (a range), DT (date and time). */
export function dtpDates(format: string, value: string): { from?: string; to?: string } {
  const v = value.trim();
  if (v === '') return {};
  switch (format) {
    case 'D8':
      return { from: isoDate(v) };
    case 'RD8': {
      const dash = v.indexOf('-');
      if (dash < 0) return { from: v };
      const to = isoDate(v.slice(dash + 1));
      const from = isoDate(v.slice(0, dash));
      return { ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) };
    }
    case 'DT':
      return { from: /^\d{12}$/.test(v) ? isoDate(v.slice(0, 8)) : v };
    default:
      return { from: /^\d{8}$/.test(v) ? isoDate(v) : v };
  }
}

/**
 * SBR09 claim filing indicator -> canonical payer type. 16 (HMO Medicare risk) is Medicare
 * Advantage, which follows Medicare coding policy.
 */
export function payerTypeOf(filingIndicator: string): 'medicare' | 'medicaid' | 'commercial' | 'other' | undefined {
  const code = filingIndicator.trim();
  if (code === '') return undefined;
  switch (code) {
    case 'MA':
    case 'MB':
    case '16':
      return 'medicare';
    case 'MC':
      return 'medicaid';
    case '12': // PPO
    case '13': // POS
    case '14': // EPO
    case '15': // indemnity
    case '17': // dental maintenance organization
    case 'BL': // Blue Cross / Blue Shield
    case 'CI': // commercial insurance
    case 'FI': // Federal Employees Program (carried by commercial plans)
    case 'HM': // HMO
      return 'commercial';
    default:
      return 'other';
  }
}
