import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { write } from '../../src/cli/io.js';

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
