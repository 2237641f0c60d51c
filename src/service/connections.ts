import { readFileSync, readdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';

/**
 * The connections of one serving process: how many it may hold (its descriptor budget), which
 * it refuses, and how they are closed at shutdown.
 *
 * Every connection is a file descriptor. A process at its descriptor limit cannot open a pack
 * file, and a cluster worker at its limit cannot even receive the connections the primary hands
 * it (the handle is lost on the way and the primary never hands that worker another one). So a
 * process holds at most `limit - in use at start-up - DESCRIPTOR_RESERVE` connections, or
 * SCRUB_MAX_CONNECTIONS when that is lower, and closes any connection past that at once: a flood
 * costs the flood, never the service.
 */

/** Descriptors kept free beyond those open at start-up: pack files a reload reads, handles in transit, a log file. */
export const DESCRIPTOR_RESERVE = 128;
/** How often the limit is read again: `prlimit` can change it while the process runs. */
export const LIMIT_CHECK_MS = 2000;
/** Refusals are counted, and logged at most once per this long (a flood must not flood the log). */
export const REFUSAL_LOG_MS = 10_000;
/**
 * At shutdown, a kept-alive connection is closed once it has carried nothing for this long. One
 * closed while a request is on its way would reset that request; one in use is closed after its
 * next answer (Connection: close) instead.
 */
export const IDLE_GRACE_MS = 1000;

/** The soft limit on open files of this process (Linux); undefined where it cannot be read. */
export function fileLimit(): number | undefined {
  try {
    const match = /^Max open files\s+(\d+|unlimited)\s/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (!match) return undefined;
    return match[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(match[1]);
  } catch {
    return undefined;
  }
}

/** Descriptors this process has open now (Linux); undefined where they cannot be counted. */
export function openDescriptors(): number | undefined {
  try {
    // The listing itself holds one while it reads.
    return readdirSync('/proc/self/fd').length - 1;
  } catch {
    return undefined;
  }
}

export interface ConnectionBudget {
  /** The most connections held at once. */
  maxConnections: number;
  fileLimit?: number;
  /** Descriptors open before any connection: stdio, the IPC channel, the event loop's own. */
  baseline?: number;
  /** SCRUB_MAX_CONNECTIONS, when set. */
  configured?: number;
}

/** How many connections a process may hold with this limit, this baseline and this setting. */
export function connectionBudget(limit: number | undefined, baseline: number | undefined, configured: number | undefined): ConnectionBudget {
  const allowed = limit === undefined || !Number.isFinite(limit) ? Number.POSITIVE_INFINITY : Math.max(1, limit - (baseline ?? 0) - DESCRIPTOR_RESERVE);
  const maxConnections = Math.min(configured ?? Number.POSITIVE_INFINITY, allowed);
  return {
    maxConnections,
    ...(limit !== undefined ? { fileLimit: limit } : {}),
    ...(baseline !== undefined ? { baseline } : {}),
    ...(configured !== undefined ? { configured } : {}),
  };
}

/** Counts events and logs them now and then: the first at once, then at most once per window. */
class EventTally {
  total = 0;
  private unlogged = 0;
  private window: NodeJS.Timeout | undefined;

  constructor(private readonly report: (count: number) => void) {}

  add(): void {
    this.total++;
    this.unlogged++;
    if (!this.window) this.flush();
  }

  private flush(): void {
    if (this.unlogged === 0) {
      this.window = undefined;
      return;
    }
    this.report(this.unlogged);
    this.unlogged = 0;
    this.window = setTimeout(() => this.flush(), REFUSAL_LOG_MS);
    this.window.unref();
  }

  stop(): void {
    clearTimeout(this.window);
    if (this.unlogged > 0) this.report(this.unlogged);
    this.unlogged = 0;
  }
}

type HttpSocket = Socket & { _httpMessage?: { writableFinished: boolean } | null };

export interface ConnectionFigures {
  open: number;
  maxConnections: number;
  /** Every connection this process was handed, refused ones included. */
  accepted: number;
  refused: number;
  /** Closed for sending nothing within the header timeout. */
  silentClosed: number;
}

export class ServerConnections {
  private readonly sockets = new Set<HttpSocket>();
  private budget: ConnectionBudget;
  private accepted = 0;
  private readonly refusals: EventTally;
  private readonly silent: EventTally;
  private readonly limitCheck: NodeJS.Timeout;
  private closing = false;

  constructor(
    private readonly server: Server,
    private readonly log: FastifyBaseLogger,
    private readonly options: { configured?: number; headersTimeoutMs: number },
  ) {
    this.budget = connectionBudget(fileLimit(), openDescriptors(), options.configured);
    this.refusals = new EventTally((refused) =>
      log.warn(
        { refused, refusedTotal: this.refusals.total, open: this.sockets.size, maxConnections: this.budget.maxConnections, fileLimit: this.budget.fileLimit },
        'connections refused: this process holds as many as its descriptor budget allows (see SCRUB_MAX_CONNECTIONS)',
      ),
    );
    this.silent = new EventTally((closed) =>
      log.info({ closed, closedTotal: this.silent.total, headersTimeoutMs: options.headersTimeoutMs }, 'closed connections that sent nothing within SCRUB_HEADERS_TIMEOUT_MS'),
    );
    server.on('connection', (socket: HttpSocket) => this.onConnection(socket));
    // Before the answer Node (and our problem handler) would write: a connection that never sent
    // a byte asked nothing, so it is closed without a 408, and counted rather than logged each.
    server.prependListener('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' && socket.bytesRead === 0 && !socket.destroyed) {
        socket.destroy();
        this.silent.add();
      }
    });
    // Node's server.close() closes idle kept-alive connections at once, and resets any request
    // already on its way over one; close them only once they have been idle a moment.
    server.closeIdleConnections = () => this.closeIdleGracefully();
    this.limitCheck = setInterval(() => this.checkLimit(), LIMIT_CHECK_MS);
    this.limitCheck.unref();
    server.once('close', () => this.stop());
  }

  /** Says what the budget is: once at start-up. */
  logBudget(): void {
    const { maxConnections, fileLimit: limit, baseline, configured } = this.budget;
    const fields = { fileLimit: limit ?? 'unknown', descriptorsInUse: baseline ?? 'unknown', reserve: DESCRIPTOR_RESERVE, maxConnections: Number.isFinite(maxConnections) ? maxConnections : 'unbounded' };
    if (configured !== undefined && configured > maxConnections) {
      this.log.warn({ ...fields, configured }, 'SCRUB_MAX_CONNECTIONS is more than the file descriptor limit allows: the limit wins; raise it (LimitNOFILE, ulimit -n) to hold more');
    } else if (maxConnections < 64) {
      this.log.error(fields, 'the file descriptor limit leaves room for almost no connections: raise it (LimitNOFILE, ulimit -n)');
    } else {
      this.log.info(fields, 'connection budget');
    }
  }

  figures(): ConnectionFigures {
    return { open: this.sockets.size, maxConnections: this.budget.maxConnections, accepted: this.accepted, refused: this.refusals.total, silentClosed: this.silent.total };
  }

  private onConnection(socket: HttpSocket): void {
    this.accepted++;
    if (this.sockets.size >= this.budget.maxConnections) {
      socket.destroy();
      this.refusals.add();
      return;
    }
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  private checkLimit(): void {
    // Unreadable (a process out of descriptors cannot open the file): keep what was known.
    const limit = fileLimit();
    if (limit === undefined || limit === this.budget.fileLimit) return;
    const before = this.budget.maxConnections;
    this.budget = connectionBudget(limit, this.budget.baseline, this.options.configured);
    this.log.warn({ fileLimit: limit, maxConnections: this.budget.maxConnections, before }, 'the file descriptor limit changed: the connection budget follows it');
  }

  /**
   * Closes each connection once it has had no answer in progress and read no byte for
   * IDLE_GRACE_MS; until the server has closed. A request that arrives meanwhile is answered
   * (503 shutting-down, with Connection: close) instead of being reset.
   */
  private closeIdleGracefully(): void {
    if (this.closing) return;
    this.closing = true;
    const seen = new Map<HttpSocket, { bytes: number; since: number }>();
    const answering = (socket: HttpSocket) => socket._httpMessage != null && !socket._httpMessage.writableFinished;
    const sweep = () => {
      const now = performance.now();
      const idle: HttpSocket[] = [];
      for (const socket of this.sockets) {
        const last = seen.get(socket);
        if (answering(socket) || !last || last.bytes !== socket.bytesRead) seen.set(socket, { bytes: socket.bytesRead, since: now });
        else if (now - last.since >= IDLE_GRACE_MS) idle.push(socket);
      }
      for (const socket of seen.keys()) if (!this.sockets.has(socket)) seen.delete(socket);
      if (this.sockets.size === 0) clearInterval(timer);
      // Timers run before the event loop reads the sockets: after a busy stretch (a long batch on
      // this process) a request may be waiting, unread, on a connection that looks idle here.
      // Decide after the next read phase, when bytesRead counts what has arrived.
      if (idle.length > 0) {
        setImmediate(() => {
          for (const socket of idle) if (!socket.destroyed && !answering(socket) && seen.get(socket)?.bytes === socket.bytesRead) socket.destroy();
        });
      }
    };
    const timer = setInterval(sweep, 50);
    this.server.once('close', () => clearInterval(timer));
    sweep();
  }

  private stop(): void {
    clearInterval(this.limitCheck);
    this.refusals.stop();
    this.silent.stop();
  }
}
