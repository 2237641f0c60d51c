/**
 * The HTTP baselines: a bare Fastify route at POST /v1/scrub with the same logger settings as
 * `scrub serve`.
 *
 *   node bench/.build/bench/bare-server.js --responses RESPONSES.json
 *     returns the very bytes the scrubber would (precomputed by the benchmark, looked up by
 *     claimId): the framework alone, the ceiling for any scrubber behind it.
 *   node bench/.build/bench/bare-server.js --hand-written
 *     runs the hand-written baseline checks (bench/baseline.ts) on each claim: what the same
 *     checks cost behind the same framework without a rule engine.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import Fastify from 'fastify';
import { Baseline } from './baseline.js';
import { AS_OF, benchPacks } from './setup.js';

const { values } = parseArgs({ options: { responses: { type: 'string' }, 'hand-written': { type: 'boolean', default: false } } });

let answer: (claim: unknown) => string;
if (values.responses) {
  const responses = new Map<string, string>(JSON.parse(await readFile(values.responses, 'utf8')) as Array<[string, string]>);
  answer = (claim) => {
    const id = (claim as { claimId?: unknown } | null)?.claimId;
    return responses.get(typeof id === 'string' ? id : '') ?? '{}';
  };
} else if (values['hand-written']) {
  // The tables come from the same environment variables as `scrub serve`.
  const { packs, env } = await benchPacks({ env: {}, fullSize: false, description: '' });
  const baseline = await Baseline.load(packs, env);
  answer = (claim) => JSON.stringify(baseline.scrub(claim, AS_OF));
} else {
  throw new Error('usage: bare-server --responses FILE | --hand-written');
}

const app = Fastify({ logger: { level: process.env.LOG_LEVEL ?? 'info' } });
app.post('/v1/scrub', async (request, reply) => reply.type('application/json; charset=utf-8').send(answer(request.body)));
const address = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`bare route listening on ${address}\n`);
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
