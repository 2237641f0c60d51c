import { authProblems, keySecurity, problemResponse } from './schemas.js';

/**
 * OpenAPI descriptions of the workbench's endpoints (documentation only, like schemas.ts: the
 * handlers check their input themselves).
 */

/** Largest body of the pack edit endpoints: room for a YAML file at the loader's limit (8 MB), so that the loader refuses it as it refuses the file. */
export const PACK_EDIT_BODY_LIMIT = 12 * 1024 * 1024;
/** Most claims one what-if tries. */
export const WHAT_IF_MAX_CLAIMS = 500;

const diagnostics = { type: 'array', items: { $ref: 'PackDiagnostic#' } } as const;

const editBody = (extra: Record<string, unknown> = {}, required: string[] = []) => ({
  type: 'object',
  required: ['pack', 'files', ...required],
  properties: {
    pack: { type: 'string', description: 'The pack’s name (its folder). The edit takes the place of the loaded pack of that name; a new name is a new pack.' },
    files: {
      type: 'object',
      description:
        'Every file of the pack as edited, by path inside the pack folder: `pack.yaml`, `rules/NAME.yaml`, `tests/NAME.test.yaml`, `tests/fixtures/NAME.json|yaml` (at most 500). Data tables are the ones the service loaded for the pack.',
      additionalProperties: { type: 'string' },
    },
    ...extra,
  },
  examples: [{ pack: 'acme-health', files: { 'pack.yaml': 'name: acme-health\nversion: 1.0.0\n...' } }],
});

const editProblems = {
  400: problemResponse('Not an edit: no pack name, files that are not text, a path a pack cannot hold, no pack.yaml', 'invalid-request', 'invalid-json', 'forbidden-key', 'too-deep'),
  ...authProblems,
  413: problemResponse(`Body over ${PACK_EDIT_BODY_LIMIT / 1024 / 1024} MB`, 'body-too-large'),
  415: problemResponse('Not application/json', 'unsupported-media-type'),
};

const lintReport = {
  type: 'object',
  properties: {
    errors: { type: 'integer' },
    warnings: { type: 'integer' },
    diagnostics,
  },
};

export const lintSchema = {
  tags: ['workbench'],
  summary: 'Lint an edited pack (nothing is written)',
  description:
    'What `scrub lint` would say of the pack with these files, within the packs serving now: everything that stops it from loading (YAML syntax and limits: 8 MB, 64 levels, no aliases, anchors or merge keys; the schema; conditions, operators, regular expressions) and what loads but is almost certainly a mistake. ' +
    'Problems the edit causes in other packs (a payer pack overriding a rule that is gone) are reported at their own files. Always 200: the diagnostics are the answer. Nothing is written to disk and the serving packs do not change.',
  body: editBody(),
  security: keySecurity,
  response: { 200: { description: 'Errors and warnings, file:line:column', ...lintReport }, ...editProblems },
};

export const testSchema = {
  tags: ['workbench'],
  summary: 'Run the tests of an edited pack (nothing is written)',
  description:
    'Runs the edit’s test files (`tests/*.test.yaml`) against the serving packs with the edit in place, as `scrub test` does. When the edit does not load, `diagnostics` says why and no case runs. Nothing is written to disk.',
  body: editBody({ filter: { type: 'string', description: 'Run only cases whose rule id or name contains this text.' } }),
  security: keySecurity,
  response: {
    200: {
      description: 'Pass or fail per case, with what was expected and what the claim produced',
      type: 'object',
      properties: {
        diagnostics,
        passed: { type: 'integer' },
        failed: { type: 'integer' },
        cases: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              name: { type: 'string' },
              file: { type: 'string' },
              line: { type: 'integer' },
              column: { type: 'integer' },
              rule: { type: 'string' },
              passed: { type: 'boolean' },
              failures: { type: 'array', items: { type: 'string' } },
              expected: { type: 'array', items: { type: 'object' } },
              ok: { type: 'array', items: { type: 'string' } },
              actual: { type: 'array', items: { type: 'string' } },
            },
          },
        },
      },
    },
    ...editProblems,
  },
};

export const whatIfSchema = {
  tags: ['workbench'],
  summary: 'How an edited pack would change findings (nothing is written)',
  description:
    `Scrubs each claim with the serving packs and with the edit in place and returns the findings added and removed per claim. The claims are the text sent in \`claims\` (JSON, NDJSON, X12 837 or FHIR; at most ${WHAT_IF_MAX_CLAIMS}), ` +
    'or, with `"sample": "history"`, the most recently recorded claims (404 `history-off` when the service records none). Nothing is recorded or written.',
  body: editBody({
    claims: {
      oneOf: [
        { type: 'string', description: 'The text of a claim file in any supported format.' },
        { type: 'array', items: { type: 'object', required: ['name', 'text'], properties: { name: { type: 'string' }, text: { type: 'string' } } }, description: 'Several claim files, each named.' },
      ],
    },
    sample: { const: 'history', description: 'Instead of claims: the most recently recorded claims.' },
    asOf: { type: 'string', format: 'date', description: 'The date "today" means for date rules.' },
  }),
  security: keySecurity,
  response: {
    200: {
      description: 'The differences, per claim and per rule',
      type: 'object',
      properties: {
        source: { enum: ['request', 'history'] },
        diagnostics,
        claims: { type: 'integer' },
        changed: { type: 'integer' },
        newlyFailing: { type: 'integer' },
        newlyPassing: { type: 'integer' },
        byRule: { type: 'array', items: { type: 'object', properties: { ruleId: { type: 'string' }, added: { type: 'integer' }, removed: { type: 'integer' } } } },
        comparisons: { type: 'array', items: { type: 'object', additionalProperties: true } },
      },
    },
    ...editProblems,
    400: problemResponse('Not an edit, or claims that cannot be read', 'invalid-request', 'unreadable-claims', 'invalid-json'),
    404: problemResponse('"sample": "history" on a service without claim history, or whose history keeps no whole claims', 'history-off', 'history-claims-not-kept'),
    413: problemResponse(`More than ${WHAT_IF_MAX_CLAIMS} claims, or a body over ${PACK_EDIT_BODY_LIMIT / 1024 / 1024} MB`, 'batch-too-large', 'body-too-large'),
  },
};

