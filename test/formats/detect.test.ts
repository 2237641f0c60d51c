import { describe, expect, it } from 'vitest';
import { detectFormat, readClaims } from '../../src/formats/index.js';
import { fixture } from './support.js';

const claim = { claimId: 'C-1', claimType: 'professional' };

describe('format detection from the content', () => {
  it('a JSON object is one claim, passed through as sent', () => {
    const r = readClaims(JSON.stringify(claim));
    expect(r.format).toBe('json');
    expect(r.items).toEqual([{ kind: 'claim', input: claim, label: 'claim C-1', findings: [] }]);
  });

  it('a JSON array is many claims, in order', () => {
    const r = readClaims(JSON.stringify([claim, { ...claim, claimId: 'C-2' }, 42]));
    expect(r.format).toBe('json');
    expect(r.items.map((i) => i.label)).toEqual(['item 1 (claim C-1)', 'item 2 (claim C-2)', 'item 3']);
  });

  it('several JSON objects on separate lines are NDJSON, one claim per line', () => {
    const text = `${JSON.stringify(claim)}\n\n${JSON.stringify({ ...claim, claimId: 'C-2' })}\r\n`;
    const r = readClaims(text);
    expect(r.format).toBe('ndjson');
    expect(r.items.map((i) => i.label)).toEqual(['line 1', 'line 3']);
  });

  it('a bad NDJSON line is an error item in its place, naming the line', () => {
    const r = readClaims(`${JSON.stringify(claim)}\n{"claimId": \n${JSON.stringify(claim)}`);
    expect(r.items.map((i) => i.kind)).toEqual(['claim', 'error', 'claim']);
    expect(r.items[1]).toMatchObject({ kind: 'error', label: 'line 2', error: { code: 'json-syntax', position: { format: 'ndjson', line: 2 } } });
  });

  it('a one-line file named .ndjson is NDJSON', () => {
    expect(detectFormat(JSON.stringify(claim), { filename: 'claims.ndjson' })).toBe('ndjson');
    expect(detectFormat(JSON.stringify(claim), { contentType: 'application/x-ndjson' })).toBe('ndjson');
  });

  it('X12 is recognised by ISA, after a byte-order mark and white space, whatever the file is called', () => {
    expect(detectFormat('\ufeff \r\n' + fixture('x12/837p/demo.example1.837'), { filename: 'claims.json' })).toBe('x12');
  });

  it('FHIR is recognised by resourceType Claim or Bundle', () => {
    expect(detectFormat(fixture('fhir/Claim-100150.json'))).toBe('fhir');
    expect(detectFormat(JSON.stringify({ resourceType: 'Bundle', entry: [] }))).toBe('fhir');
  });

  it('bytes are read as UTF-8', () => {
    const r = readClaims(new TextEncoder().encode(JSON.stringify(claim)));
    expect(r.items).toHaveLength(1);
  });
});

describe('input that is not claims', () => {
  it('empty input is a problem', () => {
    expect(readClaims(' \n').problems.map((p) => p.code)).toEqual(['empty-input']);
  });

  it('invalid JSON is a problem with its line and column, and no claim content in the message', () => {
    const r = readClaims('{\n  "claimId": "SECRET-NAME",\n  "lines": [1,,2]\n}');
    expect(r.format).toBe('json');
    expect(r.problems).toMatchObject([{ code: 'json-syntax', severity: 'error', position: { format: 'json', line: 3 } }]);
    expect(r.problems[0]!.message).not.toContain('SECRET-NAME');
  });

  it('an X12 file without ISA is a problem saying so', () => {
    const r = readClaims('ST*837*0001*005010X222A1~BHT*0019~', { filename: 'claims.837' });
    expect(r.format).toBe('unknown');
    expect(r.problems).toMatchObject([{ code: 'unknown-format', severity: 'error' }]);
    expect(r.problems[0]!.message).toContain('ISA');
  });

  it('anything else is an unknown format', () => {
    expect(readClaims('hello').problems.map((p) => p.code)).toEqual(['unknown-format']);
    expect(readClaims('<Claim/>').problems.map((p) => p.code)).toEqual(['unknown-format']);
  });

  it('an empty JSON array holds no claim', () => {
    expect(readClaims('[]').problems.map((p) => p.code)).toEqual(['no-claims']);
  });
});
