import { describe, expect, it } from 'vitest';
import { patientKeyOf } from '../../src/history/record.js';

/**
 * The patient key is what every recorded line is stored under: if its derivation changed, every
 * store would silently lose its history. These are HMAC-SHA256 values (RFC 2104) of
 * "MEMBER ID (trimmed, upper case)" NUL "birth date" under the secret, computed once and pinned.
 */
describe('the patient key', () => {
  it('is HMAC-SHA256 of the member id and birth date under the secret, as stores hold it', () => {
    expect(patientKeyOf('bench-history-secret-0123456789', '1EG4TE5MK73', '1950-04-01')).toBe('5ee4dc909cab21a427e78c73e81576972f58aa1e66bd475a6a8ee4d9c13c08cf');
    // A secret longer than SHA-256's 64-byte block, and a member id with spaces, lower case and non-ASCII letters.
    expect(patientKeyOf(`a much longer secret than one block of sixty-four bytes, ${'x'.repeat(100)}`, '  Müller-ß ', '1960-02-29')).toBe(
      '6697b1a5bab0848f37060883a68cb8f7e8771c1e9b02864facecde0dae60b8d6',
    );
  });

  it('differs by secret, member id and birth date, and ignores case and surrounding spaces of the member id', () => {
    const secret = 'store-test-secret-0123456789';
    const key = patientKeyOf(secret, 'ABC123', '1950-04-01');
    expect(patientKeyOf('another-secret-0123456789', 'ABC123', '1950-04-01')).not.toBe(key);
    expect(patientKeyOf(secret, 'ABC124', '1950-04-01')).not.toBe(key);
    expect(patientKeyOf(secret, 'ABC123', '1950-04-02')).not.toBe(key);
    expect(patientKeyOf(secret, ' abc123 ', '1950-04-01')).toBe(key);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
  });
});
