import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hcpcsFormat } from '../../src/tables/formats/hcpcs.js';
import { icd10cmOrderFormat } from '../../src/tables/formats/icd10cm-order.js';
import { mceCodeEditsFormat } from '../../src/tables/formats/mce.js';
import { mueFormat } from '../../src/tables/formats/mue.js';
import { ncciPtpFormat, PtpIndex } from '../../src/tables/formats/ncci-ptp.js';
import { placeOfServiceFormat } from '../../src/tables/formats/place-of-service.js';
import { RowCounter, TableFileError } from '../../src/tables/model.js';

async function file(name: string, content: string | Buffer): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'table-'));
  const f = path.join(dir, name);
  await writeFile(f, content);
  return f;
}

const PTP_PREAMBLE = [
  'CPT only copyright 2025 American Medical Association.  All rights reserved.\t\t\t\t\t\t',
  'Column1/Column2 Edits\t\t\t\t\t\t',
  'Column 1\tColumn 2\t*=in existence\tEffective\tDeletion\tModifier\tPTP Edit Rationale',
  '\t\tprior to 1996\tDate\tDate\t0=not allowed\t',
  '\t\t\t\t*=no data\t1=allowed\t',
  '\t\t\t\t\t9=not applicable\t',
];

describe('NCCI PTP reader', () => {
  it('skips the preamble, reads CRLF rows and reports each malformed row with its line', async () => {
    const f = await file(
      'ptp.txt',
      [
        ...PTP_PREAMBLE,
        '0001A\t0591T\t\t20220101\t20231231\t1\tCPT Manual or CMS manual coding instruction',
        '0001A\t0592T\t\t2022-01-01\t20231231\t1\tbad effective date',
        '0001A\t0593T\t\t20220101\t20231231\t7\tbad indicator',
        '0001A\t36591\t\t20220101\t20211231\t0\tdeletion before effective',
        '0001A\t36592',
        '00001\t36592\t*\t19960101\t*\t0\tprior to 1996',
        '',
        '0001A\t99211\t\t20220101\t20231231\t1\tCPT Manual or CMS manual coding instruction',
      ].join('\r\n') + '\r\n',
    );
    const rows = new RowCounter();
    const index = await ncciPtpFormat.read([f], rows);
    expect(rows.taken).toBe(3);
    expect(rows.skipped).toBe(4);
    expect(rows.problems.map((p) => [p.line, p.message])).toEqual([
      [8, expect.stringContaining('effective date "2022-01-01" is not a date')],
      [9, expect.stringContaining('modifier indicator "7" is not 0, 1 or 9')],
      [10, expect.stringContaining('deletion date "20211231" is before the effective date "20220101"')],
      [11, expect.stringContaining('the line has 2 fields')],
    ]);
    expect(rows.problems.every((p) => p.file === f)).toBe(true);
    expect(index.find('0001A', '0591T', 20230501)).toMatchObject({ effective: 20220101, deletion: 20231231, modifierIndicator: 1 });
    expect(index.find('00001', '36592', 20260101)).toMatchObject({ priorTo1996: true, modifierIndicator: 0 });
  });

  it('reads a file without a preamble (files 2 to 4) and one cut short in its last row', async () => {
    const f = await file('f2.txt', '0001U\t81167\t\t20190101\t*\t1\tMisuse of Column T');
    const rows = new RowCounter();
    const index = await ncciPtpFormat.read([f], rows);
    expect(rows.taken).toBe(1);
    expect(index.find('0001U', '81167', 20260101)?.rationale).toBe('Misuse of Column T');
  });

  it('refuses a file with no edit rows at all, such as another table', async () => {
    const f = await file('mue.csv', '"notice"\r\n"HCPCS/\nCPT Code",x,y,z\r\n0001U,1,2 Date of Service Edit: Policy,r\r\n');
    await expect(ncciPtpFormat.read([f], new RowCounter())).rejects.toThrow(TableFileError);
    await expect(ncciPtpFormat.read([f], new RowCounter())).rejects.toThrow(/no NCCI PTP edit rows found/);
  });

  it('picks the window that covers the date of service among several for one pair', () => {
    const index = new PtpIndex();
    const key = (c: string) => [...c].reduce((n, ch) => n * 36 + parseInt(ch, 36), 0);
    const id = index.rationales.id('r');
    index.add(key('11111'), key('22222'), 20100101, 20151231, 1, false, id);
    index.add(key('11111'), key('22222'), 20160101, 99991231, 0, false, id);
    index.add(key('11111'), key('33333'), 20200101, 20200101, 9, false, id);
    index.finish();
    expect(index.find('11111', '22222', 20091231)).toBeUndefined();
    expect(index.find('11111', '22222', 20100101)?.modifierIndicator).toBe(1);
    expect(index.find('11111', '22222', 20151231)?.modifierIndicator).toBe(1);
    expect(index.find('11111', '22222', 20160101)?.modifierIndicator).toBe(0);
    expect(index.find('22222', '11111', 20160101)).toBeUndefined();
    expect(index.find('11111', '33333', 20200101)?.modifierIndicator).toBe(9);
    expect(index.find('1111', '33333', 20200101)).toBeUndefined();
    expect(index.windows('11111', '22222')).toHaveLength(2);
    expect(index.pairCount).toBe(2);
  });

  it('keeps every pair through many hash-table growths', () => {
    const index = new PtpIndex();
    for (let i = 0; i < 300_000; i++) index.add(i, (i * 7) % 1000, 20200101, 99991231, i % 2, false, 0);
    index.finish();
    for (let i = 0; i < 300_000; i += 997) {
      const code = (n: number) => n.toString(36).toUpperCase().padStart(5, '0');
      expect(index.find(code(i), code((i * 7) % 1000), 20210101)?.modifierIndicator).toBe(i % 2);
    }
    expect(index.rowCount).toBe(300_000);
  });

  it('keeps every row when more are added than it was sized for', () => {
    const index = new PtpIndex(undefined, 10);
    for (let i = 0; i < 1000; i++) index.add(i, i + 1, 20200101, 99991231, i % 2, false, 0);
    index.finish();
    const code = (n: number) => n.toString(36).toUpperCase().padStart(5, '0');
    for (let i = 0; i < 1000; i++) expect(index.find(code(i), code(i + 1), 20210101)?.modifierIndicator).toBe(i % 2);
    expect([index.rowCount, index.pairCount]).toEqual([1000, 1000]);
  });

  it('lays its rows out by pair in arrays of their exact size, on shared memory', async () => {
    const rows = Array.from({ length: 5000 }, (_, i) => `${String(10000 + i)}\t${String(20000 + (i % 3000))}\t\t20200101\t*\t${i % 2}\tr${i % 5}`);
    const files = [await file('f1.txt', [...PTP_PREAMBLE, ...rows.slice(0, 2500)].join('\r\n')), await file('f2.txt', rows.slice(2500).join('\r\n'))];
    const index = await ncciPtpFormat.read(files, new RowCounter());
    expect(index.rowCount).toBe(5000);
    const { arrays } = index.toSnapshot();
    for (const array of arrays) expect(array.buffer).toBeInstanceOf(SharedArrayBuffer);
    // The rows' arrays (dates, flags, rationales): no room left over for the preamble's lines.
    for (const array of arrays.slice(-4)) expect([array.length, array.buffer.byteLength]).toEqual([5000, 5000 * array.BYTES_PER_ELEMENT]);
    expect(index.find('10001', '20001', 20210101)?.rationale).toBe('r1');
  });
});

