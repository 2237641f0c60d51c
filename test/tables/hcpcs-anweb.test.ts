import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LAYOUT_2026, hcpcsFormat, parseRecordLayout, readHcpcsRecords, type HcpcsRecord } from '../../src/tables/formats/hcpcs.js';
import { RowCounter } from '../../src/tables/model.js';
import { readSourceText, zipMemberSource } from '../../src/tables/sources.js';
import { bundledRulesDir } from '../../src/paths.js';
import { zipOf } from '../support/zip-writer.js';

const BUNDLED = path.join(bundledRulesDir, 'code-sets', 'tables', 'january-2026-alpha-numeric-hcpcs-file.zip');

async function file(name: string, content: string | Buffer): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hcpcs-'));
  const f = path.join(dir, name);
  await writeFile(f, content);
  return f;
}

/** One 320-character ANWEB record in the 2026 layout. */
function record(fields: { code: string; seq: string; recid: string; long: string; short?: string; added?: string; term?: string; action?: string }): string {
  const r = Array(320).fill(' ');
  const put = ([from]: [number, number], text: string) => [...text].forEach((c, i) => (r[from - 1 + i] = c));
  put(LAYOUT_2026.code, fields.code.padStart(5));
  put([6, 10], fields.seq);
  put(LAYOUT_2026.recid, fields.recid);
  put(LAYOUT_2026.long, fields.long.slice(0, 80));
  if (fields.short) put(LAYOUT_2026.short, fields.short);
  if (fields.added) put(LAYOUT_2026.added, fields.added);
  if (fields.term) put(LAYOUT_2026.termination, fields.term);
  if (fields.action) put(LAYOUT_2026.action, fields.action);
  return r.join('');
}

