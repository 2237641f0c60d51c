import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { bundledRulesDir, packageRoot } from '../../src/paths.js';
import { tableSnapshotEnv } from '../support/table-snapshots.js';

/**
 * The real service, as operators run it: `scrub serve` in a child process (the TypeScript
 * sources through tsx), on a free loopback port read from what it prints, driven over HTTP.
 */

export interface RunningServer {
  url: string;
  port: number;
  /** The process started: the service itself (--workers 1) or the cluster primary. */
  pid: number;
  child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then the exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Waits until the output matches (the log arrives through a pipe, a moment after the answer). */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
}

const running = new Set<RunningServer>();
afterAll(() => {
  for (const server of running) server.child.kill('SIGKILL');
});

/** The environment a test gives the service: nothing inherited that could change it. */
function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(SCRUB_|PORT$|HOST$|LOG_LEVEL$|NODE_OPTIONS$|VITEST)/.test(k)) continue;
    base[k] = v;
  }
  // No rate limit unless a test sets one: load tests would trip it (it has its own tests).
  // The test run's table snapshot cache changes nothing but how fast the code sets load.
  return { ...base, ...tableSnapshotEnv(), LOG_LEVEL: 'info', SCRUB_RATE_LIMIT: '0', ...env };
}

export interface StartOptions {
  workers?: number;
  env?: Record<string, string>;
  args?: string[];
  /** Start under this file descriptor limit (soft and hard), with prlimit: every process inherits it. */
  fileLimit?: number;
  /**
   * Resolve once the first worker listens (its log line names the address), not once every
   * worker does (the banner): for what happens while the others are still starting.
   */
  untilFirstWorker?: boolean;
}

