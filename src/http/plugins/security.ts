import type { IncomingMessage, ServerResponse } from 'node:http';
import cors from '@fastify/cors';
import helmet from 'helmet';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

export interface SecurityOptions {
  /** Origins allowed to call from a browser; empty: no CORS headers at all. */
  corsOrigins: readonly string[];
}

/**
 * The security headers every answer carries, worked out once from helmet: the API serves JSON;
 * the one HTML page (/docs) loads its scripts and styles from this service only (its own plugin
 * narrows the policy further). No upgrade-insecure-requests: the service is often reached over
 * plain HTTP on a private network, where upgrading the docs page's requests would break it.
 * Cross-origin isolation headers add nothing for an API and would block the docs page's
 * "try it out" in some browsers when served behind a proxy on another origin.
 *
 * As a list of fixed pairs, they are also written on the answers Node gives before a request
 * reaches Fastify (400, 408, 431: see the problems plugin), and copying them costs each response
 * no more than helmet's own middleware did. (Building them per request, as the Fastify wrapper
 * does, cost a quarter of the scrub endpoint's throughput.)
 */
export const SECURITY_HEADERS: ReadonlyArray<readonly [string, string]> = (() => {
  const headers: Array<[string, string]> = [];
  const recorder = { setHeader: (name: string, value: unknown) => headers.push([name, String(value)]), removeHeader: () => undefined };
  helmet({
    contentSecurityPolicy: {
      useDefaults: true,
      directives: { upgradeInsecureRequests: null, 'img-src': ["'self'", 'data:'] },
    },
    crossOriginEmbedderPolicy: false,
  })({} as IncomingMessage, recorder as unknown as ServerResponse, () => undefined);
  return headers;
})();

/**
 * Security headers on every response, and CORS only when origins are configured: billing
 * systems call server to server, so a browser page on another origin gets nothing by default.
 */
async function securityPlugin(app: FastifyInstance, opts: SecurityOptions): Promise<void> {
  app.addHook('onRequest', (_request, reply, done) => {
    for (const [name, value] of SECURITY_HEADERS) reply.raw.setHeader(name, value);
    done();
  });
  if (opts.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: opts.corsOrigins.includes('*') ? '*' : [...opts.corsOrigins],
      methods: ['GET', 'POST'],
      allowedHeaders: ['authorization', 'x-api-key', 'content-type', 'x-request-id'],
      exposedHeaders: ['x-request-id', 'retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'],
      maxAge: 600,
    });
  }
}

export default fp(securityPlugin, { name: 'security', fastify: '5.x' });
