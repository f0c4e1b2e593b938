import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { request } from 'undici';
import { ENGINE_EVENTS } from '../../src/events/engine-events.js';
import { startGateway } from '../server/gateway-helpers.js';
import { testReceiver } from '../helpers/receiver.js';
import { waitFor } from '../helpers/wait-for.js';

const OPERATOR = 'operator-token-0123456789';
const VIEWER = 'viewer-token-0123456789ab';

async function call(url: string, method: 'GET' | 'POST', path: string, token?: string, body?: unknown) {
  const res = await request(`${url}${path}`, {
    method,
    headers: {
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
}

test('the runtime installs delivery on a SQLite file under the data folder by default, and the admin API operates it (operator role)', async () => {
  const gw = await startGateway({
    auth: { tokens: [{ name: 'ops', role: 'operator', token: OPERATOR }, { name: 'v', role: 'viewer', token: VIEWER }] },
    delivery: { retry_schedule: [0], poll_interval: 0.05 },
  });
  try {
    const delivery = gw.runtime.services.delivery;
    assert.ok(delivery);
    assert.equal(delivery.store.kind, 'sqlite');
    assert.ok(existsSync(join(gw.runtime.dataDir, 'hookwork.db')), 'created on first start');
    assert.equal(gw.runtime.services.cluster?.shared, false);
    const failedEvents: unknown[] = [];
    gw.runtime.host.on(ENGINE_EVENTS.deliveryFailed, (e) => void failedEvents.push(e.data));
    let fixed = false;
    delivery.registerTarget({ name: 'hook', kind: 'webhook', attempt: async () => (fixed ? { ok: true, httpStatus: 200 } : { ok: false, retryable: true, httpStatus: 500 }) });
    const [rec] = await delivery.enqueue([{ target: 'hook', event: { id: '1' } }, { target: 'hook', event: { id: '2' } }]);
    await waitFor(() => failedEvents.length === 2, { what: 'delivery-failed events' });

    assert.equal((await call(gw.url, 'GET', '/v1/deliveries')).status, 401);
    assert.equal((await call(gw.url, 'GET', '/v1/deliveries', VIEWER)).status, 200, 'a viewer reads deliveries');
    const list = await call(gw.url, 'GET', '/v1/deliveries?state=failed&target=hook', OPERATOR);
    assert.equal(list.status, 200);
    assert.equal((list.body['deliveries'] as unknown[]).length, 2);
    const bad = await call(gw.url, 'GET', '/v1/deliveries?state=weird', OPERATOR);
    assert.equal(bad.status, 400);
    const one = await call(gw.url, 'GET', `/v1/deliveries/${rec?.id}`, OPERATOR);
    assert.equal(one.status, 200);
    assert.equal((one.body['attempts'] as Array<{ httpStatus: number }>)[0]?.httpStatus, 500);
    assert.equal((await call(gw.url, 'GET', '/v1/deliveries/dlv_nope', OPERATOR)).body['code'], 'HKW_ERR_DELIVERY_NOT_FOUND');
    const depth = await call(gw.url, 'GET', '/v1/deliveries/depth', OPERATOR);
    assert.equal((depth.body['targets'] as Array<{ target: string; failed: number }>).find((t) => t.target === 'hook')?.failed, 2);
    fixed = true;
    const retried = await call(gw.url, 'POST', `/v1/deliveries/${rec?.id}/retry`, OPERATOR);
    assert.equal(retried.status, 200);
    await waitFor(async () => (await delivery.get(rec?.id as string)).delivery.state === 'done');
    const replay = await call(gw.url, 'POST', '/v1/deliveries/replay', OPERATOR, { target: 'hook', since: '1h' });
    assert.equal(replay.status, 200);
    assert.equal(replay.body['replayed'], 1);
    await waitFor(async () => (await delivery.list({ state: 'done' })).length === 2);
    const disable = await call(gw.url, 'POST', '/v1/deliveries/targets/hook/disable', OPERATOR);
    assert.equal(disable.status, 200);
    const enable = await call(gw.url, 'POST', '/v1/deliveries/targets/hook/enable', OPERATOR);
    assert.equal(enable.body['was_disabled'], true);
    const badReplay = await call(gw.url, 'POST', '/v1/deliveries/replay', OPERATOR, { target: 'hook', since: 'yesterday-ish' });
    assert.equal(badReplay.status, 400);
  } finally {
    await gw.close();
  }
});

test('the admin API shows a granted account.token as "[redacted]" (the store keeps it) and answers 409 to a retry of a delivery in flight', async (t) => {
  const SECRET = 'tok-SECRET-0123456789';
  const receiver = await testReceiver(t);
  const gw = await startGateway({
    auth: { tokens: [{ name: 'ops', role: 'operator', token: OPERATOR }] },
    delivery: { retry_schedule: [0], poll_interval: 0.05 },
    events: [{ id: '100', name: 'upload' }],
    ssrf: { allow: ['127.0.0.1/32'] },
    handlers: [{ type: 'webhook', name: 'granted', url: `${receiver.url}/in`, actions: ['upload'], grants: ['account.token'] }],
  });
  const release: Array<() => void> = [];
  try {
    const delivery = gw.runtime.services.delivery;
    assert.ok(delivery);
    await gw.runtime.host.emit('100', { account: { uuid: 'u1', name: 'alice', token: SECRET }, data: { path: '/a' } });
    await waitFor(async () => (await delivery.list({ state: 'done' })).length === 1, { what: 'delivered' });
    assert.ok(receiver.requests[0]?.body.includes(SECRET), 'the granted target got the token');
    const [stored] = await delivery.store.list();
    assert.equal((stored?.event['account'] as { token?: string }).token, SECRET, 'the store keeps it');

    const list = await call(gw.url, 'GET', '/v1/deliveries', OPERATOR);
    assert.equal(list.status, 200);
    assert.equal(JSON.stringify(list.body).includes(SECRET), false, 'not in the list');
    const [first] = list.body['deliveries'] as Array<{ id: string; event: { account: { token?: string; name: string } } }>;
    assert.equal(first?.event.account.token, '[redacted]');
    assert.equal(first?.event.account.name, 'alice');
    const one = await call(gw.url, 'GET', `/v1/deliveries/${first?.id}`, OPERATOR);
    assert.equal(one.status, 200);
    assert.equal(JSON.stringify(one.body).includes(SECRET), false, 'not in the detail');
    assert.equal((one.body['delivery'] as { event: { account: { token?: string } } }).event.account.token, '[redacted]');
    const retried = await call(gw.url, 'POST', `/v1/deliveries/${first?.id}/retry`, OPERATOR);
    assert.equal(retried.status, 200);
    assert.equal(JSON.stringify(retried.body).includes(SECRET), false, 'not in the retry answer');

    delivery.registerTarget({ name: 'slow', kind: 'webhook', attempt: () => new Promise((resolve) => release.push(() => resolve({ ok: true }))) });
    const [busy] = await delivery.enqueue([{ target: 'slow', event: { id: '1' } }]);
    await waitFor(() => release.length === 1, { what: 'attempt in flight' });
    const conflict = await call(gw.url, 'POST', `/v1/deliveries/${busy?.id}/retry`, OPERATOR);
    assert.equal(conflict.status, 409);
    assert.equal(conflict.body['code'], 'HKW_ERR_DELIVERY_INFLIGHT');
    assert.match(String(conflict.body['message']), /in flight: a node is attempting it right now/);
    assert.equal((await delivery.store.get(busy?.id as string))?.delivery.state, 'inflight', 'unchanged');
  } finally {
    for (const r of release) r();
    await gw.close();
  }
});
