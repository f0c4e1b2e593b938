import type { ErrorInfo } from '../types.js';
import { Time } from './time.js';

/** A last error: its message, and its stack folded. */
export function LastError({ error }: { error: ErrorInfo | undefined }) {
  if (error === undefined) return <span class="muted">none</span>;
  return (
    <div class="last-error">
      {error.code === undefined ? null : <code class="code">{error.code}</code>} {error.message}
      {error.at === undefined ? null : (
        <>
          {' '}
          <Time value={error.at} />
        </>
      )}
      {error.stack === undefined ? null : (
        <details>
          <summary>Stack</summary>
          <pre tabIndex={0}>{error.stack}</pre>
        </details>
      )}
    </div>
  );
}
