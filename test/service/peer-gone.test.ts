import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const fixture = fileURLToPath(new URL('./fixtures/peer-gone.ts', import.meta.url));

/** Runs the fixture; resolves with what its processes printed once every one of them is gone. */
function run(scenario: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, scenario], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c));
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    // A worker outliving its primary holds the pipes: they close when it exits too.
    let open = 2;
    const closed = () => --open === 0 && resolve({ stdout, stderr });
    child.stdout.on('close', closed);
    child.stderr.on('close', closed);
  });
}

describe('a cluster process whose peer is killed while it is busy', () => {
  it.each(['ours', 'cluster'])('a worker stops as on disconnect when its next write to the dead primary fails (%s message)', async (how) => {
    const { stdout, stderr } = await run(`primary-dies:${how}`);
    expect(stderr).not.toMatch(/EPIPE|Unhandled/);
    expect(stdout).toMatch(/^worker: stopped, primary gone$/m);
  }, 30_000);

  it('the primary keeps running when its write to a dead worker fails', async () => {
    const { stdout, stderr } = await run('worker-dies');
    expect(stderr).not.toMatch(/EPIPE|Unhandled/);
    expect(stdout).toMatch(/^primary: a message to a worker was lost$/m);
    expect(stdout).toMatch(/^primary: worker exited; primary still running$/m);
  }, 30_000);
});
