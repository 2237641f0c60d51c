import { describe, expect, it } from 'vitest';
import { checkClaimStructure } from '../../src/claim/validate.js';
import { readClaims, scrubRead } from '../../src/formats/index.js';
import type { ScrubResult } from '../../src/findings/finding.js';
import { bundledScrubber, canonical, claimsOf, fixture, onlyClaim } from './support.js';

/**
 * The claim fields the completeness, lab and drug packs read, as the X12 and FHIR readers map
 * them: original claim number, CLIA numbers, the billing provider's entity type, line ordering
 * and referring providers, NDC quantity and unit, condition codes.
 */

/** The text with segments added after the first segment starting with `after`, SE01 counted again. */
function withSegments(text: string, after: string, added: string[]): string {
  const segments = text.split('~');
  const at = segments.findIndex((s) => s.replace(/^\s+/, '').startsWith(after));
  if (at < 0) throw new Error(`no segment starts with ${after}`);
  segments.splice(at + 1, 0, ...added.map((s) => `\n${s}`));
  return segments.map((s) => s.replace(/^(\s*SE\*)(\d+)/, (_m, head: string, n: string) => `${head}${Number(n) + added.length}`)).join('~');
}

const drug = () => fixture('x12/837p/demo.drug.example10.3.837');
/** The same claim with its tax id written as the claim schema wants it (the sample's "10-1234567" is a known defect). */
const validDrug = () => drug().replace('REF*EI*10-1234567', 'REF*EI*101234567');

describe('an 837P with the new claim fields', () => {
  it('reads the NDC quantity and unit from 2410 CTP04 and CTP05-1, and the ordering provider from 2420E NM1*DK', () => {
    const claim = canonical(onlyClaim(drug()));
    expect(claim.lines[1]).toMatchObject({ procedureCode: 'J0696', ndc: '00004196501', ndcQuantity: 7, ndcUnit: 'UN' });
    expect(claim.lines[2]).toMatchObject({ ndc: '63323024910', ndcQuantity: 14, ndcUnit: 'UN' });
    expect(claim.lines[0].ndcQuantity).toBeUndefined();
    for (const line of claim.lines) expect(line.orderingProvider).toEqual({ npi: '1112223338', name: 'Marcus Welby' });
  });

  it('reads a dispensed drug\'s prescription number from 2410 REF*XZ, so the pharmacy\'s drug lines need no rendering practitioner', async () => {
    const item = onlyClaim(validDrug());
    const claim = canonical(item);
    expect(claim.lines.map((l: { prescriptionNumber?: string }) => l.prescriptionNumber)).toEqual([undefined, '2530001', '2530001', '2530001', '2530002', '2530003']);
    expect(item.locate!('/lines/4/prescriptionNumber')).toMatchObject({ segment: 'REF', loop: '2410', element: 'REF-02' });
    const [out] = await scrubRead(await bundledScrubber(), [item], { asOf: '2026-03-02' });
    expect((out as { result: ScrubResult }).result.findings.filter((f) => f.ruleId === 'rendering-provider-missing')).toEqual([]);
  });

  it('locates the NDC quantity and the ordering provider in the file', () => {
    const item = onlyClaim(drug());
    expect(item.locate!('/lines/1/ndcQuantity')).toMatchObject({ format: 'x12', segment: 'CTP', loop: '2410', element: 'CTP-04' });
    expect(item.locate!('/lines/1/ndcUnit')).toMatchObject({ segment: 'CTP', element: 'CTP-05-1' });
    expect(item.locate!('/lines/1/orderingProvider/npi')).toMatchObject({ segment: 'NM1', loop: '2420E', element: 'NM1-09' });
  });

  it('reads the billing provider entity type from 2010AA NM102 (2 an organisation, 1 a person)', () => {
    expect(canonical(onlyClaim(drug())).billingProvider.entityType).toBe('organization');
    const person = drug().replace('NM1*85*2*', 'NM1*85*1*');
    expect(canonical(onlyClaim(person)).billingProvider.entityType).toBe('person');
  });

  it('reads the original claim number (REF*F8) and CLIA number (REF*X4) of 2300, and a line CLIA number and referring provider', () => {
    let text = withSegments(validDrug(), 'HI*BK', ['REF*F8*26012345678900', 'REF*X4*12D3456789']);
    text = withSegments(text, 'DTP*472*RD8*20040201-20040207', ['REF*X4*34D5678901']);
    text = withSegments(text, 'NM1*DK*1*Welby*Marcus****XX*1112223338', ['NM1*DN*1*Kildare*James****XX*1245319599']);
    const claim = canonical(onlyClaim(text));
    expect(claim).toMatchObject({ originalClaimNumber: '26012345678900', cliaNumber: '12D3456789' });
    expect(claim.lines[0]).toMatchObject({ cliaNumber: '34D5678901', referringProvider: { npi: '1245319599', name: 'James Kildare' } });
    expect(claim.lines[1].cliaNumber).toBeUndefined();
    expect(checkClaimStructure(claim).ok).toBe(true);
  });

  it('lets the completeness pack see a replacement claim\'s original claim number', async () => {
    const replacement = validDrug().replace('CLM*CLMNO12345*2232.93***12:B:1', 'CLM*CLMNO12345*2232.93***12:B:7');
    const scrub = async (text: string) => {
      const [out] = await scrubRead(await bundledScrubber(), readClaims(text).items, { asOf: '2026-03-02' });
      return (out as { result: ScrubResult }).result.findings.filter((f) => f.ruleId === 'replacement-without-original-claim-number');
    };
    expect(await scrub(replacement)).toEqual([
      expect.objectContaining({ path: '/originalClaimNumber', source: expect.objectContaining({ segment: 'CLM' }) }),
    ]);
    expect(await scrub(withSegments(replacement, 'HI*BK', ['REF*F8*26012345678900']))).toEqual([]);
  });
});

