import { describe, expect, it } from 'vitest';
import type { ScrubResult } from '../../src/findings/finding.js';
import { completeResult, readClaims, scrubRead, SourceMap, withSources } from '../../src/formats/index.js';
import { bundledScrubber, byteOffsetOf, fixture, onlyClaim, segmentOrdinal } from './support.js';

// demo.example1.837 with a valid taxonomy, so that the claim passes the schema and the rule packs run.
const example1 = fixture('x12/837p/demo.example1.837').replace('203BF0100Y', '203BF0100X');

async function scrubText(text: string): Promise<ScrubResult> {
  const scrubber = await bundledScrubber();
  const item = onlyClaim(text);
  return completeResult(await scrubber.scrub(item.input, { asOf: '2026-01-01' }), item);
}

describe('findings on a claim read from X12', () => {
  it('a broken first modifier on line 2 maps to 2400 SV1-01-3 at that segment', async () => {
    const broken = 'SV1*HC:87070:X*15.00';
    const text = example1.replace('SV1*HC:87070*15.00', broken);
    const result = await scrubText(text);
    const finding = result.findings.find((f) => f.path === '/lines/1/modifiers/0');
    expect(finding).toMatchObject({ category: 'structure', lines: [2] });
    expect(finding!.source).toEqual({
      format: 'x12',
      segment: 'SV1',
      position: segmentOrdinal(text, broken),
      offset: byteOffsetOf(text, broken),
      loop: '2400',
      element: 'SV1-01-3',
    });
    expect(finding!.source).toMatchObject({ position: 34 });
  });

  it('a rule finding on a line\'s modifiers maps to the composite SV1-01', async () => {
    const text = example1.replace('SV1*HC:87070*15.00', 'SV1*HC:87070:LT:RT*15.00');
    const result = await scrubText(text);
    const finding = result.findings.find((f) => f.ruleId === 'lt-rt-same-line');
    expect(finding!.path).toBe('/lines/1/modifiers');
    expect(finding!.source).toMatchObject({ segment: 'SV1', loop: '2400', element: 'SV1-01', position: 34 });
  });

  it('a finding about an absent field maps to the nearest segment that holds its parent', async () => {
    // J-code drugs need an NDC: the finding points at /lines/1/ndc, which the file lacks.
    const text = example1.replace('SV1*HC:87070*15.00', 'SV1*HC:J1100*15.00');
    const result = await scrubText(text);
    const finding = result.findings.find((f) => f.path === '/lines/1/ndc');
    expect(finding).toBeDefined();
    expect(finding!.source).toEqual({
      format: 'x12',
      segment: 'SV1',
      position: 34,
      offset: byteOffsetOf(text, 'SV1*HC:J1100'),
      loop: '2400',
    });
  });

  it('byte offsets count UTF-8 bytes, not characters', () => {
    const text = example1.replace('BEN KILDARE SERVICE', 'BÉN KILDARÉ SERVICE');
    const item = onlyClaim(text);
    const source = item.locate!('/lines/3/charge');
    expect(source).toMatchObject({ segment: 'SV1', element: 'SV1-02', offset: byteOffsetOf(text, 'SV1*HC:86663') });
    expect(source!.format === 'x12' && source!.offset).toBe(text.indexOf('SV1*HC:86663') + 2);
  });

  it('header fields map to their loops and elements', () => {
    const item = onlyClaim(example1);
    const at = (pointer: string) => {
      const s = item.locate!(pointer);
      return s?.format === 'x12' ? `${s.loop} ${s.element ?? s.segment} #${s.position}` : undefined;
    };
    expect(at('/billingProvider/npi')).toBe('2010AA NM1-09 #10');
    expect(at('/billingProvider/taxId')).toBe('2010AA REF-02 #13');
    expect(at('/billingProvider/taxonomy')).toBe('2000A PRV-03 #9');
    expect(at('/patient/birthDate')).toBe('2010CA DMG-02 #26');
    expect(at('/patient/memberId')).toBe('2010BA NM1-09 #19');
    expect(at('/payer/type')).toBe('2000B SBR-09 #18');
    expect(at('/diagnoses/1/code')).toBe('2300 HI-02-2 #29');
    expect(at('/claimId')).toBe('2300 CLM-01 #27');
    expect(at('/lines/2/serviceDate')).toBe('2400 DTP-03 #38');
    expect(at('/lines/0/diagnosisPointers/0')).toBe('2400 SV1-07-1 #31');
    expect(at('/claimType')).toBe('ST ST-03 #3');
    expect(at('/renderingProvider/npi')).toBe('2300 CLM #27');
  });
});

describe('findings on a claim read from FHIR', () => {
  const med = JSON.parse(fixture('fhir/Claim-MED-00050.json'));

  it('a broken modifier maps to Claim.item[0].modifier[0]', async () => {
    med.item[0].modifier = [{ coding: [{ code: 'X' }] }];
    const scrubber = await bundledScrubber();
    const [out] = await scrubRead(scrubber, readClaims(JSON.stringify(med)).items, { asOf: '2026-01-01' });
    const result = (out as { result: ScrubResult }).result;
    const finding = result.findings.find((f) => f.path === '/lines/0/modifiers/0');
    expect(finding!.source).toEqual({ format: 'fhir', expression: 'Claim.item[0].modifier[0]' });
  });

  it('a missing birth date maps to the contained Patient', async () => {
    const copy = JSON.parse(fixture('fhir/Claim-MED-00050.json'));
    delete copy.contained[0].birthDate;
    const scrubber = await bundledScrubber();
    const [out] = await scrubRead(scrubber, readClaims(JSON.stringify(copy)).items);
    const finding = (out as { result: ScrubResult }).result.findings.find((f) => f.path === '/patient/birthDate');
    expect(finding!.source).toEqual({ format: 'fhir', expression: 'Claim.contained[0].birthDate' });
  });
});

describe('decorating results', () => {
  const result: ScrubResult = {
    claimId: 'C-1',
    outcome: 'fail',
    summary: { errors: 1, warnings: 0, infos: 0 },
    findings: [{ ruleId: 'r', pack: 'p', category: 'modifier', severity: 'error', message: 'm', lines: [2], path: '/lines/1/modifiers', details: {} }],
    packs: [],
  };

  it('leaves JSON claims (no locator) exactly as they were', () => {
    expect(withSources(result, undefined)).toBe(result);
  });

  it('adds the source of the nearest recorded ancestor pointer', () => {
    const map = new SourceMap();
    map.record('/lines/1', { format: 'fhir', expression: 'Claim.item[1]' });
    map.record('', { format: 'fhir', expression: 'Claim' });
    const decorated = withSources(result, map.locator());
    expect(decorated.findings[0]!.source).toEqual({ format: 'fhir', expression: 'Claim.item[1]' });
    expect(result.findings[0]!.source).toBeUndefined();
  });

  it('merging the reader findings recomputes the summary and the outcome', () => {
    const passing: ScrubResult = { ...result, outcome: 'pass', summary: { errors: 0, warnings: 0, infos: 0 }, findings: [] };
    const item = onlyClaim(example1.replace('LX*3', 'ZZZ*1~\nLX*3').replace('SE*40*', 'SE*41*'));
    const merged = completeResult(passing, item);
    expect(merged.outcome).toBe('fail');
    expect(merged.summary.errors).toBe(1);
  });
});
