import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey, parseApiKeys } from '../../src/http/api-keys.js';
import { buildApp } from '../../src/http/app.js';
import { packageRoot } from '../../src/paths.js';
import { bundledScrubber } from '../helpers.js';

/**
 * The workbench in a real browser: headless Chromium (the Debian package; .ci/run installs it)
 * driven by playwright-core against the page as `npm run build` builds it, served by the
 * service with API keys on. Screenshots of each screen go to a temporary folder, or to
 * WORKBENCH_SCREENSHOTS (docs/workbench refreshes the ones the docs show).
 */

// Names of the browser's globals, for the functions that run in the page (this project's
// TypeScript has no DOM library).
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any, localStorage: any, sessionStorage: any, window: any;
declare const DataTransfer: any, ClipboardEvent: any;
type HTMLCanvasElement = any;
type Document = any;

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const KEY = 'sk_unit_workbench_browser_key_00000000000000';
const EXAMPLES = ['clean', 'core-problems', 'documentation-problems', 'modifier-problems'];
const FORMS = [
  { form: 'json', file: '.json', type: 'application/json' },
  { form: 'x12', file: '.837', type: 'application/edi-x12' },
  { form: 'fhir', file: '.fhir.json', type: 'application/fhir+json' },
] as const;

interface Finding {
  ruleId: string;
  category: string;
  path: string;
  lines: number[];
  source?: { format: 'x12'; offset: number; element?: string } | { format: 'fhir'; expression: string };
}

let assets: string;
let shots: string;
let app: FastifyInstance;
let base: string;
let browser: Browser;
let context: BrowserContext;
const cspViolations: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is needed at ${CHROMIUM} for the workbench tests: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  assets = await mkdtemp(path.join(os.tmpdir(), 'scrub-workbench-assets-'));
  await build({ configFile: path.join(packageRoot, 'web/vite.config.ts'), logLevel: 'silent', build: { outDir: assets, emptyOutDir: true } });
  shots = process.env.WORKBENCH_SCREENSHOTS ? path.resolve(process.env.WORKBENCH_SCREENSHOTS) : path.join(assets, 'screenshots');
  await mkdir(shots, { recursive: true });
  const scrubber = await bundledScrubber();
  const { keys } = parseApiKeys(`compliance:scrub:${hashApiKey(KEY)}`);
  app = await buildApp({ scrubber: () => scrubber, config: { auth: { enabled: true, keys } }, workbenchDir: assets });
  base = await app.listen({ port: 0, host: '127.0.0.1' });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  if (assets) await rm(assets, { recursive: true, force: true });
});

/** A new page on the workbench, signed in with the key. */
async function open(hash: string, ctx = context): Promise<Page> {
  const page = await ctx.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/.test(m.text())) cspViolations.push(m.text());
  });
  page.on('pageerror', (e) => cspViolations.push(`page error: ${e.message}`));
  await page.goto(`${base}/workbench${hash}`);
  await page.getByLabel('API key').fill(KEY);
  await page.getByRole('button', { name: 'Use this key' }).click();
  await page.getByText(/Key compliance · role scrub/).waitFor();
  return page;
}

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(shots, `${name}.png`) });

async function scrubViaApi(text: string, type: string): Promise<Finding[]> {
  const res = await app.inject({ method: 'POST', url: '/v1/scrub', headers: { authorization: `Bearer ${KEY}`, 'content-type': type }, payload: text });
  expect(res.statusCode).toBe(200);
  return (res.json() as { findings: Finding[] }).findings;
}

/** The value at a JSON Pointer, or at a FHIRPath of the same JSON ("Bundle.entry[4].resource.item[1]"). */
function valueAt(doc: unknown, tokens: string[]): unknown {
  let v: unknown = doc;
  for (const t of tokens) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[t] : undefined;
  return v;
}
const pointerTokens = (pointer: string) => (pointer === '' ? [] : pointer.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~')));
const fhirTokens = (expression: string) => expression.split('.').slice(1).flatMap((part) => part.replace(/\]/g, '').split('['));

/**
 * What the highlight of a finding must show, found independently of the page: the X12
 * element's text, or the JSON value at the field (compared as values: 150.0 is 150).
 */
