import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { EffectivenessReport } from './effectiveness.js';

/**
 * The effectiveness report written for people: plain text (a terminal), Markdown (a ticket or a
 * wiki page) and HTML (one self-contained file with its charts drawn as inline SVG by Vega-Lite,
 * readable offline: no script, no font or style from elsewhere). JSON is the report object itself.
 */

export type ReportFormat = 'text' | 'json' | 'markdown' | 'html';
export const REPORT_FORMATS: readonly ReportFormat[] = ['text', 'json', 'markdown', 'html'];

const money = (n: number) => `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
const percent = (v: number | null | undefined) => (v === null || v === undefined ? '-' : `${Math.round(v * 100)}%`);

interface Table {
  head: string[];
  /** Columns aligned right (numbers). */
  right: number[];
  rows: string[][];
}

function ruleTable(report: EffectivenessReport): Table {
  return {
    head: ['Rule', 'Severity', 'Fired (claims)', 'Adjudicated', 'Denied', 'Denied $', 'Paid', 'Fixed, then paid', 'Precision', 'Denial codes'],
    right: [2, 3, 4, 5, 6, 7, 8],
    rows: report.rules.map((r) => [
      r.ruleId,
      r.severity,
      String(r.fired.claims),
      String(r.adjudicated.claims),
      String(r.denied.claims),
      money(r.denied.amount),
      String(r.paid.claims),
      String(r.fixedThenPaid),
      r.precision ? `${percent(r.precision.value)} (${r.precision.predicted}/${r.precision.adjudicated})` : '-',
      r.carcs
        .slice(0, 4)
        .map((c) => `${c.code} x${c.count}`)
        .join(', '),
    ]),
  };
}

function unpredictedTable(report: EffectivenessReport): Table {
  return {
    head: ['Denial', 'Payer', 'Procedure', 'Count', 'Amount', 'With a finding', 'Remarks', 'What it means'],
    right: [3, 4, 5],
    rows: report.unpredicted.map((u) => [
      u.code,
      u.payerId,
      u.procedureCode || '(whole claim)',
      String(u.count),
      money(u.amount),
      String(u.withFinding),
      u.remarks.join(' '),
      report.codes.carc[u.reason] ?? '',
    ]),
  };
}

function paidDespiteTable(report: EffectivenessReport): Table {
  return {
    head: ['Rule', 'Pack', 'Paid claims', 'Paid lines', 'Share of its adjudicated errors'],
    right: [2, 3, 4],
    rows: report.paidDespiteFinding.map((p) => [p.ruleId, p.pack, String(p.claims), String(p.lines), percent(p.share)]),
  };
}

function summaryLines(report: EffectivenessReport): string[] {
  const t = report.totals;
  const scope = [report.filter.since ? `recorded since ${report.filter.since}` : 'all recordings', report.filter.payerId ? `payer ${report.filter.payerId}` : 'every payer'].join(', ');
  return [
    `Scope: ${scope}.`,
    `${t.recordings} recordings (${t.scrubbed} scrubbed); ${t.payments} payments imported: ${t.matched} matched a recorded claim, ${t.unmatched} matched none; ${t.reversed} reversed or reversals, left out.`,
    `Claims adjudicated: ${t.outcomes.paid} paid, ${t.outcomes.partial} partly denied, ${t.outcomes.denied} denied, ${t.outcomes.notAdjudicated} not adjudicated.`,
    `Denials on scrubbed claims: ${t.denials.count} (${money(t.denials.amount)}); predicted by a rule that fired: ${t.denials.predicted} (${money(t.denials.predictedAmount)}).`,
    `Denials on claims the scrubber never saw: ${t.denialsUnmatched.count} (${money(t.denialsUnmatched.amount)}).`,
  ];
}

function textTable(table: Table): string {
  if (table.rows.length === 0) return '  (none)\n';
  const widths = table.head.map((h, i) => Math.max(h.length, ...table.rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    '  ' +
    cells
      .map((c, i) => (table.right.includes(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(table.head), line(widths.map((w) => '-'.repeat(w))), ...table.rows.map(line)].join('\n') + '\n';
}

export function reportText(report: EffectivenessReport): string {
  return [
    `Rule effectiveness report (generated ${report.generatedAt})`,
    '',
    ...summaryLines(report),
    '',
    'Rules, most fired first:',
    textTable(ruleTable(report)),
    'Denials no rule predicted, largest first (the rules to write next):',
    textTable(unpredictedTable(report)),
    'Paid despite an error finding (candidates for a lower severity or a payer override):',
    textTable(paidDespiteTable(report)),
  ].join('\n');
}

const mdCell = (s: string) => s.replace(/\|/g, '\\|');

function markdownTable(table: Table): string {
  if (table.rows.length === 0) return '_None._\n';
  const align = table.head.map((_, i) => (table.right.includes(i) ? '---:' : '---'));
  return [table.head, align, ...table.rows].map((r) => `| ${r.map(mdCell).join(' | ')} |`).join('\n') + '\n';
}

export function reportMarkdown(report: EffectivenessReport): string {
  return [
    '# Rule effectiveness',
    '',
    `Generated ${report.generatedAt}.`,
    '',
    ...summaryLines(report).map((l) => `- ${l}`),
    '',
    '## Rules',
    '',
    markdownTable(ruleTable(report)),
    '## Denials no rule predicted',
    '',
    'Largest first: the rules to write next.',
    '',
    markdownTable(unpredictedTable(report)),
    '## Paid despite an error finding',
    '',
    'Rules that fired at severity error on claims the payer paid: candidates for a lower severity or a payer override.',
    '',
    markdownTable(paidDespiteTable(report)),
  ].join('\n');
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function htmlTable(table: Table, id: string): string {
  if (table.rows.length === 0) return `<p id="${id}" class="none">None.</p>`;
  const cell = (tag: string, c: string, i: number) => `<${tag}${table.right.includes(i) ? ' class="n"' : ''}>${escapeHtml(c)}</${tag}>`;
  return `<table id="${id}"><thead><tr>${table.head.map((h, i) => cell('th', h, i)).join('')}</tr></thead><tbody>${table.rows
    .map((r) => `<tr>${r.map((c, i) => cell('td', c, i)).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

/** At most this many bars per chart: the tables below hold the rest. */
const BARS = 20;

async function svgOf(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rules by claims fired, denied and paid despite an error finding. */
function rulesChart(report: EffectivenessReport): TopLevelSpec | undefined {
  const rules = report.rules.slice(0, BARS);
  if (rules.length === 0) return undefined;
  const despite = new Map(report.paidDespiteFinding.map((p) => [p.ruleId, p.claims]));
  const values = rules.flatMap((r) =>
    (
      [
        ['fired', r.fired.claims],
        ['denied', r.denied.claims],
        ['paid despite error', despite.get(r.ruleId) ?? 0],
      ] as const
    ).map(([measure, claims]) => ({ rule: r.ruleId, measure, claims, label: `${r.ruleId} ${measure}: ${claims}` })),
  );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Claims per rule: fired, denied, paid despite an error finding',
    width: 520,
    data: { values },
    mark: 'bar',
    encoding: {
      y: { field: 'rule', type: 'nominal', sort: rules.map((r) => r.ruleId), title: null },
      yOffset: { field: 'measure', sort: ['fired', 'denied', 'paid despite error'] },
      x: { field: 'claims', type: 'quantitative', title: 'claims' },
      color: { field: 'measure', sort: ['fired', 'denied', 'paid despite error'], scale: { range: ['#4c78a8', '#e45756', '#f2a93b'] }, title: null },
      description: { field: 'label' },
    },
  };
}

/** Denials no rule predicted, by denial code, in dollars. */
function unpredictedChart(report: EffectivenessReport): TopLevelSpec | undefined {
  const byCode = new Map<string, { amount: number; count: number }>();
  for (const u of report.unpredicted) {
    const c = byCode.get(u.code) ?? { amount: 0, count: 0 };
    c.amount += u.amount;
    c.count += u.count;
    byCode.set(u.code, c);
  }
  const values = [...byCode.entries()]
    .map(([code, c]) => ({ code, amount: Math.round(c.amount * 100) / 100, count: c.count }))
    .sort((a, b) => b.amount - a.amount || a.code.localeCompare(b.code))
    .slice(0, BARS)
    .map((v) => ({ ...v, label: `${v.code}: ${money(v.amount)} in ${v.count} denials` }));
  if (values.length === 0) return undefined;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Denials no rule predicted, by denial code (dollars)',
    width: 520,
    data: { values },
    mark: { type: 'bar', color: '#e45756' },
    encoding: {
      y: { field: 'code', type: 'nominal', sort: values.map((v) => v.code), title: null },
      x: { field: 'amount', type: 'quantitative', title: 'denied amount ($)' },
      description: { field: 'label' },
    },
  };
}

const STYLE = `body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1b1b1b}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem}table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}th{background:#f4f4f4}
.n{text-align:right;font-variant-numeric:tabular-nums}figure{margin:1rem 0}ul.summary li{margin:.2rem 0}.none{color:#666}`;

export async function reportHtml(report: EffectivenessReport): Promise<string> {
  const charts: string[] = [];
  for (const [id, spec] of [
    ['chart-rules', rulesChart(report)],
    ['chart-unpredicted', unpredictedChart(report)],
  ] as const) {
    if (spec) charts.push(`<figure id="${id}">${await svgOf(spec)}</figure>`);
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Rule effectiveness</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${STYLE}</style></head>
<body>
<h1>Rule effectiveness</h1>
<p>Generated ${escapeHtml(report.generatedAt)}.</p>
<ul class="summary">${summaryLines(report)
    .map((l) => `<li>${escapeHtml(l)}</li>`)
    .join('')}</ul>
${charts.join('\n')}
<h2>Rules</h2>
${htmlTable(ruleTable(report), 'rules')}
<h2>Denials no rule predicted</h2>
<p>Largest first: the rules to write next.</p>
${htmlTable(unpredictedTable(report), 'unpredicted')}
<h2>Paid despite an error finding</h2>
<p>Rules that fired at severity error on claims the payer paid: candidates for a lower severity or a payer override.</p>
${htmlTable(paidDespiteTable(report), 'paid-despite')}
</body></html>
`;
}

export async function formatReport(report: EffectivenessReport, format: ReportFormat): Promise<string> {
  if (format === 'json') return JSON.stringify(report, null, 2) + '\n';
  if (format === 'markdown') return reportMarkdown(report);
  if (format === 'html') return reportHtml(report);
  return reportText(report);
}
