import type { CachedRows } from './cache.js';
import type { SnapshotArray, SnapshotParts, TableFormat } from './model.js';

/**
 * Table indexes that every thread of a process reads from one copy in memory. The thread that
 * loads a table first moves its index's typed arrays onto SharedArrayBuffers and records them
 * here; other threads are handed the records (through workerData or postMessage, which pass a
 * SharedArrayBuffer on without copying it) and take the index from them as from a snapshot,
 * without reading a file. A full NCCI PTP table is about 25 MB of typed arrays: without this,
 * `scrub check` held one copy per thread.
 *
 * The plain JSON part of an index (code lists, texts) is copied to each thread like any message;
 * only the arrays are shared. Shared arrays are read-only by convention: no index writes to its
 * arrays once built.
 */

/** One index in shared memory: its parts and what its load reported (row counts, row problems). */
export interface SharedIndex {
  key: string;
  parts: SnapshotParts;
  rows: CachedRows;
}

/**
 * Which index a table's load yields: the format, its snapshot version and the files read, in
 * order. The same files give the same index whichever pack or table name declares them.
 */
export function sharedIndexKey(format: TableFormat, snapshotVersion: number, files: readonly string[]): string {
  return JSON.stringify([format, snapshotVersion, files]);
}

/**
 * The same array on a SharedArrayBuffer (an array already on one is kept as it is). An index
 * that allocates its largest arrays here as it builds them spares SharedTables a copy of them.
 */
export function onSharedMemory<T extends SnapshotArray>(array: T): T {
  if (array.buffer instanceof SharedArrayBuffer) return array;
  const Type = array.constructor as new (buffer: SharedArrayBuffer) => T;
  const shared = new Type(new SharedArrayBuffer(array.byteLength));
  shared.set(array);
  return shared;
}

/** A new array of zeros on a SharedArrayBuffer. */
export function newSharedArray<T extends SnapshotArray>(Type: { new (buffer: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number }, length: number): T {
  return new Type(new SharedArrayBuffer(length * Type.BYTES_PER_ELEMENT));
}

export class SharedTables {
  private readonly byKey = new Map<string, SharedIndex>();

  /** Records made by another thread (its `records()`), or none to start sharing. */
  constructor(records: Iterable<SharedIndex> = []) {
    for (const record of records) this.byKey.set(record.key, record);
  }

  get(key: string): SharedIndex | undefined {
    return this.byKey.get(key);
  }

  /**
   * Moves an index's arrays onto shared memory and records them. `parts.arrays` is rewritten in
   * place, one array at a time, so that once the index itself is let go each original array can
   * be collected as soon as its copy is made, rather than all of them at the end.
   */
  add(key: string, parts: SnapshotParts, rows: CachedRows): SharedIndex {
    for (let i = 0; i < parts.arrays.length; i++) parts.arrays[i] = onSharedMemory(parts.arrays[i]!);
    const record: SharedIndex = { key, parts, rows };
    this.byKey.set(key, record);
    return record;
  }

  /** Everything recorded, as data another thread's `new SharedTables(records)` takes. */
  records(): SharedIndex[] {
    return [...this.byKey.values()];
  }
}
