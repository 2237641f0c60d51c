import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countResults } from '../../src/queue/collector.js';
import type { QueueConnection } from '../../src/queue/connect.js';
import { HEADER } from '../../src/queue/messages.js';
import { scrub } from '../cli/run-cli.js';
import { withInputPlace } from '../../src/formats/decorate.js';
import { bundledRulesDir } from '../../src/paths.js';
import { bundledScrubber } from '../helpers.js';
import { generateClaims } from '../support/generate-claims.js';
import { editFile, rulesCopy } from '../support/rules-copy.js';
import { natsServer, openQueue, queueEnv, startWorker, uniqueQueueName, type NatsServer, type WorkerProcess } from './nats.js';

/**
 * `scrub worker` processes on a real nats-server with JetStream, fed by `scrub submit` and read
 * back by `scrub results`, as an operator runs them: many claims through several workers, a
 * worker killed mid-stream, a worker drained with SIGTERM, a coordinated reload mid-run.
 */

let nats: NatsServer;
let dir: string;
const queues: QueueConnection[] = [];
beforeAll(async () => {
  nats = await natsServer();
  dir = await mkdtemp(path.join(os.tmpdir(), 'scrub-queue-'));
});
afterAll(async () => {
  for (const q of queues) await q.nc.close().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

const AS_OF = '2026-06-01';

async function claimsFile(name: string, chunks: number, perChunk: number): Promise<string> {
  const file = path.join(dir, name);
  const out = createWriteStream(file);
  for (let seed = 1; seed <= chunks; seed++) {
    for (const claim of generateClaims(perChunk, { seed: 1000 + seed, problemRate: 0.5 })) {
      if (!out.write(JSON.stringify(claim) + '\n')) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    }
  }
  await new Promise<void>((resolve) => out.end(() => resolve()));
  return file;
}

async function queueOf(name: string, extra: Record<string, string>): Promise<QueueConnection> {
  const queue = await openQueue(nats.url, name, extra);
  queues.push(queue);
  return queue;
}

async function submitFile(env: Record<string, string>, file: string): Promise<{ batch: string; stderr: string }> {
  const run = await scrub(['submit', '--as-of', AS_OF, file], { env });
  expect(run.stderr).not.toMatch(/cannot|error/i);
  expect(run.code).toBe(0);
  return { batch: run.stdout.trim(), stderr: run.stderr };
}

async function waitForResults(queue: QueueConnection, batch: string, atLeast: number, timeoutMs = 300_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while ((await countResults(queue, batch)) < atLeast) {
    if (Date.now() > end) throw new Error(`fewer than ${atLeast} results after ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** Every result message of a batch with the headers the worker gave it, read from the stream. */
async function resultMessages(queue: QueueConnection, batch: string, expected: number): Promise<Array<{ item: number; deliveries: number; worker: string; body: string }>> {
  const consumer = await queue.js.consumers.get(queue.names.resultsStream, { filter_subjects: queue.names.result(batch, '*') });
  const out = [];
  const messages = await consumer.consume();
  for await (const m of messages) {
    out.push({ item: Number(m.subject.slice(m.subject.lastIndexOf('.') + 1)), deliveries: Number(m.headers?.get(HEADER.deliveries)), worker: m.headers?.get(HEADER.worker) ?? '', body: m.string() });
    if (out.length === expected) break;
  }
  await messages.close();
  return out;
}

async function collect(env: Record<string, string>, batch: string): Promise<string[]> {
  const out = path.join(dir, `${batch}.ndjson`);
  const run = await scrub(['results', '--batch', batch, '--out', out, '--timeout', '120'], { env });
  expect(run.code, run.stderr).toBeLessThan(2);
  return (await readFile(out, 'utf8')).split('\n').filter((l) => l !== '');
}

async function stopAll(workers: WorkerProcess[]): Promise<void> {
  for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGTERM');
  await Promise.all(workers.map((w) => w.exited));
}

describe('scrub worker processes', () => {
  it('take 100,000 claims through 3 workers: every claim gets exactly one result, in submission order', { timeout: 600_000 }, async () => {
    const name = uniqueQueueName('big');
    const env = queueEnv(nats.url, name);
    const queue = await queueOf(name, {});
    const file = await claimsFile('100k.ndjson', 10, 10_000);
    const started = Date.now();
    const workers = await Promise.all([1, 2, 3].map(() => startWorker(env, ['--fetch', '128'])));
    const { batch, stderr } = await submitFile(env, file);
    expect(stderr).toMatch(/scrub submit: 100,000 claims submitted/);
    const lines = await collect(env, batch);
    const seconds = (Date.now() - started) / 1000;
    expect(lines).toHaveLength(100_000);
    // Exactly once: the stream holds one result per item and no more.
    expect(await countResults(queue, batch)).toBe(100_000);
    const ids = lines.map((l) => (JSON.parse(l) as { claimId: string }).claimId);
    const expectedIds: string[] = [];
    for (let seed = 1; seed <= 10; seed++) for (let i = 0; i < 10_000; i++) expectedIds.push(`GEN-${1000 + seed}-${i}`);
    expect(ids).toEqual(expectedIds);
    // Each worker did a share of the work, as its /metrics says.
    for (const w of workers) {
      const metrics = await (await fetch(`${w.probes}/metrics`)).text();
      expect(Number(/^scrub_queue_results_published_total (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(1000);
    }
    await stopAll(workers);
    // The answers are the ones the scrubber gives in-process (a sample of 1 in 50).
    const scrubber = await bundledScrubber();
    const claims = (await readFile(file, 'utf8')).split('\n');
    // As scrub check --format ndjson gives them: each names the line it answers (inputLine).
    for (let i = 0; i < 100_000; i += 50) {
      const input = JSON.parse(claims[i]!) as unknown;
      expect(lines[i]).toBe(JSON.stringify(withInputPlace(await scrubber.scrub(input, { asOf: AS_OF }), { line: i + 1, input })));
    }
    console.log(`100,000 claims through 3 workers: ${seconds.toFixed(1)} s from start to the last result`);
  });

  it('lose nothing when a worker is killed with SIGKILL mid-stream: its claims are redelivered, each answered once', { timeout: 300_000 }, async () => {
    const name = uniqueQueueName('kill');
    const env = queueEnv(nats.url, name, { SCRUB_QUEUE_ACK_WAIT_MS: '2000' });
    const queue = await queueOf(name, { SCRUB_QUEUE_ACK_WAIT_MS: '2000' });
    const file = await claimsFile('kill.ndjson', 1, 12_000);
    const victim = await startWorker(env, ['--fetch', '256']);
    const others = await Promise.all([1, 2].map(() => startWorker(env)));
    const { batch } = await submitFile(env, file);
    await waitForResults(queue, batch, 3000);
    victim.child.kill('SIGKILL');
    expect((await victim.exited).signal).toBe('SIGKILL');
    const lines = await collect(env, batch);
    expect(lines).toHaveLength(12_000);
    expect(await countResults(queue, batch)).toBe(12_000);
    const messages = await resultMessages(queue, batch, 12_000);
    expect(new Set(messages.map((m) => m.item)).size).toBe(12_000);
    // The killed worker's claims came back to the others.
    expect(messages.filter((m) => m.deliveries > 1).length).toBeGreaterThan(0);
    const info = await queue.jsm.consumers.info(queue.names.claimsStream, queue.names.consumer);
    expect(info.num_pending + info.num_ack_pending).toBe(0);
    await stopAll(others);
  });

  it('drain on SIGTERM: the worker finishes and acknowledges what it holds, exits 0, and nothing is redelivered', { timeout: 300_000 }, async () => {
    const name = uniqueQueueName('drain');
    // A long ack wait: a claim the drain dropped would not come back in time, and the test would fail.
    const env = queueEnv(nats.url, name, { SCRUB_QUEUE_ACK_WAIT_MS: '600000' });
    const queue = await queueOf(name, { SCRUB_QUEUE_ACK_WAIT_MS: '600000' });
    const file = await claimsFile('drain.ndjson', 1, 10_000);
    const [draining, staying] = await Promise.all([startWorker(env, ['--fetch', '256']), startWorker(env)]);
    const { batch } = await submitFile(env, file);
    await waitForResults(queue, batch, 2000);
    draining!.child.kill('SIGTERM');
    expect(await draining!.exited).toEqual({ code: 0, signal: null });
    expect(draining!.output()).toMatch(/"msg":"draining: no more pulls/);
    const handled = Number(/"handled":(\d+)[^\n]*"msg":"worker stopped"/.exec(draining!.output())?.[1]);
    expect(handled).toBeGreaterThan(0);
    const lines = await collect(env, batch);
    expect(lines).toHaveLength(10_000);
    const messages = await resultMessages(queue, batch, 10_000);
    expect(messages.filter((m) => m.deliveries !== 1)).toEqual([]);
    const byDrained = messages.filter((m) => m.worker.endsWith(`:${draining!.pid}`)).length;
    expect(byDrained).toBe(handled);
    const info = await queue.jsm.consumers.info(queue.names.claimsStream, queue.names.consumer);
    expect({ redelivered: info.num_redelivered, ackPending: info.num_ack_pending, pending: info.num_pending }).toEqual({ redelivered: 0, ackPending: 0, pending: 0 });
    await stopAll([staying!]);
  });

  it('reload together mid-run: every result names the pack versions it was scrubbed with, and its findings match them', { timeout: 300_000 }, async () => {
    const name = uniqueQueueName('reload');
    const rules = await rulesCopy();
    const env = queueEnv(nats.url, name, { SCRUB_RULES_DIR: rules });
    const queue = await queueOf(name, {});
    const file = await claimsFile('reload.ndjson', 1, 8000);
    const workers = await Promise.all([1, 2].map(() => startWorker(env)));
    const { batch } = await submitFile(env, file);
    await waitForResults(queue, batch, 1500);
    // Version 9.0.0 of core (whatever the bundled one is) makes a total that does not add up a warning instead of an error.
    await editFile(rules, 'core/pack.yaml', (t) => t.replace(/^version: "[^"]+"/m, 'version: "9.0.0"'));
    await editFile(rules, 'core/rules/charges-units.yaml', (t) => t.replace(/(id: total-charge-mismatch[\s\S]*?severity: )error/, '$1warning'));
    const reload = await scrub(['worker', 'reload', '--wait-ms', '20000'], { env });
    expect(reload.stdout, reload.stderr).toMatch(/^Reloaded 2 of 2 workers:/);
    expect(reload.stdout).toMatch(/core@9\.0\.0/);
    expect(reload.code).toBe(0);
    const after = await submitFile(env, file);
    const [first, second] = [await collect(env, batch), await collect(env, after.batch)];
    const versionOf = (r: { packs: Array<{ name: string; version: string }> }) => r.packs.find((p) => p.name === 'core')!.version;
    const bundled = (await readFile(path.join(bundledRulesDir, 'core/pack.yaml'), 'utf8')).match(/^version: "([^"]+)"/m)![1]!;
    const seen: Record<string, number> = { [bundled]: 0, '9.0.0': 0 };
    for (const line of [...first, ...second]) {
      const r = JSON.parse(line) as { packs: Array<{ name: string; version: string }>; findings: Array<{ ruleId: string; severity: string }> };
      const version = versionOf(r);
      expect(Object.keys(seen)).toContain(version);
      seen[version]!++;
      for (const f of r.findings.filter((x) => x.ruleId === 'total-charge-mismatch')) expect(f.severity).toBe(version === bundled ? 'error' : 'warning');
    }
    expect(seen[bundled]).toBeGreaterThan(0);
    expect(seen['9.0.0']).toBeGreaterThanOrEqual(8000);
    // Everything submitted after the reload answered was scrubbed with the new set.
    expect(second.every((l) => versionOf(JSON.parse(l)) === '9.0.0')).toBe(true);
    for (const w of workers) expect(w.output()).toMatch(/"msg":"packs reloaded"/);
    await stopAll(workers);
  });
});
