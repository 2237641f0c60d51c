import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundledRulesDir, packageRoot } from '../src/paths.js';
import { scrub } from './cli/run-cli.js';

/**
 * The authoring guide (docs/authoring-rules.md) walks an analyst through commands and shows what
 * they print. This follows the guide step by step in a temporary copy of the bundled rules, with
 * the files as the guide writes them, and holds its printed output to what the commands print:
 * every diagnostic, failure report and explanation line as shown, and the counts of passed and
 * failed cases. Lines that change whenever a pack is added (the CMS table lines, the count of
 * packs and rules) are compared by their form only.
 */
let guide: string;
let dir: string;
const rulesIn = (...parts: string[]) => path.join(dir, 'my-rules', ...parts);

/** The first fenced block of `lang` ('' for a plain block) after the text `marker`. */
function blockAfter(marker: string, lang = ''): string {
  const at = guide.indexOf(marker);
  if (at < 0) throw new Error(`the guide no longer says ${JSON.stringify(marker)}`);
  const fence = new RegExp('^```' + lang + '\\n([\\s\\S]*?)^```$', 'm');
  const m = fence.exec(guide.slice(at + marker.length));
  if (!m) throw new Error(`no \`\`\`${lang} block after ${JSON.stringify(marker)}`);
  return m[1]!;
}

/** Output lines that do not depend on which packs are bundled, with paths as the guide's reader sees them. */
function stable(output: string): string[] {
  return relative(output)
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('table '))
    .map((l) => l.replace(/^\d+ packs, \d+ rules: /, ''));
}

/** The guide's commands run in the folder holding my-rules; here that folder is a temporary one. */
async function run(...args: string[]) {
  const inDir = args.map((a) => (a === 'my-rules' || a.endsWith('.json') ? path.join(dir, a) : a));
  const r = await scrub(inDir, { cwd: dir });
  return { ...r, out: r.stdout + r.stderr };
}

function relative(output: string): string {
  return output.split(`${dir}${path.sep}`).join('');
}

const firstVersion = () => blockAfter('## 2. Write a rule', 'yaml');
const finalVersion = () => blockAfter('Replace the rule with:', 'yaml');

