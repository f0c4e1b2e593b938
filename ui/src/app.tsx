import { useEffect, useState } from 'preact/hooks';
import { ApiError, request, setCsrf, whenSignedOut, type Session } from './api.js';
import { Loading } from './components/states.js';
import { linkHandler, navigate, useRoute, BASE } from './router.js';
import { SessionContext } from './session.js';
import { SignIn } from './pages/sign-in.js';
import { Overview } from './pages/overview.js';
import { Live } from './pages/live.js';
import { Plugins } from './pages/plugins.js';
import { Handlers } from './pages/handlers.js';
import { Targets } from './pages/targets.js';
import { Deliveries } from './pages/deliveries.js';
import { DeliveryDetail } from './pages/delivery.js';
import { Config } from './pages/config.js';

const PAGES = [
  { path: '/', title: 'Overview' },
  { path: '/live', title: 'Live events' },
  { path: '/plugins', title: 'Plugins' },
  { path: '/handlers', title: 'Extension handlers' },
  { path: '/targets', title: 'Targets' },
  { path: '/deliveries', title: 'Deliveries' },
  { path: '/config', title: 'Config' },
] as const;

function page(path: string, search: URLSearchParams) {
  if (path === '/' || path === '/overview') return <Overview />;
  if (path === '/live') return <Live />;
  if (path === '/plugins') return <Plugins />;
  if (path === '/handlers') return <Handlers />;
  if (path === '/targets') return <Targets />;
  if (path === '/deliveries') return <Deliveries search={search} />;
  if (path.startsWith('/deliveries/')) return <DeliveryDetail id={decodeURIComponent(path.slice('/deliveries/'.length))} />;
  if (path === '/config') return <Config />;
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        There is no console page at <code>{BASE + path}</code>.{' '}
        <a href={`${BASE}/`} onClick={linkHandler('/')}>
          Go to the overview
        </a>
        .
      </p>
    </section>
  );
}

function activeTitle(path: string): string {
  if (path.startsWith('/deliveries/')) return 'Delivery';
  return PAGES.find((p) => p.path === path)?.title ?? (path === '/overview' ? 'Overview' : 'Not found');
}

export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>();
  const { path, search } = useRoute();

  const adopt = (next: Session | null): void => {
    setCsrf(next?.csrf_token);
    setSession(next);
  };

  useEffect(() => {
    whenSignedOut(() => {
      setNotice('Your session ended. Sign in again.');
      adopt(null);
    });
    request<Session>('GET', '/v1/session', undefined, { quiet401: true }).then(adopt, (err: unknown) => {
      if (!(err instanceof ApiError && err.status === 401)) setNotice(err instanceof Error ? err.message : String(err));
      adopt(null);
    });
  }, []);

  useEffect(() => {
    document.title = `${activeTitle(path)} · Hookwork console`;
  }, [path]);

  if (session === undefined) return <main id="main"><Loading what="the session" /></main>;
  if (session === null) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={(s) => {
          setNotice(undefined);
          adopt(s);
        }}
      />
    );
  }

  const signOut = async (): Promise<void> => {
    try {
      await request('DELETE', '/v1/session', undefined, { quiet401: true });
    } catch {
      // Already ended on the server: signed out either way.
    }
    setNotice('You signed out.');
    adopt(null);
    navigate('/');
  };

  return (
    <SessionContext.Provider value={session}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Hookwork</span>
        <nav aria-label="Console pages">
          <ul>
            {PAGES.map((p) => {
              const current = p.path === '/' ? path === '/' || path === '/overview' : path === p.path || path.startsWith(`${p.path}/`);
              return (
                <li key={p.path}>
                  <a href={`${BASE}${p.path}`} onClick={linkHandler(p.path)} aria-current={current ? 'page' : undefined}>
                    {p.title}
                  </a>
                </li>
              );
            })}
          </ul>
        </nav>
        <div class="who">
          <span>
            {session.principal.name} <span class={`role role-${session.principal.role}`}>{session.principal.role}</span>
          </span>
          <button type="button" class="secondary" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {page(path, search)}
      </main>
    </SessionContext.Provider>
  );
}
