import cluster from 'node:cluster';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import type { CliIo } from '../cli/io.js';
import { write } from '../cli/io.js';
import type { ServiceConfig } from '../config.js';
import { ClaimHistory } from '../history/claim-history.js';
import type { HistoryConfig } from '../history/config.js';
import { LOG_REDACTION, buildApp } from '../http/app.js';
import { adjustmentCodesFrom, type AdjustmentCodes } from '../remits/codes.js';
import { ScrubMetrics } from '../http/plugins/metrics.js';
import { loadPacksOrReport } from '../cli/load-packs.js';
import { Scrubber } from '../engine/scrubber.js';
import { openBatchQueue, type BatchQueue } from '../queue/batch-queue.js';
import { HEARTBEAT_MS, METRICS_COLLECT_TIMEOUT_MS, isScrubMessage, sendToPrimary as send, whenPrimaryGone, type PrimaryMessage, type WorkerMessage } from './ipc.js';
import { ServerConnections } from './connections.js';
import { PackHolder, type ReloadOutcome } from './pack-holder.js';
import type { ServiceState } from './state.js';
import { todayIso } from '../claim/dates.js';
import { tableLogEntries } from '../tables/status.js';
import { watchRules } from './watch.js';

/**
 * One serving process: `scrub serve --workers 1` (the whole service), or one cluster worker
 * (reloads and /metrics then go through the primary, which keeps every worker in step).
 */

export const EXIT_CODES = { ok: 0, deadlinePassed: 1, packsBroken: 2 } as const;

/** Set by the cluster primary for its workers: when the pack set now serving was loaded. */
export const CLUSTER_LOADED_AT = 'SCRUB_INTERNAL_PACKS_LOADED_AT';

export function loggerOptions(config: ServiceConfig, base: Record<string, unknown>) {
  return { level: config.logLevel, redact: LOG_REDACTION, base: { pid: process.pid, ...base } };
}

/** Runs until SIGTERM/SIGINT (or, for a worker, the primary's exit) and resolves with the exit code. */
export async function runServiceProcess(config: ServiceConfig, io: CliIo): Promise<number> {
  const worker = cluster.isWorker ? cluster.worker : undefined;
  // First of all: SIGTERM may come while the packs load (the primary sends it to a worker that
  // is still starting when the service stops).
  const stops = new StopRequests(worker !== undefined);
  const packSet = await loadPacksOrReport(config.rulesDir, io);
  if (!packSet) return EXIT_CODES.packsBroken;
  const history = config.history ? await openHistoryOrReport(config.history, io) : undefined;
  if (history === null) return EXIT_CODES.packsBroken;
  let remitCodes: AdjustmentCodes;
  try {
    remitCodes = await adjustmentCodesFrom(io.env, io.cwd);
  } catch (err) {
    await write(io.stderr, `Cannot start: ${(err as Error).message}\n`);
    await history?.close();
    return EXIT_CODES.packsBroken;
  }
  // In a cluster, the primary says when the set was loaded, so that every worker says the same.
  const scrubberOptions = { engine: config.engine };
  const holder = new PackHolder(config.rulesDir, new Scrubber(packSet, scrubberOptions), (worker && process.env[CLUSTER_LOADED_AT]) || packSet.loadedAt, { env: io.env }, scrubberOptions);
  const state: ServiceState = { packs: holder, shuttingDown: false, draining: false };
  const metrics = new ScrubMetrics();
  const bridge = worker ? new PrimaryBridge(holder, metrics) : undefined;
  let queue: BatchQueue | undefined;
  try {
    queue = await openBatchQueue(io.env, io.cwd);
  } catch (err) {
    await write(io.stderr, `Cannot use the queue for asynchronous batches (SCRUB_NATS_URL): ${(err as Error).message}\n`);
    await history?.close();
    return EXIT_CODES.packsBroken;
  }

  const app = await buildApp({
    packs: holder,
    state,
    metrics,
    config,
    // With N workers each counts its own requests against its share of the key's budget.
    processes: worker ? config.workers : 1,
    logger: loggerOptions(config, worker ? { worker: worker.id } : {}),
    ...(queue ? { queue } : {}),
    ...(bridge ? { reload: (trigger: string) => bridge.reloadEverywhere(trigger), collectMetrics: () => bridge.clusterMetrics() } : {}),
    ...(history ? { history } : {}),
    remitCodes,
  });
  if (history) app.addHook('onClose', () => history.close());

  const connections = new ServerConnections(app.server, app.log, { headersTimeoutMs: config.timeouts.headersMs, ...(config.maxConnections !== undefined ? { configured: config.maxConnections } : {}) });
  metrics.observeConnections(() => connections.figures());

  let address: string;
  try {
    stops.starting();
    address = await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    await write(io.stderr, `Cannot listen on ${config.host}:${config.port}: ${e.code === 'EADDRINUSE' ? 'the port is in use' : e.message}\n`);
    await history?.close();
    await app.close();
    return EXIT_CODES.packsBroken;
  }
  const serving = holder.describe();
  // Each table's editions and how current they are, a warning for a table whose coverage ended;
  // before "listening", so that whoever waits for that line has them.
  for (const entry of tableLogEntries(holder.current().packSet.packs, todayIso())) app.log[entry.level](entry.fields, entry.message);
  app.log.info({ address, packs: serving.packs, rules: serving.rules, rulesDir: config.rulesDir }, 'listening');
  connections.logBudget();
  if (worker) {
    send({ type: 'scrub:listening', address, packs: serving.packs.length, rules: serving.rules, loadedAt: serving.loadedAt });
    // The primary replaces a worker that stops receiving connections while the others do.
    setInterval(() => send({ type: 'scrub:heartbeat', accepted: connections.figures().accepted, stopping: state.shuttingDown }), HEARTBEAT_MS).unref();
  } else {
    await write(io.stdout, listeningBanner(address, 1, serving.packs.length, serving.rules, config) + '\n');
  }

  const stopWatching = config.watch && !worker ? startWatching(config, app, () => holder.reload('files changed')) : () => undefined;
  // One process purges (the first worker in a cluster): the store is shared.
  const stopPurging = history && (!worker || worker.id === 1) ? schedulePurge(history, app) : () => undefined;

  return new Promise<number>((resolve) => {
    let stopping: Promise<number> | undefined;
    const stop = (reason: string) => {
      stopping ??= shutDown(app, state, config, reason).then(async (code) => {
        stopWatching();
        await queue?.close().catch(() => undefined);
        stopPurging();
        return code;
      });
      void stopping.then(resolve);
    };
    if (worker) {
      // The primary forwards SIGHUP to every worker as a reload; a SIGHUP sent to a worker
      // itself (say, a terminal closing) must not kill it.
      process.on('SIGHUP', () => app.log.info('SIGHUP ignored by a worker: send it to the primary to reload every worker'));
    } else {
      process.on('SIGHUP', () => void holder.reload('SIGHUP'));
    }
    stops.listening(stop);
  });
}

