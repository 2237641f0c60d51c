import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openArrivingClaims, openClaims, type ReadRecord } from '../../src/formats/index.js';
import { ChunkDecoder } from '../../src/formats/read.js';
import type { ReadClaim } from '../../src/formats/types.js';
import { openX12, STREAM_WINDOW_CLAIMS, streamX12, streamX12PlacedLate } from '../../src/formats/x12/read.js';
import { damagedCopies } from '../support/x12-damage.js';
import { generate837Text } from '../support/generate-837.js';

const root = path.resolve(__dirname, '../..');

/** Every X12 file the project's tests and examples use. */
function x12Fixtures(): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const file = path.join(dir, name);
      if (statSync(file).isDirectory()) {
        if (name !== 'node_modules') walk(file);
      } else if (readFileSync(file).subarray(0, 400).toString('latin1').trimStart().startsWith('ISA')) found.push(file);
    }
  };
  walk(path.join(root, 'test'));
  walk(path.join(root, 'examples'));
  return found.sort();
}

/** A record as output sees it: the claim, its findings and label, and where a few fields came from. */
function shown(record: ReadRecord): unknown {
  if (record.kind !== 'claim') return record;
  const { locate, ...rest } = record;
  return { ...rest, sources: ['', '/lines/0/procedureCode', '/diagnoses/0/code', '/patient/birthDate'].map((p) => locate?.(p)) };
}

async function* pieces(text: string, size: number): AsyncGenerator<string> {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}

async function streamed(text: string, size: number, options: { window?: number; probe?: number } = {}): Promise<string> {
  const records: unknown[] = [];
  for await (const record of streamX12(pieces(text, size), options)) records.push(shown(record));
  return JSON.stringify(records);
}

/**
 * Claims placed late, each put back where its `placed` says and under its label, as `scrub check`
 * writes their results; `ahead` counts the claims that came before a problem that goes before them.
 */
async function placedLate(text: string, size: number, options: { window?: number; probe?: number; piece?: number } = {}): Promise<{ records: string; ahead: number }> {
  const records: unknown[] = [];
  const early: ReadClaim[] = [];
  let ahead = 0;
  for await (const record of streamX12PlacedLate(pieces(text, size), options)) {
    if (record.kind === 'placed') records.push(shown({ ...early.shift()!, label: record.label }));
    else if (record.kind === 'problem') {
      ahead += early.length;
      records.push(record);
    } else early.push(record as ReadClaim);
  }
  expect(early, 'every claim placed').toHaveLength(0);
  return { records: JSON.stringify(records), ahead };
}

const whole = (text: string) => JSON.stringify([...openX12(text).records()].map(shown));

const fixtures = x12Fixtures();

