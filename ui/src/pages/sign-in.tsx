import { useState } from 'preact/hooks';
import { request, type Session } from '../api.js';

/** The gateway token is exchanged for a session cookie; the token itself is not kept. */
export function SignIn({ notice, onSignedIn }: { notice: string | undefined; onSignedIn: (session: Session) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const session = await request<Session>('POST', '/v1/session', { token }, { quiet401: true });
      setToken('');
      onSignedIn(session);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="sign-in">
      <form onSubmit={(e) => void submit(e)} aria-describedby={error === undefined ? undefined : 'sign-in-error'}>
        <h1>Hookwork console</h1>
        <p>Sign in with a gateway token from the config (auth.tokens).</p>
        {notice === undefined ? null : (
          <p class="notice" role="status">
            {notice}
          </p>
        )}
        <label for="token">Token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="current-password"
          required
          value={token}
          onInput={(e) => setToken((e.currentTarget as HTMLInputElement).value)}
        />
        {error === undefined ? null : (
          <p id="sign-in-error" class="state error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy || token === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
