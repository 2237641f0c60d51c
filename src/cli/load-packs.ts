import path from 'node:path';
import { formatDiagnostic } from '../packs/diagnostics.js';
import { readPackSet, type PackLoadOptions } from '../packs/loader.js';
import type { PackSet } from '../packs/model.js';
import { write, type CliIo } from './io.js';

/**
 * Loads the packs a command needs, or prints every error (file:line:column) and returns undefined.
 * The table files come from the command's environment; `options` may add to how they load.
 */
export async function loadPacksOrReport(rulesDir: string, io: CliIo, options: Omit<PackLoadOptions, 'env'> = {}): Promise<PackSet | undefined> {
  const loaded = await readPackSet(rulesDir, undefined, { ...options, env: io.env });
  if (loaded.packSet) return loaded.packSet;
  const errors = loaded.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
  await write(io.stderr, `The rule packs in ${path.relative(io.cwd, rulesDir) || rulesDir} cannot be loaded:\n${errors.join('\n')}\n`);
  return undefined;
}
