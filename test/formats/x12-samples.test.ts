import { describe, expect, it } from 'vitest';
import { checkClaimStructure } from '../../src/claim/validate.js';
import { readClaims } from '../../src/formats/index.js';
import { canonical, claimsOf, fixture, institutionalSamples, onlyClaim, professionalSamples, x12Samples } from './support.js';

/**
 * Samples whose composites use ">" although their ISA16 declares ":" (see the test below): their
 * one problem, reported once for the transaction set.
 */
const SEPARATOR_MISMATCH = new Set([
  'x12/837p/demo.cob.2ndary.example4.837',
  'x12/837p/demo.example11.837',
  'x12/837p/demo.example12.837',
  'x12/837p/demo.example6.837',
  'x12/837p/demo.example9.837',
  'x12/837i/out-of-network-repriced-claim.837i',
  'x12/837i/ppo-repriced-claim.837i',
]);

describe('every X12 837 sample', () => {
  it.each(x12Samples)('%s is read as X12 with one claim per CLM segment and no problems but its known one', (name) => {
    const text = fixture(name);
    const result = readClaims(text);
    expect(result.format).toBe('x12');
    expect(result.problems.map((p) => p.code)).toEqual(SEPARATOR_MISMATCH.has(name) ? ['x12-component-separator'] : []);
    expect(claimsOf(result)).toHaveLength(text.match(/CLM\*/g)!.length);
    expect(claimsOf(result).flatMap((c) => c.findings)).toEqual([]);
  });

  it.each(professionalSamples)('%s gives professional claims', (name) => {
    for (const claim of claimsOf(readClaims(fixture(name)))) expect(canonical(claim).claimType).toBe('professional');
  });

  it.each(institutionalSamples)('%s gives institutional claims with revenue-coded lines', (name) => {
    for (const claim of claimsOf(readClaims(fixture(name)))) {
      expect(canonical(claim).claimType).toBe('institutional');
      for (const line of canonical(claim).lines) expect(line.revenueCode).toMatch(/^\d{4}$/);
    }
  });
});

/**
 * Each sample, once normalised, passes the claim schema, except for these real defects of the
 * sample itself (the canonical claim is stricter than the TR3 on some points).
 */
const SCHEMA_DEFECTS: Record<string, string[]> = {
  // 2310A referring provider NM1*DN has no NPI (NM108/NM109 are situational in 5010); the
  // canonical claim requires an NPI for every provider it names.
  'x12/837p/demo.cob.example4.837': ['/referringProvider/npi'],
  // REF*EI "10-1234567": a tax id is 9 digits without a hyphen.
  'x12/837p/demo.drug.example10.2.837': ['/billingProvider/taxId'],
  'x12/837p/demo.drug.example10.3.837': ['/billingProvider/taxId'],
  // PRV*BI*PXC*203BF0100Y / 203BA0200N: taxonomy codes end in X.
  'x12/837p/demo.example1.837': ['/billingProvider/taxonomy'],
  'x12/837p/demo.example2.837': ['/billingProvider/taxonomy'],
  'x12/837i/institutional-claim.837i': ['/billingProvider/taxonomy'],
  // SV107 "1.00": a diagnosis pointer is a whole number.
  'x12/837p/demo.example9.837': ['/lines/0/diagnosisPointers/0'],
};

describe('the canonical claims of the X12 samples', () => {
  it.each(x12Samples)('%s passes the claim schema, or fails it only for its known defects', (name) => {
    const paths = claimsOf(readClaims(fixture(name))).flatMap((claim) => {
      const check = checkClaimStructure(claim.input);
      return check.ok ? [] : check.findings.map((f) => f.path);
    });
    expect(paths).toEqual(SCHEMA_DEFECTS[name] ?? []);
  });
});

