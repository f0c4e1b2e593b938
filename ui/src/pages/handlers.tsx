import { get } from '../api.js';
import { ActionButton } from '../components/action.js';
import { LastError } from '../components/error-info.js';
import { Empty, Loaded } from '../components/states.js';
import { useCan } from '../session.js';
import type { Handler } from '../types.js';
import { useResource } from '../use-resource.js';

function counters(c: Record<string, number>): string {
  const parts = Object.entries(c).map(([k, n]) => `${k.replace(/_/g, ' ')} ${n}`);
  return parts.length === 0 ? '—' : parts.join(', ');
}

export function Handlers() {
  const list = useResource(() => get<{ handlers: Handler[] }>('/v1/handlers'), [], 5000);
  const operator = useCan('operator');
  return (
    <section aria-labelledby="handlers-title">
      <h1 id="handlers-title">Extension handlers</h1>
      <Loaded state={list} what="extension handlers">
        {({ handlers }) =>
          handlers.length === 0 ? (
            <Empty>No extension handlers are configured (extensions.handlers in the config).</Empty>
          ) : (
            <table>
              <caption class="sr-only">Extension handlers</caption>
              <thead>
                <tr>
                  <th scope="col">Handler</th>
                  <th scope="col">State</th>
                  <th scope="col">Follows</th>
                  <th scope="col" class="num">Queue depth</th>
                  <th scope="col">Counters</th>
                  <th scope="col">Last error</th>
                  {operator ? <th scope="col">Actions</th> : null}
                </tr>
              </thead>
              <tbody>
                {handlers.map((h) => (
                  <tr key={h.uuid}>
                    <th scope="row">
                      {h.name}
                      <div class="muted small">{h.entryPoint}</div>
                    </th>
                    <td>
                      <span class={`badge state-${h.state}`}>{h.state}</span>
                      {h.consecutiveFailures > 0 ? <div class="small">{h.consecutiveFailures} failures in a row</div> : null}
                    </td>
                    <td>{h.targets.join(', ')}</td>
                    <td class="num">{h.queue_depth ?? h.queueDepth ?? h.inFlight}</td>
                    <td class="small">{counters(h.counters)}</td>
                    <td>
                      <LastError error={h.lastError} />
                    </td>
                    {operator ? (
                      <td class="actions">
                        {h.state === 'stopped' || h.state === 'failed' ? (
                          <ActionButton label="Start" kind="primary" path={`/v1/handlers/${encodeURIComponent(h.name)}/start`} done={list.reload} />
                        ) : (
                          <ActionButton label="Stop" kind="danger" path={`/v1/handlers/${encodeURIComponent(h.name)}/stop`} done={list.reload} />
                        )}
                      </td>
                    ) : null}
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loaded>
    </section>
  );
}