describe('HCPCS quarterly zip (fixed-width ANWEB file and its record layout)', () => {
  it('reads every code and modifier of the January 2026 file, with their dates', async () => {
    const rows = new RowCounter();
    const index = await hcpcsFormat.read([BUNDLED], rows);
    expect([index.codes.size, index.modifiers.size, rows.skipped]).toEqual([8_623, 383, 0]);
    expect(index.modifiers.statusOn('JZ', 20260220)).toBe('active');
    expect(index.codes.statusOn('G0136', 20260220)).toBe('active');
    expect(index.codes.get('J0172')).toMatchObject({ effective: 20220101, termination: 20251231 });
    expect(index.codes.statusOn('J0172', 20260102)).toBe('terminated');
    expect(index.modifiers.statusOn('JG', 20260102)).toBe('terminated');
  });

  it('joins continuation records to the long description they continue', async () => {
    const records = new Map<string, HcpcsRecord>();
    await readHcpcsRecords([BUNDLED], new RowCounter(), (r) => records.set(`${r.kind}:${r.code}`, r));
    expect(records.get('code:E1100')).toMatchObject({
      longDescription: 'Semi-reclining wheelchair, fixed full length arms, swing away detachable elevating leg rests',
      shortDescription: 'Whchr s-recl fxd arm leg res',
      added: 19860101,
    });
    expect(records.get('modifier:AB')?.longDescription).toMatch(/^Audiology service furnished personally by an audiologist without a physician\/npp order for non-acute/);
    // Level II only: no CPT code is in the public file, and none is kept.
    expect([...records.values()].every((r) => /^[A-Z]/.test(r.code))).toBe(true);
  });

  it('takes the columns from the record layout in the zip (the 2026 layout)', async () => {
    const text = await readSourceText(zipMemberSource(BUNDLED, 'HCPC2026_recordlayout.txt'));
    expect(parseRecordLayout(text)).toEqual(LAYOUT_2026);
    expect(parseRecordLayout('  7.   HCPCS Long Description\n                                80     12     91    CHAR\n')).toMatch(/does not give the columns of/);
  });

  it('follows a record layout that moves a column', async () => {
    const layout = `  1.   Healthcare Common Procedure Coding System Code\n 5 1 5 CHAR\n  4.   HCPCS Modifier Code\n 2 4 5 CHAR\n  6.   HCPCS Record Identification Code\n 1 11 11 CHAR\n  7.   HCPCS Long Description\n 80 12 91 CHAR\n  8.   HCPCS Short Description\n 28 92 119 CHAR\n  27.  HCPCS Code Added Date\n 8 301 308 NUM\n  28.  HCPCS Action Effective Date\n 8 277 284 NUM\n  29.  HCPCS Termination Date\n 8 285 292 NUM\n  30.  HCPCS Action Code\n 1 293 293 CHAR\n`;
    const moved = record({ code: 'G9999', seq: '00100', recid: '3', long: 'A test code', short: 'Test' }).split('');
    [...'20270101'].forEach((c, i) => (moved[300 + i] = c));
    const zip = await file('april-2027-alpha-numeric-hcpcs-file.zip', zipOf([{ name: 'HCPC2027_APR_ANWEB.txt', data: moved.join('') + '\r\n' }, { name: 'HCPC2027_recordlayout.txt', data: layout }]));
    const index = await hcpcsFormat.read([zip], new RowCounter());
    expect(index.codes.get('G9999')).toEqual({ description: 'Test', effective: 20270101 });
  });

  it('ignores a CPT record with its text, drops a CDT descriptor, and skips a continuation of nothing', async () => {
    const text = [
      record({ code: '99213', seq: '00100', recid: '3', long: 'CPT consumer friendly text that must never be kept', short: 'CPT short', added: '19920101', action: 'N' }),
      record({ code: 'D0120', seq: '00100', recid: '3', long: 'Dental text the ADA owns', short: 'Dental short', added: '20000101', action: 'N' }),
      record({ code: 'G0008', seq: '00100', recid: '3', long: 'Administration of influenza virus vaccine', short: 'Admin influenza virus vac', added: '19930101', action: 'N' }),
      record({ code: 'Q9999', seq: '00200', recid: '4', long: 'continued text with no first record' }),
      record({ code: '25', seq: '00100', recid: '7', long: 'CPT modifier text', short: 'CPT mod', added: '19920101', action: 'N' }),
      ' '.repeat(296),
    ].join('\r\n');
    const f = await file('HCPC2026_JAN_ANWEB_test.txt', text);
    const rows = new RowCounter();
    const records: HcpcsRecord[] = [];
    await readHcpcsRecords([f], rows, (r) => records.push(r));
    expect(records.map((r) => [r.code, r.longDescription])).toEqual([
      ['D0120', ''],
      ['G0008', 'Administration of influenza virus vaccine'],
    ]);
    expect([rows.taken, rows.ignored, rows.skipped]).toEqual([2, 2, 1]);
    expect(rows.problems).toEqual([expect.objectContaining({ line: 4, message: expect.stringContaining('continuation record') })]);
    expect(JSON.stringify(records)).not.toMatch(/CPT|consumer/);
  });

  it('recognises the edition from the names CMS gives its files', () => {
    expect(hcpcsFormat.recognise!(['january-2026-alpha-numeric-hcpcs-file.zip'])).toEqual({ edition: 'HCPCS Level II January 2026', covers: { from: '2026-01-01', to: '2026-03-31' } });
    expect(hcpcsFormat.recognise!(['x.zip', 'HCPC2026_OCT_ANWEB_10012026.txt'])).toEqual({ edition: 'HCPCS Level II October 2026', covers: { from: '2026-10-01', to: '2026-12-31' } });
    expect(hcpcsFormat.recognise!(['2024-alpha-numeric-hcpcs-file.zip'])?.covers).toEqual({ from: '2024-01-01', to: '2024-03-31' });
    expect(hcpcsFormat.recognise!(['hcpcs_level_2_2022.csv'])).toBeUndefined();
  });
});
