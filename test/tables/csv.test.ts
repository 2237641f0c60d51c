import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CsvParser, parseCsv, readCsvFile, type CsvRecord } from '../../src/tables/csv.js';

const fieldsOf = (text: string) => parseCsv(text).records.map((r) => r.fields);

describe('CSV reader', () => {
  it('reads plain rows with LF, CRLF and lone CR line breaks', () => {
    expect(fieldsOf('a,b\nc,d\r\ne,f\rg,h')).toEqual([
      ['a', 'b'],
      ['c', 'd'],
      ['e', 'f'],
      ['g', 'h'],
    ]);
  });

  it('keeps delimiters, doubled quotes and line breaks inside quoted fields', () => {
    const { records } = parseCsv('"HCPCS/\nCPT Code",x\r\n"a, ""b""",2\r\n');
    expect(records.map((r) => r.fields)).toEqual([
      ['HCPCS/\nCPT Code', 'x'],
      ['a, "b"', '2'],
    ]);
    // The second record starts on line 3: the quoted line break counts.
    expect(records.map((r) => r.line)).toEqual([1, 3]);
  });

  it('drops a UTF-8 byte-order mark and skips blank lines', () => {
    expect(fieldsOf('\ufeffcode,name\n\n01,Pharmacy\n')).toEqual([
      ['code', 'name'],
      ['01', 'Pharmacy'],
    ]);
  });

  it('keeps empty fields, including a trailing one', () => {
    expect(fieldsOf('a,,c,\n')).toEqual([['a', '', 'c', '']]);
  });

  it('tolerates a stray quote inside an unquoted field and text after a closing quote', () => {
    expect(fieldsOf('5" wide,"ab"c,d\n')).toEqual([['5" wide', 'abc', 'd']]);
  });

  it('reports a quoted field that never closes with the line it opened on', () => {
    const { records, problems } = parseCsv('a,b\n"open,\nstill open\n');
    expect(records.map((r) => r.fields)).toEqual([['a', 'b']]);
    expect(problems).toEqual([{ line: 2, message: expect.stringContaining('never closed') }]);
  });

  it('gives the same records however the text is cut into chunks', () => {
    const text = '\ufeff"x\r\ny",2\r\n"q""q",3\r\nplain,4';
    const whole = parseCsv(text).records;
    for (let size = 1; size <= 5; size++) {
      const records: CsvRecord[] = [];
      const parser = new CsvParser((r) => records.push(r));
      for (let i = 0; i < text.length; i += size) parser.push(text.slice(i, i + size));
      parser.end();
      expect(records).toEqual(whole);
    }
  });

  it('supports another delimiter and refuses a quote as one', () => {
    expect(parseCsv('a\tb\n', { delimiter: '\t' }).records[0]!.fields).toEqual(['a', 'b']);
    expect(() => new CsvParser(() => {}, { delimiter: '"' })).toThrow(/delimiter/);
  });

  it('streams a file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'csv-'));
    const file = path.join(dir, 'x.csv');
    await writeFile(file, 'h1,h2\r\n' + Array.from({ length: 5000 }, (_, i) => `${i},"v ${i}"`).join('\r\n'));
    const records: CsvRecord[] = [];
    const problems = await readCsvFile(file, (r) => records.push(r));
    expect(problems).toEqual([]);
    expect(records).toHaveLength(5001);
    expect(records[5000]).toEqual({ fields: ['4999', 'v 4999'], line: 5001 });
  });
});
