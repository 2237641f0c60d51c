import { createHash } from 'node:crypto';
import { open, readdir, stat } from 'node:fs/promises';
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

/**
 * Absolute paths of the files, in the order listed (a glob's matches sorted by name).
 * `confineTo` keeps pack-listed files inside the pack folder: a pack must not read files
 * elsewhere on the machine; a deployment uses the environment variable for that.
 */
export async function resolveTableFiles(entries: readonly string[], baseDir: string, confineTo?: string): Promise<string[]> {
  const out: string[] = [];
  for (const [i, entry] of entries.entries()) {
    const absolute = path.resolve(baseDir, entry);
    if (confineTo) {
      const rel = path.relative(confineTo, absolute);
      if (path.isAbsolute(entry) || rel.startsWith('..') || path.isAbsolute(rel)) {
        throw new TableFilesError(
          `"${entry}" is outside the pack folder; list files inside the pack (such as tables/file.txt), or point the table's environment variable at files elsewhere`,
          i,
        );
      }
    }
    const name = path.basename(absolute);
    if (/[*?]/.test(path.dirname(entry))) {
      throw new TableFilesError(`"${entry}": a pattern may only use * and ? in the file name, not in folder names`, i);
    }
    if (/[*?]/.test(name)) {
      const dir = path.dirname(absolute);
      let names: string[];
      try {
        names = await readdir(dir);
      } catch {
        throw new TableFilesError(`"${entry}": the folder ${dir} does not exist or cannot be read`, i);
      }
      const re = globRegex(name);
      const matches = names.filter((n) => re.test(n)).sort();
      const files: string[] = [];
      for (const m of matches) if (await isFile(path.join(dir, m))) files.push(path.join(dir, m));
      if (files.length === 0) throw new TableFilesError(`"${entry}" matches no file`, i);
      out.push(...files);
      continue;
    }
    let info;
    try {
      info = await stat(absolute);
    } catch {
      throw new TableFilesError(`the file "${entry}" does not exist (looked for ${absolute})`, i);
    }
    if (!info.isFile()) throw new TableFilesError(`"${entry}" is not a file`, i);
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
