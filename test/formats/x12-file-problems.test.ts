import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readClaims, type ReadResult } from '../../src/formats/index.js';
import { canonical, claimsOf, fixture, fixturesDir, onlyClaim } from './support.js';

/**
 * X12 as real senders write it (issue 14, items 1, 2, 3, 4, 5 and 7): each fixture in
 * test/fixtures/x12/variants is a TR3 example with one thing changed (see its NOTICE.md).
 */

const example1 = fixture('x12/837p/demo.example1.837');
const variant = (name: string) => fixture(`x12/variants/${name}`);
const codes = (read: ReadResult) => read.problems.map((p) => p.code);
const allFindings = (read: ReadResult) => claimsOf(read).flatMap((c) => c.findings);

describe('bytes after the last IEA', () => {
  it('white space, CR LF and a DOS end-of-file byte (0x1A) are ignored', () => {
    const read = readClaims(variant('trailing-whitespace-eof.837'));
    expect(read.problems).toEqual([]);
    expect(allFindings(read)).toEqual([]);
    expect(canonical(claimsOf(read)[0]!)).toEqual(canonical(onlyClaim(example1)));
  });

  it('anything else is one file-level problem, and the claims before it stay clean', () => {
    const read = readClaims(variant('trailing-text.837'));
    expect(read.problems).toMatchObject([
      { code: 'x12-outside-interchange', severity: 'error', claims: 0, position: { format: 'x12', segment: expect.any(String), position: 45 } },
    ]);
    expect(read.problems[0]!.message).toMatch(/^After the IEA that closes the interchange \(segment 44\), the file goes on with \d+ characters that no ISA opens/);
    expect(allFindings(read)).toEqual([]);
  });

  it('several segments after the IEA are still one problem, not one per segment', () => {
    const read = readClaims(`${example1}\nGS*HC*1~\nST*837*1~\nBHT*0019~\nSE*3*1~\n`);
    expect(codes(read)).toEqual(['x12-outside-interchange']);
    expect(read.problems[0]!.details).toMatchObject({ segments: 4, afterIea: 44 });
  });

  it('white space and 0x1A between two interchanges are ignored too', () => {
    const read = readClaims(`${example1} \x1a\r\n${example1.replace(/000000907/g, '000000908')}`);
    expect(claimsOf(read)).toHaveLength(2);
    expect(read.problems).toEqual([]);
  });
});

describe('the version of the 837', () => {
  it('a 4010 file (004010X098A1 in GS08, no ST03) is refused with one problem naming the version and the HIPAA rule', () => {
    const read = readClaims(variant('version-4010.837'));
    expect(claimsOf(read)).toEqual([]);
    expect(read.problems).toMatchObject([
      {
        code: 'x12-version-unsupported',
        severity: 'error',
        claims: 0,
        details: { version: '004010X098A1', release: '004010', required: '005010' },
        position: { segment: 'GS', element: 'GS-08' },
      },
    ]);
    expect(read.problems[0]!.message).toContain('version 004010');
    expect(read.problems[0]!.message).toContain('HIPAA requires version 005010');
  });

  it('ST03 wins over GS08 when both are given', () => {
    const read = readClaims(example1.replace('ST*837*0021*005010X222A2', 'ST*837*0021*004010X098A1'));
    expect(read.problems).toMatchObject([{ code: 'x12-version-unsupported', position: { segment: 'ST', element: 'ST-03' } }]);
  });

  it('a transaction set that names no version at all is refused the same way', () => {
    const read = readClaims(example1.replace('*X*005010X222A2~', '*X*~').replace('ST*837*0021*005010X222A2', 'ST*837*0021'));
    expect(read.problems).toMatchObject([{ code: 'x12-version-unsupported', details: { version: '' } }]);
  });

  it('5010 professional and institutional files are read', () => {
    expect(codes(readClaims(example1))).toEqual([]);
    expect(codes(readClaims(fixture('x12/837i/institutional-claim.837i')))).toEqual([]);
  });
});

describe('file-level problems are not claims', () => {
  it('an 835 after the 837 is one problem, in its place after the claim', () => {
    const read = readClaims(variant('837-then-835.x12'));
    expect(read.items).toHaveLength(1);
    expect(read.records.map((r) => (r.kind === 'problem' ? r.problem.code : r.kind))).toEqual(['claim', 'x12-not-a-claim']);
    expect(read.problems[0]).toMatchObject({ claims: 0, position: { segment: 'ST', element: 'ST-01' }, details: { transactionSet: '835' } });
    expect(read.problems[0]!.message).toMatch(/^ST at segment 47 opens transaction set 835, not an 837 claim/);
  });

  it('a subscriber level without a claim is one problem, in its place', () => {
    const read = readClaims(variant('subscriber-without-claim.837'));
    expect(read.records.map((r) => (r.kind === 'problem' ? r.problem.code : r.kind))).toEqual(['claim', 'x12-missing-segment']);
    expect(read.problems[0]).toMatchObject({ claims: 0, position: { segment: 'HL', position: 42 } });
  });
});

describe('envelope problems', () => {
  it('an SE01 error in a transaction set of 30 claims is reported once, not on each claim', () => {
    const read = readClaims(variant('thirty-claims-se-count-wrong.837'));
    expect(claimsOf(read)).toHaveLength(30);
    expect(allFindings(read)).toEqual([]);
    expect(read.problems).toMatchObject([{ code: 'x12-se-count', claims: 30, position: { segment: 'SE', element: 'SE-01' } }]);
  });
});

