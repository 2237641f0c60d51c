import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { isIsoDate, todayIso } from '../../claim/dates.js';
import type { Scrubber } from '../../engine/scrubber.js';
import { readClaims } from '../../formats/index.js';
import type { ReadClaim } from '../../formats/types.js';
import type { WorkbenchHistory } from '../../history/activity.js';
import { editShapeProblems, type PackEdit } from '../../packs/edit.js';
import { describeType } from '../../util/text.js';
import { CatalogCache, packFiles } from '../../workbench/catalog.js';
import { lintEdit, testEdit, whatIf } from '../../workbench/pack-edits.js';
import { PROBLEMS, ProblemError } from '../problems.js';
import { PACK_EDIT_BODY_LIMIT, WHAT_IF_MAX_CLAIMS, activitySchema, lintSchema, packFilesSchema, ruleSchema, rulesSchema, sessionSchema, testSchema, whatIfSchema } from '../workbench-schemas.js';

/**
 * The API behind the workbench (and anyone else who wants it): the rule catalog and rule pages,
 * a pack's files for editing, and linting, testing and trying an edited pack without touching
 * the server's files. Reading needs the `scrub` role, like GET /v1/packs; nothing here changes
 * what the service serves (reloading stays POST /v1/packs/reload, admin).
 */

export interface WorkbenchApiOptions {
  /** The scrubber for this request: read once per request. */
  scrubber: () => Scrubber;
  /** Claim history, when the service records claims. */
  history?: WorkbenchHistory;
  /** Whether callers must present a key (the page asks for one only then). */
  authEnabled: boolean;
}

interface EditBody {
  pack?: unknown;
  files?: unknown;
}

/** The edit a request carries, checked for shape; its content is the loader's to judge. */
function editFrom(body: unknown): PackEdit {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ProblemError(PROBLEMS['invalid-request'], `The body must be a JSON object {"pack": NAME, "files": {PATH: TEXT}}, not ${describeType(body)}.`);
  }
  const { pack, files } = body as EditBody;
  if (typeof pack !== 'string') throw new ProblemError(PROBLEMS['invalid-request'], '"pack" must be the name of the pack, as text.');
  if (files === null || typeof files !== 'object' || Array.isArray(files)) {
    throw new ProblemError(PROBLEMS['invalid-request'], '"files" must be an object of file texts by path inside the pack, such as {"pack.yaml": "..."}.');
  }
  const entries = Object.entries(files as Record<string, unknown>);
  if (entries.length > MAX_EDIT_FILES) throw new ProblemError(PROBLEMS['invalid-request'], `An edit may hold at most ${MAX_EDIT_FILES} files; this one has ${entries.length}.`);
  const bad = entries.find(([, text]) => typeof text !== 'string');
  if (bad) throw new ProblemError(PROBLEMS['invalid-request'], `The file "${bad[0]}" must be given as text.`);
  const edit: PackEdit = { name: pack, files: Object.fromEntries(entries) as Record<string, string> };
  const problems = editShapeProblems(edit);
  if (problems.length > 0) throw new ProblemError(PROBLEMS['invalid-request'], `The edit cannot be tried: ${problems.join('; ')}.`, { problems });
  return edit;
}

const MAX_EDIT_FILES = 500;

function dateOption(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !isIsoDate(value)) throw new ProblemError(PROBLEMS['invalid-request'], `${name} must be a date written YYYY-MM-DD.`);
  return value;
}

/** The claims of a what-if: read from the text sent (any claim format), or recorded ones. */
async function whatIfClaims(body: Record<string, unknown>, history: WorkbenchHistory | undefined): Promise<{ source: 'request' | 'history'; claims: ReadClaim[] }> {
  if (body.sample === 'history') {
    if (!history) throw new ProblemError(PROBLEMS['history-off'], 'Claim history is off on this service: send the claims to try the edit on as "claims".');
    if (!history.recentClaims) {
      throw new ProblemError(
        PROBLEMS['history-claims-not-kept'],
        'The claim history keeps codes, dates and a patient key, never whole claims (they hold patient data), so an edit cannot be tried on recorded claims: send the claims to try it on as "claims".',
      );
    }
    const recorded = await history.recentClaims(WHAT_IF_MAX_CLAIMS);
    return { source: 'history', claims: recorded.map((r) => ({ kind: 'claim', input: r.claim, label: r.label, findings: [] })) };
  }
  if (body.sample !== undefined) throw new ProblemError(PROBLEMS['invalid-request'], '"sample" may only be "history".');
  const texts = typeof body.claims === 'string' ? [{ name: '', text: body.claims }] : body.claims;
  if (!Array.isArray(texts) || texts.length === 0 || !texts.every((t) => t !== null && typeof t === 'object' && typeof t.name === 'string' && typeof t.text === 'string')) {
    throw new ProblemError(
      PROBLEMS['invalid-request'],
      '"claims" must be the text of a claim file (JSON, NDJSON, X12 837 or FHIR), or a list of {"name", "text"} files; or send "sample": "history".',
    );
  }
  const claims: ReadClaim[] = [];
  for (const { name, text } of texts as Array<{ name: string; text: string }>) {
    const read = readClaims(text);
    const found = read.items.filter((i): i is ReadClaim => i.kind === 'claim');
    if (found.length === 0) {
      const first = read.problems[0]?.message ?? read.items.find((i) => i.kind === 'error')?.error.message ?? 'it holds no claim';
      throw new ProblemError(PROBLEMS['unreadable-claims'], `The claims${name ? ` of "${name}"` : ''} cannot be read: ${first}`);
    }
    claims.push(...found.map((c) => (name ? { ...c, label: `${name}: ${c.label}` } : c)));
  }
  if (claims.length > WHAT_IF_MAX_CLAIMS) throw new ProblemError(PROBLEMS['batch-too-large'], `A what-if tries at most ${WHAT_IF_MAX_CLAIMS} claims; these are ${claims.length}.`, { maxClaims: WHAT_IF_MAX_CLAIMS });
  return { source: 'request', claims };
}

