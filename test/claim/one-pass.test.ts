import { describe, expect, it } from 'vitest';
import { claimSchema } from '../../src/claim/schema.js';
import { checkClaimStructure } from '../../src/claim/validate.js';
import { Scrubber } from '../../src/engine/scrubber.js';
import { fieldsReadBy } from '../../src/engine/reads.js';
import type { Finding } from '../../src/findings/finding.js';
import { bundledPacks, exampleClaim } from '../helpers.js';

/**
 * One pass shows every problem (issue 14, item 12): a field the claim schema refuses stops only
 * the rules that read that field, on the line or diagnosis it belongs to; every other rule
 * still runs, and every schema message states the constraint the value breaks.
 */

type Claim = Record<string, any>;
const asOf = '2026-03-02';
const ids = (findings: Finding[]) => findings.map((f) => `${f.ruleId}@${f.path}`);

async function scrubber(engine: 'compiled' | 'reference' = 'compiled'): Promise<Scrubber> {
  return new Scrubber(await bundledPacks(), { engine });
}

function changed(name: string, change: (claim: Claim) => void): Claim {
  const claim = structuredClone(exampleClaim(name)) as Claim;
  change(claim);
  return claim;
}

describe('a claim with a malformed field', () => {
  it('still gets every rule finding that does not read the field (the taxonomy of the issue)', async () => {
    const s = await scrubber();
    const claim = changed('modifier-problems.json', (c) => {
      c.billingProvider.taxonomy = '207Q00000Y';
      c.billingProvider.npi = '1234567890';
    });
    const findings = (await s.scrub(claim, { asOf })).findings;
    expect(ids(findings)).toEqual(
      expect.arrayContaining(['invalid-value@/billingProvider/taxonomy', 'billing-npi-invalid@/billingProvider/npi', 'em-without-modifier-25@/lines/0/modifiers', 'lt-rt-same-line@/lines/1/modifiers']),
    );
    const valid = changed('modifier-problems.json', (c) => (c.billingProvider.npi = '1234567890'));
    // The malformed taxonomy takes nothing away: the same rule findings, plus the schema's.
    expect(ids(findings).filter((id) => !id.startsWith('invalid-value'))).toEqual(ids((await s.scrub(valid, { asOf })).findings));
  });

  it('says what a taxonomy must be, not "a 10-character code" for a code of 10 characters', () => {
    const check = checkClaimStructure(changed('clean.json', (c) => (c.billingProvider.taxonomy = '207Q00000Y')));
    expect(check.ok).toBe(false);
    const [finding] = (check as { findings: Finding[] }).findings;
    expect(finding!.message).toBe(
      'billingProvider.taxonomy must be a provider taxonomy code: 9 capital letters or digits followed by "X" (10 characters, such as "207Q00000X"), not "207Q00000Y".',
    );
  });

  it('stops the rules that read it on its own line only', async () => {
    const s = await scrubber();
    const claim = changed('modifier-problems.json', (c) => (c.lines[0].modifiers = ['2X5']));
    const found = ids((await s.scrub(claim, { asOf })).findings);
    expect(found).toContain('invalid-value@/lines/0/modifiers/0');
    // Line 1's modifier rules read a malformed modifier: they do not run there...
    expect(found).not.toContain('em-without-modifier-25@/lines/0/modifiers');
    // ...while the other lines are checked as usual.
    expect(found).toEqual(expect.arrayContaining(['lt-rt-same-line@/lines/1/modifiers', 'too-many-modifiers@/lines/2/modifiers']));
  });

  it('a malformed procedure code stops the code rules of its line, not the claim-level rules', async () => {
    const s = await scrubber();
    const claim = changed('core-problems.json', (c) => (c.lines[0].procedureCode = '99-13'));
    const result = await s.scrub(claim, { asOf });
    expect(ids(result.findings)).toContain('invalid-value@/lines/0/procedureCode');
    expect(result.findings.filter((f) => f.path === '/lines/0/procedureCode' && f.pack !== 'claim-schema')).toEqual([]);
    expect(ids(result.findings)).toEqual(expect.arrayContaining(['billing-npi-invalid@/billingProvider/npi', 'total-charge-mismatch@/totalCharge']));
  });

  it('a malformed date of service stops every rule: packs and rules apply by date of service', async () => {
    const s = await scrubber();
    const claim = changed('core-problems.json', (c) => (c.lines[0].serviceDate = '2026-02-30'));
    const result = await s.scrub(claim, { asOf });
    expect(result.findings.every((f) => f.pack === 'claim-schema')).toBe(true);
    expect(result.findings.find((f) => f.path === '/lines/0/serviceDate')!.message).toContain('(that date does not exist)');
  });

  it('a missing required field still stops every rule', async () => {
    const s = await scrubber();
    const claim = changed('core-problems.json', (c) => delete c.patient.sex);
    expect((await s.scrub(claim, { asOf })).findings.every((f) => f.pack === 'claim-schema')).toBe(true);
  });

  it('gives the same findings with json-rules-engine as with the compiled evaluator', async () => {
    const [compiled, reference] = [await scrubber('compiled'), await scrubber('reference')];
    const variants: Array<(c: Claim) => void> = [
      (c) => (c.billingProvider.taxonomy = 'BAD'),
      (c) => (c.lines[1].modifiers = ['LT', 'RTX']),
      (c) => (c.lines[0].procedureCode = '99 13'),
      (c) => (c.diagnoses[0].code = 'E11.9999'),
      (c) => (c.patient.birthDate = '1950-02-31'),
      (c) => (c.lines[2].ndc = '123'),
      (c) => (c.placeOfService = '1'),
    ];
    for (const variant of variants) {
      for (const name of ['modifier-problems.json', 'core-problems.json', 'clean.json']) {
        const claim = changed(name, (c) => {
          if (c.lines.length < 3) c.lines.push({ ...c.lines[0] });
          variant(c);
        });
        expect(await compiled.scrub(claim, { asOf })).toEqual(await reference.scrub(claim, { asOf }));
      }
    }
  });
});

