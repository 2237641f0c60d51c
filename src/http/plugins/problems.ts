import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { loggableError } from '../../util/safe-error.js';
import { printable } from '../../util/text.js';
import { bodyUnread, discardRestOfBody } from '../discard-body.js';
import { loggableUrl } from '../loggable-url.js';
import { PROBLEMS, PROBLEM_CONTENT_TYPE, ProblemError, clientErrorProblem, problemBody, type ProblemType } from '../problems.js';
import { SECURITY_HEADERS } from './security.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Every content type the route reads, in words, for its 415 answer. */
    accepts?: string;
    /** What the route's body limit is and what to do instead, for its 413 answer. */
    tooLarge?: string;
  }
}

/** Maps Fastify's own errors (body parsing, limits) to our stable problem codes. */
function fromFastifyError(err: FastifyError, request: FastifyRequest): { problem: ProblemType; detail: string } {
  const config = request.routeOptions.config;
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        problem: PROBLEMS['body-too-large'],
        detail: config?.tooLarge ? `The body is too large: ${config.tooLarge}. It was refused before it was read.` : err.message,
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH': {
      const type = request.headers['content-type'];
      return {
        problem: PROBLEMS['unsupported-media-type'],
        detail: `${type ? `Content-Type "${printable(type)}" is not read here` : 'The body has no Content-Type'}. ${
          config?.accepts ? `${request.method} ${request.routeOptions.url} reads ${config.accepts}.` : 'Send the claim as Content-Type: application/json.'
        }`,
      };
    }
    case 'FST_ERR_VALIDATION':
      return { problem: PROBLEMS['invalid-request'], detail: err.message };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { problem: PROBLEMS['empty-body'], detail: 'There is no body; send the claim as JSON.' };
    default:
      break;
  }
  if (err.statusCode === 400) return { problem: PROBLEMS['invalid-request'], detail: err.message };
  if (err.statusCode === 413) return { problem: PROBLEMS['body-too-large'], detail: err.message };
  if (err.statusCode === 415) return { problem: PROBLEMS['unsupported-media-type'], detail: err.message };
  const status = err.statusCode ?? (err as { status?: number }).status;
  if (typeof status === 'number' && status >= 400 && status < 500) return pluginProblem(status);
  return { problem: PROBLEMS['internal-error'], detail: 'The scrubber failed unexpectedly; the error is logged with this request id.' };
}

/** Problems for the client errors plugins raise, by status; said in our words, never theirs (which may quote the URL). */
const PLUGIN_PROBLEMS: Readonly<Record<number, { problem: ProblemType; detail: string }>> = {
  401: { problem: PROBLEMS.unauthenticated, detail: 'Send your API key as "Authorization: Bearer <key>" or "X-API-Key: <key>".' },
  403: { problem: PROBLEMS['forbidden-path'], detail: 'The path leaves the folder served here, or names a hidden file.' },
  404: { problem: PROBLEMS['not-found'], detail: 'There is no such file.' },
  405: { problem: PROBLEMS['method-not-allowed'], detail: 'The resource does not support this method.' },
  406: { problem: PROBLEMS['not-acceptable'], detail: 'The resource cannot be sent in a form the Accept header allows.' },
  408: { problem: PROBLEMS['request-timeout'], detail: 'The request did not arrive in full within the time allowed.' },
  416: { problem: PROBLEMS['range-not-satisfiable'], detail: 'The Range header asks for bytes the resource does not have.' },
  429: { problem: PROBLEMS['rate-limited'], detail: 'Too many requests; retry later.' },
  431: { problem: PROBLEMS['headers-too-large'], detail: 'The request headers are larger than allowed.' },
};

/** A plugin's client error: its own status, with a stable code (client-error when no other fits). */
function pluginProblem(status: number): { problem: ProblemType; detail: string } {
  const known = PLUGIN_PROBLEMS[status];
  if (known) return known;
  const title = STATUS_CODES[status] ?? 'Client error';
  return { problem: clientErrorProblem(status, title), detail: `${title}.` };
}

const SHUTDOWN_ANSWERS: ReadonlySet<string> = new Set(['shutting-down', 'not-ready']);

