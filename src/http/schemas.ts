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
  },
} as const;

/** Either header carries the key. */
const keySecurity: Array<Record<string, string[]>> = [{ bearer: [] }, { apiKey: [] }];

const authProblems = {
  401: problemResponse('No API key, or an unknown one', 'unauthenticated'),
  403: problemResponse('The key’s role may not use this endpoint', 'forbidden'),
  429: problemResponse('Too many requests for this key; see Retry-After', 'rate-limited'),
};

export const scrubSchema = {
  tags: ['scrub'],
  summary: 'Scrub one claim',
  description:
    'One claim (a JSON object) in, its ScrubResult out, 200 whether it passes or fails. A claim that does not match the claim schema is answered 200 with `structure` findings; only a body that is not a claim at all is refused.',
  querystring: scrubQuery,
  // allOf: a bare $ref would drop the example beside it.
  body: { allOf: [{ $ref: 'Claim#' }], examples: [exampleClaim('clean.json')] },
  security: keySecurity,
  response: {
    200: { $ref: 'ScrubResult#' },
    400: problemResponse('Not one JSON claim', 'invalid-json', 'empty-body', 'claim-not-object', 'forbidden-key', 'too-deep', 'invalid-request'),
    ...authProblems,
    413: problemResponse('Body over SCRUB_BODY_LIMIT', 'body-too-large'),
    415: problemResponse('Not application/json', 'unsupported-media-type'),
  },
};

export const batchSchema = {
  tags: ['scrub'],
  summary: 'Scrub many claims',
  description:
    'NDJSON (`application/x-ndjson`): one claim per line, streamed; the response streams one ScrubResult per non-blank line, in input order, as each is ready. ' +
    'A line that cannot be read (not JSON, not UTF-8, too deep, a forbidden key, longer than SCRUB_BODY_LIMIT) gets a result with one `structure` finding naming the line, and the batch goes on. ' +
    'After SCRUB_BATCH_MAX_CLAIMS claims the stream ends with a result whose finding is `batch-limit`. ' +
    'JSON (`application/json`): an array of at most SCRUB_BATCH_MAX_JSON_CLAIMS claims; the response is the array of results.',
  querystring: scrubQuery,
  body: {
    content: {
      'application/x-ndjson': { schema: { type: 'string', description: 'One claim (a JSON object) per line' } },
      'application/json': { schema: { type: 'array', items: { $ref: 'Claim#' } } },
    },
  },
  security: keySecurity,
  response: {
    200: {
      description: 'The results, in input order',
      content: {
        'application/json': { schema: { type: 'array', items: { $ref: 'ScrubResult#' } } },
        'application/x-ndjson': { schema: { type: 'string', description: 'One ScrubResult per line' } },
      },
    },
    400: problemResponse('The JSON body is not an array of claims', 'invalid-json', 'batch-not-array', 'forbidden-key', 'too-deep', 'invalid-request'),
    ...authProblems,
    413: problemResponse('Too many claims or too large a JSON body', 'batch-too-large', 'body-too-large'),
    415: problemResponse('Neither application/x-ndjson nor application/json', 'unsupported-media-type'),
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
    'Ready when packs are loaded and the service is not shutting down. Lists each data table with its editions, the dates they cover, and days until its coverage ends (stale tables do not make the service unready: they stop judging dates past their coverage).',
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
    503: problemResponse('Not ready (shutting down)', 'not-ready'),
  },
};