/**
 * SIGTERM, SIGINT (the cluster primary stops its workers with SIGTERM too) and, in a cluster, the
 * primary's exit. Before the process starts to listen a stop ends it at once (it serves nothing
 * yet); while it starts to listen the stop waits; once it listens, the stop is the graceful one
 * (`shutDown`).
 */
class StopRequests {
  private phase: 'loading' | 'starting' | 'listening' = 'loading';
  private pending: string | undefined;
  private stop: ((reason: string) => void) | undefined;

  constructor(inCluster: boolean) {
    process.on('SIGTERM', () => this.request('SIGTERM'));
    process.on('SIGINT', () => this.request('SIGINT'));
    if (!inCluster) return;
    // The port went with the primary: finish the requests held, then exit.
    whenPrimaryGone(() => this.request('primary exited'));
  }

  private request(reason: string): void {
    if (this.phase === 'loading') process.exit(EXIT_CODES.ok);
    if (this.stop) this.stop(reason);
    else this.pending ??= reason;
  }

  /** About to listen: from now on a stop is graceful. */
  starting(): void {
    this.phase = 'starting';
  }

  listening(stop: (reason: string) => void): void {
    this.phase = 'listening';
    this.stop = stop;
    if (this.pending) stop(this.pending);
  }
}

export function listeningBanner(address: string, workers: number, packs: number, rules: number, config: Pick<ServiceConfig, 'rulesDir' | 'auth'>): string {
  const key = config.auth.enabled ? `-H "Authorization: Bearer $KEY" ` : '';
  return (
    `Claim scrubber listening on ${address} (${workers} worker${workers === 1 ? '' : 's'}) with ${packs} packs (${rules} rules) from ${config.rulesDir}\n` +
    `Try: curl -s ${key}${address}/v1/packs   (${key ? 'KEY: one of your API keys; ' : ''}API docs: ${address}/docs)`
  );
}

/** Opens the claim history; null (after saying why) when it cannot be used. */
async function openHistoryOrReport(config: HistoryConfig, io: CliIo): Promise<ClaimHistory | null> {
  try {
    return await ClaimHistory.open(config);
  } catch (err) {
    await write(io.stderr, `Cannot start: the claim history cannot be used: ${(err as Error).message}\n`);
    return null;
  }
}

const DAY_MS = 24 * 3600_000;

/**
 * Retention, enforced: claims whose last date of service is older than
 * SCRUB_HISTORY_RETENTION_DAYS are removed a minute after start, then daily.
 */
function schedulePurge(history: ClaimHistory, app: FastifyInstance): () => void {
  const purge = async () => {
    try {
      const { removed, before } = await history.purge();
      app.log.info({ removed, before, retentionDays: history.retentionDays }, 'claim history purged');
    } catch (err) {
      app.log.error({ err: { message: (err as Error).message } }, 'claim history purge failed; it is tried again tomorrow');
    }
  };
  const first = setTimeout(() => void purge(), 60_000).unref();
  const daily = setInterval(() => void purge(), DAY_MS).unref();
  return () => {
    clearTimeout(first);
    clearInterval(daily);
  };
}

