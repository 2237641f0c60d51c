/** ISO calendar dates (YYYY-MM-DD) as whole days, so comparisons never meet time zones. */

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

export function isIsoDate(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const m = ISO_DATE.exec(value);
  if (!m) return false;
  const d = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!));
  return d.getUTCFullYear() === +m[1]! && d.getUTCMonth() === +m[2]! - 1 && d.getUTCDate() === +m[3]!;
}

/** Days since 1970-01-01 for a valid ISO date. */
export function dayNumber(iso: string): number {
  return Date.UTC(+iso.slice(0, 4), +iso.slice(5, 7) - 1, +iso.slice(8, 10)) / 86_400_000;
}

export function daysBetween(fromIso: string, toIso: string): number {
  return dayNumber(toIso) - dayNumber(fromIso);
}

/** Age in completed years on a date (a birthday on Feb 29 counts from Mar 1 in common years). */
export function ageOn(birthIso: string, onIso: string): number {
  const by = +birthIso.slice(0, 4);
  const bmd = birthIso.slice(5);
  const oy = +onIso.slice(0, 4);
  const omd = onIso.slice(5);
  return oy - by - (omd < bmd ? 1 : 0);
}

export function todayIso(now: Date = new Date()): string {
  return now.toISOString().slice(0, 10);
}

/** The later of two ISO dates, treating undefined as absent. */
export function latest(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a > b ? a : b;
}

export function earliest(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a < b ? a : b;
}
