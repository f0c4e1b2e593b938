import { useMemo } from 'preact/hooks';
import { get } from '../api.js';
import { Chart } from '../components/chart.js';
import { Empty, Loaded } from '../components/states.js';
import { duration } from '../format.js';
import type { Stats } from '../types.js';
import { useResource } from '../use-resource.js';

const REFRESH_MS = 5000;

function Charts({ stats }: { stats: Stats }) {
  const data = useMemo(() => {
    const perSecond = 1000 / stats.interval_ms;
    const times = stats.series.map((p) => Date.parse(p.at) / 1000);
    return {
      times,
      events: [{ label: 'events', color: '#1f5fbf', values: stats.series.map((p) => p.events * perSecond) }],
      deliveries: [
        { label: 'delivered', color: '#1a7a3a', values: stats.series.map((p) => p.deliveries_done * perSecond) },
        { label: 'failed', color: '#b3261e', values: stats.series.map((p) => p.deliveries_failed * perSecond) },
      ],
    };
  }, [stats]);
  return (
    <div class="charts">
      <Chart title="Events per second" times={data.times} series={data.events} />
      <Chart title="Deliveries and failures per second" times={data.times} series={data.deliveries} />
    </div>
  );
}

export function Overview() {
  const stats = useResource(() => get<Stats>('/v1/stats'), [], REFRESH_MS);
  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">Overview</h1>
      <Loaded state={stats} what="statistics">
        {(s) => (
          <>
            {s.series.length === 0 ? <Empty>No samples yet: the first one is taken {s.interval_ms / 1000} s after start.</Empty> : <Charts stats={s} />}
            <h2>Queues and circuits</h2>
            {s.targets.length === 0 ? (
              <Empty>No delivery targets are configured.</Empty>
            ) : (
              <table>
                <caption class="sr-only">Queue depth, oldest pending age and circuit per target</caption>
                <thead>
                  <tr>
                    <th scope="col">Target</th>
                    <th scope="col">Kind</th>
                    <th scope="col" class="num">Pending</th>
                    <th scope="col" class="num">In flight</th>
                    <th scope="col">Oldest pending</th>
                    <th scope="col">Circuit</th>
                    <th scope="col">Enabled</th>
                  </tr>
                </thead>
                <tbody>
                  {s.targets.map((t) => (
                    <tr key={t.name}>
                      <th scope="row">{t.name}</th>
                      <td>{t.kind}</td>
                      <td class="num">{t.pending}</td>
                      <td class="num">{t.inflight}</td>
                      <td>{t.oldest_pending_age_ms === null ? <span class="muted">none pending</span> : duration(t.oldest_pending_age_ms)}</td>
                      <td>
                        <span class={`badge circuit-${t.circuit}`}>{t.circuit}</span>
                      </td>
                      <td>{t.disabled ? <span class="badge bad">disabled</span> : <span class="badge good">enabled</span>}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            <h2>Parts</h2>
            {s.parts.length === 0 ? (
              <Empty>No parts reported.</Empty>
            ) : (
              <ul class="parts">
                {s.parts.map((p) => (
                  <li key={p.name} class={p.healthy && p.ready ? 'part ok' : 'part bad'}>
                    <strong>{p.name}</strong> <span class={`badge ${p.healthy ? 'good' : 'bad'}`}>{p.healthy ? 'healthy' : 'unhealthy'}</span>{' '}
                    <span class={`badge ${p.ready ? 'good' : 'warn'}`}>{p.ready ? 'ready' : 'not ready'}</span>
                    {p.detail === undefined ? null : <span class="muted"> {p.detail}</span>}
                  </li>
                ))}
              </ul>
            )}
          </>
        )}
      </Loaded>
    </section>
  );
}
