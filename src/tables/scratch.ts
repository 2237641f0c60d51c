/**
 * Working memory that a table load lets go once its index is laid out (the rows as read, the
 * sort orders), taken from one block.
 *
 * glibc's malloc gives a block above its mmap threshold (128 KiB at start) a mapping of its own,
 * and freeing such a block raises the threshold to the block's size for the rest of the process
 * (and the trim threshold to twice that), for blocks up to 32 MiB. The full PTP table's 8 MB row
 * arrays, once collected, so left every later allocation of up to 8 MB in the malloc arenas,
 * whose freed memory glibc then kept: about 20 MiB more at the batch's peak
 * (docs/performance.md, issue 20). A block of 32 MiB or more never moves the threshold, and the
 * pages of it a load never writes are never resident (calloc does not clear a fresh mapping),
 * so a load's working memory past the initial threshold is one block of at least that size.
 */

/** Blocks smaller than this come from the arena and never had a mapping whose free moves the threshold. */
const INITIAL_MMAP_THRESHOLD_BYTES = 128 * 1024;
/** glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit systems: freeing a larger block leaves the threshold. */
const THRESHOLD_NEUTRAL_BYTES = 32 * 1024 * 1024;

type ScratchArray = Int32Array | Uint32Array | Uint16Array | Uint8Array;

export class ScratchMemory {
  private readonly buffer: ArrayBuffer;
  private used = 0;

  /** Room for `bytes`: the arrays to take, and any padding that aligns one taken after a narrower one. */
  constructor(bytes: number) {
    this.buffer = new ArrayBuffer(bytes < INITIAL_MMAP_THRESHOLD_BYTES ? bytes : Math.max(bytes, THRESHOLD_NEUTRAL_BYTES));
  }

  /** A new array of zeros of `length` elements; throws when the block has no room left for it. */
  take<T extends ScratchArray>(Type: { new (buffer: ArrayBuffer, byteOffset: number, length: number): T; BYTES_PER_ELEMENT: number }, length: number): T {
    const align = Type.BYTES_PER_ELEMENT;
    const start = Math.ceil(this.used / align) * align;
    const array = new Type(this.buffer, start, length);
    this.used = start + length * align;
    return array;
  }
}
