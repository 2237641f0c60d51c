import type { CliIo } from './io.js';
import { startThreadScript } from './thread-script.js';

/**
 * `scrub check` over files runs on a thread of its own, not on the process's main thread.
 *
 * V8 fixes the main thread's young generation when the process starts (two 16 MB semi-spaces,
 * 32 MB resident once a busy batch has grown them), and nothing a process does once started can
 * lower it; a thread's young generation is set when the thread starts (`resourceLimits`). The
 * reader and mapper allocate a segment object per X12 segment and most of it dies young, so the
 * main thread's young generation was full-size all through a batch. On a thread it is bounded,
 * and the main thread, which only passes the output on, stays near its start-up size.
 * Measured in docs/performance.md (X12 in constant memory, fifth round).
 */

/** The command thread's young generation, in MB (see the measurements above). */
export const COMMAND_THREAD_YOUNG_GENERATION_MB = 16;

/** What the command thread starts with. */
export interface CommandThreadSetup {
  argv: string[];
  cwd: string;
  /** Whether each output stream is a terminal (colours, progress), and its width. */
  tty: { stdout: TtyInfo; stderr: TtyInfo };
}
export interface TtyInfo {
  isTTY: boolean;
  columns?: number;
}

/** What the command thread answers when its command has returned and its output is written. */
export type CommandThreadReply = { code: number } | { error: string };

/**
 * Whether a command line runs on the command thread: `scrub check` over named files. Not standard
 * input (`-`, read on the main thread as it arrives), not a check with the claim history (its
 * database drivers are native modules, loaded once per process), not help.
 */
export function runsOnCommandThread(argv: readonly string[]): boolean {
  const [name, ...args] = argv;
  if (name !== 'check') return false;
  return !args.some((a) => a === '-' || a === '--help' || a === '-h' || a === '--history' || a.startsWith('--history='));
}

function ttyOf(stream: CliIo['stdout'] & { columns?: number }): TtyInfo {
  return stream.isTTY ? { isTTY: true, ...(stream.columns ? { columns: stream.columns } : {}) } : { isTTY: false };
}

/**
 * Runs a command line on the command thread: its output and errors go to `io`'s streams as they
 * are written (the thread waits for them to be taken, so a slow reader of the output holds the
 * thread back, not memory). Resolves to the command's exit code.
 */
export function runOnCommandThread(argv: string[], io: Pick<CliIo, 'stdout' | 'stderr' | 'cwd' | 'env'>): Promise<number> {
  const setup: CommandThreadSetup = { argv, cwd: io.cwd, tty: { stdout: ttyOf(io.stdout), stderr: ttyOf(io.stderr) } };
  const thread = startThreadScript('command-thread-worker', {
    workerData: setup,
    env: { ...io.env },
    stdout: true,
    stderr: true,
    resourceLimits: { maxYoungGenerationSizeMb: COMMAND_THREAD_YOUNG_GENERATION_MB },
  });
  // Not ended with the thread's streams: the process's own stay open until it exits.
  thread.stdout.pipe(io.stdout, { end: false });
  thread.stderr.pipe(io.stderr, { end: false });
  const ended = (stream: NodeJS.ReadableStream) => new Promise<void>((resolve) => stream.once('end', resolve));
  const outputEnded = Promise.all([ended(thread.stdout), ended(thread.stderr)]);
  return new Promise<number>((resolve, reject) => {
    let reply: CommandThreadReply | undefined;
    thread.on('message', (message: CommandThreadReply) => {
      reply = message;
      // The thread ends its output streams before it answers: once they are passed on, it has nothing left to do.
      void outputEnded.then(() => thread.terminate());
    });
    thread.on('error', reject);
    thread.on('exit', (exitCode) => {
      if (reply && 'code' in reply) resolve(reply.code);
      else if (reply) reject(Object.assign(new Error('the command failed'), { stack: reply.error }));
      else reject(new Error(`the command thread stopped with code ${exitCode}`));
    });
  });
}
