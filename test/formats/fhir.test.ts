import { describe, expect, it } from 'vitest';
import { checkClaimStructure } from '../../src/claim/validate.js';
import { readClaims } from '../../src/formats/index.js';
import { canonical, claimsOf, fhirSamples, fixture, onlyClaim } from './support.js';

/** HL7's Claim-100153 is a preauthorization (use "preauthorization"): not a billed claim. */
const PREAUTHORIZATION = 'fhir/Claim-100153.json';
const billedSamples = fhirSamples.filter((name) => name !== PREAUTHORIZATION);

describe('every FHIR Claim example', () => {
  it.each(billedSamples)('%s is read as FHIR with one claim and no problems', (name) => {
    const result = readClaims(fixture(name));
    expect(result.format).toBe('fhir');
    expect(result.problems).toEqual([]);
    expect(claimsOf(result)).toHaveLength(1);
  });
});

// Why the HL7 examples do not make complete canonical claims. Each reason is a real gap of the
// example, not of the reader:
/** Patient/1, Organization/1 and Organization/2 are references to resources outside the file. */
const EXTERNAL = ['/payer/id', '/billingProvider/npi', '/patient/birthDate', '/patient/sex'];
/** No provider has an NPI identifier (system http://hl7.org/fhir/sid/us-npi). */
const NO_NPI = ['/billingProvider/npi'];
/** oral, vision and pharmacy claims have no canonical claim type (professional or institutional). */
const TYPE = ['/claimType'];
/** Items without diagnosisSequence have no diagnosis pointers, which professional lines need. */
const noPointers = (...lines: number[]) => lines.map((l) => `/lines/${l}/diagnosisPointers`);
/** Institutional items without a revenue code. */
const noRevenue = ['/lines/0/revenueCode'];

const SCHEMA_GAPS: Record<string, string[]> = {
  'fhir/Claim-100150.json': [...TYPE, ...EXTERNAL, ...noPointers(0)],
  'fhir/Claim-100151.json': [...TYPE, ...EXTERNAL, ...noPointers(0, 1, 2)],
  'fhir/Claim-100152.json': [...TYPE, ...NO_NPI, ...noPointers(0)],
  // Patient and provider are given by identifier only; the insurer identifier is the payer id.
  'fhir/Claim-100154.json': [...TYPE, '/billingProvider/npi', '/patient/birthDate', '/patient/sex', ...noPointers(0)],
  'fhir/Claim-100155.json': [...TYPE, ...NO_NPI, ...noPointers(0)],
  // No diagnosis at all.
  'fhir/Claim-100156.json': [...TYPE, ...EXTERNAL, '/diagnoses', ...noPointers(0, 1, 2)],
  'fhir/Claim-660150.json': [...TYPE, ...EXTERNAL, ...noPointers(0)],
  'fhir/Claim-660151.json': [...TYPE, ...EXTERNAL, ...noPointers(0)],
  // Modifier "rooh" is not a 2-character HCPCS modifier.
  'fhir/Claim-660152.json': [...TYPE, ...EXTERNAL, '/lines/0/modifiers/0', ...noPointers(0)],
  'fhir/Claim-760150.json': [...TYPE, ...EXTERNAL, ...noPointers(0)],
  'fhir/Claim-760151.json': [...TYPE, ...EXTERNAL, ...noPointers(0)],
  'fhir/Claim-760152.json': [...TYPE, ...EXTERNAL, ...noPointers(0)],
  'fhir/Claim-860150.json': [...EXTERNAL, ...noPointers(0)],
  'fhir/Claim-960150.json': [...EXTERNAL, ...noRevenue],
  'fhir/Claim-960151.json': [...EXTERNAL, ...noRevenue],
  'fhir/Claim-MED-00050.json': [...NO_NPI, ...noRevenue],
};

describe('the canonical claims of the FHIR examples', () => {
  it.each(billedSamples)('%s fails the claim schema only for the documented gaps of the example', (name) => {
    const check = checkClaimStructure(onlyClaim(fixture(name)).input);
    const paths = check.ok ? [] : check.findings.map((f) => f.path);
    expect([...paths].sort()).toEqual([...SCHEMA_GAPS[name]!].sort());
  });
});

