import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

const made: string[] = [];
afterAll(async () => {
  for (const d of made.splice(0)) await rm(d, { recursive: true, force: true });
});

/** An empty temporary folder, removed after the test file. */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** A pack.yaml head for a throwaway pack; `extra` adds top-level blocks (tables:, parameters:). */
export function packYaml(name: string, extra = ''): string {
  return `name: ${name}\nversion: "1.0.0"\ntitle: ${name} pack\ndescription: A pack written by a test.\nowner: Test Owners <owners@example.org>\n${extra}`;
}

/**
 * A rules folder in a temporary directory holding one pack: its pack.yaml, rules/rules.yaml and
 * any other files given by path relative to the pack folder. Removed after the test file.
 */
export async function tempPack(options: { name?: string; pack?: string; rules: string; files?: Record<string, string> }): Promise<{ root: string; dir: string }> {
  const root = await tempDir('scrub-temp-pack-');
  const name = options.name ?? 'demo';
  const dir = path.join(root, name);
  await mkdir(path.join(dir, 'rules'), { recursive: true });
  await writeFile(path.join(dir, 'pack.yaml'), options.pack ?? packYaml(name));
  await writeFile(path.join(dir, 'rules', 'rules.yaml'), options.rules);
  for (const [file, text] of Object.entries(options.files ?? {})) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await writeFile(path.join(dir, file), text);
  }
  return { root, dir };
}

/** One rule in YAML with the given conditions block (indented as under `conditions:`). */
export function ruleYaml(id: string, scope: string, conditions: string, message = `Rule ${id} fired.`): string {
  return `  - id: ${id}
    title: ${id}
    category: payer-policy
    severity: error
    scope: ${scope}
    conditions:
${conditions.replace(/^/gm, '      ')}
    message: "${message}"
`;
}
