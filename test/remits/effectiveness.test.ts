import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Scrubber } from '../../src/engine/scrubber.js';
import { ClaimHistory } from '../../src/history/claim-history.js';
import { SqliteHistoryStore } from '../../src/history/sqlite.js';
import { loadPackSet } from '../../src/packs/loader.js';
import { bundledRulesDir, packageRoot } from '../../src/paths.js';
import { AdjustmentCodes } from '../../src/remits/codes.js';
import { effectivenessReport, ruleFactsOf, type EffectivenessReport } from '../../src/remits/effectiveness.js';
import { RemitImport } from '../../src/remits/import.js';
import { reportHtml } from '../../src/remits/report-formats.js';
import { scrub } from '../cli/run-cli.js';
import { deniedClaim, denyLines, paid, reversal, write835, type ClaimLike, type RemitClaim } from '../support/generate-835.js';
import { tempDir, tempPack } from '../support/temp-pack.js';

/**
 * The loop end to end: 1,000 generated claims scrubbed and recorded on a real SQLite file, 835s
 * that deny some of them with the denial codes their findings predict (and some with codes no
 * rule predicts), and the effectiveness report's counts checked exactly against the plan below.
 */

const SECRET = 'effectiveness-test-secret-0123456789';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Three rules that fire on what the plan builds in: too many units, telehealth place of service, modifier 25. */
const RULES = `rules:
  - id: loop-units-high
    title: More than three units of a line
    category: mue
    severity: error
    scope: line
    predicts: [CO-151]
    conditions:
      all:
        - fact: line
          path: units
          operator: greaterThan
          value: 3
    message: "Line {{line.number}} has more than three units."
    references:
      - title: Test policy for the remittance loop
        url: https://example.org/policy/units
  - id: loop-telehealth
    title: Telehealth place of service
    category: telehealth
    severity: error
    scope: claim
    predicts: [CO-5]
    conditions:
      all:
        - fact: claim
          path: placeOfService
          operator: equal
          value: "02"
    message: "The claim is billed at place of service 02."
    references:
      - title: Test policy for the remittance loop
        url: https://example.org/policy/pos
  - id: loop-modifier-25
    title: Modifier 25
    category: modifier
    severity: warning
    scope: line
    predicts: [CO-4/N822]
    conditions:
      all:
        - fact: line
          operator: hasModifier
          value: "25"
    message: "Line {{line.number}} carries modifier 25."
    references:
      - title: Test policy for the remittance loop
        url: https://example.org/policy/mod25
`;

const fixture = JSON.parse(readFileSync(path.join(bundledRulesDir, 'history/tests/fixtures/medicare-visit.json'), 'utf8')) as Record<string, any>;

/** Claim i: a 99213 ($120) and a 36415 ($20) visit of its own patient; i % 10 says what the plan does with it. */
function claimOf(i: number, fixed = false): ClaimLike & Record<string, any> {
  const claim = structuredClone(fixture);
  claim.claimId = `E-${i}`;
  claim.patient.memberId = `M-${i}`;
  claim.lines.push({ procedureCode: '36415', modifiers: [], units: 1, charge: 20, serviceDate: '2026-02-20', diagnosisPointers: [1] });
  claim.totalCharge = 140;
  if (i % 10 === 0 && !fixed) claim.lines[1].units = 5;
  if (i % 10 === 1) {
    claim.placeOfService = '02';
  }
  if (i % 10 === 2) claim.lines[0].modifiers = ['25'];
  return claim as ClaimLike & Record<string, any>;
}

let dir: string;
let history: ClaimHistory;
let scrubber: Scrubber;
let rulesRoot: string;
let report: EffectivenessReport;
const codes = AdjustmentCodes.BUNDLED;

