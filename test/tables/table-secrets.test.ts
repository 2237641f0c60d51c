import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.js';
import { readPackSet } from '../../src/packs/loader.js';
import { formatDiagnostic, type PackDiagnostic } from '../../src/packs/diagnostics.js';
import { PackHolder } from '../../src/service/pack-holder.js';
import { scrub } from '../cli/run-cli.js';
import { tempDir } from '../support/temp-pack.js';

/**
 * A pack names the environment variable that replaces a table's files. It may name only
 * SCRUB_TABLE_* variables, and no message (lint, a reload's 422, a log line) ever quotes a
 * variable's value: a pack must not be a way to read the deployment's secrets. The files a pack
 * lists itself stay inside its folder, links resolved.
 */

const SECRET = 'sk_live_Qx7-not-a-path-9f';


const POS_ROWS = 'place_of_service_code,description\n11,Office\n12,Home\n';
const POS_RULE = `rules:
  - id: pos-known
    title: Place of service is known
    category: code-validity
    severity: error
    scope: claim
    conditions:
      all:
        - { fact: pos, path: found, operator: equal, value: false }
    message: "Unknown place of service ({{pos.edition}})."
`;

/** A rules folder with one pack whose table "pos" lists `files` and reads the variable `env`. */
async function posPack(opts: { env?: string; files?: string[]; write?: Record<string, string> } = {}): Promise<{ root: string; dir: string }> {
  const root = await tempDir('scrub-secrets-');
  const dir = path.join(root, 'pos-test');
  await mkdir(path.join(dir, 'tables'), { recursive: true });
  await mkdir(path.join(dir, 'rules'), { recursive: true });
  for (const [name, text] of Object.entries(opts.write ?? { 'tables/pos.csv': POS_ROWS })) await writeFile(path.join(dir, name), text);
  const files = opts.files ?? ['tables/pos.csv'];
  await writeFile(
    path.join(dir, 'pack.yaml'),
    `name: pos-test\nversion: "1.0.0"\ntitle: POS\ndescription: POS test.\nowner: Tests\ntables:\n  pos:\n    format: place-of-service\n    edition: "POS test"\n    files: [${files.map((f) => JSON.stringify(f)).join(', ')}]\n${opts.env ? `    env: ${opts.env}\n` : ''}`,
  );
  await writeFile(path.join(dir, 'rules', 'rules.yaml'), POS_RULE);
  return { root, dir };
}

const errors = (r: { diagnostics: PackDiagnostic[] }) => r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);

describe('a pack table may read only SCRUB_TABLE_* variables', () => {
  it('refuses env: DB_PASSWORD at its line, and quotes the secret nowhere', async () => {
    const { root } = await posPack({ env: 'DB_PASSWORD' });
    const r = await readPackSet(root, undefined, { env: { DB_PASSWORD: SECRET } });
    expect(r.packSet).toBeUndefined();
    expect(r.diagnostics).toEqual([expect.objectContaining({ line: 11, severity: 'error', message: expect.stringContaining('SCRUB_TABLE_') })]);
    expect(JSON.stringify(r.diagnostics)).not.toContain(SECRET);
  });

  it('refuses SCRUB_TABLE_CACHE_DIR, the cache setting, as a table variable', async () => {
    const { root } = await posPack({ env: 'SCRUB_TABLE_CACHE_DIR' });
    const r = await readPackSet(root, undefined, { env: {} });
    expect(r.diagnostics).toEqual([expect.objectContaining({ line: 11, severity: 'error' })]);
  });

  it('scrub lint names the problem and never prints the value, as text or JSON', async () => {
    const { root } = await posPack({ env: 'DB_PASSWORD' });
    for (const format of ['text', 'json']) {
      const run = await scrub(['lint', root, '--format', format], { env: { DB_PASSWORD: SECRET } });
      expect(run.code).toBe(1);
      expect(run.stdout + run.stderr).toContain('SCRUB_TABLE_');
      expect(run.stdout + run.stderr).not.toContain(SECRET);
    }
  });

  it('a reload refused for it answers 422 and logs its problems without the value', async () => {
    const { root, dir } = await posPack();
    const env = { DB_PASSWORD: SECRET };
    const loaded = await PackHolder.load(root, { env });
    const logs: string[] = [];
    const app = await buildApp({
      packs: loaded.holder!,
      logger: { level: 'info', stream: new Writable({ write: (chunk, _enc, done) => (logs.push(String(chunk)), done()) }) },
    });
    try {
      const packYaml = path.join(dir, 'pack.yaml');
      await writeFile(packYaml, (await import('node:fs')).readFileSync(packYaml, 'utf8') + '    env: DB_PASSWORD\n');
      const res = await app.inject({ method: 'POST', url: '/v1/packs/reload' });
      expect(res.statusCode).toBe(422);
      expect(res.json()).toMatchObject({ code: 'packs-invalid' });
      expect(res.body).toContain('SCRUB_TABLE_');
      expect(res.body).not.toContain(SECRET);
      expect(logs.join('')).toContain('packs NOT reloaded');
      expect(logs.join('')).not.toContain(SECRET);
    } finally {
      await app.close();
    }
  });
});

