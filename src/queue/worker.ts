import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { JetStreamApiError, type Consumer, type JsMsg } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { unreadableResult } from '../claim/validate.js';
import { RULE_FAILED } from '../engine/scrubber.js';
import type { ScrubResult } from '../findings/finding.js';
import { withInputPlace } from '../formats/decorate.js';
import { completeResult } from '../formats/index.js';
import type { PackHolder } from '../service/pack-holder.js';
import { loggableError } from '../util/safe-error.js';
import type { ClaimScrub } from './claim-scrub.js';
import type { QueueConnection } from './connect.js';
import { HEADER, incomingKey, readClaimBody, resultHeaders, type IncomingClaim } from './messages.js';
import type { WorkerMetrics } from './metrics.js';
import { isSubjectTaken } from './refusals.js';

/**
 * A scrub worker: pulls claims from the durable consumer, scrubs each with the packs serving at
 * that moment (read once per claim, so a reload between claims never mixes two sets), publishes
 * the result, and only then acknowledges the claim.
 *
 * - A worker that dies holding claims leaves them unacknowledged: JetStream gives them to another
 *   worker after the ack wait.
 * - A claim delivered again is first looked up in the results stream: when its result is there
 *   (the worker died after publishing, before acknowledging) it is acknowledged without being
 *   scrubbed again, so the answer and the history are never made twice. The results stream also
 *   refuses a second message on a result subject, so even two workers racing on one claim
 *   publish one answer.
 * - A claim that cannot be read goes to the dead letters at once (another attempt cannot read
 *   it better); a claim that fails for another reason is handed back with a growing delay and
 *   dead-lettered after `maxDeliver` attempts; one that was delivered more often than that (every
 *   worker holding it died) is dead-lettered on sight. A dead-lettered claim still gets a result
 *   saying it could not be scrubbed, so every batch completes.
 * - A claim that cannot be scrubbed because the claim history is down is held, not retried:
 *   the worker stops pulling until the history answers (see waitForDependency).
 * - `drain()` stops pulling, finishes every claim already received, waits for the results and
 *   acknowledgements to reach the server, and returns: nothing is redelivered.
 */

export interface WorkerOptions {
  queue: QueueConnection;
  packs: PackHolder;
  claimScrub: ClaimScrub;
  metrics: WorkerMetrics;
  log: Logger;
  /** Claims asked for per pull. */
  fetchSize?: number;
  /** Results being published at once, before the worker waits for the server. */
  maxPublishing?: number;
  /** How long one pull waits for claims when the queue is empty. */
  pullWaitMs?: number;
}

export type DeadReason = 'unreadable' | 'max-deliveries' | 'scrub-failed';

/** How often a worker waiting for the claim history asks whether it answers again. */
const DEPENDENCY_RETRY_MS = 1000;

export class QueueWorker {
  readonly id = `${hostname()}:${process.pid}`;
  private stopping = false;
  private running: Promise<void> | undefined;
  private readonly publishing = new Set<Promise<void>>();
  private consumer: Consumer | undefined;
  private readonly fetchSize: number;
  private readonly maxPublishing: number;
  private readonly pullWaitMs: number;
  /** Claims finished (result published or found, or dead-lettered) by this worker. */
  handled = 0;
  /** True while a claim waits for the claim history to answer again. */
  waitingForDependency = false;

  constructor(private readonly o: WorkerOptions) {
    this.fetchSize = o.fetchSize ?? 64;
    this.maxPublishing = o.maxPublishing ?? 256;
    // The client refuses pulls shorter than a second.
    this.pullWaitMs = Math.max(1000, o.pullWaitMs ?? 2000);
  }

  get ready(): boolean {
    return this.consumer !== undefined && !this.stopping && !this.o.queue.nc.isClosed();
  }

  async start(): Promise<void> {
    const { js, names } = this.o.queue;
    this.consumer = await js.consumers.get(names.claimsStream, names.consumer);
    this.running = this.loop();
  }

  /** Stops pulling, finishes what was received, and waits until the server has every acknowledgement. */
  async drain(): Promise<void> {
    this.stopping = true;
    await this.running;
    await Promise.all(this.publishing);
    if (!this.o.queue.nc.isClosed()) await this.o.queue.nc.flush();
  }

  private async loop(): Promise<void> {
    const consumer = this.consumer!;
    while (!this.stopping) {
      let batch;
      try {
        batch = await consumer.fetch({ max_messages: this.fetchSize, expires: this.pullWaitMs });
      } catch (err) {
        this.o.log.warn({ err: loggableError(err) }, 'cannot pull claims; trying again');
        await sleep(1000);
        continue;
      }
      try {
        // Every claim of a pull is handled, even after drain() was asked: they are ours now.
        for await (const msg of batch) await this.handle(msg);
      } catch (err) {
        // The pull outlived its wait while a claim was being handled (a long scrub, a wait for
        // the claim history): the client gives up on it. Claims it had not handed over yet stay
        // with the server; pull again.
        this.o.log.debug({ err: loggableError(err) }, 'a pull ended early; pulling again');
      }
    }
  }

