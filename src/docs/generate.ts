import path from 'node:path';
import { datesInWords, isDatedValue, type Pack, type PackSet, type Rule } from '../packs/model.js';
import type { TestCase } from '../testing/cases.js';
import { describeCondition } from './conditions.js';

/** Markdown pages generated from the packs themselves, so the docs cannot drift from the rules. */

export interface DocPage {
  file: string;
  content: string;
}

export const SCOPE_WORDS: Record<string, string> = {
  claim: 'the claim, once',
  line: 'each line',
  'line-pair': 'each pair of lines',
  'line-pair-ordered': 'each pair of lines, in both orders',
  diagnosis: 'each diagnosis',
  'code-date': 'each procedure code per date of service',
  'history-pair': 'each line with each line recorded earlier for the same patient on its date, in both orders',
};

function window(w: { from?: string; to?: string } | undefined): string | undefined {
  if (!w) return undefined;
  return `${w.from ?? 'always'} to ${w.to ?? 'no end date'}`;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** File names relative to the folder that holds the rules folder, whatever the working folder. */
function relative(packSet: PackSet, file: string): string {
  return path.relative(path.dirname(packSet.dir), path.resolve(file)).split(path.sep).join('/');
}

function rulePage(rule: Rule, pack: Pack, packSet: PackSet, cases: readonly TestCase[], overriddenBy: readonly Pack[]): string[] {
  const out = [`<a id="${rule.id}"></a>`, '', `### \`${rule.id}\`: ${rule.title}`, ''];
  out.push(`| | |`, `|---|---|`);
  out.push(`| category | \`${rule.category}\` |`, `| severity | \`${rule.severity}\` |`, `| looks at | ${SCOPE_WORDS[rule.scopeKey]} |`);
  if (rule.predicts) out.push(`| payer denies it with | ${rule.predicts.map((p) => `\`${p.text}\``).join(', ')} |`);
  const eff = window(rule.effective);
  if (eff) out.push(`| effective | ${eff} |`);
  if (rule.suppressedBy) out.push(`| left out when | ${rule.suppressedBy.map((id) => `\`${id}\``).join(' or ')} reports the same lines |`);
  out.push(`| defined in | \`${relative(packSet, rule.location.file)}:${rule.location.line}\` |`, '');
  if (rule.description) out.push(rule.description, '');
  out.push('**Fires when**', '', ...describeCondition(rule.conditions, pack), '');
  out.push(`**Message**: ${cell(rule.message.source)}`, '');
  if (rule.suggestion) out.push(`**Suggestion**: ${cell(rule.suggestion.source)}`, '');
  if (rule.references.length) {
    out.push('**Sources**', '');
    for (const r of rule.references) out.push(`- ${r.url ? `[${r.title}](${r.url})` : r.title}${r.citation ? `, ${r.citation}` : ''}`);
    out.push('');
  }
  for (const payer of overriddenBy) {
    const o = payer.overrides.find((x) => x.rule === rule.id)!;
    const change = o.enabled === false ? 'switches it off' : `makes it ${o.severity}`;
    out.push(`> Payer pack \`${payer.name}\` ${change}: ${o.reason}`, '');
  }
  const fires = cases.filter((c) => c.expect.some((e) => e.rule === rule.id));
  const quiet = cases.filter((c) => c.ok.includes(rule.id));
  if (fires.length || quiet.length) {
    out.push('**Examples** (from the pack tests)', '');
    for (const c of fires) out.push(`- fires: ${c.name} (\`${relative(packSet, c.file)}:${c.line}\`)`);
    for (const c of quiet) out.push(`- quiet: ${c.name} (\`${relative(packSet, c.file)}:${c.line}\`)`);
    out.push('');
  }
  return out;
}

