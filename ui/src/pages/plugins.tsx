import { get } from '../api.js';
import { ActionButton } from '../components/action.js';
import { LastError } from '../components/error-info.js';
import { Empty, Loaded } from '../components/states.js';
import { Time } from '../components/time.js';
import { useCan } from '../session.js';
import type { Plugin } from '../types.js';
import { useResource } from '../use-resource.js';

function registrations(regs: Record<string, number>): string {
  const parts = Object.entries(regs)
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${kind} ${n}`);
  return parts.length === 0 ? 'none' : parts.join(', ');
}

export function Plugins() {
  const list = useResource(() => get<{ plugins: Plugin[] }>('/v1/plugins'), [], 5000);
  const superuser = useCan('superuser');
  return (
    <section aria-labelledby="plugins-title">
      <h1 id="plugins-title">Plugins</h1>
      <Loaded state={list} what="plugins">
        {({ plugins }) =>
          plugins.length === 0 ? (
            <Empty>No plugins are discovered. Plugins are found in the folders set by plugins.dirs in the config.</Empty>
          ) : (
            <table>
              <caption class="sr-only">Discovered plugins</caption>
              <thead>
                <tr>
                  <th scope="col">Plugin</th>
                  <th scope="col">Version</th>
                  <th scope="col">State</th>
                  <th scope="col">Loaded</th>
                  <th scope="col">Registrations</th>
                  <th scope="col">Last error</th>
                  {superuser ? <th scope="col">Actions</th> : null}
                </tr>
              </thead>
              <tbody>
                {plugins.map((p) => (
                  <tr key={p.name} data-plugin={p.name}>
                    <th scope="row">
                      {p.name}
                      {p.description === undefined ? null : <div class="muted small">{p.description}</div>}
                    </th>
                    <td>{p.version ?? '—'}</td>
                    <td>
                      <span class={`badge state-${p.state}`}>{p.state}</span>
                      {p.active ? null : <span class="muted small"> inactive</span>}
                    </td>
                    <td>
                      <Time value={p.loadedAt} />
                    </td>
                    <td>{registrations(p.registrations)}</td>
                    <td>
                      <LastError error={p.lastError} />
                    </td>
                    {superuser ? (
                      <td class="actions">
                        {p.state === 'running' ? (
                          <>
                            <ActionButton label="Reload" path={`/v1/plugins/${encodeURIComponent(p.name)}/reload`} done={list.reload} />
                            <ActionButton label="Unload" kind="danger" path={`/v1/plugins/${encodeURIComponent(p.name)}/unload`} done={list.reload} />
                          </>
                        ) : (
                          <ActionButton label="Load" kind="primary" path={`/v1/plugins/${encodeURIComponent(p.name)}/load`} done={list.reload} />
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
