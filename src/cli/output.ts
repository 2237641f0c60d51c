import type { Finding, FindingSource, ScrubResult } from '../findings/finding.js';
import type { ExplainedResult, RuleExplanation } from '../engine/scrubber.js';
import type { ConditionTrace } from '../engine/evaluator.js';

/** Readable text for people at a terminal; colour only when the stream is a TTY. */
export interface Style {
  red(s: string): string;
  yellow(s: string): string;
  blue(s: string): string;
  green(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

const plain: Style = { red: (s) => s, yellow: (s) => s, blue: (s) => s, green: (s) => s, dim: (s) => s, bold: (s) => s };
const sgr = (code: number) => (s: string) => `\u001b[${code}m${s}\u001b[0m`;
const coloured: Style = { red: sgr(31), yellow: sgr(33), blue: sgr(34), green: sgr(32), dim: sgr(2), bold: sgr(1) };

export function styleFor(stream: NodeJS.WriteStream): Style {
  return stream.isTTY && !process.env.NO_COLOR ? coloured : plain;
}

function severityLabel(f: Finding, s: Style): string {
  const label = f.severity.padEnd(7);
  return f.severity === 'error' ? s.red(label) : f.severity === 'warning' ? s.yellow(label) : s.blue(label);
}

/** "2400 SV1-01-3 (segment 34, byte 1180)" or "Claim.item[1].modifier". */
export function sourceText(source: FindingSource): string {
  if (source.format === 'fhir') return source.expression;
  return `${source.loop} ${source.element ?? source.segment} (segment ${source.position}, byte ${source.offset})`;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

export function formatResultText(source: string, result: ScrubResult, s: Style): string {
  const out: string[] = [];
  const verdict = result.outcome === 'pass' ? s.green('PASS') : s.red('FAIL');
  const { errors, warnings, infos } = result.summary;
  const counts = [count(errors, 'error'), count(warnings, 'warning'), infos ? count(infos, 'info') : ''].filter(Boolean).join(', ');
  out.push(`${s.bold(source)}  claim ${result.claimId ?? '(no claimId)'}  ${verdict}  ${counts}`);
  for (const f of result.findings) {
    const where = f.lines.length ? `line ${f.lines.join(',')}` : 'claim';
    out.push(`  ${severityLabel(f, s)} ${where.padEnd(9)} ${s.dim(`${f.pack}/${f.ruleId}`)}  ${f.message}`);
    const fix = [f.path ? `at ${f.path}` : '', f.source ? `in the file: ${sourceText(f.source)}` : '', f.suggestion ? `fix: ${f.suggestion}` : '']
      .filter(Boolean)
      .join('  ');
    if (fix) out.push(`  ${' '.repeat(18)}${s.dim(fix)}`);
  }
  if ('explain' in result) out.push(...formatExplain((result as ExplainedResult).explain, s));
  return out.join('\n');
}

/** A whole line compared by hasModifier is shown by the part that was compared: its modifiers. */
function showCompared(operator: string, value: unknown): string {
  if (/(^|:)(has|lacks)Modifier$/.test(operator) && value !== null && typeof value === 'object' && 'modifiers' in value) {
    return `modifiers ${JSON.stringify((value as { modifiers: unknown }).modifiers)}`;
  }
  const json = JSON.stringify(value) ?? 'undefined';
  return json.length > 120 ? json.slice(0, 117) + '...' : json;
}

function conditionLines(t: ConditionTrace, depth: number, s: Style): string[] {
  const pad = '    ' + '  '.repeat(depth);
  const mark = (r: boolean | undefined) => (r === undefined ? s.dim('·') : r ? s.green('✓') : s.red('✗'));
  if ('all' in t) return [`${pad}${mark(t.result)} all of:`, ...t.all.flatMap((c) => conditionLines(c, depth + 1, s))];
  if ('any' in t) return [`${pad}${mark(t.result)} any of:`, ...t.any.flatMap((c) => conditionLines(c, depth + 1, s))];
  if ('not' in t) return [`${pad}${mark(t.result)} not:`, ...conditionLines(t.not, depth + 1, s)];
  const lhs = `${t.fact}${t.path ? '.' + t.path : ''}`;
  const rhs = JSON.stringify(t.value);
  const seen = t.result === undefined ? s.dim('(not evaluated: an earlier condition decided)') : `was ${showCompared(t.operator, t.factValue)}${t.valueResolved !== undefined ? ` vs ${JSON.stringify(t.valueResolved)}` : ''}`;
  return [`${pad}${mark(t.result)} ${lhs} ${t.operator} ${rhs}  ${seen}`];
}

export function formatExplain(explain: readonly RuleExplanation[], s: Style): string[] {
  const out = [s.bold('  explain:')];
  for (const e of explain) {
    out.push(`    ${e.fired ? s.red('fired') : s.green('quiet')} ${e.pack}/${e.ruleId} on ${e.target}`);
    out.push(...conditionLines(e.conditions, 1, s));
  }
  return out;
}
