import { useEffect, useState } from 'preact/hooks';
import { get, post, query } from '../api.js';
import { Empty, Loaded } from '../components/states.js';
import { Time } from '../components/time.js';
import { linkHandler, navigate } from '../router.js';
import { useCan } from '../session.js';
import type { Delivery } from '../types.js';
import { useResource } from '../use-resource.js';

const PAGE = 50;

interface Search {
  state: string;
  target: string;
  event_id: string;
  since: string;
  until: string;
}

/** datetime-local has no zone: it is the browser's; the API gets ISO UTC. */
function toIso(local: string): string | undefined {
  if (local === '') return undefined;
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

function fromSearch(search: URLSearchParams): Search {
  return {
    state: search.get('state') ?? '',
    target: search.get('target') ?? '',
    event_id: search.get('event_id') ?? '',
    since: search.get('since') ?? '',
    until: search.get('until') ?? '',
  };
}

function eventIdOf(d: Delivery): string {
  const id = d.event['id'];
  return typeof id === 'string' || typeof id === 'number' ? String(id) : '';
}

export function Deliveries({ search }: { search: URLSearchParams }) {
  const applied = fromSearch(search);
  const [draft, setDraft] = useState<Search>(applied);
  // Keyset paging: the cursors of the pages seen, so Previous goes back without counting.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const key = search.toString();
  useEffect(() => {
    setDraft(fromSearch(search));
    setCursors([undefined]);
  }, [key]);

  const list = useResource(
    () =>
      get<{ deliveries: Delivery[]; next_cursor?: string | null }>(
        `/v1/deliveries${query({ state: applied.state, target: applied.target, event_id: applied.event_id, since: toIso(applied.since), until: toIso(applied.until), limit: PAGE, cursor })}`,
      ),
    [key, cursor],
    10000,
  );

  const submit = (event: Event): void => {
    event.preventDefault();
    navigate(`/deliveries${query({ ...draft })}`);
  };
  const set = (k: keyof Search) => (e: Event) => setDraft({ ...draft, [k]: (e.currentTarget as HTMLInputElement).value });

  return (
    <section aria-labelledby="deliveries-title">
      <h1 id="deliveries-title">Deliveries</h1>
      <form class="filters" onSubmit={submit} aria-label="Search deliveries">
        <div class="field">
          <label for="d-state">State</label>
          <select id="d-state" value={draft.state} onChange={set('state')}>
            <option value="">any</option>
            <option value="pending">pending</option>
            <option value="inflight">in flight</option>
            <option value="done">done</option>
            <option value="failed">failed (dead letter)</option>
          </select>
        </div>
        <div class="field">
          <label for="d-target">Target</label>
          <input id="d-target" value={draft.target} onInput={set('target')} />
        </div>
        <div class="field">
          <label for="d-event">Event id (uuid)</label>
          <input id="d-event" value={draft.event_id} onInput={set('event_id')} />
        </div>
        <div class="field">
          <label for="d-since">Since</label>
          <input id="d-since" type="datetime-local" step="1" value={draft.since} onInput={set('since')} />
        </div>
        <div class="field">
          <label for="d-until">Until</label>
          <input id="d-until" type="datetime-local" step="1" value={draft.until} onInput={set('until')} />
        </div>
        <button type="submit">Search</button>
      </form>
      <Replay initialTarget={applied.target} since={applied.since} until={applied.until} done={list.reload} />
      <Loaded state={list} what="deliveries">
        {({ deliveries, next_cursor: next }) => (
          <>
            {deliveries.length === 0 ? (
              <Empty>{cursors.length > 1 ? 'No more deliveries.' : 'No delivery matches this search.'}</Empty>
            ) : (
              <table>
                <caption class="sr-only">Deliveries, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Delivery</th>
                    <th scope="col">Target</th>
                    <th scope="col">Event</th>
                    <th scope="col">State</th>
                    <th scope="col" class="num">Attempts</th>
                    <th scope="col">Created</th>
                    <th scope="col">Last error</th>
                  </tr>
                </thead>
                <tbody>
                  {deliveries.map((d) => (
                    <tr key={d.id}>
                      <th scope="row">
                        <a href={`/ui/deliveries/${encodeURIComponent(d.id)}`} onClick={linkHandler(`/deliveries/${encodeURIComponent(d.id)}`)}>
                          {/* Ids start with their creation time (UUIDv7): the tail tells rows apart. */}
                          <code title={d.id}>…{d.id.slice(-12)}</code>
                        </a>
                      </th>
                      <td>{d.target}</td>
                      <td>
                        <code title={typeof d.event['uuid'] === 'string' ? `event uuid ${d.event['uuid']}` : undefined}>{eventIdOf(d)}</code>
                      </td>
                      <td>
                        <span class={`badge delivery-${d.state}`}>{d.state}</span>
                      </td>
                      <td class="num">{d.attempts}</td>
                      <td>
                        <Time value={d.created_at ?? d.createdAt} />
                      </td>
                      <td class="small">{d.last_error ?? d.lastError ?? ''}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            <nav class="pager" aria-label="Pages">
              <button type="button" class="secondary" disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
                Previous page
              </button>
              <span class="muted">page {cursors.length}</span>
              <button type="button" class="secondary" disabled={next === null || next === undefined} onClick={() => setCursors([...cursors, next ?? undefined])}>
                Next page
              </button>
            </nav>
          </>
        )}
      </Loaded>
    </section>
  );
}

interface Counts {
  pending: number;
  inflight: number;
  done: number;
  failed: number;
}

/**
 * Replays a target's dead letters in a window, then follows the set's
 * progress exactly: the replay answers how many it made pending again and
 * when it started; GET /v1/deliveries/counts with the same window and
 * changed_since = that start counts only the deliveries the replay touched,
 * so finished = done + failed among them, out of the number replayed.
 */
function Replay({ initialTarget, since, until, done }: { initialTarget: string; since: string; until: string; done: () => void }) {
  const operator = useCan('operator');
  const [target, setTarget] = useState(initialTarget);
  const [from, setFrom] = useState(since);
  const [to, setTo] = useState(until);
  const [error, setError] = useState<string | undefined>();
  const [run, setRun] = useState<{ total: number; params: Record<string, string | undefined>; counts?: Counts } | undefined>();
  useEffect(() => setTarget(initialTarget), [initialTarget]);

  useEffect(() => {
    if (run === undefined || run.total === 0) return undefined;
    let stop = false;
    const poll = async (): Promise<void> => {
      try {
        const counts = await get<Counts>(`/v1/deliveries/counts${query(run.params)}`);
        if (stop) return;
        setRun((r) => (r === undefined ? r : { ...r, counts }));
        if (counts.done + counts.failed >= run.total) {
          done();
          return;
        }
      } catch (err) {
        setError(err instanceof Error ? err.message : String(err));
      }
      if (!stop) timer = setTimeout(() => void poll(), 1000);
    };
    let timer = setTimeout(() => void poll(), 300);
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [run?.total, run?.params]);

  if (!operator) return null;
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    setError(undefined);
    const sinceIso = toIso(from) ?? new Date(Date.now() - 24 * 3600_000).toISOString();
    const untilIso = toIso(to);
    try {
      const reply = await post<{ replayed: number; total: number; started_at: string }>('/v1/deliveries/replay', {
        target,
        since: sinceIso,
        ...(untilIso === undefined ? {} : { until: untilIso }),
      });
      const params: Record<string, string | undefined> = { target, since: sinceIso, until: untilIso, changed_since: reply.started_at };
      setRun({ total: reply.replayed, params });
      done();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };
  const finished = run?.counts === undefined ? 0 : Math.min(run.total, run.counts.done + run.counts.failed);
  return (
    <details class="replay">
      <summary>Replay dead letters</summary>
      <form class="filters" onSubmit={(e) => void submit(e)} aria-label="Replay dead letters">
        <div class="field">
          <label for="r-target">Target</label>
          <input id="r-target" required value={target} onInput={(e) => setTarget((e.currentTarget as HTMLInputElement).value)} />
        </div>
        <div class="field">
          <label for="r-since">Failed since</label>
          <input id="r-since" type="datetime-local" step="1" value={from} onInput={(e) => setFrom((e.currentTarget as HTMLInputElement).value)} />
        </div>
        <div class="field">
          <label for="r-until">Until</label>
          <input id="r-until" type="datetime-local" step="1" value={to} onInput={(e) => setTo((e.currentTarget as HTMLInputElement).value)} />
        </div>
        <button type="submit" class="primary">
          Replay
        </button>
      </form>
      {error === undefined ? null : (
        <p class="state error" role="alert">
          {error}
        </p>
      )}
      {run === undefined ? null : run.total === 0 ? (
        <p role="status">No dead letter in that window: nothing to replay.</p>
      ) : (
        <div class="progress" role="status">
          <label for="replay-progress">
            Replayed {run.total}: {finished} finished{run.counts === undefined ? '' : ` (${run.counts.done} done, ${run.counts.failed} failed)`}
          </label>
          <progress id="replay-progress" max={run.total} value={finished}>
            {finished} of {run.total}
          </progress>
        </div>
      )}
    </details>
  );
}
