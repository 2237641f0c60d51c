import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { PROBLEMS, ProblemError } from '../problems.js';
import { accessOf } from './auth.js';

export interface RateLimitOptions {
  /** Requests per window per caller, as configured (SCRUB_RATE_LIMIT). */
  max: number;
  windowMs: number;
  /**
   * Processes that serve the port and split the budget (cluster workers; default 1). Each counts
   * its own requests against max / processes, since the kernel spreads connections about evenly.
   */
  processes?: number;
}

const LIMIT = 'x-ratelimit-limit';
const REMAINING = 'x-ratelimit-remaining';

/**
 * Requests per API key (by its name, so a key shared by several hosts shares one budget), or
 * per client address in development mode. Public routes (health, metrics, docs) are not
 * counted: probes must never be turned away. The count is per process; what callers are told
 * (the headers and the 429) is the configured limit, and what remains of it across processes.
 */
async function rateLimitPlugin(app: FastifyInstance, opts: RateLimitOptions): Promise<void> {
  const processes = Math.max(1, opts.processes ?? 1);
  const share = Math.max(1, Math.ceil(opts.max / processes));
  await app.register(rateLimit, {
    global: true,
    max: share,
    timeWindow: opts.windowMs,
    // Runs after the auth hook (a route-level onRequest hook), so the key is known.
    hook: 'onRequest',
    keyGenerator: (request) => (request.apiKey ? `key:${request.apiKey.name}` : `ip:${request.ip}`),
    allowList: (request) => accessOf(request) === 'public',
    errorResponseBuilder: (_request, context) =>
      new ProblemError(PROBLEMS['rate-limited'], `At most ${opts.max} requests are allowed per ${Math.round(opts.windowMs / 1000)} s; retry in ${context.after}.`, {
        retryAfterSeconds: Math.max(1, Math.ceil(context.ttl / 1000)),
      }),
  });
  if (processes === 1) return;
  // The plugin wrote this process's share; the caller's budget is the configured one.
  app.addHook('onSend', async (_request, reply) => {
    const remaining = reply.getHeader(REMAINING);
    if (remaining === undefined) return;
    reply.header(LIMIT, opts.max);
    reply.header(REMAINING, Math.min(opts.max, Number(remaining) * processes));
  });
}

export default fp(rateLimitPlugin, { name: 'rate-limit', fastify: '5.x', dependencies: ['problems', 'auth'] });
