import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Scrubber } from '../../src/engine/scrubber.js';
import { readPackSet } from '../../src/packs/loader.js';
import type { PackSet } from '../../src/packs/model.js';
import { bundledRulesDir } from '../../src/paths.js';
import { tableSnapshotEnv } from '../support/table-snapshots.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function tempDir(prefix: string): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
}

const PTP_ROWS = [
  'CPT only copyright 2025 American Medical Association.  All rights reserved.\t\t\t\t\t\t',
  'Column1/Column2 Edits\t\t\t\t\t\t',
  '0001A\t0591T\t\t20220101\t20231231\t1\tCPT Manual or CMS manual coding instruction',
  '0001A\t36591\t\t20220101\t20231231\t0\tCPT Manual or CMS manual coding instruction',
];

const PTP_RULE = `rules:
  - id: test-ptp
    title: PTP pair
    category: ncci-ptp
    severity: error
    scope: line-pair
    pairs: ordered
    conditions:
      all:
        - { fact: edits, path: found, operator: equal, value: true }
    message: "Line {{second.number}} is a column-2 code of line {{first.number}} ({{edits.edition}})."
    path: /lines/{{second.index}}/procedureCode
`;

/** A rules folder with one pack "ptp-test" whose table "edits" reads the given files. */
async function ptpPack(opts: { tables?: string; files?: Record<string, string>; rule?: string } = {}) {
  const root = await tempDir('scrub-tables-');
  const dir = path.join(root, 'ptp-test');
  await mkdir(path.join(dir, 'tables'), { recursive: true });
  await mkdir(path.join(dir, 'rules'), { recursive: true });
  const files = opts.files ?? { 'tables/f1.txt': PTP_ROWS.join('\r\n') + '\r\n' };
  for (const [name, content] of Object.entries(files)) await writeFile(path.join(dir, name), content);
  const tables =
    opts.tables ??
    `tables:
  edits:
    format: ncci-ptp
    edition: "Test PTP v1"
    files: [tables/f1.txt]
    env: SCRUB_TABLE_TEST_PTP
`;
  await writeFile(
    path.join(dir, 'pack.yaml'),
    `name: ptp-test
version: "1.0.0"
title: PTP test pack
description: A pack for the table loader tests.
owner: Tests
${tables}`,
  );
  await writeFile(path.join(dir, 'rules', 'ptp.yaml'), opts.rule ?? PTP_RULE);
  return root;
}

const claim = (a: string, b: string, date = '2023-05-01') => ({
  claimId: 'T-1',
  claimType: 'professional',
  payer: { id: 'MEDICARE' },
  billingProvider: { npi: '1234567893' },
  patient: { birthDate: '1950-04-01', sex: 'F' },
  diagnoses: [{ code: 'M54.50' }],
  lines: [
    { procedureCode: a, units: 1, charge: 10, serviceDate: date, diagnosisPointers: [1] },
    { procedureCode: b, units: 1, charge: 10, serviceDate: date, diagnosisPointers: [1] },
  ],
});

