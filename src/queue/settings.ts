import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Where the claim queue is and how its streams and consumer are set up: read from the
 * environment (and command flags) in this one place. Every name derives from one queue name, so
 * that several queues (or several test runs) share one NATS server without meeting.
 *
 * Streams (created if missing, see topology.ts):
 *   <NAME>_CLAIMS   subjects <name>.claims.<batch>        work queue: a claim leaves when acknowledged
 *   <NAME>_RESULTS  subjects <name>.results.<batch>.<item> and <name>.batches.<batch>
 *                   one message per subject, a second refused: the first answer is the answer
 *   <NAME>_DEAD     subjects <name>.dead.<batch>          claims that could not be scrubbed, with the reason
 * Consumer: <NAME>_WORKERS, durable, pull, explicit acknowledgement, on <NAME>_CLAIMS.
 * Control:  <name>.control.reload (core NATS): coordinated pack reloads.
 */

export interface QueueSettings {
  /** nats://host:port, comma-separated for a cluster. */
  servers: string[];
  /** Lower-case subject prefix, e.g. "scrub". */
  name: string;
  auth: QueueAuth;
  /** Attempts at a claim before it goes to the dead letters (consumer max_deliver is one more: see topology.ts). */
  maxDeliver: number;
  /** How long a worker holds a claim before JetStream gives it to another worker. */
  ackWaitMs: number;
  /** Stream replicas (1 for one server; 3 for a NATS cluster). */
  replicas: number;
  /** How long results (and dead letters) are kept. */
  resultsMaxAgeMs: number;
  /** Most claims waiting in the queue: a producer past it waits (flow control). */
  claimsMaxMsgs: number;
  /** Most bytes of claims waiting in the queue. */
  claimsMaxBytes: number;
  /** Window in which a claim published twice with the same id is kept once. */
  duplicateWindowMs: number;
}

export type QueueAuth =
  | { kind: 'none' }
  | { kind: 'token'; token: string }
  | { kind: 'user'; user: string; pass: string }
  | { kind: 'creds'; file: string; creds: string };

export interface QueueNames {
  claimsStream: string;
  resultsStream: string;
  deadStream: string;
  consumer: string;
  /** `<name>.claims.<batch>` */
  claims: (batch: string) => string;
  /** `<name>.results.<batch>.<item>` */
  result: (batch: string, item: string) => string;
  /** `<name>.batches.<batch>`: the batch's manifest (how many items it has). */
  manifest: (batch: string) => string;
  dead: (batch: string) => string;
  reload: string;
  claimsWildcard: string;
  resultsWildcard: string;
  batchesWildcard: string;
  deadWildcard: string;
}

export function queueNames(name: string): QueueNames {
  const upper = name.toUpperCase().replace(/-/g, '_');
  return {
    claimsStream: `${upper}_CLAIMS`,
    resultsStream: `${upper}_RESULTS`,
    deadStream: `${upper}_DEAD`,
    consumer: `${upper}_WORKERS`,
    claims: (batch) => `${name}.claims.${batch}`,
    result: (batch, item) => `${name}.results.${batch}.${item}`,
    manifest: (batch) => `${name}.batches.${batch}`,
    dead: (batch) => `${name}.dead.${batch}`,
    reload: `${name}.control.reload`,
    claimsWildcard: `${name}.claims.*`,
    resultsWildcard: `${name}.results.*.*`,
    batchesWildcard: `${name}.batches.*`,
    deadWildcard: `${name}.dead.*`,
  };
}

export const QUEUE_DEFAULTS = {
  name: 'scrub',
  maxDeliver: 5,
  ackWaitMs: 30_000,
  replicas: 1,
  resultsMaxAgeMs: 3 * 24 * 3600_000,
  claimsMaxMsgs: 1_000_000,
  claimsMaxBytes: 2 * 1024 ** 3,
  duplicateWindowMs: 10 * 60_000,
} as const;

/** A batch id or item key: one NATS subject token, safe in headers and URLs. */
export const TOKEN = /^[A-Za-z0-9_-]{1,64}$/;

