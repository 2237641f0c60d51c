import cluster, { type Worker } from 'node:cluster';
import net from 'node:net';
import { pino, type Logger } from 'pino';
import { AggregatorRegistry, Gauge } from 'prom-client';
import { write, type CliIo } from '../cli/io.js';
import type { ServiceConfig } from '../config.js';
import { formatDiagnostic } from '../packs/diagnostics.js';
import { cachedFor } from '../util/cached.js';
import { ConnectionWatch } from './connection-watch.js';
import { fileLimit } from './connections.js';
import { HEARTBEAT_MS, METRICS_COLLECT_TIMEOUT_MS, isScrubMessage, sendToWorker, survivePeerLoss, type PrimaryMessage, type WorkerMessage } from './ipc.js';
import type { ReloadOutcome } from './pack-holder.js';
import { CLUSTER_LOADED_AT, EXIT_CODES, listeningBanner, loggerOptions } from './process.js';
import { watchRules } from './watch.js';

/**
 * The cluster primary (`scrub serve --workers N`, N > 1): it serves nothing itself. It starts N
 * workers on one port, restarts one that dies, replaces one that stops receiving connections
 * (see connection-watch.ts), runs every reload (SIGHUP, file changes, or POST /v1/packs/reload
 * answered by any worker) on all workers at once, sums their metrics, and on SIGTERM drains
 * them all.
 */

/** How long a worker may take to answer a reload step before the reload is given up. */
const RELOAD_STEP_TIMEOUT_MS = 60_000;
/** Restarts allowed in RESTART_WINDOW_MS before the primary stops restarting and exits. */
const MAX_RESTARTS = 10;
const RESTART_WINDOW_MS = 60_000;

interface WorkerInfo {
  worker: Worker;
  /** Listening, so it takes part in reloads. */
  ready: boolean;
  /** Started in place of a worker that died or was retired. */
  replacement: boolean;
  /** Stopped receiving connections: a replacement was started, and this one is draining. */
  retired?: boolean;
}

/** Where the primary connects to probe its own port: the address the workers listen on. */
function probeHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