describe('tables in pack.yaml', () => {
  it('load before the rules, which use the table fact; the pack lists the table', async () => {
    const root = await ptpPack();
    const r = await readPackSet(root, undefined, { env: {} });
    expect(r.diagnostics).toEqual([]);
    const pack = r.packSet!.packs[0]!;
    const edition = { edition: 'Test PTP v1', complete: false, named: 'declared', files: ['tables/f1.txt'], rowsTaken: 2, rowsSkipped: 0, rowsIgnored: 0, loadedFrom: 'files' };
    expect(pack.tables).toEqual([
      {
        name: 'edits',
        format: 'ncci-ptp',
        title: 'NCCI procedure-to-procedure edit table',
        edition: 'Test PTP v1',
        complete: false,
        files: ['tables/f1.txt'],
        source: 'pack',
        env: 'SCRUB_TABLE_TEST_PTP',
        rowsTaken: 2,
        rowsSkipped: 0,
        rowsIgnored: 0,
        loadedFrom: 'files',
        editions: [edition],
      },
    ]);
    const result = await new Scrubber(r.packSet!).scrub(claim('0001A', '0591T'));
    expect(result.findings).toEqual([expect.objectContaining({ ruleId: 'test-ptp', lines: [1, 2], path: '/lines/1/procedureCode', message: 'Line 2 is a column-2 code of line 1 (Test PTP v1).' })]);
  });

  it('check paths into a table fact when the pack loads', async () => {
    const root = await ptpPack({ rule: PTP_RULE.replace('path: found', 'path: fuond') });
    const r = await readPackSet(root, undefined, { env: {} });
    expect(r.packSet).toBeUndefined();
    expect(r.diagnostics).toEqual([expect.objectContaining({ code: 'unknown-path', message: expect.stringContaining('"edits" has no field "fuond"; did you mean "found"?') })]);
  });

  it('report malformed rows as warnings at file:line and still load', async () => {
    const root = await ptpPack({ files: { 'tables/f1.txt': [...PTP_ROWS, '0001A\t0592T\t\t20220101'].join('\r\n') } });
    const r = await readPackSet(root, undefined, { env: {} });
    expect(r.packSet).toBeDefined();
    expect(r.diagnostics).toEqual([
      expect.objectContaining({ file: expect.stringMatching(/ptp-test\/tables\/f1\.txt$/), line: 5, severity: 'warning', code: 'table-row' }),
    ]);
    expect(r.packSet!.packs[0]!.tables[0]).toMatchObject({ rowsTaken: 2, rowsSkipped: 1 });
  });

  it('refuse the whole pack set when a table file is missing, naming the file at its place in pack.yaml', async () => {
    const root = await ptpPack({ tables: `tables:\n  edits:\n    format: ncci-ptp\n    edition: "x"\n    files: [tables/f1.txt, tables/missing.txt]\n` });
    const r = await readPackSet(root, undefined, { env: {} });
    expect(r.packSet).toBeUndefined();
    expect(r.diagnostics).toEqual([
      expect.objectContaining({ line: 10, severity: 'error', code: 'table-file', message: expect.stringContaining('table "edits": "tables/missing.txt" does not exist') }),
    ]);
  });

  it('refuse a file of the wrong format, naming it', async () => {
    const root = await ptpPack({ files: { 'tables/f1.txt': 'code,description\r\n11,Office\r\n' } });
    const r = await readPackSet(root, undefined, { env: {} });
    expect(r.packSet).toBeUndefined();
    expect(r.diagnostics).toEqual([
      expect.objectContaining({ file: expect.stringMatching(/f1\.txt$/), severity: 'error', message: expect.stringContaining('no NCCI PTP edit rows found') }),
    ]);
  });

  it('refuse pack files outside the pack folder', async () => {
    const root = await ptpPack({ tables: `tables:\n  edits:\n    format: ncci-ptp\n    edition: "x"\n    files: [../../etc/passwd]\n` });
    const r = await readPackSet(root, undefined, { env: {} });
    expect(r.diagnostics).toEqual([expect.objectContaining({ code: 'table-file', message: expect.stringContaining('is outside the pack folder') })]);
  });

  it('read every file a pattern matches, in name order', async () => {
    const [head, , a, b] = PTP_ROWS;
    const root = await ptpPack({
      tables: `tables:\n  edits:\n    format: ncci-ptp\n    edition: "x"\n    files: ["tables/f*.txt"]\n`,
      files: { 'tables/f1.txt': [head, a].join('\r\n'), 'tables/f2.txt': b!, 'tables/notes.md': 'not a table' },
    });
    const r = await readPackSet(root, undefined, { env: {} });
    expect(r.packSet!.packs[0]!.tables[0]).toMatchObject({ files: ['tables/f1.txt', 'tables/f2.txt'], rowsTaken: 2 });
  });

  it('read the files an environment variable names instead, with the edition it gives', async () => {
    const root = await ptpPack();
    const elsewhere = await tempDir('scrub-quarterly-');
    await writeFile(path.join(elsewhere, 'ccipra-v331r0-f1.txt'), PTP_ROWS.join('\r\n'));
    await writeFile(path.join(elsewhere, 'ccipra-v331r0-f2.txt'), '0001A\t0592T\t\t20220101\t*\t1\tx\r\n');
    const env = { SCRUB_TABLE_TEST_PTP: path.join(elsewhere, 'ccipra-v331r0-f*.txt'), SCRUB_TABLE_TEST_PTP_EDITION: 'NCCI PTP practitioner v33.1', SCRUB_TABLE_TEST_PTP_COMPLETE: 'true' };
    const r = await readPackSet(root, undefined, { env });
    expect(r.diagnostics).toEqual([]);
    // The files' names say version 33.1: the second quarter of 2027, the dates the edition covers.
    expect(r.packSet!.packs[0]!.tables[0]).toMatchObject({ source: 'environment', edition: 'NCCI PTP practitioner v33.1', complete: true, rowsTaken: 3, covers: { from: '2027-04-01', to: '2027-06-30' } });
    const result = await new Scrubber(r.packSet!).scrub(claim('0001A', '0592T', '2027-05-03'));
    expect(result.findings[0]?.message).toContain('NCCI PTP practitioner v33.1');
    // Outside its quarter the edition gives no verdict.
    expect((await new Scrubber(r.packSet!).scrub(claim('0001A', '0592T', '2027-07-01'))).findings).toEqual([]);
  });

  it('warn when the environment gives files but not their edition, and refuse a bad _COMPLETE', async () => {
    const root = await ptpPack();
    const f = path.join(root, 'ptp-test', 'tables', 'f1.txt');
    const warned = await readPackSet(root, undefined, { env: { SCRUB_TABLE_TEST_PTP: f } });
    expect(warned.diagnostics).toEqual([expect.objectContaining({ severity: 'warning', code: 'table-env', message: expect.stringContaining('set SCRUB_TABLE_TEST_PTP_EDITION') })]);
    expect(warned.packSet!.packs[0]!.tables[0]!.edition).toBe('files from SCRUB_TABLE_TEST_PTP (edition not stated)');
    const refused = await readPackSet(root, undefined, { env: { SCRUB_TABLE_TEST_PTP: f, SCRUB_TABLE_TEST_PTP_COMPLETE: 'maybe' } });
    expect(refused.packSet).toBeUndefined();
    expect(refused.diagnostics[0]!.message).toContain('SCRUB_TABLE_TEST_PTP_COMPLETE is neither true nor false; write true or false');
  });

  it('refuse a table named like a standard fact, or like another pack\'s table, or not like a fact', async () => {
    const root = await ptpPack({ tables: `tables:\n  line:\n    format: ncci-ptp\n    edition: "x"\n    files: [tables/f1.txt]\n  bad-name:\n    format: ncci-ptp\n    edition: "x"\n    files: [tables/f1.txt]\n` });
    const r = await readPackSet(root, undefined, { env: {} });
    expect(r.diagnostics.map((d) => d.code)).toEqual(expect.arrayContaining(['table-name-taken', 'table-name']));

    const two = await ptpPack();
    await cp(path.join(two, 'ptp-test'), path.join(two, 'ptp-copy'), { recursive: true });
    await writeFile(path.join(two, 'ptp-copy', 'rules', 'ptp.yaml'), PTP_RULE.replace('test-ptp', 'copy-ptp'));
    const pack = path.join(two, 'ptp-copy', 'pack.yaml');
    const { readFile } = await import('node:fs/promises');
    await writeFile(pack, (await readFile(pack, 'utf8')).replace('name: ptp-test', 'name: ptp-copy'));
    const clash = await readPackSet(two, undefined, { env: {} });
    expect(clash.packSet).toBeUndefined();
    expect(clash.diagnostics).toEqual([
      expect.objectContaining({ code: 'table-name-taken', message: expect.stringContaining('table "edits" is already declared by pack "ptp-copy"') }),
    ]);
  });

  it('build the index once and take it from the snapshot cache on the next load', async () => {
    const root = await ptpPack();
    const cacheDir = await tempDir('scrub-cache-');
    const first = await readPackSet(root, undefined, { env: {}, cacheDir });
    const second = await readPackSet(root, undefined, { env: {}, cacheDir });
    expect(first.packSet!.packs[0]!.tables[0]!.loadedFrom).toBe('files');
    expect(second.packSet!.packs[0]!.tables[0]).toMatchObject({ loadedFrom: 'cache', rowsTaken: 2 });
    const scrub = (r: typeof first) => new Scrubber(r.packSet!).scrub(claim('0001A', '0591T'));
    expect((await scrub(second)).findings).toEqual((await scrub(first)).findings);
    // A damaged snapshot is a cache miss, not an error.
    const [snapshot] = await readdir(cacheDir);
    await writeFile(path.join(cacheDir, snapshot!), 'CSTABLE1garbage');
    const third = await readPackSet(root, undefined, { env: {}, cacheDir });
    expect(third.diagnostics).toEqual([]);
    expect(third.packSet!.packs[0]!.tables[0]!.loadedFrom).toBe('files');
  });

  it('miss the cache when a file changes', async () => {
    const root = await ptpPack();
    const cacheDir = await tempDir('scrub-cache-');
    await readPackSet(root, undefined, { env: {}, cacheDir });
    await writeFile(path.join(root, 'ptp-test', 'tables', 'f1.txt'), PTP_ROWS.slice(0, 3).join('\r\n'));
    const r = await readPackSet(root, undefined, { env: {}, cacheDir });
    expect(r.packSet!.packs[0]!.tables[0]).toMatchObject({ loadedFrom: 'files', rowsTaken: 1 });
  });
});