beforeAll(async () => {
  dir = await tempDir('scrub-effectiveness-');
  rulesRoot = (await tempPack({ name: 'loop', rules: RULES })).root;
  scrubber = new Scrubber(await loadPackSet(rulesRoot));
  history = new ClaimHistory(SqliteHistoryStore.open(path.join(dir, 'history.sqlite')), SECRET, 1185);

  const first: RemitClaim[] = [];
  const second: RemitClaim[] = [];
  for (let i = 0; i < 1000; i++) {
    const claim = claimOf(i);
    await history.scrub(scrubber, claim, { record: true });
    const j = Math.floor(i / 10);
    switch (i % 10) {
      case 0: // units: a quarter denied as predicted, a quarter paid anyway, a quarter denied for another reason, a quarter fixed first
        if (j % 4 === 0) first.push(denyLines(paid(claim), [1], { group: 'CO', reason: '151' }));
        else if (j % 4 === 1) first.push(paid(claim));
        else if (j % 4 === 2) first.push(denyLines(paid(claim), [1], { group: 'CO', reason: '16', remark: 'N290' }));
        else {
          const again = claimOf(i, true);
          await history.scrub(scrubber, again, { record: true });
          first.push(paid(again));
        }
        break;
      case 1: // telehealth: half denied whole as predicted, half paid
        first.push(j % 2 === 0 ? deniedClaim(paid(claim), { group: 'CO', reason: '5' }) : paid(claim));
        break;
      case 2: // modifier 25 (a warning): all paid
        first.push(paid(claim));
        break;
      case 3: // clean, yet the visit is denied: no rule saw it coming
        first.push(denyLines(paid(claim), [0], { group: 'CO', reason: '97', remark: 'M15' }));
        break;
      case 4: // paid under a claim id never recorded, and denied
        first.push(deniedClaim(paid({ ...claim, claimId: `X-${i}` }), { group: 'CO', reason: '29' }));
        break;
      case 5: // ten of them paid, then reversed and denied in a later 835
        first.push(paid(claim));
        if (i < 100) second.push(reversal(paid(claim)), denyLines(paid(claim, `ICN${claim.claimId}-R`), [0], { group: 'CO', reason: '50' }));
        break;
      default:
        first.push(paid(claim));
    }
  }
  for (const [n, batch] of [first, second].entries()) {
    const text = write835(batch, { control: 900 + n, payerId: 'MEDICARE', payerName: 'MEDICARE PART B' });
    await writeFile(path.join(dir, `remit-${n}.835`), text);
    const summary = await new RemitImport(history.store.remits, Buffer.from(text), { codes }).complete();
    expect(summary.payments.imported).toBe(batch.length);
  }
  report = await effectivenessReport(history.store.remits, {}, { codes, rules: ruleFactsOf(scrubber.packSet.rulesById) });
}, 240_000);

afterAll(async () => {
  await history?.close();
});

