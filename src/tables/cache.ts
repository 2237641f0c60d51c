import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fingerprint } from './files.js';
import type { RowProblem, SnapshotArray, SnapshotParts, TableFormat } from './model.js';

/**
 * Snapshots of built indexes, so that a restart with the same quarterly files skips parsing:
 * a small JSON header followed by the index's typed arrays byte for byte, which are read back
 * as views on the file's buffer without copying. A snapshot is named after a hash of the
 * format, the snapshot version and every file's fingerprint, so a changed file simply misses.
 * A snapshot that cannot be read or written is never an error: the table is built from its files.
 */

const MAGIC = 'CSTABLE1';
const ARRAY_TYPES = { Int32Array, Uint32Array, Uint16Array, Uint8Array, Float64Array } as const;
type ArrayType = keyof typeof ARRAY_TYPES;

/** What the original load reported, kept so a cached load reports the same. */
export interface CachedRows {
  taken: number;
  skipped: number;
  ignored: number;
  problems: RowProblem[];
  unreported: Array<{ file: string; count: number }>;
}

export async function snapshotPath(cacheDir: string, format: TableFormat, version: number, files: readonly string[]): Promise<string> {
  const hash = createHash('sha256');
  hash.update(`${format}\u0000${version}\u0000`);
  for (const f of files) hash.update(`${f}\u0000${await fingerprint(f)}\u0000`);
  return path.join(cacheDir, `${format}-${hash.digest('hex').slice(0, 32)}.snapshot`);
}

const align8 = (n: number) => (n + 7) & ~7;

export async function writeSnapshot(file: string, parts: SnapshotParts, rows: CachedRows): Promise<void> {
  const layout: Array<{ type: ArrayType; length: number; offset: number }> = [];
  let offset = 0;
  for (const a of parts.arrays) {
    layout.push({ type: a.constructor.name as ArrayType, length: a.length, offset });
    offset = align8(offset + a.byteLength);
  }
  const header = Buffer.from(JSON.stringify({ json: parts.json, rows, arrays: layout }), 'utf8');
  const start = align8(MAGIC.length + 4 + header.length);
  const out = Buffer.alloc(start + offset);
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(header.length, MAGIC.length);
  header.copy(out, MAGIC.length + 4);
  parts.arrays.forEach((a, i) => {
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).copy(out, start + layout[i]!.offset);
  });
  await mkdir(path.dirname(file), { recursive: true });
  // Write then rename, so a reader never sees half a snapshot.
  const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    await writeFile(temp, out);
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

export async function readSnapshot(file: string): Promise<{ parts: SnapshotParts; rows: CachedRows } | undefined> {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch {
    return undefined;
  }
  try {
    return decodeSnapshot(data);
  } catch {
    return undefined; // a damaged snapshot is a cache miss
  }
}

function decodeSnapshot(data: Buffer): { parts: SnapshotParts; rows: CachedRows } | undefined {
  if (data.length < MAGIC.length + 4 || data.toString('latin1', 0, MAGIC.length) !== MAGIC) return undefined;
  // Typed arrays need their element alignment; a pooled Buffer may not have it.
  if (data.byteOffset % 8 !== 0) {
    const copy = new Uint8Array(data.length);
    copy.set(data);
    data = Buffer.from(copy.buffer);
  }
  const headerLength = data.readUInt32LE(MAGIC.length);
  const header = JSON.parse(data.toString('utf8', MAGIC.length + 4, MAGIC.length + 4 + headerLength)) as {
    json: unknown;
    rows: CachedRows;
    arrays: Array<{ type: ArrayType; length: number; offset: number }>;
  };
  const start = align8(MAGIC.length + 4 + headerLength);
  const arrays: SnapshotArray[] = [];
  for (const a of header.arrays) {
    const Type = ARRAY_TYPES[a.type];
    if (!Type) return undefined;
    const byteOffset = data.byteOffset + start + a.offset;
    if (byteOffset + a.length * Type.BYTES_PER_ELEMENT > data.byteOffset + data.length) return undefined;
    arrays.push(new Type(data.buffer as ArrayBuffer, byteOffset, a.length));
  }
  return { parts: { json: header.json, arrays }, rows: header.rows };
}
