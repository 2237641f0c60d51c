import { readFileSync } from 'node:fs';
import path from 'node:path';
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { defaultServiceConfig, type ServiceConfig } from '../config.js';
import { todayIso } from '../claim/dates.js';
import type { Scrubber } from '../engine/scrubber.js';
import type { ClaimHistory } from '../history/claim-history.js';
import { formatDiagnostic } from '../packs/diagnostics.js';
import { discardRestOfBody } from './discard-body.js';
import { packageRoot } from '../paths.js';
import { PackHolder, type ReloadOutcome } from '../service/pack-holder.js';
import type { BatchQueue } from '../queue/batch-queue.js';
import type { ServiceState } from '../service/state.js';
import { tableLogEntries, tableStatuses } from '../tables/status.js';
import { parseSafeJson, type SafeJsonProblem } from '../util/safe-json.js';
import accessLog from './plugins/access-log.js';
import auth from './plugins/auth.js';
import docs from './plugins/docs.js';
import metricsPlugin, { ScrubMetrics } from './plugins/metrics.js';
import problems, { clientErrorHandler, frameworkErrorHandler } from './plugins/problems.js';
import rateLimit from './plugins/rate-limit.js';
import security from './plugins/security.js';
import { PROBLEMS, ProblemError } from './problems.js';
import { requestIdOf } from './request-id.js';
import health from './routes/health.js';
import batches, { enqueueBatch } from './routes/batches.js';
import packs from './routes/packs.js';
import scrub from './routes/scrub.js';
import workbenchApi from './routes/workbench-api.js';
import workbenchPage from './routes/workbench-page.js';
import type { WorkbenchHistory } from '../history/activity.js';
import { AdjustmentCodes } from '../remits/codes.js';
import remits from './routes/remits.js';

export interface AppOptions {
  /** The packs serving, and how they are replaced. */
  packs?: PackHolder;
  /** Instead of `packs`: the scrubber to start with (a reload re-reads its rules folder). */
  scrubber?: () => Scrubber;
  /** The service configuration; tests give only what they change. */
  config?: Partial<ServiceConfig>;
  /** Largest accepted request body, in bytes (same as config.bodyLimit). */
  bodyLimit?: number;
  logger?: FastifyServerOptions['logger'];
  /** Shared with the process: set `shuttingDown` to turn readiness false. */
  state?: ServiceState;
  /** Reloads every process that serves; default: this process's packs. */
  reload?: (trigger: string) => Promise<ReloadOutcome>;
  /** Processes serving the port that split the rate limit (cluster workers); default 1. */
  processes?: number;
  /** The metrics text for /metrics; default: this process's own (cluster: all workers). */
  collectMetrics?: () => Promise<string>;
  metrics?: ScrubMetrics;
  /** The claim queue for asynchronous batches (?async=true); none: they are refused with 501. */
  queue?: BatchQueue;
  /** The claim history, when one is configured (the caller opens and closes it). */
  history?: ClaimHistory;
  /** What the workbench shows of the claim history (rule activity, recorded claims for a what-if). */
  workbenchHistory?: WorkbenchHistory;
  /** CARC/RARC descriptions for remittances and reports (official lists a deployment loads); default: the bundled ones. */
  remitCodes?: AdjustmentCodes;
  /** The built workbench page; default: dist/web in the package. */
  workbenchDir?: string;
}

const JSON_PROBLEMS: Record<SafeJsonProblem, keyof typeof PROBLEMS> = {
  'invalid-json': 'invalid-json',
  'empty-body': 'empty-body',
  'too-deep': 'too-deep',
  'forbidden-key': 'forbidden-key',
};

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/** How often Node checks the header and request timeouts of open connections. */
export const HEADERS_CHECK_MS = 1000;

/** Log settings that keep protected health information out of the logs. */
export const LOG_REDACTION = {
  paths: [
    'req.headers.authorization',
    'req.headers["x-api-key"]',
    'req.headers.cookie',
    'headers.authorization',
    'headers["x-api-key"]',
    'body',
    'req.body',
    'claim',
    'input',
    'err.rawPacket',
    'rawPacket',
  ],
  censor: '[redacted]',
};

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

