import { useEffect, useRef, useState } from 'preact/hooks';
import { getJson, postJson } from './api';
import type { LineDiagnostic, YamlEditor } from './code-editor';
import { unifiedDiff } from './diff';
import { allExampleTexts } from './examples';
import type { Catalog, LintReport, PackDiagnostic, PackFile, Session, TestReport, WhatIfReport } from './types';
import { ErrorNote, OutcomeBadge, plural } from './ui';

/**
 * Edit a pack's YAML in the browser: linted by the service as you type, its tests run, and the
 * findings it would change tried on claims. Nothing reaches the server's files: keep the result
 * by downloading the file or copying a patch; the server changes only when its files do and an
 * admin reloads the packs.
 */

interface Loaded {
  name: string;
  original: PackFile[];
}

function Diagnostics({ list, onOpen }: { list: PackDiagnostic[]; onOpen: (d: PackDiagnostic) => void }) {
  if (list.length === 0) return <p class="ok-note">No problems.</p>;
  return (
    <ul class="diagnostics" data-testid="diagnostics">
      {list.map((d, i) => (
        <li key={i} class={`diag-${d.severity}`}>
          <button type="button" class="link" onClick={() => onOpen(d)}>
            {d.file}:{d.line}:{d.column}
          </button>{' '}
          <span class={`badge badge-${d.severity}`}>{d.severity}</span> [{d.code}] {d.message}
        </li>
      ))}
    </ul>
  );
}

