import { parentPort, workerData } from 'node:worker_threads';
import type { CommandThreadReply, CommandThreadSetup } from './command-thread.js';
import type { CliIo } from './io.js';
import { runCli } from './main.js';

/** The command thread (see command-thread.ts): runs one command line, then says its exit code. */

const { argv, cwd, tty } = workerData as CommandThreadSetup;
// The thread's output streams pass to the process's: they are terminals when those are.
const stdout = Object.assign(process.stdout, tty.stdout);
const stderr = Object.assign(process.stderr, tty.stderr);
const io: CliIo = { stdout, stderr, stdin: process.stdin, cwd, env: process.env };

const ended = (stream: NodeJS.WritableStream) => new Promise<void>((resolve) => stream.end(resolve));

void runCli(argv, io)
  .then(
    (code): CommandThreadReply => ({ code }),
    (err: Error): CommandThreadReply => ({ error: err.stack ?? err.message }),
  )
  .then(async (reply) => {
    // Every byte written is handed to the main thread before the answer.
    await Promise.all([ended(stdout), ended(stderr)]);
    parentPort!.postMessage(reply);
  });
