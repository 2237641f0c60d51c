import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Scrubber } from '../src/engine/scrubber.js';
import { loadPackSet } from '../src/packs/loader.js';
import type { PackSet } from '../src/packs/model.js';
import { bundledRulesDir, packageRoot } from '../src/paths.js';

let bundled: Promise<PackSet> | undefined;
/** The bundled packs, loaded once per test file. */
export function bundledPacks(): Promise<PackSet> {
  bundled ??= loadPackSet(bundledRulesDir);
  return bundled;
}

export async function bundledScrubber(): Promise<Scrubber> {
  return new Scrubber(await bundledPacks());
}

export function exampleClaim(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(packageRoot, 'examples/claims', name), 'utf8')) as Record<string, unknown>;
}

export function fixtureClaim(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(bundledRulesDir, 'fixtures', `${name}.json`), 'utf8')) as Record<string, unknown>;
}
