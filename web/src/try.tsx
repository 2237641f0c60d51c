import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { call, contentTypeOf, formatOf, getJson, type Format } from './api';
import type { ClaimEditor, Highlight } from './code-editor';
import { EXAMPLES, FORM_NAMES } from './examples';
import { Locator } from './locate';
import type { DescribedCondition, Finding, RuleDetail, RuleExplanation, ScrubResult, TraceNode } from './types';
import { CodeText, ErrorNote, FindingBody, OutcomeBadge, groupByLine, plural } from './ui';

/** A claim another view hands over (a claim of a batch), with the findings it already has. */
export interface TryRequest {
  text: string;
  label: string;
}

const findingId = (i: number) => `finding-${i}`;

function show(value: unknown): string {
  if (value === undefined) return 'missing';
  const text = JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}…` : text;
}

/** The trace of one rule on one target, with each condition in words beside how it came out. */
function TraceTree({ trace, described }: { trace: TraceNode; described?: DescribedCondition | undefined }) {
  const mark = (result: boolean | undefined) => (
    <span class={`badge badge-${result ? 'pass' : 'fail'}`}>{result === undefined ? 'not reached' : result ? 'true' : 'false'}</span>
  );
  for (const kind of ['all', 'any'] as const) {
    const list = trace[kind];
    if (list) {
      const words = described && kind in described ? (described as Record<string, DescribedCondition[]>)[kind] : undefined;
      return (
        <li>
          {kind} of: {mark(trace.result)}
          <ul>
            {list.map((t, i) => (
              <TraceTree key={i} trace={t} described={words?.[i]} />
            ))}
          </ul>
        </li>
      );
    }
  }
  if (trace.not) {
    return (
      <li>
        not: {mark(trace.result)}
        <ul>
          <TraceTree trace={trace.not} described={described && 'not' in described ? described.not : undefined} />
        </ul>
      </li>
    );
  }
  const text = described && 'text' in described ? described.text : `${trace.fact}${trace.path ? '.' + trace.path : ''} ${trace.operator} ${show(trace.value)}`;
  return (
    <li>
      <CodeText text={text} />
      <span class="compared">
        value: <code>{show(trace.factValue)}</code>
        {trace.valueResolved !== undefined ? (
          <>
            {' '}
            compared with <code>{show(trace.valueResolved)}</code>
          </>
        ) : null}
      </span>{' '}
      {mark(trace.result)}
    </li>
  );
}

function WhyView({ ruleId, explain, onClose }: { ruleId: string; explain: RuleExplanation[]; onClose: () => void }) {
  const [rule, setRule] = useState<RuleDetail>();
  const [error, setError] = useState<unknown>();
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    getJson<RuleDetail>(`/v1/rules/${encodeURIComponent(ruleId)}`).then(setRule, setError);
    heading.current?.focus();
  }, [ruleId]);
  const entries = explain.filter((e) => e.ruleId === ruleId);
  return (
    <section class="panel why" aria-labelledby="why-heading" data-testid="why">
      <h2 id="why-heading" tabIndex={-1} ref={heading}>
        Why: <code>{ruleId}</code>
      </h2>
      <button type="button" onClick={onClose}>
        Close
      </button>
      <ErrorNote error={error} />
      {entries.length === 0 ? <p>The rule did not apply to this claim (its pack or dates do not cover it).</p> : null}
      {entries.map((e, i) => (
        <div key={i} class="why-entry">
          <h3>
            {e.target}: {e.fired ? <span class="badge badge-fail">fired</span> : <span class="badge badge-pass">did not fire</span>}
          </h3>
          <ul class="conditions">
            <TraceTree trace={e.conditions} described={rule?.conditions} />
          </ul>
        </div>
      ))}
    </section>
  );
}

export function TryView({ request }: { request?: TryRequest | undefined }) {
  const host = useRef<HTMLDivElement>(null);
  const editor = useRef<ClaimEditor | undefined>(undefined);
  const [ready, setReady] = useState(false);
  const [label, setLabel] = useState(request?.label ?? 'your claim');
  const [format, setFormat] = useState<Format>('json');
  const [example, setExample] = useState(EXAMPLES.find((e) => e.name === 'modifier-problems')?.name ?? EXAMPLES[0]?.name ?? '');
  const [asOf, setAsOf] = useState('');
  const [result, setResult] = useState<{ text: string; asOf: string; result: ScrubResult }>();
  const [explain, setExplain] = useState<{ key: string; explain: RuleExplanation[] }>();
  const [why, setWhy] = useState<string>();
  const [selected, setSelected] = useState<number>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [stale, setStale] = useState(false);
  const [scrubs, setScrubs] = useState(0);

  useEffect(() => {
    let alive = true;
    void import('./code-editor').then(({ createClaimEditor }) => {
      if (!alive || !host.current) return;
      editor.current = createClaimEditor(host.current, request?.text ?? '', 'Claim text: canonical JSON, X12 837 or FHIR', () => {
        setStale(true);
        setFormat(formatOf(editor.current?.text() ?? ''));
      });
      setReady(true);
      if (request) {
        setFormat(formatOf(request.text));
        void scrub();
      }
    });
    return () => {
      alive = false;
      editor.current?.destroy();
    };
  }, [request]);

  const findings = result?.result.findings ?? [];
  const locator = useMemo(() => (result ? new Locator(result.text) : undefined), [result]);
  const ranges = useMemo(() => findings.map((f) => locator?.locate(f)), [findings, locator]);

  useEffect(() => {
    if (!editor.current || !result || stale) return;
    const highlights: Highlight[] = [];
    ranges.forEach((r, i) => r && highlights.push({ ...r, active: i === selected, severity: findings[i]!.severity }));
    const active = selected !== undefined ? ranges[selected] : undefined;
    editor.current.highlight(highlights, active);
  }, [ranges, selected, stale]);

  async function scrub() {
    const text = editor.current?.text() ?? '';
    if (!text.trim()) {
      setError(new Error('Paste or load a claim first.'));
      return;
    }
    setBusy(true);
    setError(undefined);
    setWhy(undefined);
    setExplain(undefined);
    try {
      const query = asOf ? `?asOf=${asOf}` : '';
      const res = await call(`/v1/scrub${query}`, { method: 'POST', body: text, contentType: contentTypeOf(text) });
      setResult({ text, asOf, result: (await res.json()) as ScrubResult });
      setSelected(undefined);
      setStale(false);
    } catch (e) {
      setResult(undefined);
      setError(e);
    } finally {
      setBusy(false);
      setScrubs((n) => n + 1);
    }
  }

  async function loadExample(form: Format) {
    const e = EXAMPLES.find((x) => x.name === example);
    const load = e?.forms[form];
    if (!load || !editor.current) return;
    const text = await load();
    editor.current.setText(text);
    setLabel(`example ${e!.name} (${FORM_NAMES[form]})`);
    setFormat(form);
    await scrub();
  }

  async function openWhy(ruleId: string) {
    if (!result) return;
    setWhy(ruleId);
    const key = `${result.asOf}\u0000${result.text}`;
    if (explain?.key === key) return;
    try {
      const query = `?explain=true${result.asOf ? `&asOf=${result.asOf}` : ''}`;
      const res = await call(`/v1/scrub${query}`, { method: 'POST', body: result.text, contentType: contentTypeOf(result.text) });
      setExplain({ key, explain: ((await res.json()) as ScrubResult).explain ?? [] });
    } catch (e) {
      setError(e);
    }
  }

  const current = EXAMPLES.find((e) => e.name === example);
  const groups = groupByLine(findings);
  const indexOf = new Map(findings.map((f, i) => [f, i]));
  return (
    <>
      <h1 tabIndex={-1}>Try a claim</h1>
      <p class="lead">
        Paste or upload a claim as canonical JSON, an X12 837 or a FHIR Claim or Bundle, or load an example. Findings are grouped by claim line; choosing one highlights its place in the text.
        Edit the text and scrub again (Ctrl+Enter).
      </p>
      <div class="toolbar">
        <div class="field">
          <label for="example">Example claim</label>
          <select id="example" value={example} onChange={(e) => setExample(e.currentTarget.value)}>
            {EXAMPLES.map((e) => (
              <option key={e.name} value={e.name}>
                {e.name}
              </option>
            ))}
          </select>
        </div>
        <div class="field" role="group" aria-label="Load the example as">
          <span class="label">Load as</span>
          <span class="buttons">
            {(['json', 'x12', 'fhir'] as const).map((form) => (
              <button key={form} type="button" disabled={!ready || !current?.forms[form]} onClick={() => void loadExample(form)} data-form={form}>
                {FORM_NAMES[form]}
              </button>
            ))}
          </span>
        </div>
        <div class="field">
          <label for="claim-file">Upload a claim file</label>
          <input
            id="claim-file"
            type="file"
            accept=".json,.837,.x12,.edi,.txt"
            onChange={async (e) => {
              const file = e.currentTarget.files?.[0];
              if (!file || !editor.current) return;
              const text = await file.text();
              editor.current.setText(text);
              setLabel(file.name);
              setFormat(formatOf(text));
              await scrub();
            }}
          />
        </div>
        <div class="field">
          <label for="as-of">As of</label>
          <input id="as-of" type="date" value={asOf} onInput={(e) => setAsOf(e.currentTarget.value)} />
        </div>
        <button type="button" class="primary" disabled={!ready || busy} onClick={() => void scrub()}>
          {busy ? 'Scrubbing…' : 'Scrub'}
        </button>
      </div>
      <div class="split">
        <div class="pane">
          <p class="pane-title">
            {label} · read as <strong data-testid="format">{FORM_NAMES[format]}</strong>
            {stale && result ? ' · edited since the last scrub' : ''}
          </p>
          <div
            ref={host}
            class="claim-editor"
            onKeyDown={(e) => {
              if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
                e.preventDefault();
                void scrub();
              }
            }}
          />
        </div>
        <div class="pane findings-pane">
          <ErrorNote error={error} />
          <div role="status" aria-live="polite" class="summary" data-testid="summary" data-scrubs={scrubs}>
            {result ? (
              <>
                <OutcomeBadge outcome={result.result.outcome} /> claim {result.result.claimId ?? '(no id)'}: {plural(result.result.summary.errors, 'error')},{' '}
                {plural(result.result.summary.warnings, 'warning')}, {plural(result.result.summary.infos, 'info', 'infos')}
              </>
            ) : busy ? (
              'Scrubbing…'
            ) : (
              ''
            )}
          </div>
          {groups.map((g) => (
            <section key={g.line ?? 'claim'} class="line-group" aria-label={g.line === null ? 'The claim' : `Line ${g.line}`}>
              <h2>{g.line === null ? 'The claim' : `Line ${g.line}`}</h2>
              <ol class="findings">
                {g.findings.map((f) => {
                  const i = indexOf.get(f)!;
                  const range = ranges[i];
                  return (
                    <li
                      key={i}
                      id={findingId(i)}
                      class={`finding finding-${f.severity}${selected === i ? ' selected' : ''}`}
                      data-rule={f.ruleId}
                      data-highlight={range && result ? result.text.slice(range.from, range.to) : undefined}
                    >
                      <FindingBody finding={f} />
                      <span class="buttons">
                        <button type="button" disabled={!range} aria-pressed={selected === i} onClick={() => setSelected(i)}>
                          {range ? `Show in text (line ${locator!.lineOf(range.from)})` : 'No place in the text'}
                        </button>
                        <button type="button" onClick={() => void openWhy(f.ruleId)}>
                          Why?
                        </button>
                      </span>
                    </li>
                  );
                })}
              </ol>
            </section>
          ))}
          {why ? explain ? <WhyView ruleId={why} explain={explain.explain} onClose={() => setWhy(undefined)} /> : <p aria-busy="true">Explaining…</p> : null}
        </div>
      </div>
    </>
  );
}