function checkHighlight(text: string, form: string, f: Finding, highlighted: string, label: string): void {
  if (form === 'x12' && f.source?.format === 'x12') {
    const segment = text.slice(f.source.offset, text.indexOf('~', f.source.offset));
    const m = f.source.element ? /-(\d+)(?:-(\d+))?$/.exec(f.source.element) : null;
    const element = m ? (segment.split('*')[Number(m[1])] ?? '') : segment;
    expect(highlighted, label).toBe(m?.[2] ? element.split(':')[Number(m[2]) - 1] : element);
    return;
  }
  const doc = JSON.parse(text) as unknown;
  const value = form === 'fhir' && f.source?.format === 'fhir' ? valueAt(doc, fhirTokens(f.source.expression)) : valueAt(doc, pointerTokens(f.path));
  if (value === undefined) expect(highlighted, `${label}: an absent field shows the nearest enclosing one`).toMatch(/^[{[]/);
  else expect(JSON.parse(highlighted), label).toEqual(value);
}

describe('the workbench in Chromium', () => {
  it('asks for a key, keeps it in memory only, and finds rules by code; a rule page shows its policy in words', async () => {
    const page = await open('#/rules');
    expect(await page.evaluate(() => [localStorage.length, sessionStorage.length, document.cookie])).toEqual([0, 0, '']);
    await expect.poll(() => page.locator('table.rules tbody tr').count()).toBeGreaterThan(100);
    const all = await page.locator('table.rules tbody tr').count();
    await page.getByLabel('Search').fill('LT');
    // The search narrows the catalog to the few rules that name LT (a side modifier), not every rule.
    await expect.poll(() => page.locator('table.rules tbody tr').count()).toBeLessThan(all / 5);
    await shot(page, 'rules');
    await page.getByRole('link', { name: 'lt-rt-same-line', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: /lt-rt-same-line/ }).waitFor();
    expect(await page.getByTestId('conditions').innerText()).toContain('line has modifier LT');
    expect(await page.getByTestId('rule-tests').innerText()).toContain('flags a line that carries both LT and RT');
    expect(await page.getByTestId('activity').innerText()).toContain('History off');
    await shot(page, 'rule');
    await page.reload();
    await page.getByLabel('API key').waitFor();
    await page.close();
  });

  it('tries every example claim in JSON, X12 and FHIR: the findings of the API, each highlighted at its own field', async () => {
    const page = await open('#/try');
    for (const name of EXAMPLES) {
      for (const { form, file, type } of FORMS) {
        const text = await readFile(path.join(packageRoot, 'examples/claims', name + file), 'utf8');
        const expected = await scrubViaApi(text, type);
        await page.getByLabel('Example claim').selectOption(name);
        const scrubs = Number(await page.getByTestId('summary').getAttribute('data-scrubs'));
        await page.locator(`button[data-form="${form}"]`).click();
        await expect.poll(async () => Number(await page.getByTestId('summary').getAttribute('data-scrubs'))).toBe(scrubs + 1);
        expect(await page.getByTestId('summary').innerText()).toContain(name === 'clean' ? 'pass' : 'fail');
        expect(await page.getByTestId('format').innerText()).toBe({ json: 'canonical JSON', x12: 'X12 837', fhir: 'FHIR' }[form]);
        const shown = await page.locator('li.finding').evaluateAll((items) => items.map((li) => li.getAttribute('data-rule')));
        expect(shown.sort(), `${name} as ${form}`).toEqual(expected.map((f) => f.ruleId).sort());
        // Grouped by line: each finding sits under the heading of its first line.
        for (const f of expected) {
          const group = page.getByRole('region', { name: f.lines[0] ? `Line ${f.lines[0]}` : 'The claim' });
          expect(await group.locator(`li[data-rule="${f.ruleId}"]`).count(), `${f.ruleId} under its line`).toBeGreaterThan(0);
        }
        const items = page.locator('li.finding');
        for (let i = 0; i < expected.length; i++) {
          const li = items.nth(i);
          const ruleId = (await li.getAttribute('data-rule'))!;
          const finding = expected.find((f) => f.ruleId === ruleId)!;
          await li.getByRole('button', { name: /Show in text/ }).click();
          const highlighted = (await li.getAttribute('data-highlight'))!;
          checkHighlight(text, form, finding, highlighted, `${name} ${form} ${ruleId}`);
          // The editor marks the same place (the part of it on screen, for a long one).
          const mark = (t: string) => t.replace(/\s+/g, ' ').trim().slice(0, 30);
          await expect.poll(async () => mark(highlighted).startsWith(mark(await page.locator('.cm-finding-active').first().innerText()))).toBe(true);
        }
        if (name === 'modifier-problems' && form === 'x12') {
          await items.first().getByRole('button', { name: 'Why?' }).click();
          await page.getByTestId('why').locator('.why-entry').first().waitFor();
          expect(await page.getByTestId('why').innerText()).toMatch(/fired/);
          await shot(page, 'try-x12');
        }
      }
    }
    await page.close();
  }, 120_000);

  it('edits a claim in place and scrubs it again', async () => {
    const page = await open('#/try');
    await page.getByLabel('Example claim').selectOption('clean');
    await page.locator('button[data-form="json"]').click();
    await expect.poll(() => page.getByTestId('summary').innerText()).toContain('pass');
    // Change the first line's units from 1 to 0, typing in the editor.
    const units = page.locator('.cm-line', { hasText: '"units": 1,' }).first();
    const before = await units.innerText();
    await units.click({ position: { x: 2, y: 5 } });
    await page.keyboard.press('End');
    for (let i = before.length; i > before.indexOf('"units": 1') + '"units": 1'.length; i--) await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('Backspace');
    await page.keyboard.type('0');
    expect(await page.locator('.cm-line', { hasText: '"units": 0,' }).count()).toBe(1);
    await page.getByRole('button', { name: 'Scrub', exact: true }).click();
    await expect.poll(() => page.getByTestId('summary').innerText()).toContain('fail');
    expect(await page.locator('li.finding[data-rule="units-not-positive"]').count()).toBe(1);
    await page.close();
  });

  it('shows a lint error in the gutter at the line an edit breaks, and runs the pack’s tests', async () => {
    const page = await open('#/edit/core');
    await page.getByLabel('File').selectOption('rules/npi.yaml');
    const line = page.locator('.cm-line', { hasText: 'operator: isValidNpi' }).first();
    await line.waitFor();
    const text = await (await app.inject({ url: '/v1/packs/core/files', headers: { authorization: `Bearer ${KEY}` } })).json();
    const npi = (text as { files: Array<{ path: string; text: string }> }).files.find((f) => f.path === 'rules/npi.yaml')!.text;
    const lineNumber = npi.split('\n').findIndex((l) => l.includes('operator: isValidNpi')) + 1;
    await line.click();
    await page.keyboard.press('End');
    await page.keyboard.type('X');
    const problem = page.getByTestId('diagnostics').getByText(new RegExp(`rules/core/rules/npi\\.yaml:${lineNumber}:\\d+`));
    await problem.waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('diagnostics').innerText()).toContain('unknown-operator');
    // The gutter marker sits on the broken line.
    const marker = page.locator('.cm-lint-marker-error').first();
    await marker.waitFor();
    const [markerBox, lineBox] = [await marker.boundingBox(), await page.locator('.cm-line', { hasText: 'isValidNpiX' }).first().boundingBox()];
    expect(Math.abs(markerBox!.y + markerBox!.height / 2 - (lineBox!.y + lineBox!.height / 2))).toBeLessThan(lineBox!.height);
    await shot(page, 'edit-lint');
    await page.getByRole('button', { name: 'Run the pack’s tests' }).click();
    await page.getByTestId('test-report').waitFor();
    expect(await page.getByTestId('test-report').innerText()).toContain('The tests cannot run');
    // Undo the break: the tests run and pass, as many as the pack has.
    await page.locator('.cm-line', { hasText: 'isValidNpiX' }).first().click();
    await page.keyboard.press('End');
    await page.keyboard.press('Backspace');
    await expect.poll(() => page.getByTestId('lint-summary').innerText(), { timeout: 15_000 }).toBe('0 errors, 0 warnings');
    await page.getByRole('button', { name: 'Run the pack’s tests' }).click();
    const files = (text as { files: Array<{ path: string; text: string }> }).files;
    const cases = files.filter((f) => f.path.endsWith('.test.yaml')).reduce((n, f) => n + (f.text.match(/^ {2}- name:/gm) ?? []).length, 0);
    await expect.poll(() => page.getByTestId('test-summary').innerText()).toBe(`${cases} passed, 0 failed`);
    // A scrub key may not reload the server's packs, and the page says so.
    expect(await page.getByRole('button', { name: 'Reload server packs (admin only)' }).isDisabled()).toBe(true);
    await shot(page, 'edit-tests');
    await page.close();
  });

  it('runs a failing test after an edit, and shows what the edit would change on the examples', async () => {
    const page = await open('#/edit/modifiers');
    await page.getByLabel('File').selectOption('rules/laterality.yaml');
    const rt = page.locator('.cm-line', { hasText: 'value: RT' }).first();
    await rt.click();
    await page.keyboard.press('End');
    await page.keyboard.press('Backspace');
    await page.keyboard.press('Backspace');
    await page.keyboard.type('XX');
    await page.getByRole('button', { name: 'Run the pack’s tests' }).click();
    await expect.poll(() => page.getByTestId('test-summary').innerText()).toMatch(/[1-9]\d* failed/);
    expect(await page.getByTestId('test-report').innerText()).toContain('lt-rt-same-line did not fire');
    await page.getByRole('button', { name: 'What if?' }).click();
    await page.getByTestId('what-if').waitFor();
    expect(await page.getByTestId('what-if').innerText()).toMatch(/lt-rt-same-line\s+0\s+[1-9]/);
    expect(await page.getByTestId('patch').textContent()).toContain('+          value: XX');
    await shot(page, 'edit-what-if');
    await page.close();
  });

  it('counts a batch by outcome, category, rule and payer, and drills into its claims', async () => {
    const text = await readFile(path.join(packageRoot, 'examples/claims/batch.ndjson'), 'utf8');
    const res = await app.inject({ method: 'POST', url: '/v1/scrub/batch', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/x-ndjson' }, payload: text });
    const results = res.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { outcome: string; findings: Finding[] });
    const count = (keys: string[]) => Object.fromEntries([...new Set(keys)].map((k) => [k, String(keys.filter((x) => x === k).length)]));
    const expected = {
      outcome: count(results.map((r) => r.outcome)),
      category: count(results.flatMap((r) => r.findings.map((f) => f.category))),
      rule: count(results.flatMap((r) => r.findings.map((f) => f.ruleId))),
    };
    const page = await open('#/batch');
    await page.getByRole('button', { name: 'Use the example batch.ndjson' }).click();
    await expect.poll(() => page.getByTestId('batch-status').innerText()).toContain(`${results.length} claims`);
    for (const [dimension, want] of Object.entries(expected)) {
      const chart = page.getByTestId(`chart-${dimension}`);
      const rows = await chart.locator('tbody tr').evaluateAll((trs) => Object.fromEntries(trs.map((tr) => [tr.querySelector('td')!.textContent!, tr.querySelector('td[data-value]')!.textContent!])));
      expect(rows, dimension).toEqual(want);
      const label = await chart.locator('canvas').getAttribute('aria-label');
      for (const [k, v] of Object.entries(want).slice(0, 15)) expect(label).toContain(`${k}: ${v}`);
    }
    // Every claim of the batch names its payer.
    expect(Object.values(await page.getByTestId('chart-payer').locator('td[data-value]').allInnerTexts()).reduce((n, v) => n + Number(v), 0)).toBe(results.length);
    // Chart.js drew the bars: the canvas is not blank.
    const painted = await page.getByTestId('chart-outcome').locator('canvas').evaluate((canvas) => {
      const c = canvas as HTMLCanvasElement;
      const pixels = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i]! > 0) n++;
      return n;
    });
    expect(painted).toBeGreaterThan(100);
    await shot(page, 'batch');
    await page.getByTestId('chart-outcome').getByRole('button', { name: 'fail' }).click();
    await expect.poll(() => page.getByTestId('batch-claims').locator('tbody tr').count()).toBe(Number(expected.outcome.fail));
    await page.getByTestId('batch-claims').locator('tbody tr button').first().click();
    await page.getByTestId('batch-claim').waitFor();
    await page.getByRole('button', { name: 'Open in “Try a claim”' }).click();
    await expect.poll(() => page.getByTestId('summary').innerText()).toContain('fail');
    await page.close();
  });

  it('renders a claim of over 500 lines of text (50 service lines, the most a claim has) with a finding on every line', async () => {
    const claim = JSON.parse(await readFile(path.join(packageRoot, 'examples/claims/clean.json'), 'utf8')) as { lines: Array<Record<string, unknown>> };
    const line = { ...claim.lines[1], units: 0, diagnosisPointers: [1, 9] };
    claim.lines = Array.from({ length: 50 }, () => ({ ...line }));
    const text = JSON.stringify(claim, null, 2);
    expect(text.split('\n').length).toBeGreaterThan(500);
    const page = await open('#/try');
    await page.locator('button[data-form="json"]').first().waitFor();
    await page.locator('.claim-editor .cm-content').click();
    await page.locator('.claim-editor .cm-content').evaluate((el, pasted) => {
      const data = new DataTransfer();
      data.setData('text/plain', pasted);
      el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
    }, text);
    const started = Date.now();
    await page.getByRole('button', { name: 'Scrub', exact: true }).click();
    await expect.poll(() => page.locator('li.finding').count(), { timeout: 30_000 }).toBeGreaterThanOrEqual(100);
    const renderMs = Date.now() - started;
    const last = page.locator('li.finding').last();
    await last.getByRole('button', { name: /Show in text/ }).click();
    await page.locator('.cm-finding-active').first().waitFor();
    expect(await last.getAttribute('data-highlight')).toBeTruthy();
    console.log(`workbench: ${text.split('\n').length}-line claim scrubbed and rendered with ${await page.locator('li.finding').count()} findings in ${renderMs} ms`);
    await page.close();
  }, 60_000);

  it('has no serious accessibility violations on any screen (axe-core)', async () => {
    const axeSource = await readFile(path.join(packageRoot, 'node_modules/axe-core/axe.min.js'), 'utf8');
    // axe is injected as a script of its own: only this context lets the page run it.
    const axeContext = await browser.newContext({ viewport: { width: 1280, height: 800 }, bypassCSP: true });
    const screens: Array<[string, (page: Page) => Promise<void>]> = [
      ['#/rules', async () => undefined],
      ['#/rules/lt-rt-same-line', async (p) => void (await p.getByTestId('conditions').waitFor())],
      [
        '#/try',
        async (p) => {
          await p.locator('button[data-form="x12"]').click();
          await p.locator('li.finding').first().waitFor();
        },
      ],
      ['#/edit/core', async (p) => void (await p.locator('.cm-line').first().waitFor())],
      [
        '#/batch',
        async (p) => {
          await p.getByRole('button', { name: 'Use the example batch.ndjson' }).click();
          await p.getByTestId('chart-rule').waitFor();
        },
      ],
    ];
    const problems: string[] = [];
    for (const [hash, prepare] of screens) {
      const page = await open(hash, axeContext);
      await prepare(page);
      await page.addScriptTag({ content: axeSource });
      const violations = (await page.evaluate(async () => {
        const result = await (window as unknown as { axe: { run: (ctx: Document, o: object) => Promise<{ violations: Array<{ id: string; impact: string; nodes: unknown[] }> }> } }).axe.run(document, { resultTypes: ['violations'] });
        return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, targets: v.nodes.slice(0, 3).map((n) => JSON.stringify((n as { target: unknown }).target)).join(' ') }));
      })) as Array<{ id: string; impact: string; nodes: number; targets: string }>;
      for (const v of violations) if (v.impact === 'serious' || v.impact === 'critical') problems.push(`${hash}: ${v.id} (${v.impact}, ${v.nodes} elements: ${v.targets})`);
      await page.close();
    }
    await axeContext.close();
    expect(problems).toEqual([]);
  }, 120_000);

  it('loads nothing from elsewhere and breaks no content security rule', async () => {
    const page = await context.newPage();
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    const started = Date.now();
    await page.goto(`${base}/workbench`);
    await page.getByLabel('API key').waitFor();
    const firstScreenMs = Date.now() - started;
    await page.getByLabel('API key').fill(KEY);
    await page.getByRole('button', { name: 'Use this key' }).click();
    await page.locator('table.rules tbody tr').first().waitFor();
    console.log(`workbench: key form shown ${firstScreenMs} ms after navigation, rules listed ${Date.now() - started} ms after (including typing the key)`);
    expect(requests.filter((u) => !u.startsWith(base) && !u.startsWith('data:'))).toEqual([]);
    expect(cspViolations).toEqual([]);
    await page.close();
  });
});
