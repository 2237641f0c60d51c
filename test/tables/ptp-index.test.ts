import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { bundledRulesDir } from '../../src/paths.js';
import { OPEN_END, TextPool, codeOfKey } from '../../src/tables/encoding.js';
import { ncciPtpFormat, PtpIndex, type PtpWindow } from '../../src/tables/formats/ncci-ptp.js';
import { RowCounter } from '../../src/tables/model.js';

/**
 * The PTP index keeps codes as ids, dates as 16-bit compact numbers and rows grouped by pair.
 * Each lookup is compared here with a plain model of the same rows (a Map of each pair's windows
 * in file order, the rule of DESIGN.md applied literally): every pair of the bundled CMS files
 * and of a large seeded sample, on every date where an answer can change.
 */

interface Row {
  key1: number;
  key2: number;
  effective: number;
  deletion: number;
  modifierIndicator: number;
  priorTo1996: boolean;
  rationaleId: number;
}

class ReferenceModel {
  readonly pairs = new Map<string, Row[]>();
  constructor(
    rows: readonly Row[],
    private readonly rationales: TextPool,
  ) {
    for (const row of rows) {
      const key = `${codeOfKey(row.key1)}/${codeOfKey(row.key2)}`;
      const list = this.pairs.get(key) ?? [];
      list.push(row);
      this.pairs.set(key, list);
    }
  }

  window(row: Row): PtpWindow {
    const { effective, deletion, modifierIndicator, priorTo1996 } = row;
    return { effective, deletion, modifierIndicator, priorTo1996, rationale: this.rationales.texts[row.rationaleId] ?? '' };
  }

  windows(column1: string, column2: string): PtpWindow[] {
    return (this.pairs.get(`${column1}/${column2}`) ?? []).map((row) => this.window(row));
  }

  /** The window in force: effective <= date <= deletion, the latest effective, the later row between equals. */
  find(column1: string, column2: string, date: number): PtpWindow | undefined {
    let best: Row | undefined;
    for (const row of this.pairs.get(`${column1}/${column2}`) ?? []) {
      if (row.effective <= date && date <= row.deletion && (!best || row.effective >= best.effective)) best = row;
    }
    return best && this.window(best);
  }
}

/** The dates around each window of a pair, including impossible ones (day 0, day 32, month 13). */
function datesAround(windows: readonly PtpWindow[]): number[] {
  const dates = new Set<number>([19000101, 18991231, 20260115, 21000101, 99991231, Number.NaN]);
  for (const w of windows) {
    for (const d of [w.effective, w.deletion]) {
      if (d === OPEN_END) continue;
      for (const delta of [-1, 0, 1, -100, 100, 69, -69, 8870]) dates.add(d + delta);
    }
  }
  return [...dates];
}

function compare(index: PtpIndex, model: ReferenceModel): number {
  let checked = 0;
  for (const [key, rows] of model.pairs) {
    const [column1, column2] = key.split('/') as [string, string];
    const windows = model.windows(column1, column2);
    expect(index.windows(column1, column2)).toEqual(windows);
    const dates = datesAround(windows);
    // One comparison per pair (each date's answer, labelled with its date), for speed.
    expect(dates.map((date) => [date, index.find(column1, column2, date)]), key).toEqual(dates.map((date) => [date, model.find(column1, column2, date)]));
    checked += dates.length;
    // The pair the other way round, and with a code the table does not have.
    if (!model.pairs.has(`${column2}/${column1}`)) expect(index.find(column2, column1, rows[0]!.effective)).toBeUndefined();
    expect(index.find(column1, 'ZZZZZ', rows[0]!.effective)).toBeUndefined();
    expect(index.inColumn(column1, 1) && index.inColumn(column2, 2)).toBe(true);
  }
  const all = [...index.allPairs()];
  expect(all).toHaveLength(model.pairs.size);
  for (const pair of all) expect(pair.windows).toEqual(model.windows(pair.column1, pair.column2));
  expect(index.pairCount).toBe(model.pairs.size);
  return checked;
}

/** A small seeded generator (mulberry32): the same sample on every run. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function randomDate(next: () => number, fromYear: number, toYear: number): number {
  const year = fromYear + Math.floor(next() * (toYear - fromYear + 1));
  const month = 1 + Math.floor(next() * 12);
  const day = 1 + Math.floor(next() * 28);
  return year * 10_000 + month * 100 + day;
}

/** Rows with few codes and many windows per pair (overlapping, equal effective dates, open ends). */
function sampleRows(count: number, codes: number, seed: number, lastYear: number): Row[] {
  const next = seeded(seed);
  const rows: Row[] = [];
  for (let i = 0; i < count; i++) {
    const effective = randomDate(next, 1996, 2030);
    const open = next() < 0.4;
    const deletion = open ? OPEN_END : Math.max(effective, randomDate(next, 1996, lastYear));
    rows.push({
      key1: 1_000_000 + Math.floor(next() * codes) * 37,
      key2: 1_000_000 + Math.floor(next() * codes) * 41,
      effective,
      deletion,
      modifierIndicator: [0, 1, 9][Math.floor(next() * 3)]!,
      priorTo1996: next() < 0.1,
      rationaleId: Math.floor(next() * 5),
    });
  }
  return rows;
}

