import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { engineFrom } from './engine/engines.js';
import type { EngineName } from './engine/evaluator.js';
import { HistorySetupError, readHistoryConfig, type HistoryConfig } from './history/config.js';
import { parseApiKeys, type ApiKey } from './http/api-keys.js';
import { bundledRulesDir } from './paths.js';

/**
 * The service's configuration: read from the environment (and `scrub serve` flags) in this one
 * place, checked at start-up, typed for everything else. A bad value stops the start with a
 * message naming the variable, its value and what is expected; nothing downstream re-parses.
 */

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ServiceConfig {
  port: number;
  host: string;
  rulesDir: string;
  logLevel: LogLevel;
  /** Processes serving the port: 1 runs in-process, more use node:cluster. */
  workers: number;
  /** How conditions are evaluated: compiled, or by json-rules-engine itself (the reference). */
  engine: EngineName;
  /** Largest body of POST /v1/scrub, and longest line of an NDJSON batch, in bytes. */
  bodyLimit: number;
  batch: {
    /** Most claims in one NDJSON batch. */
    maxClaims: number;
    /** Most claims in one JSON-array batch. */
    maxJsonClaims: number;
    /** Largest JSON-array batch body, in bytes. */
    jsonBodyLimit: number;
  };
  auth: { enabled: true; keys: ApiKey[] } | { enabled: false; reason: 'no-keys' | 'turned-off'; ignoredKeys: number };
  /** Requests per window per API key (per IP without keys); undefined: no limit. */
  rateLimit?: { max: number; windowMs: number };
  /**
   * Failed authentications allowed per client address per window, after which the address gets
   * 429 until the window ends, whatever key it sends; undefined: no limit.
   */
  authFailureLimit?: { max: number; windowMs: number };
  timeouts: {
    /** Whole request, headers and body (Node's requestTimeout); 0: none. */
    requestMs: number;
    /**
     * A request's headers, from its first byte or from the connection's opening (Node's
     * headersTimeout): a connection that sends nothing is closed after this. Never more than
     * requestMs.
     */
    headersMs: number;
    /** A socket with no activity at all is closed after this (Node's server.timeout); 0: never. */
    idleMs: number;
    /** An idle keep-alive connection is closed after this. */
    keepAliveMs: number;
  };
  shutdown: {
    /** After SIGTERM, requests in flight get this long to finish before the process exits anyway. */
    deadlineMs: number;
    /** After SIGTERM, keep serving (not ready) this long so load balancers stop sending first. */
    delayMs: number;
  };
  /**
   * Most connections one serving process holds open (SCRUB_MAX_CONNECTIONS); undefined: as many
   * as its file descriptor limit allows, less a reserve (see src/service/connections.ts).
   */
  maxConnections?: number;
  /** How long the /metrics answer is reused (0: made anew for every scrape). */
  metricsCacheMs: number;
  /** Reload the packs when their files change. */
  watch: boolean;
  /** Origins allowed by CORS; empty: CORS headers are never sent. */
  corsOrigins: string[];
  /** The claim history (SCRUB_DATA_DIR or SCRUB_HISTORY_URL); undefined: history is off. */
  history?: HistoryConfig;
}

export interface ServeFlags {
  port?: string;
  host?: string;
  rules?: string;
  workers?: string;
  engine?: string;
}

export interface ConfigProblem {
  variable: string;
  value: string;
  expected: string;
}

export function formatConfigProblem(p: ConfigProblem): string {
  return `${p.variable}=${JSON.stringify(p.value)}: ${p.expected}`;
}

