import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runOnCommandThread, runsOnCommandThread } from '../../src/cli/command-thread.js';
import { PARALLEL_AFTER } from '../../src/cli/parallel-scrub.js';
import { packageRoot } from '../../src/paths.js';
import { generate837Text } from '../support/generate-837.js';
import { tableSnapshotEnv } from '../support/table-snapshots.js';
import { capturedOutput, scrub, type CliRun } from './run-cli.js';

/**
 * `scrub check` over files runs on a thread of its own (its young generation bounded, which the
 * main thread's cannot be): what it prints, where, and its exit code must be what the same
 * command prints on the main thread.
 */

async function onThread(args: string[]): Promise<CliRun> {
  const { stdout, stderr, run } = capturedOutput();
  return run(await runOnCommandThread(args, { stdout, stderr, cwd: packageRoot, env: { ...process.env, ...tableSnapshotEnv() } }));
}

let big: string;
let broken: string;

beforeAll(async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'scrub-command-thread-'));
  // Past the claims the first thread scrubs alone, so the scrub threads start from the command thread.
  const { text, claims } = await generate837Text(100_000, 100);
  expect(claims).toBeGreaterThan(PARALLEL_AFTER);
  big = path.join(dir, 'big.837');
  await writeFile(big, text);
  // A transaction set whose SE miscounts: a file problem on stderr, exit 1.
  broken = path.join(dir, 'broken.837');
  const small = (await generate837Text(10_000, 10)).text;
  await writeFile(broken, small.replace(/SE\*(\d+)\*/, (_, n: string) => `SE*${Number(n) + 3}*`));
});

describe('which command lines run on the command thread', () => {
  it.each([
    [['check', 'claims.837'], true],
    [['check', '--format', 'ndjson', '--jobs', '1', 'a.837', 'b.ndjson'], true],
    [['check', '-'], false],
    [['check', '--history', 'h.sqlite', 'claims.837'], false],
    [['check', '--history=h.sqlite', 'claims.837'], false],
    [['check', '--help'], false],
    [['lint', 'rules'], false],
    [[], false],
  ])('%j: %s', (argv, expected) => {
    expect(runsOnCommandThread(argv as string[])).toBe(expected);
  });
});

describe('scrub check on the command thread', () => {
  it.each(['ndjson', 'text'])('prints what it prints on the main thread, threads started (--format %s)', async (format) => {
    const args = ['check', '--format', format, '--as-of', '2026-06-01', '--jobs', '2', big];
    const threaded = await onThread(args);
    expect(threaded).toEqual(await scrub(args));
    expect(threaded.stdout.length).toBeGreaterThan(100_000);
  }, 120_000);

  it('prints a file problem, an unreadable file and the exit code as on the main thread', async () => {
    const args = ['check', '--format', 'ndjson', '--as-of', '2026-06-01', broken, path.join(packageRoot, 'examples', 'claims', 'core-problems.837'), 'no-such-file.837'];
    const threaded = await onThread(args);
    expect(threaded.code).toBe(2);
    expect(threaded.stderr).toMatch(/no such file/);
    expect(threaded.stderr).toMatch(/broken\.837: .*\(segment \d+/);
    expect(threaded).toEqual(await scrub(args));
  }, 120_000);

  it('says a usage error and exits 2, as on the main thread', async () => {
    const args = ['check', '--format', 'yaml', 'claims.837'];
    const threaded = await onThread(args);
    expect(threaded.code).toBe(2);
    expect(threaded).toEqual(await scrub(args));
  });
});
