import v8 from 'node:v8';

/**
 * How far V8 lets a heap grow past what the last full collection kept, in percent, in the
 * commands that read a batch (`scrub check`, `submit`, `history`).
 *
 * V8 sizes the next limit from how fast it collects, up to four times the live heap: scrubbing
 * an X12 file keeps about 70 MB alive on the main thread and 22 MB on each worker thread, and
 * the heaps grew to 150-370 MB between full collections, so the peak resident memory followed
 * the collector, not the data. Twenty percent is a growing factor, not a limit: a heap whose
 * live data grows (10,000-rule pack sets, full-size tables) still grows with it. Measured over
 * the 100 MiB 837P with two threads (with the modules loaded on use, src/cli/main.ts): peak RSS
 * 659 -> 324 MiB, no more CPU time (the 20 MiB file: byte-identical output); below 25% the
 * figure hardly moves.
 */
export const BATCH_HEAP_GROWING_PERCENT = 20;

/** Commands that scrub or read whole batches, where memory must not follow the file. */
const BATCH_COMMANDS = new Set(['check', 'submit', 'history']);

/**
 * Keeps every heap of the process (worker threads' included: V8's flags are the process's) close
 * to its live data, for a batch command; a heap-growing-percent given on the command line wins.
 */
export function tightenHeapFor(command: string | undefined, execArgv: readonly string[] = process.execArgv): void {
  if (command === undefined || !BATCH_COMMANDS.has(command)) return;
  if (execArgv.some((flag) => /^--heap[-_]growing[-_]percent/.test(flag))) return;
  v8.setFlagsFromString(`--heap-growing-percent=${BATCH_HEAP_GROWING_PERCENT}`);
}