function indexOf(rows: readonly Row[], rationales: TextPool, expectedRows?: number): PtpIndex {
  const index = new PtpIndex(rationales, expectedRows);
  for (const r of rows) index.add(r.key1, r.key2, r.effective, r.deletion, r.modifierIndicator, r.priorTo1996, r.rationaleId);
  return index.finish();
}

function rationalePool(): TextPool {
  const pool = new TextPool();
  for (let i = 0; i < 5; i++) pool.id(`rationale ${i}`);
  return pool;
}

describe('PTP index against a plain model of its rows', () => {
  afterEach(() => vi.restoreAllMocks());

  it.each([
    ['cms-ncci-ptp', 'ccipra-v322r0-f1.excerpt.txt'],
    ['cms-ncci-ptp-hospital', 'ccipra-v322r0-f1.excerpt.stand-in.txt'],
  ])('answers every pair of the bundled %s file as the model does', async (pack, name) => {
    const added: Row[] = [];
    const add = PtpIndex.prototype.add;
    vi.spyOn(PtpIndex.prototype, 'add').mockImplementation(function (this: PtpIndex, key1, key2, effective, deletion, modifierIndicator, priorTo1996, rationaleId) {
      added.push({ key1, key2, effective, deletion, modifierIndicator, priorTo1996, rationaleId });
      add.call(this, key1, key2, effective, deletion, modifierIndicator, priorTo1996, rationaleId);
    });
    const index = await ncciPtpFormat.read([path.join(bundledRulesDir, pack, 'tables', name)], new RowCounter());
    expect(added.length).toBeGreaterThan(100);
    expect(index.rowCount).toBe(added.length);
    expect(compare(index, new ReferenceModel(added, index.rationales))).toBeGreaterThan(1000);
    // The same answers from its snapshot, as another thread or a later run takes it.
    expect(compare(ncciPtpFormat.snapshot!.read(ncciPtpFormat.snapshot!.write(index)), new ReferenceModel(added, index.rationales))).toBeGreaterThan(1000);
  });

  it('answers a seeded sample of 20,000 rows (3,600 pairs) with many windows per pair as the model does, in 16-bit arrays', () => {
    const rows = sampleRows(20_000, 60, 20, 2060);
    const rationales = rationalePool();
    const index = indexOf(rows, rationales, 1000);
    compare(index, new ReferenceModel(rows, rationales));
    const { arrays } = index.toSnapshot();
    // Column 2's ids and the dates are 16-bit; every array is on shared memory and no longer than its content.
    expect(arrays.map((a) => a.constructor.name)).toEqual(['Int32Array', 'Int32Array', 'Uint8Array', 'Uint32Array', 'Uint16Array', 'Uint32Array', 'Uint16Array', 'Uint16Array', 'Uint8Array', 'Uint16Array']);
    for (const array of arrays) expect(array.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(arrays.slice(6).map((a) => a.length)).toEqual([20_000, 20_000, 20_000, 20_000]);
  });

  it('widens to 32 bits for a date after 2075 and for more than 65,535 codes, with the same answers', () => {
    const late = sampleRows(8_000, 40, 7, 2200);
    const rationales = rationalePool();
    const lateIndex = indexOf(late, rationales);
    compare(lateIndex, new ReferenceModel(late, rationales));
    expect(lateIndex.toSnapshot().arrays[7]!.constructor.name).toBe('Uint32Array');

    const many: Row[] = Array.from({ length: 70_000 }, (_, i) => ({ key1: i, key2: 69_999 - i, effective: 20200101, deletion: OPEN_END, modifierIndicator: i % 2, priorTo1996: false, rationaleId: 0 }));
    const manyIndex = indexOf(many, rationales);
    expect(manyIndex.toSnapshot().arrays[4]!.constructor.name).toBe('Uint32Array');
    for (let i = 0; i < 70_000; i += 7) expect(manyIndex.find(codeOfKey(i), codeOfKey(69_999 - i), 20260101)?.modifierIndicator).toBe(i % 2);
    expect(manyIndex.find(codeOfKey(1), codeOfKey(1), 20260101)).toBeUndefined();
  });

  it('holds a 2-million-row table in 12 bytes a row, where the row-keyed layout took 32', () => {
    const next = seeded(3);
    const index = new PtpIndex(rationalePool(), 2_000_000);
    // About 12,500 column-1 codes, 1.6 windows per pair, as in the practitioner table.
    for (let i = 0; i < 2_000_000; i++) {
      const key1 = 1_000_000 + (i % 12_500) * 37;
      index.add(key1, 1_000_000 + Math.floor(i / 12_500 / 1.6) * 41, randomDate(next, 1996, 2026), OPEN_END, 1, false, 0);
    }
    index.finish();
    const bytes = index.toSnapshot().arrays.reduce((sum, a) => sum + a.byteLength, 0);
    // The row-keyed layout: 24 bytes a row and a 4-byte hash slot for each of 2^22 slots (64 MB).
    expect(bytes).toBeLessThan(2_000_000 * 12);
  });
});
