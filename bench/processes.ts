import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { packageRoot } from '../src/paths.js';

/** The built CLI (npm run build): what users run. */
export const CLI = path.join(packageRoot, 'dist', 'cli', 'main.js');

export interface Started {
  child: ChildProcess;
  url: string;
  /** Milliseconds from spawn to the "listening" line. */
  startupMs: number;
}

/**
 * Spawns a server and waits for the line that says where it listens (`scrub serve` prints
 * "listening on http://..."). Its output is drained so that a chatty logger never blocks it.
 */
export function startServer(args: string[], env: Record<string, string>, timeoutMs = 120_000): Promise<Started> {
  const started = performance.now();
  const child = spawn(process.execPath, args, { cwd: packageRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let seen = '';
    let errors = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no "listening" line within ${timeoutMs} ms: ${seen.slice(-500)} ${errors.slice(-500)}`));
    }, timeoutMs);
    child.stdout!.on('data', (chunk: Buffer) => {
      if (seen.length < 10_000) seen += chunk.toString();
      const m = /listening on (http:\/\/[^\s]+)/i.exec(seen);
      if (m && timer) {
        clearTimeout(timer);
        resolve({ child, url: m[1]!, startupMs: performance.now() - started });
        seen = 'x'.repeat(10_000); // stop collecting
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      if (errors.length < 10_000) errors += chunk.toString();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited with ${code} before listening: ${errors.slice(-2000)}`));
    });
  });
}

export async function stopServer(s: Started): Promise<void> {
  if (s.child.exitCode !== null) return;
  const exited = new Promise((resolve) => s.child.once('exit', resolve));
  s.child.kill('SIGTERM');
  const timer = setTimeout(() => s.child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** VmRSS and VmHWM (peak) of a process, in MiB, from /proc; undefined where there is no /proc. */
export async function memoryOf(pid: number): Promise<{ rssMiB: number; peakMiB: number } | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds (user + system) a process and its children (cluster workers) have used, from
 * /proc/PID/stat; undefined where there is no /proc.
 */
export async function cpuSecondsOf(pid: number): Promise<number | undefined> {
  const ticksPerSecond = 100; // USER_HZ: 100 on every Linux the benchmark runs on
  const own = async (p: number) => {
    const stat = await readFile(`/proc/${p}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  };
  try {
    let total = await own(pid);
    const children = (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8')).trim().split(/\s+/).filter(Boolean);
    for (const c of children) total += await own(Number(c)).catch(() => 0);
    return total;
  } catch {
    return undefined;
  }
}

export interface Rate {
  /** Claims per second of elapsed time. */
  wall: number;
  /** Claims per CPU second (user + system, every thread of the process): what the code costs, whatever the neighbours take. */
  cpu: number;
}

/** One timed pass as a pass script prints it (one JSON line per pass). */
export interface PassRecord {
  claims: number;
  seconds: number;
  cpuSeconds: number;
}

/**
 * Timed passes in a fresh process: `node [flags] script ...args` prints one PassRecord per line
 * (after a pass of its own to warm the code and the page cache). A process per side of a
 * comparison, so that neither pays for the garbage, the heap size or the compiled code the
 * other left behind.
 */
export async function passesInOwnProcess(script: string, args: readonly string[], flags: readonly string[], expected: number): Promise<Rate[]> {
  const child = spawn(process.execPath, [...flags, script, ...args], { cwd: packageRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (piece: string) => (out += piece));
  const [exitCode] = (await once(child, 'exit')) as [number | null];
  if (exitCode !== 0) throw new Error(`${path.basename(script)} ${args[0] ?? ''} exited with ${exitCode}`);
  return out
    .trim()
    .split('\n')
    .map((line) => {
      const pass = JSON.parse(line) as PassRecord;
      if (pass.claims !== expected) throw new Error(`a pass read ${pass.claims} claims, not ${expected}`);
      return { wall: pass.claims / pass.seconds, cpu: pass.claims / pass.cpuSeconds };
    });
}

/** Times `pass` a number of times after one untimed pass, printing a PassRecord per timed pass: the body of a pass script. */
export async function printPasses(pass: () => Promise<number>, passes: number): Promise<void> {
  await pass();
  for (let i = 0; i < passes; i++) {
    const started = performance.now();
    const cpu = process.cpuUsage();
    const claims = await pass();
    const used = process.cpuUsage(cpu);
    const record: PassRecord = { claims, seconds: (performance.now() - started) / 1000, cpuSeconds: (used.user + used.system) / 1e6 };
    process.stdout.write(`${JSON.stringify(record)}\n`);
  }
}
