import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { brotliDecompressSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeCondition } from '../../src/docs/conditions.js';
import { buildApp } from '../../src/http/app.js';
import type { RuleActivityQuery, WorkbenchHistory } from '../../src/history/activity.js';
import { bundledPacks, bundledScrubber, exampleClaim } from '../helpers.js';

/** The rule catalog, rule pages, the history hook and the page's files, through the API. */

let app: FastifyInstance;
let assets: string;
const asked: RuleActivityQuery[] = [];

/** A claim history as the workbench sees it: what issue 18's store answers, from a list here. */
const history: WorkbenchHistory = {
  async ruleActivity(query) {
    asked.push(query);
    return { ...query, claims: 40, fired: 3, byDay: [{ date: query.until, fired: 3 }] };
  },
  async recentClaims(limit) {
    return [{ label: 'C-1001 recorded 2026-03-02', claim: exampleClaim('core-problems.json') }].slice(0, limit);
  },
};

beforeAll(async () => {
  assets = await mkdtemp(path.join(os.tmpdir(), 'scrub-workbench-page-'));
  await mkdir(path.join(assets, 'assets'));
  await writeFile(path.join(assets, 'index.html'), '<!doctype html><title>workbench</title>');
  await writeFile(path.join(assets, 'assets/app-abc123.js'), `console.log(${JSON.stringify('x'.repeat(4000))});`);
  const scrubber = await bundledScrubber();
  app = await buildApp({ scrubber: () => scrubber, workbenchHistory: history, workbenchDir: assets });
});
afterAll(async () => {
  await app.close();
  await rm(assets, { recursive: true, force: true });
});

describe('GET /v1/rules', () => {
  it('lists every loaded rule with the codes and payers it can be found by', async () => {
    const body = (await app.inject({ url: '/v1/rules' })).json() as { rules: Array<{ id: string; codes: string[]; payers: string[]; overriddenBy: string[] }>; packs: unknown[] };
    const packSet = await bundledPacks();
    expect(body.rules.map((r) => r.id).sort()).toEqual([...packSet.rulesById.keys()].sort());
    expect(body.packs).toHaveLength(packSet.packs.length);
    const lt = body.rules.find((r) => r.id === 'lt-rt-same-line')!;
    expect(lt.codes).toEqual(['LT', 'RT']);
    // The modifiers pack is adjusted for ACME Health by its payer pack.
    expect(lt.payers).toContain('ACME-HEALTH');
    const em = body.rules.find((r) => r.id === 'em-without-modifier-25')!;
    expect(em.overriddenBy).toEqual(['acme-health']);
  });
});

describe('GET /v1/rules/:ruleId', () => {
  it('gives the conditions in the generated docs’ own words, with the policy, references and tests', async () => {
    const rule = (await app.inject({ url: '/v1/rules/em-without-modifier-25' })).json();
    const packSet = await bundledPacks();
    const source = packSet.rulesById.get('em-without-modifier-25')!;
    const pack = packSet.packs.find((p) => p.name === source.pack)!;
    expect(rule.conditionsText).toEqual(describeCondition(source.conditions, pack));
    expect(rule.conditions.all[0].text).toBe(describeCondition(source.conditions, pack)[1]!.replace(/^\s*- /, ''));
    expect(rule.references.length).toBeGreaterThan(0);
    expect(rule.overrides).toEqual([expect.objectContaining({ pack: 'acme-health', payers: ['ACME-HEALTH'] })]);
    expect(rule.parameters.map((p: { name: string }) => p.name)).toContain('evaluationAndManagementCodes');
    expect(rule.tests.some((t: { kind: string }) => t.kind === 'fires')).toBe(true);
    expect(rule.tests.some((t: { kind: string }) => t.kind === 'quiet')).toBe(true);
  });

  it('answers 404 not-found for a rule no pack has', async () => {
    const res = await app.inject({ url: '/v1/rules/no-such-rule' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'not-found' });
  });
});

describe('the claim history hook', () => {
  it('feeds how often a rule fired over the days asked', async () => {
    const res = await app.inject({ url: '/v1/rules/lt-rt-same-line/activity?days=7' });
    expect(res.json()).toMatchObject({ ruleId: 'lt-rt-same-line', claims: 40, fired: 3 });
    const q = asked.at(-1)!;
    expect((Date.parse(q.until) - Date.parse(q.since)) / 86_400_000).toBe(6);
    expect((await app.inject({ url: '/v1/rules/lt-rt-same-line/activity?days=0' })).statusCode).toBe(400);
  });

  it('gives recorded claims to a what-if, and says history is on', async () => {
    const files = (await app.inject({ url: '/v1/packs/core/files' })).json().files as Array<{ path: string; text: string }>;
    const res = await app.inject({ method: 'POST', url: '/v1/packs/what-if', payload: { pack: 'core', files: Object.fromEntries(files.map((f) => [f.path, f.text])), sample: 'history' } });
    expect(res.json()).toMatchObject({ source: 'history', claims: 1, changed: 0 });
    expect(res.json().comparisons[0].label).toBe('C-1001 recorded 2026-03-02');
    expect((await app.inject({ url: '/v1/session' })).json()).toMatchObject({ auth: 'off', role: 'admin', history: 'on' });
  });

  it('says history is off when the service has none', async () => {
    const scrubber = await bundledScrubber();
    const plain = await buildApp({ scrubber: () => scrubber, workbenchDir: assets });
    const res = await plain.inject({ url: '/v1/rules/lt-rt-same-line/activity' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'history-off' });
    expect((await plain.inject({ url: '/v1/session' })).json()).toMatchObject({ history: 'off' });
    await plain.close();
  });
});

describe('the page at /workbench', () => {
  it('is served from memory without a key, compressed, the hashed files cached for good', async () => {
    const page = await app.inject({ url: '/workbench' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    const script = await app.inject({ url: '/workbench/assets/app-abc123.js', headers: { 'accept-encoding': 'gzip, br' } });
    expect(script.headers['content-encoding']).toBe('br');
    expect(script.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(brotliDecompressSync(script.rawPayload).toString()).toContain('console.log');
  });

  it('answers 404 for a file it does not have, and never reads a path from the request', async () => {
    for (const url of ['/workbench/assets/none.js', '/workbench/../package.json', '/workbench/%2e%2e/package.json']) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(404);
      expect(res.body).not.toContain('"version"');
    }
  });

  it('says how to build it when it is not built', async () => {
    const scrubber = await bundledScrubber();
    const unbuilt = await buildApp({ scrubber: () => scrubber, workbenchDir: path.join(assets, 'missing') });
    const res = await unbuilt.inject({ url: '/workbench' });
    expect(res.statusCode).toBe(404);
    expect(res.json().detail).toContain('npm run build');
    await unbuilt.close();
  });
});