describe('MUE reader', () => {
  const NOTICE = '"Current Procedural Terminology (CPT) codes ... copyright 2025 American Medical Association.\n\nCPT is a registered trademark.\n\nApplicable FARS/DFARS Restrictions Apply.",,,\r\n';
  it('skips the quoted multi-line notice, finds the "HCPCS/\\nCPT Code" header and reads the text indicators', async () => {
    const f = await file(
      'mue.csv',
      NOTICE +
        '"HCPCS/\nCPT Code",Practitioner Services MUE Values,MUE Adjudication Indicator,MUE Rationale\r\n' +
        '0001U,1,2 Date of Service Edit: Policy,Code Descriptor / CPT Instruction\r\n' +
        '0002M,one,3 Date of Service Edit: Clinical,Nature of Analyte\r\n' +
        '0009U,2,3 Date of Service Edit: Clinical,Nature of Analyte\r\n' +
        '0010U,2,Clinical,Nature of Analyte\r\n' +
        '99213,1,1 Line Edit,"Rationale, with a comma"\r\n',
    );
    const rows = new RowCounter();
    const index = await mueFormat.read([f], rows);
    expect([rows.taken, rows.skipped]).toEqual([3, 2]);
    // The notice spans lines 1-5 and the header 6-7, so the bad rows are on lines 9 and 11.
    expect(rows.problems.map((p) => [p.line, p.message])).toEqual([
      [9, expect.stringContaining('MUE value "one" for 0002M is not a whole number')],
      [11, expect.stringContaining('adjudication indicator "Clinical" for 0010U does not start with 1, 2 or 3')],
    ]);
    expect(index.get('0001U')).toEqual({ value: 1, adjudicationIndicator: 2, adjudicationText: '2 Date of Service Edit: Policy', rationale: 'Code Descriptor / CPT Instruction' });
    expect(index.get('99213')).toMatchObject({ adjudicationIndicator: 1, rationale: 'Rationale, with a comma' });
  });

  it('refuses a file without the MUE header', async () => {
    const f = await file('x.csv', 'a,b,c\r\n1,2,3\r\n');
    await expect(mueFormat.read([f], new RowCounter())).rejects.toThrow(/no MUE header row/);
  });
});

