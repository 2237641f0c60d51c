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

describe('lines taken one at a time, and claims parsed a batch at a time', () => {
  it('gives the lines push gives, however the input is cut into chunks', () => {
    const text = Array.from({ length: 300 }, (_, i) => (i % 17 === 0 ? '' : `{"n":${i},"s":"${'é'.repeat(i % 5)}"}`)).join('\n') + '\r\n{"last":true}';
    const bytes = Buffer.from(text);
    const pushed = new NdjsonSplitter();
    const expected = [...pushed.push(bytes), ...pushed.end()];
    for (const size of [1, 7, 100, 4096, bytes.length]) {
      const splitter = new NdjsonSplitter();
      const taken = [];
      for (let at = 0; at < bytes.length; at += size) {
        splitter.feed(bytes.subarray(at, at + size));
        for (let line = splitter.nextLine(); line !== undefined; line = splitter.nextLine()) taken.push(line);
      }
      splitter.close();
      for (let line = splitter.nextLine(); line !== undefined; line = splitter.nextLine()) taken.push(line);
      expect(taken, `chunks of ${size} bytes`).toEqual(expected);
    }
  });

  it('refuses a chunk fed before the lines of the one before were taken (they would be lost)', () => {
    const splitter = new NdjsonSplitter();
    splitter.feed('{"a":1}\n{"a":2}\n');
    expect(splitter.nextLine()).toEqual({ number: 1, text: '{"a":1}' });
    expect(() => splitter.feed('{"a":3}\n')).toThrow(/lines of the one before/);
  });

  it('hands out every claim of a chunk far longer than a batch, in order, FHIR lines and problems among them', async () => {
    const bundle = JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry: [] });
    const lines = Array.from({ length: 1_000 }, (_, i) => (i === 500 ? bundle : i === 700 ? '{"broken":' : i % 97 === 0 ? '' : `{"n":${i}}`));
    const text = lines.join('\n') + '\n';
    const items = await collect(ndjsonItems([text]));
    const lineByLine = [];
    for (const [i, line] of lines.entries()) lineByLine.push(...(await collect(ndjsonItems([`${'\n'.repeat(i)}${line}\n`]))));
    expect(items).toEqual(lineByLine);
    expect(items.filter((x) => 'input' in x)).toHaveLength(lines.filter((l, i) => l !== '' && i !== 500 && i !== 700).length);
    expect(items.find((x) => x.line === 701)).toMatchObject({ problem: 'invalid-json' });
  });
});

describe('the fast path of a line: decoded first, its bytes checked only when the text says they may be bad', () => {
  const bad: Array<[string, number[]]> = [
    ['a lone continuation byte', [0x80]],
    ['a byte that never occurs in UTF-8', [0xff]],
    ['an overlong encoding of "/"', [0xc0, 0xaf]],
    ['an encoded UTF-16 surrogate', [0xed, 0xa0, 0x80]],
    ['a code point past U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['a sequence cut short by the end of the line', [0xe6, 0x97]],
  ];
  for (const [what, bytes] of bad) {
    it(`refuses ${what}, and reads the next line`, async () => {
      const input = Buffer.concat([Buffer.from('{"a":"x'), Buffer.from(bytes), Buffer.from('"}\n{"b":1}\n')]);
      expect(await collect(ndjsonLines([input]))).toEqual([{ number: 1, problem: 'invalid-utf8' }, { number: 2, text: '{"b":1}' }]);
    });
  }

  it('refuses a last line, without a line break, that ends inside a multi-byte character', async () => {
    const input = Buffer.concat([Buffer.from('{"a":1}\n{"b":"'), Buffer.from([0xe6, 0x97])]);
    expect(await collect(ndjsonLines([input]))).toEqual([{ number: 1, text: '{"a":1}' }, { number: 2, problem: 'invalid-utf8' }]);
  });

  it('accepts a real U+FFFD written in the text (valid UTF-8: EF BF BD)', async () => {
    const items = await collect(ndjsonItems([Buffer.from('{"name":"\ufffd"}\n')]));
    expect(items).toEqual([{ label: 'line 1', line: 1, input: { name: '\ufffd' } }]);
  });

  it('refuses a line with U+FFFD written in it when another byte of it is not UTF-8', async () => {
    const input = Buffer.concat([Buffer.from('{"a":"\ufffd'), Buffer.from([0xc3, 0x28]), Buffer.from('"}\n')]);
    expect(await collect(ndjsonLines([input]))).toEqual([{ number: 1, problem: 'invalid-utf8' }]);
  });

  it('says which line a truncated last line is, and reads the ones before it', async () => {
    const items = await collect(ndjsonItems(['{"claimId":"A"}\n{"claimId":"B","lines":[{"units":']));
    expect(items).toEqual([
      { label: 'line 1', line: 1, input: { claimId: 'A' } },
      { label: 'line 2', line: 2, problem: 'invalid-json', error: 'not valid JSON: Unexpected end of JSON input at character 34' },
    ]);
  });

  it('refuses a prototype key anywhere in a claim, written plainly or with escapes', async () => {
    const lines = [
      '{"claimId":"A","__proto__":{"admin":true}}',
      '{"claimId":"B","lines":[{"modifiers":[],"constructor":{"prototype":{}}}]}',
      '{"claimId":"C","patient":{"\\u005f_proto__":{}}}',
      '{"claimId":"D","extensions":{"a":{"b":{"prototype":1}}}}',
      '{"claimId":"E","note":"the words __proto__, constructor and prototype may be values"}',
    ];
    const items = await collect(ndjsonItems([lines.join('\n') + '\n']));
    expect(items.map((item) => ('problem' in item ? item.problem : 'read'))).toEqual(['forbidden-key', 'forbidden-key', 'forbidden-key', 'forbidden-key', 'read']);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('skips an over-long line across chunks and numbers the lines after it', async () => {
    const items = await collect(ndjsonItems(['{"a":1}\n{"b":"', 'x'.repeat(100), '"}\n{"c":3}\n'], { maxLineBytes: 50 }));
    expect(items).toEqual([
      { label: 'line 1', line: 1, input: { a: 1 } },
      { label: 'line 2', line: 2, problem: 'line-too-long', error: 'longer than the limit of 50 bytes, so it was not read' },
      { label: 'line 3', line: 3, input: { c: 3 } },
    ]);
  });

  it('gives the same verdict as a full UTF-8 check on every two-byte sequence', async () => {
    const { isUtf8 } = await import('node:buffer');
    for (let a = 0x80; a <= 0xff; a++) {
      for (const b of [0x28, 0x80, 0xa0, 0xbf, 0xc0]) {
        const bytes = Buffer.from([0x22, a, b, 0x22]);
        const [line] = new NdjsonSplitter().push(Buffer.concat([bytes, Buffer.from('\n')]));
        expect('problem' in line!, `bytes ${a.toString(16)} ${b.toString(16)}`).toBe(!isUtf8(bytes));
      }
    }
  });
});
