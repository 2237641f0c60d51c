import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
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
  tightened = true;
}

let tightened = false;

/**
 * Gives the heaps back V8's own growth (the flag's 0), for a batch whose memory is flat by
 * construction: NDJSON read a line at a time, where the live heap is the rules and the claims in
 * flight. There a 20% growth only made full collections frequent: 14 instead of 5 over 20,000
 * claims with --jobs 1 (`--trace-gc`), each marking the whole heap, for 4% less peak RSS.
 */
export function loosenHeap(): void {
  if (!tightened) return;
  v8.setFlagsFromString('--heap-growing-percent=0');
  tightened = false;
}

/**
 * glibc's malloc arenas for `scrub check`. glibc gives a thread that allocates while another
 * holds the arena an arena of its own, up to eight per core, and each keeps the memory it freed
 * for itself: `scrub check` runs its main thread, a scrub thread per further core, V8's
 * collector threads (which allocate their work lists) and libuv's. With two arenas the same
 * scrub is about 17 MiB smaller at its peak at the same CPU time (20 MiB 837P, full-size tables,
 * two threads: 291 against 308 MiB, measured side by side; see docs/performance.md), and the
 * waiting launcher adds about 8 MiB of its own. glibc reads the setting only when a process
 * starts, so `scrub check` starts itself again with it.
 */
export const CHECK_MALLOC_ARENA_MAX = '2';

/** Set in the environment of the child the launcher starts. */
const LAUNCHED = 'SCRUB_CHECK_LAUNCHED';

/**
 * In the child of relaunchWithArenas: stops this process when the launcher is gone. A launcher
 * killed with SIGKILL (a supervisor's last resort, a test's crash) cannot pass the signal on, and
 * the check would otherwise run on with nobody waiting for it; its IPC channel closes, and the
 * child stops the same way. The channel does not keep the child running.
 */
export function stopWithLauncher(): void {
  if (process.env[LAUNCHED] === undefined || !process.channel) return;
  delete process.env[LAUNCHED];
  process.channel.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGKILL'));
}

/** Signals a terminal or a supervisor sends to stop a command: the launcher passes them on. */
const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Whether `scrub check` should run in a child process started with MALLOC_ARENA_MAX: only on
 * Linux with glibc (musl and other systems have no such setting), only for `check`, and only when
 * the environment does not set it already (so the child never starts another, and an operator who
 * sets MALLOC_ARENA_MAX, to any value, keeps `scrub check` in one process).
 */
export function relaunchesWithArenas(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): boolean {
  if (argv[0] !== 'check' || process.platform !== 'linux') return false;
  if (env.MALLOC_ARENA_MAX !== undefined || env.GLIBC_TUNABLES?.includes('arena_max')) return false;
  return usesGlibc();
}

/**
 * Whether this process runs on glibc: its libc.so.6 is mapped. (process.report's header says so
 * too, but making a report costs about 0.1 s, as much as the relaunch.)
 */
function usesGlibc(): boolean {
  try {
    return readFileSync('/proc/self/maps', 'latin1').includes('/libc.so.6');
  } catch {
    return false;
  }
}

/**
 * Runs this command again in a child process, with MALLOC_ARENA_MAX set and the same node flags,
 * arguments, working folder and standard streams (inherited, not piped: the child reads and
 * writes the same files, pipes and terminal, and this process reads and writes nothing). Resolves
 * to the child's exit code; a child stopped by a signal stops this process with the same signal,
 * so a shell sees what it would have seen (130 for Ctrl-C). SIGINT, SIGTERM and SIGHUP sent to
 * this process alone are passed on to the child. Resolves to undefined when the child cannot be
 * started: the command then runs here, as it would have.
 */
export function relaunchWithArenas(env: NodeJS.ProcessEnv = process.env): Promise<number | undefined> {
  return new Promise((resolve) => {
    // The IPC channel is how the child knows when this process is gone (stopWithLauncher).
    const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
      stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
      env: { ...env, MALLOC_ARENA_MAX: CHECK_MALLOC_ARENA_MAX, [LAUNCHED]: '1' },
    });
    const forward = (signal: NodeJS.Signals) => {
      child.kill(signal);
    };
    const stopForwarding = () => {
      for (const signal of FORWARDED_SIGNALS) process.off(signal, forward);
    };
    for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
    child.on('error', () => {
      // Only a child that never started (no pid) leaves the command to run here.
      if (child.pid !== undefined) return;
      stopForwarding();
      resolve(undefined);
    });
    child.once('exit', (code, signal) => {
      stopForwarding();
      if (signal && FORWARDED_SIGNALS.includes(signal)) process.kill(process.pid, signal);
      // Any other signal (a crash): the exit status a shell reports for it.
      else resolve(signal ? 128 + (osConstants.signals[signal] ?? 0) : (code ?? 1));
    });
  });
}