describe('the effectiveness report on 1,000 recorded claims and their 835s', () => {
  it('counts every recording and payment, leaving the reversed payment and its reversal out', () => {
    expect(report.totals).toEqual({
      recordings: 1025,
      scrubbed: 1025,
      payments: 1020,
      matched: 920,
      unmatched: 100,
      reversed: 20,
      // 900 recorded claims have a payment in force (100 were paid under unknown ids; 25 first versions were never sent).
      outcomes: { paid: 690, partial: 160, denied: 50, notAdjudicated: 0 },
      // 25 CO-151 lines + 50 telehealth claims x 2 lines + 25 CO-16 + 100 CO-97 + 10 CO-50
      denials: { count: 260, amount: 25 * 20 + 50 * 140 + 25 * 20 + 100 * 120 + 10 * 120, predicted: 125, predictedAmount: 25 * 20 + 50 * 140 },
      denialsUnmatched: { count: 100, amount: 100 * 140 },
    });
  });

  it('measures each rule: fired, adjudicated, denied with which codes, fixed then paid, precision', () => {
    const byId = Object.fromEntries(report.rules.map((r) => [r.ruleId, r]));
    expect(byId['loop-units-high']).toEqual({
      ruleId: 'loop-units-high',
      pack: 'loop',
      category: 'mue',
      severity: 'error',
      fired: { claims: 100, lines: 100 },
      adjudicated: { claims: 75, lines: 75 },
      denied: { claims: 50, lines: 50, amount: 1000 },
      paid: { claims: 25, lines: 25 },
      carcs: [
        { code: 'CO-151', count: 25, amount: 500 },
        { code: 'CO-16', count: 25, amount: 500 },
      ],
      fixedThenPaid: 25,
      predicts: ['CO-151'],
      precision: { predicted: 25, adjudicated: 75, value: 0.33 },
    });
    expect(byId['loop-telehealth']).toMatchObject({
      fired: { claims: 100, lines: 0 },
      adjudicated: { claims: 100, lines: 0 },
      denied: { claims: 50, lines: 0, amount: 7000 },
      paid: { claims: 50, lines: 0 },
      carcs: [{ code: 'CO-5', count: 100, amount: 7000 }],
      fixedThenPaid: 0,
      precision: { predicted: 50, adjudicated: 100, value: 0.5 },
    });
    expect(byId['loop-modifier-25']).toMatchObject({
      severity: 'warning',
      fired: { claims: 100, lines: 100 },
      adjudicated: { claims: 100, lines: 100 },
      denied: { claims: 0, lines: 0, amount: 0 },
      paid: { claims: 100, lines: 100 },
      precision: { predicted: 0, adjudicated: 100, value: 0 },
    });
    expect(report.rules.map((r) => r.ruleId)).toEqual(['loop-modifier-25', 'loop-telehealth', 'loop-units-high']);
  });

  it('lists the denials no rule predicted, largest first, with payer, procedure and whether a rule fired', () => {
    expect(report.unpredicted).toEqual([
      { code: 'CO-97', group: 'CO', reason: '97', payerId: 'MEDICARE', procedureCode: '99213', count: 100, amount: 12000, withFinding: 0, remarks: ['M15'] },
      { code: 'CO-50', group: 'CO', reason: '50', payerId: 'MEDICARE', procedureCode: '99213', count: 10, amount: 1200, withFinding: 0, remarks: [] },
      { code: 'CO-16', group: 'CO', reason: '16', payerId: 'MEDICARE', procedureCode: '36415', count: 25, amount: 500, withFinding: 25, remarks: ['N290'] },
    ]);
    expect(report.codes.carc['97']).toBeTruthy();
  });

  it('lists the rules that fired at error on claims the payer paid', () => {
    expect(report.paidDespiteFinding).toEqual([
      { ruleId: 'loop-telehealth', pack: 'loop', claims: 50, lines: 0, share: 0.5 },
      { ruleId: 'loop-units-high', pack: 'loop', claims: 25, lines: 25, share: 0.33 },
    ]);
  });

  it('narrows to a payer and to recordings since a date', async () => {
    const rules = ruleFactsOf(scrubber.packSet.rulesById);
    const other = await effectivenessReport(history.store.remits, { payerId: 'SOMEONE-ELSE' }, { codes, rules });
    expect(other.totals.recordings).toBe(0);
    expect(other.rules).toEqual([]);
    const later = await effectivenessReport(history.store.remits, { since: '2999-01-01' }, { codes, rules });
    expect(later.totals).toMatchObject({ recordings: 0, payments: 0 });
  });

  it('writes the same report from the CLI as text, Markdown and JSON, and imports 835s again without a change', async () => {
    const env = { SCRUB_HISTORY_SECRET: SECRET };
    const args = ['--history', path.join(dir, 'history.sqlite'), '--rules', rulesRoot];
    const again = await scrub(['remits', 'import', ...args.slice(0, 2), path.join(dir, 'remit-0.835')], { env });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already imported');
    const json = await scrub(['report', 'effectiveness', ...args, '--format', 'json'], { env });
    expect(json.code).toBe(0);
    const fromCli = JSON.parse(json.stdout) as EffectivenessReport;
    expect({ ...fromCli, generatedAt: '' }).toEqual({ ...report, generatedAt: '' });
    const text = await scrub(['report', 'effectiveness', ...args], { env });
    expect(text.stdout).toMatch(/loop-units-high\s+error\s+100\s+75\s+50\s+\$1,000\.00\s+25\s+25\s+33% \(25\/75\)\s+CO-151 x25, CO-16 x25/);
    const md = await scrub(['report', 'effectiveness', ...args, '--format', 'markdown', '--payer', 'MEDICARE'], { env });
    expect(md.stdout).toContain('| CO-97 | MEDICARE | 99213 | 100 | $12,000.00 | 0 | M15 |');
    const bad = await scrub(['report', 'effectiveness', ...args, '--since', '2026-13-01'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--since must be a date');
    // A new 835 with a payment for a claim never recorded: imported, named on stderr, exit 1.
    await writeFile(path.join(dir, 'remit-late.835'), write835([paid(claimOf(6)), paid({ ...claimOf(7), claimId: 'NEVER-RECORDED' })], { control: 950, traceNumber: 'LATE' }));
    const late = await scrub(['remits', 'import', ...args.slice(0, 2), path.join(dir, 'remit-late.835')], { env });
    expect(late.code).toBe(1);
    expect(late.stdout).toMatch(/remit-late\.835: 2 claim payments in 1 transaction set: 2 imported \(1 matched, 1 matched no recorded claim\)/);
    expect(late.stderr).toContain('claim NEVER-RECORDED matched no recorded claim');
    const notRemit = await scrub(['remits', 'import', ...args.slice(0, 2), path.join(packageRoot, 'test/fixtures/x12/837p/demo.autoaccident.837')], { env });
    expect(notRemit.code).toBe(2);
    expect(notRemit.stderr).toContain('holds no 835 remittance');
  });

  it('draws the HTML report offline: its charts show the numbers of the report', async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium is needed at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
    const html = await reportHtml(report);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    const file = path.join(dir, 'report.html');
    await writeFile(file, html);
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
    try {
      const context = await browser.newContext({ offline: true, viewport: { width: 1200, height: 900 } });
      const requests: string[] = [];
      context.on('request', (r) => {
        if (!r.url().startsWith('file:')) requests.push(r.url());
      });
      const page = await context.newPage();
      await page.goto(`file://${file}`);
      const bars = (chart: string) =>
        page.$$eval(`#${chart} svg [aria-roledescription="bar"]`, (els) => els.map((e) => ({ label: e.getAttribute('aria-label') ?? '', width: (e as unknown as { getBBox(): { width: number } }).getBBox().width })));
      const rules = await bars('chart-rules');
      const labels = rules.map((b) => b.label);
      expect(labels).toEqual(expect.arrayContaining([expect.stringContaining('loop-units-high fired: 100'), expect.stringContaining('loop-units-high denied: 50'), expect.stringContaining('loop-telehealth paid despite error: 50')]));
      const width = (text: string) => rules.find((b) => b.label.includes(text))!.width;
      // Bars drawn to scale: 100 fired is twice as long as 50 denied.
      expect(width('loop-units-high fired: 100') / width('loop-units-high denied: 50')).toBeCloseTo(2, 1);
      const unpredicted = await bars('chart-unpredicted');
      expect(unpredicted.map((b) => b.label)).toEqual([
        expect.stringContaining('CO-97: $12,000.00 in 100 denials'),
        expect.stringContaining('CO-50: $1,200.00 in 10 denials'),
        expect.stringContaining('CO-16: $500.00 in 25 denials'),
      ]);
      expect(await page.locator('#unpredicted tbody tr').count()).toBe(3);
      expect(requests).toEqual([]);
      if (process.env.REMITS_SCREENSHOT) await page.screenshot({ path: process.env.REMITS_SCREENSHOT, fullPage: true });
    } finally {
      await browser.close();
    }
  }, 60_000);
});
