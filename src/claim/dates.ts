/** ISO calendar dates (YYYY-MM-DD) as whole days, so comparisons never meet time zones. */

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function digitsAt(text: string, from: number, count: number): number {
  let n = 0;
  for (let i = from; i < from + count; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/**
 * A real calendar date written YYYY-MM-DD. Checked by arithmetic rather than by building a
 * Date (date operators call this for every comparison). Years before 100 are refused, as they
 * always were: Date.UTC reads them as 1900-1999.
 */
export function isIsoDate(value: unknown): value is string {
  return typeof value === 'string' && isFullDate(value) && digitsAt(value, 0, 4) >= 100;
}

/**
 * RFC 3339's full-date, as the claim schema's `date` format judges it (ajv-formats' `date`:
 * four digits, two, two, a real day of the month; any year from 0000). By arithmetic: the
 * schema checks every date of every claim, and ajv-formats' regular expression with its
 * captures cost a sixth of the schema's time.
 */
export function isFullDate(text: string): boolean {
  if (text.length !== 10 || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45) return false;
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 2);
  const day = digitsAt(text, 8, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= (month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!);
}

/**
 * Recent answers of dayNumber and addDays: claims repeat the same few dates of service (and the
 * same filing limits and global periods after them) claim after claim, and a lookup costs a
 * tenth of building a Date. Bounded: a table forgets everything when it is full.
 */
const REMEMBERED_DATES = 4_096;
const dayNumbers = new Map<string, number>();
const laterDates = new Map<number, Map<string, string>>();

/** Days since 1970-01-01 for a valid ISO date. */
export function dayNumber(iso: string): number {
  let day = dayNumbers.get(iso);
  if (day === undefined) {
    day = Date.UTC(+iso.slice(0, 4), +iso.slice(5, 7) - 1, +iso.slice(8, 10)) / 86_400_000;
    if (dayNumbers.size >= REMEMBERED_DATES) dayNumbers.clear();
    dayNumbers.set(iso, day);
  }
  return day;
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

const MS_PER_DAY = 86_400_000;
let today = { day: Number.NaN, iso: '' };

/** Today's date in UTC (YYYY-MM-DD). Every scrub asks; the text is made once a day. */
export function todayIso(now: number = Date.now()): string {
  const day = Math.floor(now / MS_PER_DAY);
  if (day !== today.day) today = { day, iso: new Date(day * MS_PER_DAY).toISOString().slice(0, 10) };
  return today.iso;
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

/** The ISO date a number of days after (or, negative, before) another. */
export function addDays(iso: string, days: number): string {
  let byDate = laterDates.get(days);
  if (!byDate) {
    if (laterDates.size >= REMEMBERED_DATES) laterDates.clear();
    laterDates.set(days, (byDate = new Map()));
  }
  let later = byDate.get(iso);
  if (later === undefined) {
    later = new Date((dayNumber(iso) + days) * MS_PER_DAY).toISOString().slice(0, 10);
    if (byDate.size >= REMEMBERED_DATES) byDate.clear();
    byDate.set(iso, later);
  }
  return later;
}

/**
 * The same month and day a number of years later, as a calendar-year limit counts (Medicare's
 * "one calendar year after the date of service"): February 29 becomes February 28 in a common year.
 */
export function sameDayYearsLater(iso: string, years: number): string {
  const year = String(+iso.slice(0, 4) + years).padStart(4, '0');
  const later = `${year}${iso.slice(4)}`;
  return isIsoDate(later) ? later : `${year}-02-28`;
}
