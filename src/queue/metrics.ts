import { Counter, Gauge, Histogram } from 'prom-client';
import { ScrubMetrics } from '../http/plugins/metrics.js';

/** What the lag gauges read at scrape time: the consumer's own counts. */
export interface ConsumerCounts {
  pending: number;
  ackPending: number;
  redelivered: number;
}

/**
 * A worker's metrics: the service's (claims by outcome, findings by rule, pack reloads and the
 * set serving, process figures) plus the queue's. The lag gauges ask the NATS server when
 * /metrics is read, so every worker reports the same, current figure: scale on it.
 */
export class WorkerMetrics extends ScrubMetrics {
  readonly published = new Counter({ name: 'scrub_queue_results_published_total', help: 'Results published to the results stream by this worker', registers: [this.registry] });
  readonly duplicates = new Counter({
    name: 'scrub_queue_duplicate_deliveries_total',
    help: 'Claims delivered again after their result was already published (acknowledged without scrubbing again)',
    registers: [this.registry],
  });
  readonly redeliveries = new Counter({ name: 'scrub_queue_redeliveries_total', help: 'Claims this worker received on a second or later delivery', registers: [this.registry] });
  readonly deadLetters = new Counter({ name: 'scrub_queue_dead_letters_total', help: 'Claims moved to the dead-letter stream, by reason', labelNames: ['reason'], registers: [this.registry] });
  readonly retries = new Counter({ name: 'scrub_queue_retries_total', help: 'Claims handed back for another attempt after a failure, by reason', labelNames: ['reason'], registers: [this.registry] });
  readonly claimSeconds = new Histogram({
    name: 'scrub_queue_claim_duration_seconds',
    help: 'From a claim reaching this worker to its acknowledgement (scrub and result publish)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly dependencyWaits = new Counter({
    name: 'scrub_queue_dependency_waits_total',
    help: 'Times this worker stopped pulling because the claim history could not be used, holding its claim until it answered again',
    registers: [this.registry],
  });
  readonly dependencyDown = new Gauge({ name: 'scrub_queue_dependency_down', help: '1 while this worker waits for the claim history to answer again, else 0', registers: [this.registry] });
  readonly claimsInFlight = new Gauge({ name: 'scrub_queue_claims_in_flight', help: 'Claims this worker holds and has not acknowledged', registers: [this.registry] });

  constructor(counts?: () => Promise<ConsumerCounts | undefined>) {
    super();
    for (const reason of ['unreadable', 'max-deliveries', 'scrub-failed']) this.deadLetters.inc({ reason }, 0);
    let last: Promise<ConsumerCounts | undefined> | undefined;
    // One question to the server per scrape, shared by the three gauges.
    const read = () => (last ??= (counts?.() ?? Promise.resolve(undefined)).catch(() => undefined).finally(() => setTimeout(() => (last = undefined), 500).unref()));
    const gauge = (name: string, help: string, pick: (c: ConsumerCounts) => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        aggregator: 'max',
        async collect() {
          const c = await read();
          if (c) this.set(pick(c));
        },
      });
    gauge('scrub_queue_pending_claims', 'Claims waiting in the queue, not yet given to a worker (the lag: scale workers on it)', (c) => c.pending);
    gauge('scrub_queue_ack_pending_claims', 'Claims given to workers and not yet acknowledged', (c) => c.ackPending);
    gauge('scrub_queue_redelivered_claims', 'Claims now outstanding that were delivered more than once', (c) => c.redelivered);
  }
}
