// What the console's Overview and Live events pages read, over real HTTP:
// GET /v1/events/stream (Server-Sent Events: filters, redaction, pings, a
// bounded queue with `dropped` notices, no subscription while nobody
// listens) and GET /v1/stats (the series, the targets' queues with a real
// failing receiver, the parts' health and readiness).

import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { getGlobalDispatcher, request } from 'undici';
import type { HookworkConfigInput } from '../../src/config/schema.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { waitFor } from '../helpers/wait-for.js';
import { send, startGateway, type TestGateway } from './gateway-helpers.js';

const TOKENS = { viewer: 'viewer-token-0123456789', operator: 'operator-token-0123456789' };
const VIEWER = { authorization: `Bearer ${TOKENS.viewer}` };
const OPERATOR = { authorization: `Bearer ${TOKENS.operator}` };
const SECRET = 'account-secret-token-42';

interface SseFrame {
  event: string;
  data: string;
}

interface Stream {
  readonly frames: SseFrame[];
  /** Everything received, comments included. */
  text(): string;
  close(): void;
}

/** Opens an event stream and collects its frames in the background. */
async function openStream(url: string, path: string, headers: Record<string, string> = VIEWER): Promise<Stream> {
  const controller = new AbortController();
  const res = await request(`${url}${path}`, { headers, signal: controller.signal });
  assert.equal(res.statusCode, 200, `${path}: ${res.statusCode}`);
  assert.match(String(res.headers['content-type']), /^text\/event-stream/);
  const frames: SseFrame[] = [];
  let all = '';
  let pending = '';
  void (async () => {
    try {
      for await (const chunk of res.body) {
        const text = (chunk as Buffer).toString('utf8');
        all += text;
        pending += text;
        let end: number;
        while ((end = pending.indexOf('\n\n')) !== -1) {
          const block = pending.slice(0, end);
          pending = pending.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event !== undefined && data !== undefined) frames.push({ event, data });
        }
      }
    } catch {
      // Aborted by close().
    }
  })();
  await waitFor(() => all.includes(': connected'), 'the stream to open');
  return { frames, text: () => all, close: () => controller.abort() };
}

let receiver: Receiver;
let g: TestGateway;
/** The host's subscriptions before any stream opens. */
let baseline = 0;
const config = (): HookworkConfigInput => ({
  auth: { tokens: Object.entries(TOKENS).map(([role, token]) => ({ name: role, role: role as 'viewer', token })) },
  events: [
    { id: '1001', name: 'upload', groups: ['files'] },
    { id: '1002', name: 'download', groups: ['files'] },
    { id: '2001', name: 'login', groups: ['auth'] },
  ],
  ssrf: { allow: ['127.0.0.1/32'] },
  handlers: [{ type: 'webhook', name: 'failing', url: `${receiver.url}/hook`, target_events: ['2001'] }],
});

before(async () => {
  receiver = await startReceiver();
  receiver.respond((_req, res) => res.writeHead(500).end('down'));
  // A broken stream waits 100 ms for its reconnect here, so a test sees the subscription end soon after its streams close.
  g = await startGateway(config(), undefined, { console: { pingMs: 50, statsIntervalMs: 100, resumeMs: 100 } });
  baseline = g.runtime.host.notifier.size;
});
after(async () => {
  // undici's pool may hold a connection that never sent a request: the server would wait for its headers timeout.
  await getGlobalDispatcher().close();
  await g.close();
  await receiver.close();
});

test('GET /v1/events/stream needs a viewer and refuses a bad id filter', async () => {
  assert.equal((await send(g.url, 'GET', '/v1/events/stream')).status, 401);
  const bad = await send(g.url, 'GET', '/v1/events/stream?id=m/(/', { headers: VIEWER });
  assert.equal(bad.status, 400);
  assert.equal(bad.body['code'], 'HKW_ERR_INVALID_INPUT');
  assert.equal((await send(g.url, 'GET', '/v1/events/stream?colour=red', { headers: VIEWER })).status, 400);
});

test('an event emitted over POST /v1/events reaches the stream with its envelope, the account token redacted; pings keep it alive', async () => {
  const stream = await openStream(g.url, '/v1/events/stream');
  try {
    const emitted = await send(g.url, 'POST', '/v1/events', {
      json: { id: '1001', data: { path: '/in/a.csv' }, account: { name: 'alice', token: SECRET } },
      headers: OPERATOR,
    });
    assert.equal(emitted.status, 202);
    const frame = await waitFor(() => stream.frames.find((f) => f.event === 'event'), 'the event on the stream');
    const envelope = JSON.parse(frame.data) as { id: string; uuid: string; data: { path: string }; account: { name: string; token: string } };
    assert.equal(envelope.id, '1001');
    assert.equal(envelope.uuid, emitted.body['uuid']);
    assert.equal(envelope.data.path, '/in/a.csv');
    assert.equal(envelope.account.name, 'alice');
    assert.equal(envelope.account.token, '[redacted]');
    assert.ok(!stream.text().includes(SECRET), 'the secret never goes out');
    await waitFor(() => stream.text().includes(': ping'), 'a ping');
  } finally {
    stream.close();
  }
});

