import cors from '@fastify/cors';
import helmet from 'helmet';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

export interface SecurityOptions {
  /** Origins allowed to call from a browser; empty: no CORS headers at all. */
  corsOrigins: readonly string[];
}

/**
 * Security headers on every response, and CORS only when origins are configured: billing
 * systems call server to server, so a browser page on another origin gets nothing by default.
 */
async function securityPlugin(app: FastifyInstance, opts: SecurityOptions): Promise<void> {
  // helmet builds its header values once here; every response only copies them. (Building them
  // per request, as the Fastify wrapper does, cost a quarter of the scrub endpoint's throughput.)
  const applySecurityHeaders = helmet({
    // The API serves JSON; the one HTML page (/docs) loads its scripts and styles from this
    // service only. No upgrade-insecure-requests: the service is often reached over plain HTTP
    // on a private network, where upgrading the docs page's requests would break it.
    contentSecurityPolicy: {
      useDefaults: true,
      directives: { upgradeInsecureRequests: null, 'img-src': ["'self'", 'data:'] },
    },
    // Cross-origin isolation headers add nothing for an API and would block the docs page's
    // "try it out" in some browsers when served behind a proxy on another origin.
    crossOriginEmbedderPolicy: false,
  });
  app.addHook('onRequest', (request, reply, done) => {
    applySecurityHeaders(request.raw, reply.raw, (error?: unknown) => done(error as Error | undefined));
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