describe('the bundled CMS packs', () => {
  // Loaded once (the complete code sets from the test run's snapshots), with no deployment's table variables.
  let bundled: PackSet;
  beforeAll(async () => {
    const r = await readPackSet(bundledRulesDir, undefined, { env: tableSnapshotEnv() });
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    bundled = r.packSet!;
  });

  it('say which table edition every finding came from', async () => {
    const scrubber = new Scrubber(bundled);
    const fromTables = async (c: object) => (await scrubber.scrub(c)).findings.filter((f) => ['cms-ncci-ptp', 'cms-mue', 'cms-mce', 'code-sets'].includes(f.pack));
    // 2026 Q3: the NCCI PTP and MUE excerpts and the FY2026 ICD-10-CM code set.
    const q3 = await fromTables({
      ...claim('0001U', '0030U', '2026-08-03'),
      diagnoses: [{ code: 'E11' }],
      lines: [
        { procedureCode: '0001U', units: 3, charge: 10, serviceDate: '2026-08-03', diagnosisPointers: [1] },
        { procedureCode: '0030U', units: 1, charge: 10, serviceDate: '2026-08-03', diagnosisPointers: [1] },
      ],
    });
    expect(q3.map((f) => [f.ruleId, f.details.edition])).toEqual([
      ['icd10cm-code-not-billable', 'ICD-10-CM FY2026'],
      ['table-edition-missing', undefined], // no HCPCS edition for 2026 Q3, no MCE edition for FY2026
      ['mue-date-of-service-policy', 'MUE practitioner services, effective 2026-07-01'],
      ['ncci-ptp', 'NCCI PTP practitioner v32.2 (2026 Q3)'],
    ]);
    // FY2020: the MCE v37 lists.
    const fy2020 = await fromTables({ ...claim('99213', '99214', '2020-02-20'), patient: { birthDate: '1950-04-01', sex: 'M' }, diagnoses: [{ code: 'N80.0' }] });
    expect(fy2020.filter((f) => f.ruleId.startsWith('mce-')).map((f) => [f.ruleId, f.details.edition])).toEqual([['mce-female-only-diagnosis', 'MCE v37 (FY2020)']]);
  });

  it('name the tables and dates no edition covers, once per claim, and judge no code by another year', async () => {
    const result = await new Scrubber(bundled).scrub({
      ...claim('G0136', '99213', '2022-02-15'),
      payer: { id: 'MEDICARE', type: 'medicare' },
      patient: { birthDate: '1950-04-01', sex: 'M' },
      diagnoses: [{ code: 'N80.0' }, { code: 'QA0.0101' }],
    });
    const missing = result.findings.filter((f) => f.ruleId === 'table-edition-missing');
    expect(missing).toHaveLength(1);
    expect(missing[0]).toMatchObject({ severity: 'info', category: 'code-validity', lines: [], details: { tables: ['aoc', 'mce', 'mpfs', 'mue', 'ptp', 'icd10cm', 'hcpcs'], dates: ['2022-02-15'] } });
    expect(missing[0]!.message).toContain('ICD-10-CM order file (icd10cm) for 2022-02-15');
    expect(result.findings.filter((f) => f.category === 'code-validity' && f.ruleId !== 'table-edition-missing')).toEqual([]);
    expect(result.findings.filter((f) => f.ruleId.startsWith('mce-'))).toEqual([]);
  });

  it('name only the tables that rules applying to the claim read: the Medicare fee schedule and add-on code tables not for a commercial claim', async () => {
    const scrubber = new Scrubber(bundled);
    // 2026-02-20: no fee schedule edition (RVU25D ends 2025-12-31) and no add-on code edition (2026 Q2 starts 2026-04-01).
    const tablesFor = async (payer: Record<string, string>) => {
      const result = await scrubber.scrub({ ...claim('99213', '11102', '2026-02-20'), payer });
      return result.findings.find((f) => f.ruleId === 'table-edition-missing')?.details.tables;
    };
    // (The bundled MCE is FY2020 and the PTP and MUE excerpts 2026 Q3: they have no edition for this date either.)
    expect(await tablesFor({ id: 'MEDICARE', type: 'medicare' })).toEqual(['aoc', 'mce', 'mpfs', 'mue', 'ptp']);
    // em-without-modifier-25 reads the fee schedule too, but falls back to its code list on dates no edition covers.
    expect(await tablesFor({ id: 'COMMERCIAL-TEST', type: 'commercial' })).toEqual(['mce', 'mue', 'ptp']);
    expect(await tablesFor({ id: 'MEDICAID-TEST', type: 'medicaid' })).toEqual(['mce', 'mue', 'ptp']);
    // A claim without a payer type is judged by no payer-type-gated rule either.
    expect(await tablesFor({ id: 'MEDICARE' })).toEqual(['mce', 'mue', 'ptp']);
    // On a 2022 date the commercial claim still hears about the tables its rules read.
    const old = await scrubber.scrub({ ...claim('99213', '11102', '2022-02-15'), payer: { id: 'COMMERCIAL-TEST', type: 'commercial' } });
    expect(old.findings.find((f) => f.ruleId === 'table-edition-missing')?.details.tables).toEqual(['mce', 'mue', 'ptp', 'icd10cm', 'hcpcs']);
  });
});
