import { parseArgs } from 'node:util';
import { ROLES, hashApiKey, newApiKey, type Role } from '../../http/api-keys.js';
import { EXIT, UsageError, write, type CliIo } from '../io.js';

export const keysHelp = `Usage: scrub keys hash          < key       print the SHA-256 of a key read from standard input
       scrub keys new [--name NAME] [--role scrub|admin]
                                          make a new random key; print it (give it to the caller)
                                          and its SCRUB_API_KEYS entry (give that to the service)

The service's configuration holds only hashes: SCRUB_API_KEYS="name:role:sha256hex,...",
or the same entries, one per line, in the file SCRUB_API_KEYS_FILE.
Roles: scrub (the scrub endpoints, reading the packs) and admin (also reloading packs).`;

async function readStdin(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

export async function keys(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      name: { type: 'string', default: 'caller' },
      role: { type: 'string', default: 'scrub' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    await write(io.stdout, keysHelp + '\n');
    return EXIT.ok;
  }
  const [action] = positionals;
  if (action === 'hash') {
    // One key, with the line break an `echo` or a here-string adds taken off.
    const key = (await readStdin(io.stdin)).replace(/\r?\n$/, '');
    if (key === '') throw new UsageError('give the key on standard input, e.g.  printf %s "$KEY" | scrub keys hash');
    await write(io.stdout, hashApiKey(key) + '\n');
    return EXIT.ok;
  }
  if (action === 'new') {
    if (!ROLES.includes(values.role as Role)) throw new UsageError(`--role must be ${ROLES.join(' or ')}, not "${values.role}"`);
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(values.name)) throw new UsageError(`--name must be letters, digits, ".", "_" or "-", not "${values.name}"`);
    const key = newApiKey();
    await write(io.stdout, `key:   ${key}\nentry: ${values.name}:${values.role}:${hashApiKey(key)}\n`);
    return EXIT.ok;
  }
  throw new UsageError(action === undefined ? 'say "hash" or "new"' : `there is no "keys ${action}"; say "hash" or "new"`);
}
