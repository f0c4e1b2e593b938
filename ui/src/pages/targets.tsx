import { get } from '../api.js';
import { ActionButton } from '../components/action.js';
import { Empty, Loaded } from '../components/states.js';
import { Time } from '../components/time.js';
import { duration } from '../format.js';
import { linkHandler } from '../router.js';
import { useCan } from '../session.js';
import type { Target } from '../types.js';
import { useResource } from '../use-resource.js';

function LastAttempts({ attempts }: { attempts: Target['last_attempts'] }) {
  if (attempts.length === 0) return <span class="muted">no attempts yet</span>;
  return (
    <ul class="attempts-mini">
      {attempts.map((a, i) => {
        const id = a.delivery_id ?? a.deliveryId;
        const status = a.http_status ?? a.httpStatus ?? a.exit_code ?? a.exitCode;
        const ok = a.ok ?? (a.error == null && (status == null || (status >= 200 && status < 300)));
        const text = `${ok ? 'ok' : 'failed'}${status == null ? '' : ` ${status}`} in ${duration(a.duration_ms ?? a.durationMs)}`;
        return (
          <li key={i}>
            <Time value={a.started_at ?? a.startedAt} />{' '}
            {id === undefined ? (
              <span class={ok ? 'good-text' : 'bad-text'}>{text}</span>
            ) : (
              <a href={`/ui/deliveries/${encodeURIComponent(id)}`} onClick={linkHandler(`/deliveries/${encodeURIComponent(id)}`)} class={ok ? 'good-text' : 'bad-text'}>
                {text}
              </a>
            )}
          </li>
        );
      })}
    </ul>
  );
}

export function Targets() {
  const list = useResource(() => get<{ targets: Target[] }>('/v1/targets'), [], 5000);
  const operator = useCan('operator');
  return (
    <section aria-labelledby="targets-title">
      <h1 id="targets-title">Targets</h1>
      <Loaded state={list} what="targets">
        {({ targets }) =>
          targets.length === 0 ? (
            <Empty>No webhooks or commands are configured.</Empty>
          ) : (
            <table>
              <caption class="sr-only">Delivery targets</caption>
              <thead>
                <tr>
                  <th scope="col">Target</th>
                  <th scope="col">Kind</th>
                  <th scope="col" class="num">Pending</th>
                  <th scope="col" class="num">In flight</th>
                  <th scope="col" class="num">Failed</th>
                  <th scope="col">Circuit</th>
                  <th scope="col">Enabled</th>
                  <th scope="col">Last attempts</th>
                  {operator ? <th scope="col">Actions</th> : null}
                </tr>
              </thead>
              <tbody>
                {targets.map((t) => (
                  <tr key={t.name} data-target={t.name}>
                    <th scope="row">
                      <a href={`/ui/deliveries?target=${encodeURIComponent(t.name)}`} onClick={linkHandler(`/deliveries?target=${encodeURIComponent(t.name)}`)}>
                        {t.name}
                      </a>
                      {t.url === undefined ? null : <div class="muted small">{t.url}</div>}
                    </th>
                    <td>{t.kind}</td>
                    <td class="num">{t.pending}</td>
                    <td class="num">{t.inflight}</td>
                    <td class="num">{t.failed}</td>
                    <td>
                      <span class={`badge circuit-${t.circuit}`}>{t.circuit}</span>
                    </td>
                    <td>
                      {t.disabled ? (
                        <>
                          <span class="badge bad">disabled</span>
                          {t.disabled_reason === undefined ? null : <div class="small">{t.disabled_reason}</div>}
                        </>
                      ) : (
                        <span class="badge good">enabled</span>
                      )}
                    </td>
                    <td>
                      <LastAttempts attempts={t.last_attempts} />
                    </td>
                    {operator ? (
                      <td class="actions">
                        {t.disabled ? (
                          <ActionButton label="Enable" kind="primary" path={`/v1/deliveries/targets/${encodeURIComponent(t.name)}/enable`} done={list.reload} />
                        ) : (
                          <ActionButton label="Disable" kind="danger" path={`/v1/deliveries/targets/${encodeURIComponent(t.name)}/disable`} done={list.reload} />
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
