/**
 * Requests per second of the real service with 1 and with N workers: `npm run bench:serve`
 * (after `npm run build`). Starts `node dist/cli/main.js serve` on a free loopback port, keeps
 * CONCURRENCY single-claim scrubs in flight over kept-alive connections for SECONDS after a
 * warm-up, and prints one line per worker count. Loopback only; stops by itself.
 *
 *   npm run build && npm run bench:serve -- [seconds] [concurrency] [workers...]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const [secondsArg, concurrencyArg, ...workerArgs] = process.argv.slice(2);
const SECONDS = Number(secondsArg ?? 10);
const CONCURRENCY = Number(concurrencyArg ?? 16);
const WORKERS = workerArgs.length > 0 ? workerArgs.map(Number) : [1, availableParallelism()];
const claim = readFileSync(path.join(root, 'examples/claims/clean.json'));

async function start(workers: number): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['dist/cli/main.js', 'serve', '--port', '0', '--workers', String(workers)], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'warn', SCRUB_RATE_LIMIT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http:\/\/\S+) /.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`the service exited with ${code}:\n${out}`)));
  });
  return { url, stop: () => new Promise((r) => (child.kill('SIGTERM'), child.once('exit', () => r()))) };
}

async function load(url: string, seconds: number): Promise<{ requests: number; failures: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const until = performance.now() + seconds * 1000;
  let requests = 0;
  let failures = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const req = http.request(new URL('/v1/scrub', url), { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) requests++;
          else failures++;
          resolve();
        });
      });
      req.on('error', () => {
        failures++;
        resolve();
      });
      req.end(claim);
    });
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < until) await one();
    }),
  );
  agent.destroy();
  return { requests, failures };
}

for (const workers of WORKERS) {
  const server = await start(workers);
  await load(server.url, 2); // warm-up: JIT, connections
  const { requests, failures } = await load(server.url, SECONDS);
  await server.stop();
  console.log(`${workers} worker${workers === 1 ? ' ' : 's'}: ${(requests / SECONDS).toFixed(0)} requests/s (${requests} in ${SECONDS} s, ${failures} failed, ${CONCURRENCY} in flight)`);
}
