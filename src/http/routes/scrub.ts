import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { isIsoDate } from '../../claim/dates.js';
import type { Scrubber } from '../../engine/scrubber.js';
import { describeType } from '../../util/text.js';
import { PROBLEMS, ProblemError } from '../problems.js';

export interface ScrubRouteOptions {
  /** The scrubber for this request: read once per request, so a reload never mixes pack sets. */
  scrubber: () => Scrubber;
}

interface ScrubQuery {
  explain?: string;
  asOf?: string;
}

function optionsFrom(query: ScrubQuery): { explain: boolean; asOf?: string } {
  if (query.explain !== undefined && query.explain !== 'true' && query.explain !== 'false') {
    throw new ProblemError(PROBLEMS['invalid-request'], `explain must be true or false, not "${query.explain}".`);
  }
  if (query.asOf !== undefined && !isIsoDate(query.asOf)) {
    throw new ProblemError(PROBLEMS['invalid-request'], `asOf must be a date written YYYY-MM-DD, not "${query.asOf}".`);
  }
  return { explain: query.explain === 'true', ...(query.asOf ? { asOf: query.asOf } : {}) };
}

async function scrubRoutes(app: FastifyInstance, opts: ScrubRouteOptions): Promise<void> {
  app.post<{ Querystring: ScrubQuery }>('/v1/scrub', async (request) => {
    const options = optionsFrom(request.query);
    const claim = request.body;
    if (claim === null || typeof claim !== 'object' || Array.isArray(claim)) {
      throw new ProblemError(
        PROBLEMS['claim-not-object'],
        `The body must be one claim (a JSON object), not ${describeType(claim)}.${Array.isArray(claim) ? ' To scrub several claims, send them to POST /v1/scrub/batch.' : ''}`,
      );
    }
    const scrubber = opts.scrubber();
    const started = process.hrtime.bigint();
    const result = await scrubber.scrub(claim, options);
    // Ids, counts and timings only: claim contents are protected health information.
    request.log.info(
      { claimId: result.claimId, outcome: result.outcome, findings: result.findings.length, micros: Number((process.hrtime.bigint() - started) / 1000n) },
      'claim scrubbed',
    );
    return result;
  });
}

export default fp(scrubRoutes, { name: 'scrub-routes', fastify: '5.x', dependencies: ['problems'] });
