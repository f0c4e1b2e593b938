// The LUNA-style examples: a monitoring plugin shipping batches to a real
// HTTP collector, an event-sending plugin, and a background plugin with a
// route and a schedule.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from 'undici';
import { AGENT_AUX } from '../../../examples/plugins/demo-host.js';
import type { SendingRecord } from '../../../src/index.js';
import { startGateway } from '../../server/gateway-helpers.js';
import { EXAMPLES, startDemo } from './demo.js';
import { testReceiver, type ReceivedRequest } from '../../helpers/receiver.js';
import { waitFor } from '../../helpers/wait-for.js';

interface Received {
  method: string;
  url: string;
  body: unknown;
}

/** The shared receiver, answering JSON with the status `status` picks; `received` has the bodies parsed. */
async function receiver(t: { after(fn: () => Promise<void>): void }, status: (req: ReceivedRequest) => number = () => 200) {
  const rx = await testReceiver(t);
  rx.respond((req, res) => res.writeHead(status(req), { 'content-type': 'application/json' }).end('{}'));
  return {
    url: rx.url,
    get received(): Received[] {
      return rx.requests.map((r) => ({ method: r.method, url: r.url, body: r.body === '' ? undefined : JSON.parse(r.body) }));
    },
  };
}

test('monitoring: points are batched and POSTed to the collector; the rest ships on unload', async (t) => {
  const collector = await receiver(t);
  const { demo, manager } = await startDemo(t, ['monitoring'], {
    monitoring: { url: `${collector.url}/points`, batch_size: 3, flush_interval_ms: 60_000 },
  });
  // Three hook calls make a full batch: the plugin wakes and ships it now.
  demo.host.call('config.users.get', 1);
  demo.host.call('agents.list');
  await demo.setAgentStatus(2, AGENT_AUX, 'Oběd'); // no change hook: emits only
  demo.host.on('agent.status', () => {});
  await demo.setAgentStatus(2, AGENT_AUX, 'Oběd');
  await demo.host.idle();
  demo.host.monitor.flush();
  await waitFor(() => collector.received.length >= 1, 'a batch reaches the collector');
  const first = collector.received[0] as Received;
  assert.equal(first.method, 'POST');
  assert.equal(first.url, '/points');
  const points = (first.body as { points: Array<{ kind: string; name: string }> }).points;
  assert.deepEqual(points.slice(0, 2).map((p) => `${p.kind}:${p.name}`), ['middleware:config.users.get', 'middleware:agents.list']);
  // One more point, below the batch size and long before the interval: unload ships it.
  demo.host.call('agents.list');
  demo.host.monitor.flush();
  const shipped = (): number => collector.received.reduce((n, r) => n + (r.body as { points: unknown[] }).points.length, 0);
  const before = shipped();
  assert.equal(demo.host.monitor.enabled, true);
  await manager.unload('monitoring');
  assert.equal(shipped(), before + 1, 'the last point shipped on stop');
  assert.equal(demo.host.monitor.enabled, false);
});

test('event-sending: creates its bucket on start and posts each sending record', async (t) => {
  const store = await receiver(t, (req) => (req.url?.startsWith('/1/buckets?') === true ? 409 : 201));
  const { demo } = await startDemo(t, ['event-sending'], { 'event-sending': { url: `${store.url}/1/buckets`, bucket: 'faces' } });
  assert.deepEqual(store.received.map((r) => `${r.method} ${r.url}`), ['POST /1/buckets?bucket=faces']);
  const event = await demo.host.emit('agent.status', { data: { agent_id: 2, displayname: 'Petr', status: 'aux', reason: 'x', previous_status: 'ready' } });
  const record: SendingRecord = {
    events: [event],
    handlerId: 'handler-1',
    handlerName: 'faces',
    accountId: 'account-1',
    requestId: 'request-1',
    createEventTime: '2024-01-15T10:00:00.000Z',
    endEventTime: '2024-01-15T10:00:01.000Z',
  };
  demo.host.channels.sending.publish(record);
  await waitFor(() => store.received.length === 2, 'the record reaches the store');
  const sent = store.received[1] as Received;
  assert.equal(sent.url, '/1/buckets/faces/objects');
  const body = sent.body as Record<string, unknown>;
  assert.equal(body['handler_id'], 'handler-1');
  assert.equal(body['Luna-Request-Id'], 'request-1');
  assert.equal((body['events'] as Array<{ uuid: string }>)[0]?.uuid, event.uuid);
});

