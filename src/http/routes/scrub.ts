import { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { errorCodes, type FastifyInstance, type FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { isIsoDate } from '../../claim/dates.js';
import { unreadableResult } from '../../claim/validate.js';
import { RULE_FAILED, type Scrubber } from '../../engine/scrubber.js';
import type { ClaimHistory, HistoryScrubOptions } from '../../history/claim-history.js';
import { HistoryUnavailableError } from '../../history/store.js';
import type { ScrubResult } from '../../findings/finding.js';
import { problemFinding, withInputPlace } from '../../formats/decorate.js';
import { completeResult, openArrivingClaims, openClaims, readClaims, type ArrivingClaims, type ClaimStream, type ReadClaim, type ReadItem, type ReadProblem, type ReadRecord, type ReadResult } from '../../formats/index.js';
import { isFhirResource } from '../../formats/fhir/read.js';
import { claimItemOf, readJsonValue, type ClaimItem } from '../../formats/json.js';
import { ndjsonItems } from '../../formats/ndjson.js';
import { streamOf } from '../../formats/read.js';
import { ArrivingBody, bodyTooLargeProblem, isBodyTooLarge } from '../arriving-body.js';
import { discardRestOfBody } from '../discard-body.js';
import { loggableError } from '../../util/safe-error.js';
import { describeType, lowerFirst } from '../../util/text.js';
import { PROBLEMS, ProblemError } from '../problems.js';
import { batchSchema, scrubSchema } from '../schemas.js';
import type { SubmitItem } from '../../queue/producer.js';
import type { QueuedBatch } from './batches.js';

export interface ScrubRouteOptions {
  /** The scrubber for this request: read once per request, so a reload never mixes pack sets. */
  scrubber: () => Scrubber;
  /** The claim history, when one is configured: its edits need it, and record=true writes to it. */
  history?: ClaimHistory;
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
  enqueue?: (request: FastifyRequest, items: AsyncIterable<SubmitItem> | Iterable<SubmitItem>, options: HistoryScrubOptions, limitAs: 'result' | 'problem') => Promise<QueuedBatch>;
}

interface ScrubQuery {
  explain?: string;
  asOf?: string;
  async?: string;
  record?: string;
  history?: string;
}

/** Claims scrubbed back to back before the event loop gets a turn (other requests, probes). */
const CLAIMS_PER_TURN = 32;

/**
 * The scrub options a request asks for. `queued`: the scrub workers scrub it, with their own
 * claim history (a shared PostgreSQL), so whether this service has one does not matter.
 */
function optionsFrom(query: ScrubQuery, history: ClaimHistory | undefined, queued = false): HistoryScrubOptions {
  if (query.explain !== undefined && query.explain !== 'true' && query.explain !== 'false') {
    throw new ProblemError(PROBLEMS['invalid-request'], `explain must be true or false, not "${query.explain}".`);
  }
  if (query.asOf !== undefined && !isIsoDate(query.asOf)) {
    throw new ProblemError(PROBLEMS['invalid-request'], `asOf must be a date written YYYY-MM-DD, not "${query.asOf}".`);
  }
  if (query.record !== undefined && query.record !== 'true' && query.record !== 'false') {
    throw new ProblemError(PROBLEMS['invalid-request'], `record must be true or false, not "${query.record}".`);
  }
  if (query.history !== undefined && query.history !== 'on' && query.history !== 'off') {
    throw new ProblemError(PROBLEMS['invalid-request'], `history must be on or off, not "${query.history}".`);
  }
  const record = query.record === 'true';
  if (record && !history && !queued) {
    throw new ProblemError(PROBLEMS['invalid-request'], 'record=true needs a claim history, and none is configured: set SCRUB_DATA_DIR (SQLite) or SCRUB_HISTORY_URL (PostgreSQL), with SCRUB_HISTORY_SECRET.');
  }
  if (record && query.history === 'off') throw new ProblemError(PROBLEMS['invalid-request'], 'record=true and history=off contradict each other: a recorded claim is checked against the history it joins.');
  return { explain: query.explain === 'true', ...(query.asOf ? { asOf: query.asOf } : {}), record, mode: query.history === 'off' ? 'off' : 'on' };
}

/** A store failure as the client sees it: 503, and how to scrub without history meanwhile. */
function historyProblem(err: HistoryUnavailableError): ProblemError {
  return new ProblemError(
    PROBLEMS['history-unavailable'],
    `The claim history cannot be used (${err.message}). Nothing was recorded. Send the request again later, or with history=off to scrub without the history edits.`,
  );
}

/**
 * Content types read by the format readers rather than as a canonical JSON claim. A body sent
 * as text/plain or application/octet-stream is read by its content, like a file given to
 * `scrub check`: X12, JSON, NDJSON or FHIR.
 */
export const CLAIM_FILE_TYPES = ['application/edi-x12', 'application/x12', 'application/fhir+json', 'text/plain', 'application/octet-stream'] as const;

/** What each route reads, for the 415 answer: every type it accepts, and what each is for. */
const SCRUB_ACCEPTS =
  'application/json (one claim), application/fhir+json (a FHIR Claim, or a Bundle with one Claim), application/edi-x12 or application/x12 (an X12 837 with one claim), or text/plain or application/octet-stream (any of these, told from the content)';
const BATCH_ACCEPTS =
  'application/x-ndjson (one claim per line, streamed), application/json (an array of claims, or FHIR resources), application/fhir+json (a FHIR Bundle of Claims), application/edi-x12 or application/x12 (an X12 837 file), or text/plain or application/octet-stream (any of these, told from the content)';

/** A claim file sent as the body: read by the route, from its bytes, by its content. */
export class ClaimFile {
  constructor(
    readonly bytes: Buffer,
    readonly contentType: string,
  ) {}

  open(): ClaimStream {
    return openClaims(this.bytes, { contentType: this.contentType });
  }
}

const FORMAT_NAMES: Record<string, string> = { x12: 'X12', fhir: 'FHIR', json: 'JSON', ndjson: 'NDJSON', unknown: '' };

/** The parts of a claim file that hold no readable claim, for a refusal's `problems`. */
function unreadableParts(read: ReadResult): Array<Record<string, unknown>> {
  return [
    ...read.problems
      .filter((p) => p.severity === 'error' && !(p.claims !== undefined && p.claims > 0))
      .map((p) => ({ code: p.code, message: p.message, ...(p.position ? { position: p.position } : {}) })),
    ...read.items.flatMap((i) => (i.kind === 'error' ? [{ code: i.error.code, message: i.error.message, label: i.label }] : [])),
  ];
}

/**
 * The one claim of an X12 or FHIR body. A part of the body that holds no readable claim is
 * refused (the result of a single claim cannot carry it), and so is a body with several claims:
 * POST /v1/scrub is one claim in, one ScrubResult out. Problems of the envelopes and levels
 * around the claim (an SE01 that miscounts) are the claim's own findings here: with one claim,
 * reporting them on it reports them once.
 */
function onlyClaimOf(read: ReadResult): ReadClaim {
  const claims = read.items.filter((i): i is ReadClaim => i.kind === 'claim');
  const errors = unreadableParts(read);
  const name = FORMAT_NAMES[read.format] ?? '';
  if (errors.length > 0 || claims.length === 0) {
    const first = (errors[0]?.message as string | undefined) ?? 'it holds no claim.';
    throw new ProblemError(
      PROBLEMS['unreadable-claims'],
      `The ${name ? `${name} ` : ''}body cannot be read: ${first}${errors.length > 1 ? ` (and ${errors.length - 1} more problem${errors.length > 2 ? 's' : ''})` : ''}`,
      { problems: errors.length > 0 ? errors : read.problems },
    );
  }
  if (claims.length > 1) {
    throw new ProblemError(
      PROBLEMS['multiple-claims'],
      `The ${name} body holds ${claims.length} claims, and POST /v1/scrub scrubs one. Send the file to POST /v1/scrub/batch, or one claim per request.`,
      { claims: claims.map((c) => c.label) },
    );
  }
  const claim = claims[0]!;
  const around = read.problems.filter((p) => p.claims !== undefined && p.claims > 0);
  return around.length === 0 ? claim : { ...claim, findings: [...claim.findings, ...around.map((p) => problemFinding(p, read.format))] };
}

/** Whether the caller asked for NDJSON back (a file body is otherwise answered with a JSON array). */
function wantsNdjson(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? '';
  return /application\/(x-)?ndjson/i.test(accept);
}

async function scrubRoutes(app: FastifyInstance, opts: ScrubRouteOptions): Promise<void> {
  /** Counts a result; a rule that failed at run time is a pack defect operators must hear of (ids only). */
  const observe = (request: FastifyRequest, result: ScrubResult): void => {
    app.scrubMetrics.observeResult(result);
    for (const f of result.findings) {
      if (f.ruleId === RULE_FAILED) request.log.warn({ rule: f.details.rule, pack: f.pack, claimId: result.claimId }, 'a rule failed at run time; the claim got a rule-failed finding');
    }
  };

  app.addContentTypeParser([...CLAIM_FILE_TYPES], { parseAs: 'buffer' }, (request, body: string | Buffer, done) => {
    // Read by the route, by content: readers never throw, and what they cannot read comes back as problems.
    done(null, new ClaimFile(typeof body === 'string' ? Buffer.from(body) : body, request.headers['content-type'] ?? ''));
  });

  /** One claim, with the history when one is configured; a store that fails is a 503, never a silent skip. */
  const scrubClaim = async (scrubber: Scrubber, input: unknown, options: HistoryScrubOptions): Promise<ScrubResult> => {
    if (!opts.history) return scrubber.scrub(input, options);
    try {
      return await opts.history.scrub(scrubber, input, options);
    } catch (err) {
      throw err instanceof HistoryUnavailableError ? historyProblem(err) : err;
    }
  };

  /** A what-if batch reads its claims' history a chunk at a time, ahead of them (ClaimHistory.batch). */
  const batchReading = (options: HistoryScrubOptions) => (opts.history ? opts.history.batch(options) : { options, ahead: <T>(items: AsyncIterable<T> | Iterable<T>) => items });

  /** One item of a batch: its result, or a structure finding when it cannot be read or scrubbed. */
  const scrubItem = async (request: FastifyRequest, scrubber: Scrubber, item: ClaimItem, options: HistoryScrubOptions): Promise<ScrubResult> => {
    let result: ScrubResult;
    if ('error' in item) {
      result = unreadableResult(item, item.problem ?? 'invalid-json', item.error);
    } else {
      try {
        result = await scrubClaim(scrubber, item.input, options);
        if (item.read) result = completeResult(result, item.read);
      } catch (err) {
        // The history store failing fails the request (the claims after it would fail too).
        if (err instanceof ProblemError) throw err;
        // One claim's failure must not take the batch with it: it gets a result saying so.
        request.log.error({ err: loggableError(err), line: item.line }, 'claim in batch failed');
        result = unreadableResult(item, 'scrub-failed', `could not be scrubbed: the scrubber failed unexpectedly (logged with request id ${request.id})`);
      }
    }
    result = withInputPlace(result, item);
    observe(request, result);
    return result;
  };

  app.post<{ Querystring: ScrubQuery }>('/v1/scrub', { config: { access: 'scrub', accepts: SCRUB_ACCEPTS }, schema: scrubSchema }, async (request) => {
    const options = optionsFrom(request.query, opts.history);
    const body = request.body;
    // A FHIR resource sent as plain application/json is read as FHIR too.
    const read = body instanceof ClaimFile ? readClaims(body.bytes, { contentType: body.contentType }) : isFhirResource(body) ? recordsRead(readJsonValue(body)) : undefined;
    if (read) {
      const item = onlyClaimOf(read);
      const scrubber = opts.scrubber();
      const started = process.hrtime.bigint();
      const result = completeResult(await scrubClaim(scrubber, item.input, options), item);
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
    const result = await scrubClaim(scrubber, claim, options);
    observe(request, result);
    // Ids, counts and timings only: claim contents are protected health information.
    request.logSummary = { claimId: result.claimId, outcome: result.outcome, findings: result.findings.length, scrubMicros: Number((process.hrtime.bigint() - started) / 1000n) };
    return result;
  });

  // The batch route has its own context: only here does an NDJSON body arrive as a stream,
  // read line by line, with no body limit (the line and claim limits apply instead), and a claim
  // file (X12 above all) as an ArrivingBody, read as it comes within the body limit.
  await app.register(async (batch) => {
    batch.addContentTypeParser(['application/x-ndjson', 'application/ndjson'], (_request, payload, done) => done(null, payload));
    batch.removeContentTypeParser([...CLAIM_FILE_TYPES]);
    batch.addContentTypeParser([...CLAIM_FILE_TYPES], (request, payload, done) => {
      const declared = Number(request.headers['content-length']);
      // Refused before a byte is read, as a body read whole is.
      if (declared > opts.batch.jsonBodyLimit) done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE(), undefined);
      else done(null, new ArrivingBody(payload, request.headers['content-type'] ?? '', opts.batch.jsonBodyLimit, declared));
    });

    batch.post<{ Querystring: ScrubQuery }>(
      '/v1/scrub/batch',
      {
        config: { access: 'scrub', accepts: BATCH_ACCEPTS, tooLarge: 'a batch sent whole (JSON, X12 or FHIR) may be at most SCRUB_BATCH_BODY_LIMIT bytes; split it, or stream claims as NDJSON' },
        schema: batchSchema,
        bodyLimit: opts.batch.jsonBodyLimit,
      },
      async (request, reply) => {
        const { async: queuedText } = request.query;
        if (queuedText !== undefined && queuedText !== 'true' && queuedText !== 'false') {
          throw new ProblemError(PROBLEMS['invalid-request'], `async must be true or false, not "${queuedText}".`);
        }
        const queued = queuedText === 'true';
        const options = optionsFrom(request.query, opts.history, queued);
        const sent = request.body;
        if (sent instanceof ArrivingBody && !queued) {
          const scrubber = opts.scrubber();
          const file = await arrivingFile(sent);
          const ndjson = wantsNdjson(request);
          const stream = Readable.from(fileResults(request, file, scrubber, options, ndjson), { objectMode: true, highWaterMark: 8 });
          return reply.type(ndjson ? 'application/x-ndjson; charset=utf-8' : 'application/json; charset=utf-8').send(stream);
        }
        // The queue takes a claim file whole (it keeps every item until the workers have them).
        const body = sent instanceof ArrivingBody ? new ClaimFile(await sent.whole(), sent.contentType) : sent;
        if (queued) {
          if (!opts.enqueue) throw new ProblemError(PROBLEMS['async-unavailable'], 'This service has no queue, so it cannot take asynchronous batches: send the batch without async=true.');
          const file = body instanceof Readable ? undefined : fileOf(body);
          const items: AsyncIterable<SubmitItem> | Iterable<SubmitItem> =
            body instanceof Readable
              ? ndjsonItems(body.iterator({ destroyOnReturn: false }), { maxLineBytes: opts.batch.maxLineBytes })
              : file
                ? fileItems(readableFile(file))
                : arrayItems(body, opts.batch.maxJsonClaims);
          const queuedBatch = await opts.enqueue(request, items, options, file ? 'problem' : 'result');
          // Lines past the claim limit are not wanted: drop them before answering (see ndjsonResults).
          if (body instanceof Readable && !body.readableEnded) await discardRestOfBody(request.raw);
          return reply.code(202).header('location', queuedBatch.location).send(queuedBatch);
        }
        const scrubber = opts.scrubber();
        if (body instanceof Readable) {
          // A stream's status goes out with its first result: find out now whether history answers.
          if (opts.history && options.mode !== 'off') {
            await opts.history.store.ping().catch((err: unknown) => {
              throw err instanceof HistoryUnavailableError ? historyProblem(err) : err;
            });
          }
          const stream = Readable.from(ndjsonResults(request, body, scrubber, options), { objectMode: true, highWaterMark: 8 });
          return reply.type('application/x-ndjson; charset=utf-8').send(stream);
        }
        const file = fileOf(body);
        if (file) {
          const ndjson = wantsNdjson(request);
          const readable = readableFile(file);
          const stream = Readable.from(fileResults(request, { format: readable.format, records: readable.records() }, scrubber, options, ndjson), { objectMode: true, highWaterMark: 8 });
          return reply.type(ndjson ? 'application/x-ndjson; charset=utf-8' : 'application/json; charset=utf-8').send(stream);
        }
        const claims = checkedArray(body, opts.batch.maxJsonClaims);
        const results: ScrubResult[] = [];
        const reading = batchReading(options);
        let i = 0;
        for await (const input of reading.ahead(claims, (claim) => claim)) {
          if (i > 0 && i % CLAIMS_PER_TURN === 0) await nextTurn();
          results.push(await scrubItem(request, scrubber, { label: `claim ${++i}`, input }, reading.options));
        }
        const counts = { claims: results.length, failed: results.filter((r) => r.outcome === 'fail').length };
        request.logSummary = counts;
        logBatch(request, counts);
        return results;
      },
    );
  });

  /** NDJSON results, one line per claim line, pulled by the response as the client reads. */
  async function* ndjsonResults(request: FastifyRequest, body: Readable, scrubber: Scrubber, options: HistoryScrubOptions): AsyncGenerator<string> {
    let claims = 0;
    let failed = 0;
    let lastLine = 0;
    let cut = false;
    const progress = batchProgress(request, { claims: 0, failed: 0, lines: 0 });
    const reading = batchReading(options);
    try {
      // destroyOnReturn false: stopping early (the claim limit) must not reset the connection.
      const items = ndjsonItems(body.iterator({ destroyOnReturn: false }), { maxLineBytes: opts.batch.maxLineBytes });
      for await (const item of reading.ahead(items, inputOfItem)) {
        lastLine = item.line ?? lastLine;
        if (claims === opts.batch.maxClaims) {
          const refused = unreadableResult(item, 'batch-limit', `not scrubbed, nor any line after it: a batch may hold at most ${opts.batch.maxClaims} claims. Send the rest in another batch`);
          yield JSON.stringify(withInputPlace(refused, item)) + '\n';
          cut = true;
          break;
        }
        if (claims > 0 && claims % CLAIMS_PER_TURN === 0) await nextTurn();
        claims++;
        let result: ScrubResult;
        try {
          result = await scrubItem(request, scrubber, item, reading.options);
        } catch (err) {
          if (!(err instanceof ProblemError)) throw err;
          // The answer has started: say on this claim's line why it and the rest were not scrubbed, and stop.
          request.log.error({ line: item.line, code: err.problem.code }, 'batch stopped: the claim history failed');
          yield JSON.stringify(withInputPlace(unreadableResult(item, 'history-unavailable', `not scrubbed, nor any line after it: ${lowerFirst(err.detail)}`), item)) + '\n';
          cut = true;
          break;
        }
        if (result.outcome === 'fail') failed++;
        Object.assign(progress, { claims, failed, lines: lastLine });
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

  /**
   * The records of a claim file (X12, FHIR, a JSON array sent as a file), in file order: a
   * result per claim, scrubbed as it is reached, and each file-level problem in its place as
   * `{"problem": {...}}`. NDJSON, or one JSON array written as it goes (the same bytes as
   * JSON.stringify of the whole array).
   */
  async function* fileResults(request: FastifyRequest, file: ArrivingClaims, scrubber: Scrubber, options: HistoryScrubOptions, ndjson: boolean): AsyncGenerator<string> {
    let claims = 0;
    let failed = 0;
    let problems = 0;
    let written = 0;
    let cut = false;
    let cutAtBytes = false;
    const progress = batchProgress(request, { format: file.format, claims: 0, failed: 0, problems: 0 });
    const out = (json: string) => (ndjson ? json + '\n' : (written++ === 0 ? '[' : ',') + json);
    const reading = batchReading(options);
    try {
      try {
        for await (const record of reading.ahead(file.records, (r) => (r.kind === 'claim' ? r.input : undefined))) {
          if (record.kind === 'problem') {
            problems++;
            yield out(JSON.stringify({ problem: record.problem }));
            continue;
          }
          if (claims === opts.batch.maxClaims) {
            problems++;
            const problem: ReadProblem = {
              code: 'batch-limit',
              severity: 'error',
              message: `${record.label} was not scrubbed, nor any claim after it: a batch may hold at most ${opts.batch.maxClaims} claims. Send the rest in another batch.`,
              details: { maxClaims: opts.batch.maxClaims },
            };
            yield out(JSON.stringify({ problem }));
            cut = true;
            break;
          }
          if (claims > 0 && claims % CLAIMS_PER_TURN === 0) await nextTurn();
          claims++;
          const result = await scrubItem(request, scrubber, claimItemOf(record), reading.options);
          if (result.outcome === 'fail') failed++;
          Object.assign(progress, { claims, failed, problems });
          yield out(JSON.stringify(result));
        }
      } catch (err) {
        // A chunked body that runs past the limit once the answer is under way: said in the answer (see bodyTooLargeProblem).
        if (!isBodyTooLarge(err)) throw err;
        problems++;
        cut = true;
        cutAtBytes = true;
        request.log.warn({ limit: opts.batch.jsonBodyLimit, claims }, 'batch cut: the body ran past SCRUB_BATCH_BODY_LIMIT after the answer had begun');
        yield out(JSON.stringify({ problem: bodyTooLargeProblem(opts.batch.jsonBodyLimit) }));
      }
      if (!ndjson) yield written === 0 ? '[]' : ']';
      // A body still arriving (cut at the claim or byte limit) is dropped before the answer ends; see ndjsonResults.
      if (cut) await discardRestOfBody(request.raw);
    } finally {
      const limit: Record<string, number> = cutAtBytes ? { cutAtBytes: opts.batch.jsonBodyLimit } : cut ? { cutAtLimit: opts.batch.maxClaims } : {};
      logBatch(request, { format: file.format, claims, failed, problems, ...limit });
    }
  }
}

/** The claim of a batch item, if it has one. */
function inputOfItem(item: ClaimItem): unknown {
  return 'error' in item ? undefined : item.input;
}

/** A batch body that is a claim file: X12, FHIR, or anything sent as text/plain or octet-stream. */
function fileOf(body: unknown): ClaimStream | undefined {
  if (body instanceof ClaimFile) return body.open();
  if (isFhirResource(body) || (Array.isArray(body) && body.length > 0 && body.every(isFhirResource))) {
    const read = readJsonValue(body);
    return streamOf(read.format, read.records);
  }
  return undefined;
}

/** A claim file with at least one readable claim; one with none is refused, saying why. */
function readableFile(file: ClaimStream): ClaimStream {
  if (file.claims > 0) return file;
  throw unreadableFile(file.format, [...file.records()]);
}

/**
 * A claim file read as it arrives, once its first readable claim has come: the answer's status
 * is sent with its first result, so a file with none is refused first, as `readableFile` does.
 * What comes before that claim is held (at most the problems the reader lists).
 */
async function arrivingFile(body: ArrivingBody): Promise<ArrivingClaims> {
  const read = await openArrivingClaims(body.chunks(), { contentType: body.contentType });
  const input = (async function* all() {
    yield* read.records;
  })();
  const held: ReadRecord[] = [];
  for (let next = await input.next(); ; next = await input.next()) {
    if (next.done) throw unreadableFile(read.format, held);
    held.push(next.value);
    if (next.value.kind === 'claim') break;
  }
  async function* records(): AsyncGenerator<ReadRecord> {
    try {
      yield* held.splice(0);
      yield* input;
    } finally {
      await input.return(undefined);
    }
  }
  return { format: read.format, records: records() };
}

/** The refusal of a claim file with no readable claim, saying why (its problems, in file order). */
function unreadableFile(format: ClaimStream['format'], records: ReadRecord[]): ProblemError {
  const read = recordsRead({ format, records });
  const errors = unreadableParts(read);
  const reasons = errors.length > 0 ? errors : read.problems;
  return new ProblemError(
    PROBLEMS['unreadable-claims'],
    `The ${FORMAT_NAMES[read.format] ? `${FORMAT_NAMES[read.format]} ` : ''}body holds no claim that can be read: ${(reasons[0]?.message as string | undefined) ?? 'it is empty.'}`,
    { problems: reasons },
  );
}

/** A batch sent as a JSON array: at most `maxClaims` of them. */
function checkedArray(body: unknown, maxClaims: number): unknown[] {
  if (!Array.isArray(body)) {
    throw new ProblemError(
      PROBLEMS['batch-not-array'],
      `A JSON batch is an array of claims, not ${describeType(body)}. For one claim use POST /v1/scrub; for a stream send NDJSON (Content-Type: application/x-ndjson).`,
    );
  }
  if (body.length > maxClaims) {
    throw new ProblemError(
      PROBLEMS['batch-too-large'],
      `A batch sent whole may hold at most ${maxClaims} claims; this one has ${body.length}. Send fewer, or stream them as NDJSON (Content-Type: application/x-ndjson).`,
      { maxClaims },
    );
  }
  return body;
}

function arrayItems(body: unknown, maxClaims: number): ClaimItem[] {
  return checkedArray(body, maxClaims).map((input, i) => ({ label: `claim ${i + 1}`, input }));
}

/** A claim file's records for the queue, in file order: its claims, and its own problems in their places. */
function* fileItems(file: ClaimStream): Generator<SubmitItem> {
  for (const record of file.records()) yield record.kind === 'problem' ? { fileProblem: record.problem } : claimItemOf(record);
}

/** A ReadResult from records read at once. */
function recordsRead(read: { format: ReadResult['format']; records: ReadRecord[] }): ReadResult {
  return {
    format: read.format,
    items: read.records.filter((r): r is ReadItem => r.kind !== 'problem'),
    problems: read.records.flatMap((r) => (r.kind === 'problem' ? [r.problem] : [])),
    records: read.records,
  };
}

/**
 * How far a streamed batch got, kept current in the request's access-log line: a batch cut short
 * (the client went away) still says it there.
 */
function batchProgress<T extends Record<string, number | string>>(request: FastifyRequest, start: T): T {
  const progress = { ...start };
  request.logSummary = progress;
  return progress;
}

/** Counts only: the claims themselves never reach the log. */
function logBatch(request: FastifyRequest, counts: Record<string, number | string>): void {
  // The socket is gone only when the answer was cut short (the client left, or the shutdown
  // deadline passed): on the way to a complete answer it is still open here.
  const aborted = request.raw.socket?.destroyed === true;
  request.log.info(aborted ? { ...counts, aborted } : counts, 'batch scrubbed');
}

export default fp(scrubRoutes, { name: 'scrub-routes', fastify: '5.x', dependencies: ['problems', 'metrics'] });
