import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Scrubber } from '../../src/engine/scrubber.js';
import { loadPackSet } from '../../src/packs/loader.js';
import { bundledRulesDir, packageRoot } from '../../src/paths.js';
import { bundledPacks, bundledScrubber, fixtureClaim } from '../helpers.js';

type Json = Record<string, unknown>;
const AS_OF = '2026-03-02';

const outpatient = (): Json => fixtureClaim('outpatient-visit');
const withPayer = (claim: Json, payer: Json, memberId?: string): Json => ({
  ...claim,
  payer,
  patient: { ...(claim.patient as Json), ...(memberId ? { memberId } : {}) },
});
const MEDICARE = { id: 'MEDICARE', type: 'medicare' };

async function packsFor(claim: Json): Promise<string[]> {
  const result = await (await bundledScrubber()).scrub(claim, { asOf: AS_OF });
  return result.packs.map((p) => p.name);
}

describe('which bundled packs check which claims', () => {
  it('every shared fixture claim passes every pack that applies to it', async () => {
    const scrubber = await bundledScrubber();
    const names = (await readdir(path.join(bundledRulesDir, 'fixtures'))).filter((f) => f.endsWith('.json'));
    expect(names).toContain('outpatient-visit.json');
    for (const name of names) {
      const result = await scrubber.scrub(fixtureClaim(name.replace(/\.json$/, '')), { asOf: AS_OF });
      // Clean: nothing but the info that names the bundled tables with no edition for the claim's dates.
      expect(result.findings.filter((f) => f.ruleId !== 'table-edition-missing'), name).toEqual([]);
      expect(result.findings.every((f) => f.severity === 'info'), name).toBe(true);
    }
  });

  it('runs the professional packs, and not the facility ones, on a professional claim', async () => {
    expect(await packsFor(withPayer(fixtureClaim('office-visit'), MEDICARE, '1EG4TE5MK73'))).toEqual([
      'cms-add-on-codes', 'cms-mce', 'cms-mpfs', 'cms-mue', 'cms-ncci-ptp', 'code-sets', 'completeness', 'core', 'documentation', 'drug', 'history', 'lab', 'medicare-part-b', 'modifiers', 'payer-policy', 'telehealth',
    ]);
  });

  it('runs the institutional and hospital outpatient packs on a hospital outpatient claim (0131)', async () => {
    expect(await packsFor(withPayer(outpatient(), MEDICARE, '1EG4TE5MK73'))).toEqual([
      'cms-mce', 'cms-mue-hospital', 'cms-ncci-ptp-hospital', 'code-sets', 'completeness', 'core', 'institutional', 'medicare-part-b', 'modifiers', 'payer-policy',
    ]);
  });

  it('runs the hospital outpatient tables on a critical access hospital claim (0851) but not on an inpatient one (0111)', async () => {
    expect(await packsFor({ ...outpatient(), typeOfBill: '0851' })).toEqual(expect.arrayContaining(['cms-mue-hospital', 'cms-ncci-ptp-hospital']));
    const inpatient = await packsFor({ ...outpatient(), typeOfBill: '0111' });
    expect(inpatient).toContain('institutional');
    expect(inpatient).not.toContain('cms-ncci-ptp-hospital');
    expect(inpatient).not.toContain('cms-mue-hospital');
  });

  it('are all listed in docs/packs.md with the claim types their appliesTo gives', async () => {
    const doc = await readFile(path.join(packageRoot, 'docs/packs.md'), 'utf8');
    for (const pack of (await bundledPacks()).packs) {
      const row = doc.split('\n').find((l) => l.startsWith(`| [\`${pack.name}\`]`));
      expect(row, pack.name).toBeDefined();
      const [, , professional, institutional] = row!.split('|').map((c) => c.trim());
      const types = pack.appliesTo?.claimTypes ?? ['professional', 'institutional'];
      expect(professional === 'no', `${pack.name} professional`).toBe(!types.includes('professional'));
      expect(institutional === 'no', `${pack.name} institutional`).toBe(!types.includes('institutional'));
      if (pack.appliesTo?.billTypes) expect(institutional, pack.name).toContain(pack.appliesTo.billTypes.join(', '));
    }
  });
});

