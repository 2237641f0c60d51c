import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { scanLines, splitFields, textAt } from '../../src/tables/lines.js';

async function linesOf(content: string | Buffer) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lines-'));
  const file = path.join(dir, 'f.txt');
  await writeFile(file, content);
  const seen: Array<[number, string]> = [];
  const scan = await scanLines(file, (b, s, e, n) => seen.push([n, textAt(b, s, e)]));
  return { seen, scan };
}

describe('line scanner', () => {
  it('splits LF, CRLF and CR lines and numbers them from 1', async () => {
    const { seen, scan } = await linesOf('a\nb\r\nc\rd\n');
    expect(seen).toEqual([
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
      [4, 'd'],
    ]);
    expect(scan.lines).toBe(4);
  });

  it('reads a last line that has no line break after it (a file cut short)', async () => {
    const { seen } = await linesOf('a\r\nb');
    expect(seen).toEqual([
      [1, 'a'],
      [2, 'b'],
    ]);
  });

  it('skips a byte-order mark and keeps UTF-8 text', async () => {
    const { seen } = await linesOf(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('Café\n')]));
    expect(seen).toEqual([[1, 'Café']]);
  });

  it('handles lines that cross chunk boundaries and lines longer than a chunk', async () => {
    const long = 'x'.repeat(3 * 1024 * 1024);
    const lines = Array.from({ length: 200_000 }, (_, i) => `row ${i}`);
    const { seen } = await linesOf([...lines, long, 'end'].join('\r\n') + '\r\n');
    expect(seen).toHaveLength(200_002);
    expect(seen[199_999]).toEqual([200_000, 'row 199999']);
    expect(seen[200_000]![1]).toHaveLength(long.length);
    expect(seen[200_001]).toEqual([200_002, 'end']);
  });

  it('treats a CRLF split between two chunks as one line break', async () => {
    const first = 'a'.repeat(1024 * 1024 - 1); // the CR is the last byte of the first 1 MiB chunk
    const { seen } = await linesOf(first + '\r\nb\r\n');
    expect(seen.map(([n, t]) => [n, t.length])).toEqual([
      [1, first.length],
      [2, 1],
    ]);
  });

  it('splits fields of a delimited line', () => {
    const b = Buffer.from('a\t\tccc');
    const bounds: number[] = [];
    expect(splitFields(b, 0, b.length, 0x09, bounds)).toBe(3);
    expect([0, 1, 2].map((i) => textAt(b, bounds[i * 2]!, bounds[i * 2 + 1]!))).toEqual(['a', '', 'ccc']);
  });
});
