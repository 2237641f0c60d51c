import type { ClaimView, DiagnosisView } from '../claim/view.js';
import { inWindow, type DateWindow } from '../packs/model.js';
import type { TableContext } from './model.js';

/**
 * The editions of one table (ICD-10-CM FY2025 and FY2026, HCPCS January and April...), each
 * with the dates of service it covers. A claim line is judged by the edition that covers its
 * date of service, never by another year's; a date no edition covers gets no verdict.
 */

export interface Edition<Index> {
  context: TableContext;
  index: Index;
}

/** Whether an edition starting at `a` is newer than one starting at `b` (an open start is oldest). */
function startsLater(a: DateWindow | undefined, b: DateWindow | undefined): boolean {
  const x = a?.from;
  const y = b?.from;
  if (x === undefined) return false;
  return y === undefined || x > y;
}

export class Editions<Index> {
  /** Newest first: where two editions cover a date (an April update over its fiscal year), the newer wins. */
  private readonly newestFirst: Edition<Index>[];
  private lastDate: string | undefined;
  private lastEdition: Edition<Index> | undefined;

  constructor(
    readonly name: string,
    /** In order of their dates, oldest first. */
    readonly list: readonly Edition<Index>[],
  ) {
    this.newestFirst = [...list].sort((a, b) => (startsLater(a.context.covers, b.context.covers) ? -1 : startsLater(b.context.covers, a.context.covers) ? 1 : 0));
  }

  /** The editions' names, for descriptions. */
  get names(): string {
    return this.list.map((e) => e.context.edition).join(', ');
  }

  /** The edition that covers a date of service (YYYY-MM-DD), or undefined when none does. */
  at(date: string): Edition<Index> | undefined {
    // Claims mostly have one date of service, asked for again by every line and diagnosis.
    if (date === this.lastDate) return this.lastEdition;
    let found: Edition<Index> | undefined;
    for (const e of this.newestFirst) {
      if (inWindow(e.context.covers, date)) {
        found = e;
        break;
      }
    }
    this.lastDate = date;
    this.lastEdition = found;
    return found;
  }
}

const QUARTER_ENDS = ['03-31', '06-30', '09-30', '12-31'];

/** The calendar quarter a date falls in: 2026-07-01 gives 2026-07-01..2026-09-30. */
export function quarterOf(year: number, month: number): DateWindow {
  const q = Math.floor((month - 1) / 3);
  return { from: `${year}-${String(q * 3 + 1).padStart(2, '0')}-01`, to: `${year}-${QUARTER_ENDS[q]}` };
}

/** A federal fiscal year: FY2026 runs from 2025-10-01 to 2026-09-30. */
export function fiscalYear(year: number): DateWindow {
  return { from: `${year - 1}-10-01`, to: `${year}-09-30` };
}

/**
 * The editions a diagnosis is judged by: those covering the dates of service of the lines that
 * point at it (every line when none does). Undefined when an edition is missing for one of
 * those dates: the diagnosis is then not judged at all, rather than by another year's codes.
 */
export function diagnosisEditions<Index>(editions: Editions<Index>, diagnosis: DiagnosisView, claim: ClaimView): Edition<Index>[] | undefined {
  const pointed = diagnosis.pointedBy.length > 0;
  let first: Edition<Index> | undefined;
  let more: Edition<Index>[] | undefined;
  for (const line of claim.lines) {
    if (pointed && !diagnosis.pointedBy.includes(line.number)) continue;
    const e = editions.at(line.serviceDate);
    if (!e) return undefined;
    if (first === undefined) first = e;
    else if (e !== first && !(more ??= []).includes(e)) more.push(e);
  }
  if (first === undefined) return undefined;
  return more ? [first, ...more] : [first];
}
