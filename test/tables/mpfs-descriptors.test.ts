import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { feeScheduleFormat } from '../../src/tables/formats/mpfs-rvu.js';
import { RowCounter } from '../../src/tables/model.js';
import { bundledRulesDir } from '../../src/paths.js';
import { scrub } from '../cli/run-cli.js';
import { fixedWidthFromCsv } from '../support/pprrvu-fixed-width.js';

/**
 * The official PPRRVU carries CPT short descriptors (AMA copyright) in its DESCRIPTION column.
 * A file whose description cells hold a marker is loaded, cached, scrubbed against, listed,
 * verified and diffed: the marker must appear in none of what comes out.
 */

const MARKER = 'AMA-DESCRIPTOR-MARKER-q7w3';
const BUNDLED = path.join(bundledRulesDir, 'cms-mpfs', 'tables', 'PPRRVU2025_Oct.no-descriptors.csv');

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

type Form = 'csv' | 'txt';

/**
 * The bundled file's header block and the rows of some codes, each DESCRIPTION cell holding the
 * marker; as CSV, or in the fixed-width form (header record, DESCRIPTION at positions 8-57).
 */
async function markedFile(codes: readonly string[], form: Form): Promise<string> {
  const lines = (await readFile(BUNDLED, 'utf8')).split('\r\n');
  const header = lines.findIndex((l) => l.startsWith('HCPCS,MOD,DESCRIPTION,'));
  const rows = lines.slice(header + 1).filter((l) => codes.includes(l.slice(0, 5)));
  const broken = '99999,,,,,0.00,0.00,,0.00,,0.00,0.00,0.00,0,XXX,0.00,0.00,0.00,0,0,0,0,0,,32.3465,09,0,99,0.00,0.00,0.00';
  if (form === 'txt') {
    return fixedWidthFromCsv([...lines.slice(0, header + 1), ...rows, broken].join('\r\n'), { describe: (cells) => `${MARKER} ${cells[0]} ${cells[0] === '99999' ? 'broken' : ''}` });
  }
  const marked = rows.map((l) => {
    const cells = l.split(',');
    cells[2] = `"${MARKER} ${cells[0]}, with a comma"`;
    return cells.join(',');
  });
  // A malformed row (its status code is missing) whose description also holds the marker: the warning about it must not quote it.
  marked.push(`99999,,${MARKER} broken,,,0.00,0.00,,0.00,,0.00,0.00,0.00,0,XXX,0.00,0.00,0.00,0,0,0,0,0,,32.3465,09,0,99,0.00,0.00,0.00`);
  return [...lines.slice(0, header + 1), ...marked, ''].join('\r\n');
}

async function filesBelow(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesBelow(p)));
    else out.push(p);
  }
  return out;
}

describe('PPRRVU DESCRIPTION column', () => {
  it.each<Form>(['csv', 'txt'])('never keeps, caches, logs or shows a descriptor (%s): load, snapshot, scrub, tables list, verify, diff', async (form) => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'scrub-mpfs-desc-'));
    dirs.push(root);
    const rules = path.join(root, 'rules');
    const cache = path.join(root, 'cache');
    await mkdir(cache);
    await cp(path.join(bundledRulesDir, 'cms-mpfs'), path.join(rules, 'cms-mpfs'), { recursive: true });
    await rm(path.join(rules, 'cms-mpfs', 'tables', 'PPRRVU2025_Oct.no-descriptors.csv'));
    const file = path.join(rules, 'cms-mpfs', 'tables', `PPRRVU2025_Oct.${form}`);
    await writeFile(file, await markedFile(['27447', '10060', '99213', '71046', '27215'], form));
    if (form === 'txt') {
      const pack = path.join(rules, 'cms-mpfs', 'pack.yaml');
      await writeFile(pack, (await readFile(pack, 'utf8')).replace('tables/PPRRVU*.csv', 'tables/PPRRVU*.txt'));
    }
    expect(await readFile(file, 'utf8')).toContain(MARKER);

    // Load: nothing of the description is in the index.
    const counter = new RowCounter();
    const index = await feeScheduleFormat.read([file], counter);
    expect(index.get('27447')).toMatchObject({ status: 'A', globalDays: '090', bilateral: '1' });
    expect(counter.skipped).toBe(1);
    expect(inspect(index, { depth: null, maxArrayLength: null })).not.toContain(MARKER);
    expect(JSON.stringify(counter.problems)).not.toContain(MARKER);
    expect(JSON.stringify(index.toSnapshot().json)).not.toContain(MARKER);

    const env = { SCRUB_TABLE_CACHE_DIR: cache };
    const outputs: string[] = [];
    // tables list (loads the pack and writes the snapshot), then again from the snapshot.
    for (const format of ['text', 'json']) {
      const run = await scrub(['tables', 'list', '--rules', rules, '--format', format, '--as-of', '2025-11-01'], { env });
      expect(run.code).toBe(0);
      outputs.push(run.stdout, run.stderr);
    }
    expect(outputs[0]).toContain('MPFS RVU25D');
    const snapshots = await filesBelow(cache);
    expect(snapshots.length).toBeGreaterThan(0);
    for (const s of snapshots) expect((await readFile(s)).includes(MARKER)).toBe(false);

    // A scrub: findings on codes whose rows held the marker.
    const claim = {
      claimId: 'DESC-1',
      claimType: 'professional',
      submissionDate: '2025-11-10',
      payer: { id: 'MEDICARE', type: 'medicare' },
      billingProvider: { npi: '1234567893' },
      patient: { birthDate: '1950-04-01', sex: 'F' },
      diagnoses: [{ code: 'M17.11' }],
      lines: [
        { procedureCode: '27447', modifiers: ['50'], units: 2, charge: 100, serviceDate: '2025-11-03', diagnosisPointers: [1] },
        { procedureCode: '27215', modifiers: [], units: 1, charge: 100, serviceDate: '2025-11-03', diagnosisPointers: [1] },
        { procedureCode: '99213', modifiers: [], units: 1, charge: 100, serviceDate: '2025-11-03', diagnosisPointers: [1] },
      ],
    };
    const check = await scrub(['check', '--rules', rules, '--format', 'json', '--as-of', '2025-11-10', '-'], { env, stdin: JSON.stringify(claim) });
    expect(check.stdout).toContain('mpfs-bilateral-units');
    expect(check.stdout).toContain('mpfs-status-not-valid-for-medicare');
    outputs.push(check.stdout, check.stderr);

    for (const args of [['tables', 'verify', file], ['tables', 'diff', BUNDLED, file], ['lint', rules]]) {
      const run = await scrub(args, { env });
      outputs.push(run.stdout, run.stderr);
    }
    expect(outputs.join('\n')).toContain('1 skipped');
    for (const text of outputs) expect(text).not.toContain(MARKER);
  }, 60_000);
});
