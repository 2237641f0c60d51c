import { readdir, readFile, stat } from 'node:fs/promises';
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

/**
 * The README is the front door and docs/ holds one page per subject; these keep that structure
 * true as pages move: every relative link (and #anchor) resolves, and the README stays short.
 */
const DOC_ROOTS = ['README.md', 'docs', 'examples', 'rules', 'src'];

async function markdownFiles(): Promise<string[]> {
  const files: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const abs = path.join(packageRoot, rel);
    const info = await stat(abs).catch(() => undefined);
    if (!info) return;
    if (info.isFile()) {
      if (rel.endsWith('.md')) files.push(rel);
      return;
    }
    for (const entry of await readdir(abs)) await walk(path.join(rel, entry));
  };
  for (const root of DOC_ROOTS) await walk(root);
  return files.sort();
}

/** Markdown without fenced code blocks and inline code, where a link is only text. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** Anchors a page offers: GitHub's heading slugs (with -1, -2 for repeats) and explicit ids. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const m of prose(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const text = m[1]!.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/<[^>]+>/g, '');
    const slug = text.toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  // Headings inside code spans keep their text in the slug: read them from the raw headings too.
  for (const m of markdown.matchAll(/^#{1,6}\s+(.+?)\s*$/gm)) {
    anchors.add(m[1]!.toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-'));
  }
  for (const m of markdown.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(m[1]!);
  return anchors;
}

describe('the documentation', () => {
  it('links only files that exist, and anchors that exist, in the README and every docs page', async () => {
    const broken: string[] = [];
    const files = await markdownFiles();
    expect(files).toContain('docs/README.md');
    for (const file of files) {
      const text = await readFile(path.join(packageRoot, file), 'utf8');
      for (const m of prose(text).matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
        const target = m[1]!;
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
        const [rawPath, anchor] = target.split('#') as [string, string | undefined];
        const resolved = rawPath === '' ? path.join(packageRoot, file) : path.resolve(path.dirname(path.join(packageRoot, file)), decodeURIComponent(rawPath));
        const info = await stat(resolved).catch(() => undefined);
        if (!info || !resolved.startsWith(packageRoot)) {
          broken.push(`${file}: ${target} (no such file in the project)`);
          continue;
        }
        if (anchor && info.isFile() && resolved.endsWith('.md') && !anchorsOf(await readFile(resolved, 'utf8')).has(anchor)) {
          broken.push(`${file}: ${target} (no heading "#${anchor}" in ${path.relative(packageRoot, resolved)})`);
        }
      }
    }
    expect(broken).toEqual([]);
  });

  it('keeps the README a short front door with the two-command quick start that CI runs', async () => {
    const readme = await readFile(path.join(packageRoot, 'README.md'), 'utf8');
    expect(readme.split('\n').length).toBeLessThan(250);
    const quickStart = readme.slice(readme.indexOf('## Quick start'));
    const commands = /```sh\n([\s\S]*?)```/.exec(quickStart)![1]!.trim().split('\n').map((l) => l.replace(/\s+#.*$/, ''));
    expect(commands).toEqual(['npm ci && npm start', 'npm ci && npm test']);
    const ci = await readFile(path.join(packageRoot, '.ci/run'), 'utf8');
    expect(ci).toMatch(/^npm ci\b/m);
    expect(ci).toMatch(/^npm test$/m);
    const pkg = JSON.parse(await readFile(path.join(packageRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toContain('serve');
  });

  it('names no file users never see (the shared design notes live in docs/contracts.md)', async () => {
    for (const file of await markdownFiles()) {
      const text = await readFile(path.join(packageRoot, file), 'utf8');
      expect(text, file).not.toMatch(/DESIGN\.md|\.\.\/shared\//);
    }
  });

  it('quotes project files exactly where a code block names one in its first line', async () => {
    const stale: string[] = [];
    for (const file of await markdownFiles()) {
      const text = await readFile(path.join(packageRoot, file), 'utf8');
      for (const m of text.matchAll(/^```(?:yaml|json)\n# ([\w./-]+)\n([\s\S]*?)^```$/gm)) {
        const quoted = path.join(packageRoot, m[1]!);
        const info = await stat(quoted).catch(() => undefined);
        if (!info?.isFile()) continue; // a file the reader creates, as in the authoring guide
        if (!(await readFile(quoted, 'utf8')).includes(m[2]!)) stale.push(`${file} quotes ${m[1]} as it no longer is`);
      }
    }
    expect(stale).toEqual([]);
  });
});