function startWatching(config: ServiceConfig, app: FastifyInstance, reload: () => Promise<ReloadOutcome>): () => void {
  app.log.info({ rulesDir: config.rulesDir }, 'watching the rules folder: packs reload when files change');
  return watchRules(
    config.rulesDir,
    () => void reload(),
    (err) => app.log.warn({ err: { message: err.message } }, 'cannot watch the rules folder; reload with SIGHUP or POST /v1/packs/reload instead'),
  );
}

/**
 * Readiness turns false, then (after SCRUB_SHUTDOWN_DELAY_MS, for load balancers to notice)
 * the server stops accepting and waits for the requests in flight, at most
 * SCRUB_SHUTDOWN_DEADLINE_MS. Exit 0 when every request finished, 1 when the deadline cut some.
 */
export async function shutDown(app: FastifyInstance, state: ServiceState, config: ServiceConfig, reason: string): Promise<number> {
  state.shuttingDown = true;
  app.log.info({ reason, delayMs: config.shutdown.delayMs, deadlineMs: config.shutdown.deadlineMs }, 'shutting down: not ready any more; finishing the requests in flight');
  if (config.shutdown.delayMs > 0) await sleep(config.shutdown.delayMs);
  state.draining = true;
  let deadlineTimer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>((resolve) => {
    deadlineTimer = setTimeout(() => resolve('deadline'), config.shutdown.deadlineMs);
  });
  const closed = app.close().then(() => 'closed' as const);
  const first = await Promise.race([closed, deadline]);
  clearTimeout(deadlineTimer);
  if (first === 'deadline') {
    app.log.error({ deadlineMs: config.shutdown.deadlineMs }, 'shutdown deadline passed: closing the connections still open; their requests are cut');
    app.server.closeAllConnections();
    await closed.catch(() => undefined);
    return EXIT_CODES.deadlinePassed;
  }
  app.log.info('stopped: every request in flight finished');
  return EXIT_CODES.ok;
}


/** A worker's side of the conversation with the primary. */
class PrimaryBridge {
  private nextId = 1;
  private readonly waiting = new Map<number, (message: PrimaryMessage) => void>();
  private readonly prepared = new Map<number, Scrubber>();

  constructor(
    private readonly holder: PackHolder,
    private readonly metrics: ScrubMetrics,
  ) {
    process.on('message', (message: unknown) => {
      if (isScrubMessage(message)) void this.handle(message as PrimaryMessage);
    });
  }

  private async handle(message: PrimaryMessage): Promise<void> {
    switch (message.type) {
      case 'scrub:prepare': {
        const result = await this.holder.prepare();
        if (result.ok) {
          this.prepared.set(message.id, result.scrubber);
          send({ type: 'scrub:prepared', id: message.id, ok: true });
        } else {
          send({ type: 'scrub:prepared', id: message.id, ok: false, diagnostics: result.diagnostics });
        }
        return;
      }
      case 'scrub:commit': {
        const scrubber = this.prepared.get(message.id);
        this.prepared.delete(message.id);
        if (scrubber) this.holder.commit(scrubber, message.loadedAt);
        const outcome = this.holder.describe();
        this.holder.notify(outcome, message.trigger);
        send({ type: 'scrub:committed', id: message.id, outcome });
        return;
      }
      case 'scrub:abort':
        this.prepared.delete(message.id);
        this.holder.notify(message.outcome, message.trigger);
        return;
      case 'scrub:metrics-collect':
        send({ type: 'scrub:metrics', id: message.id, metrics: await this.metrics.registry.getMetricsAsJSON() });
        return;
      case 'scrub:reload-response':
      case 'scrub:metrics-response':
        this.waiting.get(message.id)?.(message);
        this.waiting.delete(message.id);
        return;
    }
  }

  private ask(build: (id: number) => WorkerMessage, timeoutMs?: number): Promise<PrimaryMessage> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (!process.connected) {
        reject(new Error('the cluster primary has exited'));
        return;
      }
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`the cluster primary did not answer within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.waiting.set(id, (message) => {
        clearTimeout(timer);
        resolve(message);
      });
      send(build(id));
    });
  }

  /** A reload answered by one worker reloads all of them: the primary runs it. */
  async reloadEverywhere(trigger: string): Promise<ReloadOutcome> {
    const answer = await this.ask((id) => ({ type: 'scrub:reload-request', id, trigger }));
    if (answer.type !== 'scrub:reload-response') throw new Error(`unexpected answer ${answer.type}`);
    return answer.outcome;
  }

  /** Every worker's metrics, summed by the primary. */
  async clusterMetrics(): Promise<string> {
    const answer = await this.ask((id) => ({ type: 'scrub:metrics-request', id }), METRICS_COLLECT_TIMEOUT_MS + 3000);
    if (answer.type !== 'scrub:metrics-response') throw new Error(`unexpected answer ${answer.type}`);
    if (answer.error) throw new Error(`the primary could not collect the workers' metrics: ${answer.error}`);
    return answer.text;
  }
}
