import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * API keys. The configuration holds the SHA-256 of each key (64 hex digits), never the key:
 * keys are long random strings (`scrub keys new` makes them), so a fast hash is enough; a slow
 * password hash (scrypt) would only protect guessable secrets, and would cost every request.
 */

export const ROLES = ['scrub', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface ApiKey {
  /** Who the key belongs to: appears in logs and keys the rate limit. Never secret. */
  name: string;
  role: Role;
  /** SHA-256 of the key. */
  hash: Buffer;
}

/** A role may do what it names; `admin` may also scrub. */
export function roleAllows(role: Role, needed: Role): boolean {
  return role === needed || role === 'admin';
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** A new key: 32 random bytes, base64url (43 characters). */
export function newApiKey(): string {
  return `sk_${randomBytes(32).toString('base64url')}`;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/i;

/**
 * Parses "name:role:sha256hex" entries, separated by commas or line breaks; "#" starts a
 * comment. Returns the keys, or a message per bad entry (never echoing a hash back).
 */
export function parseApiKeys(text: string): { keys: ApiKey[]; problems: string[] } {
  const keys: ApiKey[] = [];
  const problems: string[] = [];
  const entries = text
    .split(/[\n,]/)
    .map((e) => e.replace(/#.*$/, '').trim())
    .filter((e) => e !== '');
  for (const entry of entries) {
    const parts = entry.split(':');
    const [name = '', role = '', hash = ''] = parts;
    if (parts.length !== 3) {
      problems.push(`an entry has ${parts.length} part${parts.length === 1 ? '' : 's'}; write name:role:sha256hex`);
      continue;
    }
    if (!NAME.test(name)) problems.push(`the key name "${name}" must be letters, digits, ".", "_" or "-" (at most 64)`);
    else if (!ROLES.includes(role as Role)) problems.push(`key "${name}" has the role "${role}"; the roles are ${ROLES.join(' and ')}`);
    else if (!SHA256_HEX.test(hash)) problems.push(`key "${name}" must give the SHA-256 of the key as 64 hex digits (see "scrub keys hash"), not the key itself`);
    else if (keys.some((k) => k.name === name)) problems.push(`the key name "${name}" is used twice`);
    else keys.push({ name, role: role as Role, hash: Buffer.from(hash, 'hex') });
  }
  return { keys, problems };
}

/**
 * Finds the key a caller presented. Every configured hash is compared, in constant time, whether
 * or not an earlier one matched: the time taken says nothing about which key, or how much of it,
 * was right.
 */
export function findApiKey(keys: readonly ApiKey[], presented: string): ApiKey | undefined {
  const digest = createHash('sha256').update(presented, 'utf8').digest();
  let found: ApiKey | undefined;
  for (const key of keys) {
    if (timingSafeEqual(digest, key.hash) && found === undefined) found = key;
  }
  return found;
}
