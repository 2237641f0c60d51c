import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleClaim } from '../helpers.js';
import { json, request, sleep, startServer, tinyRulesFolder, workerPids, type HttpAnswer, type RunningServer } from './server.js';

/**
 * /metrics on a cluster: summed over the workers that answer within a bound, cached for a while,
 * and answered even when a worker cannot answer at all. Also the rate-limit headers a cluster
 * sends (each worker counts a share; the caller is told the configured limit).
 */

const CACHE_MS = 3000;
let server: RunningServer;
let pids: number[];
beforeAll(async () => {
  server = await startServer({ workers: 2, env: { SCRUB_RULES_DIR: await tinyRulesFolder(), SCRUB_RATE_LIMIT: '1000', SCRUB_METRICS_CACHE_MS: String(CACHE_MS) } });
  pids = await workerPids(server, 2);
});
afterAll(() => server?.stop());

/** GET with a client timeout: a connection the kernel hands to a stopped worker is never answered. */
function get(path: string, timeoutMs: number): Promise<HttpAnswer | 'timeout'> {
  return new Promise((resolve, reject) => {
    const req = http.get(new URL(path, server.url), { agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        const body = Buffer.concat(parts);
        resolve({ status: res.statusCode!, headers: res.headers, body, text: body.toString(), json: () => JSON.parse(body.toString()) });
      });
    });
    req.setTimeout(timeoutMs, () => {
      req.destroy();
      resolve('timeout');
    });
    req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
  });
}

const gauge = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
const claimsScrubbed = (text: string) => gauge(text, 'scrub_claims_scrubbed_total\\{outcome="pass"\\}');

describe('GET /metrics on two workers', () => {
  it('tells callers the configured rate limit, not one worker\'s share', async () => {
    const answer = await request(server.url, { path: '/v1/scrub', ...json(exampleClaim('clean.json')) });
    expect(answer.status).toBe(200);
    expect(answer.headers['x-ratelimit-limit']).toBe('1000');
    expect(Number(answer.headers['x-ratelimit-remaining'])).toBeGreaterThan(500);
  });

  it('reuses one collection for scrapes within SCRUB_METRICS_CACHE_MS', async () => {
    const askedAt = performance.now();
    const first = await request(server.url, { path: '/metrics' });
    expect((await request(server.url, { path: '/v1/scrub', ...json(exampleClaim('clean.json')) })).status).toBe(200);
    const second = await request(server.url, { path: '/metrics' });
    if (performance.now() - askedAt < CACHE_MS) expect(claimsScrubbed(second.text)).toBe(claimsScrubbed(first.text));
    // Once the cache is older than that, the scrub shows.
    const until = performance.now() + CACHE_MS + 10_000;
    let latest = second;
    while (claimsScrubbed(latest.text) === claimsScrubbed(first.text)) {
      if (performance.now() > until) throw new Error(`the metrics never changed:\n${latest.text}`);
      await sleep(200);
      latest = await request(server.url, { path: '/metrics' });
    }
    expect(claimsScrubbed(latest.text)).toBeGreaterThan(claimsScrubbed(first.text));
  }, 30_000);

  it('answers with the figures that arrive within 2 s when a worker cannot answer, and says how many did not', async () => {
    process.kill(pids[0]!, 'SIGSTOP');
    try {
      // Scrape until an answer was collected after the stop (earlier ones may come from the
      // cache). A connection may reach the stopped worker: give up on it and ask again.
      const until = performance.now() + 45_000;
      for (;;) {
        const started = performance.now();
        const answer = await get('/metrics', 12_000);
        if (performance.now() > until) throw new Error(`no answer ever left the stopped worker out: ${answer === 'timeout' ? answer : answer.text}`);
        if (answer === 'timeout') continue;
        // Within a scrape timeout (Prometheus's default is 10 s): the primary waits 2 s for the
        // workers' figures, the rest is a busy machine's slack.
        expect(performance.now() - started).toBeLessThan(10_000);
        expect(answer.status).toBe(200);
        expect(answer.text).toMatch(/^scrub_http_requests_in_flight /m);
        if (gauge(answer.text, 'scrub_metrics_workers_missing') === 1) break;
        await sleep(250);
      }
    } finally {
      process.kill(pids[0]!, 'SIGCONT');
    }
    // Back: every worker answers again.
    const until = performance.now() + 20_000;
    for (;;) {
      const answer = await get('/metrics', 12_000);
      if (answer !== 'timeout' && answer.status === 200 && gauge(answer.text, 'scrub_metrics_workers_missing') === 0) break;
      if (performance.now() > until) throw new Error(`the stopped worker never answered again:\n${answer === 'timeout' ? answer : answer.text}`);
      await sleep(250);
    }
  }, 120_000);
});
