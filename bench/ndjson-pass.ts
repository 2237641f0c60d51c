import { createReadStream } from 'node:fs';
import { ndjsonItems } from '../src/formats/ndjson.js';
import { printPasses } from './processes.js';

/**
 * Passes over an NDJSON file in a process of its own (started by bench/ndjson.ts):
 * `node ndjson-pass.js floor|reader <file> <passes>` reads the file once to warm the code and
 * the page cache, then `passes` times, and prints one JSON line per pass. Both sides read the
 * file through the same stream (createReadStream's 64 KiB chunks).
 *
 * Each side in processes of its own, taken in turns: in one process, a pass paid for the
 * garbage and the heap growth the pass before it left (the floor's and the reader's passes
 * alternated, and their ratio was 0.98 in one run and 0.82 in another the same hour).
 */

/** The floor: bytes from the file, split at line breaks, each line decoded and parsed, nothing else. */
export async function floorPass(file: string): Promise<number> {
  let claims = 0;
  let tail: Buffer | undefined;
  for await (const read of createReadStream(file) as AsyncIterable<Buffer>) {
    const chunk = tail ? Buffer.concat([tail, read]) : read;
    let start = 0;
    for (let end = chunk.indexOf(10, start); end !== -1; end = chunk.indexOf(10, start)) {
      if (end > start) {
        JSON.parse(chunk.toString('utf8', start, end));
        claims++;
      }
      start = end + 1;
    }
    tail = start < chunk.length ? chunk.subarray(start) : undefined;
  }
  return claims;
}

/** The project's reader (UTF-8 check, line numbers, prototype keys and depth refused, line items). */
export async function readerPass(file: string): Promise<number> {
  let claims = 0;
  for await (const item of ndjsonItems(createReadStream(file))) if ('input' in item) claims++;
  return claims;
}

const [mode, file, passes] = process.argv.slice(2);
if ((mode === 'floor' || mode === 'reader') && file) await printPasses(() => (mode === 'floor' ? floorPass : readerPass)(file), Number(passes ?? 1));
