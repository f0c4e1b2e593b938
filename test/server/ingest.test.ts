// Idempotent, batched and back-pressured ingest through a real gateway on a
// real SQLite file (the default store): POST /v1/events with Idempotency-Key
// or event_id, POST /v1/events/batch, delivery.max_pending and a target's
// max_pending.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HookworkConfigInput } from '../../src/config/schema.js';
import { BackpressureError, DeliveryStoreError, IdempotencyConflictError } from '../../src/errors.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { silentLogger } from '../../src/logger.js';
import { send, startGateway } from './gateway-helpers.js';
import { testReceiver } from '../helpers/receiver.js';
import { waitFor } from '../helpers/wait-for.js';
import type { DeliveryService } from '../../src/delivery/service.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

/** The runtime's delivery service (every runtime here has one). */
function deliveryOf(g: { runtime: { services: { delivery?: DeliveryService | undefined } } }): DeliveryService {
  const d = g.runtime.services.delivery;
  assert.ok(d, 'the runtime has a delivery service');
  return d;
}

function config(receiverUrl: string, over: Partial<HookworkConfigInput> = {}): HookworkConfigInput {
  return {
    events: [{ id: '100', name: 'upload' }],
    ssrf: { allow: ['127.0.0.1/32'] },
    delivery: { poll_interval: 0.05 },
    handlers: [{ type: 'webhook', name: 'hook', url: `${receiverUrl}/in`, actions: ['upload'] }],
    ...over,
  };
}