describe('a SCRUB_TABLE_* variable\'s value is never quoted either', () => {
  it('names a missing file by its place in the variable, not by its path', async () => {
    const { root } = await posPack({ env: 'SCRUB_TABLE_POS_TEST' });
    const missing = `/nonexistent/${SECRET}/pos.csv`;
    const r = await readPackSet(root, undefined, { env: { SCRUB_TABLE_POS_TEST: `${path.join(root, 'pos-test/tables/pos.csv')}:${missing}` } });
    expect(r.packSet).toBeUndefined();
    expect(errors(r)).toEqual([expect.stringContaining('table "pos": path 2 of SCRUB_TABLE_POS_TEST names a file that does not exist')]);
    expect(JSON.stringify(r.diagnostics)).not.toContain(SECRET);
  });

  it('refuses a relative path in the variable: a deployment names its files in full', async () => {
    const { root } = await posPack({ env: 'SCRUB_TABLE_POS_TEST' });
    const r = await readPackSet(root, undefined, { env: { SCRUB_TABLE_POS_TEST: `../${SECRET}.csv` } });
    expect(errors(r)).toEqual([expect.stringContaining('path 1 of SCRUB_TABLE_POS_TEST is not an absolute path')]);
    expect(JSON.stringify(r.diagnostics)).not.toContain(SECRET);
  });

  it('does not quote a bad _COMPLETE or _COVERS value', async () => {
    const { root } = await posPack({ env: 'SCRUB_TABLE_POS_TEST' });
    const file = path.join(root, 'pos-test/tables/pos.csv');
    for (const [variable, message] of [
      ['SCRUB_TABLE_POS_TEST_COMPLETE', 'SCRUB_TABLE_POS_TEST_COMPLETE is neither true nor false'],
      ['SCRUB_TABLE_POS_TEST_COVERS', 'SCRUB_TABLE_POS_TEST_COVERS is not a window of dates of service'],
    ] as const) {
      const r = await readPackSet(root, undefined, { env: { SCRUB_TABLE_POS_TEST: file, [variable]: SECRET } });
      expect(errors(r)).toEqual([expect.stringContaining(message)]);
      expect(JSON.stringify(r.diagnostics)).not.toContain(SECRET);
    }
  });

  it('names a deployment\'s files by the variable in row warnings and in what the table read', async () => {
    const { root } = await posPack({ env: 'SCRUB_TABLE_POS_TEST' });
    const elsewhere = await tempDir(`scrub-${SECRET}-`);
    const file = path.join(elsewhere, 'pos.csv');
    await writeFile(file, POS_ROWS + '1x,Bad row\n');
    const r = await readPackSet(root, undefined, { env: { SCRUB_TABLE_POS_TEST: file, SCRUB_TABLE_POS_TEST_EDITION: 'POS 2027', SCRUB_TABLE_POS_TEST_COMPLETE: 'true' } });
    expect(r.packSet!.packs[0]!.tables[0]).toMatchObject({ source: 'environment', edition: 'POS 2027', files: ['SCRUB_TABLE_POS_TEST file 1'] });
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([expect.stringMatching(/^SCRUB_TABLE_POS_TEST file 1:4:1: warning \[table-row\]/)]);
    expect(JSON.stringify(r.diagnostics)).not.toContain(SECRET);
  });
});

describe('links are resolved before the pack-folder check', () => {
  it('refuses a table file that is a link to a file outside the pack', async () => {
    const outside = await tempDir('scrub-outside-');
    await writeFile(path.join(outside, 'secret.csv'), POS_ROWS);
    const { root, dir } = await posPack({ write: {} });
    await symlink(path.join(outside, 'secret.csv'), path.join(dir, 'tables', 'pos.csv'));
    const r = await readPackSet(root, undefined, { env: {} });
    expect(r.packSet).toBeUndefined();
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([expect.stringContaining('"tables/pos.csv" is outside the pack folder (a link to a file elsewhere)')]);
  });

  it('refuses a folder link, and a pattern that matches a link out', async () => {
    const outside = await tempDir('scrub-outside-');
    await writeFile(path.join(outside, 'pos.csv'), POS_ROWS);
    const viaFolder = await posPack({ files: ['linked/pos.csv'], write: {} });
    await symlink(outside, path.join(viaFolder.dir, 'linked'));
    const a = await readPackSet(viaFolder.root, undefined, { env: {} });
    expect(a.diagnostics.map(formatDiagnostic)).toEqual([expect.stringContaining('"linked/pos.csv" is outside the pack folder (a link to a file elsewhere)')]);
    const viaPattern = await posPack({ files: ['tables/*.csv'] });
    await symlink(path.join(outside, 'pos.csv'), path.join(viaPattern.dir, 'tables', 'zz-linked.csv'));
    const b = await readPackSet(viaPattern.root, undefined, { env: {} });
    expect(b.diagnostics.map(formatDiagnostic)).toEqual([expect.stringContaining('"tables/*.csv" is outside the pack folder (a link to a file elsewhere)')]);
  });

  it('reads a link that stays inside the pack', async () => {
    const { root, dir } = await posPack({ files: ['tables/current.csv'] });
    await symlink(path.join(dir, 'tables', 'pos.csv'), path.join(dir, 'tables', 'current.csv'));
    const r = await readPackSet(root, undefined, { env: {} });
    expect(r.diagnostics).toEqual([]);
    expect(r.packSet!.packs[0]!.tables[0]).toMatchObject({ files: ['tables/current.csv'], rowsTaken: 2 });
  });

  it('keeps a pack test\'s table fixtures inside the rules folder, links resolved', async () => {
    const outside = await tempDir('scrub-outside-');
    await writeFile(path.join(outside, 'pos.csv'), POS_ROWS);
    const { root, dir } = await posPack();
    await mkdir(path.join(dir, 'tests', 'fixtures'), { recursive: true });
    await symlink(path.join(outside, 'pos.csv'), path.join(dir, 'tests', 'fixtures', 'pos.csv'));
    const r = await readPackSet(root, undefined, { env: {}, replace: { pos: { files: [path.join(dir, 'tests', 'fixtures', 'pos.csv')] } } });
    expect(r.packSet).toBeUndefined();
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([expect.stringContaining('is outside the rules folder (a link to a file elsewhere)')]);
  });
});
