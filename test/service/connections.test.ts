import net from 'node:net';
import { describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/app.js';
import { ScrubMetrics } from '../../src/http/plugins/metrics.js';
import { DESCRIPTOR_RESERVE, IDLE_GRACE_MS, ServerConnections, connectionBudget, fileLimit, openDescriptors } from '../../src/service/connections.js';
import { bundledScrubber } from '../helpers.js';

/** The descriptor budget of one serving process, on a real socket in this process. */

describe('the connection budget', () => {
  it.each([
    { limit: 1024, baseline: 30, configured: undefined, max: 1024 - 30 - DESCRIPTOR_RESERVE },
    { limit: 1024, baseline: 30, configured: 100, max: 100 },
    { limit: 1024, baseline: 30, configured: 5000, max: 1024 - 30 - DESCRIPTOR_RESERVE },
    { limit: 100, baseline: 30, configured: undefined, max: 1 },
    { limit: undefined, baseline: undefined, configured: undefined, max: Number.POSITIVE_INFINITY },
    { limit: Number.POSITIVE_INFINITY, baseline: 30, configured: 64, max: 64 },
  ])('limit $limit, $baseline open at start-up, SCRUB_MAX_CONNECTIONS $configured: at most $max connections', ({ limit, baseline, configured, max }) => {
    expect(connectionBudget(limit, baseline, configured).maxConnections).toBe(max);
  });

  it('reads this process\'s limit and open descriptors (Linux)', () => {
    expect(fileLimit()).toBeGreaterThan(0);
    expect(openDescriptors()).toBeGreaterThan(2);
  });
});

async function serving(config: { maxConnections?: number; headersMs?: number }) {
  const lines: Array<Record<string, unknown>> = [];
  const scrubber = await bundledScrubber();
  const metrics = new ScrubMetrics();
  const headersMs = config.headersMs ?? 10_000;
  const app: FastifyInstance = await buildApp({
    scrubber: () => scrubber,
    metrics,
    config: { metricsCacheMs: 0, timeouts: { requestMs: 60_000, headersMs, idleMs: 120_000, keepAliveMs: 72_000 } },
    logger: { level: 'info', stream: { write: (line: string) => void lines.push(JSON.parse(line)) } },
  });
  const connections = new ServerConnections(app.server, app.log, { headersTimeoutMs: headersMs, ...(config.maxConnections ? { configured: config.maxConnections } : {}) });
  metrics.observeConnections(() => connections.figures());
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, lines, connections, port: Number(new URL(address).port) };
}

/** Resolves with what the connection received once it closes, or `open` after `ms`. */
function closedWithin(socket: net.Socket, ms: number): Promise<string | 'open'> {
  return new Promise((resolve) => {
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString()));
    const timer = setTimeout(() => resolve('open'), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
  });
}

const connect = (port: number) =>
  new Promise<net.Socket>((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
    socket.on('error', () => undefined);
  });

describe('a serving process at its connection budget', () => {
  it('closes the connections past it at once, logs the refusals once for the lot, counts them, and serves those it holds', async () => {
    const { app, lines, port } = await serving({ maxConnections: 3 });
    try {
      const held = await Promise.all([connect(port), connect(port), connect(port)]);
      await new Promise((r) => setTimeout(r, 100));
      const extra = await Promise.all([connect(port), connect(port)]);
      expect(await Promise.all(extra.map((s) => closedWithin(s, 2000)))).toEqual(['', '']);
      const refusals = lines.filter((l) => String(l.msg).startsWith('connections refused'));
      expect(refusals).toEqual([expect.objectContaining({ level: 40, refused: 1, maxConnections: 3, open: 3 })]);
      // One of those it holds asks something: answered.
      held[0]!.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      const answer = await new Promise<string>((resolve) => held[0]!.once('data', (d: Buffer) => resolve(d.toString())));
      expect(answer).toMatch(/^HTTP\/1\.1 200 /);
      const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metrics).toMatch(/^scrub_connections_refused_total 2$/m);
      expect(metrics).toMatch(/^scrub_connections_max 3$/m);
      expect(metrics).toMatch(/^scrub_connections_open 3$/m);
      for (const s of held) s.destroy();
    } finally {
      await app.close();
    }
    // The last refusals are logged when the server stops, so the count adds up.
    expect(lines.filter((l) => String(l.msg).startsWith('connections refused')).reduce((n, l) => n + Number(l.refused), 0)).toBe(2);
  });

  it('closes a connection that sends nothing within SCRUB_HEADERS_TIMEOUT_MS without writing to it, and answers one that is too slow with its headers 408', async () => {
    const { app, lines, port } = await serving({ headersMs: 1000 });
    try {
      const silent = await connect(port);
      const slow = await connect(port);
      slow.write('GET /healthz HTTP/1.1\r\n');
      const [silentGot, slowGot] = await Promise.all([closedWithin(silent, 5000), closedWithin(slow, 5000)]);
      expect(silentGot).toBe('');
      expect(slowGot).toMatch(/^HTTP\/1\.1 408 /);
      expect(lines).toContainEqual(expect.objectContaining({ msg: 'closed connections that sent nothing within SCRUB_HEADERS_TIMEOUT_MS', closed: 1, headersTimeoutMs: 1000 }));
      expect((await app.inject({ method: 'GET', url: '/metrics' })).body).toMatch(/^scrub_connections_silent_closed_total 1$/m);
    } finally {
      await app.close();
    }
  });
});

describe('a serving process closing its kept-alive connections at shutdown', () => {
  it('answers a request that arrived while the process was busy, instead of resetting the connection as idle', async () => {
    const { app, port } = await serving({});
    const kept = await connect(port);
    kept.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise<void>((resolve) => kept.once('data', () => resolve()));
    const closing = app.close();
    // Idle for most of the grace, then a request goes out while the process is busy (a long
    // batch, say) past the grace: the connection looks idle when the timers next run.
    await new Promise((r) => setTimeout(r, IDLE_GRACE_MS - 150));
    const got = closedWithin(kept, 5000);
    // Busy outside the timers phase (as a batch being scrubbed is), so that the next loop turn
    // runs its timers before it reads the sockets.
    setImmediate(() => {
      kept.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      const busyUntil = performance.now() + 400;
      while (performance.now() < busyUntil) {
        // the process is busy
      }
    });
    expect(await got).toMatch(/^HTTP\/1\.1 200 /);
    await closing;
  });
});