describe('structural defects payers reject', () => {
  it('an 837I with other diagnoses (ABF) and no principal one (ABK)', () => {
    const item = onlyClaim(variant('abf-without-abk.837i'));
    expect(item.findings).toMatchObject([
      { ruleId: 'x12-principal-diagnosis-missing', category: 'structure', severity: 'error', path: '/diagnoses/0', source: { segment: 'HI', element: 'HI-01-1', loop: '2300' } },
    ]);
  });

  it('the principal diagnosis is read first wherever its HI stands', () => {
    const text = fixture('x12/837i/institutional-claim.837i').replace('HI*BK:3669~\nHI*BF:4019*BF:79431~', 'HI*ABF:I10*ABF:R9431~\nHI*ABK:R69~');
    const item = onlyClaim(text);
    expect(canonical(item).diagnoses.map((d: { code: string }) => d.code)).toEqual(['R69', 'I10', 'R9431']);
    expect(item.findings).toEqual([]);
  });

  it('an empty CLM05: no facility code, no frequency code', () => {
    const item = onlyClaim(variant('clm05-empty.837'));
    expect(item.findings).toMatchObject([
      { ruleId: 'x12-missing-element', severity: 'error', path: '/placeOfService', source: { segment: 'CLM', element: 'CLM-05' }, details: { missing: ['CLM05-1', 'CLM05-3'] } },
    ]);
  });

  it('a CLM05 without its frequency code names the component', () => {
    const item = onlyClaim(example1.replace('*11:B:1*', '*11:B*'));
    expect(item.findings).toMatchObject([{ ruleId: 'x12-missing-element', path: '/frequencyCode', source: { element: 'CLM-05-3' } }]);
  });

  it('two HL segments with one id', () => {
    const read = readClaims(variant('hl-duplicate-id.837'));
    expect(read.problems).toMatchObject([
      { code: 'x12-hl-duplicate-id', severity: 'error', claims: 1, position: { segment: 'HL', position: 21, element: 'HL-01' }, details: { id: '2', firstAt: 17 } },
    ]);
  });

  it('an HL parent id that points nowhere, on the billing provider level', () => {
    const read = readClaims(variant('hl-parent-nowhere.837'));
    expect(read.problems).toMatchObject([{ code: 'x12-hl-parent', claims: 1, position: { segment: 'HL', position: 8, element: 'HL-02' }, details: { parentId: '7' } }]);
  });

  it('an HL parent id that points nowhere, on a subscriber level', () => {
    const read = readClaims(example1.replace('HL*2*1*22*1', 'HL*2*5*22*1'));
    expect(read.problems).toMatchObject([{ code: 'x12-hl-parent', position: { position: 17 }, details: { parentId: '5' } }]);
    expect(read.problems[0]!.message).toContain('"5" names no earlier HL');
  });
});

describe('wording and detection', () => {
  it('a control character in a segment id is shown escaped', () => {
    const [finding] = onlyClaim(variant('control-character.837')).findings;
    expect(finding!.message).toContain('"Z\\x07Z" is not a segment of the 837');
    expect(finding!.message).not.toMatch(/[\u0000-\u001f]/);
  });

  it('a segment with no id is named as such, not "segment at segment N"', () => {
    const [finding] = onlyClaim(variant('empty-segment-id.837')).findings;
    expect(finding).toMatchObject({ ruleId: 'x12-unknown-segment', source: { position: 29 } });
    expect(finding!.message).toBe('Segment 29 has no segment id: it starts with the element separator "*" (loop 2300). Remove it, or give it its id.');
    expect(finding!.message).not.toContain('segment at segment');
  });

  it('UTF-16 is recognised and refused as UTF-16, from bytes or from a text decoded as UTF-8', () => {
    const bytes = readFileSync(`${fixturesDir}x12/variants/utf-16le.837`);
    for (const input of [bytes, bytes.toString('utf8')]) {
      const read = readClaims(input);
      expect(read.problems).toMatchObject([{ code: 'unsupported-encoding', severity: 'error', details: { encoding: 'UTF-16LE' } }]);
      expect(read.problems[0]!.message).toMatch(/^The input is UTF-16LE text/);
    }
    const bigEndian = Buffer.from(bytes.toString('utf16le'), 'utf16le').swap16();
    expect(readClaims(bigEndian).problems[0]!.details).toEqual({ encoding: 'UTF-16BE' });
  });

  it('a file wrapped at 80 columns is read, with one warning instead of a cascade', () => {
    const read = readClaims(variant('wrapped-80.837'));
    expect(read.problems).toMatchObject([{ code: 'x12-wrapped-lines', severity: 'warning', claims: 1, details: { width: 80 } }]);
    const item = claimsOf(read)[0]!;
    expect(canonical(item)).toEqual(canonical(onlyClaim(example1)));
    expect(item.findings).toEqual([]);
  });

  it('a file wrapped with LF line ends and ended by 0x1A is read the same way', () => {
    const read = readClaims(variant('wrapped-80.837').replace(/\r\n/g, '\n') + '\x1a');
    expect(read.problems).toMatchObject([{ code: 'x12-wrapped-lines', details: { width: 80 } }]);
    expect(canonical(claimsOf(read)[0]!)).toEqual(canonical(onlyClaim(example1)));
  });

  it('a wrapped file still gives byte offsets of the file itself', () => {
    const text = variant('wrapped-80.837');
    const item = claimsOf(readClaims(text))[0]!;
    const clm = text.replace(/\r\n/g, '').indexOf('CLM*26463774');
    const lineBreaksBefore = Math.floor(clm / 80) * 2;
    expect(item.locate!('/claimId')).toMatchObject({ segment: 'CLM', position: 27, offset: clm + lineBreaksBefore });
  });

  it('segments on lines of their own are not taken for a wrapped file', () => {
    expect(codes(readClaims(example1.replace(/~\n/g, '~\r\n')))).toEqual([]);
  });
});
