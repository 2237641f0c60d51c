import { parseArgs } from 'node:util';
import pino, { type Logger } from 'pino';
import { LOG_LEVELS, type LogLevel } from '../../config.js';
import { engineFrom } from '../../engine/engines.js';
import { LOG_REDACTION } from '../../http/app.js';
import { ClaimHistory } from '../../history/claim-history.js';
import { HistorySetupError, readHistoryConfig } from '../../history/config.js';
import { HistoryScrub, PacksOnlyScrub, type ClaimScrub } from '../../queue/claim-scrub.js';
import { connectQueue, QueueUnavailableError, type QueueConnection } from '../../queue/connect.js';
import { WorkerMetrics } from '../../queue/metrics.js';
import { startProbeServer } from '../../queue/probe-server.js';
import { answerReloads, reloadWorkers } from '../../queue/reload.js';
import { QueueSettingsError, readQueueSettings, type QueueSettings } from '../../queue/settings.js';
import { TopologyError, ensureTopology } from '../../queue/topology.js';
import { QueueWorker } from '../../queue/worker.js';
import { PackHolder } from '../../service/pack-holder.js';
import { loggableError } from '../../util/safe-error.js';
import { EXIT, UsageError, write, type CliIo } from '../io.js';
import { loadPacksOrReport } from '../load-packs.js';
import { rulesDirFrom } from '../rules-dir.js';
import { Scrubber } from '../../engine/scrubber.js';

export const workerHelp = `Usage: scrub worker [options]          scrub claims from the queue until stopped
       scrub worker reload [options]   reload the packs of every worker on the queue, together

Takes claims from the NATS JetStream queue (stream <NAME>_CLAIMS, durable consumer
<NAME>_WORKERS: each claim goes to one worker), scrubs each with the rule packs, publishes its
result to <name>.results.<batch>.<item>, and acknowledges the claim only then. Run as many
workers as the queue needs; the streams and the consumer are created if missing.

Options:
  --nats URL       NATS server(s), comma-separated (default: $SCRUB_NATS_URL)
  --rules DIR      rule packs folder (default: $SCRUB_RULES_DIR, else the bundled packs)
  --engine compiled|reference
                   how conditions are evaluated (default: $SCRUB_ENGINE, else compiled)
  --history URL    the claim history to scrub against (and record in, for claims submitted with
                   --record): a postgres:// URL shared by every worker and the service, or a
                   SQLite file (one machine). Default: $SCRUB_HISTORY_URL; none: history is off.
                   Needs SCRUB_HISTORY_SECRET, the same on every worker and the service
  --port N         port of /healthz, /readyz and /metrics (default: $SCRUB_WORKER_PORT, else 9090; 0 picks one)
  --host HOST      address they listen on (default: $HOST, else 127.0.0.1; 0.0.0.0 in a container)
  --fetch N        claims asked for per pull (default 64)
  --wait-ms N      reload: how long to wait for the workers' answers to each phase (default 10000)
  -h, --help       show this help

Signals: SIGTERM or SIGINT stops pulling, finishes the claims received, publishes their results,
acknowledges them and exits 0 (nothing is redelivered). SIGHUP reloads this worker's packs;
"scrub worker reload" reloads every worker's, all or none.

Queue settings (SCRUB_QUEUE_NAME, SCRUB_QUEUE_MAX_DELIVER, SCRUB_QUEUE_ACK_WAIT_MS, replicas,
retention, credentials) are environment variables: see docs/queue.md.`;