describe('ICD-10-CM order file reader', () => {
  it('reads the fixed-width columns and reports short or broken lines', async () => {
    const line = (order: string, code: string, flag: string, short: string, long: string) =>
      `${order} ${code.padEnd(7)} ${flag} ${short.padEnd(60)} ${long}`;
    const f = await file(
      'order.txt',
      [
        line('00001', 'A00', '0', 'Cholera', 'Cholera'),
        line('00002', 'A000', '1', 'Cholera due to Vibrio cholerae 01, biovar cholerae', 'Cholera due to Vibrio cholerae 01, biovar cholerae'),
        '00003 A001',
        line('00004', 'A009', 'X', 'Cholera, unspecified', 'Cholera, unspecified'),
        line('00005', '1234', '1', 'Not a code', 'Not a code'),
        line('20086', 'M545', '0', 'Low back pain', 'Low back pain'),
      ].join('\r\n') + '\r\n',
    );
    const rows = new RowCounter();
    const index = await icd10cmOrderFormat.read([f], rows);
    expect([rows.taken, rows.skipped]).toEqual([3, 3]);
    expect(rows.problems.map((p) => p.line)).toEqual([3, 4, 5]);
    expect(index.get('A00')).toEqual({ billable: false, title: 'Cholera' });
    expect(index.get('A000')?.billable).toBe(true);
    expect(index.get('M545')?.billable).toBe(false);
  });

  it('gives every code its own entry however often and in whatever order codes are asked for, past the entries it keeps', async () => {
    const line = (order: number, code: string, flag: string, title: string) => `${String(order).padStart(5, '0')} ${code.padEnd(7)} ${flag} ${title.padEnd(60)} ${title}`;
    const codes = Array.from({ length: 6_000 }, (_, i) => `B${String(i).padStart(4, '0')}`);
    const titleOf = (i: number) => `Condition ${i}${'é'.repeat(i % 3)}`;
    const f = await file('order.txt', codes.map((code, i) => line(i + 1, code, i % 2 === 0 ? '1' : '0', titleOf(i))).join('\r\n') + '\r\n');
    const index = await icd10cmOrderFormat.read([f], new RowCounter());
    for (const step of [1, 7, 4_999]) {
      for (let k = 0; k < codes.length; k++) {
        const i = (k * step) % codes.length;
        const entry = index.get(codes[i]!);
        if (entry?.title !== titleOf(i) || entry.billable !== (i % 2 === 0)) expect(entry, codes[i]).toEqual({ billable: i % 2 === 0, title: titleOf(i) });
        if (index.get(`Z${codes[i]!.slice(1)}`) !== undefined) expect.fail(`Z${codes[i]!.slice(1)} is not in the file`);
      }
    }
    // Shared between claims, so frozen: no rule or pack can change the next claim's entry.
    expect(Object.isFrozen(index.get(codes[0]!))).toBe(true);
  });
});

