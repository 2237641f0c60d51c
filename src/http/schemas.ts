import { readFileSync } from 'node:fs';
import path from 'node:path';
import { claimSchema, readSchema } from '../claim/schema.js';
import { packageRoot } from '../paths.js';
import { PROBLEMS, type ProblemCode } from './problems.js';

/**
 * Route schemas, for the OpenAPI document only. Requests are not validated by Fastify: a claim
 * must reach the scrubber exactly as sent (a claim that breaks the claim schema is answered 200
 * with structure findings, never 400), and responses are written with JSON.stringify so their
 * bytes are the same as the CLI's. The handlers check query parameters themselves.
 */

/** Shared schemas, named for the OpenAPI components (`$ref: 'Claim#'`). */
export function sharedSchemas(): Array<Record<string, unknown>> {
  const named = (schema: Record<string, unknown>, id: string) => {
    const { $schema: _dialect, ...rest } = schema;
    return { ...rest, $id: id };
  };
  return [
    named(claimSchema, 'Claim'),
    named(readSchema('scrub-result.schema.json'), 'ScrubResult'),
    {
      $id: 'Problem',
      title: 'Problem',
      description: 'An RFC 9457 problem (application/problem+json). Branch on `code`, never on `detail`.',
      type: 'object',
      required: ['type', 'title', 'status', 'detail', 'code'],
      properties: {
        type: { type: 'string', description: 'urn:claim-scrubber:problem:<code>' },
        title: { type: 'string' },
        status: { type: 'integer' },
        detail: { type: 'string', description: 'What went wrong with this request, in plain words' },
        instance: { type: 'string' },
        code: { type: 'string', enum: Object.keys(PROBLEMS), description: 'Stable code; see docs/api.md, "Errors and problem codes"' },
        requestId: { type: 'string' },
      },
      additionalProperties: true,
    },
    {
      $id: 'PackDiagnostic',
      title: 'PackDiagnostic',
      type: 'object',
      required: ['file', 'line', 'column', 'severity', 'code', 'message', 'text'],
      properties: {
        file: { type: 'string' },
        line: { type: 'integer' },
        column: { type: 'integer' },
        severity: { enum: ['error', 'warning'] },
        code: { type: 'string' },
        message: { type: 'string' },
        text: { type: 'string', description: 'file:line:column: severity [code] message' },
      },
    },
  ];
}

function exampleClaim(name: string): unknown {
  return JSON.parse(readFileSync(path.join(packageRoot, 'examples/claims', name), 'utf8'));
}

