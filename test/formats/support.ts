import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Scrubber } from '../../src/engine/scrubber.js';
import { readClaims, type ReadClaim, type ReadResult } from '../../src/formats/index.js';
import { loadPackSet } from '../../src/packs/loader.js';
import { bundledRulesDir } from '../../src/paths.js';

export const fixturesDir = fileURLToPath(new URL('../fixtures/', import.meta.url));

export function fixture(relative: string): string {
  return readFileSync(`${fixturesDir}${relative}`, 'utf8');
}

export function fixtureNames(folder: string, suffix: string): string[] {
  return readdirSync(`${fixturesDir}${folder}`)
    .filter((f) => f.endsWith(suffix))
    .sort();
}

export const professionalSamples = fixtureNames('x12/837p', '.837').map((f) => `x12/837p/${f}`);
export const institutionalSamples = fixtureNames('x12/837i', '.837i').map((f) => `x12/837i/${f}`);
export const x12Samples = [...professionalSamples, ...institutionalSamples];
export const fhirSamples = fixtureNames('fhir', '.json').map((f) => `fhir/${f}`);

export function claimsOf(result: ReadResult): ReadClaim[] {
  return result.items.filter((i): i is ReadClaim => i.kind === 'claim');
}

/** The only claim of a text; fails the test when there is not exactly one. */
export function onlyClaim(text: string): ReadClaim {
  const claims = claimsOf(readClaims(text));
  if (claims.length !== 1) throw new Error(`expected one claim, read ${claims.length}`);
  return claims[0]!;
}

export function canonical(item: ReadClaim): any {
  return item.input as any;
}

let scrubber: Promise<Scrubber> | undefined;
export function bundledScrubber(): Promise<Scrubber> {
  scrubber ??= loadPackSet(bundledRulesDir).then((set) => new Scrubber(set));
  return scrubber;
}

/** 1-based ordinal of the segment that starts with `prefix`, counting segments split on `terminator`. */
export function segmentOrdinal(text: string, prefix: string, terminator = '~'): number {
  const segments = text.split(terminator).map((s) => s.replace(/^[\r\n]+/, ''));
  const index = segments.findIndex((s) => s.startsWith(prefix));
  if (index < 0) throw new Error(`no segment starts with ${prefix}`);
  return index + 1;
}

/** UTF-8 byte offset of the first occurrence of `needle`. */
export function byteOffsetOf(text: string, needle: string): number {
  const i = text.indexOf(needle);
  if (i < 0) throw new Error(`${needle} not found`);
  return Buffer.byteLength(text.slice(0, i), 'utf8');
}

/** Deterministic, so that fuzz failures reproduce. */
export { seededRandom as random } from '../support/generate-claims.js';
