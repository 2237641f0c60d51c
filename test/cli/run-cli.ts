import { PassThrough, Readable } from 'node:stream';
import { runCli } from '../../src/cli/main.js';
import { packageRoot } from '../../src/paths.js';
import { tableSnapshotEnv } from '../support/table-snapshots.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `scrub ...` in-process with captured streams, from the package root by default. Its
 * environment is the test's, plus the test run's table snapshot cache (which only makes the
 * bundled code sets load faster).
 */
export async function scrub(args: string[], options: { stdin?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliRun> {
  const streams = capturedOutput();
  const code = await runCli(args, {
    ...streams,
    stdin: Readable.from([options.stdin ?? '']),
    cwd: options.cwd ?? packageRoot,
    env: { ...tableSnapshotEnv(), ...options.env },
  });
  return streams.run(code);
}

/** Output streams that keep what is written to them, and the run they make with an exit code. */
export function capturedOutput(): { stdout: PassThrough; stderr: PassThrough; run: (code: number) => CliRun } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (c: Buffer) => out.push(c));
  stderr.on('data', (c: Buffer) => err.push(c));
  return { stdout, stderr, run: (code) => ({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }) };
}
