import { useEffect, useRef, useState } from 'preact/hooks';
import { query } from '../api.js';
import { Empty } from '../components/states.js';
import { Time } from '../components/time.js';
import { json } from '../format.js';
import { LiveBuffer, parseRow, type LiveRow } from '../live-buffer.js';

/** Rows on screen; the ring keeps a few more so a pause shows a full page. */
const VISIBLE = 100;
const RING = 500;
/** At most this often a render, and never more than once per animation frame. */
const RENDER_EVERY_MS = 200;

interface Filters {
  id: string;
  group: string;
  account: string;
  q: string;
}

const EMPTY: Filters = { id: '', group: '', account: '', q: '' };

type Connection = 'connecting' | 'open' | 'error';

interface Counts {
  received: number;
  sampledOut: number;
  dropped: number;
  gaps: number;
}

function field(obj: Record<string, unknown> | null, ...path: string[]): string {
  let value: unknown = obj;
  for (const key of path) value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  if (Array.isArray(value)) return value.join(', ');
  return typeof value === 'string' || typeof value === 'number' ? String(value) : '';
}

function Row({ row }: { row: LiveRow }) {
  const [open, setOpen] = useState(false);
  const event = parseRow(row);
  const ts = event === null ? undefined : (event['timestamp'] as { timestamp?: number } | undefined)?.timestamp;
  return (
    <tr>
      <td>
        <Time value={ts === undefined ? row.receivedAt : ts * 1000} />
      </td>
      <td>
        <code>{field(event, 'id')}</code>
      </td>
      <td>{field(event, 'groups')}</td>
      <td>{field(event, 'account', 'name') || field(event, 'account', 'uuid')}</td>
      <td>
        {/* Controlled: the rows re-render several times a second, the open state must not depend on a toggle event's timing. */}
        <details open={open}>
          <summary
            onClick={(e) => {
              e.preventDefault();
              setOpen(!open);
            }}
          >{field(event, 'message') || field(event, 'uuid') || 'envelope'}</summary>
          {/* Pretty-printed only once opened: 100 rows re-rendered 5 times a second stay cheap. */}
          {open ? <pre tabIndex={0}>{event === null ? row.raw : json(event)}</pre> : null}
        </details>
      </td>
    </tr>
  );
}

export function Live() {
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [paused, setPaused] = useState(false);
  // The state of the stream of `of`: until the stream of new filters says otherwise, it is connecting (not the old one's state).
  const [stream, setStream] = useState<{ of: Filters; state: Connection }>({ of: filters, state: 'connecting' });
  const connection: Connection = stream.of === filters ? stream.state : 'connecting';
  const [rows, setRows] = useState<LiveRow[]>([]);
  const [counts, setCounts] = useState<Counts>({ received: 0, sampledOut: 0, dropped: 0, gaps: 0 });
  const buffer = useRef(new LiveBuffer(RING));
  const pausedRef = useRef(paused);
  pausedRef.current = paused;

  useEffect(() => {
    const buf = buffer.current;
    buf.clear();
    setRows([]);
    setCounts({ received: 0, sampledOut: 0, dropped: 0, gaps: 0 });
    const setConnection = (state: Connection): void => setStream({ of: filters, state });
    // The browser reconnects on its own, sending the last event's id: the
    // server then resumes this stream, counting what it cannot bring back as
    // dropped (or sends `gap` when it cannot resume). So the counts go on
    // across a reconnect, and start again only with new filters.
    const source = new EventSource(`/v1/events/stream${query({ id: filters.id, group: filters.group, account: filters.account, q: filters.q })}`);
    source.addEventListener('open', () => setConnection('open'));
    source.addEventListener('error', () => setConnection(source.readyState === EventSource.CLOSED ? 'error' : 'connecting'));
    source.addEventListener('event', (e) => buf.push((e as MessageEvent<string>).data, Date.now()));
    source.addEventListener('gap', () => {
      buf.gaps++;
    });
    source.addEventListener('dropped', (e) => {
      try {
        const count = (JSON.parse((e as MessageEvent<string>).data) as { count?: number }).count;
        if (typeof count === 'number') buf.droppedByServer += count;
      } catch {
        // A malformed notice changes nothing on screen.
      }
    });

    let frame = 0;
    let last = 0;
    const tick = (now: number): void => {
      frame = requestAnimationFrame(tick);
      if (now - last < RENDER_EVERY_MS) return;
      last = now;
      if (!pausedRef.current && buf.dirty) setRows(buf.take(VISIBLE));
      setCounts((c) =>
        c.received === buf.received && c.sampledOut === buf.sampledOut && c.dropped === buf.droppedByServer && c.gaps === buf.gaps
          ? c
          : { received: buf.received, sampledOut: buf.sampledOut, dropped: buf.droppedByServer, gaps: buf.gaps },
      );
    };
    frame = requestAnimationFrame(tick);
    return () => {
      cancelAnimationFrame(frame);
      source.close();
    };
  }, [filters]);

  const apply = (event: Event): void => {
    event.preventDefault();
    setFilters({ ...draft });
  };
  const input = (key: keyof Filters, label: string, hint: string) => (
    <div class="field">
      <label for={`live-${key}`}>{label}</label>
      <input
        id={`live-${key}`}
        value={draft[key]}
        placeholder={hint}
        onInput={(e) => setDraft({ ...draft, [key]: (e.currentTarget as HTMLInputElement).value })}
      />
    </div>
  );

  return (
    <section aria-labelledby="live-title">
      <h1 id="live-title">Live events</h1>
      <form class="filters" onSubmit={apply} aria-label="Stream filters">
        {input('id', 'Event id', 'e.g. upload.* ')}
        {input('group', 'Group', 'exact group')}
        {input('account', 'Account', 'exact account')}
        {input('q', 'Text', 'text in the JSON')}
        <button type="submit">Apply filters</button>
      </form>
      <div class="toolbar">
        <button type="button" class="secondary" aria-pressed={paused} onClick={() => setPaused(!paused)}>
          {paused ? 'Resume' : 'Pause'}
        </button>
        <span role="status" class={`badge ${connection === 'open' ? 'good' : connection === 'error' ? 'bad' : 'warn'}`}>
          {connection === 'open' ? 'connected' : connection === 'error' ? 'disconnected' : 'connecting…'}
        </span>
        <span class="muted" data-testid="live-counts">
          received {counts.received} · sampled out {counts.sampledOut} · dropped by server {counts.dropped}
          {counts.gaps > 0 ? ` · ${counts.gaps} ${counts.gaps === 1 ? 'interruption' : 'interruptions'} not accounted for` : ''}
          {paused ? ' · paused (the view is frozen; the newest events are kept)' : ''}
        </span>
      </div>
      {rows.length === 0 ? (
        <Empty>{connection === 'error' ? 'The stream is disconnected; it reconnects on its own.' : 'Waiting for events… Emitted events appear here as they happen.'}</Empty>
      ) : (
        <table class="live">
          <caption class="sr-only">The newest events, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Id</th>
              <th scope="col">Groups</th>
              <th scope="col">Account</th>
              <th scope="col">Envelope</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <Row key={row.seq} row={row} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