export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const serve = [process.execPath, '--import', 'tsx', 'src/cli/main.ts', 'serve', '--host', '127.0.0.1', '--port', '0', '--workers', String(options.workers ?? 1), ...(options.args ?? [])];
  const command = options.fileLimit === undefined ? serve : ['prlimit', `--nofile=${options.fileLimit}:${options.fileLimit}`, ...serve];
  const child = spawn(command[0]!, command.slice(1), { cwd: packageRoot, env: cleanEnv(options.env ?? {}), stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: string[] = [];
  child.stdout!.setEncoding('utf8').on('data', (c: string) => chunks.push(c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => chunks.push(c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const output = () => chunks.join('');
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Not left running: it would hold the machine's cores for the tests after this one.
      child.kill('SIGKILL');
      reject(new Error(`the service did not start in 60 s:\n${output()}`));
    }, 60_000);
    const look = () => {
      const match = (options.untilFirstWorker ? /"address":"(http:\/\/[0-9.]+:\d+)"/ : /listening on (http:\/\/[0-9.]+:\d+)/).exec(output());
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', look);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`the service exited (code ${code}, signal ${signal}) before listening:\n${output()}`));
    });
  });
  const server: RunningServer = {
    url,
    port: Number(new URL(url).port),
    pid: child.pid!,
    child,
    output,
    exited,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
    waitForOutput: async (pattern, timeoutMs = 10_000) => {
      const until = performance.now() + timeoutMs;
      while (!pattern.test(output())) {
        if (performance.now() > until) throw new Error(`the output never matched ${pattern}:\n${output()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
  running.add(server);
  void exited.then(() => running.delete(server));
  return server;
}

/** Runs a `scrub` command to its end, for start-up failures and the like. */
export function runScrub(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: packageRoot, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: string[] = [];
    child.stdout.setEncoding('utf8').on('data', (c: string) => chunks.push(c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => chunks.push(c));
    child.once('exit', (code) => resolve({ code, output: chunks.join('') }));
  });
}

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
  json<T = any>(): T;
}

/** One request over a fresh connection, body given whole (string or bytes); rejects after `timeoutMs` with no answer. */
export function request(url: string, options: { method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer; timeoutMs?: number } = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      new URL(options.path ?? '/', url),
      { method: options.method ?? (options.body === undefined ? 'GET' : 'POST'), headers: options.headers ?? {}, agent: false },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => {
          const body = Buffer.concat(parts);
          resolve({ status: res.statusCode!, headers: res.headers, body, text: body.toString('utf8'), json: () => JSON.parse(body.toString('utf8')) });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(options.timeoutMs ?? 30_000, () => req.destroy(new Error(`no answer within ${options.timeoutMs ?? 30_000} ms`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

export const json = (value: unknown) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) });

/** Resident memory of a process, in bytes (Linux). */
export function residentBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1]);
  return kb * 1024;
}

/** A throwaway rules folder: a copy of the bundled packs, optionally changed. */
export async function rulesFolder(change?: (dir: string) => Promise<void>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'scrub-service-rules-'));
  made.push(dir);
  await cp(bundledRulesDir, dir, { recursive: true });
  if (change) await change(dir);
  return dir;
}
const made: string[] = [];
afterAll(async () => {
  for (const d of made.splice(0)) await rm(d, { recursive: true, force: true });
});

/** Sets the version of every pack in a rules folder. */
export async function setPackVersions(dir: string, version: string): Promise<void> {
  const { readdir } = await import('node:fs/promises');
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const packFile = path.join(dir, entry.name, 'pack.yaml');
    if (!entry.isDirectory()) continue;
    let text: string;
    try {
      text = await readFile(packFile, 'utf8');
    } catch {
      continue;
    }
    await writeFile(packFile, text.replace(/^version:.*$/m, `version: "${version}"`));
  }
}

/** A rules folder with one small pack: for tests about the service, not about the rules. */
export async function tinyRulesFolder(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'scrub-tiny-rules-'));
  made.push(dir);
  const { mkdir } = await import('node:fs/promises');
  await mkdir(path.join(dir, 'tiny', 'rules'), { recursive: true });
  await writeFile(
    path.join(dir, 'tiny', 'pack.yaml'),
    [
      'name: tiny',
      'version: "1.0.0"',
      'title: One rule',
      'description: A pack with one rule, for service tests.',
      'owner: tests',
      'rules:',
      '  - id: tiny-lt-rt-same-line',
      '    title: LT and RT on the same line',
      '    category: modifier',
      '    severity: error',
      '    scope: line',
      '    conditions:',
      '      all:',
      '        - { fact: line, operator: hasModifier, value: LT }',
      '        - { fact: line, operator: hasModifier, value: RT }',
      '    message: "Line {{line.number}} carries both LT and RT."',
      '    path: /lines/{{line.index}}/modifiers',
      '',
    ].join('\n'),
  );
  return dir;
}

export interface BatchRun {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Result lines received. */
  results: number;
}

/**
 * Streams `count` NDJSON lines (made by `line(i)`) to POST /v1/scrub/batch and reads the result
 * lines as they come, keeping neither: constant memory on this side too. Writes wait for the
 * socket to drain, so the upload goes at the speed the service reads.
 */
export function streamBatch(
  url: string,
  count: number,
  line: (i: number) => string,
  options: { onResult?: (text: string, index: number) => void; onFirstResult?: () => void; headers?: Record<string, string>; path?: string } = {},
): Promise<BatchRun> {
  return new Promise((resolve, reject) => {
    const { NdjsonSplitter } = splitterModule;
    const splitter = new NdjsonSplitter();
    let results = 0;
    const req = http.request(
      new URL(options.path ?? '/v1/scrub/batch', url),
      { method: 'POST', headers: { 'content-type': 'application/x-ndjson', ...options.headers }, agent: false },
      (res) => {
        const take = (lines: ReturnType<typeof splitter.push>) => {
          for (const l of lines) {
            if (!('text' in l) || l.text === '') continue;
            if (results === 0) options.onFirstResult?.();
            options.onResult?.(l.text, results);
            results++;
          }
        };
        res.on('data', (c: Buffer) => take(splitter.push(c)));
        res.on('end', () => {
          take(splitter.end());
          resolve({ status: res.statusCode!, headers: res.headers, results });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    void (async () => {
      let buffer = '';
      for (let i = 0; i < count; i++) {
        buffer += line(i) + '\n';
        if (buffer.length >= 64 * 1024 || i === count - 1) {
          if (!req.write(buffer)) await new Promise((r) => req.once('drain', r));
          buffer = '';
        }
      }
      req.end();
    })().catch(reject);
  });
}

import * as splitterModule from '../../src/formats/ndjson.js';

export interface LoadResult {
  startedAt: number;
  finishedAt: number;
  status: number;
  /** The pack versions the result names, as "name@version". */
  packs: string[];
  error?: string;
}

/**
 * Keeps `concurrency` requests in flight (POST /v1/scrub of one claim, over kept-alive
 * connections) until `stop()`; records every answer.
 */
export function keepScrubbing(url: string, claim: unknown, concurrency: number, headers: Record<string, string> = {}) {
  const results: LoadResult[] = [];
  let stopped = false;
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const body = JSON.stringify(claim);
  const one = () =>
    new Promise<void>((resolve) => {
      const startedAt = performance.now();
      const req = http.request(new URL('/v1/scrub', url), { method: 'POST', agent, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => {
          const text = Buffer.concat(parts).toString();
          let packs: string[] = [];
          try {
            packs = ((JSON.parse(text) as { packs?: Array<{ name: string; version: string }> }).packs ?? []).map((p) => `${p.name}@${p.version}`);
          } catch {
            /* recorded by status */
          }
          results.push({ startedAt, finishedAt: performance.now(), status: res.statusCode!, packs });
          resolve();
        });
      });
      // A client gives up in the end: a connection the kernel handed to a worker just as it
      // was killed is never answered by anyone.
      req.setTimeout(15_000, () => req.destroy(new Error('no answer in 15 s')));
      req.on('error', (err) => {
        results.push({ startedAt, finishedAt: performance.now(), status: 0, packs: [], error: err.message });
        // The port is closed (shutdown) or the connection broke: do not spin.
        setTimeout(resolve, 20);
      });
      req.end(body);
    });
  const loops = Array.from({ length: concurrency }, async () => {
    while (!stopped) await one();
  });
  return {
    results,
    async stop(): Promise<LoadResult[]> {
      stopped = true;
      await Promise.all(loops);
      agent.destroy();
      return results;
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The pids of a cluster's workers, once `count` of them have said they are listening. */
export async function workerPids(server: RunningServer, count: number, timeoutMs = 30_000): Promise<number[]> {
  await server.waitForOutput(new RegExp(Array(count).fill('worker listening').join('[\\s\\S]*')), timeoutMs);
  return [...server.output().matchAll(/"workerPid":(\d+)[^\n]*worker listening/g)].map((m) => Number(m[1]));
}

/** One request of a keep-alive load, as the client saw it. */
export interface Attempt {
  /** Sent as X-Request-Id: the service's access log names every request it read. */
  id: string;
  startedAt: number;
  finishedAt: number;
  /** Sent on a connection that had carried an earlier answer (kept alive). */
  reused: boolean;
  status?: number;
  /** The problem code of an error answer. */
  code?: string;
  /** The answer said Connection: close. */
  closing?: boolean;
  /** No answer: the error code (ECONNREFUSED, ECONNRESET, ...) or "timeout". */
  error?: string;
}

/** How a keep-alive load fared. */
export interface LoadTally {
  attempts: Attempt[];
  ok: number;
  /** 503 shutting-down: answered, and told to go elsewhere. */
  shuttingDown: number;
  /** The port was closed: nobody accepted the connection. */
  refused: number;
  /**
   * A new connection reset before the service read the request on it: the request id is nowhere
   * in its log. The kernel completes a connection before the service accepts it, and one still
   * waiting when the port closes is reset (with workers, node:cluster's primary also holds each
   * connection until a worker takes it, and closes those it holds then).
   */
  resetUnread: Attempt[];
  /**
   * Requests the service accepted and never answered: sent on a kept-alive connection, read by
   * the service (its id is in the log) without the answer arriving, or unanswered for so long
   * that the client gave up.
   */
  lost: Attempt[];
  /** Answers other than 200 and 503 shutting-down. */
  unexpected: Attempt[];
}

/** The request ids a service's log names: every request it read has one access-log line. */
export function requestIdsRead(output: string): Set<string> {
  return new Set([...output.matchAll(/"reqId":"([^"]+)"/g)].map((m) => m[1]!));
}

export function tally(attempts: Attempt[], read: Set<string>): LoadTally {
  const failed = attempts.filter((a) => a.error !== undefined && a.error !== 'ECONNREFUSED');
  const accepted = (a: Attempt) => a.reused || a.error === 'timeout' || read.has(a.id);
  return {
    attempts,
    ok: attempts.filter((a) => a.status === 200).length,
    shuttingDown: attempts.filter((a) => a.status === 503 && a.code === 'shutting-down').length,
    refused: attempts.filter((a) => a.error === 'ECONNREFUSED').length,
    resetUnread: failed.filter((a) => !accepted(a)),
    lost: failed.filter(accepted),
    unexpected: attempts.filter((a) => a.status !== undefined && a.status !== 200 && !(a.status === 503 && a.code === 'shutting-down')),
  };
}

export function describeTally(t: LoadTally): string {
  const errors = new Map<string, number>();
  for (const a of t.lost) {
    const kind = `${a.error}${a.reused ? ' on a kept-alive connection' : ''}`;
    errors.set(kind, (errors.get(kind) ?? 0) + 1);
  }
  return (
    `${t.attempts.length} requests: ${t.ok} answered 200, ${t.shuttingDown} answered 503 shutting-down, ${t.refused} found the port closed, ` +
    `${t.resetUnread.length} new connections reset before the service read them, ${t.lost.length} lost${errors.size ? ` (${[...errors].map(([e, n]) => `${n} ${e}`).join(', ')})` : ''}, ${t.unexpected.length} other answers`
  );
}

/**
 * `loops` clients, each with one kept-alive connection (its own agent) that it uses back to back
 * for POST /v1/scrub until the service closes it, then opens another; it stops on stop(). Every
 * request is recorded as the client saw it. A request with no answer within `timeoutMs` counts
 * as lost.
 */
export function keepAliveLoad(url: string, claim: unknown, loops: number, timeoutMs = 20_000) {
  const attempts: Attempt[] = [];
  let stopped = false;
  let sent = 0;
  // Ids unique to this load: a service may have served other loads, whose ids are in its log.
  const load = randomUUID().slice(0, 8);
  const body = JSON.stringify(claim);
  const agents = Array.from({ length: loops }, () => new http.Agent({ keepAlive: true, maxSockets: 1 }));
  const one = (agent: http.Agent) =>
    new Promise<Attempt>((resolve) => {
      const startedAt = performance.now();
      const id = `load-${load}-${++sent}`;
      const req = http.request(new URL('/v1/scrub', url), { method: 'POST', agent, headers: { 'content-type': 'application/json', 'x-request-id': id } }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('error', () => undefined);
        res.on('end', () => {
          let code: string | undefined;
          if (res.statusCode !== 200) {
            try {
              code = (JSON.parse(Buffer.concat(parts).toString()) as { code?: string }).code;
            } catch {
              /* recorded by status */
            }
          }
          resolve({ id, startedAt, finishedAt: performance.now(), reused: req.reusedSocket, status: res.statusCode!, ...(code ? { code } : {}), closing: res.headers.connection === 'close' });
        });
      });
      req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('no answer'), { code: 'timeout' })));
      req.on('error', (err: NodeJS.ErrnoException) => resolve({ id, startedAt, finishedAt: performance.now(), reused: req.reusedSocket, error: err.code ?? err.message }));
      req.end(body);
    });
  const running = agents.map(async (agent) => {
    while (!stopped) {
      const attempt = await one(agent);
      attempts.push(attempt);
      // The port is closed (or the connection broke): do not spin.
      if (attempt.error) await sleep(20);
    }
  });
  return {
    attempts,
    /** Resolves once `count` requests have been answered 200. */
    async answered(count: number, timeoutMs = 30_000): Promise<void> {
      const until = performance.now() + timeoutMs;
      while (attempts.filter((a) => a.status === 200).length < count) {
        if (performance.now() > until) throw new Error(`the load got fewer than ${count} answers in ${timeoutMs} ms: ${describeTally(tally(attempts, new Set()))}`);
        await sleep(10);
      }
    },
    /** Stops, and tallies the requests against the ids the service's output says it read. */
    async stop(serviceOutput: string): Promise<LoadTally> {
      stopped = true;
      await Promise.all(running);
      for (const agent of agents) agent.destroy();
      return tally(attempts, requestIdsRead(serviceOutput));
    },
  };
}
