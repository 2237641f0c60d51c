import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Claim } from '../../src/claim/claim.generated.js';
import { buildClaimView } from '../../src/claim/view.js';
import { Editions } from '../../src/tables/editions.js';
import { MEANINGS, feeScheduleFormat, feeScheduleValues } from '../../src/tables/formats/mpfs-rvu.js';
import { fixtureClaim } from '../helpers.js';
import { addOnCodeFormat, julianDate } from '../../src/tables/formats/ncci-add-on.js';
import { RowCounter, TableFileError } from '../../src/tables/model.js';
import { bundledRulesDir } from '../../src/paths.js';
import { fixedWidthFromCsv } from '../support/pprrvu-fixed-width.js';
import { zipOf } from '../support/zip-writer.js';
import { detectFile } from '../../src/tables/detect.js';

const PPRRVU = path.join(bundledRulesDir, 'cms-mpfs', 'tables', 'PPRRVU2025_Oct.no-descriptors.csv');
const AOC = path.join(bundledRulesDir, 'cms-add-on-codes', 'tables', 'AOC_V2026Q2-MCR.xlsx');

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
async function tempFile(name: string, text: string): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), 'scrub-fee-'));
  dirs.push(d);
  const file = path.join(d, name);
  await writeFile(file, text);
  return file;
}

