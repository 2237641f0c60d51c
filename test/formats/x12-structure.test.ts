import { describe, expect, it } from 'vitest';
import type { Finding } from '../../src/findings/finding.js';
import { completeResult, readClaims, type ReadClaim } from '../../src/formats/index.js';
import { tokenize } from '../../src/formats/x12/segments.js';
import { bundledScrubber, canonical, claimsOf, fixture, onlyClaim } from './support.js';

const example1 = fixture('x12/837p/demo.example1.837');
const institutional = fixture('x12/837i/institutional-claim.837i');

function structure(item: ReadClaim): Array<{ ruleId: string; segment?: string; position?: number; element?: string }> {
  return item.findings.map((f: Finding) => ({
    ruleId: f.ruleId,
    ...(f.source?.format === 'x12'
      ? { segment: f.source.segment, position: f.source.position, ...(f.source.element ? { element: f.source.element } : {}) }
      : {}),
  }));
}

function ruleIds(item: ReadClaim): string[] {
  return item.findings.map((f) => f.ruleId);
}

/** The file-level problems of a text, where they are. */
function problems(text: string): Array<{ code: string; segment?: string; position?: number; element?: string }> {
  return readClaims(text).problems.map((p) => ({
    code: p.code,
    ...(p.position?.format === 'x12' ? { segment: p.position.segment, position: p.position.position, ...(p.position.element ? { element: p.position.element } : {}) } : {}),
  }));
}

/** Removes one segment (by its exact text) and keeps SE01 right. */
function withoutSegment(text: string, segment: string): string {
  const shorter = text.replace(`${segment}~\n`, '');
  return shorter.replace(/SE\*(\d+)\*/, (_, n: string) => `SE*${Number(n) - 1}*`);
}

describe('a clean interchange', () => {
  it('gives its claim no structure findings', () => {
    expect(onlyClaim(example1).findings).toEqual([]);
  });

  it('every structure finding is in the structure category of the x12 pack', () => {
    const item = onlyClaim(example1.replace('SV1*HC:87070*15.00*UN*1.00***1', 'SV2*0300*HC:87070*15.00*UN*1').replace('LX*3', 'ZZZ*1~\nLX*3').replace('SE*40*', 'SE*41*'));
    expect(item.findings.length).toBeGreaterThan(1);
    for (const f of item.findings) expect(f).toMatchObject({ pack: 'x12', category: 'structure', severity: 'error' });
  });
});

describe('delimiters and layout', () => {
  const original = canonical(onlyClaim(example1));

  it('reads the separators the ISA declares', () => {
    const text = example1.replace(/\*/g, '|').replace(/:/g, '\\').replace(/~(\n|$)/g, '!$1');
    const item = onlyClaim(text);
    expect(canonical(item)).toEqual(original);
    expect(item.findings).toEqual([]);
  });

  it('reads a file whose segments are terminated by line breaks', () => {
    const text = example1.replace(/~\n/g, '\n').replace(/~$/, '\n');
    expect(canonical(onlyClaim(text))).toEqual(original);
  });

  it('reads a file with no line breaks between segments', () => {
    const text = example1.replace(/\n/g, '');
    expect(canonical(onlyClaim(text))).toEqual(original);
  });

  it('reads a file with CR LF line ends and a byte-order mark', () => {
    const text = '\ufeff' + example1.replace(/\n/g, '\r\n');
    const item = onlyClaim(text);
    expect(canonical(item)).toEqual(original);
    expect(item.findings).toEqual([]);
  });

  it('reads several interchanges in one file, with positions counted across the file', () => {
    const result = readClaims(example1 + '\n' + institutional);
    const claims = claimsOf(result);
    expect(claims.map((c) => canonical(c).claimId)).toEqual(['26463774', '756048Q']);
    expect(claims.map((c) => c.label)).toEqual(['ISA 000000907 ST 0021 claim 26463774', 'ISA 000000907 ST 987654 claim 756048Q']);
    // example1 has 44 segments; the 837I's CLM is its segment 22.
    expect(claims[1]!.locate!('/claimId')).toMatchObject({ segment: 'CLM', position: 44 + 22 });
  });

  it('reads each interchange with the separators its own ISA declares', () => {
    const second = institutional.replace(/\*/g, '|').replace(/:/g, '>').replace(/~(\n|$)/g, '\n');
    const claims = claimsOf(readClaims(example1 + second));
    expect(claims.map((c) => [canonical(c).claimId, canonical(c).lines[0].procedureCode])).toEqual([
      ['26463774', '99213'],
      ['756048Q', '85025'],
    ]);
    expect(claims.flatMap((c) => c.findings)).toEqual([]);
  });

  it('takes ISA11 as the repetition separator from version 00501 on, and not in 00401', () => {
    expect(tokenize(example1).segments[0]!.delimiters).toEqual({ element: '*', component: ':', segment: '~', repetition: '^' });
    const v4010 = example1.replace('*^*00501*', '*U*00401*');
    expect(tokenize(v4010).segments[0]!.delimiters).toEqual({ element: '*', component: ':', segment: '~' });
  });

  it('reads several transaction sets in one functional group', () => {
    const body = example1.slice(example1.indexOf('ST*'), example1.indexOf('GE*'));
    const second = body.replace(/0021/g, '0022').replace('26463774', '26463775');
    const text = example1.replace(body, body + second).replace('GE*1*1', 'GE*2*1');
    const claims = claimsOf(readClaims(text));
    expect(claims.map((c) => c.label)).toEqual(['ST 0021 claim 26463774', 'ST 0022 claim 26463775']);
    expect(claims.flatMap((c) => c.findings)).toEqual([]);
  });
});