const packageVersion = (JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const config: ServiceConfig = { ...defaultServiceConfig(), ...options.config };
  if (options.bodyLimit !== undefined) config.bodyLimit = options.bodyLimit;
  const holder = options.packs ?? holderFrom(options.scrubber);
  const state: ServiceState = options.state ?? { packs: holder, shuttingDown: false, draining: false };
  const metrics = options.metrics ?? new ScrubMetrics();
  metrics.watchTables(() => tableStatuses(holder.current().packSet.packs, todayIso()));

  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: config.bodyLimit,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // The caller's X-Request-Id only when it is a short token; see request-id.ts.
    requestIdHeader: false,
    genReqId: (req) => requestIdOf(req.headers['x-request-id']),
    requestTimeout: config.timeouts.requestMs,
    // Headers must arrive within this, from the connection's opening: a connection that sends
    // nothing is closed after it. Node checks every connectionsCheckingInterval (default 30 s,
    // which made the effective timeout up to 30 s longer than the one set).
    http: { requestTimeout: config.timeouts.requestMs, headersTimeout: config.timeouts.headersMs, connectionsCheckingInterval: HEADERS_CHECK_MS },
    connectionTimeout: config.timeouts.idleMs,
    keepAliveTimeout: config.timeouts.keepAliveMs,
    // While closing, requests on kept-alive connections get our problem+json (below).
    return503OnClosing: false,
    clientErrorHandler,
    frameworkErrors: frameworkErrorHandler,
    // The access-log plugin writes one line per request instead.
    logController: new LogController({ disableRequestLogging: true }),
  });
  // Route schemas document the API (OpenAPI); they never validate or reshape a request or a
  // response. Claims must reach the scrubber exactly as sent, and results must be written
  // byte for byte as the CLI writes them.
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  // JSON only; anything else gets 415. Read as bytes so that text that is not UTF-8 is refused
  // rather than silently "repaired".
  app.removeContentTypeParser(['text/plain', 'application/json']);
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body: string | Buffer, done) => {
    let text: string;
    try {
      text = typeof body === 'string' ? body : strictUtf8.decode(body);
    } catch {
      done(new ProblemError(PROBLEMS['invalid-json'], 'The body cannot be used: it is not valid UTF-8 text.'));
      return;
    }
    const parsed = parseSafeJson(text);
    if (parsed.ok) done(null, parsed.value);
    else done(new ProblemError(PROBLEMS[JSON_PROBLEMS[parsed.problem]], `The body cannot be used: ${parsed.message}.`));
  });
  app.addHook('onRequest', async (request, reply) => {
    // Shutting down: answer as usual, and close the connection after the answer, so that no
    // kept-alive connection is left for the close to cut under a request on its way.
    if (state.shuttingDown) void reply.header('connection', 'close');
    if (state.draining) {
      // Read (and drop) the body first, so that closing after the answer cannot reset it.
      await discardRestOfBody(request.raw, 1000);
      void reply.header('connection', 'close');
      throw new ProblemError(PROBLEMS['shutting-down'], 'The service is shutting down and takes no new requests; send this one again (another instance will answer).');
    }
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  holder.onReload((outcome, trigger) => {
    metrics.observeReload(outcome);
    if (outcome.ok) {
      app.log.info({ trigger, loadedAt: outcome.loadedAt, packs: outcome.packs }, 'packs reloaded');
      for (const entry of tableLogEntries(holder.current().packSet.packs, todayIso())) if (entry.level === 'warn') app.log.warn(entry.fields, entry.message);
    } else {
      const errors = outcome.diagnostics.filter((d) => d.severity === 'error');
      app.log.error({ trigger, problems: errors.length, diagnostics: errors.map(formatDiagnostic) }, 'packs NOT reloaded: the packs have errors; the old set keeps serving');
    }
  });

  await app.register(problems);
  await app.register(accessLog);
  await app.register(security, { corsOrigins: config.corsOrigins });
  await app.register(
    auth,
    config.auth.enabled
      ? { keys: config.auth.keys, ...(config.authFailureLimit ? { failureLimit: config.authFailureLimit } : {}) }
      : { offReason: offReason(config.auth) },
  );
  if (config.rateLimit) await app.register(rateLimit, { ...config.rateLimit, processes: options.processes ?? 1 });
  // Before any route: it documents the routes registered after it.
  await app.register(docs, { version: packageVersion });
  await app.register(metricsPlugin, { metrics, serving: holder.describe(), cacheMs: config.metricsCacheMs, ...(options.collectMetrics ? { collect: options.collectMetrics } : {}) });
  await app.register(health, { state, ...(options.history ? { history: options.history } : {}) });
  await app.register(packs, { packs: holder, reload: options.reload ?? ((trigger) => holder.reload(trigger)) });
  await app.register(scrub, {
    scrubber: () => holder.current(),
    ...(options.history ? { history: options.history } : {}),
    batch: { maxClaims: config.batch.maxClaims, maxJsonClaims: config.batch.maxJsonClaims, jsonBodyLimit: config.batch.jsonBodyLimit, maxLineBytes: config.bodyLimit },
    enqueue: (request, items, scrubOptions, limitAs) => enqueueBatch(options.queue, request, items, scrubOptions, config.batch.maxClaims, limitAs),
  });
  await app.register(batches, { queue: options.queue });
  await app.register(remits, {
    ...(options.history ? { history: options.history } : {}),
    codes: options.remitCodes ?? AdjustmentCodes.BUNDLED,
    scrubber: () => holder.current(),
    bodyLimit: config.batch.jsonBodyLimit,
    maxPayments: config.batch.maxClaims,
  });
  // The workbench reads the claim history the service records into, unless a test gives its own.
  const workbenchHistory = options.workbenchHistory ?? options.history?.workbench();
  await app.register(workbenchApi, { scrubber: () => holder.current(), authEnabled: config.auth.enabled, ...(workbenchHistory ? { history: workbenchHistory } : {}) });
  await app.register(workbenchPage, options.workbenchDir ? { assetsDir: options.workbenchDir } : {});
  return app;
}

function offReason(auth: ServiceConfig['auth'] & { enabled: false }): string {
  if (auth.reason === 'no-keys') return 'no API keys are configured';
  return `SCRUB_AUTH=off${auth.ignoredKeys > 0 ? `; the ${auth.ignoredKeys} configured key${auth.ignoredKeys === 1 ? ' is' : 's are'} ignored` : ''}`;
}

function holderFrom(scrubber: (() => Scrubber) | undefined): PackHolder {
  if (!scrubber) throw new Error('buildApp needs `packs` or `scrubber`');
  const initial = scrubber();
  return new PackHolder(initial.packSet.dir, initial);
}
