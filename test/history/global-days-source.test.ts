import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Scrubber } from '../../src/engine/scrubber.js';
import type { Finding } from '../../src/findings/finding.js';
import { ClaimHistory } from '../../src/history/claim-history.js';
import { SqliteHistoryStore } from '../../src/history/sqlite.js';
import { loadPackSet } from '../../src/packs/loader.js';
import { bundledRulesDir } from '../../src/paths.js';

// The global days of a recorded procedure come from the fee schedule edition that covers its date
// of service (the bundled PPRRVU2025_Oct, RVU25D: 2025-10-01 to 2025-12-31), else from the history
// pack's parameter globalDays (27130, 27447, 29881, 47562, 49505, 66984 at 90 days; 10060, 11200,
// 17000 at 10). 27446 and 19303 have 090 global days in RVU25D and are not in the parameter.

const RVU25D = 'MPFS RVU25D (October 2025 release, effective 2025-10-01)';
const SECRET = 'global-days-test-secret-0123456789';
const fixture = JSON.parse(readFileSync(path.join(bundledRulesDir, 'history/tests/fixtures/medicare-visit.json'), 'utf8')) as Record<string, any>;

function claim(id: string, member: string, procedureCode: string, serviceDate: string): Record<string, unknown> {
  const c = structuredClone(fixture);
  c.claimId = id;
  c.patient.memberId = member;
  c.submissionDate = serviceDate;
  Object.assign(c.lines[0], { procedureCode, serviceDate });
  return c;
}

let tmp: string;
let history: ClaimHistory;
let scrubber: Scrubber;

beforeAll(async () => {
  scrubber = new Scrubber(await loadPackSet(bundledRulesDir));
  tmp = mkdtempSync(path.join(tmpdir(), 'scrub-global-days-'));
  history = new ClaimHistory(await SqliteHistoryStore.open(path.join(tmp, 'history.sqlite')), SECRET, 1185);
}, 60_000);

afterAll(async () => {
  await history?.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** Records the procedure, then scrubs a visit of the same patient and provider; the global surgery findings. */
async function visitAfter(member: string, procedure: { code: string; date: string }, visit: { code: string; date: string }): Promise<Finding[]> {
  await history.scrub(scrubber, claim(`${member}-P`, member, procedure.code, procedure.date), { record: true, asOf: procedure.date });
  const result = await history.scrub(scrubber, claim(`${member}-V`, member, visit.code, visit.date), { asOf: visit.date });
  expect(result.history).toEqual({ consulted: true, recorded: false });
  return result.findings.filter((f) => f.ruleId.startsWith('history-global-surgery'));
}

describe('global days of recorded procedures on SQLite history', () => {
  it('takes them from the fee schedule edition covering the procedure date, and names it', async () => {
    const findings = await visitAfter('GD-1', { code: '27446', date: '2025-12-01' }, { code: '99213', date: '2026-01-15' });
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ ruleId: 'history-global-surgery-visit', lines: [1], details: { procedure: '27446', globalDays: 90, endsOn: '2026-03-01', globalDaysFrom: RVU25D } });
  });

  it('uses the edition for a code the parameter also lists (27447, 090 in both)', async () => {
    const [finding] = await visitAfter('GD-2', { code: '27447', date: '2025-11-20' }, { code: '99214', date: '2026-02-01' });
    expect(finding?.details).toMatchObject({ procedure: '27447', globalDaysFrom: RVU25D });
  });

  it('falls back to the parameter on a date no edition covers, and says so', async () => {
    const [finding] = await visitAfter('GD-3', { code: '27447', date: '2026-01-10' }, { code: '99213', date: '2026-02-20' });
    expect(finding?.details).toMatchObject({ procedure: '27447', globalDays: 90, endsOn: '2026-04-10', globalDaysFrom: 'pack parameter globalDays' });
  });

  it('finds no global period for a code only the fee schedule knows when no edition covers its date', async () => {
    expect(await visitAfter('GD-4', { code: '27446', date: '2026-01-10' }, { code: '99213', date: '2026-02-20' })).toEqual([]);
  });

  it('flags a procedure inside a fee-schedule global period, and not one after it ends', async () => {
    const inside = await visitAfter('GD-5', { code: '19303', date: '2025-10-15' }, { code: '11102', date: '2026-01-13' });
    expect(inside).toHaveLength(1);
    expect(inside[0]).toMatchObject({ ruleId: 'history-global-surgery-procedure', details: { procedure: '19303', endsOn: '2026-01-13', globalDaysFrom: RVU25D } });
    expect(await visitAfter('GD-6', { code: '19303', date: '2025-10-15' }, { code: '11102', date: '2026-01-14' })).toEqual([]);
  });
});