describe('an 837P read field by field (demo.example1.837)', () => {
  const claim = canonical(onlyClaim(fixture('x12/837p/demo.example1.837')));

  it('takes the claim id, total charge, place of service and frequency from CLM', () => {
    expect(claim).toMatchObject({ claimId: '26463774', totalCharge: 100, placeOfService: '11', frequencyCode: '1' });
  });

  it('takes the submission date from BHT04', () => {
    expect(claim.submissionDate).toBe('2006-10-15');
  });

  it('takes the billing provider from 2010AA and the taxonomy from 2000A PRV', () => {
    expect(claim.billingProvider).toEqual({ npi: '1912301953', name: 'BEN KILDARE SERVICE', taxId: '587654321', taxonomy: '203BF0100Y' });
  });

  it('takes the payer from 2010BB and its type from the claim filing indicator (CI)', () => {
    expect(claim.payer).toEqual({ id: '999996666', name: 'KEY INSURANCE COMPANY', type: 'commercial' });
  });

  it('takes the patient from 2000C and the member id from the subscriber', () => {
    expect(claim.patient).toEqual({ memberId: 'JS00111223333', firstName: 'TED', lastName: 'SMITH', birthDate: '1973-05-01', sex: 'M' });
  });

  it('keeps ICD-9 (BK/BF) diagnosis codes as given', () => {
    expect(claim.diagnoses).toEqual([{ code: '0340' }, { code: 'V7389' }]);
  });

  it('reads every service line with code, charge, units, date and pointers', () => {
    expect(claim.lines).toEqual([
      { procedureCode: '99213', modifiers: [], charge: 40, units: 1, diagnosisPointers: [1], serviceDate: '2006-10-03' },
      { procedureCode: '87070', modifiers: [], charge: 15, units: 1, diagnosisPointers: [1], serviceDate: '2006-10-03' },
      { procedureCode: '99214', modifiers: [], charge: 35, units: 1, diagnosisPointers: [2], serviceDate: '2006-10-10' },
      { procedureCode: '86663', modifiers: [], charge: 10, units: 1, diagnosisPointers: [2], serviceDate: '2006-10-10' },
    ]);
  });
});

describe('an 837P whose patient is the subscriber (demo.ambulance.example5.837)', () => {
  const claim = canonical(onlyClaim(fixture('x12/837p/demo.ambulance.example5.837')));

  it('uses the subscriber name and DMG when there is no 2000C', () => {
    expect(claim.patient).toEqual({ memberId: '012345678A', firstName: 'SARAH', lastName: 'JONES', birthDate: '1963-07-29', sex: 'F' });
  });

  it('maps Medicare Part B (SBR09 MB) to a medicare payer', () => {
    expect(claim.payer).toEqual({ id: '123245', name: 'MEDICARE PART B', type: 'medicare' });
  });

  it('reads modifiers, units and four diagnosis pointers', () => {
    expect(claim.lines[1]).toMatchObject({ procedureCode: 'A0425', modifiers: ['RH'], units: 21, charge: 8.2, diagnosisPointers: [1, 2, 3, 4] });
  });

  it('takes a line description from the line NTE', () => {
    expect(claim.lines[0].description).toBe('CARDIAC EMERGENCY');
  });

  it('reads the claim total and place of service', () => {
    expect(claim).toMatchObject({ claimId: '051068', totalCharge: 766.5, placeOfService: '41' });
    expect(claim.diagnoses.map((d: { code: string }) => d.code)).toEqual(['8628', 'E8888', '9592', '8540']);
  });
});

describe('an 837P with drugs (demo.drug.example10.3.837)', () => {
  const claim = canonical(onlyClaim(fixture('x12/837p/demo.drug.example10.3.837')));

  it('takes the NDC from 2410 LIN*N4', () => {
    expect(claim.lines.map((l: { ndc?: string }) => l.ndc)).toEqual([
      undefined,
      '00004196501',
      '63323024910',
      '00338004938',
      '08290033010',
      '08290038005',
    ]);
  });

  it('takes the description of an unlisted drug code from SV101-7', () => {
    expect(claim.lines[3]).toMatchObject({ procedureCode: 'J3490', description: 'Sod Chl 0.9%see NDC#' });
  });

  it('reads an RD8 date range into serviceDate and serviceDateEnd', () => {
    expect(claim.lines[0]).toMatchObject({ serviceDate: '2004-02-01', serviceDateEnd: '2004-02-07', units: 7, charge: 1400 });
  });

  it('keeps a tax id written with a hyphen as given, for the schema to report', () => {
    expect(claim.billingProvider.taxId).toBe('10-1234567');
  });
});

describe('an 837P with a claim-level rendering provider and attachments', () => {
  it('reads 2310B NM1*82 and its PRV taxonomy as the rendering provider', () => {
    const claim = canonical(onlyClaim(fixture('x12/837p/demo.cob.example3.C.837')));
    expect(claim.renderingProvider).toEqual({ npi: '1999996666', name: 'BEN KILDARE', taxonomy: '204C00000X' });
  });

  it('does not take the other payer (2330B) for the payer', () => {
    const claim = canonical(onlyClaim(fixture('x12/837p/demo.cob.example3.C.837')));
    expect(claim.payer).toEqual({ id: '567890', name: 'GREAT PRAIRIES HEALTH', type: 'commercial' });
  });

  it('lists the PWK attachments of the lines once each', () => {
    const claim = canonical(onlyClaim(fixture('x12/837p/demo.example7.837')));
    expect(claim.attachments).toEqual([{ type: 'CT', transmission: 'AA' }]);
    expect(claim.claimId).toBe('R03996273 #01');
    expect(claim.lines.map((l: { modifiers: string[] }) => l.modifiers)).toEqual([['RR'], ['RR']]);
  });
});

