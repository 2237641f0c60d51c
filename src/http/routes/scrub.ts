import { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { isIsoDate } from '../../claim/dates.js';
import { unreadableResult } from '../../claim/validate.js';
import { RULE_FAILED, type ScrubOptions, type Scrubber } from '../../engine/scrubber.js';
import type { ScrubResult } from '../../findings/finding.js';
import { completeResult, readClaims, type ReadClaim, type ReadResult } from '../../formats/index.js';
import { isFhirResource } from '../../formats/fhir/read.js';
import { readJsonValue, unreadableProblemOf, type ClaimItem } from '../../formats/json.js';
import { ndjsonItems } from '../../formats/ndjson.js';
import { discardRestOfBody } from '../discard-body.js';
import { loggableError } from '../../util/safe-error.js';
import { describeType, lowerFirst } from '../../util/text.js';
import { PROBLEMS, ProblemError } from '../problems.js';
import { batchSchema, scrubSchema } from '../schemas.js';
import type { QueuedBatch } from './batches.js';

export interface ScrubRouteOptions {
  /** The scrubber for this request: read once per request, so a reload never mixes pack sets. */
  scrubber: () => Scrubber;
  batch: {
    /** Most claims in one NDJSON batch; the stream ends with a `batch-limit` result after them. */
    maxClaims: number;
    /** Most claims in one JSON-array batch. */
    maxJsonClaims: number;
    /** Largest JSON-array batch body, in bytes. */
    jsonBodyLimit: number;
    /** Longest NDJSON line, in bytes. */
    maxLineBytes: number;
  };
  /**
   * ?async=true: the items go on the queue instead of being scrubbed here (routes/batches.ts);
   * read exactly as for a synchronous batch.
   */
  enqueue?: (request: FastifyRequest, items: AsyncIterable<ClaimItem> | ClaimItem[], options: ScrubOptions) => Promise<QueuedBatch>;
}

interface ScrubQuery {
  explain?: string;
  asOf?: string;
  async?: string;
}

/** Claims scrubbed back to back before the event loop gets a turn (other requests, probes). */
const CLAIMS_PER_TURN = 32;

function optionsFrom(query: ScrubQuery): ScrubOptions {
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
  /** Counts a result; a rule that failed at run time is a pack defect operators must hear of (ids only). */
  const observe = (request: FastifyRequest, result: ScrubResult): void => {
    app.scrubMetrics.observeResult(result);
    for (const f of result.findings) {
      if (f.ruleId === RULE_FAILED) request.log.warn({ rule: f.details.rule, pack: f.pack, claimId: result.claimId }, 'a rule failed at run time; the claim got a rule-failed finding');
    }
  };

  app.addContentTypeParser([...CLAIM_FILE_TYPES], { parseAs: 'string' }, (request, body: string | Buffer, done) => {
    // readClaims never throws; what it cannot read comes back as problems.
    done(null, new ReadBody(readClaims(body.toString(), { contentType: request.headers['content-type'] ?? '' })));
  });

  /** One item of a batch: its result, or a structure finding when it cannot be read or scrubbed. */
  const scrubItem = async (request: FastifyRequest, scrubber: Scrubber, item: ClaimItem, options: ScrubOptions): Promise<ScrubResult> => {
    let result: ScrubResult;
    if ('error' in item) {
      result = unreadableResult(item, item.problem ?? 'invalid-json', item.error);
    } else {
      try {
        result = await scrubber.scrub(item.input, options);
        if (item.read) result = completeResult(result, item.read);
      } catch (err) {
        // One claim's failure must not take the batch with it: it gets a result saying so.
        request.log.error({ err: loggableError(err), line: item.line }, 'claim in batch failed');
        result = unreadableResult(item, 'scrub-failed', `could not be scrubbed: the scrubber failed unexpectedly (logged with request id ${request.id})`);
      }
    }
    observe(request, result);
    return result;
  };

  app.post<{ Querystring: ScrubQuery }>('/v1/scrub', { config: { access: 'scrub' }, schema: scrubSchema }, async (request) => {
    const options = optionsFrom(request.query);
    const body = request.body;
    // A FHIR resource sent as plain application/json is read as FHIR too.
    const read = body instanceof ReadBody ? body.read : isFhirResource(body) ? readJsonValue(body) : undefined;
    if (read) {
      const item = onlyClaimOf(read);
      const scrubber = opts.scrubber();
      const started = process.hrtime.bigint();
      const result = completeResult(await scrubber.scrub(item.input, options), item);
      observe(request, result);
      request.logSummary = { format: read.format, claimId: result.claimId, outcome: result.outcome, findings: result.findings.length, scrubMicros: Number((process.hrtime.bigint() - started) / 1000n) };
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
    request.log.trace({ bytes: Number(request.headers['content-length'] ?? 0), explain: options.explain }, 'scrubbing claim');
    const started = process.hrtime.bigint();
    const result = await scrubber.scrub(claim, options);
    observe(request, result);
    // Ids, counts and timings only: claim contents are protected health information.
    request.logSummary = { claimId: result.claimId, outcome: result.outcome, findings: result.findings.length, scrubMicros: Number((process.hrtime.bigint() - started) / 1000n) };
    return result;
  });

  // The batch route has its own context: only here does an NDJSON body arrive as a stream,
  // read line by line, with no body limit (the line and claim limits apply instead).
  await app.register(async (batch) => {
    batch.addContentTypeParser('application/x-ndjson', (_request, payload, done) => done(null, payload));

    batch.post<{ Querystring: ScrubQuery }>(
      '/v1/scrub/batch',
      { config: { access: 'scrub' }, schema: batchSchema, bodyLimit: opts.batch.jsonBodyLimit },
      async (request, reply) => {
        const options = optionsFrom(request.query);
        const body = request.body;
        if (request.query.async !== undefined && request.query.async !== 'true' && request.query.async !== 'false') {
          throw new ProblemError(PROBLEMS['invalid-request'], `async must be true or false, not "${request.query.async}".`);
        }
        if (request.query.async === 'true' && opts.enqueue) {
          const items = body instanceof Readable ? ndjsonItems(body.iterator({ destroyOnReturn: false }), { maxLineBytes: opts.batch.maxLineBytes }) : batchItems(body);
          const queued = await opts.enqueue(request, items, options);
          // Lines past the claim limit are not wanted: drop them before answering (see ndjsonResults).
          if (body instanceof Readable && !body.readableEnded) await discardRestOfBody(request.raw);
          return reply.code(202).header('location', queued.location).send(queued);
        }
        const scrubber = opts.scrubber();
        if (body instanceof Readable) {
          const stream = Readable.from(ndjsonResults(request, body, scrubber, options), { objectMode: true, highWaterMark: 8 });
          return reply.type('application/x-ndjson; charset=utf-8').send(stream);
        }
        const items = batchItems(body);
        if (items.length > opts.batch.maxJsonClaims) {
          throw new ProblemError(
            PROBLEMS['batch-too-large'],
            `A batch sent whole may hold at most ${opts.batch.maxJsonClaims} claims; this one has ${items.length}. Send fewer, or stream them as NDJSON (Content-Type: application/x-ndjson).`,
            { maxClaims: opts.batch.maxJsonClaims },
          );
        }
        const results: ScrubResult[] = [];
        for (let i = 0; i < items.length; i++) {
          if (i > 0 && i % CLAIMS_PER_TURN === 0) await nextTurn();
          results.push(await scrubItem(request, scrubber, items[i]!, options));
        }
        logBatch(request, { claims: results.length, failed: results.filter((r) => r.outcome === 'fail').length });
        return results;
      },
    );
  });

  /** NDJSON results, one line per claim line, pulled by the response as the client reads. */
  async function* ndjsonResults(request: FastifyRequest, body: Readable, scrubber: Scrubber, options: ScrubOptions): AsyncGenerator<string> {
    let claims = 0;
    let failed = 0;
    let lastLine = 0;
    let cut = false;
    try {
      // destroyOnReturn false: stopping early (the claim limit) must not reset the connection.
      for await (const item of ndjsonItems(body.iterator({ destroyOnReturn: false }), { maxLineBytes: opts.batch.maxLineBytes })) {
        lastLine = item.line ?? lastLine;
        if (claims === opts.batch.maxClaims) {
          yield JSON.stringify(
            unreadableResult(item, 'batch-limit', `not scrubbed, nor any line after it: a batch may hold at most ${opts.batch.maxClaims} claims. Send the rest in another batch`),
          ) + '\n';
          cut = true;
          break;
        }
        if (claims > 0 && claims % CLAIMS_PER_TURN === 0) await nextTurn();
        claims++;
        const result = await scrubItem(request, scrubber, item, options);
        if (result.outcome === 'fail') failed++;
        request.log.debug({ line: item.line, claimId: result.claimId, outcome: result.outcome, findings: result.findings.length }, 'batch line scrubbed');
        yield JSON.stringify(result) + '\n';
      }
      // The rest of the body is not wanted. Drop it (for a few seconds at most) before the
      // answer ends: ending while the client still sends could reset the connection under the
      // answer's last lines.
      if (cut) await discardRestOfBody(request.raw);
    } finally {
      logBatch(request, { claims, failed, lines: lastLine, ...(cut ? { cutAtLimit: opts.batch.maxClaims } : {}) });
    }
  }
}

/**
 * The claims of a batch sent whole: a JSON array of claims, or every claim of an X12 or FHIR
 * file. What a file holds that is not a readable claim comes first, each as an item with its
 * reason (so its result has a structure finding); a file with no claim at all is refused.
 */
function batchItems(body: unknown): ClaimItem[] {
  const read =
    body instanceof ReadBody ? body.read : isFhirResource(body) || (Array.isArray(body) && body.length > 0 && body.every(isFhirResource)) ? readJsonValue(body) : undefined;
  if (!read) {
    if (!Array.isArray(body)) {
      throw new ProblemError(
        PROBLEMS['batch-not-array'],
        `A JSON batch is an array of claims, not ${describeType(body)}. For one claim use POST /v1/scrub; for a stream send NDJSON (Content-Type: application/x-ndjson).`,
      );
    }
    return body.map((input, i) => ({ label: `claim ${i + 1}`, input }));
  }
  const name = FORMAT_NAMES[read.format] ?? '';
  if (!read.items.some((i) => i.kind === 'claim')) {
    const errors = [...read.problems.map((p) => p.message), ...read.items.flatMap((i) => (i.kind === 'error' ? [i.error.message] : []))];
    throw new ProblemError(PROBLEMS['unreadable-claims'], `The ${name ? `${name} ` : ''}body holds no claim that can be read: ${errors[0] ?? 'it is empty.'}`, {
      problems: [...read.problems, ...read.items.filter((i) => i.kind === 'error')],
    });
  }
  return [
    ...read.problems
      .filter((p) => p.severity === 'error')
      .map((p): ClaimItem => ({ label: `part of the ${name} file`, error: lowerFirst(p.message), problem: unreadableProblemOf(p.code) })),
    ...read.items.map((item): ClaimItem =>
      item.kind === 'error' ? { label: item.label, error: lowerFirst(item.error.message), problem: unreadableProblemOf(item.error.code) } : { label: item.label, input: item.input, read: item },
    ),
  ];
}

/** Counts only: the claims themselves never reach the log. */
function logBatch(request: FastifyRequest, counts: Record<string, number>): void {
  request.log.info(counts, 'batch scrubbed');
}

export default fp(scrubRoutes, { name: 'scrub-routes', fastify: '5.x', dependencies: ['problems', 'metrics'] });