export class QueueSettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'QueueSettingsError';
  }
}

export interface QueueFlags {
  /** --to / --from / --nats: the server URL(s). */
  url?: string;
}

/** Reads SCRUB_NATS_* and SCRUB_QUEUE_*; throws QueueSettingsError naming every bad value. */
export function readQueueSettings(env: NodeJS.ProcessEnv, flags: QueueFlags = {}, cwd = process.cwd()): QueueSettings {
  const problems: string[] = [];
  const url = (flags.url ?? env.SCRUB_NATS_URL ?? '').trim();
  const servers = url
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (servers.length === 0) problems.push('name the NATS server: --to/--from/--nats nats://HOST:4222, or set SCRUB_NATS_URL');
  for (const s of servers) {
    if (!/^(nats|tls):\/\/[^\s/]+$/.test(s)) problems.push(`"${redactUrl(s)}" is not a NATS server URL (write nats://host:4222 or tls://host:4222)`);
  }
  const integer = (variable: string, fallback: number, min: number, max: number): number => {
    const raw = env[variable]?.trim();
    if (!raw) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push(`${variable}=${JSON.stringify(raw)}: expected a whole number from ${min} to ${max}`);
      return fallback;
    }
    return Number(raw);
  };
  const name = (env.SCRUB_QUEUE_NAME?.trim() || QUEUE_DEFAULTS.name).toLowerCase();
  if (!/^[a-z][a-z0-9_-]{0,31}$/.test(name)) problems.push(`SCRUB_QUEUE_NAME=${JSON.stringify(name)}: expected a letter, then up to 31 letters, digits, - or _`);

  let auth: QueueAuth = { kind: 'none' };
  const credsFile = env.SCRUB_NATS_CREDS?.trim();
  if (credsFile) {
    try {
      auth = { kind: 'creds', file: credsFile, creds: readFileSync(path.resolve(cwd, credsFile), 'utf8') };
    } catch (err) {
      problems.push(`SCRUB_NATS_CREDS=${JSON.stringify(credsFile)}: the file cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  } else if (env.SCRUB_NATS_TOKEN) {
    auth = { kind: 'token', token: env.SCRUB_NATS_TOKEN };
  } else if (env.SCRUB_NATS_USER) {
    auth = { kind: 'user', user: env.SCRUB_NATS_USER, pass: env.SCRUB_NATS_PASSWORD ?? '' };
  }

  const settings: QueueSettings = {
    servers,
    name,
    auth,
    maxDeliver: integer('SCRUB_QUEUE_MAX_DELIVER', QUEUE_DEFAULTS.maxDeliver, 1, 100),
    ackWaitMs: integer('SCRUB_QUEUE_ACK_WAIT_MS', QUEUE_DEFAULTS.ackWaitMs, 1000, 3600_000),
    replicas: integer('SCRUB_QUEUE_REPLICAS', QUEUE_DEFAULTS.replicas, 1, 5),
    resultsMaxAgeMs: integer('SCRUB_QUEUE_RESULTS_MAX_AGE_MS', QUEUE_DEFAULTS.resultsMaxAgeMs, 60_000, 365 * 24 * 3600_000),
    claimsMaxMsgs: integer('SCRUB_QUEUE_MAX_CLAIMS', QUEUE_DEFAULTS.claimsMaxMsgs, 1, Number.MAX_SAFE_INTEGER),
    claimsMaxBytes: integer('SCRUB_QUEUE_MAX_BYTES', QUEUE_DEFAULTS.claimsMaxBytes, 1024 * 1024, Number.MAX_SAFE_INTEGER),
    duplicateWindowMs: integer('SCRUB_QUEUE_DUPLICATE_WINDOW_MS', QUEUE_DEFAULTS.duplicateWindowMs, 1000, 24 * 3600_000),
  };
  if (problems.length > 0) throw new QueueSettingsError(problems);
  return settings;
}

/** A server URL fit for a log line: a user and password in it are hidden. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//[redacted]@');
}
