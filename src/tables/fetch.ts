import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse as parseYaml } from 'yaml';
import { verifyFile } from './verify.js';

/**
 * `scrub tables fetch CONFIG`: downloads the CMS files a configuration names into the tables
 * folder. Each file is checked against the sha256 the configuration gives and read the way a
 * pack would read it before it replaces anything: a download that is cut short, altered, or
 * not a table leaves the edition already in the folder as it was.
 */

export interface FetchEntry {
  url: string;
  sha256: string;
  /** File name in the folder; the last part of the URL when left out. */
  name?: string;
  /** Folder for this file, relative to the configuration file; the configuration's `into` when left out. */
  into?: string;
}

export interface FetchConfig {
  /** The tables folder, relative to the configuration file. */
  into?: string;
  files: FetchEntry[];
}

export interface FetchOutcome {
  url: string;
  file: string;
  status: 'current' | 'downloaded' | 'failed';
  message: string;
  edition?: string;
}

export interface FetchOptions {
  /** Per file, from the request to the last byte (default 10 minutes). */
  timeoutMs?: number;
  /** Larger downloads are refused (default 2 GiB). */
  maxBytes?: number;
}

export class FetchConfigError extends Error {}

const SHA256 = /^[0-9a-f]{64}$/i;

/** Reads and checks a fetch configuration (YAML or JSON). */
export async function readFetchConfig(file: string): Promise<FetchConfig> {
  let raw: unknown;
  try {
    raw = parseYaml(await readFile(file, 'utf8'));
  } catch (error) {
    throw new FetchConfigError(`${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const problems: string[] = [];
  const config = raw as Partial<FetchConfig> | null;
  if (!config || typeof config !== 'object' || !Array.isArray(config.files) || config.files.length === 0) {
    throw new FetchConfigError(`${file}: expected "files:", a list of { url, sha256 } (and optionally name, into), and optionally "into:" the tables folder`);
  }
  if (config.into !== undefined && typeof config.into !== 'string') problems.push('"into" must be a folder name');
  config.files.forEach((entry, i) => {
    const at = `files[${i}]`;
    if (!entry || typeof entry !== 'object') return problems.push(`${at} must be { url, sha256 }`);
    let url: URL | undefined;
    try {
      url = new URL(String(entry.url));
    } catch {
      problems.push(`${at}.url ${JSON.stringify(entry.url)} is not a URL`);
    }
    if (url && url.protocol !== 'https:' && url.protocol !== 'http:') problems.push(`${at}.url must be http or https, not ${url.protocol}`);
    if (typeof entry.sha256 !== 'string' || !SHA256.test(entry.sha256)) problems.push(`${at}.sha256 must be the file's SHA-256 as 64 hex digits`);
    const name = entry.name ?? (url ? decodeURIComponent(path.posix.basename(url.pathname)) : '');
    if (!name || name !== path.basename(name) || name.startsWith('.')) problems.push(`${at}: the file name ${JSON.stringify(name)} must be a plain file name (give "name")`);
    if (entry.into !== undefined && typeof entry.into !== 'string') problems.push(`${at}.into must be a folder name`);
    return undefined;
  });
  if (problems.length > 0) throw new FetchConfigError(`${file}: ${problems.join('; ')}`);
  return config as FetchConfig;
}

async function sha256Of(file: string): Promise<string | undefined> {
  try {
    const hash = createHash('sha256');
    await pipeline(createReadStream(file), hash);
    return hash.digest('hex');
  } catch {
    return undefined;
  }
}

async function download(url: string, to: string, options: Required<FetchOptions>): Promise<string> {
  const response = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(options.timeoutMs) });
  if (!response.ok || !response.body) throw new Error(`the server answered ${response.status} ${response.statusText}`.trim());
  const length = Number(response.headers.get('content-length'));
  if (Number.isFinite(length) && length > options.maxBytes) throw new Error(`the file is ${length} bytes, more than the ${options.maxBytes} allowed`);
  const hash = createHash('sha256');
  let bytes = 0;
  const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
  body.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes > options.maxBytes) body.destroy(new Error(`the file is more than the ${options.maxBytes} bytes allowed`));
    hash.update(chunk);
  });
  await pipeline(body, createWriteStream(to));
  if (Number.isFinite(length) && length > 0 && bytes !== length) throw new Error(`the download stopped after ${bytes} of ${length} bytes`);
  return hash.digest('hex');
}

/** Fetches one file: already current, downloaded and in place, or failed with the folder untouched. */
async function fetchOne(entry: FetchEntry, folder: string, options: Required<FetchOptions>): Promise<FetchOutcome> {
  const name = entry.name ?? decodeURIComponent(path.posix.basename(new URL(entry.url).pathname));
  const file = path.join(folder, name);
  const expected = entry.sha256.toLowerCase();
  const outcome = (status: FetchOutcome['status'], message: string, edition?: string): FetchOutcome => (edition ? { url: entry.url, file, status, message, edition } : { url: entry.url, file, status, message });
  if ((await sha256Of(file)) === expected) return outcome('current', 'already in the folder with the expected sha256');
  await mkdir(folder, { recursive: true });
  // Downloaded beside its final place under its own name (so that its edition is recognised),
  // then renamed over it in one step: a reader never sees half a file.
  const staging = await mkdtemp(path.join(folder, '.fetch-'));
  const staged = path.join(staging, name);
  try {
    let actual: string;
    try {
      actual = await download(entry.url, staged, options);
    } catch (error) {
      const why = error instanceof Error ? (error.name === 'TimeoutError' ? `no complete answer within ${options.timeoutMs} ms` : error.message) : String(error);
      return outcome('failed', `download failed: ${why}; the folder was left as it was`);
    }
    if (actual !== expected) return outcome('failed', `sha256 mismatch: expected ${expected}, the download is ${actual}; the folder was left as it was`);
    const verified = await verifyFile(staged);
    if (verified.status !== 'ok') {
      const why = verified.status === 'not-a-table' ? 'it is not a table file this scrubber reads' : verified.error;
      return outcome('failed', `the download has the expected sha256 but cannot be used as a table: ${why}; the folder was left as it was`);
    }
    await rename(staged, file);
    const edition = verified.edition ?? verified.title;
    return outcome('downloaded', `downloaded and verified: ${verified.rowsTaken} rows${verified.edition ? `, ${verified.edition}` : ''}`, edition);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

export async function fetchTables(configFile: string, options: FetchOptions = {}): Promise<FetchOutcome[]> {
  const config = await readFetchConfig(configFile);
  const base = path.dirname(path.resolve(configFile));
  const opts: Required<FetchOptions> = { timeoutMs: options.timeoutMs ?? 10 * 60_000, maxBytes: options.maxBytes ?? 2 ** 31 };
  const outcomes: FetchOutcome[] = [];
  for (const entry of config.files) {
    const folder = path.resolve(base, entry.into ?? config.into ?? '.');
    const info = await stat(folder).catch(() => undefined);
    if (info && !info.isDirectory()) {
      outcomes.push({ url: entry.url, file: folder, status: 'failed', message: `${folder} is not a folder` });
      continue;
    }
    outcomes.push(await fetchOne(entry, folder, opts));
  }
  return outcomes;
}
