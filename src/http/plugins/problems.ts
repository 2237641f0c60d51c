import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { loggableError } from '../../util/safe-error.js';
import { bodyUnread, discardRestOfBody } from '../discard-body.js';
import { PROBLEMS, PROBLEM_CONTENT_TYPE, ProblemError, problemBody, type ProblemType } from '../problems.js';

/** Maps Fastify's own errors (body parsing, limits) to our stable problem codes. */
function fromFastifyError(err: FastifyError): { problem: ProblemType; detail: string } {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { problem: PROBLEMS['body-too-large'], detail: err.message };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return {
        problem: PROBLEMS['unsupported-media-type'],
        detail: 'Send the claim as Content-Type: application/json, application/fhir+json (a FHIR Claim or Bundle) or application/edi-x12 (an 837P or 837I).',
      };
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
  return { problem: PROBLEMS['internal-error'], detail: 'The scrubber failed unexpectedly; the error is logged with this request id.' };
}

async function problemsPlugin(app: FastifyInstance): Promise<void> {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const { problem, detail, extensions } =
      err instanceof ProblemError ? { problem: err.problem, detail: err.detail, extensions: err.extensions } : { ...fromFastifyError(err), extensions: {} };
    if (problem.code === 'internal-error') request.log.error({ err: loggableError(err) }, 'request failed');
    // A refusal (503 shutting-down and not-ready included: they are answers, not failures) is
    // told by the request's one access-log line, which carries its code.
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
      .send(problemBody(problem, detail, request.url, { requestId: request.id, ...extensions }));
  });
  app.setNotFoundHandler((request, reply) => {
    void reply
      .code(404)
      .type(PROBLEM_CONTENT_TYPE)
      .send(problemBody(PROBLEMS['not-found'], `There is no ${request.method} ${request.url.split('?')[0]}.`, request.url, { requestId: request.id }));
  });
}

export default fp(problemsPlugin, { name: 'problems', fastify: '5.x' });

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
  this.log.info({ code: problem.code, parserError: err.code }, 'request refused before routing');
  // An answer already under way (a streamed batch whose upload ran out of time) must not get
  // an error written into its middle: the client would read garbage. Cut it instead.
  const answering = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
  if (!socket.writable || answering) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify(problemBody(problem, detail));
  // end(), not write() + destroy(): the answer must leave before the socket closes.
  socket.end(
      `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status]}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