describe('an 837I with condition codes', () => {
  it('reads HI*BG composites as condition codes, located at their element', () => {
    const item = onlyClaim(fixture('x12/837i/institutional-claim.837i'));
    expect(canonical(item).conditionCodes).toEqual(['09']);
    expect(item.locate!('/conditionCodes/0')).toMatchObject({ segment: 'HI', loop: '2300', element: 'HI-01-2' });
  });

  it('reads every BG composite of up to two HI segments, and leaves other qualifiers alone', () => {
    const text = withSegments(fixture('x12/837i/institutional-claim.837i'), 'HI*BG:09', ['HI*BG:45*BG:A1']);
    expect(canonical(onlyClaim(text)).conditionCodes).toEqual(['09', '45', 'A1']);
  });

  it('gives a claim without HI*BG no condition codes', () => {
    expect(canonical(onlyClaim(fixture('x12/837i/ppo-repriced-claim.837i'))).conditionCodes).toBeUndefined();
  });
});

type Json = Record<string, any>;
const NPI = 'http://hl7.org/fhir/sid/us-npi';
const CPT = 'http://www.ama-assn.org/go/cpt';

function fhirBundle(claim: Json): Json {
  return {
    resourceType: 'Bundle',
    type: 'collection',
    entry: [
      { fullUrl: 'Patient/p1', resource: { resourceType: 'Patient', id: 'p1', birthDate: '1950-04-01', gender: 'female' } },
      { fullUrl: 'Organization/o1', resource: { resourceType: 'Organization', id: 'o1', name: 'Bay Clinic', identifier: [{ system: NPI, value: '1234567893' }] } },
      { fullUrl: 'Practitioner/r1', resource: { resourceType: 'Practitioner', id: 'r1', identifier: [{ system: NPI, value: '1987654328' }] } },
      { fullUrl: 'Practitioner/d1', resource: { resourceType: 'Practitioner', id: 'd1', identifier: [{ system: NPI, value: '1122334455' }] } },
      { fullUrl: 'Practitioner/f1', resource: { resourceType: 'Practitioner', id: 'f1', identifier: [{ system: NPI, value: '1245319599' }] } },
      {
        fullUrl: 'Claim/c1',
        resource: {
          resourceType: 'Claim',
          id: 'c1',
          use: 'claim',
          type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }] },
          patient: { reference: 'Patient/p1' },
          created: '2026-03-02',
          insurer: { identifier: { value: 'MEDICARE' } },
          provider: { reference: 'Organization/o1' },
          diagnosis: [{ sequence: 1, diagnosisCodeableConcept: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'E11.9' }] } }],
          ...claim,
        },
      },
    ],
  };
}

