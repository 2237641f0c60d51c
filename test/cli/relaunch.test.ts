import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { relaunchesWithArenas } from '../../src/cli/heap.js';
import { packageRoot } from '../../src/paths.js';
import { tableSnapshotEnv } from '../support/table-snapshots.js';

/**
 * `scrub check` starts itself again with MALLOC_ARENA_MAX (src/cli/heap.ts): the real CLI, run
 * as a process, must read the same standard input, write the same output and exit the same way
 * as it does in one process, and a signal to it must stop the child too.
 */

/** The environment of the test, without anything that sets malloc arenas. */
function envWithout(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(MALLOC_ARENA_MAX|GLIBC_TUNABLES|NODE_OPTIONS|VITEST)/.test(k)) env[k] = v;
  return { ...env, ...tableSnapshotEnv(), ...extra };
}

function startScrub(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: packageRoot, env, stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (c: Buffer) => out.push(c));
  child.stderr!.on('data', (c: Buffer) => err.push(c));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    // 'close': the process has exited and its output is all read.
    child.once('close', (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() })),
  );
  return { child, done };
}

/** The process that the launcher started, once it has: its pid. */
async function childOf(pid: number): Promise<number> {
  for (let i = 0; i < 600; i++) {
    const children = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
    const first = children.trim().split(/\s+/).filter(Boolean)[0];
    if (first) return Number(first);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the launcher started no child');
}

const alive = (pid: number) => readFile(`/proc/${pid}/status`, 'utf8').then((s) => !/^State:\s+Z/m.test(s), () => false);

const claim = await readFile(`${packageRoot}/examples/claims/core-problems.837`, 'utf8');
const relaunches = relaunchesWithArenas(['check'], {});

describe('when scrub check starts itself again', () => {
  it('does so only for check, only on glibc, and only when the environment does not set the arenas', () => {
    expect(relaunchesWithArenas(['lint', 'rules'], {})).toBe(false);
    expect(relaunchesWithArenas(['serve'], {})).toBe(false);
    expect(relaunchesWithArenas([], {})).toBe(false);
    expect(relaunchesWithArenas(['check', 'a.837'], { MALLOC_ARENA_MAX: '2' })).toBe(false);
    expect(relaunchesWithArenas(['check', 'a.837'], { MALLOC_ARENA_MAX: '8' })).toBe(false);
    expect(relaunchesWithArenas(['check', 'a.837'], { GLIBC_TUNABLES: 'glibc.malloc.arena_max=4' })).toBe(false);
    const glibc = (process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header.glibcVersionRuntime !== undefined;
    // The launcher's glibc test (libc.so.6 mapped) agrees with node's own report.
    expect(relaunchesWithArenas(['check', 'a.837'], {})).toBe(process.platform === 'linux' && glibc);
  });

  it.runIf(relaunches)('reads standard input, writes the same output and exits with the same code as in one process', async () => {
    const args = ['check', '--format', 'ndjson', '--as-of', '2026-12-01', '-'];
    const launched = startScrub(args, envWithout());
    // The launcher's child has the arenas set and is the one that reads standard input.
    const child = await childOf(launched.child.pid!);
    const environ = (await readFile(`/proc/${child}/environ`, 'utf8')).split('\0');
    expect(environ).toContain('MALLOC_ARENA_MAX=2');
    launched.child.stdin!.end(claim);
    const single = startScrub(args, envWithout({ MALLOC_ARENA_MAX: '2' }));
    single.child.stdin!.end(claim);
    const [a, b] = await Promise.all([launched.done, single.done]);
    expect(a.code).toBe(1);
    expect(a.stdout).toBe(b.stdout);
    expect(a.stderr).toBe(b.stderr);
    expect(a.stdout).toContain('"outcome":"fail"');
  }, 120_000);

  it.runIf(relaunches)('exits 2 on bad usage, with the message on stderr', async () => {
    const run = startScrub(['check', '--no-such-option'], envWithout());
    run.child.stdin!.end();
    const { code, stderr } = await run.done;
    expect(code).toBe(2);
    expect(stderr).toContain("Unknown option '--no-such-option'");
  }, 120_000);

  it.runIf(relaunches)('stops the child with the signal sent to it, and dies of that signal as a shell expects', async () => {
    // Standard input left open: the check waits for its claims until the signal comes.
    const run = startScrub(['check', '-'], envWithout());
    const child = await childOf(run.child.pid!);
    run.child.kill('SIGTERM');
    const { signal } = await run.done;
    expect(signal).toBe('SIGTERM');
    for (let i = 0; i < 100 && (await alive(child)); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await alive(child)).toBe(false);
  }, 120_000);

  it.runIf(relaunches)('stops the child when the launcher is killed outright (SIGKILL, which it cannot pass on)', async () => {
    const run = startScrub(['check', '-'], envWithout());
    const child = await childOf(run.child.pid!);
    // Once the child runs the command, not while it is still being started.
    await new Promise((r) => setTimeout(r, 1_000));
    run.child.kill('SIGKILL');
    expect((await run.done).signal).toBe('SIGKILL');
    for (let i = 0; i < 200 && (await alive(child)); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await alive(child)).toBe(false);
  }, 120_000);
});
