import { daysBetween } from '../claim/dates.js';
import type { DateWindow, Pack } from '../packs/model.js';
import type { TableInfo } from './model.js';

/**
 * How current each loaded table is: its editions with the dates they cover, and how many days
 * are left before the newest one's coverage ends. Shown by GET /v1/packs, /readyz, the
 * start-up log, `scrub tables list` and the scrub_table_coverage_days_remaining gauge, so that
 * an operator sees a quarterly update that was forgotten.
 */

export interface EditionStatus {
  edition: string;
  covers?: DateWindow;
  complete: boolean;
  rows: number;
  rowsSkipped: number;
  files: string[];
}

export interface TableStatus {
  pack: string;
  name: string;
  format: string;
  title: string;
  /** Oldest first. */
  editions: EditionStatus[];
  rows: number;
  /** Every edition complete (false: an excerpt, whose missing codes are never flagged). */
  complete: boolean;
  /** The last date of service an edition covers; absent when an edition covers every date from its start. */
  coverageEnds?: string;
  /** Days from today to coverageEnds: negative once it has passed. */
  daysLeft?: number;
  /** Today is past coverageEnds: claims of today's date get no verdict from this table. */
  stale: boolean;
}

/** The last date any edition covers, or undefined when one is open-ended. */
export function coverageEnd(table: Pick<TableInfo, 'editions'>): string | undefined {
  let end: string | undefined;
  for (const e of table.editions) {
    const to = e.covers?.to;
    if (to === undefined) return undefined;
    if (end === undefined || to > end) end = to;
  }
  return end;
}

export function tableStatus(pack: string, table: TableInfo, today: string): TableStatus {
  const status: TableStatus = {
    pack,
    name: table.name,
    format: table.format,
    title: table.title ?? table.format,
    editions: table.editions.map((e) => {
      const out: EditionStatus = { edition: e.edition, complete: e.complete, rows: e.rowsTaken, rowsSkipped: e.rowsSkipped, files: e.files };
      if (e.covers) out.covers = e.covers;
      return out;
    }),
    rows: table.rowsTaken,
    complete: table.complete,
    stale: false,
  };
  const end = coverageEnd(table);
  if (end !== undefined) {
    status.coverageEnds = end;
    status.daysLeft = daysBetween(today, end);
    status.stale = today > end;
  }
  return status;
}

export function tableStatuses(packs: readonly Pack[], today: string): TableStatus[] {
  return packs.flatMap((p) => p.tables.map((t) => tableStatus(p.name, t, today)));
}

/** "2025-10-01 to 2026-09-30", "from 2022-01-01", "every date". */
export function describeCovers(covers: DateWindow | undefined): string {
  if (!covers || (!covers.from && !covers.to)) return 'every date';
  if (covers.from && covers.to) return `${covers.from} to ${covers.to}`;
  return covers.from ? `from ${covers.from}` : `until ${covers.to}`;
}

/** One sentence per table whose newest edition's coverage has ended: what the operator should update. */
export function staleMessage(t: TableStatus, today: string): string | undefined {
  if (!t.stale || t.coverageEnds === undefined) return undefined;
  const newest = t.editions.at(-1);
  return (
    `table ${t.pack}/${t.name} (${t.title}): the newest edition loaded, ${newest?.edition ?? 'none'}, covers dates of service ` +
    `up to ${t.coverageEnds}, ${-(t.daysLeft ?? 0)} days before today (${today}); claims after that date get no verdict ` +
    'from it until the next edition is loaded (scrub tables fetch, or drop the CMS file into the tables folder)'
  );
}

/** What the service logs about its tables when it starts or reloads: one line each, a warning for each stale one. */
export function tableLogEntries(packs: readonly Pack[], today: string): Array<{ level: 'info' | 'warn'; fields: Record<string, unknown>; message: string }> {
  return tableStatuses(packs, today).map((t) => {
    const fields: Record<string, unknown> = {
      pack: t.pack,
      table: t.name,
      editions: t.editions.map((e) => `${e.edition} (${describeCovers(e.covers)}, ${e.rows} rows${e.complete ? '' : ', excerpt'})`),
      rows: t.rows,
      complete: t.complete,
    };
    if (t.coverageEnds !== undefined) Object.assign(fields, { coverageEnds: t.coverageEnds, daysLeft: t.daysLeft });
    const stale = staleMessage(t, today);
    return stale ? { level: 'warn' as const, fields, message: stale } : { level: 'info' as const, fields, message: `table ${t.pack}/${t.name} loaded` };
  });
}
