import { describe, expect, it } from 'vitest';
import { Scrubber } from '../../src/engine/scrubber.js';
import { readPackSet } from '../../src/packs/loader.js';
import { bundledRulesDir } from '../../src/paths.js';
import { CodeRows, PackedTexts } from '../../src/tables/packed.js';
import { SharedTables, onSharedMemory } from '../../src/tables/shared.js';
import { codePoolsFromTables } from '../support/table-codes.js';
import { generateWorkload } from '../support/workload.js';

describe('CodeRows', () => {
  const rows = CodeRows.of(
    new Map([
      ['A000', 0],
      ['Z3A01', 1],
      ['99213', 2],
      ['J0585', 3],
    ]),
  );

  it('finds the row of every code it was built from', () => {
    expect([rows.rowOf('A000'), rows.rowOf('Z3A01'), rows.rowOf('99213'), rows.rowOf('J0585')]).toEqual([0, 1, 2, 3]);
  });

  it('finds nothing for a code it does not hold, a lower-case code, a prefix, or text that is no code', () => {
    expect([rows.rowOf('A001'), rows.rowOf('a000'), rows.rowOf('A00'), rows.rowOf('A000 '), rows.rowOf(''), rows.rowOf('ABCDEFGHIJK')]).toEqual([-1, -1, -1, -1, -1, -1]);
  });

  it('tells codes apart that differ only in leading zeros or length', () => {
    const zeros = CodeRows.of(new Map([['0', 0], ['00', 1], ['000', 2], ['0001A', 3], ['001A', 4]]));
    expect(['0', '00', '000', '0001A', '001A'].map((c) => zeros.rowOf(c))).toEqual([0, 1, 2, 3, 4]);
  });

  it('refuses to index text that cannot be a code', () => {
    expect(() => CodeRows.of(new Map([['A0-0', 0]]))).toThrow('"A0-0" cannot be a key');
  });

  it('gives the same answers when rebuilt from its arrays', () => {
    const [keys, slots] = rows.toArrays();
    const copy = CodeRows.fromArrays(keys, slots, rows.size);
    expect(['A000', 'J0585', 'B999'].map((c) => copy.rowOf(c))).toEqual([0, 3, -1]);
  });

  it('is built on shared memory, so sharing it between threads copies nothing', () => {
    for (const array of rows.toArrays()) expect(onSharedMemory(array)).toBe(array);
  });
});

describe('PackedTexts', () => {
  it('gives back every text, including empty ones and characters beyond ASCII', () => {
    const texts = ['Cholera', '', 'Sjögren syndrome', 'Ménière’s disease'];
    const packed = PackedTexts.of(texts);
    const [bytes, offsets] = packed.toArrays();
    const copy = PackedTexts.fromArrays(bytes, offsets);
    expect(packed.length).toBe(4);
    expect(Array.from({ length: copy.length }, (_, i) => copy.at(i))).toEqual(texts);
    // Built on shared memory, so sharing it between threads copies nothing.
    for (const array of packed.toArrays()) expect(onSharedMemory(array)).toBe(array);
  });
});

describe('shared table indexes', () => {
  it('let a second load take every snapshot-able table from shared memory and scrub exactly as the first', async () => {
    const shared = new SharedTables();
    const first = await readPackSet(bundledRulesDir, undefined, { env: {}, shared });
    expect(first.packSet).toBeDefined();
    const records = shared.records();
    expect(records.length).toBeGreaterThan(0);
    for (const record of records) for (const array of record.parts.arrays) expect(array.buffer).toBeInstanceOf(SharedArrayBuffer);

    // What a worker thread does with the records it is handed.
    const second = await readPackSet(bundledRulesDir, undefined, { env: {}, shared: new SharedTables(records) });
    const origins = (r: typeof first) => r.packSet!.packs.flatMap((p) => p.tables.map((t) => [t.name, t.loadedFrom, t.rowsTaken]));
    expect(origins(first).every(([, from]) => from === 'files')).toBe(true);
    expect(origins(second).filter(([, from]) => from === 'shared')).toHaveLength(records.length);
    expect(origins(second).map(([name, , taken]) => [name, taken])).toEqual(origins(first).map(([name, , taken]) => [name, taken]));

    const claims = generateWorkload(300, { seed: 7, codes: await codePoolsFromTables(first.packSet!) });
    const a = new Scrubber(first.packSet!);
    const b = new Scrubber(second.packSet!);
    const options = { asOf: '2026-06-01' };
    for (const claim of claims) expect(JSON.stringify(await b.scrub(claim, options))).toBe(JSON.stringify(await a.scrub(claim, options)));
  });
});