  private async handle(msg: JsMsg): Promise<void> {
    const started = performance.now();
    this.o.metrics.claimsInFlight.inc();
    const deliveries = msg.info.deliveryCount;
    const key = incomingKey(msg.subject, msg.seq, msg.headers);
    // Started when the claim history turns out to be down, and kept until the claim is
    // acknowledged: the scrub that follows the outage (the store reconnecting) and the result's
    // publication can outlast the ack wait too, and the claim must not go to another worker meanwhile.
    let keepalive: NodeJS.Timeout | undefined;
    const finish = () => {
      clearInterval(keepalive);
      this.o.metrics.claimsInFlight.dec();
      this.o.metrics.claimSeconds.observe((performance.now() - started) / 1000);
      this.handled++;
    };
    if (deliveries > 1) {
      this.o.metrics.redeliveries.inc();
      if (await this.resultExists(key)) {
        this.o.metrics.duplicates.inc();
        this.o.log.info({ batch: key.batch, item: key.item, deliveries }, 'claim delivered again after its result was published: acknowledged, not scrubbed again');
        msg.ack();
        finish();
        return;
      }
    }
    if (deliveries > this.o.queue.settings.maxDeliver) {
      await this.deadLetter(msg, key, 'max-deliveries', `it was delivered ${deliveries} times without a result: every worker that took it stopped or ran past the ack wait before finishing`);
      finish();
      return;
    }
    const read = readClaimBody(msg.data, msg.headers);
    if ('unreadable' in read) {
      await this.deadLetter(msg, key, 'unreadable', read.unreadable);
      finish();
      return;
    }
    let result: ScrubResult;
    for (;;) {
      try {
        const scrubber = this.o.packs.current();
        result = await this.o.claimScrub.scrub(scrubber, read.input, key.options);
        if (read.readerFindings.length > 0) result = completeResult(result, { kind: 'claim', input: read.input, label: key.label, findings: read.readerFindings });
        result = withInputPlace(result, { ...(key.line !== undefined ? { line: key.line } : {}), input: read.input });
        break;
      } catch (err) {
        if (this.o.claimScrub.isOutage(err)) {
          msg.working();
          keepalive ??= setInterval(() => msg.working(), Math.max(250, Math.floor(this.o.queue.settings.ackWaitMs / 4)));
          if (await this.waitForDependency(key, err)) continue;
        }
        if (this.o.claimScrub.isOutage(err)) {
          // Draining while the history is down: another worker (or this one, restarted) takes it.
          msg.nak();
        } else {
          await this.failed(msg, key, deliveries, 'scrub-failed', err);
        }
        finish();
        return;
      }
    }
    this.o.metrics.observeResult(result);
    for (const f of result.findings) {
      if (f.ruleId === RULE_FAILED) this.o.log.warn({ rule: f.details.rule, pack: f.pack, claimId: result.claimId }, 'a rule failed at run time; the claim got a rule-failed finding');
    }
    // The next claim is scrubbed while this result travels; the claim is acknowledged when the
    // server has the result.
    while (this.publishing.size >= this.maxPublishing) await Promise.race(this.publishing);
    const publishing = this.publishResult(key, result, deliveries)
      .then(
        () => msg.ack(),
        (err: unknown) => this.failed(msg, key, deliveries, 'publish-failed', err),
      )
      .finally(() => {
        this.publishing.delete(publishing);
        finish();
      });
    this.publishing.add(publishing);
  }

  /**
   * The claim history is down: an outage of the store, not a fault of the claim, so the claim
   * must neither use up its attempts nor go to the dead letters. The worker keeps the claim
   * (the caller tells the server it is still working on it, so it is not redelivered meanwhile),
   * pulls nothing more, and reports not ready, until the store answers again: true, scrub it
   * again. False when the worker is told to drain meanwhile.
   */
  private async waitForDependency(key: IncomingClaim, err: unknown): Promise<boolean> {
    this.o.metrics.dependencyWaits.inc();
    this.o.metrics.dependencyDown.set(1);
    this.o.log.error({ batch: key.batch, item: key.item, err: loggableError(err) }, 'the claim history cannot be used: holding the claim and pulling no more until it answers again');
    this.waitingForDependency = true;
    try {
      const since = Date.now();
      while (!this.stopping) {
        await sleep(DEPENDENCY_RETRY_MS);
        try {
          await this.o.claimScrub.ping();
          this.o.log.info({ batch: key.batch, item: key.item, waitedMs: Date.now() - since }, 'the claim history answers again; scrubbing on');
          return true;
        } catch {
          // still down
        }
      }
      return false;
    } finally {
      this.waitingForDependency = false;
      this.o.metrics.dependencyDown.set(0);
    }
  }