export function EditView({ catalog, session, pack, onReloaded }: { catalog: Catalog; session: Session; pack?: string | undefined; onReloaded: () => void }) {
  const [loaded, setLoaded] = useState<Loaded>();
  const [texts, setTexts] = useState<Record<string, string>>({});
  const [current, setCurrent] = useState<string>('pack.yaml');
  const [lint, setLint] = useState<LintReport>();
  const [tests, setTests] = useState<TestReport>();
  const [whatIf, setWhatIf] = useState<WhatIfReport>();
  const [sample, setSample] = useState<'examples' | 'history'>('examples');
  const [busy, setBusy] = useState<string>();
  const [error, setError] = useState<unknown>();
  const [note, setNote] = useState('');
  const host = useRef<HTMLDivElement>(null);
  const editor = useRef<YamlEditor | undefined>(undefined);
  const textsRef = useRef(texts);
  textsRef.current = texts;
  const name = pack ?? catalog.packs[0]?.name ?? '';

  useEffect(() => {
    setLoaded(undefined);
    setLint(undefined);
    setTests(undefined);
    setWhatIf(undefined);
    getJson<{ name: string; files: PackFile[] }>(`/v1/packs/${encodeURIComponent(name)}/files`).then((r) => {
      setLoaded({ name: r.name, original: r.files });
      setTexts(Object.fromEntries(r.files.map((f) => [f.path, f.text])));
      setCurrent('pack.yaml');
    }, setError);
  }, [name]);

  const fileName = (p: string) => loaded?.original.find((f) => f.path === p)?.file ?? p;
  const edit = (files = textsRef.current) => ({ pack: name, files });

  // The editor for the file shown; linting sends the whole pack with this file as typed.
  useEffect(() => {
    if (!loaded || !host.current) return;
    let alive = true;
    let made: YamlEditor | undefined;
    void import('./code-editor').then(({ createYamlEditor }) => {
      if (!alive || !host.current) return;
      host.current.replaceChildren();
      made = createYamlEditor(host.current, textsRef.current[current] ?? '', `YAML of ${fileName(current)}`, {
        lint: async (text): Promise<LineDiagnostic[]> => {
          const report = await postJson<LintReport>('/v1/packs/lint', edit({ ...textsRef.current, [current]: text }));
          setLint(report);
          return report.diagnostics.filter((d) => d.file === fileName(current));
        },
        onChange: (text) => setTexts((t) => ({ ...t, [current]: text })),
      });
      editor.current = made;
    });
    return () => {
      alive = false;
      made?.destroy();
    };
  }, [loaded, current]);

  const changed = loaded ? loaded.original.filter((f) => texts[f.path] !== f.text).map((f) => f.path) : [];

  async function run<T>(label: string, task: () => Promise<T>, done: (value: T) => void) {
    setBusy(label);
    setError(undefined);
    try {
      done(await task());
    } catch (e) {
      setError(e);
    } finally {
      setBusy(undefined);
    }
  }

  const open = (d: PackDiagnostic) => {
    const target = loaded?.original.find((f) => f.file === d.file);
    if (!target) return;
    if (target.path !== current) setCurrent(target.path);
    setTimeout(() => editor.current?.reveal(d.line, d.column), 50);
  };

  const download = () => {
    const blob = new Blob([texts[current] ?? ''], { type: 'application/yaml' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = current.split('/').pop() ?? 'pack.yaml';
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
    setNote(`Downloaded ${a.download}.`);
  };

  // Paths inside the rules folder ("core/rules/npi.yaml"): apply with `patch -p1` there.
  const patch = () => (loaded ? loaded.original.map((f) => unifiedDiff(`${loaded.name}/${f.path}`, f.text, texts[f.path] ?? '')).join('') : '');

  return (
    <>
      <h1 tabIndex={-1}>Edit a pack</h1>
      <p class="lead">
        Changes stay in this page: the service lints and tests them in memory and never writes them. Keep them by downloading the file or copying a patch for the rules folder.
      </p>
      <div class="toolbar">
        <div class="field">
          <label for="edit-pack">Pack</label>
          <select id="edit-pack" value={name} onChange={(e) => (location.hash = `#/edit/${encodeURIComponent(e.currentTarget.value)}`)}>
            {catalog.packs.map((p) => (
              <option key={p.name} value={p.name}>
                {p.name}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="edit-file">File</label>
          <select id="edit-file" value={current} onChange={(e) => setCurrent(e.currentTarget.value)}>
            {loaded?.original.map((f) => (
              <option key={f.path} value={f.path}>
                {f.path}
                {changed.includes(f.path) ? ' (changed)' : ''}
              </option>
            ))}
          </select>
        </div>
        <button type="button" disabled={!loaded || !!busy} onClick={() => void run('Running the tests…', () => postJson<TestReport>('/v1/packs/test', edit()), setTests)}>
          Run the pack’s tests
        </button>
        <div class="field">
          <label for="what-if-sample">Try on</label>
          <select id="what-if-sample" value={sample} onChange={(e) => setSample(e.currentTarget.value as 'examples' | 'history')}>
            <option value="examples">the example claims</option>
            <option value="history" disabled={!session.historyClaims}>
              recently recorded claims{session.history === 'off' ? ' (history off)' : !session.historyClaims ? ' (the history keeps no whole claims)' : ''}
            </option>
          </select>
        </div>
        <button
          type="button"
          disabled={!loaded || !!busy}
          onClick={() =>
            void run(
              'Trying the edit…',
              async () => {
                if (sample === 'history') return postJson<WhatIfReport>('/v1/packs/what-if', { ...edit(), sample: 'history' });
                const claims = (await allExampleTexts()).map((e) => ({ name: `${e.name} (${e.form})`, text: e.text }));
                return postJson<WhatIfReport>('/v1/packs/what-if', { ...edit(), claims });
              },
              setWhatIf,
            )
          }
        >
          What if?
        </button>
        <button type="button" disabled={!loaded} onClick={download}>
          Download file
        </button>
        <button
          type="button"
          disabled={changed.length === 0}
          onClick={() => {
            void navigator.clipboard.writeText(patch()).then(
              () => setNote(`Patch of ${plural(changed.length, 'file')} copied.`),
              () => setNote('The browser refused the clipboard; the patch is shown below.'),
            );
          }}
        >
          Copy patch
        </button>
        <button
          type="button"
          disabled={session.role !== 'admin' || !!busy}
          aria-describedby="reload-note"
          onClick={() =>
            void run('Reloading…', () => postJson<{ loadedAt: string }>('/v1/packs/reload', {}), (r) => {
              setNote(`The server reloaded its rules folder at ${r.loadedAt}.`);
              onReloaded();
            })
          }
        >
          Reload server packs (admin only)
        </button>
      </div>
      <p id="reload-note" class="muted">
        Reloading reads the server’s rules folder, not these edits, and needs an admin key{session.role === 'admin' ? '.' : ': your key’s role is scrub, so it is not offered.'}
      </p>
      <p role="status" aria-live="polite" class="status">
        {busy ?? note}
      </p>
      <ErrorNote error={error} />
      <div class="split">
        <div class="pane">
          <p class="pane-title">
            <code>{fileName(current)}</code>
            {changed.includes(current) ? ' · changed' : ''}
          </p>
          <div ref={host} class="yaml-editor" data-testid="yaml-editor" />
        </div>
        <div class="pane">
          <section class="panel" aria-labelledby="lint-heading">
            <h2 id="lint-heading">Problems</h2>
            {lint ? (
              <>
                <p data-testid="lint-summary">
                  {plural(lint.errors, 'error')}, {plural(lint.warnings, 'warning')}
                </p>
                <Diagnostics list={lint.diagnostics} onOpen={open} />
              </>
            ) : (
              <p class="muted">Linting as you type…</p>
            )}
          </section>
          {tests ? (
            <section class="panel" aria-labelledby="tests-heading" data-testid="test-report">
              <h2 id="tests-heading">Tests</h2>
              {tests.diagnostics.length ? (
                <>
                  <p>The tests cannot run:</p>
                  <Diagnostics list={tests.diagnostics} onOpen={open} />
                </>
              ) : (
                <p data-testid="test-summary">
                  {tests.passed} passed, {tests.failed} failed
                </p>
              )}
              <ul class="cases">
                {tests.cases.map((c, i) => (
                  <li key={i} class={c.passed ? 'case-pass' : 'case-fail'}>
                    <span class={`badge badge-${c.passed ? 'pass' : 'fail'}`}>{c.passed ? 'pass' : 'fail'}</span> {c.name}{' '}
                    <code>
                      {c.file}:{c.line}
                    </code>
                    {c.passed ? null : (
                      <div class="case-detail">
                        <p>Expected:</p>
                        <ul>
                          {c.expected.map((e, j) => (
                            <li key={j}>
                              {e.rule} fires{e.lines ? ` on lines ${e.lines.join(', ')}` : ''}
                              {e.path !== undefined ? ` at ${e.path || '(the claim)'}` : ''}
                              {e.severity ? ` as ${e.severity}` : ''}
                            </li>
                          ))}
                          {c.ok.map((r) => (
                            <li key={r}>{r} does not fire</li>
                          ))}
                        </ul>
                        <p>Actual:</p>
                        <ul>
                          {c.actual.length ? c.actual.map((a, j) => <li key={j}>{a}</li>) : <li>no finding</li>}
                        </ul>
                        <pre>{c.failures.join('\n')}</pre>
                      </div>
                    )}
                  </li>
                ))}
              </ul>
            </section>
          ) : null}
          {whatIf ? (
            <section class="panel" aria-labelledby="whatif-heading" data-testid="what-if">
              <h2 id="whatif-heading">What if</h2>
              {whatIf.diagnostics.length ? (
                <Diagnostics list={whatIf.diagnostics} onOpen={open} />
              ) : (
                <>
                  <p>
                    On {plural(whatIf.claims, whatIf.source === 'history' ? 'recorded claim' : 'example claim')}: {plural(whatIf.changed, 'claim')} would change,{' '}
                    {whatIf.newlyFailing} would newly fail, {whatIf.newlyPassing} would newly pass.
                  </p>
                  {whatIf.byRule.length ? (
                    <table>
                      <thead>
                        <tr>
                          <th scope="col">Rule</th>
                          <th scope="col">Findings added</th>
                          <th scope="col">Findings removed</th>
                        </tr>
                      </thead>
                      <tbody>
                        {whatIf.byRule.map((r) => (
                          <tr key={r.ruleId}>
                            <td>{r.ruleId}</td>
                            <td>{r.added}</td>
                            <td>{r.removed}</td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  ) : null}
                  <ul class="comparisons">
                    {whatIf.comparisons
                      .filter((c) => c.added.length || c.removed.length)
                      .map((c, i) => (
                        <li key={i}>
                          <strong>{c.label}</strong> ({c.claimId ?? 'no id'}): <OutcomeBadge outcome={c.before.outcome} /> → <OutcomeBadge outcome={c.after.outcome} />
                          <ul>
                            {c.added.map((f, j) => (
                              <li key={`a${j}`}>
                                + {f.severity} {f.ruleId}: {f.message}
                              </li>
                            ))}
                            {c.removed.map((f, j) => (
                              <li key={`r${j}`}>
                                − {f.severity} {f.ruleId}: {f.message}
                              </li>
                            ))}
                          </ul>
                        </li>
                      ))}
                  </ul>
                </>
              )}
            </section>
          ) : null}
          {changed.length ? (
            <details class="panel">
              <summary>Patch ({plural(changed.length, 'changed file')})</summary>
              <pre data-testid="patch">{patch()}</pre>
            </details>
          ) : null}
        </div>
      </div>
    </>
  );
}
