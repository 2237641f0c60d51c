import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FY2026_ZIP, fy2025OrderFile } from '../support/icd10cm-fy2025.js';
import { zipOf } from '../support/zip-writer.js';
import { scrub } from './run-cli.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), 'scrub-tables-cli-'));
  dirs.push(d);
  return d;
}
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

const line = (order: string, code: string, flag: string, title: string) => `${order} ${code.padEnd(7)} ${flag} ${title.padEnd(60)} ${title}`;

describe('scrub tables list', () => {
  it('lists each table with its editions, the dates they cover, rows, and how current they are', async () => {
    const run = await scrub(['tables', 'list', '--format', 'json', '--as-of', '2026-02-01']);
    expect(run.code).toBe(0);
    const { tables } = JSON.parse(run.stdout) as { tables: Array<Record<string, unknown>> };
    expect(tables.find((t) => t.name === 'icd10cm')).toMatchObject({
      pack: 'code-sets',
      complete: true,
      coverageEnds: '2026-09-30',
      daysLeft: 241,
      stale: false,
      editions: [{ edition: 'ICD-10-CM FY2026', covers: { from: '2025-10-01', to: '2026-09-30' }, rows: 98_186, complete: true, files: ['tables/2026-code-descriptions-tabular-order.zip'] }],
    });
    expect(tables.find((t) => t.name === 'hcpcs')).toMatchObject({ coverageEnds: '2026-03-31', stale: false });
  });

  it('flags a table whose coverage has ended', async () => {
    const run = await scrub(['tables', 'list', '--as-of', '2026-12-06']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('code-sets/hcpcs (HCPCS Level II code and modifier file): STALE: coverage ended 2026-03-31, 250 days ago');
    expect(run.stderr).toContain('warning: table code-sets/hcpcs (HCPCS Level II code and modifier file): the newest edition loaded, HCPCS Level II January 2026, covers dates of service up to 2026-03-31');
  });
});

describe('scrub tables verify', () => {
  it('reads every file of a folder: format, edition, rows; leaves other files alone', async () => {
    const run = await scrub(['tables', 'verify', 'rules/code-sets/tables', '--format', 'json']);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as { errors: number; files: Array<Record<string, unknown>> };
    expect(result.errors).toBe(0);
    expect(result.files.map((f) => [path.basename(String(f.file)), f.status, f.edition ?? null, f.rowsTaken])).toEqual([
      ['2026-code-descriptions-tabular-order.zip', 'ok', 'ICD-10-CM FY2026', 98_186],
      ['README.md', 'not-a-table', null, 0],
      ['fetch.yaml', 'not-a-table', null, 0],
      ['january-2026-alpha-numeric-hcpcs-file.zip', 'ok', 'HCPCS Level II January 2026', 9_006],
      ['place_of_service_2022.csv', 'ok', null, 50],
      ['place_of_service_additions.csv', 'ok', null, 3],
    ]);
  });

  it('prints each skipped row at file:line, and exits 1 for a file that cannot be used', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'icd10cm_order_2027.txt'), [line('00001', 'A00', '0', 'Cholera'), '00002 A0', line('00003', 'A000', 'X', 'Bad flag'), line('00004', 'A001', '1', 'Fine')].join('\r\n'));
    const ok = await scrub(['tables', 'verify', dir]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('icd10cm_order_2027.txt: ICD-10-CM order file, ICD-10-CM FY2027 (2026-10-01 to 2027-09-30)');
    expect(ok.stdout).toContain('2 rows taken, 2 skipped');
    expect(ok.stdout).toMatch(/icd10cm_order_2027\.txt:2: the line is 8 characters long/);
    expect(ok.stdout).toMatch(/icd10cm_order_2027\.txt:3: the billable flag in column 15 is "X"/);
    expect((await scrub(['tables', 'verify', dir, '--strict'])).code).toBe(1);
    await writeFile(path.join(dir, 'january-2027-alpha-numeric-hcpcs-file.zip'), zipOf([{ name: 'notes.pdf', data: '%PDF' }]));
    const bad = await scrub(['tables', 'verify', dir]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/january-2027-alpha-numeric-hcpcs-file\.zip: HCPCS Level II code and modifier file, HCPCS Level II January 2027 \(2027-01-01 to 2027-03-31\)\n {2}error: the zip archive holds no HCPCS ANWEB file/);
    expect(bad.stdout).toMatch(/2 files: 1 edition, 1 error, 2 rows skipped/);
  });
});