export class ConfigError extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    super(`The configuration is not valid:\n${problems.map((p) => `  ${formatConfigProblem(p)}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export const DEFAULTS = {
  port: 8080,
  host: '127.0.0.1',
  logLevel: 'info' as LogLevel,
  bodyLimit: 1024 * 1024,
  batchMaxClaims: 100_000,
  batchMaxJsonClaims: 1000,
  batchJsonBodyLimit: 16 * 1024 * 1024,
  rateLimit: 12_000,
  rateLimitWindowMs: 60_000,
  authFailureLimit: 20,
  authFailureWindowMs: 60_000,
  // Long enough for the largest NDJSON batch, whose upload goes at the speed it is scrubbed.
  requestTimeoutMs: 900_000,
  headersTimeoutMs: 10_000,
  idleTimeoutMs: 120_000,
  keepAliveTimeoutMs: 72_000,
  shutdownDeadlineMs: 25_000,
  shutdownDelayMs: 0,
  metricsCacheMs: 1000,
} as const;

/** Reads and checks everything; throws one ConfigError listing every bad value. */
export function readServiceConfig(env: NodeJS.ProcessEnv, flags: ServeFlags = {}, cwd = process.cwd()): ServiceConfig {
  const problems: ConfigProblem[] = [];
  const bad = (variable: string, value: string, expected: string) => problems.push({ variable, value, expected });

  const integer = (variable: string, text: string | undefined, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER, unit = ''): number => {
    if (text === undefined || text.trim() === '') return fallback;
    const n = Number(text.trim());
    if (!/^\d+$/.test(text.trim()) || n < min || n > max) {
      bad(variable, text, `expected a whole number${unit ? ` of ${unit}` : ''} from ${min} to ${max === Number.MAX_SAFE_INTEGER ? 'any size' : max}`);
      return fallback;
    }
    return n;
  };
  const flag = (variable: string, text: string | undefined): boolean => {
    if (text === undefined || text.trim() === '') return false;
    const t = text.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(t)) return true;
    if (['0', 'false', 'no', 'off'].includes(t)) return false;
    bad(variable, text, 'expected 1 or 0 (true/false, on/off)');
    return false;
  };

  const port = integer(flags.port !== undefined ? '--port' : 'PORT', flags.port ?? env.PORT, DEFAULTS.port, 0, 65535);
  const host = (flags.host ?? env.HOST ?? DEFAULTS.host).trim();
  if (host === '') bad('HOST', host, 'expected an address to listen on, such as 127.0.0.1 or 0.0.0.0');
  const rulesChoice = flags.rules ?? env.SCRUB_RULES_DIR;
  const rulesDir = rulesChoice ? path.resolve(cwd, rulesChoice) : bundledRulesDir;

  const logText = env.LOG_LEVEL?.trim().toLowerCase();
  let logLevel: LogLevel = DEFAULTS.logLevel;
  if (logText) {
    if ((LOG_LEVELS as readonly string[]).includes(logText)) logLevel = logText as LogLevel;
    else bad('LOG_LEVEL', env.LOG_LEVEL!, `expected one of ${LOG_LEVELS.join(', ')}`);
  }

  const cores = availableParallelism();
  const workers = integer(flags.workers !== undefined ? '--workers' : 'SCRUB_WORKERS', flags.workers ?? env.SCRUB_WORKERS, cores, 1, 256, 'processes');

  const chosenEngine = engineFrom(flags.engine, env);
  const engine: EngineName = 'engine' in chosenEngine ? chosenEngine.engine : 'compiled';
  if ('problem' in chosenEngine) bad(flags.engine !== undefined ? '--engine' : 'SCRUB_ENGINE', (flags.engine ?? env.SCRUB_ENGINE)!, 'expected compiled or reference');

  const bodyLimit = integer('SCRUB_BODY_LIMIT', env.SCRUB_BODY_LIMIT, DEFAULTS.bodyLimit, 1024, 1024 ** 3, 'bytes');
  const batch = {
    maxClaims: integer('SCRUB_BATCH_MAX_CLAIMS', env.SCRUB_BATCH_MAX_CLAIMS, DEFAULTS.batchMaxClaims, 1, Number.MAX_SAFE_INTEGER, 'claims'),
    maxJsonClaims: integer('SCRUB_BATCH_MAX_JSON_CLAIMS', env.SCRUB_BATCH_MAX_JSON_CLAIMS, DEFAULTS.batchMaxJsonClaims, 1, 100_000, 'claims'),
    jsonBodyLimit: integer('SCRUB_BATCH_BODY_LIMIT', env.SCRUB_BATCH_BODY_LIMIT, DEFAULTS.batchJsonBodyLimit, 1024, 1024 ** 3, 'bytes'),
  };

  // Keys: from SCRUB_API_KEYS and/or the file SCRUB_API_KEYS_FILE.
  const keys: ApiKey[] = [];
  const addKeys = (variable: string, shown: string, text: string) => {
    const parsed = parseApiKeys(text);
    for (const p of parsed.problems) bad(variable, shown, p);
    for (const k of parsed.keys) {
      if (keys.some((other) => other.name === k.name)) bad(variable, shown, `the key name "${k.name}" is used twice`);
      else keys.push(k);
    }
  };
  // The value is shown only as "(N entries)": even hashes do not belong in logs.
  if (env.SCRUB_API_KEYS?.trim()) addKeys('SCRUB_API_KEYS', '(hidden)', env.SCRUB_API_KEYS);
  const keysFile = env.SCRUB_API_KEYS_FILE?.trim();
  if (keysFile) {
    try {
      addKeys('SCRUB_API_KEYS_FILE', keysFile, readFileSync(path.resolve(cwd, keysFile), 'utf8'));
    } catch (err) {
      bad('SCRUB_API_KEYS_FILE', keysFile, `the file cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }
  const authText = env.SCRUB_AUTH?.trim().toLowerCase();
  let auth: ServiceConfig['auth'];
  if (authText === undefined || authText === '' || authText === 'auto') {
    auth = keys.length > 0 ? { enabled: true, keys } : { enabled: false, reason: 'no-keys', ignoredKeys: 0 };
  } else if (authText === 'on') {
    if (keys.length === 0) bad('SCRUB_AUTH', env.SCRUB_AUTH!, 'is "on" but no keys are configured: set SCRUB_API_KEYS or SCRUB_API_KEYS_FILE');
    auth = { enabled: true, keys };
  } else if (authText === 'off') {
    auth = { enabled: false, reason: 'turned-off', ignoredKeys: keys.length };
  } else {
    bad('SCRUB_AUTH', env.SCRUB_AUTH!, 'expected on, off or auto (on when keys are configured)');
    auth = { enabled: false, reason: 'no-keys', ignoredKeys: 0 };
  }

  const rateMax = integer('SCRUB_RATE_LIMIT', env.SCRUB_RATE_LIMIT, DEFAULTS.rateLimit, 0, Number.MAX_SAFE_INTEGER, 'requests (0: no limit)');
  const rateWindow = integer('SCRUB_RATE_LIMIT_WINDOW_MS', env.SCRUB_RATE_LIMIT_WINDOW_MS, DEFAULTS.rateLimitWindowMs, 1000, 24 * 3600_000, 'milliseconds');

  const authFailureMax = integer('SCRUB_AUTH_FAILURE_LIMIT', env.SCRUB_AUTH_FAILURE_LIMIT, DEFAULTS.authFailureLimit, 0, Number.MAX_SAFE_INTEGER, 'failed authentications (0: no limit)');
  const authFailureWindow = integer('SCRUB_AUTH_FAILURE_WINDOW_MS', env.SCRUB_AUTH_FAILURE_WINDOW_MS, DEFAULTS.authFailureWindowMs, 1000, 24 * 3600_000, 'milliseconds');

  const requestMs = integer('SCRUB_REQUEST_TIMEOUT_MS', env.SCRUB_REQUEST_TIMEOUT_MS, DEFAULTS.requestTimeoutMs, 0, 24 * 3600_000, 'milliseconds (0: none)');
  const headersMs = integer('SCRUB_HEADERS_TIMEOUT_MS', env.SCRUB_HEADERS_TIMEOUT_MS, DEFAULTS.headersTimeoutMs, 1000, 3600_000, 'milliseconds');
  const timeouts = {
    requestMs,
    // Node refuses a headers timeout longer than the request timeout; the shorter one bounds both.
    headersMs: requestMs > 0 ? Math.min(headersMs, requestMs) : headersMs,
    idleMs: integer('SCRUB_IDLE_TIMEOUT_MS', env.SCRUB_IDLE_TIMEOUT_MS, DEFAULTS.idleTimeoutMs, 0, 24 * 3600_000, 'milliseconds (0: never)'),
    keepAliveMs: integer('SCRUB_KEEP_ALIVE_TIMEOUT_MS', env.SCRUB_KEEP_ALIVE_TIMEOUT_MS, DEFAULTS.keepAliveTimeoutMs, 1, 3600_000, 'milliseconds'),
  };
  const shutdown = {
    deadlineMs: integer('SCRUB_SHUTDOWN_DEADLINE_MS', env.SCRUB_SHUTDOWN_DEADLINE_MS, DEFAULTS.shutdownDeadlineMs, 0, 3600_000, 'milliseconds'),
    delayMs: integer('SCRUB_SHUTDOWN_DELAY_MS', env.SCRUB_SHUTDOWN_DELAY_MS, DEFAULTS.shutdownDelayMs, 0, 600_000, 'milliseconds'),
  };

  const maxConnectionsText = env.SCRUB_MAX_CONNECTIONS?.trim();
  const maxConnections = maxConnectionsText ? integer('SCRUB_MAX_CONNECTIONS', maxConnectionsText, 0, 1, 10_000_000, 'connections per worker') : undefined;
  const metricsCacheMs = integer('SCRUB_METRICS_CACHE_MS', env.SCRUB_METRICS_CACHE_MS, DEFAULTS.metricsCacheMs, 0, 60_000, 'milliseconds (0: no cache)');

  const watch = flag('SCRUB_WATCH', env.SCRUB_WATCH);
  const corsOrigins = (env.SCRUB_CORS_ORIGINS ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '');
  for (const origin of corsOrigins) {
    if (origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin)) {
      bad('SCRUB_CORS_ORIGINS', env.SCRUB_CORS_ORIGINS!, `"${origin}" is not an origin; write scheme://host[:port] with no path, comma-separated, or *`);
    }
  }

  let history: HistoryConfig | undefined;
  try {
    history = readHistoryConfig(env, { ...(env.SCRUB_DATA_DIR ? { dataDir: env.SCRUB_DATA_DIR } : {}), cwd });
  } catch (err) {
    if (!(err instanceof HistorySetupError)) throw err;
    bad(err.variable, err.value, err.message);
  }

  if (problems.length > 0) throw new ConfigError(problems);
  const config: ServiceConfig = { port, host, rulesDir, logLevel, workers, engine, bodyLimit, batch, auth, timeouts, shutdown, metricsCacheMs, watch, corsOrigins };
  if (maxConnections !== undefined) config.maxConnections = maxConnections;
  // Said outright when off: buildApp lays the configuration over its defaults, whose limit is on.
  config.rateLimit = rateMax > 0 ? { max: rateMax, windowMs: rateWindow } : undefined;
  config.authFailureLimit = authFailureMax > 0 ? { max: authFailureMax, windowMs: authFailureWindow } : undefined;
  if (history) config.history = history;
  return config;
}

/** The configuration the HTTP tests and `buildApp` callers get when they say nothing. */
export function defaultServiceConfig(overrides: Partial<ServiceConfig> = {}): ServiceConfig {
  return { ...readServiceConfig({ SCRUB_WORKERS: '1' }), ...overrides };
}
