import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateDocs } from '../src/docs/generate.js';
import { bundledRulesDir, packageRoot } from '../src/paths.js';
import { discoverTests } from '../src/testing/cases.js';
import { bundledPacks } from './helpers.js';

describe('the generated rule docs', () => {
  it('match the committed docs/rules (run `npm run docs` after changing a pack)', async () => {
    const pages = generateDocs(await bundledPacks(), (await discoverTests([bundledRulesDir])).cases);
    const dir = path.join(packageRoot, 'docs/rules');
    expect((await readdir(dir)).sort()).toEqual(pages.map((p) => p.file).sort());
    for (const page of pages) expect(await readFile(path.join(dir, page.file), 'utf8'), page.file).toBe(page.content);
  });

  it('describe every rule with its id, severity, conditions and examples', async () => {
    const pages = generateDocs(await bundledPacks(), (await discoverTests([bundledRulesDir])).cases);
    const core = pages.find((p) => p.file === 'core.md')!.content;
    expect(core).toContain('<a id="billing-npi-invalid"></a>');
    expect(core).toContain('| severity | `error` |');
    expect(core).toContain('`claim.billingProvider.npi` is not a valid NPI');
    expect(core).toMatch(/- fires: flags a billing NPI whose check digit is wrong \(`rules\/core\/tests\/billing-npi-invalid\.test\.yaml:3`\)/);
    const index = pages.find((p) => p.file === 'README.md')!.content;
    expect(index).toContain('| [`lt-rt-same-line`](modifiers.md#lt-rt-same-line) | modifiers | modifier | error |');
  });
});
