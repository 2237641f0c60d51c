import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, getJson, hasKey, setKey } from './api';
import { BatchView } from './batch';
import { EditView } from './edit';
import { RulePage, RulesView } from './rules';
import { TryView, type TryRequest } from './try';
import type { Catalog, Session } from './types';
import { ErrorNote } from './ui';

type Route = { view: 'rules' } | { view: 'rule'; id: string } | { view: 'try' } | { view: 'edit'; pack?: string } | { view: 'batch' };

function parseRoute(hash: string): Route {
  const [, view = 'rules', arg] = hash.replace(/^#/, '').split('/');
  const decoded = arg ? decodeURIComponent(arg) : undefined;
  if (view === 'rules' && decoded) return { view: 'rule', id: decoded };
  if (view === 'try') return { view: 'try' };
  if (view === 'edit') return decoded ? { view: 'edit', pack: decoded } : { view: 'edit' };
  if (view === 'batch') return { view: 'batch' };
  return { view: 'rules' };
}

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

const NAV: Array<{ view: Route['view']; href: string; label: string }> = [
  { view: 'rules', href: '#/rules', label: 'Rules' },
  { view: 'try', href: '#/try', label: 'Try a claim' },
  { view: 'edit', href: '#/edit', label: 'Edit a pack' },
  { view: 'batch', href: '#/batch', label: 'Batch' },
];

function KeyForm({ onKey, problem }: { onKey: (key: string) => void; problem?: string }) {
  const [value, setValue] = useState('');
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  return (
    <form
      class="panel key-form"
      onSubmit={(e) => {
        e.preventDefault();
        onKey(value);
        setValue('');
      }}
    >
      <h2>Sign in with an API key</h2>
      <p>
        This service needs an API key. The page keeps it in memory only: it is sent with each request and forgotten when you close or reload the page.
      </p>
      <label for="api-key">API key</label>
      <input id="api-key" ref={input} type="password" autocomplete="off" spellcheck={false} value={value} onInput={(e) => setValue(e.currentTarget.value)} required />
      <button type="submit">Use this key</button>
      {problem ? (
        <p class="error-note" role="alert">
          {problem}
        </p>
      ) : null}
    </form>
  );
}

export function App() {
  const route = useRoute();
  const [session, setSession] = useState<Session>();
  const [needKey, setNeedKey] = useState<string | undefined>();
  const [catalog, setCatalog] = useState<Catalog>();
  const [error, setError] = useState<unknown>();
  const [tryRequest, setTryRequest] = useState<TryRequest>();
  const main = useRef<HTMLElement>(null);

  const start = useCallback(async () => {
    setError(undefined);
    try {
      const s = await getJson<Session>('/v1/session');
      setSession(s);
      setNeedKey(undefined);
      setCatalog(await getJson<Catalog>('/v1/rules'));
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        setNeedKey(hasKey() ? 'The service does not know this key. Check it and try again.' : '');
        setKey(undefined);
      } else setError(e);
    }
  }, []);

  useEffect(() => {
    void start();
  }, [start]);

  // A new view: move focus to its heading, so that screen readers and keyboards start there.
  useEffect(() => {
    const heading = main.current?.querySelector('h1');
    if (heading instanceof HTMLElement) heading.focus();
  }, [route.view, (route as { id?: string }).id]);

  const openInTry = (request: TryRequest) => {
    setTryRequest(request);
    location.hash = '#/try';
  };

  const active = route.view === 'rule' ? 'rules' : route.view;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Claim scrubber · compliance workbench</span>
        <nav aria-label="Workbench">
          <ul>
            {NAV.map((n) => (
              <li key={n.view}>
                <a href={n.href} aria-current={active === n.view ? 'page' : undefined}>
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class="who" aria-live="polite">
          {session
            ? session.auth === 'off'
              ? 'Development mode: no key needed (every action allowed)'
              : `Key ${session.key?.name ?? ''} · role ${session.role}`
            : ''}
          {session?.auth === 'on' ? (
            <button
              type="button"
              class="link"
              onClick={() => {
                setKey(undefined);
                setSession(undefined);
                setCatalog(undefined);
                setNeedKey('');
              }}
            >
              Forget key
            </button>
          ) : null}
        </span>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        <ErrorNote error={error} />
        {needKey !== undefined ? (
          <KeyForm
            problem={needKey}
            onKey={(key) => {
              setKey(key);
              void start();
            }}
          />
        ) : !session || !catalog ? (
          error ? null : <p aria-busy="true">Loading the packs…</p>
        ) : route.view === 'rules' ? (
          <RulesView catalog={catalog} />
        ) : route.view === 'rule' ? (
          <RulePage id={route.id} session={session} />
        ) : route.view === 'try' ? (
          <TryView request={tryRequest} />
        ) : route.view === 'edit' ? (
          <EditView catalog={catalog} session={session} pack={route.pack} onReloaded={() => void start()} />
        ) : (
          <BatchView onOpen={openInTry} />
        )}
      </main>
    </>
  );
}
