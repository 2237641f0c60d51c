import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ScrubResult } from '../../findings/finding.js';
import type { ConnectionFigures } from '../../service/connections.js';
import type { ReloadOutcome } from '../../service/pack-holder.js';
import type { TableStatus } from '../../tables/status.js';
import { cachedFor } from '../../util/cached.js';

/**
 * Prometheus metrics at GET /metrics (public: counts and timings only, never claim contents).
 * Each app has its own registry, so several apps in one process (tests) do not collide; in a
 * cluster the worker answering /metrics asks the primary for every worker's figures, summed.
 */

declare module 'fastify' {
  interface FastifyInstance {
    scrubMetrics: ScrubMetrics;
  }
}

/** The service's metrics in one registry. */
export class ScrubMetrics {
  readonly registry = new Registry();
  readonly requestDuration = new Histogram({
    name: 'scrub_http_request_duration_seconds',
    help: 'HTTP request latency by route, method and status (a streamed batch counts until its last byte)',
    labelNames: ['route', 'method', 'status_code'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });
  readonly inFlight = new Gauge({ name: 'scrub_http_requests_in_flight', help: 'HTTP requests being handled now', registers: [this.registry] });
  private readonly claims = new Counter({ name: 'scrub_claims_scrubbed_total', help: 'Claims scrubbed, by outcome', labelNames: ['outcome'], registers: [this.registry] });
  /**
   * Findings since the last scrape, by rule id, then category and severity: counted here and
   * handed to prom-client when /metrics is read, because prom-client hashes the labels of every
   * increment, and a finding each was 2% of the service's CPU under load.
   */
  private readonly pendingFindings = new Map<string, Array<{ category: string; severity: string; count: number }>>();
  private readonly findings: Counter = new Counter({
    name: 'scrub_findings_total',
    help: 'Findings reported, by rule, category and severity',
    labelNames: ['rule_id', 'category', 'severity'],
    registers: [this.registry],
    collect: () => this.flushFindings(),
  });
  // Every worker counts every reload (they reload together): summed, a cluster would count N.
  private readonly reloads = new Counter({ name: 'scrub_pack_reloads_total', help: 'Pack reloads, by result', labelNames: ['result'], registers: [this.registry], aggregator: 'max' });
  private readonly loadedAt = new Gauge({
    name: 'scrub_pack_set_loaded_timestamp_seconds',
    help: 'When the pack set now serving was loaded (Unix time)',
    registers: [this.registry],
    aggregator: 'max',
  });
  private readonly packInfo = new Gauge({
    name: 'scrub_pack_info',
    help: 'The packs now serving (value 1)',
    labelNames: ['pack', 'version'],
    registers: [this.registry],
    aggregator: 'max',
  });

  /** The tables serving now, read when /metrics is scraped (days remaining change without a reload). */
  private tables: (() => TableStatus[]) | undefined;
  private readonly tableDaysRemaining: Gauge = new Gauge({
    name: 'scrub_table_coverage_days_remaining',
    help: "Days until the newest edition of each data table stops covering dates of service (negative: past; tables with an open-ended edition have no series)",
    labelNames: ['pack', 'table', 'edition'],
    registers: [this.registry],
    aggregator: 'min',
    collect: () => this.collectTables(),
  });

  /** The connection figures of the serving process, read when /metrics is. */
  private connections: (() => ConnectionFigures) | undefined;
  private readonly connectionsOpen: Gauge = new Gauge({
    name: 'scrub_connections_open',
    help: 'Connections open now',
    registers: [this.registry],
    collect: () => this.connectionsOpen.set(this.connections?.().open ?? 0),
  });
  private readonly connectionsMax: Gauge = new Gauge({
    name: 'scrub_connections_max',
    help: 'The most connections held at once (the descriptor budget, or SCRUB_MAX_CONNECTIONS); past it, connections are closed at once',
    registers: [this.registry],
    collect: () => {
      const max = this.connections?.().maxConnections;
      if (max !== undefined && Number.isFinite(max)) this.connectionsMax.set(max);
    },
  });
  private readonly connectionsRefused = this.runningTotal(
    'scrub_connections_refused_total',
    'Connections closed on arrival because this process held as many as it may',
    (f) => f.refused,
  );
  private readonly connectionsSilent = this.runningTotal(
    'scrub_connections_silent_closed_total',
    'Connections closed for sending nothing within SCRUB_HEADERS_TIMEOUT_MS',
    (f) => f.silentClosed,
  );

  constructor() {
    // Event-loop delay (monitorEventLoopDelay), heap, GC, CPU, resident memory, open handles.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 20 });
    // Series that exist from the start read 0 rather than missing.
    for (const outcome of ['pass', 'fail']) this.claims.inc({ outcome }, 0);
    for (const result of ['success', 'failure']) this.reloads.inc({ result }, 0);
  }

  /** Counts one scrubbed claim: its outcome and each finding's rule and severity. */
  observeResult(result: ScrubResult): void {
    this.claims.inc({ outcome: result.outcome });
    for (const f of result.findings) {
      let counts = this.pendingFindings.get(f.ruleId);
      if (!counts) this.pendingFindings.set(f.ruleId, (counts = []));
      const known = counts.find((c) => c.category === f.category && c.severity === f.severity);
      if (known) known.count++;
      else counts.push({ category: f.category, severity: f.severity, count: 1 });
    }
  }

  private flushFindings(): void {
    for (const [rule_id, counts] of this.pendingFindings) {
      for (const c of counts) {
        if (c.count === 0) continue;
        this.findings.inc({ rule_id, category: c.category, severity: c.severity }, c.count);
        c.count = 0;
      }
    }
  }

  /** Where the gauge of table coverage reads the tables serving now. */
  watchTables(tables: () => TableStatus[]): void {
    this.tables = tables;
  }

  private collectTables(): void {
    this.tableDaysRemaining.reset();
    for (const t of this.tables?.() ?? []) {
      if (t.daysLeft === undefined) continue;
      this.tableDaysRemaining.set({ pack: t.pack, table: t.name, edition: t.editions.at(-1)?.edition ?? '' }, t.daysLeft);
    }
  }

  /** A counter that follows a total the serving process keeps, read when /metrics is. */
  private runningTotal(name: string, help: string, total: (figures: ConnectionFigures) => number): Counter {
    let counted = 0;
    const counter: Counter = new Counter({
      name,
      help,
      registers: [this.registry],
      collect: () => {
        const now = this.connections ? total(this.connections()) : 0;
        counter.inc(now - counted);
        counted = now;
      },
    });
    return counter;
  }

  /** Where the connection figures come from (a serving process; absent in tests of the app alone). */
  observeConnections(figures: () => ConnectionFigures): void {
    this.connections = figures;
  }

  /** Counts a pack reload, and records the set now serving. */
  observeReload(outcome: ReloadOutcome): void {
    this.reloads.inc({ result: outcome.ok ? 'success' : 'failure' });
    if (outcome.ok) this.setServing(outcome);
  }

  setServing(outcome: ReloadOutcome & { ok: true }): void {
    this.loadedAt.set(Date.parse(outcome.loadedAt) / 1000);
    this.packInfo.reset();
    for (const p of outcome.packs) this.packInfo.set({ pack: p.name, version: p.version }, 1);
  }
}

export interface MetricsPluginOptions {
  metrics: ScrubMetrics;
  /** The set serving at start-up. */
  serving: ReloadOutcome & { ok: true };
  /** The metrics text to serve instead of this process's own (cluster: all workers summed). */
  collect?: () => Promise<string>;
  /** How long one answer is reused (SCRUB_METRICS_CACHE_MS): scrapes cost what a few requests do, at most once per this. */
  cacheMs?: number;
}

async function metricsPlugin(app: FastifyInstance, opts: MetricsPluginOptions): Promise<void> {
  const metrics = opts.metrics;
  metrics.setServing(opts.serving);
  const text = cachedFor(opts.cacheMs ?? 0, opts.collect ?? (() => metrics.registry.metrics()));
  app.decorate('scrubMetrics', metrics);

  app.addHook('onRequest', async () => {
    metrics.inFlight.inc();
  });
  app.addHook('onResponse', async (request, reply) => {
    metrics.inFlight.dec();
    // The route pattern, not the URL: unknown URLs must not each make a new series.
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.requestDuration.observe({ route, method: request.method, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });

  app.get(
    '/metrics',
    {
      config: { access: 'public', rateLimit: false },
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics',
        description: 'Request latency, claims by outcome, findings by rule and severity, pack reloads, event-loop delay and process figures. No claim contents.',
        response: { 200: { description: 'Prometheus text exposition format', type: 'string' } },
      },
    },
    async (_request, reply) => {
      return reply.type(metrics.registry.contentType).send(await text());
    },
  );
}

export default fp(metricsPlugin, { name: 'metrics', fastify: '5.x', dependencies: ['problems'] });
