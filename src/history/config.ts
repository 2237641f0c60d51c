import path from 'node:path';
import { MIN_SECRET_LENGTH } from './record.js';

/**
 * Where the history lives and how it is kept, from the environment (and for the CLI, its
 * --history flag). History is off unless a store is named: SCRUB_HISTORY_URL (PostgreSQL),
 * a SQLite file, or a data directory (the service keeps history.sqlite there).
 */

/** 3 years and 90 days: past every payer's timely filing and reopening window we know of. */
export const DEFAULT_RETENTION_DAYS = 3 * 365 + 90;
export const HISTORY_FILE = 'history.sqlite';

export type HistoryTarget = { kind: 'sqlite'; file: string } | { kind: 'postgresql'; url: string };

export interface HistoryConfig {
  target: HistoryTarget;
  secret: string;
  retentionDays: number;
  poolSize: number;
  timeoutMs: number;
}

export class HistorySetupError extends Error {
  constructor(
    /** The variable at fault, and what it holds (never the secret itself). */
    readonly variable: string,
    readonly value: string,
    message: string,
  ) {
    super(message);
    this.name = 'HistorySetupError';
  }
}

const POSTGRES_URL = /^postgres(ql)?:\/\//i;

function whole(env: Readonly<Record<string, string | undefined>>, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) throw new HistorySetupError(name, raw, `expected a whole number from ${min} to ${max}`);
  return Number(raw);
}

/**
 * The history configuration, or undefined when history is off. `location` is the CLI's
 * --history (a file or a postgres:// URL); `dataDir` the service's data directory. An explicit
 * location wins over SCRUB_HISTORY_URL, which wins over the data directory.
 */
export function readHistoryConfig(
  env: Readonly<Record<string, string | undefined>>,
  options: { location?: string; dataDir?: string; cwd?: string } = {},
): HistoryConfig | undefined {
  const cwd = options.cwd ?? process.cwd();
  const location = options.location?.trim() || env.SCRUB_HISTORY_URL?.trim();
  let target: HistoryTarget | undefined;
  if (location) target = POSTGRES_URL.test(location) ? { kind: 'postgresql', url: location } : { kind: 'sqlite', file: path.resolve(cwd, location) };
  else if (options.dataDir?.trim()) target = { kind: 'sqlite', file: path.resolve(cwd, options.dataDir.trim(), HISTORY_FILE) };
  if (!target) return undefined;
  const secret = env.SCRUB_HISTORY_SECRET ?? '';
  if (secret.trim() === '') {
    throw new HistorySetupError(
      'SCRUB_HISTORY_SECRET',
      '',
      'claim history needs SCRUB_HISTORY_SECRET: the key that patient keys are made with (an HMAC of member id and birth date), so that the history holds no member ids or birth dates. ' +
        'Set it to a long random value (for example: openssl rand -hex 32), the same on every instance sharing the history, and keep it secret; without it history does not start.',
    );
  }
  if (secret.length < MIN_SECRET_LENGTH) throw new HistorySetupError('SCRUB_HISTORY_SECRET', '(hidden)', `it is ${secret.length} characters; use at least ${MIN_SECRET_LENGTH} (for example: openssl rand -hex 32)`);
  return {
    target,
    secret,
    retentionDays: whole(env, 'SCRUB_HISTORY_RETENTION_DAYS', DEFAULT_RETENTION_DAYS, 1, 100 * 366),
    poolSize: whole(env, 'SCRUB_HISTORY_POOL_SIZE', 10, 1, 1000),
    timeoutMs: whole(env, 'SCRUB_HISTORY_TIMEOUT_MS', 5000, 100, 600_000),
  };
}
