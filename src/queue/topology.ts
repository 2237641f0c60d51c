import { AckPolicy, DiscardPolicy, JetStreamApiError, RetentionPolicy, StorageType, type ConsumerConfig, type StreamConfig } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { QueueConnection } from './connect.js';
import type { QueueNames, QueueSettings } from './settings.js';

/**
 * The streams and the consumer, created when missing. Settings that decide correctness
 * (retention, one message per result subject, the consumer's acknowledgement) are checked on an
 * existing stream too: a stream made by hand with other semantics is refused with a message,
 * rather than silently giving duplicates or losing claims. Limits (ages, sizes, replicas) of an
 * existing stream are left as the operator set them.
 */

const STREAM_NOT_FOUND = 10059;
const CONSUMER_NOT_FOUND = 10014;
/** JetStream reserves a stream's max_bytes when the stream is made, and refuses one it cannot hold. */
const STORAGE_RESOURCES_EXCEEDED = 10047;

export function streamConfigs(settings: QueueSettings, names: QueueNames): Array<Partial<StreamConfig> & { name: string }> {
  const common = { storage: StorageType.File, num_replicas: settings.replicas, duplicate_window: nanos(settings.duplicateWindowMs) };
  return [
    {
      ...common,
      name: names.claimsStream,
      subjects: [names.claimsWildcard],
      // Work queue: each claim is given to one consumer and leaves the stream when acknowledged.
      retention: RetentionPolicy.Workqueue,
      // Full: the producer is refused and waits (flow control), no claim is ever dropped.
      discard: DiscardPolicy.New,
      max_msgs: settings.claimsMaxMsgs,
      max_bytes: settings.claimsMaxBytes,
    },
    {
      ...common,
      name: names.resultsStream,
      subjects: [names.resultsWildcard, names.batchesWildcard],
      retention: RetentionPolicy.Limits,
      // One message per subject, and a second is refused: a claim redelivered after its result
      // was published can never publish a second, different answer.
      max_msgs_per_subject: 1,
      discard: DiscardPolicy.New,
      discard_new_per_subject: true,
      max_age: nanos(settings.resultsMaxAgeMs),
      allow_direct: true,
    },
    {
      ...common,
      name: names.deadStream,
      subjects: [names.deadWildcard],
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      max_age: nanos(settings.resultsMaxAgeMs),
      allow_direct: true,
    },
  ];
}

export function consumerConfig(settings: QueueSettings, names: QueueNames): Partial<ConsumerConfig> & { durable_name: string } {
  return {
    durable_name: names.consumer,
    description: 'scrub workers: each claim to one worker, acknowledged after its result is published',
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(settings.ackWaitMs),
    // One more than the attempts: the last delivery only moves the claim to the dead letters,
    // so a claim that kills every worker that takes it still ends there and never loops.
    max_deliver: settings.maxDeliver + 1,
    max_ack_pending: 20_000,
    max_waiting: 512,
  };
}

export class TopologyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TopologyError';
  }
}

function isApiError(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

/** Creates what is missing; refuses an existing stream whose semantics differ. Returns what it created. */
export async function ensureTopology(queue: QueueConnection): Promise<string[]> {
  const { jsm, settings, names } = queue;
  const created: string[] = [];
  for (const config of streamConfigs(settings, names)) {
    try {
      const info = await jsm.streams.info(config.name);
      const problems = semanticDifferences(config, info.config);
      if (problems.length > 0) {
        throw new TopologyError(`the stream ${config.name} exists with other settings than the scrubber needs: ${problems.join('; ')}. Delete it or use another SCRUB_QUEUE_NAME.`);
      }
    } catch (err) {
      if (!isApiError(err, STREAM_NOT_FOUND)) throw err;
      try {
        await jsm.streams.add(config);
        created.push(`stream ${config.name}`);
      } catch (addErr) {
        if (isApiError(addErr, STORAGE_RESOURCES_EXCEEDED)) throw new TopologyError(storageMessage(config));
        // Another worker starting at the same time made it first: fine when it is the same.
        if (!(addErr instanceof JetStreamApiError) || !/already in use|exists/i.test(addErr.message)) throw addErr;
      }
    }
  }
  const consumer = consumerConfig(settings, names);
  try {
    const info = await jsm.consumers.info(names.claimsStream, names.consumer);
    if (info.config.ack_policy !== AckPolicy.Explicit) throw new TopologyError(`the consumer ${names.consumer} does not use explicit acknowledgement; delete it so that the workers make it again`);
  } catch (err) {
    if (!isApiError(err, CONSUMER_NOT_FOUND)) throw err;
    await jsm.consumers.add(names.claimsStream, consumer);
    created.push(`consumer ${names.consumer}`);
  }
  return created;
}

function storageMessage(config: Partial<StreamConfig> & { name: string }): string {
  const size = config.max_bytes !== undefined && config.max_bytes > 0 ? `${config.max_bytes} bytes (SCRUB_QUEUE_MAX_BYTES)` : 'its storage';
  return `the NATS server cannot reserve ${size} of JetStream file storage for the stream ${config.name}; lower SCRUB_QUEUE_MAX_BYTES, or give the server more storage (jetstream max_file_store, or more free disk under its store directory)`;
}

function semanticDifferences(wanted: Partial<StreamConfig>, actual: StreamConfig): string[] {
  const out: string[] = [];
  if (wanted.retention !== actual.retention) out.push(`retention is ${actual.retention}, not ${wanted.retention}`);
  if (wanted.max_msgs_per_subject !== undefined && wanted.max_msgs_per_subject !== actual.max_msgs_per_subject) out.push(`max_msgs_per_subject is ${actual.max_msgs_per_subject}, not ${wanted.max_msgs_per_subject}`);
  if (wanted.discard_new_per_subject && !actual.discard_new_per_subject) out.push('discard_new_per_subject is off');
  if (wanted.discard === DiscardPolicy.New && actual.discard !== DiscardPolicy.New) out.push(`discard is ${actual.discard}, not new`);
  for (const subject of wanted.subjects ?? []) if (!actual.subjects?.includes(subject)) out.push(`it does not take ${subject}`);
  return out;
}