test('the filters: id glob, group, account and text; only matching events reach each stream', async () => {
  const byId = await openStream(g.url, '/v1/events/stream?id=100*');
  const byGroup = await openStream(g.url, '/v1/events/stream?group=auth');
  const byAccount = await openStream(g.url, '/v1/events/stream?account=bob');
  const byText = await openStream(g.url, '/v1/events/stream?q=REPORT.PDF');
  try {
    const emit = async (id: string, path: string, account: string): Promise<void> => {
      const reply = await send(g.url, 'POST', '/v1/events', { json: { id, data: { path }, account: { name: account } }, headers: OPERATOR });
      assert.equal(reply.status, 202);
    };
    await emit('1001', '/a', 'alice');
    await emit('2001', '/b', 'bob');
    await emit('1002', '/report.pdf', 'carol');
    await emit('2001', '/last', 'alice');
    const events = (s: Stream): string[] => s.frames.filter((f) => f.event === 'event').map((f) => (JSON.parse(f.data) as { data: { path: string } }).data.path);
    await waitFor(() => events(byGroup).length === 2, 'the auth group stream');
    await waitFor(() => events(byId).length === 2 && events(byAccount).length === 1 && events(byText).length === 1, 'the other streams');
    assert.deepEqual(events(byId), ['/a', '/report.pdf']);
    assert.deepEqual(events(byGroup), ['/b', '/last']);
    assert.deepEqual(events(byAccount), ['/b']);
    assert.deepEqual(events(byText), ['/report.pdf'], 'case-insensitive text search');
  } finally {
    for (const s of [byId, byGroup, byAccount, byText]) s.close();
  }
});

test('nobody listening means no subscription on the host; a stream subscribes once and unsubscribes when its client leaves and its reconnect window ends', async () => {
  await waitFor(() => g.runtime.host.notifier.size === baseline, 'earlier streams to be gone');
  const first = await openStream(g.url, '/v1/events/stream');
  const second = await openStream(g.url, '/v1/events/stream?group=files');
  assert.equal(g.runtime.host.notifier.size, baseline + 1, 'one subscription for every client');
  first.close();
  second.close();
  await waitFor(() => g.runtime.host.notifier.size === baseline, 'the subscription to be removed');
});

test('a client that does not read gets at most the queue, then `event: dropped` with the count once it catches up', async () => {
  const slow = await startGateway(config(), undefined, { console: { streamQueue: 4, pingMs: 60_000 } });
  try {
    const { hostname, port } = new URL(slow.url);
    const socket = connect(Number(port), hostname);
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.write(`GET /v1/events/stream?id=1001 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKENS.viewer}\r\n\r\n`);
    await waitFor(() => text.includes(': connected'), 'the stream to open');
    socket.pause(); // the client stops reading: the kernel buffers fill, then the server's writes are refused
    // 400 events of 64 KiB (25 MiB) overflow any socket buffer; the server keeps 4 of those it cannot write.
    const big = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 400; i++) await slow.runtime.host.emit('1001', { data: { i, big } });
    socket.resume();
    await waitFor(() => /event: dropped\ndata: \{"count":(\d+)\}/.exec(text), { what: 'a dropped notice', timeoutMs: 20_000 });
    const count = Number(/event: dropped\ndata: \{"count":(\d+)\}/.exec(text)?.[1]);
    const received = text.split('event: event\n').length - 1;
    assert.ok(count > 0);
    assert.equal(received + count, 400, `every event is either received or counted as dropped (${received} + ${count})`);
    socket.destroy();
  } finally {
    await slow.close();
  }
});

/** A stream over a raw socket (HTTP/1.0: no chunk framing), so a test can stop reading and cut the connection. */
interface RawStream {
  readonly socket: Socket;
  text(): string;
  /** The event and dropped frames read so far, with their ids. */
  frames(): { id: string | undefined; event: string; data: string }[];
}