test('event-sending: a bucket the store refuses fails the start, and nothing stays registered', async (t) => {
  const store = await receiver(t, () => 500);
  const { manager, demo } = await startDemo(t, [], { 'event-sending': { url: `${store.url}/1/buckets` } });
  await assert.rejects(manager.load('event-sending'), /failed to create bucket plugin_test_bucket/);
  assert.equal(manager.get('event-sending')?.state, 'failed');
  assert.equal(demo.host.channels.sending.active, false);
});

test('background plugin: a route served from the live table, a schedule, removed on unload', async (t) => {
  const { demo, manager } = await startDemo(t, ['resources']);
  await demo.host.emit('agent.status', { data: { agent_id: 1, displayname: 'Jana', status: 'ready', reason: '', previous_status: 'offline' } });
  await demo.host.idle();
  const get = manager.routes.match('resources', 'GET', '/');
  assert.ok(typeof get === 'object');
  assert.equal(get.route.access, 'viewer');
  const stats = (await get.route.handler({ method: 'GET', path: '/', params: {}, query: {}, headers: {}, body: undefined })) as { events: number };
  assert.equal(stats.events, 1);
  const post = manager.routes.match('resources', 'POST', '/sample');
  assert.ok(typeof post === 'object');
  assert.equal(post.route.access, 'operator');
  assert.deepEqual(manager.get('resources')?.registrations, { subscriber: 1, schedule: 1, route: 2 });
  await manager.unload('resources');
  assert.equal(manager.routes.match('resources', 'GET', '/'), 'no-plugin');
  assert.equal(manager.routes.size, 0);
});

test('background plugin over HTTP: a real gateway serves its routes under /plugins/resources/, gone after unload', async (t) => {
  const tokens = { viewer: 'viewer-token-0123456789', operator: 'operator-token-0123456789' };
  const { runtime, url, close } = await startGateway({
    strict: false,
    auth: { tokens: Object.entries(tokens).map(([role, token]) => ({ name: `${role}-user`, role: role as 'viewer', token })) },
    plugins: { folder: EXAMPLES, active: ['resources'] },
  });
  t.after(close);
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const call = async (method: 'GET' | 'POST', path: string, role?: keyof typeof tokens) => {
    const res = await request(`${url}${path}`, { method, headers: role === undefined ? {} : { authorization: `Bearer ${tokens[role]}` } });
    const text = await res.body.text();
    return { status: res.statusCode, type: res.headers['content-type'], body: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>) };
  };

  assert.equal(runtime.services.plugins?.get('resources')?.state, 'running');
  const first = await call('GET', '/plugins/resources/', 'viewer');
  assert.equal(first.status, 200);
  assert.match(String(first.type), /^application\/json/);
  await runtime.host.emit('20200', { data: { message: 'one' } });
  await runtime.host.emit('20200', { data: { message: 'two' } });
  await runtime.host.idle();
  const stats = await call('GET', '/plugins/resources/', 'viewer');
  assert.equal(stats.body?.['events'], (first.body?.['events'] as number) + 2, 'the plugin counted the two events');
  assert.equal((await call('GET', '/plugins/resources/')).status, 401, 'viewer access needs a token');
  // POST /sample needs an operator, answers 201 with the sample it took.
  assert.equal((await call('POST', '/plugins/resources/sample', 'viewer')).status, 403);
  const sampled = await call('POST', '/plugins/resources/sample', 'operator');
  assert.equal(sampled.status, 201);
  assert.equal(typeof sampled.body?.['heapUsedBytes'], 'number');
  const after = await call('GET', '/plugins/resources', 'viewer');
  assert.equal(after.status, 200);
  assert.ok((after.body?.['samples'] as number) >= 1, 'the sample is served');

  await runtime.services.plugins?.unload('resources');
  const gone = await call('GET', '/plugins/resources/', 'viewer');
  assert.equal(gone.status, 404);
  assert.equal(gone.body?.['code'], 'HKW_ERR_NOT_FOUND');
});
