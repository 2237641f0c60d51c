import { describe, expect, it } from 'vitest';
import { checkClaimStructure } from '../../src/claim/validate.js';
import { completeResult, readClaims } from '../../src/formats/index.js';
import { bundledScrubber, canonical, claimsOf, fixture, onlyClaim } from './support.js';

/** FHIR claims as real senders write them (issue 14, items 9, 10 and 11). */

const variant = (name: string) => fixture(`fhir/variants/${name}`);

describe('an institutional Claim whose items have no dates of their own', () => {
  const item = onlyClaim(variant('synthea-style-institutional.json'));

  it('dates each item by the claim billable period, as an 837I line is dated by the statement period', () => {
    expect(canonical(item).lines.map((l: { serviceDate: string }) => l.serviceDate)).toEqual(['2026-02-20', '2026-02-20']);
    expect(item.locate!('/lines/1/serviceDate')).toEqual({ format: 'fhir', expression: 'Bundle.entry[3].resource.billablePeriod.start' });
  });

  it('gives an end date when the period spans days', () => {
    const spanning = JSON.parse(variant('synthea-style-institutional.json'));
    spanning.entry[3].resource.billablePeriod.end = '2026-02-22T10:00:00-05:00';
    const lines = canonical(onlyClaim(JSON.stringify(spanning))).lines;
    expect(lines[0]).toMatchObject({ serviceDate: '2026-02-20', serviceDateEnd: '2026-02-22' });
  });

  it('keeps an item’s own date when it has one', () => {
    const dated = JSON.parse(variant('synthea-style-institutional.json'));
    dated.entry[3].resource.item[1].servicedDate = '2026-02-19';
    expect(canonical(onlyClaim(JSON.stringify(dated))).lines.map((l: { serviceDate: string }) => l.serviceDate)).toEqual(['2026-02-20', '2026-02-19']);
  });

  it('makes a claim with no structure problem, so every rule runs on it', async () => {
    expect(checkClaimStructure(item.input)).toMatchObject({ ok: true });
    const scrubber = await bundledScrubber();
    const result = completeResult(await scrubber.scrub(item.input, { asOf: '2026-03-01' }), item);
    expect(result.findings.filter((f) => f.category === 'structure')).toEqual([]);
    expect(result.packs.length).toBeGreaterThan(1);
  });
});

describe('free text', () => {
  it('is not held to the width of an X12 element', () => {
    const item = onlyClaim(variant('synthea-style-institutional.json'));
    const description = canonical(item).lines[0].description as string;
    expect(description.length).toBeGreaterThan(80);
    const check = checkClaimStructure(item.input);
    expect(check.ok ? [] : check.findings.map((f) => f.path)).not.toContain('/lines/0/description');
  });
});

describe('Claim.use', () => {
  it('a preauthorization (a Da Vinci PAS request) is answered with one problem, not scrubbed as a billed claim', () => {
    const read = readClaims(variant('pas-preauthorization.json'));
    expect(claimsOf(read)).toEqual([]);
    expect(read.problems).toEqual([
      {
        code: 'fhir-not-a-billed-claim',
        severity: 'error',
        message: expect.stringContaining('its use is "preauthorization"'),
        position: { format: 'fhir', expression: 'Bundle.entry[0].resource.use' },
        details: { use: 'preauthorization' },
        claims: 0,
      },
    ]);
  });

  it('a predetermination too, naming its use', () => {
    const claim = JSON.parse(fixture('fhir/Claim-MED-00050.json'));
    const read = readClaims(JSON.stringify({ ...claim, use: 'predetermination' }));
    expect(read.problems).toMatchObject([{ code: 'fhir-not-a-billed-claim', details: { use: 'predetermination' }, position: { expression: 'Claim.use' } }]);
  });

  it('a Claim with use "claim", or with no use, is scrubbed', () => {
    const claim = JSON.parse(fixture('fhir/Claim-MED-00050.json'));
    const { use: _use, ...withoutUse } = claim;
    expect(claimsOf(readClaims(JSON.stringify(claim)))).toHaveLength(1);
    expect(claimsOf(readClaims(JSON.stringify(withoutUse)))).toHaveLength(1);
  });
});

describe('a Bundle whose Claim refers to an earlier Claim', () => {
  it('scrubs the new Claim only: the earlier one it names (related.claim) is its context', () => {
    const read = readClaims(variant('claim-with-related-earlier-claim.json'));
    expect(claimsOf(read).map((c) => canonical(c).claimId)).toEqual(['C-2']);
    expect(read.problems).toEqual([]);
  });
});