describe('a FHIR institutional claim read field by field (Claim-MED-00050)', () => {
  const claim = canonical(onlyClaim(fixture('fhir/Claim-MED-00050.json')));

  it('takes the claim id from the business identifier and the type from Claim.type', () => {
    expect(claim).toMatchObject({ claimId: 'MED-00050', claimType: 'institutional', submissionDate: '2015-10-16', totalCharge: 12500 });
  });

  it('resolves the contained Patient and maps gender female to F', () => {
    expect(claim.patient).toEqual({ memberId: '10138556', firstName: 'Alvina', lastName: 'Ashcraft', birthDate: '1954-06-11', sex: 'F' });
  });

  it('reads ICD-10 diagnoses in sequence order, keeping the dot', () => {
    expect(claim.diagnoses).toEqual([{ code: 'M96.1' }, { code: 'G89.4' }, { code: 'M53.88' }, { code: 'M47.816' }]);
  });

  it('reads the item with its diagnosis sequences as pointers', () => {
    expect(claim.lines).toEqual([
      { procedureCode: '62264', modifiers: [], units: 1, charge: 12500, serviceDate: '2015-10-13', diagnosisPointers: [2, 4] },
    ]);
  });

  it('reads the bill type, the stay and the discharge status', () => {
    expect(claim).toMatchObject({ typeOfBill: '831', admissionDate: '2015-10-01', dischargeDate: '2015-10-05', patientStatus: '01' });
  });

  it('takes the payer from the insurer identifier and display', () => {
    expect(claim.payer).toEqual({ id: '123456', name: 'Humana Inc.' });
  });
});

/** A professional Claim with its Patient, Organization and Practitioner in the same Bundle. */
function bundle(): any {
  return {
    resourceType: 'Bundle',
    type: 'collection',
    entry: [
      {
        fullUrl: 'urn:uuid:7f6c2e14-0000-4000-8000-000000000001',
        resource: { resourceType: 'Patient', id: 'p1', gender: 'male', birthDate: '1950-04-01', name: [{ family: 'Lee', given: ['Al'] }] },
      },
      {
        fullUrl: 'https://example.org/fhir/Organization/o1',
        resource: {
          resourceType: 'Organization',
          id: 'o1',
          name: 'Bay Clinic',
          identifier: [
            { system: 'http://hl7.org/fhir/sid/us-npi', value: '1234567893' },
            { system: 'urn:oid:2.16.840.1.113883.4.4', value: '123456789' },
          ],
        },
      },
      {
        fullUrl: 'https://example.org/fhir/Practitioner/d1',
        resource: { resourceType: 'Practitioner', id: 'd1', identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: '1245319599' }] },
      },
      {
        fullUrl: 'https://example.org/fhir/Claim/c1',
        resource: {
          resourceType: 'Claim',
          id: 'c1',
          identifier: [{ value: 'C-1001' }],
          type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }] },
          patient: { reference: 'urn:uuid:7f6c2e14-0000-4000-8000-000000000001' },
          provider: { reference: 'Organization/o1' },
          insurer: { identifier: { value: 'MEDICARE' }, display: 'Medicare Part B' },
          careTeam: [{ sequence: 1, provider: { reference: 'https://example.org/fhir/Practitioner/d1' }, role: { coding: [{ code: 'primary' }] } }],
          diagnosis: [
            { sequence: 2, diagnosisCodeableConcept: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'I10' }] } },
            { sequence: 1, diagnosisCodeableConcept: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'E11.9' }] } },
          ],
          item: [
            {
              sequence: 1,
              diagnosisSequence: [1, 2],
              productOrService: { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '99213' }] },
              modifier: [{ coding: [{ code: '25' }] }],
              servicedDate: '2026-02-20',
              locationCodeableConcept: { coding: [{ code: '11' }] },
              quantity: { value: 1 },
              net: { value: 120 },
            },
            {
              sequence: 2,
              diagnosisSequence: [1],
              productOrService: { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '11102' }] },
              servicedPeriod: { start: '2026-02-20', end: '2026-02-21' },
              unitPrice: { value: 20 },
              quantity: { value: 2 },
            },
          ],
          total: { value: 160 },
        },
      },
      { resource: { resourceType: 'Claim', id: 'c2', type: { coding: [{ code: 'professional' }] }, item: [] } },
    ],
  };
}

