/**
 * Every error the HTTP API returns, built once with a stable code and status, and sent as
 * application/problem+json (RFC 9457). Callers branch on `code`, never on `detail` text.
 */

export interface ProblemType {
  code: string;
  status: number;
  title: string;
}

const define = <T extends Record<string, Omit<ProblemType, 'code'>>>(types: T) =>
  Object.fromEntries(Object.entries(types).map(([code, t]) => [code, { code, ...t }])) as { [K in keyof T]: ProblemType };

export const PROBLEMS = define({
  'invalid-json': { status: 400, title: 'The request body is not valid JSON' },
  'empty-body': { status: 400, title: 'The request body is empty' },
  'claim-not-object': { status: 400, title: 'The request body must be one claim, a JSON object' },
  'forbidden-key': { status: 400, title: 'The request body uses a key that is not allowed' },
  'too-deep': { status: 400, title: 'The request body is nested too deeply' },
  'invalid-request': { status: 400, title: 'The request is not valid' },
  'unreadable-claims': { status: 400, title: 'The body cannot be read as claims' },
  'multiple-claims': { status: 400, title: 'The body holds more than one claim' },
  'batch-not-array': { status: 400, title: 'A JSON batch must be an array of claims' },
  'bad-request': { status: 400, title: 'The request cannot be read as HTTP' },
  'unreadable-remittance': { status: 400, title: 'The body holds no X12 835 remittance that can be read' },
  unauthenticated: { status: 401, title: 'The request has no valid API key' },
  forbidden: { status: 403, title: 'The API key may not use this endpoint' },
  'forbidden-path': { status: 403, title: 'The path is not one that may be read' },
  'not-found': { status: 404, title: 'There is no such resource' },
  'batch-not-found': { status: 404, title: 'There is no queued batch with this id' },
  'history-off': { status: 404, title: 'Claim history is off on this service' },
  'history-claims-not-kept': { status: 404, title: 'The claim history keeps no whole claims to try an edit on' },
  'method-not-allowed': { status: 405, title: 'The resource does not support this method' },
  'not-acceptable': { status: 406, title: 'The resource cannot be sent in a form the request accepts' },
  'request-timeout': { status: 408, title: 'The request took too long to arrive' },
  'body-too-large': { status: 413, title: 'The request body is too large' },
  'batch-too-large': { status: 413, title: 'The batch has more claims than one request may carry' },
  'remittance-too-large': { status: 413, title: 'The 835 has more claim payments than one import may carry' },
  'unsupported-media-type': { status: 415, title: 'The request body has a content type this endpoint does not accept' },
  'range-not-satisfiable': { status: 416, title: 'The requested range is not within the resource' },
  'packs-invalid': { status: 422, title: 'The rule packs have errors; the packs already loaded keep serving' },
  'rate-limited': { status: 429, title: 'Too many requests for this API key; retry after the time given' },
  'too-many-failed-authentications': { status: 429, title: 'Too many failed authentications from this address; retry after the time given' },
  'headers-too-large': { status: 431, title: 'The request headers are too large' },
  'internal-error': { status: 500, title: 'The scrubber failed unexpectedly' },
  'async-unavailable': { status: 501, title: 'This service has no queue for asynchronous batches' },
  'shutting-down': { status: 503, title: 'The service is shutting down; send the request again' },
  'not-ready': { status: 503, title: 'The service is not ready to scrub' },
  'queue-unavailable': { status: 503, title: 'The queue cannot be used right now; send the request again' },
  'history-unavailable': { status: 503, title: 'The claim history cannot be reached; scrubs that need it are refused rather than run without it' },
});

export type ProblemCode = keyof typeof PROBLEMS;

/**
 * An error status a plugin raised (the static files of /docs, the router, ...) with no problem
 * of its own above: the status passes through, under this one stable code.
 */
export function clientErrorProblem(status: number, title: string): ProblemType {
  return { code: 'client-error', status, title };
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  code: string;
  [extension: string]: unknown;
}

/** Thrown by routes; the problem plugin turns it into the response. */
export class ProblemError extends Error {
  constructor(
    readonly problem: ProblemType,
    readonly detail: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail);
    this.name = 'ProblemError';
  }
}

export function problemBody(problem: ProblemType, detail: string, instance?: string, extensions: Record<string, unknown> = {}): ProblemBody {
  return {
    type: `urn:claim-scrubber:problem:${problem.code}`,
    title: problem.title,
    status: problem.status,
    detail,
    ...(instance ? { instance } : {}),
    code: problem.code,
    ...extensions,
  };
}
