import { describe, expect, it } from 'vitest';
import { readClaims } from '../../src/formats/index.js';
import { canonical, claimsOf, fixture, onlyClaim } from './support.js';

const example1 = fixture('x12/837p/demo.example1.837');
const institutional = fixture('x12/837i/institutional-claim.837i');

/** Inserts segments after the one that starts with `after`, keeping SE01 right. */
function insertAfter(text: string, after: string, ...segments: string[]): string {
  const at = text.indexOf('~', text.indexOf(after)) + 1;
  const inserted = text.slice(0, at) + segments.map((s) => `\n${s}~`).join('') + text.slice(at);
  return inserted.replace(/SE\*(\d+)\*/, (_, n: string) => `SE*${Number(n) + segments.length}*`);
}

describe('837P claim-level details', () => {
  it('reads the prior authorization from REF*G1 and attachments from PWK with their control number', () => {
    const text = insertAfter(example1, 'REF*D9*', 'PWK*OZ*EL***AC*ATT-1', 'REF*G1*PA-123');
    const item = onlyClaim(text);
    expect(canonical(item)).toMatchObject({ priorAuthorization: 'PA-123', attachments: [{ type: 'OZ', transmission: 'EL', controlNumber: 'ATT-1' }] });
    expect(item.locate!('/attachments/0/controlNumber')).toMatchObject({ segment: 'PWK', element: 'PWK-06', loop: '2300' });
    expect(item.findings).toEqual([]);
  });

  it('reads ICD-10 diagnoses (ABK/ABF) as given, without the dot', () => {
    const claim = canonical(onlyClaim(example1.replace('HI*BK:0340*BF:V7389', 'HI*ABK:E119*ABF:I10')));
    expect(claim.diagnoses).toEqual([{ code: 'E119' }, { code: 'I10' }]);
  });

  it('reads the referring provider from 2310A NM1*DN and the rendering provider from 2310B NM1*82', () => {
    const text = insertAfter(example1, 'HI*', 'NM1*DN*1*WELBY*MARCUS****XX*1245319599', 'NM1*82*1*KILDARE*BEN****XX*1234567893', 'PRV*PE*PXC*207Q00000X');
    const item = onlyClaim(text);
    expect(canonical(item).referringProvider).toEqual({ npi: '1245319599', name: 'MARCUS WELBY' });
    expect(canonical(item).renderingProvider).toEqual({ npi: '1234567893', name: 'BEN KILDARE', taxonomy: '207Q00000X' });
    expect(item.locate!('/referringProvider/npi')).toMatchObject({ loop: '2310A', element: 'NM1-09' });
    expect(item.locate!('/renderingProvider/taxonomy')).toMatchObject({ loop: '2310B', element: 'PRV-03' });
  });

  it('reads a line rendering provider from 2420A and a line description from NTE', () => {
    const text = insertAfter(example1, 'DTP*472*D8*20061003~\nLX*2', 'NM1*82*1*JONES*ANN****XX*1245319599').replace(
      'SV1*HC:87070*15.00*UN*1.00***1~\nDTP*472*D8*20061003~',
      'SV1*HC:87070*15.00*UN*1.00***1~\nDTP*472*D8*20061003~\nNTE*ADD*CULTURE, AEROBIC~',
    ).replace(/SE\*(\d+)\*/, (_, n: string) => `SE*${Number(n) + 1}*`);
    const item = onlyClaim(text);
    expect(canonical(item).lines[1]).toMatchObject({ description: 'CULTURE, AEROBIC' });
    expect(canonical(item).lines[0].renderingProvider).toEqual({ npi: '1245319599', name: 'ANN JONES' });
    expect(item.locate!('/lines/0/renderingProvider/npi')).toMatchObject({ loop: '2420A', element: 'NM1-09' });
    expect(item.findings).toEqual([]);
  });

  it('reads up to four modifiers and a line place of service', () => {
    const claim = canonical(onlyClaim(example1.replace('SV1*HC:87070*15.00*UN*1.00***1', 'SV1*HC:87070:91:59:XU:76*15.00*UN*2*22**1:2')));
    expect(claim.lines[1]).toMatchObject({ modifiers: ['91', '59', 'XU', '76'], units: 2, placeOfService: '22', diagnosisPointers: [1, 2] });
  });

  it('maps claim filing indicators to payer types', () => {
    const typeFor = (code: string) => canonical(onlyClaim(example1.replace('SBR*P**2222-SJ******CI', `SBR*P**2222-SJ******${code}`))).payer.type;
    expect(['MB', 'MA', '16', 'MC', 'CI', 'BL', 'HM', '12', 'CH', 'WC', 'ZZ'].map(typeFor)).toEqual([
      'medicare', 'medicare', 'medicare', 'medicaid', 'commercial', 'commercial', 'commercial', 'commercial', 'other', 'other', 'other',
    ]);
  });

  it('passes a malformed amount through for the claim schema to report at its element', () => {
    const item = onlyClaim(example1.replace('SV1*HC:87070*15.00', 'SV1*HC:87070*15,00'));
    expect(canonical(item).lines[1].charge).toBe('15,00');
    expect(item.locate!('/lines/1/charge')).toMatchObject({ segment: 'SV1', element: 'SV1-02' });
  });

  it('reports an HL whose parent is not the level above it, once, at its level, and still reads the claim', () => {
    const text = example1.replace('HL*3*2*23*0', 'HL*3*9*23*0');
    const item = onlyClaim(text);
    expect(item.findings).toEqual([]);
    expect(readClaims(text).problems).toMatchObject([{ code: 'x12-hl-parent', claims: 1, position: { segment: 'HL', element: 'HL-02' } }]);
    expect(canonical(item).patient.lastName).toBe('SMITH');
  });
});

describe('837I claim-level details', () => {
  it('reads present-on-admission indicators from HI0n-9', () => {
    const claim = canonical(onlyClaim(institutional.replace('HI*BK:3669~', 'HI*ABK:R69:::::::Y~').replace('HI*BF:4019*BF:79431', 'HI*ABF:I10:::::::N*ABF:R9431')));
    expect(claim.diagnoses).toEqual([{ code: 'R69', presentOnAdmission: 'Y' }, { code: 'I10', presentOnAdmission: 'N' }, { code: 'R9431' }]);
  });

  it('takes the discharge date from the statement period when a discharge hour is given', () => {
    const text = insertAfter(institutional.replace('DTP*434*D8*19960911', 'DTP*434*RD8*19960905-19960911'), 'DTP*434', 'DTP*435*D8*19960905', 'DTP*096*TM*1130');
    const claim = canonical(onlyClaim(text));
    expect(claim).toMatchObject({ statementFromDate: '1996-09-05', statementToDate: '1996-09-11', admissionDate: '1996-09-05', dischargeDate: '1996-09-11' });
  });

  it('reports an SV1 in an institutional claim', () => {
    const text = institutional.replace('SV2*0305*HC:85025*13.39*UN*1.00', 'SV1*HC:85025*13.39*UN*1.00');
    expect(onlyClaim(text).findings.map((f) => f.ruleId)).toEqual(['x12-segment-out-of-place', 'x12-missing-segment']);
  });

  it('reads many claims of many transaction sets and interchanges in file order', () => {
    const text = [example1, institutional, fixture('x12/837i/two-claims-single-provider.837i')].join('');
    expect(claimsOf(readClaims(text)).map((c) => canonical(c).claimId)).toEqual(['26463774', '756048Q', '756048Q', '756049Q']);
  });
});