export const sessionSchema = {
  tags: ['workbench'],
  summary: 'Who is calling, and what this service offers',
  description: 'Whether keys are required, the caller’s key name and role (admin may reload packs), and whether claim history is on.',
  security: keySecurity,
  response: {
    200: {
      description: 'The session',
      type: 'object',
      properties: {
        auth: { enum: ['on', 'off'] },
        key: { type: 'object', properties: { name: { type: 'string' }, role: { enum: ['scrub', 'admin'] } } },
        role: { enum: ['scrub', 'admin'] },
        history: { enum: ['on', 'off'] },
        historyClaims: { type: 'boolean', description: 'Whether an edit can be tried on recently recorded claims ("sample": "history").' },
        loadedAt: { type: 'string', format: 'date-time' },
        limits: { type: 'object', properties: { packEditBytes: { type: 'integer' }, whatIfClaims: { type: 'integer' } } },
      },
    },
    ...authProblems,
  },
};

const ruleSummary = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    title: { type: 'string' },
    pack: { type: 'string' },
    category: { type: 'string' },
    severity: { enum: ['error', 'warning', 'info'] },
    scope: { type: 'string' },
    codes: { type: 'array', items: { type: 'string' }, description: 'Codes and modifiers the conditions name (directly or through parameters)' },
    payers: { type: 'array', items: { type: 'string' }, description: 'Payer ids and types the rule is limited to or adjusted for' },
    overriddenBy: { type: 'array', items: { type: 'string' } },
  },
};

export const rulesSchema = {
  tags: ['workbench'],
  summary: 'Every loaded rule, to search',
  description: 'The packs serving now and a summary of each rule: id, title, pack, category, severity, the codes it names and the payers it concerns.',
  security: keySecurity,
  response: {
    200: {
      description: 'The catalog',
      type: 'object',
      properties: { loadedAt: { type: 'string' }, packs: { type: 'array', items: { type: 'object', additionalProperties: true } }, rules: { type: 'array', items: ruleSummary } },
    },
    ...authProblems,
  },
};

export const ruleSchema = {
  tags: ['workbench'],
  summary: 'One rule: policy, references, conditions in words, parameters, payer overrides, tests',
  security: keySecurity,
  params: { type: 'object', properties: { ruleId: { type: 'string' } } },
  response: {
    200: {
      description: 'The rule',
      type: 'object',
      additionalProperties: true,
      properties: {
        ...ruleSummary.properties,
        description: { type: 'string' },
        message: { type: 'string' },
        suggestion: { type: 'string' },
        references: { type: 'array', items: { type: 'object' } },
        conditions: { type: 'object', description: 'The conditions’ tree (all/any/not) with `text`, the condition in words, at each leaf' },
        conditionsText: { type: 'array', items: { type: 'string' }, description: 'The same as a Markdown list, as in the generated docs' },
        parameters: { type: 'array', items: { type: 'object' } },
        overrides: { type: 'array', items: { type: 'object' } },
        tests: { type: 'array', items: { type: 'object' } },
      },
    },
    ...authProblems,
    404: problemResponse('No loaded rule has that id', 'not-found'),
  },
};

export const activitySchema = {
  tags: ['workbench'],
  summary: 'How often a rule fired lately (claim history)',
  description: 'From the claim history: recorded claims in the last `days` days (default 30) and how many the rule fired on, by day. 404 `history-off` when the service records no claims.',
  security: keySecurity,
  params: { type: 'object', properties: { ruleId: { type: 'string' } } },
  querystring: { type: 'object', properties: { days: { type: 'integer', minimum: 1, maximum: 366 } } },
  response: {
    200: {
      description: 'The rule’s activity',
      type: 'object',
      properties: {
        ruleId: { type: 'string' },
        since: { type: 'string', format: 'date' },
        until: { type: 'string', format: 'date' },
        claims: { type: 'integer' },
        fired: { type: 'integer' },
        byDay: { type: 'array', items: { type: 'object', properties: { date: { type: 'string' }, fired: { type: 'integer' } } } },
      },
    },
    400: problemResponse('days out of range', 'invalid-request'),
    ...authProblems,
    404: problemResponse('No such rule, or claim history is off', 'not-found', 'history-off'),
  },
};

export const packFilesSchema = {
  tags: ['workbench'],
  summary: 'A pack’s files, to edit',
  description: 'The texts of the pack’s pack.yaml, rule files, test files and test fixtures as they are on disk now (which may be newer than the packs serving, until a reload).',
  security: keySecurity,
  params: { type: 'object', properties: { name: { type: 'string' } } },
  response: {
    200: {
      description: 'The files',
      type: 'object',
      properties: {
        name: { type: 'string' },
        files: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, file: { type: 'string' }, text: { type: 'string' } } } },
      },
    },
    ...authProblems,
    404: problemResponse('No loaded pack has that name', 'not-found'),
  },
};