async function rawStream(url: string, path: string, lastEventId?: string): Promise<RawStream> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (text += chunk));
  socket.on('error', () => {}); // destroyed by the test or the server
  const resume = lastEventId === undefined ? '' : `Last-Event-ID: ${lastEventId}\r\n`;
  socket.write(`GET ${path} HTTP/1.0\r\nHost: x\r\nAuthorization: Bearer ${TOKENS.viewer}\r\n${resume}\r\n`);
  await waitFor(() => text.includes(': connected'), 'the stream to open');
  return {
    socket,
    text: () => text,
    frames: () =>
      [...text.matchAll(/^(?:id: (\S+)\n)?event: (\w+)\ndata: (.*)\n\n/gm)].map((m) => ({ id: m[1], event: m[2] as string, data: m[3] as string })),
  };
}

/** Events received, and events the server counted as dropped, on the streams. */
function accounted(...streams: RawStream[]): { received: number; dropped: number } {
  let received = 0;
  let dropped = 0;
  for (const s of streams) {
    for (const f of s.frames()) {
      if (f.event === 'event') received++;
      else if (f.event === 'dropped') dropped += (JSON.parse(f.data) as { count: number }).count;
    }
  }
  return { received, dropped };
}

test('a reconnect with Last-Event-ID resumes the stream: what the old connection was sent but never read, what came meanwhile, and what came after are each received or counted as dropped', async () => {
  const gw = await startGateway(config(), undefined, { console: { streamQueue: 8, pingMs: 60_000, resumeMs: 60_000 } });
  try {
    const emit = async (n: number, big = ''): Promise<void> => {
      for (let i = 0; i < n; i++) await gw.runtime.host.emit('1001', { data: { i, big } });
    };
    const first = await rawStream(gw.url, '/v1/events/stream?id=1001');
    await emit(5);
    await gw.runtime.host.emit('2001'); // another id: not this stream's, not counted
    await waitFor(() => accounted(first).received === 5, 'the first events');
    assert.equal(first.frames()[0]?.event, 'stream', 'the stream names itself first');
    const ids = first.frames().filter((f) => f.event === 'event').map((f) => f.id);
    assert.ok(ids.every((id) => id !== undefined && /^[\w-]+:\d+$/.test(id)), `every event has an id: ${ids.join()}`);
    assert.deepEqual(ids.map((id) => Number(id?.split(':')[1])), [1, 2, 3, 4, 5], 'numbered from 1, with no hole');

    // The browser stops reading (the socket buffers fill, the server queues 8 and drops the rest), then the connection dies.
    first.socket.pause();
    await emit(400, 'x'.repeat(64 * 1024));
    first.socket.destroy();
    const read = accounted(first);
    const last = first.frames().at(-1)?.id;
    assert.ok(last !== undefined);
    await emit(20); // while it is away

    const second = await rawStream(gw.url, '/v1/events/stream?id=1001', last);
    await emit(10);
    const total = 5 + 400 + 20 + 10;
    const both = await waitFor(() => {
      const a = accounted(first, second);
      return a.received + a.dropped === total ? a : undefined;
    }, { what: `every event received or counted as dropped (${JSON.stringify(read)} before the reconnect)`, timeoutMs: 20_000 });
    assert.ok(both.dropped > 0, 'events were lost, and counted');
    assert.ok(!second.text().includes('event: gap'), 'resumed, not a gap');
    // No event twice, and the numbers go on where the old connection stopped.
    const seqs = [...first.frames(), ...second.frames()].filter((f) => f.event === 'event').map((f) => Number(f.id?.split(':')[1]));
    assert.equal(new Set(seqs).size, seqs.length, 'no event received twice');
    assert.ok(seqs.every((s, i) => i === 0 || s > (seqs[i - 1] as number)), 'in order');
    assert.equal(second.frames().at(-1)?.id?.split(':')[1], String(total), 'the last id is the last event');
    second.socket.destroy();
  } finally {
    await gw.close();
  }
});

test('a stream that breaks before its first event is resumed too: it opens with `event: stream` and the id `<stream>:0`', async () => {
  const gw = await startGateway(config(), undefined, { console: { pingMs: 60_000, resumeMs: 60_000 } });
  try {
    const first = await rawStream(gw.url, '/v1/events/stream?id=1002');
    const hello = await waitFor(() => first.frames().find((f) => f.event === 'stream'), 'the stream frame');
    assert.match(hello.id ?? '', /^[\w-]+:0$/);
    first.socket.destroy();
    for (let i = 0; i < 3; i++) await gw.runtime.host.emit('1002');
    const second = await rawStream(gw.url, '/v1/events/stream?id=1002', hello.id);
    // Queued, or (if the server had not yet seen the socket die) written to it and counted as dropped.
    await waitFor(() => {
      const a = accounted(second);
      return a.received + a.dropped === 3;
    }, 'the events of the gap, received or counted');
    assert.ok(!second.text().includes('event: gap'));
    assert.ok(!second.frames().some((f) => f.event === 'stream'), 'the same stream: no new id');
    second.socket.destroy();
  } finally {
    await gw.close();
  }
});

