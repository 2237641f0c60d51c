import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { watchRules } from '../../src/service/watch.js';
import { request, rulesFolder, setPackVersions, sleep, startServer } from './server.js';

async function packVersionsOf(url: string): Promise<Set<string>> {
  const packs = (await request(url, { path: '/v1/packs' })).json().packs as Array<{ version: string }>;
  return new Set(packs.map((p) => p.version));
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const until = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > until) throw new Error('timed out');
    await sleep(100);
  }
}

describe('watching the rules folder', () => {
  it('calls back once after a burst of changes has settled', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'scrub-watch-'));
    let calls = 0;
    const stop = watchRules(dir, () => calls++, (err) => { throw err; }, 100);
    for (let i = 0; i < 5; i++) await writeFile(path.join(dir, `f${i}.yaml`), 'x');
    await sleep(400);
    stop();
    expect(calls).toBe(1);
  });
});

describe('one process (--workers 1)', () => {
  it('reloads when the files change (SCRUB_WATCH=1) and on SIGHUP', async () => {
    const dir = await rulesFolder((d) => setPackVersions(d, '1.0.0'));
    const server = await startServer({ env: { SCRUB_RULES_DIR: dir, SCRUB_WATCH: '1' } });
    try {
      expect(await packVersionsOf(server.url)).toEqual(new Set(['1.0.0']));
      await setPackVersions(dir, '1.1.0');
      await waitFor(async () => (await packVersionsOf(server.url)).has('1.1.0'));
      expect(await packVersionsOf(server.url)).toEqual(new Set(['1.1.0']));
      await server.waitForOutput(/"trigger":"files changed"[^\n]*packs reloaded/);

      const before = (await request(server.url, { path: '/v1/packs' })).json().loadedAt;
      server.child.kill('SIGHUP');
      await waitFor(async () => (await request(server.url, { path: '/v1/packs' })).json().loadedAt !== before);
      await server.waitForOutput(/"trigger":"SIGHUP"[^\n]*packs reloaded/);
    } finally {
      expect(await server.stop()).toEqual({ code: 0, signal: null });
    }
  }, 60_000);
});
