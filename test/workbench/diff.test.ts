import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { unifiedDiff } from '../../web/src/diff.js';

/** "Copy patch" in the workbench: the diff must apply with the ordinary tools and give the edit. */

async function applied(before: string, after: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'scrub-patch-'));
  try {
    await writeFile(path.join(dir, 'pack.yaml'), before);
    const patch = unifiedDiff('core/pack.yaml', before, after);
    execFileSync('git', ['apply', '-p2', '-'], { cwd: dir, input: patch });
    return await readFile(path.join(dir, 'pack.yaml'), 'utf8');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const text = Array.from({ length: 40 }, (_, i) => `line ${i + 1}: value ${i}`).join('\n') + '\n';

describe('the patch of an edited file', () => {
  it('is empty when nothing changed', () => {
    expect(unifiedDiff('core/pack.yaml', text, text)).toBe('');
  });

  const edits: Array<[string, (t: string) => string]> = [
    ['a changed line', (t) => t.replace('value 7\n', 'value seven\n')],
    ['lines added at the start and the end', (t) => `# new first line\n${t}last: added\n`],
    ['lines removed, and changes far apart', (t) => t.replace('line 3: value 2\n', '').replace('value 30', 'value thirty').replace('line 39: value 38\n', '')],
    ['everything replaced', () => 'rules: []\n'],
    ['the final line break taken away', (t) => t.trimEnd()],
    ['the last line changed in a file without a final line break', (t) => t.trimEnd().replace(/value 39$/, 'value 40')],
  ];
  for (const [what, edit] of edits) {
    it(`applies with git apply and gives the edited text: ${what}`, async () => {
      expect(await applied(text, edit(text))).toBe(edit(text));
    });
  }
});
