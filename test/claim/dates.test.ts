import { describe, expect, it } from 'vitest';
import { todayIso } from '../../src/claim/dates.js';

describe('today', () => {
  it('is the UTC date of the moment asked, up to the last millisecond of the day', () => {
    expect(todayIso(Date.UTC(2026, 10, 27, 0, 0, 0))).toBe('2026-11-27');
    expect(todayIso(Date.UTC(2026, 10, 27, 23, 59, 59, 999))).toBe('2026-11-27');
    expect(todayIso(Date.UTC(2026, 10, 28, 0, 0, 0))).toBe('2026-11-28');
    expect(todayIso(Date.UTC(2026, 10, 27, 12))).toBe('2026-11-27');
  });

  it('is the date now when no moment is given', () => {
    const before = new Date().toISOString().slice(0, 10);
    const got = todayIso();
    const after = new Date().toISOString().slice(0, 10);
    expect([before, after]).toContain(got);
  });
});
