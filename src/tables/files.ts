import { createHash } from 'node:crypto';
import { open, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * Where a table's files are: the paths pack.yaml lists (inside the pack folder) or the ones a
 * deployment puts in an environment variable, either of them possibly with a simple glob
 * ("*" and "?" in the file name, e.g. tables/ccipra-v322r0-f*.txt).
 */

export class TableFilesError extends Error {
  constructor(
    message: string,
    /** Which listed entry is wrong, when one is (its index in `files`). */
    readonly entry?: number,
  ) {
    super(message);
    this.name = 'TableFilesError';
  }
}

function globRegex(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${body}$`);
}

/** Splits an environment value into paths: separated by the platform's path delimiter or commas. */
export function splitPathList(value: string): string[] {
  return value
    .split(new RegExp(`[${path.delimiter === ';' ? ';' : ':'},\\n]`))
    .map((p) => p.trim())
    .filter((p) => p !== '');
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

export interface TableFileOptions {
  /**
   * The folder the files must be in, links resolved (a pack's own files, a pack test's
   * fixtures): a pack must not read files elsewhere on the machine, not even through a link.
   */
  confineTo?: string;
  /** What that folder is, in messages; "the pack folder" unless said. */
  confineName?: string;
  /**
   * The environment variable the entries come from. Its value is never quoted in a message (a
   * message may reach a log, an HTTP answer or a CI log): an entry is named by its position in
   * the variable. Its paths must be absolute: the deployment says exactly which files.
   */
  variable?: string;
}

function isInside(folder: string, file: string): boolean {
  const rel = path.relative(folder, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** The real path of a file that exists, or undefined. */
async function realPathOf(file: string): Promise<string | undefined> {
  try {
    return await realpath(file);
  } catch {
    return undefined;
  }
}

/**
 * Absolute paths of the files, in the order listed (a glob's matches sorted by name), or a
 * TableFilesError naming the entry that is wrong. Files confined to a folder are checked by
 * their real paths: a link inside the pack to a file outside it is refused like the file.
 */
export async function resolveTableFiles(entries: readonly string[], baseDir: string, options: TableFileOptions = {}): Promise<string[]> {
  const { confineTo, variable, confineName = 'the pack folder' } = options;
  const realFolder = confineTo === undefined ? undefined : ((await realPathOf(confineTo)) ?? path.resolve(confineTo));
  const out: string[] = [];
  for (const [i, entry] of entries.entries()) {
    const name = variable ? `path ${i + 1} of ${variable}` : `"${entry}"`;
    const fail = (problem: string): never => {
      throw new TableFilesError(`${name} ${problem}`, i);
    };
    const outside = (link: boolean) =>
      fail(`is outside ${confineName}${link ? ' (a link to a file elsewhere)' : ''}; list files inside the pack (such as tables/file.txt), or point the table's environment variable at files elsewhere`);
    if (variable && !path.isAbsolute(entry)) fail('is not an absolute path; write each path in full, starting with /');
    const absolute = path.resolve(baseDir, entry);
    if (confineTo && !isInside(path.resolve(confineTo), absolute)) outside(false);
    /** A file that exists: inside the folder by its real path too. */
    const confined = async (file: string) => {
      if (!realFolder) return;
      const real = await realPathOf(file);
      if (real !== undefined && !isInside(realFolder, real)) outside(true);
    };
    const fileName = path.basename(absolute);
    if (/[*?]/.test(path.dirname(entry))) fail('uses * or ? in a folder name; a pattern may use them only in the file name');
    if (/[*?]/.test(fileName)) {
      const dir = path.dirname(absolute);
      let names: string[];
      try {
        names = await readdir(dir);
      } catch {
        fail(variable ? 'is in a folder that does not exist or cannot be read' : `is in the folder ${dir}, which does not exist or cannot be read`);
      }
      const re = globRegex(fileName);
      const files: string[] = [];
      for (const m of names!.filter((n) => re.test(n)).sort()) {
        const file = path.join(dir, m);
        if (!(await isFile(file))) continue;
        await confined(file);
        files.push(file);
      }
      if (files.length === 0) fail('matches no file');
      out.push(...files);
      continue;
    }
    let info;
    try {
      info = await stat(absolute);
    } catch {
      fail(variable ? 'names a file that does not exist' : `does not exist (looked for ${absolute})`);
    }
    await confined(absolute);
    if (!info!.isFile()) fail('is not a file');
    out.push(absolute);
  }
  return [...new Set(out)];
}

const SAMPLE_BYTES = 1 << 20;

/**
 * A cheap identity of a file's content for the index cache: size, modification time and a
 * hash of its first and last megabyte. Hashing all of a 200 MB table would cost about as much
 * as the cache saves; a quarterly file that changes keeps neither its size, its time nor its ends.
 */
export async function fingerprint(file: string): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const info = await handle.stat();
    const hash = createHash('sha1');
    hash.update(`${info.size}:${Math.round(info.mtimeMs)}:`);
    const head = Buffer.alloc(Math.min(SAMPLE_BYTES, info.size));
    await handle.read(head, 0, head.length, 0);
    hash.update(head);
    if (info.size > SAMPLE_BYTES) {
      const tailLength = Math.min(SAMPLE_BYTES, info.size - SAMPLE_BYTES);
      const tail = Buffer.alloc(tailLength);
      await handle.read(tail, 0, tailLength, info.size - tailLength);
      hash.update(tail);
    }
    return hash.digest('hex');
  } finally {
    await handle.close();
  }
}
