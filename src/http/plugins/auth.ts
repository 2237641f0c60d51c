import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { findApiKey, roleAllows, type ApiKey, type Role } from '../api-keys.js';
import { FailedAuthentications } from '../failed-authentications.js';
import { PROBLEMS, ProblemError } from '../problems.js';

/**
 * Who may call what. Each route says what it needs in `config.access`: `public` (liveness,
 * readiness, metrics, docs), `scrub` (the scrub endpoints and reading the packs) or `admin`
 * (reloading packs); a route that says nothing needs `scrub`, so forgetting is safe.
 *
 * Keys arrive as `Authorization: Bearer <key>` or `X-API-Key: <key>` (both redacted from logs).
 * With no keys configured the service runs in development mode: every request is let through,
 * and the start-up log says so loudly.
 */

export type Access = 'public' | Role;

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    /** The caller's key; null for public routes and in development mode. */
    apiKey: ApiKey | null;
  }
}

export interface AuthOptions {
  /** The keys callers may present; undefined means development mode (no authentication). */
  keys?: readonly ApiKey[];
  /** Failed authentications per client address per window before it gets 429; none: no limit. */
  failureLimit?: { max: number; windowMs: number };
  /** Why authentication is off, for the warning. */
  offReason?: string;
}

function presentedKey(request: FastifyRequest): string | undefined {
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match) return match[1];
  }
  const header = request.headers['x-api-key'];
  return typeof header === 'string' && header.trim() !== '' ? header.trim() : undefined;
}

export function accessOf(request: FastifyRequest): Access {
  return request.routeOptions.config?.access ?? 'scrub';
}

async function authPlugin(app: FastifyInstance, opts: AuthOptions): Promise<void> {
  app.decorateRequest('apiKey', null);
  const keys = opts.keys;
  if (!keys) {
    app.log.warn(
      { auth: 'off' },
      `AUTHENTICATION IS OFF (development mode: ${opts.offReason ?? 'no API keys are configured'}). Anyone who can reach this port can scrub claims and reload packs. ` +
        'Configure SCRUB_API_KEYS or SCRUB_API_KEYS_FILE before real claims go through this service.',
    );
    return;
  }
  app.log.info({ auth: 'on', keys: keys.length }, 'API keys required');
  const failures = opts.failureLimit && new FailedAuthentications(opts.failureLimit.max, opts.failureLimit.windowMs);
  app.addHook('onRequest', async (request, reply) => {
    const access = accessOf(request);
    // CORS preflights carry no credentials by design; the CORS plugin answers them.
    if (access === 'public' || request.method === 'OPTIONS') return;
    // Refused before its key is even looked at: a blocked address learns nothing.
    const wait = failures?.blockedFor(request.ip) ?? 0;
    if (wait > 0) {
      void reply.header('retry-after', String(wait));
      throw new ProblemError(
        PROBLEMS['too-many-failed-authentications'],
        `This address sent more than ${opts.failureLimit!.max} requests with a missing or unknown API key within ${Math.round(opts.failureLimit!.windowMs / 1000)} s; retry in ${wait} s.`,
        { retryAfterSeconds: wait },
      );
    }
    const presented = presentedKey(request);
    const key = presented === undefined ? undefined : findApiKey(keys, presented);
    if (!key) {
      failures?.record(request.ip);
      void reply.header('www-authenticate', 'Bearer realm="claim-scrubber"');
      throw new ProblemError(
        PROBLEMS.unauthenticated,
        presented === undefined
          ? 'Send your API key as "Authorization: Bearer <key>" or "X-API-Key: <key>".'
          : 'The API key is not one this service knows.',
      );
    }
    if (!roleAllows(key.role, access)) {
      throw new ProblemError(PROBLEMS.forbidden, `The key "${key.name}" has the role "${key.role}"; this endpoint needs the role "${access}".`);
    }
    request.apiKey = key;
  });
}

export default fp(authPlugin, { name: 'auth', fastify: '5.x', dependencies: ['problems'] });
