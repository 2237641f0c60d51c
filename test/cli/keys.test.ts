import { describe, expect, it } from 'vitest';
import { findApiKey, hashApiKey, parseApiKeys } from '../../src/http/api-keys.js';
import { scrub } from './run-cli.js';

describe('scrub keys', () => {
  it('hash prints the SHA-256 of the key on standard input, without its line break', async () => {
    const run = await scrub(['keys', 'hash'], { stdin: 'sk_live_example\n' });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`${hashApiKey('sk_live_example')}\n`);
    // Plain SHA-256, hex: the same as `printf %s abc | sha256sum`.
    expect((await scrub(['keys', 'hash'], { stdin: 'abc' })).stdout).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n');
  });

  it('new makes a random key and the configuration entry that admits it', async () => {
    const run = await scrub(['keys', 'new', '--name', 'billing', '--role', 'admin']);
    expect(run.code).toBe(0);
    const key = /^key: {3}(\S+)$/m.exec(run.stdout)![1]!;
    const entry = /^entry: (\S+)$/m.exec(run.stdout)![1]!;
    expect(key.length).toBeGreaterThanOrEqual(40);
    const { keys, problems } = parseApiKeys(entry);
    expect(problems).toEqual([]);
    expect(findApiKey(keys, key)).toMatchObject({ name: 'billing', role: 'admin' });
    expect((await scrub(['keys', 'new'])).stdout).not.toContain(key);
  });

  it('refuses an empty key, an unknown role and an unknown action with exit 2', async () => {
    expect((await scrub(['keys', 'hash'], { stdin: '' })).code).toBe(2);
    expect((await scrub(['keys', 'new', '--role', 'root'])).stderr).toContain('--role must be scrub or admin');
    expect((await scrub(['keys', 'rotate'])).code).toBe(2);
  });
});