const careTeam = [
  { sequence: 1, provider: { reference: 'Practitioner/r1' }, role: { coding: [{ code: 'primary' }] } },
  { sequence: 2, provider: { reference: 'Practitioner/d1' }, role: { coding: [{ system: 'http://example.org/roles', code: 'ordering' }] } },
  { sequence: 3, provider: { reference: 'Practitioner/f1' }, role: { coding: [{ system: 'http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBClaimCareTeamRole', code: 'referring' }] } },
];
const labItem = (sequence: number, careTeamSequence: number[], extra: Json = {}): Json => ({
  sequence,
  careTeamSequence,
  diagnosisSequence: [1],
  productOrService: { coding: [{ system: CPT, code: '80053' }] },
  servicedDate: '2026-02-20',
  net: { value: 40 },
  ...extra,
});

function readFhirClaim(claim: Json) {
  return claimsOf(readClaims(JSON.stringify(fhirBundle(claim))))[0]!;
}

describe('a FHIR Claim with the new claim fields', () => {
  it('reads the billing entity type from the resource Claim.provider names', () => {
    expect(canonical(readFhirClaim({ item: [labItem(1, [1])] })).billingProvider.entityType).toBe('organization');
    const practitioner = canonical(readFhirClaim({ provider: { reference: 'Practitioner/r1' }, item: [labItem(1, [1])] }));
    expect(practitioner.billingProvider).toMatchObject({ npi: '1987654328', entityType: 'person' });
  });

  it('takes the original claim number from the related claim whose relationship is prior', () => {
    const related = [
      { relationship: { coding: [{ code: 'associated' }] }, claim: { identifier: { value: 'OTHER-1' } } },
      { relationship: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/ex-relatedclaimrelationship', code: 'prior' }] }, claim: { identifier: { value: '26012345678900' } } },
    ];
    const item = readFhirClaim({ related, item: [labItem(1, [1])] });
    expect(canonical(item).originalClaimNumber).toBe('26012345678900');
    expect(item.locate!('/originalClaimNumber')).toEqual({ format: 'fhir', expression: 'Bundle.entry[5].resource.related[1].claim.identifier.value' });
    const byReference = readFhirClaim({ related: [{ relationship: { coding: [{ code: 'prior' }] }, reference: { value: 'DCN-77' } }], item: [labItem(1, [1])] });
    expect(canonical(byReference).originalClaimNumber).toBe('DCN-77');
  });

  it('reads ordering and referring practitioners from the care team roles an item names, and keeps them out of the rendering provider', () => {
    const claim = canonical(readFhirClaim({ careTeam, item: [labItem(1, [1, 2]), labItem(2, [1, 3])] }));
    expect(claim.renderingProvider).toEqual({ npi: '1987654328' });
    expect(claim.lines[0]).toMatchObject({ orderingProvider: { npi: '1122334455' } });
    expect(claim.lines[0].referringProvider).toBeUndefined();
    expect(claim.lines[1]).toMatchObject({ referringProvider: { npi: '1245319599' } });
    expect(claim.lines[1].orderingProvider).toBeUndefined();
    for (const line of claim.lines) expect(line.renderingProvider).toBeUndefined();
    expect(checkClaimStructure(claim).ok).toBe(true);
  });

  it('gives an ordering practitioner no item names to every line, and an unnamed referring one to the claim', () => {
    const claim = canonical(readFhirClaim({ careTeam, item: [labItem(1, [1]), labItem(2, [1])] }));
    expect(claim.lines.map((l: Json) => l.orderingProvider)).toEqual([{ npi: '1122334455' }, { npi: '1122334455' }]);
    expect(claim.referringProvider).toEqual({ npi: '1245319599' });
  });

  it('does not take a lone ordering practitioner for the rendering provider', () => {
    const claim = canonical(readFhirClaim({ careTeam: [careTeam[1]], item: [labItem(1, [])] }));
    expect(claim.renderingProvider).toBeUndefined();
    expect(claim.lines[0].orderingProvider).toEqual({ npi: '1122334455' });
  });

  it('reads CLIA numbers from supportingInfo: the claim\'s, and a line\'s own through informationSequence', () => {
    const supportingInfo = [
      { sequence: 1, category: { coding: [{ code: 'info' }] }, valueIdentifier: { system: 'urn:oid:2.16.840.1.113883.4.7', value: '12D3456789' } },
      { sequence: 2, category: { coding: [{ code: 'clia' }] }, valueString: '34D5678901' },
    ];
    const item = readFhirClaim({ supportingInfo, item: [labItem(1, [], { informationSequence: [2] }), labItem(2, [])] });
    const claim = canonical(item);
    expect(claim.cliaNumber).toBe('12D3456789');
    expect(claim.lines[0].cliaNumber).toBe('34D5678901');
    expect(claim.lines[1].cliaNumber).toBeUndefined();
    expect(item.locate!('/cliaNumber')).toEqual({ format: 'fhir', expression: 'Bundle.entry[5].resource.supportingInfo[0].valueIdentifier.value' });
  });

  it('reads a dispensed drug line\'s prescription number from supportingInfo rxnumber that the item names', () => {
    const supportingInfo = [
      { sequence: 1, category: { coding: [{ system: 'http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBSupportingInfoType', code: 'rxnumber' }] }, valueString: '2530001' },
      { sequence: 2, category: { coding: [{ code: 'rxnumber' }] }, valueIdentifier: { value: '2530002' } },
      { sequence: 3, category: { coding: [{ code: 'rxnumber' }] }, valueString: '2539999' },
    ];
    const item = readFhirClaim({ supportingInfo, item: [labItem(1, [], { informationSequence: [1] }), labItem(2, [], { informationSequence: [2] }), labItem(3, [])] });
    const claim = canonical(item);
    expect(claim.lines.map((l: Json) => l.prescriptionNumber)).toEqual(['2530001', '2530002', undefined]);
    expect(item.locate!('/lines/1/prescriptionNumber')).toEqual({ format: 'fhir', expression: 'Bundle.entry[5].resource.supportingInfo[1].valueIdentifier.value' });
  });

  it('reads a drug item\'s NDC and quantity from item.detail, with UCUM units turned into 837 units', () => {
    const drugItem = (unit: Json) => ({
      sequence: 1,
      diagnosisSequence: [1],
      productOrService: { coding: [{ system: 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets', code: 'J1100' }] },
      servicedDate: '2026-02-20',
      quantity: { value: 2 },
      net: { value: 30 },
      detail: [{ sequence: 1, productOrService: { coding: [{ system: 'http://hl7.org/fhir/sid/ndc', code: '63323016501' }] }, quantity: { value: 2, ...unit } }],
    });
    const ml = canonical(readFhirClaim({ item: [drugItem({ system: 'http://unitsofmeasure.org', code: 'mL' })] }));
    expect(ml.lines[0]).toMatchObject({ procedureCode: 'J1100', units: 2, ndc: '63323016501', ndcQuantity: 2, ndcUnit: 'ML' });
    expect(canonical(readFhirClaim({ item: [drugItem({ code: 'UN' })] })).lines[0].ndcUnit).toBe('UN');
    expect(canonical(readFhirClaim({ item: [drugItem({ unit: 'mg' })] })).lines[0].ndcUnit).toBe('ME');
    // A unit the 837 has no code for is passed through, and the claim schema names it.
    const odd = readFhirClaim({ item: [drugItem({ code: 'tbsp' })] });
    expect(canonical(odd).lines[0].ndcUnit).toBe('tbsp');
    const check = checkClaimStructure(odd.input);
    expect(check.ok ? [] : check.findings.map((f) => f.path)).toEqual(['/lines/0/ndcUnit']);
  });

  it('reads condition codes of an institutional claim from supportingInfo coded with the NUBC condition codes', () => {
    const supportingInfo = [
      { sequence: 1, category: { coding: [{ code: 'info' }] }, code: { coding: [{ system: 'https://www.nubc.org/CodeSystem/ConditionCodes', code: '45' }] } },
      { sequence: 2, category: { coding: [{ code: 'info' }] }, code: { coding: [{ system: 'http://example.org/other', code: '99' }] } },
    ];
    const institutional = {
      type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'institutional' }] },
      supportingInfo,
      item: [{ sequence: 1, revenue: { coding: [{ code: '0450' }] }, productOrService: { coding: [{ system: CPT, code: '99283' }] }, servicedDate: '2026-02-20', net: { value: 400 } }],
    };
    const item = readFhirClaim(institutional);
    expect(canonical(item).conditionCodes).toEqual(['45']);
    expect(item.locate!('/conditionCodes/0')).toEqual({ format: 'fhir', expression: 'Bundle.entry[5].resource.supportingInfo[0].code.coding[0].code' });
  });
});
