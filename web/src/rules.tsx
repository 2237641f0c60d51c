import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, getJson } from './api';
import type { Catalog, DescribedCondition, RuleActivity, RuleDetail, RuleSummary, Session } from './types';
import { CodeText, ErrorNote, SeverityBadge, plural } from './ui';

/** A rule matches when every word of the query is in its id, title, pack, a code it names or a payer. */
function matches(rule: RuleSummary, words: string[]): boolean {
  return words.every((w) => {
    const upper = w.toUpperCase();
    return (
      rule.id.includes(w) ||
      rule.title.toLowerCase().includes(w) ||
      rule.pack.includes(w) ||
      rule.category === w ||
      rule.codes.some((c) => c === upper || c.startsWith(upper)) ||
      rule.payers.some((p) => p.toLowerCase() === w || p.toLowerCase().startsWith(w))
    );
  });
}

function options(values: Iterable<string>): string[] {
  return [...new Set(values)].sort();
}

export function RulesView({ catalog }: { catalog: Catalog }) {
  const [query, setQuery] = useState('');
  const [category, setCategory] = useState('');
  const [severity, setSeverity] = useState('');
  const [pack, setPack] = useState('');
  const [payer, setPayer] = useState('');
  const categories = useMemo(() => options(catalog.rules.map((r) => r.category)), [catalog]);
  const payers = useMemo(() => options(catalog.rules.flatMap((r) => r.payers)), [catalog]);
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const shown = catalog.rules.filter(
    (r) => (!category || r.category === category) && (!severity || r.severity === severity) && (!pack || r.pack === pack) && (!payer || r.payers.includes(payer)) && matches(r, words),
  );
  return (
    <>
      <h1 tabIndex={-1}>Rules</h1>
      <p class="lead">
        {plural(catalog.rules.length, 'rule')} in {plural(catalog.packs.length, 'pack')}, loaded {new Date(catalog.loadedAt).toLocaleString()}. Search by rule id, words of the title, a
        code or modifier (<code>99213</code>, <code>J3</code>, <code>LT</code>) or a payer.
      </p>
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <div class="field grow">
          <label for="rule-query">Search</label>
          <input id="rule-query" type="search" value={query} onInput={(e) => setQuery(e.currentTarget.value)} placeholder="id, title, code, payer" />
        </div>
        <div class="field">
          <label for="rule-category">Category</label>
          <select id="rule-category" value={category} onChange={(e) => setCategory(e.currentTarget.value)}>
            <option value="">any</option>
            {categories.map((c) => (
              <option key={c}>{c}</option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="rule-severity">Severity</label>
          <select id="rule-severity" value={severity} onChange={(e) => setSeverity(e.currentTarget.value)}>
            <option value="">any</option>
            <option>error</option>
            <option>warning</option>
            <option>info</option>
          </select>
        </div>
        <div class="field">
          <label for="rule-pack">Pack</label>
          <select id="rule-pack" value={pack} onChange={(e) => setPack(e.currentTarget.value)}>
            <option value="">any</option>
            {catalog.packs.map((p) => (
              <option key={p.name} value={p.name}>
                {p.name}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="rule-payer">Payer</label>
          <select id="rule-payer" value={payer} onChange={(e) => setPayer(e.currentTarget.value)}>
            <option value="">any</option>
            {payers.map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>
        </div>
      </form>
      <p role="status" class="count">
        {plural(shown.length, 'rule')} shown
      </p>
      <table class="rules">
        <caption class="visually-hidden">Rules matching the search</caption>
        <thead>
          <tr>
            <th scope="col">Rule</th>
            <th scope="col">Title</th>
            <th scope="col">Pack</th>
            <th scope="col">Category</th>
            <th scope="col">Severity</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((r) => (
            <tr key={r.id}>
              <td>
                <a href={`#/rules/${encodeURIComponent(r.id)}`}>{r.id}</a>
              </td>
              <td>{r.title}</td>
              <td>{r.pack}</td>
              <td>{r.category}</td>
              <td>
                <SeverityBadge severity={r.severity} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

export function ConditionTree({ node }: { node: DescribedCondition }) {
  if ('all' in node || 'any' in node) {
    const list = 'all' in node ? node.all : node.any;
    return (
      <li>
        {'all' in node ? 'all of:' : 'any of:'}
        <ul>
          {list.map((c, i) => (
            <ConditionTree key={i} node={c} />
          ))}
        </ul>
      </li>
    );
  }
  if ('not' in node) {
    return (
      <li>
        not:
        <ul>
          <ConditionTree node={node.not} />
        </ul>
      </li>
    );
  }
  return (
    <li>
      <CodeText text={node.text} />
    </li>
  );
}

function show(value: unknown): string {
  if (Array.isArray(value)) return value.length > 24 ? `${value.slice(0, 24).join(', ')} and ${value.length - 24} more` : value.join(', ');
  if (value === null) return 'unset';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function Activity({ id, session }: { id: string; session: Session }) {
  const [activity, setActivity] = useState<RuleActivity | 'off'>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    if (session.history === 'off') {
      setActivity('off');
      return;
    }
    getJson<RuleActivity>(`/v1/rules/${encodeURIComponent(id)}/activity?days=30`)
      .then(setActivity)
      .catch((e: unknown) => (e instanceof ApiError && e.code === 'history-off' ? setActivity('off') : setError(e)));
  }, [id, session.history]);
  if (error) return <ErrorNote error={error} />;
  if (!activity) return <p aria-busy="true">Reading the claim history…</p>;
  if (activity === 'off')
    return (
      <p class="muted" data-testid="activity">
        History off: this service records no claims, so how often the rule fired lately is not known.
      </p>
    );
  const max = Math.max(1, ...activity.byDay.map((d) => d.fired));
  return (
    <div data-testid="activity">
      <p>
        Fired on {plural(activity.fired, 'claim')} of {plural(activity.claims, 'claim')} recorded from {activity.since} to {activity.until}
        {activity.claims > 0 ? ` (${((100 * activity.fired) / activity.claims).toFixed(1)}%)` : ''}.
      </p>
      <ul class="spark" aria-label="Claims the rule fired on, by day">
        {activity.byDay.map((d) => (
          <li key={d.date} style={{ height: `${Math.round((40 * d.fired) / max) + 1}px` }} title={`${d.date}: ${d.fired}`}>
            <span class="visually-hidden">
              {d.date}: {d.fired}
            </span>
          </li>
        ))}
      </ul>
    </div>
  );
}

export function RulePage({ id, session }: { id: string; session: Session }) {
  const [rule, setRule] = useState<RuleDetail>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    setRule(undefined);
    setError(undefined);
    getJson<RuleDetail>(`/v1/rules/${encodeURIComponent(id)}`).then(setRule, setError);
  }, [id]);
  if (error) {
    return (
      <>
        <h1 tabIndex={-1}>Rule {id}</h1>
        <ErrorNote error={error} />
      </>
    );
  }
  if (!rule) return <p aria-busy="true">Loading rule {id}…</p>;
  return (
    <article class="rule-page">
      <p class="crumbs">
        <a href="#/rules">Rules</a> / {rule.pack}
      </p>
      <h1 tabIndex={-1}>
        <code>{rule.id}</code>: {rule.title}
      </h1>
      <dl class="facts">
        <dt>Pack</dt>
        <dd>
          {rule.packTitle} (<code>{rule.pack}</code> {rule.packVersion}) · <a href={`#/edit/${encodeURIComponent(rule.pack)}`}>edit this pack</a>
        </dd>
        <dt>Category</dt>
        <dd>{rule.category}</dd>
        <dt>Severity</dt>
        <dd>
          <SeverityBadge severity={rule.severity} />
        </dd>
        <dt>Looks at</dt>
        <dd>{rule.looksAt}</dd>
        {rule.effective ? (
          <>
            <dt>Effective</dt>
            <dd>
              {rule.effective.from ?? 'always'} to {rule.effective.to ?? 'no end date'}
            </dd>
          </>
        ) : null}
        <dt>Written in</dt>
        <dd>
          <code>
            {rule.location.file}:{rule.location.line}
          </code>
        </dd>
        {rule.payers.length ? (
          <>
            <dt>Payers</dt>
            <dd>{rule.payers.join(', ')}</dd>
          </>
        ) : null}
      </dl>
      <section aria-labelledby="policy">
        <h2 id="policy">Policy</h2>
        {rule.description ? <p class="policy">{rule.description}</p> : <p class="muted">The rule has no description.</p>}
        <h3>References</h3>
        {rule.references.length ? (
          <ul>
            {rule.references.map((r, i) => (
              <li key={i}>
                {r.url ? (
                  <a href={r.url} rel="noreferrer noopener" target="_blank">
                    {r.title}
                  </a>
                ) : (
                  r.title
                )}
                {r.citation ? `, ${r.citation}` : ''}
              </li>
            ))}
          </ul>
        ) : (
          <p class="muted">No references.</p>
        )}
      </section>
      <section aria-labelledby="fires-when">
        <h2 id="fires-when">Fires when</h2>
        <ul class="conditions" data-testid="conditions">
          <ConditionTree node={rule.conditions} />
        </ul>
        <p>
          <strong>Message:</strong> <code>{rule.message}</code>
        </p>
        {rule.suggestion ? (
          <p>
            <strong>Suggestion:</strong> <code>{rule.suggestion}</code>
          </p>
        ) : null}
      </section>
      <section aria-labelledby="parameters">
        <h2 id="parameters">Parameters</h2>
        {rule.parameters.length ? (
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Value</th>
                <th scope="col">Meaning</th>
                <th scope="col">Set by payer packs</th>
              </tr>
            </thead>
            <tbody>
              {rule.parameters.map((p) => (
                <tr key={p.name}>
                  <td>
                    <code>{p.name}</code>
                  </td>
                  <td>{show(p.value)}</td>
                  <td>{p.description ?? ''}</td>
                  <td>{p.setBy.length ? p.setBy.map((s) => `${s.pack}: ${show(s.value)}`).join('; ') : 'none'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p class="muted">The rule reads no parameter.</p>
        )}
      </section>
      <section aria-labelledby="overrides">
        <h2 id="overrides">Payer overrides</h2>
        {rule.overrides.length ? (
          <ul>
            {rule.overrides.map((o) => (
              <li key={o.pack}>
                <code>{o.pack}</code> ({o.payers.join(', ')}) {o.enabled === false ? 'switches it off' : `makes it ${o.severity ?? rule.severity}`}: {o.reason}
              </li>
            ))}
          </ul>
        ) : (
          <p class="muted">No payer pack overrides this rule.</p>
        )}
      </section>
      <section aria-labelledby="tests">
        <h2 id="tests">Tests</h2>
        {rule.tests.length ? (
          <ul data-testid="rule-tests">
            {rule.tests.map((t, i) => (
              <li key={i}>
                <span class={`badge badge-${t.kind === 'fires' ? 'fail' : 'pass'}`}>{t.kind}</span> {t.name}{' '}
                <code>
                  {t.file}:{t.line}
                </code>
              </li>
            ))}
          </ul>
        ) : (
          <p class="muted">No pack test names this rule.</p>
        )}
      </section>
      <section aria-labelledby="activity">
        <h2 id="activity">Lately</h2>
        <Activity id={rule.id} session={session} />
      </section>
    </article>
  );
}
