import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { PROBLEMS, ProblemError } from '../problems.js';
import { accessOf } from './auth.js';

export interface RateLimitOptions {
  /** Requests per window per caller. */
  max: number;
  windowMs: number;
}

/**
 * Requests per API key (by its name, so a key shared by several hosts shares one budget), or
 * per client address in development mode. Public routes (health, metrics, docs) are not
 * counted: probes must never be turned away. The count is per process: with --workers N, each
 * worker is given max / N (the kernel spreads connections about evenly).
 */
async function rateLimitPlugin(app: FastifyInstance, opts: RateLimitOptions): Promise<void> {
  await app.register(rateLimit, {
    global: true,
    max: opts.max,
    timeWindow: opts.windowMs,
    // Runs after the auth hook (a route-level onRequest hook), so the key is known.
    hook: 'onRequest',
    keyGenerator: (request) => (request.apiKey ? `key:${request.apiKey.name}` : `ip:${request.ip}`),
    allowList: (request) => accessOf(request) === 'public',
    errorResponseBuilder: (_request, context) =>
      new ProblemError(PROBLEMS['rate-limited'], `At most ${context.max} requests are allowed per ${Math.round(opts.windowMs / 1000)} s; retry in ${context.after}.`, {
        retryAfterSeconds: Math.max(1, Math.ceil(context.ttl / 1000)),
      }),
  });
}

export default fp(rateLimitPlugin, { name: 'rate-limit', fastify: '5.x', dependencies: ['problems', 'auth'] });
