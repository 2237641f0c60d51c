import { describe, expect, it } from 'vitest';
import { Scrubber } from '../../src/engine/scrubber.js';
import path from 'node:path';
import { loadPackSet, readPackSet } from '../../src/packs/loader.js';
import { bundledRulesDir } from '../../src/paths.js';
import { bundledScrubber, fixtureClaim } from '../helpers.js';
import { editFile, rulesCopy } from '../support/rules-copy.js';

/**
 * What the bundled packs say, where the words are the point: a message that misstates the
 * policy, or a suggestion that would itself cause a denial, is a defect even when the rule
 * fires on the right lines (the pack tests check those).
 */

type Json = Record<string, any>;
const AS_OF = { asOf: '2026-12-01' };

function claim(base: string, change: (c: Json) => void): Json {
  const c = fixtureClaim(base) as Json;
  change(c);
  c.totalCharge = (c.lines as Json[]).reduce((sum, l) => sum + (l.charge as number), 0);
  return c;
}

/**
 * The bundled packs with their own PTP, MUE and MCE excerpts read as covering every date: the
 * excerpts' editions cover one quarter (PTP, MUE) or FY2020 (MCE), and the words are the point
 * here, not the dates.
 */
let everyDate: Promise<Scrubber> | undefined;
function scrubberForEveryDate(): Promise<Scrubber> {
  const table = (variable: string, file: string, edition: string) => ({
    [variable]: path.join(bundledRulesDir, file),
    [`${variable}_EDITION`]: edition,
    [`${variable}_COVERS`]: '2000-01-01..2099-12-31',
  });
  everyDate ??= loadPackSet(bundledRulesDir, undefined, {
    env: {
      ...table('SCRUB_TABLE_NCCI_PTP', 'cms-ncci-ptp/tables/ccipra-v322r0-f1.excerpt.txt', 'bundled PTP excerpt, every date'),
      ...table('SCRUB_TABLE_MUE', 'cms-mue/tables/MCR_MUE_PractitionerServices_Eff_07-01-2026.excerpt.csv', 'bundled MUE excerpt, every date'),
      ...table('SCRUB_TABLE_MCE', 'cms-mce/tables/MCE_Simple_Code_Edits_v37.txt', 'MCE v37, every date'),
    },
  }).then((packs) => new Scrubber(packs));
  return everyDate;
}

async function finding(c: Json, ruleId: string) {
  const result = await (await scrubberForEveryDate()).scrub(c, AS_OF);
  const f = result.findings.find((x) => x.ruleId === ruleId);
  expect(f, `${ruleId} among ${result.findings.map((x) => x.ruleId).join(', ')}`).toBeDefined();
  return f!;
}

const labLine = (code: string, units: number, modifiers: string[] = []) => ({ procedureCode: code, modifiers, units, charge: 100, serviceDate: '2026-02-20', diagnosisPointers: [1] });

describe('the bundled packs say', () => {
  it('that an MUE date-of-service edit denies every unit of the code on that date, in counted units', async () => {
    const policy = await finding(
      claim('office-visit', (c) => {
        c.payer = { id: 'MEDICARE', type: 'medicare' };
        c.lines = [labLine('0001U', 1), labLine('0001U', 1, ['91'])];
      }),
      'mue-date-of-service-policy',
    );
    expect(policy.message).toBe(
      '0001U is billed for 2 units on 2026-02-20 (line numbers: 1, 2); its MUE is 1 unit per day (MAI 2, policy), so all units of 0001U on that date are denied, not only those above the MUE, and the denial cannot be appealed.',
    );
    const clinical = await finding(
      claim('office-visit', (c) => {
        c.lines = [labLine('0002M', 2)];
      }),
      'mue-date-of-service-clinical',
    );
    expect(clinical.message).toContain('all units of 0002M on that date are denied');
    expect(clinical.message).toContain('can be appealed');
  });

  it('25 (or 57), never 59 or X{EPSU}, for an NCCI edit whose column 2 is an E/M service', async () => {
    const f = await finding(
      claim('office-visit', (c) => {
        c.lines = [
          { ...labLine('0001A', 1), serviceDate: '2023-05-01' },
          { ...labLine('99213', 1), serviceDate: '2023-05-01' },
        ];
        c.submissionDate = '2023-05-10';
      }),
      'ncci-ptp-evaluation-and-management',
    );
    expect(f.suggestion).toContain('append 25 to line 2');
    expect(f.suggestion).toContain('57 instead');
    expect(f.suggestion).not.toMatch(/append (59|X[EPSU])/);
  });

  it('two lines of one unit, never modifier 50, for a DMEPOS item billed for both sides', async () => {
    const f = await finding(
      claim('visit-and-procedure', (c) => {
        c.lines[1] = { ...c.lines[1], procedureCode: 'L1902', modifiers: ['LT', 'RT'], units: 2 };
      }),
      'dmepos-lt-rt-same-line',
    );
    expect(f.suggestion).toContain('one with RT and 1 unit, one with LT and 1 unit');
    expect(f.suggestion).not.toMatch(/line with modifier 50|use (modifier )?50/i);
  });

  it('the calendar-year deadline that Medicare applies', async () => {
    const f = await finding(
      claim('office-visit', (c) => {
        c.payer = { id: 'MEDICARE', type: 'medicare' };
        c.lines[0].serviceDate = '2025-03-01';
      }),
      'timely-filing-exceeded',
    );
    expect(f.message).toBe(
      'Line 1 (99213) was provided on 2025-03-01; this payer accepts claims up to one calendar year after the date of service, so by 2026-03-01, but the claim is filed on 2026-03-02.',
    );
  });

  it('where a description of an unlisted code goes on the 837P', async () => {
    const f = await finding(
      claim('visit-and-procedure', (c) => {
        c.lines[1].procedureCode = '43659';
      }),
      'unlisted-code-needs-description',
    );
    expect(f.suggestion).toContain('SV101-7');
    expect(f.suggestion).toContain('NTE');
  });

  it('how to bypass the sex edit instead of changing a correct sex or diagnosis', async () => {
    const f = await finding(
      claim('office-visit', (c) => {
        c.lines[0].serviceDate = '2024-09-12';
        c.submissionDate = '2024-09-20';
        c.patient.sex = 'M';
        c.diagnoses[0].code = 'N80.0';
      }),
      'mce-female-only-diagnosis',
    );
    expect(f.suggestion).toContain('modifier KX');
    expect(f.suggestion).toContain('condition code 45');
  });
});

describe('the lab pack', () => {
  it('asks no QW of a laboratory whose CLIA number the practice lists as non-waived', async () => {
    const root = await rulesCopy();
    await editFile(root, 'lab/pack.yaml', (t) => t.replace('  nonWaivedCliaNumbers:\n    value: []', '  nonWaivedCliaNumbers:\n    value: ["05D0987654"]'));
    const scrubber = new Scrubber((await readPackSet(root)).packSet!);
    const strep = (clia: string) =>
      claim('office-visit', (c) => {
        c.payer = { id: 'MEDICARE', type: 'medicare' };
        c.cliaNumber = clia;
        c.lines = [labLine('87880', 1)];
      });
    const ids = async (c: Json) => (await scrubber.scrub(c, AS_OF)).findings.map((f) => f.ruleId);
    expect(await ids(strep('05D0987654'))).not.toContain('waived-test-without-qw');
    expect(await ids(strep('33D2123456'))).toContain('waived-test-without-qw');
  });
});
