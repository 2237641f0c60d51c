import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';

/**
 * A real PostgreSQL server for the history tests: the one `.ci/run` starts (SCRUB_TEST_POSTGRES_URL),
 * else a throwaway cluster of our own (initdb in a temp folder, listening only on a unix socket
 * there, as the postgres user when we are root). Each test file gets a database of its own.
 * When no server can be had, `reason` says why, and the tests skip printing it.
 */

export interface TestPostgres {
  /** A URL for a fresh database of this file's. */
  url: string;
  /** Server control, only for a cluster of our own (the tests that stop it). */
  stop?: () => void;
  start?: () => void;
  close: () => Promise<void>;
}

function binDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(root, versions[0], 'bin') : undefined;
}

function asPostgresUser(): string[] {
  return process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];
}

function run(command: string[], what: string): void {
  const [file, ...args] = command;
  const r = spawnSync(file!, args, { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${what} failed: ${(r.stderr || r.stdout || r.error?.message || '').trim().slice(0, 400)}`);
}

async function freshDatabase(serverUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `history_test_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/**
 * Starts (or reaches) a server; `{ reason }` when none can be had. `own`: a cluster of this
 * file's own even when CI offers one, for tests that stop and start the server.
 */
export async function startTestPostgres(options: { own?: boolean } = {}): Promise<TestPostgres | { reason: string }> {
  const shared = process.env.SCRUB_TEST_POSTGRES_URL;
  if (shared && !options.own) {
    try {
      const db = await freshDatabase(shared);
      return { url: db.url, close: db.drop };
    } catch (err) {
      return { reason: `SCRUB_TEST_POSTGRES_URL is set but the server cannot be used: ${(err as Error).message}` };
    }
  }
  const bin = binDir();
  if (!bin) return { reason: 'PostgreSQL is not installed (apt-get install -y postgresql), and SCRUB_TEST_POSTGRES_URL is not set' };
  const dir = mkdtempSync(path.join(tmpdir(), 'scrub-pg-'));
  const data = path.join(dir, 'data');
  const port = 20_000 + Math.floor(Math.random() * 40_000);
  const su = asPostgresUser();
  try {
    if (su.length > 0) {
      chmodSync(dir, 0o755);
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
      chownSync(dir, uid, gid);
    }
    run([...su, path.join(bin, 'initdb'), '-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'], 'initdb');
    const options = `-k ${dir} -p ${port} -c listen_addresses='' -c fsync=off -c max_connections=200`;
    const start = () => run([...su, path.join(bin, 'pg_ctl'), '-D', data, '-o', options, '-l', path.join(dir, 'log'), '-w', 'start'], 'pg_ctl start');
    const stop = () => run([...su, path.join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', '-w', 'stop'], 'pg_ctl stop');
    start();
    const serverUrl = `postgres://postgres@localhost:${port}/postgres?host=${encodeURIComponent(dir)}`;
    const db = await freshDatabase(serverUrl);
    return {
      url: db.url,
      start,
      stop,
      close: async () => {
        try {
          stop();
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    return { reason: `a PostgreSQL server could not be started here: ${(err as Error).message}` };
  }
}