async function problemsPlugin(app: FastifyInstance): Promise<void> {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const { problem, detail, extensions } =
      err instanceof ProblemError ? { problem: err.problem, detail: err.detail, extensions: err.extensions } : { ...fromFastifyError(err, request), extensions: {} };
    if (problem.status >= 500 && !SHUTDOWN_ANSWERS.has(problem.code)) request.log.error({ err: loggableError(err) }, 'request failed');
    // A refusal (and 503 shutting-down or not-ready: answers while stopping, not failures, and
    // hundreds of them in a busy shutdown) is told by the request's one access-log line, which
    // carries its code.
    else request.logSummary = { ...request.logSummary, code: problem.code };
    if (bodyUnread(request.raw)) {
      // Answered before the body was read (too large, refused by auth): Node would close the
      // connection the moment the answer is written, and a client still sending would get a
      // reset instead of this answer. Keep it open while the rest is dropped; see discardRestOfBody.
      reply.removeHeader('connection');
      reply.raw.shouldKeepAlive = true;
      reply.raw.once('finish', () => void discardRestOfBody(request.raw));
    }
    void reply
      .code(problem.status)
      .type(PROBLEM_CONTENT_TYPE)
      .send(problemBody(problem, detail, loggableUrl(request.url), { requestId: request.id, ...extensions }));
  });
  app.setNotFoundHandler((request, reply) => {
    void reply
      .code(404)
      .type(PROBLEM_CONTENT_TYPE)
      .send(problemBody(PROBLEMS['not-found'], `There is no ${request.method} ${loggableUrl(request.url.split('?')[0]!)}.`, loggableUrl(request.url), { requestId: request.id }));
  });
}

export default fp(problemsPlugin, { name: 'problems', fastify: '5.x' });

/**
 * Errors Fastify's router meets before any route or hook runs (a URL that cannot be decoded,
 * such as /docs/%): the same problem+json as every other answer, with the request id and the
 * security headers, which no hook has set.
 */
export function frameworkErrorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const { problem, detail } =
    err.code === 'FST_ERR_BAD_URL'
      ? { problem: PROBLEMS['invalid-request'], detail: 'The URL is not valid: a % sign must begin an escape such as %2F.' }
      : err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500
        ? pluginProblem(err.statusCode)
        : { problem: PROBLEMS['invalid-request'], detail: 'The request cannot be routed.' };
  request.log.info({ method: request.method, url: loggableUrl(request.url), statusCode: problem.status, code: problem.code }, 'request refused before routing');
  for (const [name, value] of SECURITY_HEADERS) void reply.header(name, value);
  void reply
    .header('x-request-id', request.id)
    .code(problem.status)
    .type(PROBLEM_CONTENT_TYPE)
    .send(problemBody(problem, detail, loggableUrl(request.url), { requestId: request.id }));
}

/**
 * Errors Node's HTTP parser meets before Fastify sees a request (a request that takes longer
 * than SCRUB_REQUEST_TIMEOUT_MS, oversized headers, bytes that are not HTTP): answered as
 * problem+json too, and logged without the raw bytes (they may hold a claim).
 */
export function clientErrorHandler(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const problem =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? PROBLEMS['request-timeout']
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? PROBLEMS['headers-too-large']
        : PROBLEMS['bad-request'];
  const detail =
    problem.code === 'request-timeout'
      ? 'The request did not arrive in full within the time allowed (SCRUB_REQUEST_TIMEOUT_MS).'
      : problem.code === 'headers-too-large'
        ? 'The request headers are larger than allowed.'
        : 'The request is not valid HTTP.';
  // No request was read, so no id came with it: this answer gets one of its own, in the log too.
  const requestId = randomUUID();
  this.log.info({ reqId: requestId, code: problem.code, parserError: err.code }, 'request refused before routing');
  // An answer already under way (a streamed batch whose upload ran out of time) must not get
  // an error written into its middle: the client would read garbage. Cut it instead.
  const answering = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
  if (!socket.writable || answering) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify(problemBody(problem, detail, undefined, { requestId }));
  // The headers every other answer carries; Fastify's hooks never ran for this one.
  const headers = [
    `Content-Type: ${PROBLEM_CONTENT_TYPE}`,
    `Content-Length: ${Buffer.byteLength(body)}`,
    `X-Request-Id: ${requestId}`,
    ...SECURITY_HEADERS.map(([name, value]) => `${name}: ${value}`),
    'Connection: close',
  ];
  // end(), not write() + destroy(): the answer must leave before the socket closes.
  socket.end(`HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status]}\r\n${headers.join('\r\n')}\r\n\r\n${body}`);
}