describe('PPRRVU (mpfs-rvu)', () => {
  it('reads the whole bundled October 2025 release, every indicator by its column name', async () => {
    const rows = new RowCounter();
    const index = await feeScheduleFormat.read([PPRRVU], rows);
    expect(rows.taken).toBe(19_090);
    expect(rows.skipped).toBe(0);
    expect(index.get('27447')).toEqual({ status: 'A', pcTc: '0', globalDays: '090', multipleProcedure: '2', bilateral: '1', assistant: '2', coSurgeon: '1', team: '0', modifierRows: [] });
    expect(index.get('71046')).toMatchObject({ pcTc: '1', globalDays: 'XXX', modifierRows: ['26', 'TC'] });
    expect(index.get('11103')?.globalDays).toBe('ZZZ');
    expect(feeScheduleFormat.recognise!(['PPRRVU2025_Oct.no-descriptors.csv'])).toEqual({
      edition: 'MPFS RVU25D (October 2025 release, effective 2025-10-01)',
      covers: { from: '2025-10-01', to: '2025-12-31' },
    });
    expect(feeScheduleFormat.recognise!(['RVU26A.zip'])?.covers).toEqual({ from: '2026-01-01', to: '2026-12-31' });
  });

  it('reads the 2026 layout, with PRIC IND after TEAM SURG, by names: not off by one', async () => {
    const lines = (await readFile(PPRRVU, 'utf8')).split('\r\n');
    const header = lines.findIndex((l) => l.startsWith('HCPCS,MOD,'));
    const team = lines[header]!.split(',').indexOf('SURG', 22); // TEAM SURG is column 23 (index 22)
    expect(team).toBe(22);
    const insert = (l: string, cell: string) => {
      const cells = l.split(',');
      cells.splice(23, 0, cell);
      return cells.join(',');
    };
    const block = lines.slice(0, header + 1).map((l, i) => insert(l, i === header - 1 ? 'PRIC' : i === header ? 'IND' : ''));
    const data = lines.slice(header + 1).filter((l) => /^(27447|10060),,/.test(l)).map((l) => insert(l, '7'));
    const file = await tempFile('PPRRVU2026_Jan.csv', [...block, ...data, ''].join('\r\n'));
    const index = await feeScheduleFormat.read([file], new RowCounter());
    expect(index.get('27447')).toMatchObject({ bilateral: '1', assistant: '2', coSurgeon: '1', team: '0' });
    expect(index.get('10060')).toMatchObject({ globalDays: '010', assistant: '1', team: '0' });
    expect(feeScheduleFormat.recognise!([path.basename(file)])?.edition).toBe('MPFS RVU26A (January 2026 release, effective 2026-01-01)');
  });

  it('reads the fixed-width txt of the same release at the 2025 layout\'s positions: the same index as the CSV', async () => {
    const csv = await readFile(PPRRVU, 'utf8');
    const file = await tempFile('PPRRVU25_OCT.txt', fixedWidthFromCsv(csv));
    const fromCsv = await feeScheduleFormat.read([PPRRVU], new RowCounter());
    const rows = new RowCounter();
    const fromTxt = await feeScheduleFormat.read([file], rows);
    expect(rows.taken).toBe(19_090);
    expect(rows.skipped).toBe(0);
    expect(Object.fromEntries(fromTxt.entries())).toEqual(Object.fromEntries(fromCsv.entries()));
    expect(fromTxt.get('71046')).toMatchObject({ pcTc: '1', globalDays: 'XXX', modifierRows: ['26', 'TC'] });
    // scrub tables verify and diff find it by its name, and by its content when the name says nothing.
    expect((await detectFile(file))?.format).toBe('mpfs-rvu');
    const unnamed = await tempFile('relative-values.dat', fixedWidthFromCsv(csv));
    expect((await detectFile(unnamed))?.format).toBe('mpfs-rvu');
    expect((await feeScheduleFormat.read([unnamed], new RowCounter())).size).toBe(fromCsv.size);
    // In the release zip, the CSV is read when both forms are there; the txt when it is alone.
    const both = await tempFile('RVU25D.zip', '');
    await writeFile(both, zipOf([{ name: 'PPRRVU25_OCT.txt', data: Buffer.from('HDR not a valid file') }, { name: 'PPRRVU25_OCT.csv', data: Buffer.from(csv) }]));
    expect((await feeScheduleFormat.read([both], new RowCounter())).size).toBe(fromCsv.size);
    const txtOnly = await tempFile('RVU25D.zip', '');
    await writeFile(txtOnly, zipOf([{ name: 'PPRRVU25_OCT.txt', data: Buffer.from(fixedWidthFromCsv(csv)) }, { name: 'RVU25D.pdf', data: Buffer.from('%PDF') }]));
    expect(Object.fromEntries((await feeScheduleFormat.read([txtOnly], new RowCounter())).entries())).toEqual(Object.fromEntries(fromCsv.entries()));
  });

  it('refuses a fixed-width file whose records do not fit the layout of its year, rather than read it off by some columns', async () => {
    const csv = await readFile(PPRRVU, 'utf8');
    // Every field from STATUS CODE on one position to the right, as an unknown layout would put them.
    const file = await tempFile('PPRRVU26_JAN.txt', fixedWidthFromCsv(csv, { shift: 1 }));
    await expect(feeScheduleFormat.read([file], new RowCounter())).rejects.toThrow(/do not fit the fixed-width layout \(RVU25D record layout/);
    const noHeader = await tempFile('PPRRVU25_OCT.txt', fixedWidthFromCsv(csv).split('\r\n').slice(1).join('\r\n'));
    await expect(feeScheduleFormat.read([noHeader], new RowCounter())).rejects.toThrow(TableFileError);
  });

  it('refuses a file without the named columns, and skips a malformed row at file:line', async () => {
    await expect(feeScheduleFormat.read([await tempFile('PPRRVU25_OCT.csv', 'HCPCS,MOD,STATUS\r\n27447,,A\r\n')], new RowCounter())).rejects.toThrow(TableFileError);
    const lines = (await readFile(PPRRVU, 'utf8')).split('\r\n');
    const header = lines.findIndex((l) => l.startsWith('HCPCS,MOD,'));
    const file = await tempFile('PPRRVU25_OCT.csv', [...lines.slice(0, header + 2), '27447,,,A,,1,1,,1,,1,1,1,0,45,0,0,0,2,1,2,1,0,,32,09,0,99,0,0,0', ''].join('\r\n'));
    const rows = new RowCounter();
    await feeScheduleFormat.read([file], rows);
    expect(rows.taken).toBe(1);
    expect(rows.problems).toEqual([{ file, line: header + 3, message: expect.stringContaining('27447') }]);
  });
});

describe('the mpfs fact', () => {
  const meaning = (table: Readonly<Record<string, string>>, value: string) => table[value] ?? `indicator ${value} (not in the layout this scrubber knows)`;
  const AROUND = ['sameDayMinorProcedure', 'majorProcedure', 'postOperativeOf', 'sameDayNonAddOn', 'otherSideLine'] as const;

  it('reports every code of the table as the spread of its entry did, key order included, however often the code is asked for', async () => {
    const index = await feeScheduleFormat.read([PPRRVU], new RowCounter());
    const edition = 'MPFS RVU25D (October 2025 release, effective 2025-10-01)';
    const editions = new Editions('mpfs', [{ context: { name: 'mpfs', edition, complete: true, covers: { from: '2025-10-01', to: '2025-12-31' } }, index }]);
    const codes = [...index.entries()].map(([code]) => code);
    // More codes than the index keeps described, twice over: every answer is made afresh or remembered.
    expect(codes.length).toBeGreaterThan(4_096);
    const base = fixtureClaim('office-visit') as unknown as Claim;
    const claimOf = (code: string, serviceDate: string) =>
      buildClaimView({ ...base, lines: [{ procedureCode: code, units: 1, charge: 10, serviceDate, diagnosisPointers: [1] }, { procedureCode: '99213', units: 1, charge: 10, serviceDate, diagnosisPointers: [1] }] as Claim['lines'] });
    for (const round of [1, 2]) {
      for (const code of [...codes, 'NOTACODE']) {
        const claim = claimOf(code, '2025-11-03');
        const value = feeScheduleValues(editions, claim.lines[0]!, claim)!;
        const around = Object.fromEntries(AROUND.map((k) => [k, value[k]]));
        const entry = index.get(code);
        let expected: Record<string, unknown>;
        if (!entry) expected = { found: false, code, ...around, covered: true, edition };
        else {
          const { modifierRows: _rows, ...indicators } = entry;
          expected = {
            found: true,
            code,
            ...indicators,
            statusText: meaning(MEANINGS.status, entry.status),
            pcTcText: meaning(MEANINGS.pcTc, entry.pcTc),
            multipleProcedureText: meaning(MEANINGS.multipleProcedure, entry.multipleProcedure),
            bilateralText: meaning(MEANINGS.bilateral, entry.bilateral),
            assistantText: meaning(MEANINGS.assistant, entry.assistant),
            coSurgeonText: meaning(MEANINGS.coSurgeon, entry.coSurgeon),
            teamText: meaning(MEANINGS.team, entry.team),
            ...around,
            covered: true,
            edition,
          };
        }
        expect(Object.keys(value), `${code}, round ${round}`).toEqual(Object.keys(expected));
        expect(value).toStrictEqual(expected);
      }
    }
    // Each line gets an object of its own: a rule or a pack that changed one could not reach another line's.
    const claim = claimOf('99213', '2025-11-03');
    const [first, second] = claim.lines;
    expect(feeScheduleValues(editions, first!, claim)).not.toBe(feeScheduleValues(editions, second!, claim));
    const uncovered = claimOf('99213', '2026-01-05');
    expect(feeScheduleValues(editions, uncovered.lines[0]!, uncovered)).toStrictEqual({ found: false, code: '99213', ...Object.fromEntries(AROUND.map((k) => [k, feeScheduleValues(editions, uncovered.lines[0]!, uncovered)![k]])), covered: false });
  });
});

describe('NCCI add-on code edits (ncci-add-on)', () => {
  it('reads the official 2026 Q2 workbook: notice row, header row, Julian dates, CCCCC primaries', async () => {
    const rows = new RowCounter();
    const index = await addOnCodeFormat.read([AOC], rows);
    expect(rows.taken).toBe(9_000);
    expect(index.size).toBe(830);
    const types = new Map<number, number>();
    for (const [, edits] of index.entries()) for (const e of edits) types.set(e.type, (types.get(e.type) ?? 0) + 1);
    expect(Object.fromEntries(types)).toEqual({ 1: 8_293, 2: 47, 3: 660 });
    expect(index.editsOn('11103', '2026-04-15')!.map((e) => e.primary)).toEqual(['11102', '11104', '11106']);
    expect(index.editsOn('0054T', '2026-04-15')).toEqual([expect.objectContaining({ type: 2, primary: 'CCCCC', effective: '2013-04-01' })]);
    // 99354 was deleted at the end of 2022: no edit in force in 2026, one in 2021.
    expect(index.editsOn('99354', '2026-04-15')).toBeUndefined();
    expect(index.editsOn('99354', '2021-06-01')!.length).toBeGreaterThan(0);
    expect(addOnCodeFormat.recognise!(['AOC_V2026Q2-MCR.xlsx'])).toEqual({
      edition: 'NCCI add-on code edits, Medicare, 2026 Q2 (effective 2026-04-01)',
      covers: { from: '2026-04-01', to: '2026-06-30' },
    });
  });

  it('reads the workbook inside a zip as downloaded', async () => {
    const zip = zipOf([{ name: 'AOC_V2026Q2-MCR.xlsx', data: await readFile(AOC), deflate: true }, { name: 'README.pdf', data: 'not a table' }]);
    const file = await tempFile('aoc-2026q2.zip', '');
    await writeFile(file, zip);
    const rows = new RowCounter();
    const index = await addOnCodeFormat.read([file], rows);
    expect(rows.taken).toBe(9_000);
    expect(index.editsOn('99292', '2026-04-15')!.map((e) => e.primary)).toEqual(['99291']);
  });

  it('reads the same columns as CSV and as tab-separated text', async () => {
    const header = ['AOC_Edit_Type', 'Add-On_Code', 'AOC_DelDT', 'Primary_Code', 'Primary_Code_DelDT', 'AOC_Edit_EffDT', 'AOC_Edit_DelDT', 'Special_Instruction_Notes'];
    const data = [
      ['1', '11103', '', '11102', '', '2019001', '', ''],
      ['2', '0054T', '', 'CCCCC', '', '2013091', '', 'Contractor Defined Primary Codes'],
      ['1', '99354', '2022365', '99202', '', '2013091', '2020366', ''],
      ['1', '11103', '', '11104', '', '2019-01-01', '', ''],
    ];
    for (const [name, sep] of [['AOC_V2026Q2-MCR.csv', ','], ['AOC_V2026Q2-MCR.txt', '\t']] as const) {
      const file = await tempFile(name, ['"CPT codes and descriptions only are copyright 2025 American Medical Association."', header.join(sep), ...data.map((r) => r.join(sep))].join('\r\n'));
      const rows = new RowCounter();
      const index = await addOnCodeFormat.read([file], rows);
      expect(rows.taken).toBe(3);
      expect(rows.problems).toEqual([{ file, line: 6, message: expect.stringContaining('Julian') }]);
      expect(index.editsOn('11103', '2026-01-05')!.map((e) => e.primary)).toEqual(['11102']);
      expect(index.editsOn('99354', '2020-12-31')).toHaveLength(1);
      expect(index.editsOn('99354', '2021-01-01')).toBeUndefined();
    }
  });

  it('converts Julian YYYYDDD dates, leap years included', () => {
    expect(julianDate('2026091')).toBe('2026-04-01');
    expect(julianDate('2020366')).toBe('2020-12-31');
    expect(julianDate('2021366')).toBeUndefined();
    expect(julianDate('')).toBe('');
    expect(julianDate('20260401')).toBeUndefined();
  });
});
