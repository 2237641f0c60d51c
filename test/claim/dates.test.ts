import { describe, expect, it } from 'vitest';
import { addDays, sameDayYearsLater, todayIso } from '../../src/claim/dates.js';

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

describe('date arithmetic for filing limits', () => {
  it('adds days across months and years', () => {
    expect(addDays('2025-12-02', 90)).toBe('2026-03-02');
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
    expect(addDays('2025-03-01', 365)).toBe('2026-03-01');
  });
  it('finds the same month and day years later, February 29 becoming February 28 in a common year', () => {
    expect(sameDayYearsLater('2025-03-01', 1)).toBe('2026-03-01');
    expect(sameDayYearsLater('2024-02-29', 1)).toBe('2025-02-28');
    expect(sameDayYearsLater('2024-02-29', 4)).toBe('2028-02-29');
    expect(sameDayYearsLater('2023-12-31', 2)).toBe('2025-12-31');
  });
});
