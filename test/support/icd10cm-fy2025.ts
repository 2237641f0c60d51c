import { bundledRulesDir } from '../../src/paths.js';
import path from 'node:path';
import { readSourceText, zipMemberSource } from '../../src/tables/sources.js';

export const FY2026_ZIP = path.join(bundledRulesDir, 'code-sets', 'tables', '2026-code-descriptions-tabular-order.zip');

/**
 * The FY2025 ICD-10-CM order file, rebuilt from the FY2026 one by applying the official FY2026
 * order addenda (in the same zip) in reverse: what was added is taken out, what was deleted is
 * put back, and revised titles get their old wording. Written here, independently of the
 * product's diff, so that the diff can be checked against the addenda.
 */
export async function fy2025OrderFile(): Promise<{ text: string; addenda: string }> {
  const order = await readSourceText(zipMemberSource(FY2026_ZIP, 'icd10cm_order_2026.txt'), 64 << 20);
  const addenda = await readSourceText(zipMemberSource(FY2026_ZIP, 'icd10cm_order_addenda_2026.txt'));
  type Row = { code: string; flag: string; short: string; long: string };
  let rows: Row[] = order
    .split('\r\n')
    .filter((l) => l.trim() !== '')
    .map((l) => ({ code: l.slice(6, 13).trim(), flag: l[14]!, short: l.slice(16, 76).trimEnd(), long: l.slice(77) }));
  for (const l of addenda.split('\r\n')) {
    const action = /^(Add|Delete|Revise from|Revise to):/.exec(l)?.[1];
    if (!action) continue;
    const row: Row = { code: l.slice(15, 22).trim(), flag: l[13]!, short: l.slice(23, 83).trimEnd(), long: l.slice(84) };
    if (action === 'Add') rows = rows.filter((r) => !(r.code === row.code && r.flag === row.flag));
    else if (action === 'Delete') rows.push(row);
    else if (action === 'Revise from') for (const r of rows) if (r.code === row.code && r.flag === row.flag) Object.assign(r, { short: row.short, long: row.long });
  }
  rows.sort((a, b) => (a.code < b.code ? -1 : 1));
  const text = rows.map((r, i) => `${String(i + 1).padStart(5, '0')} ${r.code.padEnd(7)} ${r.flag} ${r.short.padEnd(60)} ${r.long}`).join('\r\n') + '\r\n';
  return { text, addenda };
}