describe('the fields a rule reads', () => {
  const rule = async (id: string) => {
    const packs = await bundledPacks();
    const found = packs.packs.flatMap((p) => p.rules).find((r) => r.id === id)!;
    return fieldsReadBy(found, packs.facts);
  };

  it('are the fields its conditions name, on its own line where it checks a line', async () => {
    expect(await rule('billing-npi-invalid')).toEqual([['billingProvider', 'npi']]);
    expect(await rule('lt-rt-same-line')).toEqual([['lines', '@', 'modifiers']]);
  });
});

describe('every schema message states the constraint broken', () => {
  it('every pattern in the claim schema says in words what it allows', () => {
    const missing: string[] = [];
    const walk = (node: unknown, at: string) => {
      if (node === null || typeof node !== 'object') return;
      const n = node as Record<string, unknown>;
      if (typeof n.pattern === 'string' && typeof n['x-expected'] !== 'string') missing.push(at);
      for (const [k, v] of Object.entries(n)) walk(v, `${at}/${k}`);
    };
    walk(claimSchema, '');
    expect(missing).toEqual([]);
  });

  it.each<[string, (c: Claim) => void, string]>([
    ['a modifier of three characters', (c) => (c.lines[0].modifiers = ['2X5']), 'lines[0].modifiers[0] must be 2 letters or digits'],
    ['a short NDC', (c) => (c.lines[0].ndc = '1234'), 'an NDC of 11 digits, or of three groups of digits (4-5, 3-4 and 1-2) joined by hyphens'],
    ['a diagnosis code of 9 characters', (c) => (c.diagnoses[0].code = 'E11.99999'), 'an ICD-10-CM code of at most 8 letters, digits and dots'],
    ['a place of service of one digit', (c) => (c.placeOfService = '1'), 'placeOfService must be 2 digits'],
    ['a tax id with a hyphen', (c) => (c.billingProvider.taxId = '12-3456789'), 'must be 9 digits with no hyphen'],
    ['a procedure code with a hyphen', (c) => (c.lines[0].procedureCode = '99-13'), 'a CPT or HCPCS code of 1 to 48 letters and digits (nothing else)'],
    ['a description of 1,001 characters', (c) => (c.lines[0].description = 'd'.repeat(1001)), 'must be at most 1000 characters long (it has 1001)'],
  ])('%s', (_what, change, words) => {
    const check = checkClaimStructure(changed('clean.json', change));
    expect((check as { findings: Finding[] }).findings.map((f) => f.message).join(' ')).toContain(words);
  });
});
