import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Scrubber } from '../../src/engine/scrubber.js';
import { lintPackSet } from '../../src/packs/lint.js';
import { readPackSet } from '../../src/packs/loader.js';

const made: string[] = [];
afterEach(async () => {
  for (const d of made.splice(0)) await rm(d, { recursive: true, force: true });
});

/** A rules folder of the given packs: { packName: pack.yaml text }. */
async function rules(packs: Record<string, string>): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'scrub-features-'));
  made.push(root);
  for (const [name, text] of Object.entries(packs)) {
    await mkdir(path.join(root, name));
    await writeFile(path.join(root, name, 'pack.yaml'), text);
  }
  return root;
}

const claimOn = (date: string, codes: string[] = ['99213'], payer = 'P1') => ({
  claimId: 'D-1',
  claimType: 'professional',
  payer: { id: payer, type: 'commercial' },
  billingProvider: { npi: '1234567893' },
  patient: { birthDate: '1950-04-01', sex: 'F' },
  diagnoses: [{ code: 'I10' }],
  lines: codes.map((procedureCode) => ({ procedureCode, units: 1, charge: 1, serviceDate: date, diagnosisPointers: [1] })),
});

const DATED_PACK = `name: dated
version: "1.0.0"
title: Dated
description: A limit that changed on 2025-01-01.
owner: tests
parameters:
  limit:
    description: the most units
    value:
      - { to: "2024-12-31", value: 1, source: old policy }
      - { from: "2025-01-01", value: 2 }
rules:
  - id: units-above-limit
    title: Units above the limit in force
    category: payer-policy
    severity: error
    scope: line
    conditions:
      all:
        - fact: line
          path: units
          operator: greaterThan
          value: { fact: datedParams, path: limit }
    message: "Line {{line.number}} bills {{line.units | units}}; the limit on {{line.serviceDate}} is {{datedParams.limit | units}}."
`;

describe('a parameter written by date', () => {
  it('reads as the value in force on each date of service', async () => {
    const { packSet, diagnostics } = await readPackSet(await rules({ dated: DATED_PACK }));
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const scrubber = new Scrubber(packSet!);
    const twoUnits = (date: string) => {
      const c = claimOn(date);
      c.lines[0]!.units = 2;
      return c;
    };
    const before = await scrubber.scrub(twoUnits('2024-12-31'), { asOf: '2026-01-01' });
    expect(before.findings.map((f) => [f.ruleId, f.message])).toEqual([['units-above-limit', 'Line 1 bills 2 units; the limit on 2024-12-31 is 1 unit.']]);
    expect((await scrubber.scrub(twoUnits('2025-01-01'), { asOf: '2026-01-01' })).findings).toEqual([]);
  });

  it('is refused when two entries cover the same dates, or an entry ends before it starts', async () => {
    const overlapping = DATED_PACK.replace('{ from: "2025-01-01", value: 2 }', '{ from: "2024-06-01", value: 2 }');
    expect((await readPackSet(await rules({ dated: overlapping }))).diagnostics).toEqual([
      expect.objectContaining({ code: 'parameter-dates', message: expect.stringContaining('entries 1 and 2 cover some of the same dates') }),
    ]);
    const backwards = DATED_PACK.replace('{ from: "2025-01-01", value: 2 }', '{ from: "2025-01-01", to: "2024-01-01", value: 2 }');
    expect((await readPackSet(await rules({ dated: backwards }))).diagnostics).toEqual([
      expect.objectContaining({ code: 'parameter-dates', message: expect.stringContaining('"to" (2024-01-01) is before "from" (2025-01-01)') }),
    ]);
  });

  it('may be set by a payer pack to one value for every date, of the same kind', async () => {
    const payer = (value: string) => `name: payer-one
version: "1.0.0"
title: Payer one
description: Allows 5 units.
owner: tests
extends: [dated]
appliesTo:
  payerIds: [P1]
parameters:
  limit:
    value: ${value}
`;
    const ok = await readPackSet(await rules({ dated: DATED_PACK, 'payer-one': payer('5') }));
    expect(ok.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const claim = claimOn('2024-06-01');
    claim.lines[0]!.units = 3;
    expect((await new Scrubber(ok.packSet!).scrub(claim, { asOf: '2026-01-01' })).findings).toEqual([]);
    const wrong = await readPackSet(await rules({ dated: DATED_PACK, 'payer-one': payer('"five"') }));
    expect(wrong.diagnostics).toEqual([expect.objectContaining({ code: 'parameter-type', message: expect.stringContaining('"limit" of pack "dated" is number') })]);
  });
});

const SUPPRESSION_PACK = `name: pairs
version: "1.0.0"
title: Pairs
description: A general rule that a more precise one makes redundant.
owner: tests
rules:
  - id: general
    title: A line beside another on its date
    category: modifier
    severity: warning
    scope: line
    suppressedBy: [precise]
    conditions:
      all:
        - fact: line
          path: procedureCode
          operator: equal
          value: "99213"
        - fact: line
          path: sameDayCodes.length
          operator: greaterThan
          value: 0
    message: "Line {{line.number}} has company."
  - id: precise
    title: The two codes together
    category: ncci-ptp
    severity: error
    scope: line-pair
    conditions:
      all:
        - fact: first
          path: procedureCode
          operator: equal
          value: "99213"
        - fact: second
          path: procedureCode
          operator: equal
          value: "11102"
    message: "Lines {{first.number}} and {{second.number}} go together."
`;

describe('a rule suppressed by another', () => {
  it('is left out when a finding of the other names every line it names, and kept otherwise', async () => {
    const { packSet } = await readPackSet(await rules({ pairs: SUPPRESSION_PACK }));
    for (const engine of ['compiled', 'reference'] as const) {
      const scrubber = new Scrubber(packSet!, { engine });
      const both = await scrubber.scrub(claimOn('2026-01-05', ['99213', '11102']), { asOf: '2026-02-01' });
      expect(both.findings.map((f) => f.ruleId)).toEqual(['precise']);
      const other = await scrubber.scrub(claimOn('2026-01-05', ['99213', '93000']), { asOf: '2026-02-01' });
      expect(other.findings.map((f) => f.ruleId)).toEqual(['general']);
    }
  });

  it('gets a lint warning when the suppressing rule is not loaded', async () => {
    const { packSet } = await readPackSet(await rules({ pairs: SUPPRESSION_PACK.replace('suppressedBy: [precise]', 'suppressedBy: [precis]') }));
    expect(lintPackSet(packSet!, []).filter((d) => d.code === 'suppressed-by-unknown-rule')).toEqual([
      expect.objectContaining({ severity: 'warning', message: expect.stringContaining('"precis"') }),
    ]);
  });
});
