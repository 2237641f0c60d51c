import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BufferedWriter, write } from '../../src/cli/io.js';

/** A stream that takes one small write at a time, so every write waits for 'drain'. */
function slowStream(fail = false): Writable & { text: string } {
  const stream = new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _encoding, done) {
      stream.text += chunk.toString();
      setImmediate(() => done(fail ? new Error('disk full') : undefined));
    },
  }) as Writable & { text: string };
  stream.text = '';
  return stream;
}

describe('writing command output', () => {
  it('waits for a full stream to drain, writing everything in order and leaving no listener behind', async () => {
    const stream = slowStream();
    const before = { error: stream.listenerCount('error'), drain: stream.listenerCount('drain') };
    for (let i = 0; i < 50; i++) await write(stream, `${i}\n`);
    expect(stream.text.split('\n').slice(0, 3)).toEqual(['0', '1', '2']);
    expect(stream.text.split('\n')).toHaveLength(51);
    expect({ error: stream.listenerCount('error'), drain: stream.listenerCount('drain') }).toEqual(before);
  });

  it('fails when the stream fails', async () => {
    const stream = slowStream(true);
    await expect(write(stream, 'line\n')).rejects.toThrow('disk full');
  });
});

/** A stream that takes every write at once and keeps each chunk it was given. */
function recordingStream(): { stream: Writable; chunks: string[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, chunks };
}

describe('writing many small results', () => {
  it('writes them in blocks, in order, and nothing more once flushed', async () => {
    const { stream, chunks } = recordingStream();
    const out = new BufferedWriter(stream, 100);
    for (let i = 0; i < 50; i++) await out.write(`result ${i}\n`);
    await out.flush();
    expect(chunks.join('')).toBe(Array.from({ length: 50 }, (_, i) => `result ${i}\n`).join(''));
    expect(chunks.length).toBeLessThan(10);
    const written = chunks.length;
    await out.flush();
    expect(chunks).toHaveLength(written);
  });

  it('sends what it holds at the next turn of the event loop, without a flush: a reader of a pipe is not kept waiting', async () => {
    const { stream, chunks } = recordingStream();
    const out = new BufferedWriter(stream);
    await out.write('first\n');
    await out.write('second\n');
    expect(chunks).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(chunks).toEqual(['first\nsecond\n']);
  });

  it('waits for a slow stream to drain, so that it holds no more than a block or two', async () => {
    const stream = slowStream();
    const out = new BufferedWriter(stream, 64);
    let most = 0;
    for (let i = 0; i < 200; i++) {
      await out.write(`${String(i).padStart(9)}\n`);
      most = Math.max(most, stream.writableLength);
    }
    await out.flush();
    expect(stream.text.split('\n')).toHaveLength(201);
    expect(most).toBeLessThanOrEqual(2 * 70);
  });

  it('takes a piece at once while the stream keeps up, and asks to be waited for only when it is behind', async () => {
    const { stream, chunks } = recordingStream();
    const out = new BufferedWriter(stream, 100);
    expect(out.write('a short result\n')).toBeUndefined();
    const slow = slowStream();
    const behind = new BufferedWriter(slow, 64);
    let waits = 0;
    let most = 0;
    // A loop that awaits only what it is given holds no more than the loop that awaits every write.
    for (let i = 0; i < 200; i++) {
      const waiting = behind.write(`${String(i).padStart(9)}\n`);
      if (waiting) {
        waits++;
        await waiting;
      }
      most = Math.max(most, slow.writableLength);
    }
    await behind.flush();
    await out.flush();
    expect(chunks).toEqual(['a short result\n']);
    expect(slow.text.split('\n')).toHaveLength(201);
    expect(waits).toBeGreaterThan(0);
    expect(waits).toBeLessThan(200);
    expect(most).toBeLessThanOrEqual(2 * 70);
  });

  it('fails when the stream fails, at the next write or flush', async () => {
    const out = new BufferedWriter(slowStream(true), 10);
    await expect(
      (async () => {
        for (let i = 0; i < 5; i++) await out.write('0123456789\n');
        await out.flush();
      })(),
    ).rejects.toThrow('disk full');
  });
});