describe('an 837I with two claims (two-claims-single-provider.837i)', () => {
  const claims = claimsOf(readClaims(fixture('x12/837i/two-claims-single-provider.837i'))).map(canonical);

  it('reads both claims under the same billing provider', () => {
    expect(claims.map((c) => [c.claimId, c.totalCharge, c.billingProvider.npi])).toEqual([
      ['756048Q', 89.95, '1234567890'],
      ['756049Q', 50, '1234567890'],
    ]);
  });

  it('builds the type of bill from the facility code and frequency of CLM05', () => {
    expect(claims.map((c) => c.typeOfBill)).toEqual(['131', '131']);
  });

  it('gives each claim its own subscriber as patient', () => {
    expect(claims.map((c) => [c.patient.lastName, c.patient.birthDate, c.patient.sex])).toEqual([
      ['DOE', '1968-11-11', 'M'],
      ['SMITH', '1962-12-10', 'M'],
    ]);
  });

  it('reads SV2 revenue lines and the statement period', () => {
    expect(claims[0].lines).toEqual([
      { revenueCode: '0305', procedureCode: '85025', modifiers: [], charge: 13.39, units: 1, serviceDate: '2005-03-15' },
      { revenueCode: '0730', procedureCode: '93005', modifiers: [], charge: 76.56, units: 3, serviceDate: '2005-03-15' },
    ]);
    expect(claims[0]).toMatchObject({ statementFromDate: '2005-03-15', statementToDate: '2005-03-15', patientStatus: '01' });
  });

  it('maps TRICARE (SBR09 CH) to an "other" payer', () => {
    expect(claims[0].payer.type).toBe('other');
  });

  it('labels each claim with its transaction set and claim id', () => {
    expect(claimsOf(readClaims(fixture('x12/837i/two-claims-single-provider.837i'))).map((c) => c.label)).toEqual([
      'ST 987654 claim 756048Q',
      'ST 987654 claim 756049Q',
    ]);
  });
});

describe('an 837I with a patient level and an admission (ppo-repriced-claim.837i)', () => {
  const item = onlyClaim(fixture('x12/837i/ppo-repriced-claim.837i'));
  const claim = canonical(item);

  it('takes the patient from 2000C', () => {
    expect(claim.patient).toMatchObject({ firstName: 'JOY', lastName: 'JONES', birthDate: '1998-08-20', sex: 'F', memberId: '345U8423H' });
  });

  it('reads the admission date from DTP*435 (DT) and the status from CL1-03', () => {
    expect(claim).toMatchObject({ admissionDate: '2005-07-06', patientStatus: '01', typeOfBill: '131' });
  });

  it('reads the principal and other diagnoses in order', () => {
    expect(claim.diagnoses).toEqual([{ code: '38181' }, { code: '38900' }]);
  });

  it('reads composites written with ">" although ISA16 declares ":", and reports the mismatch once, for the transaction set', () => {
    expect(claim.lines[0]).toMatchObject({ revenueCode: '0471', procedureCode: '92557', charge: 178 });
    expect(item.findings).toEqual([]);
    expect(readClaims(fixture('x12/837i/ppo-repriced-claim.837i')).problems).toMatchObject([
      { code: 'x12-component-separator', severity: 'error', claims: 1, position: { segment: 'CLM', element: 'CLM-05' }, details: { declared: ':', used: '>' } },
    ]);
  });
});

describe('an 837I line without its own date', () => {
  it('is dated by the statement period (DTP*434)', () => {
    const text = fixture('x12/837i/institutional-claim.837i')
      .replace('DTP*472*D8*19960911~\nLX*2', 'LX*2')
      .replace('SE*42*', 'SE*41*')
      .replace('DTP*434*D8*19960911', 'DTP*434*RD8*19960910-19960912');
    const item = onlyClaim(text);
    expect(canonical(item).lines[0]).toMatchObject({ serviceDate: '1996-09-10', serviceDateEnd: '1996-09-12' });
    expect(item.locate!('/lines/0/serviceDate')).toMatchObject({ segment: 'DTP', loop: '2300', element: 'DTP-03' });
    expect(item.findings).toEqual([]);
  });
});
