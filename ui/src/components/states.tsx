// Loading, empty and error states: designed, never a blank area.
import type { ComponentChildren } from 'preact';
import { ApiError } from '../api.js';

export function Loading({ what }: { what: string }) {
  return (
    <p class="state loading" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" /> Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="state empty">{children}</p>;
}

export function ErrorBox({ error, retry }: { error: unknown; retry?: () => void }) {
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof ApiError ? error.code : undefined;
  return (
    <div class="state error" role="alert">
      <strong>Something went wrong.</strong> {message}
      {code === undefined ? null : <code class="code">{code}</code>}
      {retry === undefined ? null : (
        <button type="button" class="secondary" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

/** Shows the state of a loaded resource, or its content once there. */
export function Loaded<T>({
  state,
  what,
  children,
}: {
  state: { data?: T; error?: unknown; loading: boolean; reload: () => void };
  what: string;
  children: (data: T) => ComponentChildren;
}) {
  if (state.data !== undefined) {
    return (
      <>
        {state.error === undefined ? null : <ErrorBox error={state.error} retry={state.reload} />}
        {children(state.data)}
      </>
    );
  }
  if (state.error !== undefined) return <ErrorBox error={state.error} retry={state.reload} />;
  return <Loading what={what} />;
}