test('POST /v1/events with an Idempotency-Key: a repeat answers the same uuid with Idempotent-Replayed and delivers nothing more; another body is 409; the key holds across a restart on the same SQLite file', async (t) => {
  const receiver = await testReceiver(t);
  const dir = await mkdtemp(join(tmpdir(), 'hookwork-ingest-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const store = { url: `sqlite:${join(dir, 'queue.db')}` };
  let gw = await startGateway(config(receiver.url, { store }));
  try {
    const headers = { 'idempotency-key': 'order-1' };
    const first = await send(gw.url, 'POST', '/v1/events', { json: { id: '100', data: { path: '/a' } }, headers });
    assert.equal(first.status, 202);
    assert.equal(first.headers['idempotent-replayed'], undefined);
    const again = await send(gw.url, 'POST', '/v1/events', { json: { id: '100', data: { path: '/a' } }, headers });
    assert.equal(again.status, 202);
    assert.equal(again.body['uuid'], first.body['uuid']);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    const conflict = await send(gw.url, 'POST', '/v1/events', { json: { id: '100', data: { path: '/other' } }, headers });
    assert.equal(conflict.status, 409);
    assert.equal(conflict.body['code'], 'HKW_ERR_IDEMPOTENCY_CONFLICT');
    // event_id in the body is a key too.
    const byId = await send(gw.url, 'POST', '/v1/events', { json: { id: '100', event_id: 'evt-7', data: { path: '/b' } } });
    const byIdAgain = await send(gw.url, 'POST', '/v1/events', { json: { id: '100', event_id: 'evt-7', data: { path: '/b' } } });
    assert.equal(byIdAgain.body['uuid'], byId.body['uuid']);
    assert.equal(byIdAgain.headers['idempotent-replayed'], 'true');
    // A bad key is refused before anything runs.
    const bad = await send(gw.url, 'POST', '/v1/events', { json: { id: '100' }, headers: { 'idempotency-key': 'x'.repeat(300) } });
    assert.equal(bad.status, 400);
    await receiver.waitFor(2);
    const deliveries = await deliveryOf(gw).list();
    assert.equal(deliveries.length, 2, 'one delivery per key, none for the repeats');

    await gw.close();
    gw = await startGateway(config(receiver.url, { store }));
    const afterRestart = await send(gw.url, 'POST', '/v1/events', { json: { id: '100', data: { path: '/a' } }, headers });
    assert.equal(afterRestart.status, 202);
    assert.equal(afterRestart.body['uuid'], first.body['uuid']);
    assert.equal(afterRestart.headers['idempotent-replayed'], 'true');
    assert.equal((await deliveryOf(gw).list()).length, 2);
    assert.equal(receiver.requests.length, 2);
  } finally {
    await gw.close();
  }
});

test('host.emit with idempotencyKey: two identical emits at once give one event; the key is purged by the retention job once its window passed', async (t) => {
  const receiver = await testReceiver(t);
  const gw = await startGateway(config(receiver.url, { delivery: { poll_interval: 0.05, idempotency_window: 1 } }));
  try {
    const host = gw.runtime.host;
    const [a, b] = await Promise.all([
      host.emit('100', { data: { path: '/x' } }, { idempotencyKey: 'same' }),
      host.emit('100', { data: { path: '/x' } }, { idempotencyKey: 'same' }),
    ]);
    assert.equal(a.uuid, b.uuid);
    assert.equal(a.timestamp.timestamp, b.timestamp.timestamp);
    await assert.rejects(host.emit('100', { data: { path: '/y' } }, { idempotencyKey: 'same' }), IdempotencyConflictError);
    await receiver.waitFor(1);
    assert.equal((await deliveryOf(gw).list()).length, 1);
    const store = deliveryOf(gw).store;
    // Past the window (1 s), the retention job removes the key: the same key emits anew.
    await deliveryOf(gw).purge(Date.now() + 2000);
    const reserved = await store.reserveIdempotencyKey({ key: 'same', fingerprint: 'f', eventUuid: 'u', eventTime: 1, now: Date.now(), expiresAt: Date.now() + 1000, staleBefore: 0 });
    assert.equal(reserved?.reserved, true, 'the purged key is free again');
  } finally {
    await gw.close();
  }
});

test('POST /v1/events/batch: per-item results, one bad item does not refuse the others, atomic refuses them all, idempotency keys per item; the deliveries go in one transaction', async (t) => {
  const receiver = await testReceiver(t);
  const gw = await startGateway(config(receiver.url, { delivery: { poll_interval: 0.05, enqueue_batch: 2 } }));
  try {
    const events = [
      { id: '100', data: { path: '/1' } },
      { id: 'nope', data: {} },
      { id: '100', data: { path: '/3' }, idempotency_key: 'batch-k' },
      { id: '100', wrong: true },
    ];
    const res = await send(gw.url, 'POST', '/v1/events/batch', { json: { events } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body['accepted'], 2);
    assert.equal(res.body['failed'], 2);
    const results = res.body['results'] as Array<Record<string, unknown>>;
    assert.equal(typeof results[0]?.['uuid'], 'string');
    assert.equal((results[1]?.['error'] as Record<string, unknown>)['code'], 'HKW_ERR_UNKNOWN_EVENT');
    assert.equal(typeof results[2]?.['uuid'], 'string');
    assert.equal((results[3]?.['error'] as Record<string, unknown>)['code'], 'HKW_ERR_INVALID_INPUT');
    await receiver.waitFor(2);

    // The item with a key replays; the other is new.
    const repeat = await send(gw.url, 'POST', '/v1/events/batch', { json: { events: [events[2], events[0]] } });
    const again = repeat.body['results'] as Array<Record<string, unknown>>;
    assert.equal(again[0]?.['uuid'], results[2]?.['uuid']);
    assert.equal(again[0]?.['replayed'], true);
    assert.notEqual(again[1]?.['uuid'], results[0]?.['uuid']);

    const atomic = await send(gw.url, 'POST', '/v1/events/batch', { json: { atomic: true, events: [{ id: '100', data: { path: '/ok' } }, { id: 'nope' }] } });
    assert.equal(atomic.status, 400);
    assert.equal(atomic.body['accepted'], 0);
    const before = (await deliveryOf(gw).list()).length;
    assert.equal(before, 3, 'the atomic batch emitted nothing');

    // Five events with enqueue_batch 2 still go to the store in one write.
    const store = deliveryOf(gw).store;
    const writes: number[] = [];
    const enqueue = store.enqueue.bind(store);
    store.enqueue = (rows) => {
      writes.push(rows.length);
      return enqueue(rows);
    };
    const five = await send(gw.url, 'POST', '/v1/events/batch', { json: { events: [1, 2, 3, 4, 5].map((n) => ({ id: '100', data: { path: `/${n}` } })) } });
    assert.equal(five.body['accepted'], 5);
    assert.deepEqual(writes, [5]);
    await receiver.waitFor(8);
    const tooMany = await send(gw.url, 'POST', '/v1/events/batch', { json: { events: Array.from({ length: 1001 }, () => ({ id: '100' })) } });
    assert.equal(tooMany.status, 400);
  } finally {
    await gw.close();
  }
});

test('back-pressure: with the target disabled its deliveries stay pending; at delivery.max_pending POST /v1/events answers 503 with Retry-After and host.emit rejects, nothing accepted is dropped, and after a drain events are accepted again', async (t) => {
  const receiver = await testReceiver(t);
  const gw = await startGateway(config(receiver.url, { delivery: { poll_interval: 0.05, max_pending: 3 } }));
  try {
    const delivery = deliveryOf(gw);
    await delivery.disableTarget('handler:hook', 'test: keep deliveries pending');
    for (let i = 0; i < 3; i++) {
      const ok = await send(gw.url, 'POST', '/v1/events', { json: { id: '100', data: { path: `/${i}` } } });
      assert.equal(ok.status, 202);
    }
    const refused = await send(gw.url, 'POST', '/v1/events', { json: { id: '100', data: { path: '/full' } } });
    assert.equal(refused.status, 503, JSON.stringify(refused.body));
    assert.equal(refused.body['code'], 'HKW_ERR_BACKPRESSURE');
    assert.match(String(refused.headers['retry-after']), /^[1-9][0-9]*$/);
    await assert.rejects(gw.runtime.host.emit('100', { data: { path: '/full' } }), BackpressureError);
    const batch = await send(gw.url, 'POST', '/v1/events/batch', { json: { events: [{ id: '100' }] } });
    assert.equal(((batch.body['results'] as Array<Record<string, Record<string, unknown>>>)[0]?.['error'])?.['code'], 'HKW_ERR_BACKPRESSURE');
    assert.equal((await delivery.list({ state: 'pending' })).length, 3, 'the accepted ones wait, none was dropped, none added');

    await delivery.enableTarget('handler:hook');
    await receiver.waitFor(3);
    await waitFor(() => delivery.pendingCount() === 0, 'the drained queue counted');
    const accepted = await send(gw.url, 'POST', '/v1/events', { json: { id: '100', data: { path: '/after' } } });
    assert.equal(accepted.status, 202);
    await receiver.waitFor(4);
    assert.deepEqual(receiver.requests.map((r) => (JSON.parse(r.body) as { data: { path: string } }).data.path).sort(), ['/0', '/1', '/2', '/after']);
  } finally {
    await gw.close();
  }
});

test("back-pressure per target: a target's max_pending refuses only the events that go to it, on the memory store", async (t) => {
  const receiver = await testReceiver(t);
  const dir = await mkdtemp(join(tmpdir(), 'hookwork-ingest-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const runtime = await createRuntime({
    logger: silentLogger(),
    baseDir: dir,
    config: {
      server: { data_dir: join(dir, 'data') },
      store: { url: 'memory' },
      events: [{ id: '100', name: 'upload' }, { id: '200', name: 'download' }],
      ssrf: { allow: ['127.0.0.1/32'] },
      delivery: { poll_interval: 0.05 },
      handlers: [
        { type: 'webhook', name: 'small', url: `${receiver.url}/small`, actions: ['upload'], max_pending: 2 },
        { type: 'webhook', name: 'big', url: `${receiver.url}/big`, actions: ['download'] },
      ],
    },
  });
  t.after(() => runtime.close());
  const delivery = deliveryOf({ runtime });
  await delivery.disableTarget('handler:small', 'test');
  await runtime.host.emit('100', { data: {} });
  await runtime.host.emit('100', { data: {} });
  const err = await runtime.host.emit('100', { data: {} }).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof BackpressureError);
  assert.equal(err.target, 'handler:small');
  await runtime.host.emit('200', { data: {} });
  await receiver.waitFor(1);
  assert.equal(receiver.requests[0]?.url, '/big');
  assert.equal((await delivery.list({ target: 'handler:small' })).length, 2);
});

test('POST /v1/events/batch: when the batch\'s one write fails, every event of it answers the store error and none is accepted; the next batch is written', async (t) => {
  const receiver = await testReceiver(t);
  const gw = await startGateway(config(receiver.url));
  try {
    const store = deliveryOf(gw).store;
    const enqueue = store.enqueue.bind(store);
    const writes: number[] = [];
    let fail = true;
    store.enqueue = (rows) => {
      writes.push(rows.length);
      if (fail) return Promise.reject(new DeliveryStoreError('disk on fire (test)'));
      return enqueue(rows);
    };
    const events = [1, 2, 3].map((n) => ({ id: '100', data: { path: `/${n}` } }));
    const refused = await send(gw.url, 'POST', '/v1/events/batch', { json: { events } });
    assert.equal(refused.status, 200, JSON.stringify(refused.body));
    assert.equal(refused.body['accepted'], 0);
    assert.equal(refused.body['failed'], 3);
    for (const result of refused.body['results'] as Array<Record<string, Record<string, unknown>>>) {
      assert.equal(result['error']?.['code'], 'HKW_ERR_DELIVERY_STORE');
    }
    assert.deepEqual(writes, [3], 'the three events were one write');
    fail = false;
    const accepted = await send(gw.url, 'POST', '/v1/events/batch', { json: { events } });
    assert.equal(accepted.body['accepted'], 3);
    assert.deepEqual(writes, [3, 3]);
    await receiver.waitFor(3);
    assert.equal((await deliveryOf(gw).list()).length, 3, 'only the second batch\'s deliveries exist');
  } finally {
    await gw.close();
  }
});