describe('the X12 reader, streaming and whole', () => {
  it('finds the fixtures', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(40);
  });

  it.each(fixtures.map((f) => [path.relative(root, f)]))('reads %s and its damaged copies to the same records, byte for byte', async (file) => {
    const text = readFileSync(path.join(root, file), 'latin1');
    for (const copy of damagedCopies(text)) {
      const expected = whole(copy.text);
      // Chunks that cut segments, separators and the ISA anywhere; a window read from the first chunk on.
      for (const size of [7, 61, 4096]) {
        expect(await streamed(copy.text, size, { probe: 256 }), `${copy.name}, chunks of ${size}`).toBe(expected);
      }
    }
  });

  it.each(fixtures.map((f) => [path.relative(root, f)]))('reads %s and its damaged copies with claims placed late to the same records as when they wait', async (file) => {
    const text = readFileSync(path.join(root, file), 'latin1');
    for (const copy of damagedCopies(text)) {
      // Chunks read in pieces (the window is still released once per chunk) or whole.
      for (const [size, window, piece] of [
        [61, 1, undefined],
        [4096, 3, 97],
        [4096, STREAM_WINDOW_CLAIMS, 500],
      ] as const) {
        const late = await placedLate(copy.text, size, { window, probe: 256, ...(piece ? { piece } : {}) });
        expect(late.records, `${copy.name}, chunks of ${size}, window ${window}`).toBe(await streamed(copy.text, size, { window, probe: 256 }));
      }
    }
  });

  it('places claims late where the window would have them: after the claims handed out, before the one held back', async () => {
    const text = readFileSync(path.join(root, 'test/fixtures/x12/variants/thirty-claims-se-count-wrong.837'), 'latin1').replace(/GE\*[^~]*~/, '');
    const late = await placedLate(text, 50, { window: 1, probe: 256 });
    expect(late.records).toBe(await streamed(text, 50, { window: 1, probe: 256 }));
    // The claims came as their transaction set was read, before the missing GE was known.
    expect(late.ahead).toBeGreaterThan(0);
  });

  it('hands out claims placed late as their transaction set closes, not a window later', async () => {
    const { text, claims } = await generate837Text(3_000_000, 100);
    expect(claims).toBeGreaterThan(STREAM_WINDOW_CLAIMS);
    const firstClaimAfter = async (late: boolean) => {
      let sent = 0;
      async function* counted(): AsyncGenerator<string> {
        for await (const piece of pieces(text, 65_536)) {
          sent += piece.length;
          yield piece;
        }
      }
      for await (const record of late ? streamX12PlacedLate(counted()) : streamX12(counted())) if (record.kind === 'claim') return sent;
      return -1;
    };
    // Waiting claims come once the window (5,000 claims, about 1.8 MB here) is full; claims placed
    // late after the first megabyte (the wrap probe), with the transaction set that holds them.
    expect(await firstClaimAfter(false)).toBeGreaterThan(1_700_000);
    expect(await firstClaimAfter(true)).toBeLessThan(1_200_000);
  });

  it('holds claims back only as far as the window: with a window of one claim, the same records, the problems of an envelope when it closes', async () => {
    const text = readFileSync(path.join(root, 'test/fixtures/x12/variants/thirty-claims-se-count-wrong.837'), 'latin1').replace(/GE\*[^~]*~/, '');
    type Shown = { kind: string; problem?: { code: string } };
    const expected = JSON.parse(whole(text)) as Shown[];
    const narrow = JSON.parse(await streamed(text, 50, { window: 1, probe: 256 })) as Shown[];
    const key = (r: unknown) => JSON.stringify(r);
    expect(narrow.map(key).sort()).toEqual(expected.map(key).sort());
    const codes = (records: Shown[]) => records.map((r) => r.problem?.code ?? r.kind);
    expect(codes(expected).filter((c) => c === 'claim')).toHaveLength(30);
    // Read whole, the missing GE is reported at the GS, before the claims; streamed with a window
    // of one, when the file ends: after the 29 claims already handed out, before the one held back.
    expect(codes(expected).indexOf('x12-ge-missing')).toBeLessThan(codes(expected).indexOf('claim'));
    expect(codes(narrow).slice(0, codes(narrow).indexOf('x12-ge-missing')).filter((c) => c === 'claim')).toHaveLength(29);
    // The claims themselves keep their order.
    expect(narrow.filter((r) => r.kind === 'claim').map(key)).toEqual(expected.filter((r) => r.kind === 'claim').map(key));
  });

  it('hands out a claim before the rest of a large file has arrived', async () => {
    const { text, claims } = await generate837Text(3_000_000, 100);
    let sent = 0;
    async function* counted(): AsyncGenerator<string> {
      for await (const piece of pieces(text, 65_536)) {
        sent += piece.length;
        yield piece;
      }
    }
    let sentAtFirst = -1;
    let read = 0;
    for await (const record of streamX12(counted(), { window: 100 })) {
      if (record.kind !== 'claim') continue;
      if (sentAtFirst < 0) sentAtFirst = sent;
      read++;
    }
    expect(read).toBe(claims);
    // The first claim comes out after the first megabyte (the wrap probe) and a window, not at the end.
    expect(sentAtFirst).toBeLessThan(text.length / 2);
  });

  it('hands out a claim placed late as its loop closes, before its transaction set\'s SE has arrived', async () => {
    // One transaction set of 5,000 claims (the most the TR3 allows), about 1.8 MB: its SE comes long after the first claims.
    const { text, claims } = await generate837Text(2_500_000, 5_000);
    const firstSe = text.indexOf('~\nSE*');
    expect(firstSe).toBeGreaterThan(1_500_000);
    let sent = 0;
    async function* counted(): AsyncGenerator<string> {
      for await (const piece of pieces(text, 65_536)) {
        sent += piece.length;
        yield piece;
      }
    }
    let beforeSe = 0;
    let read = 0;
    for await (const record of streamX12PlacedLate(counted())) {
      if (record.kind !== 'claim') continue;
      if (sent <= firstSe) beforeSe++;
      read++;
    }
    expect(read).toBe(claims);
    // All but the claims of the last pieces before the SE have been handed out by then (not one, before).
    expect(beforeSe).toBeGreaterThan(1_000);
    expect((await placedLate(text, 65_536)).records).toBe(await streamed(text, 65_536));
  });

  it('reads a file that arrives as bytes (UTF-8 cut inside a character) as openClaims reads it whole', async () => {
    const base = readFileSync(path.join(root, 'test/fixtures/x12/837p/demo.example1.837'), 'utf8').replace('NM1*IL*1*', 'NM1*IL*1*MÜLLER');
    const { text } = await generate837Text(1_500_000, 50);
    for (const file of [`\ufeff${base}`, text.replace('N3*2 ELM ST', 'N3*2 ÉLM ST'), '{"claimId":"C1"}', '']) {
      const bytes = Buffer.from(file, 'utf8');
      async function* chunks(): AsyncGenerator<Buffer> {
        for (let i = 0; i < bytes.length; i += 333) yield bytes.subarray(i, i + 333);
      }
      const arriving = await openArrivingClaims(chunks());
      const records: unknown[] = [];
      for await (const record of arriving.records) records.push(shown(record));
      const expected = openClaims(bytes);
      expect(arriving.format).toBe(expected.format);
      expect(JSON.stringify(records)).toBe(JSON.stringify([...expected.records()].map(shown)));
    }
  });

  it('decodes chunks of bytes to the characters TextDecoder gives for the whole, whatever the mix of ASCII, other UTF-8 and broken bytes', () => {
    // Seeded (mulberry32), so that a failure can be replayed.
    let seed = 20;
    const random = (n: number) => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return Math.floor((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * n);
    };
    const pieces = [Buffer.from('CLM*C1*125~\n'), Buffer.from('NM1*IL*1*MÜLLER~'), Buffer.from('€'), Buffer.from('😀'), Buffer.from([0xff]), Buffer.from([0xe2, 0x82]), Buffer.from([0xc3]), Buffer.from([0xef, 0xbb, 0xbf])];
    for (let round = 0; round < 300; round++) {
      const bytes = Buffer.concat(Array.from({ length: 1 + random(12) }, () => pieces[random(pieces.length)]!));
      const expected = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
      const decoder = new ChunkDecoder();
      let text = '';
      for (let i = 0; i < bytes.length; ) {
        const size = 1 + random(9);
        text += decoder.decode(bytes.subarray(i, i + size));
        i += size;
      }
      text += decoder.end();
      expect(text, bytes.toString('hex')).toBe(expected);
    }
  });

  it('reads a wrapped file whole, as the whole-file reader does', async () => {
    const text = readFileSync(path.join(root, 'test/fixtures/x12/837p/demo.example1.837'), 'latin1').replace(/\r?\n/g, '');
    const wrapped = text.match(/.{1,80}/g)!.join('\n');
    const records = await streamed(wrapped, 100, { probe: 512 });
    expect(records).toBe(whole(wrapped));
    expect(records).toContain('x12-wrapped-lines');
  });
});
