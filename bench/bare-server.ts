/**
 * The HTTP baseline: a bare Fastify route at POST /v1/scrub that parses the claim and returns the
 * very bytes the scrubber would (precomputed by the benchmark, looked up by claimId), with the
 * same logger settings as `scrub serve`. What it lacks is the scrubbing, the safe-JSON scan, the
 * problem+json plugin and the request-id hook: the cost of the product over the framework.
 *
 *   node bench/.build/bench/bare-server.js RESPONSES.json
 */
import { readFile } from 'node:fs/promises';
import Fastify from 'fastify';

const file = process.argv[2];
if (!file) throw new Error('usage: bare-server RESPONSES.json');
const responses = new Map<string, string>(JSON.parse(await readFile(file, 'utf8')) as Array<[string, string]>);

const app = Fastify({ logger: { level: process.env.LOG_LEVEL ?? 'info' } });
app.post('/v1/scrub', async (request, reply) => {
  const id = (request.body as { claimId?: unknown } | null)?.claimId;
  const body = responses.get(typeof id === 'string' ? id : '');
  return reply.type('application/json; charset=utf-8').send(body ?? '{}');
});
const address = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`bare route listening on ${address}\n`);
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