export const problemResponse = (description: string, ...codes: ProblemCode[]) => ({
  description: `${description} (problem+json; code ${codes.map((c) => `\`${c}\``).join(', ')})`,
  content: { 'application/problem+json': { schema: { $ref: 'Problem#' } } },
});

const scrubQuery = {
  type: 'object',
  properties: {
    explain: { type: 'string', enum: ['true', 'false'], description: 'Add how each rule’s conditions came out on the claim.' },
    asOf: { type: 'string', format: 'date', description: 'The date "today" means for date rules (YYYY-MM-DD); default: today.' },
    record: {
      type: 'string',
      enum: ['true', 'false'],
      description: 'Record the claim in the claim history after scrubbing it (default false: a what-if never records). The same claim id replaces its earlier version; frequency 7 replaces, and 8 removes, the claim its originalClaimNumber names.',
    },
    history: {
      type: 'string',
      enum: ['on', 'off'],
      description: 'off: scrub without the history edits (the result says history was not consulted). Default on when a history is configured.',
    },
  },
} as const;

const batchQuery = {
  type: 'object',
  properties: {
    ...scrubQuery.properties,
    async: {
      type: 'string',
      enum: ['true', 'false'],
      description: 'true: put the claims on the queue for the scrub workers and answer 202 with a batch id at once; read the results from GET /v1/batches/{id}. Needs SCRUB_NATS_URL.',
    },
  },
} as const;

/** Either header carries the key. */
export const keySecurity: Array<Record<string, string[]>> = [{ bearer: [] }, { apiKey: [] }];

export const authProblems = {
  401: problemResponse('No API key, or an unknown one', 'unauthenticated'),
  403: problemResponse('The key’s role may not use this endpoint', 'forbidden'),
  429: problemResponse('Too many requests for this key, or too many failed authentications from this address; see Retry-After', 'rate-limited', 'too-many-failed-authentications'),
};

export const scrubSchema = {
  tags: ['scrub'],
  summary: 'Scrub one claim',
  description:
    'One claim (a JSON object) in, its ScrubResult out, 200 whether it passes or fails. A claim that does not match the claim schema is answered 200 with `structure` findings; only a body that is not a claim at all is refused.',
  querystring: scrubQuery,
  body: {
    content: {
      // allOf: a bare $ref would drop the example beside it.
      'application/json': { schema: { allOf: [{ $ref: 'Claim#' }], examples: [exampleClaim('clean.json')] } },
      'application/fhir+json': { schema: { type: 'object', description: 'A FHIR R4 Claim (use "claim"), or a Bundle with one' } },
      'application/edi-x12': { schema: { type: 'string', description: 'An X12 837P or 837I (005010) with one claim; also application/x12' } },
      'text/plain': { schema: { type: 'string', description: 'Any of the above, told from the content; also application/octet-stream' } },
    },
  },
  security: keySecurity,
  response: {
    200: { $ref: 'ScrubResult#' },
    400: problemResponse(
      'Not one claim: not JSON, not an object, an X12 or FHIR body with a part that holds no readable claim (`problems` says which, with their positions), or more than one claim',
      'invalid-json',
      'empty-body',
      'claim-not-object',
      'forbidden-key',
      'too-deep',
      'invalid-request',
      'unreadable-claims',
      'multiple-claims',
    ),
    ...authProblems,
    413: problemResponse('Body over SCRUB_BODY_LIMIT', 'body-too-large'),
    415: problemResponse('A content type this route does not read; `detail` lists every one it does', 'unsupported-media-type'),
    503: problemResponse('The claim history is configured but cannot be reached (send history=off to scrub without it)', 'history-unavailable'),
  },
};

export const batchSchema = {
  tags: ['scrub'],
  summary: 'Scrub many claims',
  description:
    'NDJSON (`application/x-ndjson`): one claim per line, streamed; the response streams one ScrubResult per non-blank line, in input order, as each is ready. ' +
    'A line that cannot be read (not JSON, not UTF-8, too deep, a forbidden key, longer than SCRUB_BODY_LIMIT) gets a result with one `structure` finding naming the line, and the batch goes on. ' +
    'After SCRUB_BATCH_MAX_CLAIMS claims the stream ends with a result whose finding is `batch-limit`. ' +
    'JSON (`application/json`): an array of at most SCRUB_BATCH_MAX_JSON_CLAIMS claims; the response is the array of results. ' +
    'A claim file (`application/edi-x12` or `application/x12`: an X12 837 of any number of claims; `application/fhir+json`: a FHIR Bundle; `text/plain` or `application/octet-stream`: any of these, told from the content) ' +
    'of at most SCRUB_BATCH_BODY_LIMIT bytes (refused with 413 before it is read when its Content-Length says more) is answered as it is read: ' +
    'one JSON array, or NDJSON when the request accepts `application/x-ndjson`, of records in file order: a ScrubResult per claim, and `{"problem": FileProblem}` for each problem of the file itself ' +
    '(a part with no readable claim, such as an 835 among 837s or a 4010 transaction set, or a defect of an envelope, such as an SE01 that miscounts), reported once. A record with `problem` is never a claim. ' +
    'With `async=true` the claims go on the queue for the scrub workers instead, and the answer is 202 with a batch id (GET /v1/batches/{id}).',
  querystring: batchQuery,
  body: {
    content: {
      'application/x-ndjson': { schema: { type: 'string', description: 'One claim (a JSON object) per line' } },
      'application/json': { schema: { type: 'array', items: { $ref: 'Claim#' } } },
      'application/edi-x12': { schema: { type: 'string', description: 'An X12 837P or 837I file (005010), any number of interchanges and claims; also application/x12' } },
      'application/fhir+json': { schema: { type: 'object', description: 'A FHIR R4 Bundle of Claims (or one Claim)' } },
      'text/plain': { schema: { type: 'string', description: 'Any of the above, told from the content; also application/octet-stream' } },
    },
  },
  security: keySecurity,
  response: {
    200: {
      description: 'The records, in input order: ScrubResults, and for a claim file its file-level problems in their places',
      content: {
        'application/json': { schema: { type: 'array', items: { $ref: 'ScrubResult#/$defs/batchRecord' } } },
        'application/x-ndjson': { schema: { type: 'string', description: 'One record per line: a ScrubResult, or {"problem": FileProblem} for a claim file' } },
      },
    },
    202: {
      description: 'async=true: the batch is on the queue',
      content: {
        'application/json': {
          schema: {
            type: 'object',
            properties: { batchId: { type: 'string' }, items: { type: 'integer' }, status: { type: 'string', enum: ['queued'] }, location: { type: 'string' } },
          },
        },
      },
    },
    400: problemResponse(
      'The JSON body is not an array of claims, or a claim file holds no claim that can be read',
      'invalid-json',
      'batch-not-array',
      'forbidden-key',
      'too-deep',
      'invalid-request',
      'unreadable-claims',
    ),
    ...authProblems,
    413: problemResponse('Too many claims in a JSON array, or a body over SCRUB_BATCH_BODY_LIMIT (a chunked claim file that grows past it after its first result instead ends its answer with a body-too-large problem record)', 'batch-too-large', 'body-too-large'),
    415: problemResponse('A content type this route does not read; `detail` lists every one it does', 'unsupported-media-type'),
    501: problemResponse('async=true on a service with no queue', 'async-unavailable'),
    503: problemResponse(
      'The claim history is configured but cannot be reached (send history=off to scrub without it); or async=true while the queue cannot be reached',
      'history-unavailable',
      'queue-unavailable',
    ),
  },
};

export const batchStatusSchema = {
  tags: ['scrub'],
  summary: 'An asynchronous batch: its progress, then its results',
  description:
    'While claims of the batch still wait for their result: 202 with the progress and Retry-After. ' +
    'When every claim has its result: 200 with the records as NDJSON in the order the claims were sent, each exactly once: a ScrubResult per claim and, for a claim file, `{"problem": FileProblem}` for each problem of the file itself, in its place.',
  params: { type: 'object', properties: { id: { type: 'string', description: 'The batch id POST /v1/scrub/batch?async=true answered' } } },
  security: keySecurity,
  response: {
    200: { description: 'The records, in input order', content: { 'application/x-ndjson': { schema: { type: 'string', description: 'One record per line: a ScrubResult, or {"problem": FileProblem} for a claim file' } } } },
    202: {
      description: 'Still running',
      content: {
        'application/json': {
          schema: {
            type: 'object',
            properties: { batchId: { type: 'string' }, status: { type: 'string', enum: ['running'] }, items: { type: 'integer' }, done: { type: 'integer' }, submittedAt: { type: 'string' } },
          },
        },
      },
    },
    400: problemResponse('Not a batch id', 'invalid-request'),
    ...authProblems,
    404: problemResponse('No such batch', 'batch-not-found'),
    501: problemResponse('The service has no queue', 'async-unavailable'),
    503: problemResponse('The queue cannot be reached', 'queue-unavailable'),
  },
};

const packVersion = { type: 'object', properties: { name: { type: 'string' }, version: { type: 'string' } } };
const dateWindow = { type: 'object', properties: { from: { type: 'string', format: 'date' }, to: { type: 'string', format: 'date' } } };
const tableEdition = {
  type: 'object',
  properties: {
    edition: { type: 'string', description: 'The release, as findings quote it in details.edition' },
    covers: { ...dateWindow, description: 'The dates of service it covers (absent: every date)' },
    complete: { type: 'boolean', description: 'false for an excerpt, whose missing codes are never flagged' },
    rows: { type: 'integer' },
  },
};
const tableCurrency = {
  coverageEnds: { type: 'string', format: 'date', description: "The last date of service the table's editions cover (absent when one is open-ended)" },
  daysLeft: { type: 'integer', description: 'Days from today to coverageEnds; negative once passed' },
  stale: { type: 'boolean', description: 'Today is past coverageEnds: load the next edition' },
};

export const packsSchema = {
  tags: ['packs'],
  summary: 'The loaded packs',
  description: 'The packs serving now, their versions and rules, and when the set was loaded.',
  security: keySecurity,
  response: {
    200: {
      description: 'The pack set',
      type: 'object',
      properties: {
        loadedAt: { type: 'string', format: 'date-time' },
        packs: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: true,
            properties: {
              name: { type: 'string' },
              version: { type: 'string' },
              rules: { type: 'array' },
              tables: {
                type: 'array',
                description: 'The data tables of the pack: every edition loaded, the dates it covers, rows, complete or excerpt, and how current',
                items: {
                  type: 'object',
                  additionalProperties: true,
                  properties: { name: { type: 'string' }, format: { type: 'string' }, edition: { type: 'string' }, editions: { type: 'array', items: tableEdition }, ...tableCurrency },
                },
              },
            },
          },
        },
      },
    },
    ...authProblems,
  },
};

export const reloadSchema = {
  tags: ['packs'],
  summary: 'Reload the packs (admin)',
  description:
    'Loads and validates the rules folder again, then swaps the new set in for every worker at once. Requests in flight finish on the set they started with. A set with any error is not loaded: the old one keeps serving and the answer is 422 with every problem as file:line:column. Reloads run one at a time.',
  security: keySecurity,
  response: {
    200: {
      description: 'The new set is serving',
      type: 'object',
      properties: {
        status: { const: 'reloaded' },
        loadedAt: { type: 'string', format: 'date-time' },
        packs: { type: 'array', items: packVersion },
        rules: { type: 'integer' },
        workers: { type: 'integer' },
      },
    },
    ...authProblems,
    422: {
      description: 'The packs have errors; the old set keeps serving (problem+json; code `packs-invalid`, with `diagnostics`)',
      content: {
        'application/problem+json': {
          schema: { allOf: [{ $ref: 'Problem#' }, { type: 'object', properties: { diagnostics: { type: 'array', items: { $ref: 'PackDiagnostic#' } } } }] },
        },
      },
    },
  },
};

export const healthzSchema = {
  tags: ['operations'],
  summary: 'Liveness',
  description: 'The process answers. Says nothing about the packs.',
  response: { 200: { description: 'Alive', type: 'object', properties: { status: { const: 'ok' } } } },
};

export const readyzSchema = {
  tags: ['operations'],
  summary: 'Readiness',
  description:
    'Ready when packs are loaded, the claim history (when configured) answers, and the service is not shutting down. Lists each data table with its editions, the dates they cover, and days until its coverage ends (stale tables do not make the service unready: they stop judging dates past their coverage).',
  response: {
    200: {
      description: 'Ready',
      type: 'object',
      properties: {
        status: { const: 'ready' },
        loadedAt: { type: 'string' },
        packs: { type: 'array', items: packVersion },
        tables: {
          type: 'array',
          description: 'Each data table: its editions and the dates they cover, and days until its coverage ends',
          items: { type: 'object', properties: { pack: { type: 'string' }, table: { type: 'string' }, editions: { type: 'array', items: tableEdition }, ...tableCurrency } },
        },
      },
    },
    503: problemResponse('Not ready (shutting down, or the claim history cannot be reached)', 'not-ready'),
  },
};

export const remitsSchema = {
  summary: 'Import an 835 remittance into the claim history',
  description:
    'An X12 835 (005010X221A1) file: every claim payment is matched to the recorded claim it pays and stored beside the findings the scrubber returned; what matches nothing is stored and listed. The same file twice changes nothing. Needs the admin role. With Accept: application/x-ndjson the answer streams one record per claim payment, then the summary.',
  tags: ['remittances'],
  body: {
    content: {
      'application/edi-x12': { schema: { type: 'string', description: 'An X12 835 file; also application/x12, text/plain or application/octet-stream' } },
    },
  },
  security: keySecurity,
  response: {
    200: {
      description: 'The import summary (counts, control numbers, checksum) with the payments that matched no recorded claim or could not be read (ids and codes only)',
      content: {
        'application/json': { schema: { type: 'object', additionalProperties: true } },
        'application/x-ndjson': { schema: { type: 'string', description: 'One {"payment": ...} record per claim payment, then {"summary": ...}' } },
      },
    },
    400: problemResponse('The body holds no 835 that can be read', 'unreadable-remittance'),
    ...authProblems,
    404: problemResponse('The service has no claim history', 'history-off'),
    413: problemResponse('More claim payments than SCRUB_BATCH_MAX_CLAIMS, or a body over SCRUB_BATCH_BODY_LIMIT', 'remittance-too-large', 'body-too-large'),
    415: problemResponse('A content type this route does not read', 'unsupported-media-type'),
    503: problemResponse('The claim history cannot be reached', 'history-unavailable'),
  },
};

export const effectivenessSchema = {
  summary: 'The rule effectiveness report',
  description:
    'Every rule measured against the payers’ answers (835s imported into the claim history): times fired, adjudicated, denied (with which CARCs), fixed then paid, precision where the rule declares `predicts`; the denials no rule predicted; the rules that fired at error on claims that were paid. JSON by default; text/markdown, text/html (one self-contained file with SVG charts) or text/plain by Accept or `format`.',
  tags: ['remittances'],
  querystring: {
    type: 'object',
    properties: {
      since: { type: 'string', format: 'date', description: 'Only claims recorded on or after this date (YYYY-MM-DD).' },
      payer: { type: 'string', description: 'Only claims of this payer id.' },
      format: { type: 'string', enum: ['json', 'text', 'markdown', 'html'], description: 'The form of the report; default: from Accept, else JSON.' },
    },
  },
  security: keySecurity,
  response: {
    200: {
      description: 'The report',
      content: {
        'application/json': { schema: { type: 'object', additionalProperties: true } },
        'text/html': { schema: { type: 'string' } },
        'text/markdown': { schema: { type: 'string' } },
        'text/plain': { schema: { type: 'string' } },
      },
    },
    400: problemResponse('A query value that is not valid', 'invalid-request'),
    ...authProblems,
    404: problemResponse('The service has no claim history', 'history-off'),
    503: problemResponse('The claim history cannot be reached', 'history-unavailable'),
  },
};