describe('envelope counts and control numbers', () => {
  it('reports an SE01 that miscounts the segments once, at the SE segment, and not on the claim', () => {
    const result = readClaims(example1.replace('SE*40*0021', 'SE*41*0021'));
    expect(problems(example1.replace('SE*40*0021', 'SE*41*0021'))).toEqual([{ code: 'x12-se-count', segment: 'SE', position: 42, element: 'SE-01' }]);
    expect(result.problems[0]).toMatchObject({ severity: 'error', claims: 1, details: { expected: 40, declared: 41 } });
    expect(result.problems[0]!.message).toContain('segment 42');
    expect(claimsOf(result)[0]!.findings).toEqual([]);
  });

  it('reports mismatched control numbers of SE, GE and IEA', () => {
    const text = example1.replace('SE*40*0021', 'SE*40*0099').replace('GE*1*1', 'GE*1*7').replace('IEA*1*000000907', 'IEA*1*000000908');
    expect(problems(text)).toEqual([
      { code: 'x12-se-control-number', segment: 'SE', position: 42, element: 'SE-02' },
      { code: 'x12-ge-control-number', segment: 'GE', position: 43, element: 'GE-02' },
      { code: 'x12-iea-control-number', segment: 'IEA', position: 44, element: 'IEA-02' },
    ]);
  });

  it('reports wrong GE01 and IEA01 counts', () => {
    const result = readClaims(example1.replace('GE*1*1', 'GE*2*1').replace('IEA*1*', 'IEA*3*'));
    expect(result.problems.map((p) => p.code)).toEqual(['x12-ge-count', 'x12-iea-count']);
    expect(result.problems.map((p) => p.details)).toMatchObject([
      { expected: 1, declared: 2 },
      { expected: 1, declared: 3 },
    ]);
  });

  it('reports a transaction set problem once, saying how many claims the set holds, in its place among the claims', () => {
    const body = example1.slice(example1.indexOf('ST*'), example1.indexOf('GE*'));
    const second = body.replace(/0021/g, '0022').replace('26463774', '26463775').replace('SE*40*', 'SE*39*');
    const result = readClaims(example1.replace(body, body + second).replace('GE*1*1', 'GE*2*1'));
    expect(claimsOf(result).map(ruleIds)).toEqual([[], []]);
    expect(result.problems).toMatchObject([{ code: 'x12-se-count', claims: 1, position: { segment: 'SE', position: 82 } }]);
    expect(result.records.map((r) => (r.kind === 'problem' ? r.problem.code : r.label))).toEqual(['ST 0021 claim 26463774', 'ST 0022 claim 26463775', 'x12-se-count']);
  });

  it('reports an envelope problem once however many claims the envelope holds', () => {
    const claim = example1.slice(example1.indexOf('HL*2*1*22*1'), example1.indexOf('SE*'));
    const many = Array.from({ length: 30 }, (_, k) => claim.replace('HL*2*1*22*1', `HL*${2 * k + 2}*1*22*1`).replace('HL*3*2*23*0', `HL*${2 * k + 3}*${2 * k + 2}*23*0`).replace('26463774', `C${k}`)).join('');
    const text = example1.replace(claim, many);
    const result = readClaims(text);
    expect(claimsOf(result)).toHaveLength(30);
    expect(claimsOf(result).flatMap((c) => c.findings)).toEqual([]);
    expect(result.problems).toMatchObject([{ code: 'x12-se-count', claims: 30 }]);
  });
});