describe('institutional claims get the checks that apply to both claim types', () => {
  it('quote an institutional line by its HCPCS and revenue code', async () => {
    const claim = outpatient();
    const lines = claim.lines as Json[];
    lines[1] = { ...lines[1], units: 0, serviceDate: '2026-03-05' };
    const result = await (await bundledScrubber()).scrub({ ...claim, billingProvider: { npi: '1234567890' }, totalCharge: 999 }, { asOf: AS_OF });
    const byRule = Object.fromEntries(result.findings.filter((f) => f.ruleId !== 'table-edition-missing').map((f) => [f.ruleId, f]));
    expect(Object.keys(byRule).sort()).toEqual(['billing-npi-invalid', 'service-date-after-submission', 'service-date-in-future', 'total-charge-mismatch', 'units-not-positive']);
    expect(byRule['units-not-positive']!.message).toBe('Line 2 (revenue code 0250) bills 0 units; units must be greater than 0.');
    expect(byRule['total-charge-mismatch']!.message).toBe('Total charge 999.00 does not equal the sum of the line charges, 460.00.');
  });

  it('read the hospital outpatient tables a deployment supplies, in the CMS layouts', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'hospital-tables-'));
    // Synthetic rows in the official layouts (not CMS values): 96375 as column 2 of 96374 with
    // modifier indicator 1; 99283 at most 1 a day (MAI 2).
    const ptp = path.join(dir, 'ccioph-test-f1.txt');
    // The six-line preamble as CMS ships it, from the bundled table, then one synthetic row.
    const shipped = await readFile(path.join(bundledRulesDir, 'cms-ncci-ptp-hospital/tables/ccipra-v322r0-f1.excerpt.stand-in.txt'), 'latin1');
    const preamble = shipped.split('\r\n').slice(0, 6);
    await writeFile(ptp, [...preamble, '96374\t96375\t\t20200101\t*\t1\tTest row (not a CMS edit)', ''].join('\r\n'));
    const mue = path.join(dir, 'MCR_MUE_OutpatientHospitalServices_test.csv');
    await writeFile(
      mue,
      '"AMA notice",,,\r\n"HCPCS/\r\nCPT Code",Outpatient Hospital Services MUE Values,MUE Adjudication Indicator,MUE Rationale\r\n99283,1,2 Date of Service Edit: Policy,Test row (not a CMS value)\r\n',
    );
    const packs = await loadPackSet(bundledRulesDir, undefined, {
      env: {
        SCRUB_TABLE_NCCI_PTP_HOSPITAL: ptp,
        SCRUB_TABLE_NCCI_PTP_HOSPITAL_EDITION: 'test hospital PTP',
        SCRUB_TABLE_MUE_HOSPITAL: mue,
        SCRUB_TABLE_MUE_HOSPITAL_EDITION: 'test hospital MUE',
      },
    });
    const claim = outpatient();
    const lines = claim.lines as Json[];
    lines[0] = { ...lines[0], modifiers: ['25'], units: 2 };
    lines[1] = { revenueCode: '0260', procedureCode: '96374', units: 1, charge: 30, serviceDate: '2026-02-20' };
    lines[2] = { revenueCode: '0260', procedureCode: '96375', units: 1, charge: 30, serviceDate: '2026-02-20' };
    const result = await new Scrubber(packs).scrub(claim, { asOf: AS_OF });
    const edits = result.findings.filter((f) => f.ruleId !== 'table-edition-missing');
    expect(edits.map((f) => [f.ruleId, f.lines, f.details?.edition])).toEqual([
      ['hospital-mue-date-of-service-policy', [1], 'test hospital MUE'],
      ['hospital-ncci-ptp', [2, 3], 'test hospital PTP'],
    ]);
    expect(edits[0]!.message).toBe(
      'The units of 99283 on 2026-02-20 add up to 2 (line numbers: 1), above the hospital outpatient MUE of 1 per day (MAI 2, policy): every line of 99283 on that date is denied, and the denial cannot be appealed.',
    );
  });
});