export async function worker(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      nats: { type: 'string' },
      rules: { type: 'string' },
      engine: { type: 'string' },
      history: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      fetch: { type: 'string' },
      'wait-ms': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    await write(io.stdout, workerHelp + '\n');
    return EXIT.ok;
  }
  if (positionals.length > 1 || (positionals[0] !== undefined && positionals[0] !== 'reload')) throw new UsageError(`unknown argument "${positionals.find((p) => p !== 'reload')}"`);
  const settings = await settingsOrReport(io, 'scrub worker', values.nats);
  if (!settings) return EXIT.badInput;
  if (positionals[0] === 'reload') return reloadCommand(settings, io, wholeNumber('--wait-ms', values['wait-ms'], 10_000, 100, 600_000));

  const port = wholeNumber('--port', values.port ?? io.env.SCRUB_WORKER_PORT, 9090, 0, 65535);
  const fetchSize = wholeNumber('--fetch', values.fetch, 64, 1, 10_000);
  const host = (values.host ?? io.env.HOST ?? '127.0.0.1').trim();
  const chosen = engineFrom(values.engine, io.env);
  if ('problem' in chosen) throw new UsageError(chosen.problem);
  const levelText = io.env.LOG_LEVEL?.trim().toLowerCase() || 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(levelText)) throw new UsageError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, not "${io.env.LOG_LEVEL}"`);

  const rulesDir = rulesDirFrom(values.rules, io.env, io.cwd);
  const packSet = await loadPacksOrReport(rulesDir, io);
  if (!packSet) return EXIT.badInput;
  const scrubberOptions = { engine: chosen.engine };
  const holder = new PackHolder(rulesDir, new Scrubber(packSet, scrubberOptions), packSet.loadedAt, { env: io.env }, scrubberOptions);
  // Written synchronously: the last lines before the process exits must not be lost.
  const log: Logger = pino({ level: levelText as LogLevel, redact: LOG_REDACTION, base: { pid: process.pid, role: 'worker' } }, pino.destination({ dest: 1, sync: true }));

  let queue: QueueConnection;
  try {
    queue = await connectQueue(settings, `scrub-worker ${process.pid}`);
    const created = await ensureTopology(queue);
    if (created.length > 0) log.info({ created }, 'created the queue streams and consumer that were missing');
  } catch (err) {
    if (err instanceof QueueUnavailableError || err instanceof TopologyError) {
      await write(io.stderr, `scrub worker: ${err.message}\n`);
      return EXIT.badInput;
    }
    throw err;
  }
  const claimScrub = await claimScrubOrReport(values.history, io);
  if (!claimScrub) {
    await queue.nc.close();
    return EXIT.badInput;
  }
  const metrics = new WorkerMetrics(async () => {
    const info = await queue.jsm.consumers.info(queue.names.claimsStream, queue.names.consumer);
    return { pending: info.num_pending, ackPending: info.num_ack_pending, redelivered: info.num_redelivered };
  });
  metrics.setServing(holder.describe());
  const queueWorker = new QueueWorker({ queue, packs: holder, claimScrub, metrics, log, fetchSize });
  holder.onReload((outcome, trigger) => {
    metrics.observeReload(outcome);
    if (outcome.ok) log.info({ trigger, packs: outcome.packs }, 'packs reloaded');
    else log.error({ trigger, problems: outcome.diagnostics.filter((d) => d.severity === 'error').length }, 'packs NOT reloaded: the packs have errors; the old set keeps serving');
  });
  const reloads = answerReloads(queue, holder, queueWorker.id, log, () => undefined);

  let stopping = false;
  const probe = await startProbeServer({
    host,
    port,
    registry: metrics.registry,
    notReady: async () => {
      if (stopping) return 'the worker is draining';
      if (!queueWorker.ready) return 'not connected to the queue';
      try {
        await claimScrub.ping();
      } catch {
        return 'the claim history cannot be used';
      }
      return undefined;
    },
    describe: () => ({ worker: queueWorker.id, packs: holder.describe().packs, loadedAt: holder.describe().loadedAt }),
  });
  await queueWorker.start();
  log.info({ worker: queueWorker.id, queue: queue.where, stream: queue.names.claimsStream, consumer: queue.names.consumer, probes: probe.address, packs: holder.describe().packs.length, scrub: claimScrub.description }, 'worker ready');

  const code = await new Promise<number>((resolve) => {
    const stop = (reason: string, code: number) => {
      if (stopping) return;
      stopping = true;
      log.info({ reason }, 'draining: no more pulls; finishing the claims received');
      void (async () => {
        try {
          await queueWorker.drain();
          reloads.unsubscribe();
          await queue.nc.drain();
        } catch (err) {
          log.error({ err: loggableError(err) }, 'the drain did not finish cleanly; unacknowledged claims will be redelivered');
          code = EXIT.failed;
        }
        await claimScrub.close().catch(() => undefined);
        probe.server.close();
        log.info({ handled: queueWorker.handled }, 'worker stopped');
        resolve(code);
      })();
    };
    process.on('SIGTERM', () => stop('SIGTERM', EXIT.ok));
    process.on('SIGINT', () => stop('SIGINT', EXIT.ok));
    process.on('SIGHUP', () => void holder.reload('SIGHUP'));
    void queue.nc.closed().then((err) => {
      if (stopping) return;
      log.error({ err: err ? { message: err.message } : undefined }, 'the connection to NATS closed for good; stopping');
      stopping = true;
      probe.server.close();
      resolve(EXIT.failed);
    });
  });
  // Long-running: exit now rather than wait for timers and handles nobody needs.
  process.exit(code);
}

/** Packs only, or packs and the claim history --history or SCRUB_HISTORY_URL names; undefined after saying why it cannot be used. */
async function claimScrubOrReport(location: string | undefined, io: CliIo): Promise<ClaimScrub | undefined> {
  try {
    const config = readHistoryConfig(io.env, { ...(location !== undefined ? { location } : {}), cwd: io.cwd });
    if (!config) return new PacksOnlyScrub();
    const history = await ClaimHistory.open(config);
    try {
      await history.store.ping();
    } catch (err) {
      await history.close();
      throw err;
    }
    return new HistoryScrub(history, config.target);
  } catch (err) {
    const detail = err instanceof HistorySetupError ? `${err.variable}: ${err.message}` : (err as Error).message;
    await write(io.stderr, `scrub worker: the claim history cannot be used: ${detail}\n`);
    return undefined;
  }
}

async function reloadCommand(settings: QueueSettings, io: CliIo, waitMs: number): Promise<number> {
  let queue: QueueConnection;
  try {
    queue = await connectQueue(settings, 'scrub worker reload');
  } catch (err) {
    await write(io.stderr, `scrub worker reload: ${(err as Error).message}\n`);
    return EXIT.badInput;
  }
  try {
    const outcome = await reloadWorkers(queue, waitMs);
    const lines = outcome.prepared.map((a) => `  ${a.worker}: ${a.ok ? (a.packs ?? []).map((p) => `${p.name}@${p.version}`).join(' ') : `cannot load its packs:\n      ${(a.errors ?? []).join('\n      ')}`}`);
    if (outcome.committed) {
      await write(io.stdout, `Reloaded ${outcome.committedBy.filter((a) => a.ok).length} of ${outcome.prepared.length} workers:\n${lines.join('\n')}\n`);
      return outcome.committedBy.every((a) => a.ok) && outcome.committedBy.length === outcome.prepared.length ? EXIT.ok : EXIT.failed;
    }
    await write(io.stderr, `Not reloaded: ${outcome.reason}; every worker keeps the packs it has.\n${lines.join('\n')}\n`);
    return EXIT.failed;
  } finally {
    await queue.nc.close();
  }
}

export async function settingsOrReport(io: CliIo, command: string, url: string | undefined): Promise<QueueSettings | undefined> {
  try {
    return readQueueSettings(io.env, url !== undefined ? { url } : {}, io.cwd);
  } catch (err) {
    if (!(err instanceof QueueSettingsError)) throw err;
    await write(io.stderr, `${command}: the queue settings are not valid:\n${err.problems.map((p) => `  ${p}`).join('\n')}\n`);
    return undefined;
  }
}

export function wholeNumber(name: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined || text.trim() === '') return fallback;
  if (!/^\d+$/.test(text.trim()) || Number(text) < min || Number(text) > max) throw new UsageError(`${name} must be a whole number from ${min} to ${max}, not "${text}"`);
  return Number(text);
}