describe('a Bundle of Claims', () => {
  const result = readClaims(JSON.stringify(bundle()));
  const claims = claimsOf(result);

  it('gives one claim per Claim entry, in order, labelled by entry', () => {
    expect(result.format).toBe('fhir');
    expect(claims.map((c) => c.label)).toEqual(['Bundle entry 4 (Claim c1)', 'Bundle entry 5 (Claim c2)']);
  });

  it('resolves Patient, Organization and Practitioner by fullUrl or Type/id', () => {
    const claim = canonical(claims[0]!);
    expect(claim.patient).toEqual({ firstName: 'Al', lastName: 'Lee', birthDate: '1950-04-01', sex: 'M' });
    expect(claim.billingProvider).toEqual({ npi: '1234567893', name: 'Bay Clinic', taxId: '123456789' });
    expect(claim.renderingProvider).toEqual({ npi: '1245319599' });
  });

  it('orders diagnoses by sequence and turns diagnosis sequences into pointers', () => {
    const claim = canonical(claims[0]!);
    expect(claim.diagnoses).toEqual([{ code: 'E11.9' }, { code: 'I10' }]);
    expect(claim.lines.map((l: { diagnosisPointers: number[] }) => l.diagnosisPointers)).toEqual([[1, 2], [1]]);
  });

  it('reads modifiers, place of service, periods and a charge from unit price and quantity', () => {
    const claim = canonical(claims[0]!);
    expect(claim.lines[0]).toMatchObject({ procedureCode: '99213', modifiers: ['25'], placeOfService: '11', units: 1, charge: 120 });
    expect(claim.lines[1]).toMatchObject({ serviceDate: '2026-02-20', serviceDateEnd: '2026-02-21', units: 2, charge: 40 });
  });

  it('gives a line the rendering provider of its care team member when it is not the claim\'s', () => {
    const b = bundle();
    b.entry.push({ resource: { resourceType: 'Practitioner', id: 'd2', identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: '1234567893' }] } });
    b.entry[3].resource.careTeam.push({ sequence: 2, provider: { reference: 'Practitioner/d2' } });
    b.entry[3].resource.item[1].careTeamSequence = [2];
    const item = claimsOf(readClaims(JSON.stringify(b)))[0]!;
    expect(canonical(item).lines[1].renderingProvider).toEqual({ npi: '1234567893' });
    expect(canonical(item).lines[0].renderingProvider).toBeUndefined();
    expect(item.locate!('/lines/1/renderingProvider/npi')).toEqual({ format: 'fhir', expression: 'Bundle.entry[3].resource.careTeam[1].provider' });
  });

  it('makes a claim that passes the claim schema', () => {
    expect(checkClaimStructure(claims[0]!.input).ok).toBe(true);
  });

  it('locates fields with Bundle-relative FHIRPath expressions', () => {
    expect(claims[0]!.locate!('/lines/0/modifiers')).toEqual({ format: 'fhir', expression: 'Bundle.entry[3].resource.item[0].modifier' });
    expect(claims[0]!.locate!('/patient/birthDate')).toEqual({ format: 'fhir', expression: 'Bundle.entry[0].resource.birthDate' });
    expect(claims[0]!.locate!('/diagnoses/0/code')).toEqual({
      format: 'fhir',
      expression: 'Bundle.entry[3].resource.diagnosis[1].diagnosisCodeableConcept.coding[0].code',
    });
  });

  it('maps FHIR genders other and unknown to U', () => {
    for (const gender of ['other', 'unknown']) {
      const b = bundle();
      b.entry[0].resource.gender = gender;
      expect(canonical(claimsOf(readClaims(JSON.stringify(b)))[0]!).patient.sex).toBe('U');
    }
  });

  it('without any Claim is a problem', () => {
    const b = bundle();
    b.entry = b.entry.slice(0, 3);
    const r = readClaims(JSON.stringify(b));
    expect(r.items).toEqual([]);
    expect(r.problems.map((p) => p.code)).toEqual(['fhir-no-claim']);
  });
});

describe('FHIR resources that are not claims', () => {
  it('a ClaimResponse is a problem, not a claim', () => {
    const r = readClaims(JSON.stringify({ resourceType: 'ClaimResponse', id: 'R3500' }));
    expect(r.items).toEqual([]);
    expect(r.problems.map((p) => p.code)).toEqual(['fhir-not-a-claim']);
  });
});
