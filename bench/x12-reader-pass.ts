import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { openArrivingClaims, openClaims } from '../src/formats/index.js';
import { printPasses } from './processes.js';

/**
 * Passes of one X12 reader over one file, in a process of its own (started by bench/x12-stream.ts):
 * `node x12-reader-pass.js whole|stream <file> <passes>` reads the file once to warm the code and
 * the page cache, then `passes` times, and prints one JSON line per pass: claims, elapsed and CPU
 * seconds. A process per reader, because in one process the whole-file reader leaves hundreds of
 * MiB of garbage that the next pass, of either reader, pays to collect.
 */

/** The whole-file reader: the file into memory, then every record (claims mapped as they are reached). */
export async function wholePass(file: string): Promise<number> {
  let claims = 0;
  for (const record of openClaims(await readFile(file), { filename: file }).records()) if (record.kind === 'claim' && record.input) claims++;
  return claims;
}

/** The streaming reader: the file in 1 MiB chunks, as `scrub check` reads it. */
export async function streamPass(file: string): Promise<number> {
  let claims = 0;
  const read = await openArrivingClaims(createReadStream(file, { highWaterMark: 2 ** 20 }), { filename: file });
  for await (const record of read.records) if (record.kind === 'claim' && record.input) claims++;
  return claims;
}

const [mode, file, passes] = process.argv.slice(2);
if ((mode === 'whole' || mode === 'stream') && file) await printPasses(() => (mode === 'whole' ? wholePass : streamPass)(file), Number(passes ?? 1));