describe('an ISA of the wrong length', () => {
  it('is reported element by element, and the interchange is still read', () => {
    const text = example1.replace('*000000005      *', '*000000005     *');
    expect(problems(text)).toEqual([{ code: 'x12-isa-length', segment: 'ISA', position: 1, element: 'ISA-06' }]);
    expect(readClaims(text).problems[0]!.details).toMatchObject({ expectedLength: 106, length: 105, elements: [{ element: 'ISA06', expected: 15, found: 14 }] });
    expect(canonical(onlyClaim(text)).claimId).toBe('26463774');
  });

  it('that cannot be read at all is a problem naming the segment, not an exception', () => {
    const result = readClaims('ISA*00*short~GS*HC~');
    expect(result.format).toBe('x12');
    expect(result.items).toEqual([]);
    expect(result.problems).toMatchObject([{ code: 'x12-isa-unreadable', severity: 'error', position: { segment: 'ISA', position: 1 } }]);
  });

  it('declaring a letter as a separator is a problem', () => {
    const isa = example1.slice(0, 106);
    const result = readClaims(isa.slice(0, 104) + 'A~' + example1.slice(106));
    expect(result.problems.map((p) => p.code)).toEqual(['x12-delimiters']);
  });
});

describe('a truncated interchange', () => {
  const cut = example1.slice(0, example1.indexOf('LX*3'));

  it('still yields the claim with the lines that were read', () => {
    const item = onlyClaim(cut);
    expect(canonical(item).lines).toHaveLength(2);
  });

  it('reports the missing SE, GE and IEA at the segments that opened them', () => {
    expect(problems(cut)).toEqual([
      { code: 'x12-iea-missing', segment: 'ISA', position: 1 },
      { code: 'x12-ge-missing', segment: 'GS', position: 2 },
      { code: 'x12-se-missing', segment: 'ST', position: 3 },
    ]);
  });

  it('cut inside a segment reports the unterminated segment too', () => {
    const text = example1.slice(0, example1.indexOf('*35.00'));
    const found = readClaims(text).problems.find((p) => p.code === 'x12-segment-unterminated');
    expect(found).toMatchObject({ severity: 'error', position: { segment: 'SV1', position: 37 } });
  });

  it('is still scrubbed, its result carrying the rule findings', async () => {
    const scrubber = await bundledScrubber();
    const item = onlyClaim(cut.replace('203BF0100Y', '203BF0100X'));
    const result = completeResult(await scrubber.scrub(item.input, { asOf: '2026-01-01' }), item);
    expect(result.findings.filter((f) => f.pack !== 'x12').length).toBeGreaterThan(0);
    expect(result.packs.length).toBeGreaterThan(0);
    expect(result.summary.errors).toBe(result.findings.filter((f) => f.severity === 'error').length);
  });
});

