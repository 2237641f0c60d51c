import { BOOLEAN, STRING, type Shape } from '../engine/shapes.js';
import { dateNumberOfIso, isoOfDateNumber } from './encoding.js';
import type { TableContext } from './model.js';

/**
 * A code set whose codes may carry the dates they were added and terminated (HCPCS Level II
 * codes and modifiers, place-of-service codes), so that a code can be judged on a date of
 * service: in force, not yet in force, or ended.
 */

export interface CodeSetEntry {
  description: string;
  /** yyyymmdd the code took effect, when the file says. */
  effective?: number;
  /** yyyymmdd of the last day the code is valid, when the file says. */
  termination?: number;
}

export type CodeStatus = 'active' | 'not-yet-effective' | 'terminated' | 'not-found';

export class DatedCodeSet {
  private readonly byCode = new Map<string, CodeSetEntry>();

  get size(): number {
    return this.byCode.size;
  }

  /**
   * Adds a code. A dated entry (from a quarterly file) is not replaced by an undated one
   * (from a plain list) for the same code: the dates are what decide its status.
   */
  add(code: string, entry: CodeSetEntry): void {
    const earlier = this.byCode.get(code);
    const dated = (e: CodeSetEntry) => e.effective !== undefined || e.termination !== undefined;
    if (earlier && dated(earlier) && !dated(entry)) return;
    this.byCode.set(code, entry);
  }

  get(code: string): CodeSetEntry | undefined {
    return this.byCode.get(code);
  }

  /** Every code and its entry, in the order they were added. */
  entries(): Array<[string, CodeSetEntry]> {
    return [...this.byCode];
  }

  statusOn(code: string, serviceDate: number): CodeStatus {
    const e = this.byCode.get(code);
    if (!e) return 'not-found';
    if (e.effective !== undefined && serviceDate < e.effective) return 'not-yet-effective';
    if (e.termination !== undefined && serviceDate > e.termination) return 'terminated';
    return 'active';
  }
}

/** The fields every code-set fact reports about one code. */
export const CODE_LOOKUP_SHAPE: Record<string, Shape> = {
  found: BOOLEAN,
  code: STRING,
  status: STRING,
  description: STRING,
  effectiveDate: STRING,
  terminationDate: STRING,
  validDates: STRING,
  covered: BOOLEAN,
  complete: BOOLEAN,
  fullSet: BOOLEAN,
  edition: STRING,
};

/**
 * A code looked up in the edition that covers the date of service. `complete` (and `fullSet`,
 * its older name) says whether a code that is not found is really not a code.
 */
export function codeLookup(set: DatedCodeSet, code: string, serviceDate: string, table: TableContext): Record<string, unknown> {
  // Literals, not spreads of a shared base: this runs for every line of every claim.
  const complete = table.complete;
  const edition = table.edition;
  const entry = set.get(code);
  if (!entry) return { found: false, status: 'not-found', code, covered: true, complete, fullSet: complete, edition };
  const result: Record<string, unknown> = {
    found: true,
    status: set.statusOn(code, dateNumberOfIso(serviceDate)),
    description: entry.description,
    code,
    covered: true,
    complete,
    fullSet: complete,
    edition,
  };
  const from = entry.effective === undefined ? undefined : isoOfDateNumber(entry.effective);
  const to = entry.termination === undefined ? undefined : isoOfDateNumber(entry.termination);
  if (from) result.effectiveDate = from;
  if (to) result.terminationDate = to;
  // In words for messages: "from 2023-10-01", "2015-04-01 to 2015-06-30", "until 2024-12-31".
  result.validDates = from && to ? `${from} to ${to}` : from ? `from ${from}` : to ? `until ${to}` : 'at all dates';
  return result;
}

/** A code on a date no loaded edition covers: status "no-edition", and no verdict. */
export function uncoveredLookup(code: string): Record<string, unknown> {
  return { found: false, status: 'no-edition', code, covered: false, complete: false, fullSet: false };
}

/** Upper-cased header names without spaces or punctuation: "LONG DESCRIPTION" = "long_description". */
export function headerKey(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9]/g, '');
}
