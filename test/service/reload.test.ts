import { mkdtemp, rename, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleClaim } from '../helpers.js';
import { keepScrubbing, request, rulesFolder, setPackVersions, sleep, startServer, type RunningServer } from './server.js';

/**
 * Hot reload on the real service with two workers, under load: the rules folder is a symlink
 * switched between two pack sets whose versions differ (1.0.0 and 2.0.0), and a third that is
 * broken. No request may fail, every result must come from exactly one set, a reload answered
 * by one worker must reload both, and a broken set must never replace a working one.
 */

let server: RunningServer;
let folders: { a: string; b: string; broken: string };
let current: string;

/** Points the service's rules folder at another set, atomically (rename over the symlink). */
async function pointAt(target: string): Promise<void> {
  const next = `${current}.next`;
  await symlink(target, next);
  await rename(next, current);
}

beforeAll(async () => {
  folders = {
    a: await rulesFolder((d) => setPackVersions(d, '1.0.0')),
    b: await rulesFolder((d) => setPackVersions(d, '2.0.0')),
    broken: await rulesFolder(async (d) => {
      await setPackVersions(d, '3.0.0');
      const { readFile, writeFile } = await import('node:fs/promises');
      const file = path.join(d, 'modifiers/rules/laterality.yaml');
      await writeFile(file, (await readFile(file, 'utf8')).replace('operator: hasModifier', 'operator: hasModifer'));
    }),
  };
  current = path.join(await mkdtemp(path.join(os.tmpdir(), 'scrub-current-')), 'rules');
  await symlink(folders.a, current);
  server = await startServer({ workers: 2, env: { SCRUB_RULES_DIR: current, LOG_LEVEL: 'info' } });
});
afterAll(() => server?.stop());

const claim = exampleClaim('clean.json');
const versionsOf = (packs: string[]) => new Set(packs.map((p) => p.split('@')[1]));

describe('reloading the packs under load, with two workers', () => {
  it('switches every worker between two sets, with no failed request and no mixed result', async () => {
    const load = keepScrubbing(server.url, claim, 8);
    await sleep(300);
    const reloads: Array<{ version: string; requestedAt: number; answeredAt: number }> = [];
    for (const [target, version] of [
      [folders.b, '2.0.0'],
      [folders.a, '1.0.0'],
      [folders.b, '2.0.0'],
      [folders.a, '1.0.0'],
    ] as const) {
      await pointAt(target);
      const requestedAt = performance.now();
      const answer = await request(server.url, { method: 'POST', path: '/v1/packs/reload' });
      expect(answer.status).toBe(200);
      expect(answer.json()).toMatchObject({ status: 'reloaded', workers: 2 });
      expect(versionsOf(answer.json().packs.map((p: { name: string; version: string }) => `${p.name}@${p.version}`))).toEqual(new Set([version]));
      reloads.push({ version, requestedAt, answeredAt: performance.now() });
      await sleep(250);
    }
    const results = await load.stop();

    expect(results.length).toBeGreaterThan(50);
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    // Every result names the packs of exactly one set.
    for (const r of results) expect(versionsOf(r.packs).size).toBe(1);
    // A request started after a reload was answered (and done before the next was asked for)
    // sees that reload's set, whichever worker answered it.
    for (const [i, reload] of reloads.entries()) {
      const nextAsked = reloads[i + 1]?.requestedAt ?? Number.POSITIVE_INFINITY;
      const after = results.filter((r) => r.startedAt > reload.answeredAt && r.finishedAt < nextAsked);
      expect(after.length).toBeGreaterThan(0);
      for (const r of after) expect([...versionsOf(r.packs)]).toEqual([reload.version]);
    }
    const seen = new Set(results.flatMap((r) => [...versionsOf(r.packs)]));
    expect(seen).toEqual(new Set(['1.0.0', '2.0.0']));
  }, 120_000);

  it('keeps the old set serving when the new one is broken, and says exactly what is wrong', async () => {
    const before = (await request(server.url, { path: '/v1/packs' })).json().loadedAt;
    const load = keepScrubbing(server.url, claim, 8);
    await sleep(200);
    await pointAt(folders.broken);
    const answer = await request(server.url, { method: 'POST', path: '/v1/packs/reload' });
    await sleep(200);
    const results = await load.stop();

    expect(answer.status).toBe(422);
    expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = answer.json();
    expect(problem).toMatchObject({ code: 'packs-invalid', status: 422 });
    expect(problem.diagnostics).toContainEqual(
      expect.objectContaining({
        file: expect.stringMatching(/modifiers\/rules\/laterality\.yaml$/),
        line: expect.any(Number),
        column: expect.any(Number),
        code: 'unknown-operator',
        text: expect.stringMatching(/laterality\.yaml:\d+:\d+: error \[unknown-operator\].*hasModifer.*did you mean "hasModifier"/),
      }),
    );
    expect(problem.detail).toMatch(/laterality\.yaml:\d+:\d+/);
    // The service log says the same.
    expect(server.output()).toMatch(/packs NOT reloaded/);

    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    for (const r of results) expect([...versionsOf(r.packs)]).toEqual(['1.0.0']);
    expect((await request(server.url, { path: '/v1/packs' })).json().loadedAt).toBe(before);
  }, 60_000);

  it('reloads every worker on SIGHUP to the primary, and counts reloads in the summed metrics', async () => {
    await pointAt(folders.b);
    server.child.kill('SIGHUP');
    // Fresh connections are spread across both workers; each must end up on 2.0.0.
    let versions = new Set<string>();
    for (let attempt = 0; attempt < 100; attempt++) {
      versions = new Set<string>();
      for (let i = 0; i < 8; i++) {
        const ready = (await request(server.url, { path: '/readyz' })).json() as { packs: Array<{ version: string }> };
        for (const p of ready.packs) versions.add(p.version);
      }
      if (versions.size === 1 && versions.has('2.0.0')) break;
      await sleep(100);
    }
    expect(versions).toEqual(new Set(['2.0.0']));
    // Both workers say the same set, loaded at the same moment.
    const loadedAt = new Set<string>();
    for (let i = 0; i < 8; i++) loadedAt.add((await request(server.url, { path: '/v1/packs' })).json().loadedAt);
    expect(loadedAt.size).toBe(1);
    const metrics = (await request(server.url, { path: '/metrics' })).text;
    expect(metrics).toMatch(/^scrub_pack_reloads_total\{result="success"\} 5$/m);
    expect(metrics).toMatch(/^scrub_pack_reloads_total\{result="failure"\} 1$/m);
    expect(metrics).toMatch(/^scrub_pack_info\{pack="core",version="2\.0\.0"\} 1$/m);
    expect(metrics).toMatch(/^scrub_claims_scrubbed_total\{outcome="pass"\} \d+$/m);
  }, 60_000);
});
