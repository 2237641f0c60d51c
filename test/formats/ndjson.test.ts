import { describe, expect, it } from 'vitest';
import { NdjsonSplitter, ndjsonItems, ndjsonLines } from '../../src/formats/ndjson.js';

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of source) out.push(x);
  return out;
}

describe('reading NDJSON line by line', () => {
  it('numbers every line, blank ones included, and gives the last line without a break', async () => {
    const lines = await collect(ndjsonLines(['{"a":1}\n\n{"b"', ':2}\r\n{"c":3}']));
    expect(lines).toEqual([
      { number: 1, text: '{"a":1}' },
      { number: 2, text: '' },
      { number: 3, text: '{"b":2}' },
      { number: 4, text: '{"c":3}' },
    ]);
  });

  it('joins a line split anywhere across chunks, even inside a multi-byte character', async () => {
    const bytes = Buffer.from('{"name":"Zoë"}\n{"x":"日本"}\n');
    const chunks = Array.from(bytes, (b) => Buffer.from([b]));
    const lines = await collect(ndjsonLines(chunks));
    expect(lines).toEqual([
      { number: 1, text: '{"name":"Zoë"}' },
      { number: 2, text: '{"x":"日本"}' },
    ]);
  });

  it('refuses a line that is not valid UTF-8 and reads the next one', async () => {
    const lines = await collect(ndjsonLines([Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}\n{"b":1}\n')])]));
    expect(lines).toEqual([{ number: 1, problem: 'invalid-utf8' }, { number: 2, text: '{"b":1}' }]);
  });

  it('skips a line over the limit without collecting it, and goes on', () => {
    const splitter = new NdjsonSplitter({ maxLineBytes: 10 });
    const out = [...splitter.push('{"a":"' + 'x'.repeat(5)), ...splitter.push('x'.repeat(1000)), ...splitter.push('"}\n{"b":1}\n'), ...splitter.end()];
    expect(out).toEqual([{ number: 1, problem: 'line-too-long', maxLineBytes: 10 }, { number: 2, text: '{"b":1}' }]);
  });

  it('gives one item per non-blank line, with why a line cannot be read', async () => {
    const items = await collect(ndjsonItems(['{"claimId":"A"}\n\n{"claimId": \n{"__proto__":{}}\n' + '['.repeat(100) + ']'.repeat(100) + '\n']));
    expect(items).toEqual([
      { label: 'line 1', line: 1, input: { claimId: 'A' } },
      { label: 'line 3', line: 3, problem: 'invalid-json', error: expect.stringMatching(/^not valid JSON/) },
      { label: 'line 4', line: 4, problem: 'forbidden-key', error: expect.stringContaining('__proto__') },
      { label: 'line 5', line: 5, problem: 'too-deep', error: expect.stringContaining('nested more than 64 levels') },
    ]);
  });

  it('hands out the items of a chunk one at a time and reads no further than asked', async () => {
    let pulled = 0;
    let closed = false;
    const source = {
      [Symbol.asyncIterator]() {
        return {
          next: async () => (pulled < 3 ? { value: `{"n":${pulled++}}\n{"n":"again"}\n`, done: false } : { value: undefined, done: true }),
          return: async () => {
            closed = true;
            return { value: undefined, done: true };
          },
        };
      },
    };
    const items: unknown[] = [];
    for await (const item of ndjsonItems(source as AsyncIterable<string>)) {
      items.push(item);
      if (items.length === 3) break;
    }
    expect(items).toEqual([
      { label: 'line 1', line: 1, input: { n: 0 } },
      { label: 'line 2', line: 2, input: { n: 'again' } },
      { label: 'line 3', line: 3, input: { n: 1 } },
    ]);
    expect(pulled).toBe(2);
    expect(closed).toBe(true);
  });

  it('answers calls to next() made before the last one settled, in order', async () => {
    const reader = ndjsonItems(['{"a":1}\n', '{"a":2}\n{"a":3}']);
    const results = await Promise.all([reader.next(), reader.next(), reader.next(), reader.next()]);
    expect(results.map((r) => (r.done ? 'done' : (r.value as { input: { a: number } }).input.a))).toEqual([1, 2, 3, 'done']);
  });

  it('drops a byte order mark at the start of the input and of any line, and copies no chunk it does not keep', () => {
    const splitter = new NdjsonSplitter();
    const chunk = Buffer.from('\ufeff{"a":1}\n\ufeff{"b":2}\n{"c"');
    const lines = splitter.push(chunk);
    chunk.fill(0x20); // the caller reuses its buffer: the unfinished line was copied
    expect([...lines, ...splitter.push(':3}\n')]).toEqual([
      { number: 1, text: '{"a":1}' },
      { number: 2, text: '{"b":2}' },
      { number: 3, text: '{"c":3}' },
    ]);
  });
});
