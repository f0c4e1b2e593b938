// Two nodes (two runtimes with their gateways) on one real PostgreSQL: an
// Idempotency-Key sent to both at once creates one event and one delivery;
// either node replays it. Back-pressure counts what the other node enqueued
// once it reads the store's depth again.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { HookworkConfigInput } from '../../src/config/schema.js';
import { send, startGateway, type TestGateway } from './gateway-helpers.js';
import { startPostgres, type ThrowawayPostgres } from '../helpers/postgres.js';
import { testReceiver } from '../helpers/receiver.js';
import { waitFor } from '../helpers/wait-for.js';
import type { DeliveryService } from '../../src/delivery/service.js';

/** The runtime's delivery service (every runtime here has one). */
function deliveryOf(g: { runtime: { services: { delivery?: DeliveryService | undefined } } }): DeliveryService {
  const d = g.runtime.services.delivery;
  assert.ok(d, 'the runtime has a delivery service');
  return d;
}

let pg: ThrowawayPostgres;
before(async () => {
  pg = await startPostgres();
});
after(async () => {
  await pg?.stop();
});

function config(storeUrl: string, receiverUrl: string, delivery: HookworkConfigInput['delivery'] = {}): HookworkConfigInput {
  return {
    store: { url: storeUrl },
    events: [{ id: '100', name: 'upload' }],
    ssrf: { allow: ['127.0.0.1/32'] },
    delivery: { poll_interval: 0.05, ...delivery },
    handlers: [{ type: 'webhook', name: 'hook', url: `${receiverUrl}/in`, actions: ['upload'] }],
  };
}

async function twoNodes(t: { after(fn: () => Promise<void>): void }, storeUrl: string, receiverUrl: string, delivery?: HookworkConfigInput['delivery']): Promise<[TestGateway, TestGateway]> {
  const a = await startGateway(config(storeUrl, receiverUrl, delivery));
  t.after(() => a.close());
  const b = await startGateway(config(storeUrl, receiverUrl, delivery));
  t.after(() => b.close());
  return [a, b];
}

test('the same Idempotency-Key sent to two nodes at once creates one event and one delivery; each node answers the same uuid, and a different body is 409 on either', async (t) => {
  const receiver = await testReceiver(t);
  const [a, b] = await twoNodes(t, await pg.createDatabase('idem_nodes'), receiver.url);
  const KEYS = 20;
  const answers = await Promise.all(
    Array.from({ length: KEYS }, (_, i) => {
      const json = { id: '100', data: { path: `/${i}` } };
      const headers = { 'idempotency-key': `key-${i}` };
      return Promise.all([send(a.url, 'POST', '/v1/events', { json, headers }), send(b.url, 'POST', '/v1/events', { json, headers })]);
    }),
  );
  for (const [fromA, fromB] of answers) {
    assert.equal(fromA.status, 202, JSON.stringify(fromA.body));
    assert.equal(fromB.status, 202, JSON.stringify(fromB.body));
    assert.equal(fromA.body['uuid'], fromB.body['uuid']);
    // Exactly one of the two is the replay.
    assert.equal([fromA, fromB].filter((r) => r.headers['idempotent-replayed'] === 'true').length, 1);
  }
  await receiver.waitFor(KEYS);
  assert.equal((await deliveryOf(a).list({ limit: 1000 })).length, KEYS, 'one delivery per key');
  const conflict = await send(b.url, 'POST', '/v1/events', { json: { id: '100', data: { path: '/changed' } }, headers: { 'idempotency-key': 'key-0' } });
  assert.equal(conflict.status, 409);
  assert.equal(conflict.body['code'], 'HKW_ERR_IDEMPOTENCY_CONFLICT');
  const uuids = new Set(receiver.requests.map((r) => (JSON.parse(r.body) as { uuid: string }).uuid));
  assert.equal(uuids.size, KEYS, 'the receiver got each event once');
});

test("back-pressure on PostgreSQL: a node's count takes in what the other node enqueued at its next depth read", async (t) => {
  const receiver = await testReceiver(t);
  // poll_interval 0.2: the counts are read again from the store every second.
  const [a, b] = await twoNodes(t, await pg.createDatabase('bp_nodes'), receiver.url, { poll_interval: 0.2, max_pending: 2 });
  await deliveryOf(a).disableTarget('handler:hook', 'test');
  for (let i = 0; i < 2; i++) assert.equal((await send(a.url, 'POST', '/v1/events', { json: { id: '100' } })).status, 202);
  await waitFor(() => deliveryOf(b).pendingCount() === 2, 'node b counted node a\'s deliveries');
  const refused = await send(b.url, 'POST', '/v1/events', { json: { id: '100' } });
  assert.equal(refused.status, 503);
  assert.equal(refused.body['code'], 'HKW_ERR_BACKPRESSURE');
  await deliveryOf(a).enableTarget('handler:hook');
  await receiver.waitFor(2);
  await waitFor(() => deliveryOf(b).pendingCount() === 0, 'node b saw the drain');
  assert.equal((await send(b.url, 'POST', '/v1/events', { json: { id: '100' } })).status, 202);
});
