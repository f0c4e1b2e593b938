// A button that runs one state-changing request, shows that it runs, and
// reports its error next to it. Pages render it only for the roles allowed.
import { useState } from 'preact/hooks';
import { post } from '../api.js';

export function ActionButton({
  label,
  path,
  body,
  done,
  kind = 'secondary',
  describedBy,
}: {
  label: string;
  path: string;
  body?: unknown;
  done: (result: unknown) => void;
  kind?: 'primary' | 'secondary' | 'danger';
  describedBy?: string;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const run = async (): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      done(await post(path, body));
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <span class="action">
      <button type="button" class={kind} disabled={busy} aria-describedby={describedBy} onClick={() => void run()}>
        {busy ? `${label}…` : label}
      </button>
      {error === undefined ? null : (
        <span class="action-error" role="alert">
          {error}
        </span>
      )}
    </span>
  );
}
