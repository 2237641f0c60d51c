import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
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
    if (problem.status >= 500) request.log.error({ err }, 'request failed');
    else request.log.info({ code: problem.code }, 'request refused');
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
