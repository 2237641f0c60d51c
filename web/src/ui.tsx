import type { ComponentChildren } from 'preact';
import { placeName } from './locate';
import type { Finding, Severity } from './types';

export function SeverityBadge({ severity }: { severity: Severity | string }) {
  return <span class={`badge badge-${severity}`}>{severity}</span>;
}

export function OutcomeBadge({ outcome }: { outcome: 'pass' | 'fail' }) {
  return <span class={`badge badge-${outcome}`}>{outcome}</span>;
}

/** Text with `code spans` (as the generated docs write conditions) shown as code. */
export function CodeText({ text }: { text: string }) {
  const parts = text.split('`');
  return <>{parts.map((p, i) => (i % 2 === 1 ? <code key={i}>{p}</code> : p))}</>;
}

export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p class="error-note" role="alert">
      {error instanceof Error ? error.message : String(error)}
    </p>
  );
}

export function Section({ title, children, id }: { title: string; children: ComponentChildren; id?: string }) {
  return (
    <section aria-labelledby={id} class="panel">
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}

/** Findings grouped by the claim line they concern (the claim itself first). */
export function groupByLine(findings: readonly Finding[]): Array<{ line: number | null; findings: Finding[] }> {
  const groups = new Map<number | null, Finding[]>();
  for (const f of findings) {
    const key = f.lines[0] ?? null;
    const list = groups.get(key) ?? [];
    list.push(f);
    groups.set(key, list);
  }
  return [...groups.entries()].sort(([a], [b]) => (a ?? 0) - (b ?? 0)).map(([line, list]) => ({ line, findings: list }));
}

export function FindingBody({ finding }: { finding: Finding }) {
  return (
    <>
      <p class="finding-message">{finding.message}</p>
      {finding.suggestion ? (
        <p class="finding-suggestion">
          <strong>Fix: </strong>
          {finding.suggestion}
        </p>
      ) : null}
      <p class="finding-meta">
        <a href={`#/rules/${encodeURIComponent(finding.ruleId)}`}>{finding.ruleId}</a> · {finding.category} · <span class="place">{placeName(finding)}</span>
      </p>
    </>
  );
}

export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}
