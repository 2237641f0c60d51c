import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { isIsoDate } from '../../claim/dates.js';
import type { Scrubber } from '../../engine/scrubber.js';
import { completeResult, readClaims, type ReadClaim, type ReadResult } from '../../formats/index.js';
import { isFhirResource } from '../../formats/fhir/read.js';
import { readJsonValue } from '../../formats/json.js';
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

/** Content types read by the format readers rather than as a canonical JSON claim. */
export const CLAIM_FILE_TYPES = ['application/edi-x12', 'application/x12', 'application/fhir+json'] as const;

/** A body read by `readClaims`: the route tells it from a parsed JSON claim by its class. */
export class ReadBody {
  constructor(readonly read: ReadResult) {}
}

const FORMAT_NAMES: Record<string, string> = { x12: 'X12', fhir: 'FHIR', json: 'JSON', ndjson: 'NDJSON', unknown: '' };

/**
 * The one claim of an X12 or FHIR body. Anything unreadable in the body is refused (the result
 * of a single claim cannot carry it), and so is a body with several claims: POST /v1/scrub is
 * one claim in, one ScrubResult out.
 */
function onlyClaimOf(read: ReadResult): ReadClaim {
  const claims = read.items.filter((i): i is ReadClaim => i.kind === 'claim');
  const errors = [
    ...read.problems.filter((p) => p.severity === 'error').map((p) => ({ code: p.code, message: p.message, ...(p.position ? { position: p.position } : {}) })),
    ...read.items.flatMap((i) => (i.kind === 'error' ? [{ code: i.error.code, message: i.error.message, label: i.label }] : [])),
  ];
  const name = FORMAT_NAMES[read.format] ?? '';
  if (errors.length > 0 || claims.length === 0) {
    const first = errors[0]?.message ?? 'it holds no claim.';
    throw new ProblemError(
      PROBLEMS['unreadable-claims'],
      `The ${name ? `${name} ` : ''}body cannot be read: ${first}${errors.length > 1 ? ` (and ${errors.length - 1} more problem${errors.length > 2 ? 's' : ''})` : ''}`,
      { problems: errors },
    );
  }
  if (claims.length > 1) {
    throw new ProblemError(
      PROBLEMS['multiple-claims'],
      `The ${name} body holds ${claims.length} claims, and POST /v1/scrub scrubs one. Send the file to POST /v1/scrub/batch, or one claim per request.`,
      { claims: claims.map((c) => c.label) },
    );
  }
  return claims[0]!;
}

async function scrubRoutes(app: FastifyInstance, opts: ScrubRouteOptions): Promise<void> {
  app.addContentTypeParser([...CLAIM_FILE_TYPES], { parseAs: 'string' }, (request, body: string | Buffer, done) => {
    // readClaims never throws; what it cannot read comes back as problems.
    done(null, new ReadBody(readClaims(body.toString(), { contentType: request.headers['content-type'] ?? '' })));
  });

  app.post<{ Querystring: ScrubQuery }>('/v1/scrub', async (request) => {
    const options = optionsFrom(request.query);
    const body = request.body;
    // A FHIR resource sent as plain application/json is read as FHIR too.
    const read = body instanceof ReadBody ? body.read : isFhirResource(body) ? readJsonValue(body) : undefined;
    if (read) {
      const item = onlyClaimOf(read);
      const scrubber = opts.scrubber();
      const started = process.hrtime.bigint();
      const result = completeResult(await scrubber.scrub(item.input, options), item);
      request.log.info(
        { format: read.format, claimId: result.claimId, outcome: result.outcome, findings: result.findings.length, micros: Number((process.hrtime.bigint() - started) / 1000n) },
        'claim scrubbed',
      );
      return result;
    }
    const claim = body;
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