beforeAll(async () => {
  guide = await readFile(path.join(packageRoot, 'docs/authoring-rules.md'), 'utf8');
  dir = await mkdtemp(path.join(tmpdir(), 'scrub-guide-'));
  await cp(bundledRulesDir, rulesIn(), { recursive: true });
  await mkdir(rulesIn('acme-health', 'rules'), { recursive: true });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the authoring guide, followed step by step', () => {
  it('step 3: the linter says what the guide shows about the first version, the typo and the fix', async () => {
    const file = rulesIn('acme-health', 'rules', 'telehealth.yaml');
    await writeFile(file, firstVersion());
    const first = await run('lint', 'my-rules');
    expect(first.code).toBe(0);
    expect(stable(first.out)).toEqual(stable(blockAfter('npm run scrub -- lint my-rules\n```')));

    await writeFile(file, firstVersion().replace('operator: hasModifier', 'operator: hasModifer'));
    const typo = await run('lint', 'my-rules');
    expect(typo.code).toBe(1);
    expect(stable(typo.out)).toEqual(stable(blockAfter('What an **error** looks like')));

    await writeFile(file, finalVersion());
    const fixed = await run('lint', 'my-rules');
    expect(fixed.code).toBe(0);
    expect(stable(fixed.out)).toEqual(stable(blockAfter('Run the linter again')));
  });

  it('step 4: the tests pass, a wrong path fails as shown, and every rule is covered', async () => {
    const file = rulesIn('acme-health', 'tests', 'acme-telehealth-place-of-service.test.yaml');
    const tests = blockAfter('## 4. Test the rule', 'yaml');
    expect(tests).toContain('remove:');
    await writeFile(file, tests);
    const filter = /npm run scrub -- test my-rules --filter (\S+)/.exec(guide.slice(guide.indexOf('## 4. Test the rule')))![1]!;
    const passing = await run('test', 'my-rules', '--filter', filter);
    expect(passing.code).toBe(0);
    expect(stable(passing.out)).toEqual(stable(blockAfter(`--filter ${filter}\n\`\`\`\n`)));

    await writeFile(file, tests.replace('path: /lines/0/placeOfService', 'path: /lines/0/modifiers'));
    const failing = await run('test', 'my-rules', '--filter', filter);
    expect(failing.code).toBe(1);
    expect(stable(failing.out)).toEqual(stable(blockAfter('Now see a failing test')));
    await writeFile(file, tests);

    const coverage = await run('test', 'my-rules', '--coverage', '--coverage-threshold', '100');
    expect(coverage.code).toBe(0);
    expect(coverage.out).toMatch(/(\d+) of \1 rules covered both ways: 100%/);
    expect(guide).toMatch(/`(\d+) of \1 rules covered both ways: 100%`/);
  });

  it('step 5: the lacksModifier rule lints clean and its tests pass', async () => {
    const step = guide.slice(guide.indexOf('## 5. A second rule'));
    const rule = blockAfter('## 5. A second rule', 'yaml');
    expect(rule).toContain('operator: lacksModifier');
    await writeFile(rulesIn('acme-health', 'rules', 'telehealth.yaml'), `${finalVersion()}\n${rule}`);
    await writeFile(rulesIn('acme-health', 'tests', 'acme-telehealth-modifier-missing.test.yaml'), blockAfter('Its tests, in', 'yaml'));
    const lint = await run('lint', 'my-rules');
    expect(lint.code).toBe(0);
    expect(lint.out).toMatch(/\d+ packs, \d+ rules: 0 errors, 0 warnings/);
    const [, filter, summary] = /`npm run scrub -- test my-rules --filter (\S+)` with `([^`]+)`/.exec(step)!;
    const test = await run('test', 'my-rules', '--filter', filter!);
    expect(test.code).toBe(0);
    expect(test.out.trim()).toBe(summary);
  });

  it('step 6: the payer pack loads, its tests pass, and a mistyped override reads as shown', async () => {
    await mkdir(rulesIn('bluebird-health', 'tests'), { recursive: true });
    const pack = blockAfter('## 6. A payer pack', 'yaml');
    await writeFile(rulesIn('bluebird-health', 'pack.yaml'), pack);
    await writeFile(rulesIn('bluebird-health', 'tests', 'bluebird-policies.test.yaml'), blockAfter('Test it in', 'yaml'));
    const [, filter, summary] = /Run `npm run scrub -- test my-rules --filter (\S+)`:\n`([^`]+)`/.exec(guide)!;
    const test = await run('test', 'my-rules', '--filter', filter!);
    expect(test.code).toBe(0);
    expect(test.out.trim()).toBe(summary);

    await writeFile(rulesIn('bluebird-health', 'pack.yaml'), pack.replace('rule: unlisted-code-needs-description', 'rule: unlisted-code-need-description'));
    const typo = await run('lint', 'my-rules');
    expect(typo.code).toBe(1);
    expect(stable(typo.out)).toEqual(stable(blockAfter('If you mistype the rule in an override')));
    await writeFile(rulesIn('bluebird-health', 'pack.yaml'), pack);
  });

  it('step 7: checking the claim explains the telehealth rules as shown', async () => {
    await writeFile(path.join(dir, 'telehealth-claim.json'), blockAfter('## 7. Check a claim', 'json'));
    const command = /npm run scrub -- (check --rules my-rules [^\n]*)/.exec(guide)![1]!.split(' ');
    const checked = await run(...command);
    expect(checked.code).toBe(1);
    const shown = blockAfter(`npm run scrub -- ${command.join(' ')}\n\`\`\`\n`).trimEnd().split('\n');
    const elided = shown.indexOf('    ...');
    expect(elided).toBeGreaterThan(0);
    const actual = relative(checked.out).trimEnd().split('\n');
    expect(actual.slice(0, elided)).toEqual(shown.slice(0, elided));
    expect(actual.at(-1)).toBe(shown.at(-1));
  });
});
