import { describe, expect, it } from 'vitest';
import { completeResult, readClaims, type ReadResult } from '../../src/formats/index.js';
import { bundledScrubber, claimsOf, fhirSamples, fixture, random, x12Samples } from './support.js';

const samples = [...x12Samples, ...fhirSamples];
const VARIANTS = 25;

function noInternalError(result: ReadResult): void {
  expect(result.problems.map((p) => p.code)).not.toContain('internal-error');
}

function flipBytes(text: string, next: () => number, count: number): string {
  const chars = [...text];
  const alphabet = '*:~^>|\n\r ISAGSTSEGEIEAHLCLMLXSV1SV2NM1 0123456789\u00e9\ufeff';
  for (let k = 0; k < count; k++) {
    const at = Math.floor(next() * chars.length);
    const roll = next();
    if (roll < 0.6) chars[at] = alphabet[Math.floor(next() * alphabet.length)]!;
    else if (roll < 0.8) chars.splice(at, 1);
    else chars.splice(at, 0, alphabet[Math.floor(next() * alphabet.length)]!);
  }
  return chars.join('');
}

describe('damaged samples never make the reader throw', () => {
  it.each(samples)('%s cut at random places', (name) => {
    const text = fixture(name);
    const next = random(name.length * 7919);
    for (let v = 0; v < VARIANTS; v++) {
      const cut = text.slice(0, Math.floor(next() * text.length));
      noInternalError(readClaims(cut));
    }
  });

  it.each(samples)('%s with random bytes changed, removed or inserted', (name) => {
    const text = fixture(name);
    const next = random(name.length * 104729);
    for (let v = 0; v < VARIANTS; v++) {
      noInternalError(readClaims(flipBytes(text, next, 1 + Math.floor(next() * 8))));
    }
  });

  it('the claims that could still be read are scrubbed without error', async () => {
    const scrubber = await bundledScrubber();
    const next = random(2026);
    for (const name of x12Samples) {
      const text = fixture(name);
      for (let v = 0; v < 5; v++) {
        const damaged = flipBytes(text, next, 3);
        for (const item of claimsOf(readClaims(damaged))) {
          const result = completeResult(await scrubber.scrub(item.input, { asOf: '2026-01-01' }), item);
          expect(['pass', 'fail']).toContain(result.outcome);
        }
      }
    }
  });
});

/** A large 837P: `claims` copies of one claim (subscriber HL, CLM, 4 lines) in one transaction set. */
function large837(claims: number): string {
  const parts: string[] = [];
  parts.push('ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *260301*1200*^*00501*000000001*0*P*:~');
  parts.push('GS*HC*SUBMITTER*RECEIVER*20260301*1200*1*X*005010X222A1~');
  parts.push('ST*837*0001*005010X222A1~');
  parts.push('BHT*0019*00*1*20260301*1200*CH~');
  parts.push('NM1*41*2*SUBMITTER*****46*S1~');
  parts.push('NM1*40*2*RECEIVER*****46*R1~');
  parts.push('HL*1**20*1~');
  parts.push('NM1*85*2*BAY CLINIC*****XX*1234567893~');
  parts.push('REF*EI*123456789~');
  let segments = 7;
  for (let c = 0; c < claims; c++) {
    const hl = c + 2;
    const block = [
      `HL*${hl}*1*22*0~`,
      'SBR*P*18*******CI~',
      `NM1*IL*1*DOE*JANE****MI*M${c}~`,
      'DMG*D8*19700101*F~',
      'NM1*PR*2*PAYER*****PI*P1~',
      `CLM*C${c}*160.00***11:B:1*Y*A*Y*Y~`,
      'HI*ABK:E119*ABF:I10~',
      'LX*1~',
      'SV1*HC:99213:25*120.00*UN*1***1:2~',
      'DTP*472*D8*20260220~',
      'LX*2~',
      'SV1*HC:11102*40.00*UN*1***1~',
      'DTP*472*D8*20260220~',
    ];
    segments += block.length;
    parts.push(block.join('\n'));
  }
  parts.push(`SE*${segments + 1}*0001~`);
  parts.push('GE*1*1~');
  parts.push('IEA*1*000000001~');
  return parts.join('\n');
}

describe('hostile X12', () => {
  const example1 = fixture('x12/837p/demo.example1.837');

  it('with tens of thousands of unknown segments in one claim gives a capped list of findings, fast', () => {
    const junk = Array.from({ length: 50_000 }, (_, i) => `ZZ${i % 10}*${i}~\n`).join('');
    const text = example1.replace('REF*D9*', `${junk}REF*D9*`);
    const before = process.cpuUsage();
    const claims = claimsOf(readClaims(text));
    const used = process.cpuUsage(before);
    expect(claims).toHaveLength(1);
    const ids = claims[0]!.findings.map((f) => f.ruleId);
    expect(ids.filter((id) => id === 'x12-unknown-segment')).toHaveLength(50);
    expect(ids).toContain('x12-too-many-problems');
    expect((used.user + used.system) / 1000).toBeLessThan(3_000);
  });

  it('with tens of thousands of levels and no claim gives a capped list of problems, fast', () => {
    const levels = Array.from({ length: 30_000 }, (_, i) => `HL*${i + 10}*1*22*0~\nSBR*P*18*******CI~\n`).join('');
    const text = example1.replace('HL*2*1*22*1~', `${levels}HL*2*1*22*1~`);
    const before = process.cpuUsage();
    const result = readClaims(text);
    const used = process.cpuUsage(before);
    expect(claimsOf(result)).toHaveLength(1);
    expect(result.problems.length).toBeLessThanOrEqual(101);
    expect(result.problems.at(-1)!.code).toBe('x12-too-many-problems');
    expect((used.user + used.system) / 1000).toBeLessThan(3_000);
  });
});

describe('a large 837', () => {
  it('of 10 MB is read in linear time, well under a few seconds', () => {
    const text = large837(36_000);
    expect(text.length).toBeGreaterThan(10_000_000);
    // CPU time rather than wall time: other test files run in parallel on the same cores.
    const before = process.cpuUsage();
    const result = readClaims(text);
    const used = process.cpuUsage(before);
    const cpuMillis = (used.user + used.system) / 1000;
    expect(claimsOf(result)).toHaveLength(36_000);
    expect(result.problems).toEqual([]);
    expect(claimsOf(result).every((c) => c.findings.length === 0)).toBe(true);
    // Measured at 1.2-1.6 s of CPU (garbage collector threads included) on a 2-core machine that
    // was busy with other work; the bound catches a quadratic slip, not noise.
    expect(cpuMillis).toBeLessThan(6_000);
  });
});
