import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Scrubber } from '../engine/scrubber.js';
import { parseSafeJson, type SafeJsonProblem } from '../util/safe-json.js';
import problems from './plugins/problems.js';
import { PROBLEMS, ProblemError } from './problems.js';
import health from './routes/health.js';
import packs from './routes/packs.js';
import scrub from './routes/scrub.js';

export interface AppOptions {
  /** Returns the scrubber of the current pack set; read once per request. */
  scrubber: () => Scrubber;
  logger?: FastifyServerOptions['logger'];
  /** Largest accepted request body, in bytes. */
  bodyLimit?: number;
}

const JSON_PROBLEMS: Record<SafeJsonProblem, keyof typeof PROBLEMS> = {
  'invalid-json': 'invalid-json',
  'empty-body': 'empty-body',
  'too-deep': 'too-deep',
  'forbidden-key': 'forbidden-key',
};

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/** Log settings that keep protected health information out of the logs. */
export const LOG_REDACTION = {
  paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie', 'body', 'req.body', 'claim'],
  censor: '[redacted]',
};

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // Claims must arrive exactly as sent: no type coercion, no silently dropped fields.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: true } },
    requestIdHeader: 'x-request-id',
    genReqId: () => crypto.randomUUID(),
  });
  // Only JSON is accepted for now; anything else gets 415 rather than a string body.
  app.removeContentTypeParser(['text/plain', 'application/json']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body: string | Buffer, done) => {
    const parsed = parseSafeJson(body.toString());
    if (parsed.ok) done(null, parsed.value);
    else done(new ProblemError(PROBLEMS[JSON_PROBLEMS[parsed.problem]], `The body cannot be used: ${parsed.message}.`));
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  await app.register(problems);
  await app.register(health);
  await app.register(packs, { scrubber: options.scrubber });
  await app.register(scrub, { scrubber: options.scrubber });
  return app;
}