function packPage(pack: Pack, packSet: PackSet, cases: readonly TestCase[]): string {
  const out = [`# ${pack.title}`, '', `\`${pack.name}\` version ${pack.version}, owned by ${pack.owner}.`, '', pack.description.trim(), ''];
  const applies: string[] = [];
  if (pack.appliesTo?.payerIds) applies.push(`payer ids ${pack.appliesTo.payerIds.map((x) => `\`${x}\``).join(', ')}`);
  if (pack.appliesTo?.payerTypes) applies.push(`payer types ${pack.appliesTo.payerTypes.join(', ')}`);
  if (pack.appliesTo?.claimTypes) applies.push(`${pack.appliesTo.claimTypes.join(' and ')} claims`);
  if (pack.appliesTo?.billTypes) applies.push(`types of bill ${pack.appliesTo.billTypes.join(', ')}`);
  out.push(`**Applies to**: ${applies.length ? applies.join('; ') : 'every claim'}.`, '');
  const eff = window(pack.effective);
  if (eff) out.push(`**Effective**: ${eff}.`, '');
  if (pack.extends.length) out.push(`**Extends**: ${pack.extends.map((e) => `[\`${e}\`](${e}.md)`).join(', ')}.`, '');
  if (pack.sources.length) {
    out.push('## Sources', '');
    for (const s of pack.sources) out.push(`- ${s.url ? `[${s.title}](${s.url})` : s.title}${s.citation ? `, ${s.citation}` : ''}`);
    out.push('');
  }
  const params = Object.entries(pack.parameters);
  if (params.length) {
    out.push('## Parameters', '', '| name | value | meaning |', '|---|---|---|');
    for (const [name, p] of params) {
      const value = isDatedValue(p.value)
        ? p.value.map((e) => `${JSON.stringify(e.value)} ${datesInWords(e)}${e.source ? ` (${e.source})` : ''}`).join('; ')
        : Array.isArray(p.value)
        ? p.value.length > 8
          ? `${p.value.slice(0, 8).join(', ')} and ${p.value.length - 8} more`
          : p.value.join(', ')
        : p.value !== null && typeof p.value === 'object'
          ? JSON.stringify(p.value)
          : String(p.value);
      out.push(`| \`${name}\` | ${cell(value)} | ${cell(p.description ?? '')} |`);
    }
    out.push('');
  }
  if (pack.tables.length) {
    out.push(
      '## Tables',
      '',
      'Each table adds the fact of its name; a line is judged by the edition that covers its date of service, and findings quote it. On dates no edition covers, the table gives no verdict.',
      '',
    );
    out.push('| table (fact) | format | edition | dates of service | complete | files | replaced by |', '|---|---|---|---|---|---|---|');
    for (const t of pack.tables) {
      for (const e of t.editions) {
        const complete = e.complete ? 'yes' : 'no (an excerpt)';
        out.push(
          `| \`${t.name}\` | \`${t.format}\` | ${cell(e.edition)} | ${window(e.covers) ?? 'every date'} | ${complete} | ${e.files.map((f) => `\`${f}\``).join(', ')} | ${t.env ? `\`${t.env}\`` : ''} |`,
        );
      }
    }
    out.push('');
  }
  if (pack.overrides.length) {
    out.push('## Changes to the extended packs', '', '| rule | change | why |', '|---|---|---|');
    for (const o of pack.overrides) out.push(`| \`${o.rule}\` | ${o.enabled === false ? 'switched off' : `severity ${o.severity}`} | ${cell(o.reason)} |`);
    out.push('');
  }
  if (pack.rules.length) {
    out.push('## Rules', '');
    for (const rule of pack.rules) {
      const overriddenBy = packSet.packs.filter((p) => p.extends.includes(pack.name) && p.overrides.some((o) => o.rule === rule.id));
      out.push(...rulePage(rule, pack, packSet, cases, overriddenBy));
    }
  }
  return out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n';
}

export function generateDocs(packSet: PackSet, cases: readonly TestCase[]): DocPage[] {
  const pages = packSet.packs.map((pack) => ({ file: `${pack.name}.md`, content: packPage(pack, packSet, cases) }));
  const index = [
    '# Rule packs',
    '',
    'Generated by `scrub docs` from the packs and their tests; do not edit by hand.',
    '',
    '| pack | version | rules | applies to |',
    '|---|---|---|---|',
    ...packSet.packs.map((p) => {
      const applies = [p.appliesTo?.payerIds?.join(', '), p.appliesTo?.payerTypes?.join(', '), p.appliesTo?.claimTypes?.join(', '), p.appliesTo?.billTypes && `types of bill ${p.appliesTo.billTypes.join(', ')}`].filter(Boolean).join('; ') || 'every claim';
      return `| [${p.title}](${p.name}.md) | ${p.version} | ${p.rules.length} | ${cell(applies)} |`;
    }),
    '',
    '## All rules',
    '',
    '| rule | pack | category | severity |',
    '|---|---|---|---|',
    ...packSet.packs.flatMap((p) => p.rules.map((r) => `| [\`${r.id}\`](${p.name}.md#${r.id}) | ${p.name} | ${r.category} | ${r.severity} |`)),
    '',
  ].join('\n');
  return [{ file: 'README.md', content: index }, ...pages];
}
