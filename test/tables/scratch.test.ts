import { describe, expect, it } from 'vitest';
import { ScratchMemory } from '../../src/tables/scratch.js';

describe('ScratchMemory', () => {
  it('hands out zeroed, aligned arrays that do not overlap', () => {
    // 5 bytes, 3 of padding to align the 32-bit array, 12, then 4.
    const scratch = new ScratchMemory(5 + 3 + 3 * 4 + 2 * 2);
    const bytes = scratch.take(Uint8Array, 5);
    const words = scratch.take(Int32Array, 3);
    const halves = scratch.take(Uint16Array, 2);
    expect([...bytes, ...words, ...halves]).toEqual(new Array(10).fill(0));
    expect(words.byteOffset % 4).toBe(0);
    bytes.fill(0xff);
    words.fill(-1);
    halves.fill(0xffff);
    expect([...bytes]).toEqual([255, 255, 255, 255, 255]);
    expect([...words]).toEqual([-1, -1, -1]);
    expect([...halves]).toEqual([0xffff, 0xffff]);
    expect(() => scratch.take(Int32Array, 1)).toThrow(RangeError);
  });

  it("takes a small load's memory at its size, and anything past 128 KiB as one block of at least 32 MiB (whose freeing leaves glibc's mmap threshold)", () => {
    expect(new ScratchMemory(1000).take(Uint8Array, 1000).buffer.byteLength).toBe(1000);
    expect(new ScratchMemory(200 * 1024).take(Uint8Array, 1).buffer.byteLength).toBeGreaterThanOrEqual(32 * 1024 * 1024);
    expect(new ScratchMemory(40 * 1024 * 1024).take(Uint8Array, 1).buffer.byteLength).toBe(40 * 1024 * 1024);
  });
});
