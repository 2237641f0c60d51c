import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { bundledRulesDir } from '../../src/paths.js';

const made: string[] = [];
afterEach(async () => {
  for (const d of made.splice(0)) await rm(d, { recursive: true, force: true });
});

/** A throwaway copy of the bundled rules folder, removed after the test. */
export async function rulesCopy(): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'scrub-rules-'));
  made.push(root);
  await cp(bundledRulesDir, root, { recursive: true });
  return root;
}

/** Edits one file of a rules copy in place. */
export async function editFile(root: string, file: string, change: (text: string) => string): Promise<void> {
  const f = path.join(root, file);
  await writeFile(f, change(await readFile(f, 'utf8')));
}
