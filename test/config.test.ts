import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULTS, readServiceConfig } from '../src/config.js';
import { hashApiKey } from '../src/http/api-keys.js';

const problemsOf = (env: NodeJS.ProcessEnv, flags = {}) => {
  try {
    readServiceConfig(env, flags);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

describe('the service configuration', () => {
  it('has working defaults with nothing set: development mode, one worker per core', () => {
    const config = readServiceConfig({});
    expect(config).toMatchObject({ port: 8080, host: '127.0.0.1', logLevel: 'info', bodyLimit: DEFAULTS.bodyLimit, watch: false, corsOrigins: [] });
    expect(config.auth).toEqual({ enabled: false, reason: 'no-keys', ignoredKeys: 0 });
    expect(config.workers).toBeGreaterThanOrEqual(1);
    expect(config.rateLimit).toEqual({ max: DEFAULTS.rateLimit, windowMs: DEFAULTS.rateLimitWindowMs });
  });

  it('reads every variable', () => {
    const config = readServiceConfig({
      PORT: '9000',
      HOST: '0.0.0.0',
      LOG_LEVEL: 'DEBUG',
      SCRUB_WORKERS: '3',
      SCRUB_BODY_LIMIT: '2048',
      SCRUB_BATCH_MAX_CLAIMS: '10',
      SCRUB_BATCH_MAX_JSON_CLAIMS: '5',
      SCRUB_BATCH_BODY_LIMIT: '4096',
      SCRUB_API_KEYS: `billing:scrub:${hashApiKey('k')}`,
      SCRUB_RATE_LIMIT: '0',
      SCRUB_REQUEST_TIMEOUT_MS: '1000',
      SCRUB_IDLE_TIMEOUT_MS: '2000',
      SCRUB_KEEP_ALIVE_TIMEOUT_MS: '3000',
      SCRUB_SHUTDOWN_DEADLINE_MS: '4000',
      SCRUB_SHUTDOWN_DELAY_MS: '500',
      SCRUB_WATCH: '1',
      SCRUB_CORS_ORIGINS: 'https://a.example.org, http://localhost:3000',
    });
    expect(config).toMatchObject({
      port: 9000,
      host: '0.0.0.0',
      logLevel: 'debug',
      workers: 3,
      bodyLimit: 2048,
      batch: { maxClaims: 10, maxJsonClaims: 5, jsonBodyLimit: 4096 },
      timeouts: { requestMs: 1000, idleMs: 2000, keepAliveMs: 3000 },
      shutdown: { deadlineMs: 4000, delayMs: 500 },
      watch: true,
      corsOrigins: ['https://a.example.org', 'http://localhost:3000'],
    });
    expect(config.auth.enabled).toBe(true);
    expect(config.rateLimit).toBeUndefined();
  });

  it('reads the connection settings: header timeout (never past the request timeout), connections per worker, metrics cache', () => {
    expect(readServiceConfig({})).toMatchObject({ timeouts: { headersMs: 10_000 }, metricsCacheMs: 1000 });
    expect(readServiceConfig({}).maxConnections).toBeUndefined();
    expect(readServiceConfig({ SCRUB_HEADERS_TIMEOUT_MS: '5000', SCRUB_MAX_CONNECTIONS: '900', SCRUB_METRICS_CACHE_MS: '0' })).toMatchObject({
      timeouts: { headersMs: 5000 },
      maxConnections: 900,
      metricsCacheMs: 0,
    });
    expect(readServiceConfig({ SCRUB_HEADERS_TIMEOUT_MS: '30000', SCRUB_REQUEST_TIMEOUT_MS: '2000' }).timeouts).toMatchObject({ requestMs: 2000, headersMs: 2000 });
    expect(readServiceConfig({ SCRUB_HEADERS_TIMEOUT_MS: '30000', SCRUB_REQUEST_TIMEOUT_MS: '0' }).timeouts).toMatchObject({ requestMs: 0, headersMs: 30_000 });
    expect(problemsOf({ SCRUB_HEADERS_TIMEOUT_MS: '10', SCRUB_MAX_CONNECTIONS: '0', SCRUB_METRICS_CACHE_MS: 'often' })).toEqual([
      { variable: 'SCRUB_HEADERS_TIMEOUT_MS', value: '10', expected: 'expected a whole number of milliseconds from 1000 to 3600000' },
      { variable: 'SCRUB_MAX_CONNECTIONS', value: '0', expected: 'expected a whole number of connections per worker from 1 to 10000000' },
      { variable: 'SCRUB_METRICS_CACHE_MS', value: 'often', expected: 'expected a whole number of milliseconds (0: no cache) from 0 to 60000' },
    ]);
  });

  it('prefers the serve flags to the environment', () => {
    expect(readServiceConfig({ PORT: '1', SCRUB_WORKERS: '4' }, { port: '2', workers: '1' })).toMatchObject({ port: 2, workers: 1 });
  });

  it('names every bad variable, its value and what is expected, all at once', () => {
    expect(problemsOf({ PORT: '80a', SCRUB_WORKERS: '0', SCRUB_WATCH: 'maybe', SCRUB_AUTH: 'sometimes', SCRUB_CORS_ORIGINS: 'example.org/path' })).toEqual([
      { variable: 'PORT', value: '80a', expected: 'expected a whole number from 0 to 65535' },
      { variable: 'SCRUB_WORKERS', value: '0', expected: 'expected a whole number of processes from 1 to 256' },
      { variable: 'SCRUB_AUTH', value: 'sometimes', expected: 'expected on, off or auto (on when keys are configured)' },
      { variable: 'SCRUB_WATCH', value: 'maybe', expected: 'expected 1 or 0 (true/false, on/off)' },
      { variable: 'SCRUB_CORS_ORIGINS', value: 'example.org/path', expected: '"example.org/path" is not an origin; write scheme://host[:port] with no path, comma-separated, or *' },
    ]);
  });

  it('refuses SCRUB_AUTH=on without keys, rather than run open by mistake', () => {
    expect(problemsOf({ SCRUB_AUTH: 'on' })).toEqual([
      { variable: 'SCRUB_AUTH', value: 'on', expected: 'is "on" but no keys are configured: set SCRUB_API_KEYS or SCRUB_API_KEYS_FILE' },
    ]);
  });

  it('turns authentication off with SCRUB_AUTH=off even with keys, and says how many are ignored', () => {
    expect(readServiceConfig({ SCRUB_AUTH: 'off', SCRUB_API_KEYS: `a:admin:${hashApiKey('k')}` }).auth).toEqual({ enabled: false, reason: 'turned-off', ignoredKeys: 1 });
  });

  it('reads keys from a file, and refuses a file it cannot read', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'scrub-keys-'));
    const file = path.join(dir, 'keys');
    await writeFile(file, `# keys of the billing systems\nbilling:scrub:${hashApiKey('a')}\nops:admin:${hashApiKey('b')}\n`);
    const config = readServiceConfig({ SCRUB_API_KEYS_FILE: file });
    expect(config.auth.enabled && config.auth.keys.map((k) => k.name)).toEqual(['billing', 'ops']);
    expect(problemsOf({ SCRUB_API_KEYS_FILE: path.join(dir, 'missing') })).toEqual([
      { variable: 'SCRUB_API_KEYS_FILE', value: path.join(dir, 'missing'), expected: 'the file cannot be read (ENOENT)' },
    ]);
  });
});
