import { get } from '../api.js';
import { ActionButton } from '../components/action.js';
import { Empty, Loaded } from '../components/states.js';
import { Time } from '../components/time.js';
import { duration, json } from '../format.js';
import { linkHandler } from '../router.js';
import { useCan } from '../session.js';
import type { Attempt, Delivery } from '../types.js';
import { useResource } from '../use-resource.js';

function Headers({ headers, label }: { headers: Record<string, string | string[]> | null | undefined; label: string }) {
  if (headers === undefined || headers === null) return <p class="muted">{label}: not recorded.</p>;
  return (
    <table class="headers">
      <caption>{label}</caption>
      <tbody>
        {Object.entries(headers).map(([name, value]) => (
          <tr key={name}>
            <th scope="row">{name}</th>
            <td>
              <code>{Array.isArray(value) ? value.join(', ') : value}</code>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** `n` counts every attempt in order: a retry starts the delivery's own attempt counter again. */
function AttemptView({ attempt, n, delivery }: { attempt: Attempt; n: number; delivery: Delivery }) {
  const status = attempt.http_status ?? attempt.httpStatus;
  const exit = attempt.exit_code ?? attempt.exitCode;
  const ok = attempt.ok ?? (attempt.error == null && (status == null || (status >= 200 && status < 300)));
  const response = attempt.response_body ?? attempt.response;
  const body = attempt.request_body ?? (attempt.request_body_is_event === true ? json(delivery.event) : undefined);
  return (
    <article class={`attempt ${ok ? 'ok' : 'failed'}`} aria-labelledby={`attempt-${n}`}>
      <h3 id={`attempt-${n}`}>
        Attempt {n}: <span class={`badge ${ok ? 'good' : 'bad'}`}>{ok ? 'succeeded' : 'failed'}</span>{' '}
        {status == null ? null : <span class="badge">HTTP {status}</span>} {exit === undefined ? null : <span class="badge">exit {exit}</span>}
      </h3>
      <p>
        Started <Time value={attempt.started_at ?? attempt.startedAt} />, took {duration(attempt.duration_ms ?? attempt.durationMs)}.
      </p>
      {attempt.error == null ? null : (
        <p class="state error">
          <strong>Error:</strong> {attempt.error}
        </p>
      )}
      <div class="two">
        <div class="request">
          <h4>Request</h4>
          <Headers headers={attempt.request_headers} label="Request headers" />
          <h5>Body</h5>
          {body === undefined ? <p class="muted">Not recorded.</p> : <pre tabIndex={0}>{body}</pre>}
          {attempt.request_body_is_event === true ? <p class="muted small">The body sent is the delivery's event (as stored, secrets redacted).</p> : null}
        </div>
        <div class="response">
          <h4>Response</h4>
          <Headers headers={attempt.response_headers} label="Response headers" />
          <h5>Body (first 4 KiB)</h5>
          <pre tabIndex={0}>{response == null || response === '' ? '(empty)' : response}</pre>
        </div>
      </div>
    </article>
  );
}

export function DeliveryDetail({ id }: { id: string }) {
  const detail = useResource(() => get<{ delivery: Delivery; attempts: Attempt[] }>(`/v1/deliveries/${encodeURIComponent(id)}`), [id], 5000);
  const operator = useCan('operator');
  return (
    <section aria-labelledby="delivery-title">
      <p>
        <a href="/ui/deliveries" onClick={linkHandler('/deliveries')}>
          ← All deliveries
        </a>
      </p>
      <h1 id="delivery-title">
        Delivery <code>{id}</code>
      </h1>
      <Loaded state={detail} what="the delivery">
        {({ delivery, attempts }) => (
          <>
            <dl class="facts">
              <dt>Target</dt>
              <dd>{delivery.target}</dd>
              <dt>State</dt>
              <dd>
                <span class={`badge delivery-${delivery.state}`}>{delivery.state}</span>
              </dd>
              <dt>Attempts</dt>
              <dd>{delivery.attempts}</dd>
              <dt>Created</dt>
              <dd>
                <Time value={delivery.created_at ?? delivery.createdAt} />
              </dd>
              <dt>Next due</dt>
              <dd>
                <Time value={delivery.due_at ?? delivery.dueAt} />
              </dd>
              <dt>Last error</dt>
              <dd>{delivery.last_error ?? delivery.lastError ?? <span class="muted">none</span>}</dd>
            </dl>
            {operator && delivery.state !== 'inflight' ? (
              <p>
                <ActionButton label="Retry now" kind="primary" path={`/v1/deliveries/${encodeURIComponent(delivery.id)}/retry`} done={detail.reload} />
              </p>
            ) : null}
            <details>
              <summary>Event (secrets redacted)</summary>
              <pre tabIndex={0}>{json(delivery.event)}</pre>
            </details>
            <h2>Attempts, newest first</h2>
            {attempts.length === 0 ? <Empty>No attempt yet: the delivery is waiting for its first try.</Empty> : null}
            {attempts
              .map((a, i) => <AttemptView key={i} n={i + 1} attempt={a} delivery={delivery} />)
              .reverse()}
          </>
        )}
      </Loaded>
    </section>
  );
}