export async function runPrimary(config: ServiceConfig, io: CliIo): Promise<number> {
  const log: Logger = pino(loggerOptions(config, { role: 'primary' }));
  // When the set every worker serves was loaded: set by the first worker, given to the workers
  // started after it, changed by each reload.
  let servingLoadedAt: string | undefined;

  const workers = new Map<number, WorkerInfo>();
  let shuttingDown = false;
  let exitCode: number = EXIT_CODES.ok;
  let announced = false;
  const restarts: number[] = [];
  let reloadQueue: Promise<unknown> = Promise.resolve();
  let nextId = 1;
  const answerWaiters = new Map<string, (message: WorkerMessage) => void>();

  let finish!: (code: number) => void;
  const finished = new Promise<number>((resolve) => (finish = resolve));

  let port: number | undefined;
  const watch = new ConnectionWatch({
    openProbe: () => {
      const probe = net.connect(port!, probeHost(config.host));
      probe.on('error', () => undefined);
      return () => probe.destroy();
    },
  });
  const watching = setInterval(() => {
    if (!announced || shuttingDown) return;
    for (const id of watch.starved()) retire(id);
  }, HEARTBEAT_MS);
  watching.unref();

  /** A worker that no longer receives connections: start another, and let this one drain. */
  function retire(id: number): void {
    const info = workers.get(id);
    watch.forget(id);
    if (!info || info.retired) return;
    info.retired = true;
    log.error(
      { worker: id, workerPid: info.worker.process.pid },
      'worker stopped receiving connections (out of file descriptors, or a connection was lost on its way to it): starting another in its place and draining it',
    );
    fork(true);
    info.worker.process.kill('SIGTERM');
  }

  const fork = (replacement = false) => {
    const worker = cluster.fork(servingLoadedAt ? { [CLUSTER_LOADED_AT]: servingLoadedAt } : {});
    workers.set(worker.id, { worker, ready: false, replacement });
    worker.on('message', (message: unknown) => {
      if (isScrubMessage(message)) void onMessage(worker, message as WorkerMessage);
    });
    // Its 'exit' follows, and replaces it.
    survivePeerLoss(worker, () => log.warn({ worker: worker.id }, 'a message to a worker was lost: the worker has gone'));
    return worker;
  };


  async function onMessage(worker: Worker, message: WorkerMessage): Promise<void> {
    switch (message.type) {
      case 'scrub:listening': {
        const info = workers.get(worker.id);
        if (info) info.ready = true;
        log.info({ worker: worker.id, workerPid: worker.process.pid }, 'worker listening');
        port ??= Number(new URL(message.address).port);
        if (servingLoadedAt === undefined) {
          // The first worker loaded the packs without trouble: start the others (unless the
          // shutdown has begun meanwhile: a worker started now would serve after it).
          servingLoadedAt = message.loadedAt;
          if (!shuttingDown) for (let i = 1; i < config.workers; i++) fork();
        }
        // A replacement loaded the packs on disk, which may have changed since the others
        // loaded theirs: reload every worker, so that all serve one set again.
        if (info?.replacement && !shuttingDown) void reloadAll('worker replaced');
        if (!announced && [...workers.values()].filter((w) => w.ready).length === config.workers) {
          announced = true;
          await write(io.stdout, listeningBanner(message.address, config.workers, message.packs, message.rules, config) + '\n');
        }
        return;
      }
      case 'scrub:reload-request': {
        const outcome = await reloadAll(message.trigger);
        sendToWorker(worker, { type: 'scrub:reload-response', id: message.id, outcome });
        return;
      }
      case 'scrub:metrics-request': {
        try {
          sendToWorker(worker, { type: 'scrub:metrics-response', id: message.id, text: await clusterMetrics() });
        } catch (err) {
          sendToWorker(worker, { type: 'scrub:metrics-response', id: message.id, text: '', error: (err as Error).message });
        }
        return;
      }
      case 'scrub:heartbeat':
        if (!workers.get(worker.id)?.retired) watch.report(worker.id, message.accepted, message.stopping);
        return;
      case 'scrub:prepared':
      case 'scrub:committed':
      case 'scrub:metrics':
        answerWaiters.get(`${message.type}:${message.id}:${worker.id}`)?.(message);
        return;
    }
  }

  /**
   * Sends a message to each worker and waits for each one's answer; undefined for a worker that
   * exited or did not answer within `timeoutMs`.
   */
  function askEach(targets: WorkerInfo[], message: PrimaryMessage & { id: number }, answer: WorkerMessage['type'], timeoutMs: number): Promise<Array<WorkerMessage | undefined>> {
    return Promise.all(
      targets.map(
        ({ worker }) =>
          new Promise<WorkerMessage | undefined>((resolve) => {
            const key = `${answer}:${message.id}:${worker.id}`;
            const done = (m: WorkerMessage | undefined) => {
              clearTimeout(timer);
              answerWaiters.delete(key);
              worker.off('exit', onExit);
              resolve(m);
            };
            const onExit = () => done(undefined);
            const timer = setTimeout(() => done(undefined), timeoutMs);
            answerWaiters.set(key, done);
            worker.once('exit', onExit);
            sendToWorker(worker, message);
          }),
      ),
    );
  }

  /**
   * Every worker's metrics, summed: those that arrive within METRICS_COLLECT_TIMEOUT_MS, with a
   * gauge of the workers that did not answer. One collection serves every scrape for
   * SCRUB_METRICS_CACHE_MS, so frequent scrapes cost the workers little.
   */
  const clusterMetrics = cachedFor(config.metricsCacheMs, async () => {
    const targets = [...workers.values()].filter((w) => w.ready && w.worker.isConnected());
    const answers = await askEach(targets, { type: 'scrub:metrics-collect', id: nextId++ }, 'scrub:metrics', METRICS_COLLECT_TIMEOUT_MS);
    const arrived = answers.flatMap((m) => (m?.type === 'scrub:metrics' ? [m.metrics] : []));
    const registry = AggregatorRegistry.aggregate(arrived);
    const missing = targets.length - arrived.length;
    new Gauge({
      name: 'scrub_metrics_workers_missing',
      help: `Workers whose figures this answer lacks: they did not send them within ${METRICS_COLLECT_TIMEOUT_MS / 1000} s`,
      registers: [registry],
    }).set(missing);
    if (missing > 0) log.warn({ missing, workers: targets.length, waitedMs: METRICS_COLLECT_TIMEOUT_MS }, 'metrics: some workers did not answer in time; their figures are left out of this scrape');
    return registry.metrics();
  });

  /**
   * Every ready worker loads and validates the packs; only when all succeeded does each swap
   * (all or nothing). One reload at a time.
   */
  function reloadAll(trigger: string): Promise<ReloadOutcome> {
    const run = async (): Promise<ReloadOutcome> => {
      const id = nextId++;
      const targets = [...workers.values()].filter((w) => w.ready && w.worker.isConnected());
      const prepared = await askEach(targets, { type: 'scrub:prepare', id }, 'scrub:prepared', RELOAD_STEP_TIMEOUT_MS);
      const failed = prepared.find((m) => m?.type === 'scrub:prepared' && !m.ok);
      const missing = prepared.some((m) => m === undefined);
      if (failed || missing || targets.length === 0) {
        const refused = failed?.type === 'scrub:prepared' && !failed.ok ? failed : undefined;
        const diagnostics = refused
          ? refused.diagnostics
          : [{ file: config.rulesDir, line: 1, column: 1, severity: 'error' as const, code: 'worker-unavailable', message: 'a worker did not answer the reload; nothing was reloaded' }];
        const outcome: ReloadOutcome = { ok: false, diagnostics, loadedAt: servingLoadedAt ?? 'never', workers: targets.length };
        for (const { worker } of targets) sendToWorker(worker, { type: 'scrub:abort', id, outcome, trigger });
        log.error({ trigger, problems: diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic) }, 'packs NOT reloaded: the old set keeps serving');
        return outcome;
      }
      const loadedAt = new Date().toISOString();
      const committed = await askEach(targets, { type: 'scrub:commit', id, trigger, loadedAt }, 'scrub:committed', RELOAD_STEP_TIMEOUT_MS);
      servingLoadedAt = loadedAt;
      const first = committed.find((m) => m?.type === 'scrub:committed');
      const outcome: ReloadOutcome =
        first?.type === 'scrub:committed'
          ? { ...first.outcome, workers: committed.filter((m) => m !== undefined).length }
          : { ok: false, diagnostics: [], loadedAt: 'unknown', workers: 0 };
      log.info({ trigger, workers: outcome.workers, ...(outcome.ok ? { packs: outcome.packs, loadedAt: outcome.loadedAt } : {}) }, 'packs reloaded on every worker');
      return outcome;
    };
    const result = reloadQueue.then(run, run);
    reloadQueue = result.catch(() => undefined);
    return result;
  }

  cluster.on('exit', (worker, code, signal) => {
    const info = workers.get(worker.id);
    workers.delete(worker.id);
    watch.forget(worker.id);
    if (info?.retired && !shuttingDown) {
      log.info({ worker: worker.id, code, signal }, 'retired worker stopped');
      return;
    }
    if (shuttingDown) {
      log.info({ worker: worker.id, code, signal }, 'worker stopped');
      // A worker still starting may die of the signal before it can hear it: it served nothing.
      if (info?.ready && code !== 0 && exitCode === EXIT_CODES.ok) exitCode = EXIT_CODES.deadlinePassed;
      if (workers.size === 0) finish(exitCode);
      return;
    }
    if (!announced) {
      // A worker failed before the service was up (the packs are broken, the port is taken):
      // it has said why on stderr; restarting would only say it again.
      log.error({ worker: worker.id, code, signal }, 'a worker could not start; stopping');
      void stopAll('a worker could not start', code === EXIT_CODES.packsBroken ? EXIT_CODES.packsBroken : 1);
      return;
    }
    log.error({ worker: worker.id, workerPid: worker.process.pid, code, signal, wasReady: info?.ready ?? false }, 'worker died unexpectedly; starting another');
    const now = Date.now();
    restarts.push(now);
    while (restarts.length > 0 && restarts[0]! < now - RESTART_WINDOW_MS) restarts.shift();
    if (restarts.length > MAX_RESTARTS) {
      log.fatal({ restarts: restarts.length, windowMs: RESTART_WINDOW_MS }, 'workers keep dying; giving up');
      void stopAll('workers keep dying', 1);
      return;
    }
    // A worker that could not even start (code 2: packs broken on disk) is retried slowly.
    const delay = code === EXIT_CODES.packsBroken ? Math.min(30_000, 1000 * 2 ** Math.min(restarts.length, 5)) : 0;
    setTimeout(() => {
      if (!shuttingDown) fork(true);
    }, delay);
  });

  const stopAll = async (reason: string, code = EXIT_CODES.ok as number) => {
    if (shuttingDown) return;
    shuttingDown = true;
    exitCode = code;
    log.info({ reason, workers: workers.size }, 'shutting down: draining every worker');
    // A signal, not a message: a worker still loading its modules would miss a message (it
    // has no listener yet), and one that never listened may simply die of it.
    for (const { worker } of workers.values()) worker.process.kill('SIGTERM');
    if (workers.size === 0) finish(exitCode);
    // Workers enforce their own deadline; this is the backstop for one that hangs.
    setTimeout(() => {
      for (const { worker } of workers.values()) {
        log.error({ worker: worker.id }, 'worker did not stop in time; killing it');
        worker.process.kill('SIGKILL');
      }
    }, config.shutdown.delayMs + config.shutdown.deadlineMs + 5000).unref();
  };

  process.on('SIGTERM', () => void stopAll('SIGTERM'));
  process.on('SIGINT', () => void stopAll('SIGINT'));
  process.on('SIGHUP', () => void reloadAll('SIGHUP'));
  const stopWatching = config.watch
    ? watchRules(
        config.rulesDir,
        () => void reloadAll('files changed'),
        (err) => log.warn({ err: { message: err.message } }, 'cannot watch the rules folder'),
      )
    : () => undefined;

  // One worker first: if the packs are broken it says so once, and the others never start.
  // The primary accepts every connection and holds it until a worker takes it: a low limit here
  // turns connections away before any worker sees them.
  const limit = fileLimit();
  log.info({ workers: config.workers, fileLimit: limit ?? 'unknown' }, 'starting workers');
  if (limit !== undefined && limit < 1024) log.warn({ fileLimit: limit }, 'the primary\'s file descriptor limit is low: it turns away connections past it before any worker sees them; raise it (LimitNOFILE, ulimit -n)');
  fork();
  const code = await finished;
  clearInterval(watching);
  watch.stop();
  stopWatching();
  log.info({ code }, 'every worker stopped');
  return code;
}
