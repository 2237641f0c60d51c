import path from 'node:path';
import { formatDiagnostic } from '../packs/diagnostics.js';
import { readPackSet } from '../packs/loader.js';
import type { PackSet } from '../packs/model.js';
import { write, type CliIo } from './io.js';

/** Loads the packs a command needs, or prints every error (file:line:column) and returns undefined. */
export async function loadPacksOrReport(rulesDir: string, io: CliIo): Promise<PackSet | undefined> {
  const loaded = await readPackSet(rulesDir, undefined, { env: io.env });
  if (loaded.packSet) return loaded.packSet;
  const errors = loaded.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
  await write(io.stderr, `The rule packs in ${path.relative(io.cwd, rulesDir) || rulesDir} cannot be loaded:\n${errors.join('\n')}\n`);
  return undefined;
}