describe('MCE list reader', () => {
  it('finds columns by their header names and keeps diagnosis edits only', async () => {
    const f = await file(
      'mce.txt',
      [
        'ICD_Code\tMCE_Edit_Type\tICD_Code_Type\tICD_Version\tICD_Desc',
        'O80\tMaternity_Only\tD\t10\tEncounter for full-term uncomplicated delivery',
        'O80\tFemale_Only\tD\t10\tEncounter for full-term uncomplicated delivery',
        '0UT90ZZ\tFemale_Only\tP\t10\tResection of uterus',
        'N400\tSomething_Else\tD\t10\tx',
      ].join('\n'),
    );
    const rows = new RowCounter();
    const index = await mceCodeEditsFormat.read([f], rows);
    expect([rows.taken, rows.skipped, rows.ignored]).toEqual([2, 1, 1]);
    expect(index.get('O80')?.flags).toMatchObject({ maternityOnly: true, femaleOnly: true, maleOnly: false });
    expect(index.get('N400')).toBeUndefined();
  });
});

describe('HCPCS reader', () => {
  it('reads the quarterly layout with left-padded codes and dates', async () => {
    const header = 'HCPC,SEQNUM,RECID,LONG DESCRIPTION,SHORT DESCRIPTION,ADD DT,ACT EFF DT,TERM DT,ACTION CD';
    const f = await file(
      'anweb.csv',
      [
        header,
        '   AC,0010,7,"Initial onboarding, first month",Co-mgmt mod - onboarding,20260701,20260701,,N',
        '   JG,0010,7,340b drug,340b acquired drug,20180101,20250101,20241231,N',
        'G0008,0010,3,Administration of influenza virus vaccine,Admin influenza virus vac,19930101,19930101,,N',
        'G0008,0020,4,continued text,,,,,',
        ' BAD!,0010,7,x,x,,,,N',
        'Q1234,0010,5,x,x,,,,N',
      ].join('\r\n'),
    );
    const rows = new RowCounter();
    const index = await hcpcsFormat.read([f], rows);
    expect([rows.taken, rows.skipped, rows.ignored]).toEqual([3, 2, 1]);
    expect(index.modifiers.get('AC')).toEqual({ description: 'Co-mgmt mod - onboarding', effective: 20260701 });
    expect(index.modifiers.statusOn('JG', 20250101)).toBe('terminated');
    expect(index.modifiers.statusOn('JG', 20241231)).toBe('active');
    expect(index.modifiers.statusOn('AC', 20260630)).toBe('not-yet-effective');
    expect(index.codes.statusOn('G0008', 20260101)).toBe('active');
  });

  it('reads the plain list with a byte-order mark, and keeps quarterly dates over undated rows', async () => {
    const plain = await file('plain.csv', '\ufeffhcpcs,seqnum,recid,long_description,short_description\r\nJG,0010,7,340b,340b\r\nA9270,0010,3,Non-covered item or service,Non-covered item or service\r\n');
    const quarterly = await file('q.csv', 'HCPC,SEQNUM,RECID,LONG DESCRIPTION,SHORT DESCRIPTION,ADD DT,ACT EFF DT,TERM DT,ACTION CD\r\n   JG,0010,7,340b,340b,20180101,20250101,20241231,N\r\n');
    const rows = new RowCounter();
    const index = await hcpcsFormat.read([quarterly, plain], rows);
    expect(index.modifiers.statusOn('JG', 20260101)).toBe('terminated');
    expect(index.codes.get('A9270')?.description).toBe('Non-covered item or service');
  });

  it('refuses a file whose first row is not a HCPCS header', async () => {
    const f = await file('x.csv', 'code,description\r\nA1,x\r\n');
    await expect(hcpcsFormat.read([f], new RowCounter())).rejects.toThrow(/not a HCPCS header/);
  });
});

describe('place-of-service reader', () => {
  it('reads codes with a byte-order mark, pads a dropped leading zero and reads effective dates', async () => {
    const f = await file('pos.csv', '\ufeffplace_of_service_code,description,effective_date\r\n1,Pharmacy,\r\n27,Outreach Site/Street,2023-10-01\r\nXX,bad,\r\n');
    const rows = new RowCounter();
    const set = await placeOfServiceFormat.read([f], rows);
    expect([rows.taken, rows.skipped]).toEqual([2, 1]);
    expect(rows.problems[0]).toMatchObject({ line: 4 });
    expect(set.get('01')?.description).toBe('Pharmacy');
    expect(set.statusOn('27', 20230930)).toBe('not-yet-effective');
  });

  it('reads a list without a header', async () => {
    const f = await file('pos.csv', '11,Office\r\n12,Home\r\n');
    const set = await placeOfServiceFormat.read([f], new RowCounter());
    expect(set.size).toBe(2);
  });
});