describe('scrub tables diff', () => {
  let fy2025: string;
  let addenda: string;
  beforeAll(async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'scrub-fy2025-'));
    const built = await fy2025OrderFile();
    fy2025 = path.join(dir, 'icd10cm_order_2025.txt');
    addenda = built.addenda;
    await writeFile(fy2025, built.text);
  }, 120_000);
  afterAll(() => rm(path.dirname(fy2025), { recursive: true, force: true }));

  it('agrees with the official FY2026 addenda, code for code', async () => {
    const run = await scrub(['tables', 'diff', fy2025, FY2026_ZIP, '--format', 'json']);
    expect(run.code).toBe(0);
    const diff = JSON.parse(run.stdout) as {
      old: { edition: string };
      new: { edition: string };
      sections: Array<{ title: string; oldCount: number; newCount: number; added: Array<{ code: string }>; deleted: Array<{ code: string }>; changed: Array<{ code: string; changes: Array<{ field: string }> }> }>;
      addenda: { agrees: boolean; differences: string[] };
      references: Array<{ code: string; file: string }>;
    };
    expect([diff.old.edition, diff.new.edition]).toEqual(['ICD-10-CM FY2025', 'ICD-10-CM FY2026']);
    // What the addenda says, read here line by line.
    const entries = addenda.split('\r\n').map((l) => /^(Add|Delete|Revise to):\s+([01]) (\S+)/.exec(l)).filter((m) => m !== null);
    const codes = (action: string, flag: string) => entries.filter((m) => m[1] === action && m[2] === flag).map((m) => m[3]).sort();
    const [codesSection, headers] = diff.sections;
    expect(codesSection).toMatchObject({ title: 'Codes', oldCount: 74_260, newCount: 74_719 });
    expect(headers).toMatchObject({ title: 'Headers', oldCount: 23_324, newCount: 23_467 });
    expect(codesSection!.added.map((e) => e.code)).toEqual(codes('Add', '1'));
    expect(codesSection!.deleted.map((e) => e.code)).toEqual(codes('Delete', '1'));
    expect(codesSection!.changed.map((e) => e.code)).toEqual(codes('Revise to', '1'));
    expect(headers!.added.map((e) => e.code)).toEqual(codes('Add', '0'));
    expect(headers!.deleted).toEqual([]);
    expect(headers!.changed.map((e) => e.code)).toEqual(codes('Revise to', '0'));
    expect([codesSection!.added.length, codesSection!.deleted.length, codesSection!.changed.length, headers!.added.length, headers!.changed.length]).toEqual([487, 28, 38, 143, 7]);
    // The addenda's own tally: 6 header revisions to both titles, 1 to the long title only.
    expect(headers!.changed.filter((c) => c.changes.length === 1 && c.changes[0]!.field === 'long title')).toHaveLength(1);
    expect(diff.addenda).toEqual({ file: expect.stringContaining('icd10cm_order_addenda_2026.txt'), agrees: true, differences: [] });
    // A bundled pack test names B88.0, which FY2026 deleted as a billable code.
    expect(diff.references).toContainEqual(expect.objectContaining({ code: 'B880', file: expect.stringContaining('icd10cm-code-unknown.test.yaml') }));
  });

  // Each diff reads two complete editions: one run per format the tests need, no more.
  it('writes the change report as Markdown', async () => {
    const md = await scrub(['tables', 'diff', fy2025, FY2026_ZIP, '--format', 'markdown', '--limit', '2']);
    expect(md.code).toBe(0);
    expect(md.stdout).toContain('# ICD-10-CM order file: ICD-10-CM FY2025 to ICD-10-CM FY2026');
    expect(md.stdout).toContain('| Codes | 74,260 | 74,719 | 487 | 28 | 38 |');
    expect(md.stdout).toContain('The diff agrees with the CMS addenda `icd10cm_order_addenda_2026.txt`.');
    expect(md.stdout).toContain('| L02.212 | long title | Cutaneous abscess of back [any part, except buttock] | Cutaneous abscess of back [any part, except buttock and flank] |');
  });

  it('writes the change report as text, and says so when the old file is not the edition before the addenda', async () => {
    const dir = await tempDir();
    const other = path.join(dir, 'icd10cm_order_2024.txt');
    await writeFile(other, (await readFile(fy2025, 'utf8')).split('\r\n').filter((l) => !l.includes(' E119 ')).join('\r\n'));
    const run = await scrub(['tables', 'diff', other, FY2026_ZIP, '--limit', '2']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('Codes: 74,259 -> 74,719: 488 added, 28 deleted, 38 changed');
    expect(run.stdout).toContain('    B88.01  Infestation by Demodex mites');
    expect(run.stdout).toContain('the diff DISAGREES with it');
    expect(run.stdout).toContain('codes added in the diff but not in the addenda: E119');
  });

  it('compares two HCPCS files: codes added, discontinued and described anew', async () => {
    const dir = await tempDir();
    const header = 'HCPC,SEQNUM,RECID,LONG DESCRIPTION,SHORT DESCRIPTION,ADD DT,ACT EFF DT,TERM DT,ACTION CD';
    const jan = path.join(dir, 'HCPC2027_JAN_ANWEB.csv');
    const apr = path.join(dir, 'HCPC2027_APR_ANWEB.csv');
    await writeFile(jan, [header, 'G0008,0010,3,Administration of influenza virus vaccine,Admin influenza virus vac,19930101,19930101,,N', 'J0172,0010,3,"Injection, aducanumab-avwa, 2 mg","Inj, aducanumab-avwa, 2 mg",20220101,20220101,,N', '   JZ,0010,7,Zero drug amount discarded,Zero drug wasted,20230101,20230101,,N'].join('\r\n'));
    await writeFile(apr, [header, 'G0008,0010,3,Administration of influenza virus vaccine (any route),Admin influenza virus vac,19930101,20270401,,C', 'J0172,0010,3,"Injection, aducanumab-avwa, 2 mg","Inj, aducanumab-avwa, 2 mg",20220101,20270401,20270331,D', 'G0999,0010,3,A new service,New service,20270401,20270401,,A', '   JZ,0010,7,Zero drug amount discarded,Zero drug wasted,20230101,20230101,,N'].join('\r\n'));
    const run = await scrub(['tables', 'diff', jan, apr, '--format', 'json']);
    expect(run.code).toBe(0);
    const diff = JSON.parse(run.stdout) as { sections: Array<{ title: string; added: unknown[]; changed: Array<{ code: string; changes: unknown[] }> }>; references: Array<{ code: string }> };
    expect(diff.sections[0]).toMatchObject({
      title: 'Codes',
      added: [{ code: 'G0999', description: 'A new service' }],
      changed: [
        { code: 'G0008', changes: [{ field: 'long description', old: 'Administration of influenza virus vaccine', new: 'Administration of influenza virus vaccine (any route)' }] },
        { code: 'J0172', changes: [{ field: 'termination date', old: '(none)', new: '2027-03-31' }] },
      ],
    });
    expect(diff.sections[1]).toMatchObject({ title: 'Modifiers', added: [], changed: [] });
    // J0172, discontinued, is named by the bundled pack tests.
    expect(diff.references.map((r) => r.code)).toContain('J0172');
  });

  it('refuses two files of different tables', async () => {
    const run = await scrub(['tables', 'diff', FY2026_ZIP, 'rules/code-sets/tables/january-2026-alpha-numeric-hcpcs-file.zip']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('compare two editions of one table');
  });
});

