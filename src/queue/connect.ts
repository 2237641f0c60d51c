import { credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { connect, type NodeConnectionOptions } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { queueNames, redactUrl, type QueueNames, type QueueSettings } from './settings.js';

/** One connection to the queue, with the JetStream client and manager made once. */
export interface QueueConnection {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  settings: QueueSettings;
  names: QueueNames;
  /** The servers, for messages (credentials in a URL hidden). */
  where: string;
}

export class QueueUnavailableError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'QueueUnavailableError';
  }
}

/**
 * Connects and checks JetStream is there. The client reconnects on its own for ever (a NATS
 * server restart or a cluster failover is routine); only the first connection must succeed.
 */
export async function connectQueue(settings: QueueSettings, clientName: string): Promise<QueueConnection> {
  const options: NodeConnectionOptions = {
    servers: settings.servers,
    name: clientName,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1000,
    timeout: 5000,
  };
  if (settings.auth.kind === 'token') options.token = settings.auth.token;
  if (settings.auth.kind === 'user') Object.assign(options, { user: settings.auth.user, pass: settings.auth.pass });
  if (settings.auth.kind === 'creds') options.authenticator = credsAuthenticator(new TextEncoder().encode(settings.auth.creds));
  const where = settings.servers.map(redactUrl).join(',');
  let nc: NatsConnection;
  try {
    nc = await connect(options);
  } catch (err) {
    throw new QueueUnavailableError(`cannot connect to NATS at ${where}: ${(err as Error).message}`, err);
  }
  try {
    const jsm = await jetstreamManager(nc, { timeout: 10_000 });
    return { nc, js: jetstream(nc, { timeout: 10_000 }), jsm, settings, names: queueNames(settings.name), where };
  } catch (err) {
    await nc.close().catch(() => undefined);
    throw new QueueUnavailableError(`NATS at ${where} has no JetStream (start nats-server with -js): ${(err as Error).message}`, err);
  }
}