  /** Publishes a result; a result already there (a redelivery racing another worker) counts as published. */
  private async publishResult(key: IncomingClaim, result: ScrubResult, deliveries: number): Promise<void> {
    const { js, names } = this.o.queue;
    try {
      await js.publish(names.result(key.batch, key.item), JSON.stringify(result), { headers: resultHeaders(key, result, this.id, deliveries) });
      this.o.metrics.published.inc();
    } catch (err) {
      if (isSubjectTaken(err)) {
        this.o.metrics.duplicates.inc();
        return;
      }
      throw err;
    }
  }

  private async resultExists(key: IncomingClaim): Promise<boolean> {
    const { jsm, names } = this.o.queue;
    try {
      return (await jsm.direct.getMessage(names.resultsStream, { last_by_subj: names.result(key.batch, key.item) })) !== null;
    } catch (err) {
      if (err instanceof Error && /no message found|not found/i.test(err.message)) return false;
      throw err;
    }
  }

  /** A failure that another attempt may not repeat: hand the claim back with a delay, or give up after the last attempt. */
  private async failed(msg: JsMsg, key: IncomingClaim, deliveries: number, reason: 'scrub-failed' | 'publish-failed', err: unknown): Promise<void> {
    const error = loggableError(err);
    if (deliveries >= this.o.queue.settings.maxDeliver) {
      const what = reason === 'publish-failed' ? 'its result could not be published' : 'the scrubber failed';
      await this.deadLetter(msg, key, 'scrub-failed', `${what} on each of ${deliveries} attempts (last: ${describeFailure(err)})`);
      return;
    }
    const delayMs = Math.min(30_000, 500 * 2 ** (deliveries - 1));
    this.o.metrics.retries.inc({ reason });
    this.o.log.warn({ batch: key.batch, item: key.item, deliveries, delayMs, err: error }, `claim handed back for another attempt (${reason})`);
    msg.nak(delayMs);
  }

  /**
   * Moves a claim to the dead letters with the reason, publishes a result saying it could not be
   * scrubbed (so the batch still completes), then acknowledges it. A failure on the way leaves
   * the claim unacknowledged, to come back.
   */
  private async deadLetter(msg: JsMsg, key: IncomingClaim, reason: DeadReason, detail: string): Promise<void> {
    const { js, names } = this.o.queue;
    try {
      const h = headers();
      for (const [name, values] of msg.headers ?? []) {
        if (name !== HEADER.msgId) for (const v of values) h.append(name, v);
      }
      h.set(HEADER.msgId, `dead.${key.batch}.${key.item}`);
      h.set(HEADER.reasonCode, reason);
      h.set(HEADER.reason, detail.replace(/[\r\n]+/g, ' '));
      h.set(HEADER.deliveries, String(msg.info.deliveryCount));
      h.set(HEADER.subject, msg.subject);
      h.set(HEADER.sequence, String(msg.seq));
      h.set(HEADER.worker, this.id);
      await js.publish(names.dead(key.batch), msg.data, { headers: h });
      const result = withInputPlace(
        unreadableResult({ label: key.label }, 'scrub-failed', `could not be scrubbed: ${detail}. It is in the dead letters (${names.dead(key.batch)})`),
        key.line !== undefined ? { line: key.line } : {},
      );
      await this.publishResult(key, result, msg.info.deliveryCount);
      this.o.metrics.deadLetters.inc({ reason });
      this.o.log.error({ batch: key.batch, item: key.item, reason, detail, deliveries: msg.info.deliveryCount }, 'claim moved to the dead letters');
      msg.ack();
    } catch (err) {
      this.o.log.error({ batch: key.batch, item: key.item, err: loggableError(err) }, 'cannot move a claim to the dead letters; it will come back');
      msg.nak(2000);
    }
  }
}

/**
 * A failure in words fit for a header and a log: the queue's own errors say what went wrong; any
 * other error is named by its kind only, since its message may quote the claim.
 */
export function describeFailure(err: unknown): string {
  if (err instanceof JetStreamApiError) return `NATS: ${err.message} (${err.code})`;
  if (err instanceof Error && /^(Nats|JetStream|Timeout|RequestError|Closed|Connection)/.test(err.name)) return `NATS: ${err.message}`;
  const e = loggableError(err);
  return `${e.type}${e.code ? ` ${e.code}` : ''}`;
}
