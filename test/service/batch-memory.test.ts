import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleClaim } from '../helpers.js';
import { residentBytes, startServer, streamBatch, tinyRulesFolder, type RunningServer } from './server.js';

/**
 * A 100,000-claim NDJSON batch through the real service, measuring the server's resident
 * memory as it goes: streaming line by line must keep it flat, far below what holding the
 * batch (about 200 MB of claims in, 25 MB of results out) would take. (Measured at 100,000
 * and at 300,000 claims, the growth was the same, about 60 MB: garbage-collector headroom.)
 */

const CLAIMS = Number(process.env.MEM_CLAIMS ?? 100_000);
const clean = exampleClaim('clean.json');
// About 2 KB a line, as claims with a caller's own data in `extensions` are.
const padding = { source: 'x'.repeat(1200) };
const claimLine = (i: number) => JSON.stringify({ ...clean, claimId: `MEM-${i}`, extensions: padding });

let server: RunningServer;
beforeAll(async () => {
  // One small pack: this is about the service's memory, not the rules' speed.
  server = await startServer({ env: { SCRUB_RULES_DIR: await tinyRulesFolder(), LOG_LEVEL: 'warn', SCRUB_BATCH_MAX_CLAIMS: String(CLAIMS) } });
});
afterAll(() => server?.stop());

describe('a 100,000-claim NDJSON batch', () => {
  it('streams every result back, in order, with the server memory staying flat', async () => {
    // Warm up (JIT, heap) with a smaller batch, then take the baseline.
    await streamBatch(server.url, 5000, claimLine);
    const baseline = residentBytes(server.pid);
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, residentBytes(server.pid));
    }, 100);

    let outOfOrder = 0;
    let bytesIn = 0;
    const run = await streamBatch(
      server.url,
      CLAIMS,
      (i) => {
        const line = claimLine(i);
        bytesIn += line.length + 1;
        return line;
      },
      {
        onResult: (text, index) => {
          // Cheap order check without parsing each result: its claimId is near the start.
          if (!text.startsWith(`{"claimId":"MEM-${index}"`)) outOfOrder++;
        },
      },
    );
    clearInterval(sampler);
    peak = Math.max(peak, residentBytes(server.pid));

    expect(run.status).toBe(200);
    expect(run.results).toBe(CLAIMS);
    expect(outOfOrder).toBe(0);
    const growth = peak - baseline;
    console.info(
      `100k batch: ${(bytesIn / 1e6).toFixed(1)} MB streamed; server RSS baseline ${(baseline / 1e6).toFixed(1)} MB, peak ${(peak / 1e6).toFixed(1)} MB, growth ${(growth / 1e6).toFixed(1)} MB`,
    );
    // Generous, and still far below the bytes streamed, which buffering would have added.
    expect(bytesIn).toBeGreaterThan(180e6);
    expect(growth).toBeLessThan(120e6);
    // And the service still answers.
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
  }, 600_000);
});
