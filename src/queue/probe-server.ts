import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/**
 * A worker's own small HTTP server for its orchestrator: /healthz (the process answers),
 * /readyz (connected to the queue, pulling, its dependencies usable) and /metrics (Prometheus).
 * It serves nothing else and reads no body.
 */
export interface ProbeOptions {
  host: string;
  port: number;
  registry: Registry;
  /** Undefined when ready; otherwise why not. */
  notReady: () => Promise<string | undefined>;
  /** What /readyz shows when ready (pack versions...). */
  describe: () => Record<string, unknown>;
}

export async function startProbeServer(o: ProbeOptions): Promise<{ server: Server; address: string }> {
  const server = createServer((req, res) => {
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'application/json', JSON.stringify({ code: 'method-not-allowed' }));
    if (path === '/healthz') return send(200, 'application/json', JSON.stringify({ status: 'ok' }));
    if (path === '/readyz') {
      void o.notReady().then(
        (why) => (why ? send(503, 'application/json', JSON.stringify({ status: 'not-ready', reason: why })) : send(200, 'application/json', JSON.stringify({ status: 'ready', ...o.describe() }))),
        () => send(503, 'application/json', JSON.stringify({ status: 'not-ready', reason: 'the readiness check failed' })),
      );
      return;
    }
    if (path === '/metrics') {
      void o.registry.metrics().then(
        (text) => send(200, o.registry.contentType, text),
        () => send(500, 'text/plain', 'metrics unavailable\n'),
      );
      return;
    }
    send(404, 'application/json', JSON.stringify({ code: 'not-found' }));
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  return { server, address: `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` };
}
