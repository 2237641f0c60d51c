import { Worker } from 'node:worker_threads';
import { deployedEnv, load, workloadRequests, type LoadFigures } from './http.js';
import { CLI, startServer, stopServer } from './processes.js';
import type { BenchTables } from './setup.js';
import { median, round } from './stats.js';

/**
 * What frequent /metrics scrapes cost scrubbing: requests/s of POST /v1/scrub on
 * `scrub serve --workers 2` while about 300 scrapes a second arrive, against the same service
 * with no scrapes, with the metrics cache on (SCRUB_METRICS_CACHE_MS, default 1 s) and off.
 * Both services run throughout and take turns, in a different order each run; each figure is
 * the median of the runs' ratios (scraped / not scraped).
 */

export interface ScrapesResult {
  scrapesPerSecond: number;
  /** Scrapes answered, and not answered 200, across the scraped runs. */
  scrapes: { answered: number; failed: number };
  cached: { idle: LoadFigures; scraped: LoadFigures; ratio: number };
  uncached: { idle: LoadFigures; scraped: LoadFigures; ratio: number };
}

const SCRAPES_PER_SECOND = 300;

/**
 * GET /metrics about `perSecond` times a second (new connections, as anonymous scrapers make)
 * until stopped, from a thread of its own: on this thread autocannon would hold it back.
 */
function scrape(url: string, perSecond: number) {
  const thread = new Worker(
    `
    const http = require('node:http');
    const { parentPort, workerData } = require('node:worker_threads');
    let answered = 0, failed = 0;
    const timer = setInterval(() => {
      for (let i = 0; i < workerData.perSecond / 100; i++) {
        http.get(new URL('/metrics', workerData.url), { agent: false }, (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? answered++ : failed++));
        }).on('error', () => failed++);
      }
    }, 10);
    parentPort.on('message', () => {
      clearInterval(timer);
      setTimeout(() => parentPort.postMessage({ answered, failed }), 2000);
    });
    `,
    { eval: true, workerData: { url, perSecond } },
  );
  return async (): Promise<{ answered: number; failed: number }> => {
    const counts = new Promise<{ answered: number; failed: number }>((resolve) => thread.once('message', resolve));
    thread.postMessage('stop');
    const result = await counts;
    await thread.terminate();
    return result;
  };
}

export async function scrapes(quick: boolean, tables: BenchTables): Promise<ScrapesResult> {
  const requests = await workloadRequests(quick ? 100 : 300, 23);
  const env = deployedEnv(tables);
  const seconds = quick ? 3 : 8;
  const runs = quick ? 1 : 3;
  const connections = 16;
  const cached = await startServer([CLI, 'serve', '--port', '0', '--workers', '2'], env);
  const uncached = await startServer([CLI, 'serve', '--port', '0', '--workers', '2'], { ...env, SCRUB_METRICS_CACHE_MS: '0' });
  const servers = [cached, uncached];
  const idle: LoadFigures[][] = [[], []];
  const scraped: LoadFigures[][] = [[], []];
  const counted = { answered: 0, failed: 0 };
  try {
    for (const s of servers) await load({ url: s.url, requests }, connections, 2); // warm-up
    for (let r = 0; r < runs; r++) {
      for (const k of r % 2 === 0 ? [0, 1] : [1, 0]) {
        const url = servers[k]!.url;
        idle[k]!.push(await load({ url, requests }, connections, seconds));
        const stop = scrape(url, SCRAPES_PER_SECOND);
        scraped[k]!.push(await load({ url, requests }, connections, seconds));
        const { answered, failed } = await stop();
        counted.answered += answered;
        counted.failed += failed;
      }
    }
  } finally {
    await stopServer(cached);
    await stopServer(uncached);
  }
  const figures = (k: number) => {
    const med = (runsOf: LoadFigures[]) => ({ ...runsOf[0]!, requestsPerSecond: round(median(runsOf.map((f) => f.requestsPerSecond)), 0), p99Ms: round(median(runsOf.map((f) => f.p99Ms)), 2) });
    return {
      idle: med(idle[k]!),
      scraped: med(scraped[k]!),
      ratio: round(median(scraped[k]!.map((s, i) => s.requestsPerSecond / idle[k]![i]!.requestsPerSecond)), 2),
    };
  };
  return { scrapesPerSecond: SCRAPES_PER_SECOND, scrapes: counted, cached: figures(0), uncached: figures(1) };
}