test('a reconnect the server cannot resume (an unknown stream, other filters, a number it never sent) gets `event: gap`, then streams anew', async () => {
  const first = await rawStream(g.url, '/v1/events/stream?id=1002');
  try {
    await g.runtime.host.emit('1002');
    await waitFor(() => accounted(first).received === 1, 'the event');
    const id = first.frames().at(-1)?.id as string;
    const key = id.split(':')[0] as string;
    for (const [path, lastEventId] of [
      ['/v1/events/stream?id=1002', 'unknown-stream:1'],
      ['/v1/events/stream?id=1001', id],
      ['/v1/events/stream?id=1002', `${key}:99`],
      ['/v1/events/stream?id=1002', 'not an id'],
    ] as const) {
      const other = await rawStream(g.url, path, lastEventId);
      try {
        await waitFor(() => other.text().includes('event: gap\ndata: {}\n\n'), `a gap for ${lastEventId} on ${path}`);
      } finally {
        other.socket.destroy();
      }
    }
    await g.runtime.host.emit('1002');
    await waitFor(() => accounted(first).received === 2, 'the first stream goes on');
  } finally {
    first.socket.destroy();
  }
});

test('a browser that reconnects before the server saw its old connection close takes its stream over: the old connection is ended', async () => {
  const first = await rawStream(g.url, '/v1/events/stream?id=1002');
  let closed = false;
  first.socket.on('close', () => (closed = true));
  await g.runtime.host.emit('1002');
  await waitFor(() => accounted(first).received === 1, 'the event');
  const second = await rawStream(g.url, '/v1/events/stream?id=1002', first.frames().at(-1)?.id);
  try {
    await waitFor(() => closed, 'the old connection to be ended');
    await g.runtime.host.emit('1002');
    await waitFor(() => accounted(second).received === 1, 'the event on the new connection');
    assert.ok(!second.text().includes('event: gap') && accounted(second).dropped === 0, 'resumed, nothing lost');
  } finally {
    second.socket.destroy();
  }
});

test('GET /v1/stats: the series counts events and delivery attempts per interval; a failing target shows its queue and circuit; each part its health', async () => {
  assert.equal((await send(g.url, 'GET', '/v1/stats')).status, 401);
  for (let i = 0; i < 3; i++) assert.equal((await send(g.url, 'POST', '/v1/events', { json: { id: '2001' }, headers: OPERATOR })).status, 202);
  await receiver.waitFor(3);
  const stats = await waitFor(async () => {
    const reply = await send(g.url, 'GET', '/v1/stats', { headers: VIEWER });
    assert.equal(reply.status, 200);
    const series = reply.body['series'] as Array<{ events: number; deliveries_failed: number }>;
    const failed = series.reduce((n, p) => n + p.deliveries_failed, 0);
    const events = series.reduce((n, p) => n + p.events, 0);
    return failed >= 3 && events >= 3 ? reply.body : undefined;
  }, 'the series to count the events and failed attempts');
  assert.equal(stats['interval_ms'], 100);
  const series = stats['series'] as Array<{ at: string; events: number; deliveries_done: number; deliveries_failed: number }>;
  assert.ok(series.length <= 360);
  for (let i = 1; i < series.length; i++) assert.ok(Date.parse(series[i]!.at) >= Date.parse(series[i - 1]!.at), 'oldest first');
  assert.ok(series.every((p) => p.deliveries_done === 0), 'the receiver only fails');

  const target = (stats['targets'] as Array<Record<string, unknown>>).find((t) => t['name'] === 'handler:failing');
  assert.ok(target !== undefined, JSON.stringify(stats['targets']));
  assert.equal(target['kind'], 'webhook');
  assert.equal(target['disabled'], false);
  assert.ok(['closed', 'open', 'half-open'].includes(target['circuit'] as string));
  assert.equal((target['pending'] as number) + (target['inflight'] as number) >= 1, true, 'retries wait');
  assert.ok(target['oldest_pending_age_ms'] === null || (target['oldest_pending_age_ms'] as number) >= 0);

  const parts = stats['parts'] as Array<{ name: string; healthy: boolean; ready: boolean }>;
  const names = parts.map((p) => p.name);
  assert.ok(names.includes('gateway') && names.includes('delivery-store'), names.join());
  assert.ok(parts.every((p) => p.healthy && p.ready));
});
