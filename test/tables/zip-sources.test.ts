import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { icd10cmOrderFormat } from '../../src/tables/formats/icd10cm-order.js';
import { scanLines, textAt } from '../../src/tables/lines.js';
import { RowCounter, TableFileError } from '../../src/tables/model.js';
import { tableSources } from '../../src/tables/sources.js';
import { listZipMembers, type ZipMember } from '../../src/tables/zip.js';
import { bundledRulesDir } from '../../src/paths.js';
import { zipOf } from '../support/zip-writer.js';

async function file(name: string, content: string | Buffer): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'zip-'));
  const f = path.join(dir, name);
  await writeFile(f, content);
  return f;
}

const line = (order: string, code: string, flag: string, title: string) => `${order} ${code.padEnd(7)} ${flag} ${title.padEnd(60)} ${title}`;
const ORDER = [line('00001', 'A00', '0', 'Cholera'), line('00002', 'A000', '1', 'Cholera due to Vibrio cholerae 01, biovar cholerae')].join('\r\n') + '\r\n';
const everyMember = (members: readonly ZipMember[]) => [...members];

describe('zip archives as CMS ships them', () => {
  it('lists the members and reads deflated and stored members line by line', async () => {
    const zip = await file('t.zip', zipOf([{ name: 'a.txt', data: 'one\r\ntwo\r\n' }, { name: 'docs/b.txt', data: 'three', deflate: false }, { name: 'folder/', data: '' }]));
    expect((await listZipMembers(zip)).map((m) => m.name)).toEqual(['a.txt', 'docs/b.txt']); // folders are not files
    const sources = await tableSources([zip], (members) => members.filter((m) => m.name.endsWith('.txt')), 'text');
    expect(sources.map((s) => s.name)).toEqual([`${zip}!a.txt`, `${zip}!docs/b.txt`]);
    const seen: string[] = [];
    for (const s of sources) await scanLines(s, (b, start, end) => seen.push(textAt(b, start, end)));
    expect(seen).toEqual(['one', 'two', 'three']);
  });

  it('refuses a member whose bytes do not match the CRC-32 the archive records', async () => {
    const good = zipOf([{ name: 'icd10cm_order_2026.txt', data: ORDER, deflate: false }]);
    const damaged = Buffer.from(good);
    const at = 30 + 'icd10cm_order_2026.txt'.length + 8; // a byte of the order file's first line
    damaged[at] = damaged[at]! ^ 0x01;
    const f = await file('2026-code-descriptions-tabular-order.zip', damaged);
    const error = await icd10cmOrderFormat.read([f], new RowCounter()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TableFileError);
    expect((error as TableFileError).message).toMatch(/damaged: its CRC-32 does not match/);
    expect(await icd10cmOrderFormat.read([await file('ok.zip', good)], new RowCounter()).then((i) => i.size)).toBe(2);
  });

  it('refuses a zip that holds no file of the table, naming what it holds', async () => {
    const f = await file('x.zip', zipOf([{ name: 'readme.pdf', data: '%PDF' }, { name: 'icd10cm_order_addenda_2026.txt', data: 'Add: ...' }]));
    await expect(icd10cmOrderFormat.read([f], new RowCounter())).rejects.toThrow(/holds no ICD-10-CM order file .*"readme.pdf", "icd10cm_order_addenda_2026.txt"/);
  });

  it('refuses a file that starts like a zip but is not one', async () => {
    const f = await file('cut.zip', zipOf([{ name: 'icd10cm_order_2026.txt', data: ORDER }]).subarray(0, 40));
    await expect(icd10cmOrderFormat.read([f], new RowCounter())).rejects.toThrow(/not a zip archive that can be read/);
  });

  it('reads a plain file as before', async () => {
    const seen: string[] = [];
    const sources = await tableSources([await file('plain.txt', 'x\ny')], everyMember, 'text');
    await scanLines(sources[0]!, (b, s, e) => seen.push(textAt(b, s, e)));
    expect(seen).toEqual(['x', 'y']);
  });
});

describe('the bundled FY2026 ICD-10-CM zip', () => {
  it('holds every code of the order file: 74,719 billable codes and 23,467 headers, QA0.0101 included', async () => {
    const zip = path.join(bundledRulesDir, 'code-sets', 'tables', '2026-code-descriptions-tabular-order.zip');
    const rows = new RowCounter();
    const index = await icd10cmOrderFormat.read([zip], rows);
    expect([rows.taken, rows.skipped, index.size]).toEqual([98_186, 0, 98_186]);
    expect(index.get('E11')).toEqual({ billable: false, title: 'Type 2 diabetes mellitus' });
    expect(index.get('E119')?.billable).toBe(true);
    expect(index.get('QA00101')?.billable).toBe(true);
    expect(icd10cmOrderFormat.recognise!(['2026-code-descriptions-tabular-order.zip'])).toEqual({ edition: 'ICD-10-CM FY2026', covers: { from: '2025-10-01', to: '2026-09-30' } });
    expect(icd10cmOrderFormat.recognise!(['april-1-2026-code-descriptions-tabular-order.zip'])).toEqual({ edition: 'ICD-10-CM FY2026 April 1 update', covers: { from: '2026-04-01', to: '2026-09-30' } });
  });
});