describe('scrub tables fetch (from a local HTTP server)', () => {
  let server: Server;
  let base: string;
  const served = new Map<string, Buffer>();
  const order = Buffer.from([line('00001', 'A00', '0', 'Cholera'), line('00002', 'A000', '1', 'Cholera due to Vibrio cholerae 01, biovar cholerae')].join('\r\n') + '\r\n');
  const zip = zipOf([{ name: 'icd10cm_order_2027.txt', data: order }]);
  beforeAll(async () => {
    served.set('/files/zip/2027-code-descriptions-tabular-order.zip', zip);
    served.set('/files/zip/not-a-table.zip', zipOf([{ name: 'readme.pdf', data: '%PDF-1.7' }]));
    server = createServer((req, res) => {
      if (req.url === '/files/zip/cut.zip') {
        res.writeHead(200, { 'content-length': String(zip.length) });
        res.end(zip.subarray(0, 50));
        res.socket?.destroy();
        return;
      }
      const body = served.get(req.url ?? '');
      if (!body) return void res.writeHead(404).end('not found');
      res.writeHead(200, { 'content-type': 'application/zip', 'content-length': String(body.length) });
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  async function config(files: Array<Record<string, string>>): Promise<{ file: string; folder: string }> {
    const dir = await tempDir();
    const folder = path.join(dir, 'tables');
    await mkdir(folder);
    const file = path.join(dir, 'fetch.yaml');
    await writeFile(file, `into: tables\nfiles:\n${files.map((f) => `  - ${JSON.stringify(f)}`).join('\n')}\n`);
    return { file, folder };
  }

  it('downloads, checks the sha256, reads the file as a table, then puts it in place; a second run finds it current', async () => {
    const { file, folder } = await config([{ url: `${base}/files/zip/2027-code-descriptions-tabular-order.zip`, sha256: sha256(zip) }]);
    const first = await scrub(['tables', 'fetch', file]);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/2027-code-descriptions-tabular-order\.zip: downloaded: downloaded and verified: 2 rows, ICD-10-CM FY2027/);
    expect(sha256(await readFile(path.join(folder, '2027-code-descriptions-tabular-order.zip')))).toBe(sha256(zip));
    expect(await readdir(folder)).toEqual(['2027-code-descriptions-tabular-order.zip']);
    const second = await scrub(['tables', 'fetch', file]);
    expect(second.stdout).toContain('current: already in the folder with the expected sha256');
  });

  it('never replaces a good edition with a bad download', async () => {
    const good = Buffer.from('the edition already in the folder');
    const cases: Array<[string, string, RegExp]> = [
      [`${base}/files/zip/2027-code-descriptions-tabular-order.zip`, 'a'.repeat(64), /sha256 mismatch: expected a{64}, the download is [0-9a-f]{64}/],
      [`${base}/files/zip/missing.zip`, sha256(zip), /download failed: the server answered 404/],
      [`${base}/files/zip/cut.zip`, sha256(zip), /download failed/],
      [`${base}/files/zip/not-a-table.zip`, sha256(served.get('/files/zip/not-a-table.zip')!), /cannot be used as a table: the zip archive holds no ICD-10-CM order file/],
    ];
    for (const [url, hash, why] of cases) {
      const { file, folder } = await config([{ url, sha256: hash, name: '2027-code-descriptions-tabular-order.zip' }]);
      await writeFile(path.join(folder, '2027-code-descriptions-tabular-order.zip'), good);
      const run = await scrub(['tables', 'fetch', file]);
      expect(run.code, url).toBe(1);
      expect(run.stderr).toMatch(why);
      expect(run.stderr).toContain('the folder was left as it was');
      expect(await readFile(path.join(folder, '2027-code-descriptions-tabular-order.zip'))).toEqual(good);
      expect(await readdir(folder)).toEqual(['2027-code-descriptions-tabular-order.zip']);
    }
  });

  it('refuses a configuration without a sha256, naming the entry', async () => {
    const { file } = await config([{ url: `${base}/files/zip/2027-code-descriptions-tabular-order.zip` }]);
    const run = await scrub(['tables', 'fetch', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("files[0].sha256 must be the file's SHA-256 as 64 hex digits");
  });
});