async function workbenchApi(app: FastifyInstance, opts: WorkbenchApiOptions): Promise<void> {
  const cache = new CatalogCache();

  app.get('/v1/session', { config: { access: 'scrub' }, schema: sessionSchema }, async (request) => {
    const loadedAt = opts.scrubber().packSet.loadedAt;
    return {
      auth: opts.authEnabled ? 'on' : 'off',
      ...(request.apiKey ? { key: { name: request.apiKey.name, role: request.apiKey.role } } : {}),
      // Without keys everybody may do everything, reloading included.
      role: request.apiKey?.role ?? 'admin',
      history: opts.history ? 'on' : 'off',
      // Whether a what-if may run on recently recorded claims (a history that keeps whole claims).
      historyClaims: opts.history?.recentClaims !== undefined,
      loadedAt,
      limits: { packEditBytes: PACK_EDIT_BODY_LIMIT, whatIfClaims: WHAT_IF_MAX_CLAIMS },
    };
  });

  app.get('/v1/rules', { config: { access: 'scrub' }, schema: rulesSchema }, async () => {
    const packSet = opts.scrubber().packSet;
    return {
      loadedAt: packSet.loadedAt,
      packs: packSet.packs.map((p) => ({
        name: p.name,
        title: p.title,
        version: p.version,
        description: p.description,
        owner: p.owner,
        extends: p.extends,
        ...(p.appliesTo ? { appliesTo: p.appliesTo } : {}),
        rules: p.rules.length,
      })),
      rules: cache.catalog(packSet),
    };
  });

  app.get<{ Params: { ruleId: string } }>('/v1/rules/:ruleId', { config: { access: 'scrub' }, schema: ruleSchema }, async (request) => {
    const detail = await cache.detail(opts.scrubber().packSet, request.params.ruleId);
    if (!detail) throw new ProblemError(PROBLEMS['not-found'], `No loaded pack has a rule "${request.params.ruleId}".`);
    return detail;
  });

  app.get<{ Params: { ruleId: string }; Querystring: { days?: string } }>('/v1/rules/:ruleId/activity', { config: { access: 'scrub' }, schema: activitySchema }, async (request) => {
    const { ruleId } = request.params;
    if (!opts.scrubber().packSet.rulesById.has(ruleId)) throw new ProblemError(PROBLEMS['not-found'], `No loaded pack has a rule "${ruleId}".`);
    const days = request.query.days === undefined ? 30 : Number(request.query.days);
    if (!Number.isInteger(days) || days < 1 || days > 366) throw new ProblemError(PROBLEMS['invalid-request'], `days must be a whole number from 1 to 366, not "${request.query.days}".`);
    if (!opts.history) throw new ProblemError(PROBLEMS['history-off'], 'Claim history is off on this service, so how often a rule fired is not known.');
    const until = todayIso();
    const since = new Date(Date.parse(`${until}T00:00:00Z`) - (days - 1) * 86_400_000).toISOString().slice(0, 10);
    return opts.history.ruleActivity({ ruleId, since, until });
  });

  app.get<{ Params: { name: string } }>('/v1/packs/:name/files', { config: { access: 'scrub' }, schema: packFilesSchema }, async (request) => {
    const packSet = opts.scrubber().packSet;
    const pack = packSet.packs.find((p) => p.name === request.params.name);
    if (!pack) throw new ProblemError(PROBLEMS['not-found'], `No pack named "${request.params.name}" is loaded.`);
    return { name: pack.name, files: await packFiles(packSet, pack) };
  });

  // The edit endpoints: bodies up to the size of the largest pack file the loader reads.
  app.post('/v1/packs/lint', { config: { access: 'scrub' }, schema: lintSchema, bodyLimit: PACK_EDIT_BODY_LIMIT }, async (request) => {
    const edit = editFrom(request.body);
    const report = await lintEdit(opts.scrubber().packSet, edit);
    request.logSummary = { pack: edit.name, files: Object.keys(edit.files).length, errors: report.errors, warnings: report.warnings };
    return report;
  });

  app.post('/v1/packs/test', { config: { access: 'scrub' }, schema: testSchema, bodyLimit: PACK_EDIT_BODY_LIMIT }, async (request) => {
    const edit = editFrom(request.body);
    const filter = (request.body as { filter?: unknown }).filter;
    if (filter !== undefined && typeof filter !== 'string') throw new ProblemError(PROBLEMS['invalid-request'], '"filter" must be text.');
    const report = await testEdit(opts.scrubber(), edit, filter);
    request.logSummary = { pack: edit.name, passed: report.passed, failed: report.failed, problems: report.diagnostics.length };
    return report;
  });

  app.post('/v1/packs/what-if', { config: { access: 'scrub' }, schema: whatIfSchema, bodyLimit: PACK_EDIT_BODY_LIMIT }, async (request) => {
    const edit = editFrom(request.body);
    const body = request.body as Record<string, unknown>;
    const asOf = dateOption(body.asOf, 'asOf');
    const { source, claims } = await whatIfClaims(body, opts.history);
    const report = await whatIf(opts.scrubber(), edit, claims, asOf ? { asOf } : {});
    request.logSummary = { pack: edit.name, claims: report.claims, changed: report.changed };
    return { source, ...report };
  });
}

export default fp(workbenchApi, { name: 'workbench-api', fastify: '5.x', dependencies: ['problems'] });