describe('segments out of place and unknown segments', () => {
  it('reports a segment id the 837 does not define', () => {
    const text = example1.replace('REF*D9*', 'ZZZ*1~\nREF*D9*').replace('SE*40*', 'SE*41*');
    expect(structure(onlyClaim(text))).toEqual([{ ruleId: 'x12-unknown-segment', segment: 'ZZZ', position: 28 }]);
  });

  it('reports a claim segment inside a service line', () => {
    const text = withoutSegment(example1, 'HI*BK:0340*BF:V7389').replace('DTP*472*D8*20061010~\nSE', 'DTP*472*D8*20061010~\nHI*BK:0340~\nSE').replace('SE*39*', 'SE*40*');
    const item = onlyClaim(text);
    expect(ruleIds(item)).toEqual(['x12-segment-out-of-place', 'x12-missing-segment']);
    expect(item.findings[0]).toMatchObject({ lines: [4], source: { segment: 'HI', loop: '2400' } });
  });

  it('reports a service line before any claim, once, at the level it is in', () => {
    const text = example1.replace('CLM*26463774', 'LX*9~\nCLM*26463774').replace('SE*40*', 'SE*41*');
    expect(ruleIds(onlyClaim(text))).toEqual([]);
    expect(readClaims(text).problems).toMatchObject([{ code: 'x12-segment-out-of-place', claims: 1, position: { segment: 'LX', position: 27 } }]);
  });

  it('reports an SV2 in a professional claim', () => {
    const text = example1.replace('SV1*HC:87070*15.00*UN*1.00***1', 'SV2*0300*HC:87070*15.00*UN*1');
    expect(ruleIds(onlyClaim(text))).toEqual(['x12-segment-out-of-place', 'x12-missing-segment']);
  });

  it('reports an HL level code the 837 does not define', () => {
    expect(problems(example1.replace('HL*3*2*23*0', 'HL*3*2*99*0')).map((p) => p.code)).toContain('x12-unknown-loop');
  });
});

describe('missing required segments', () => {
  it('a missing NM1*85 is reported at the billing provider HL, and the claim is still read', () => {
    const item = onlyClaim(withoutSegment(example1, 'NM1*85*2*BEN KILDARE SERVICE*****XX*1912301953'));
    expect(structure(item)).toEqual([{ ruleId: 'x12-missing-segment', segment: 'HL', position: 8 }]);
    expect(item.findings[0]).toMatchObject({ path: '/billingProvider', details: { missing: 'NM1*85', loop: '2010AA' } });
    expect(canonical(item).claimId).toBe('26463774');
  });

  it('a subscriber level without CLM is a problem naming its HL, since no claim can be read', () => {
    const text = example1.slice(0, example1.indexOf('CLM*')) + 'SE*25*0021~\nGE*1*1~\nIEA*1*000000907~\n';
    const result = readClaims(text);
    expect(result.items).toEqual([]);
    expect(result.problems).toMatchObject([{ code: 'x12-missing-segment', severity: 'error', position: { segment: 'HL', position: 21 } }]);
  });

  it('a service line without SV1 is reported at its LX', () => {
    const item = onlyClaim(withoutSegment(example1, 'SV1*HC:87070*15.00*UN*1.00***1'));
    expect(item.findings).toMatchObject([{ ruleId: 'x12-missing-segment', lines: [2], path: '/lines/1', source: { segment: 'LX', position: 33 } }]);
  });

  it('a claim without HI is reported at its CLM', () => {
    const item = onlyClaim(withoutSegment(example1, 'HI*BK:0340*BF:V7389'));
    expect(item.findings).toMatchObject([{ ruleId: 'x12-missing-segment', path: '/diagnoses', source: { segment: 'CLM', position: 27 } }]);
  });
});

describe('transaction sets that are not 837 claims', () => {
  it('an 835 remittance is a problem, not a claim', () => {
    const text = example1.replace('ST*837*0021*005010X222A2', 'ST*835*0021*005010X221A1');
    const result = readClaims(text);
    expect(result.items).toEqual([]);
    expect(result.problems.map((p) => p.code)).toEqual(['x12-not-a-claim']);
  });

  it('an 837 of another guide (dental) is a problem naming the guide', () => {
    const text = example1.replace(/005010X222A2/g, '005010X224A2');
    expect(readClaims(text).problems).toMatchObject([{ code: 'x12-guide-unsupported', claims: 0, details: { version: '005010X224A2' }, position: { segment: 'ST', element: 'ST-03' } }]);
  });
});
