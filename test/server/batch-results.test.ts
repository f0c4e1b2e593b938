// POST /v1/events/batch gives an event without a key its uuid before the
// emit (routes/events.ts) and builds its result from it once every emit has
// settled; these check that each result names the event that was emitted for
// its item, in a batch that mixes every kind of item and emits that fail.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { send, startGateway } from './gateway-helpers.js';

interface Seen {
  uuid: string;
  id: string;
  path: unknown;
  message: string;
  account: string;
}

test('POST /v1/events/batch: every accepted item\'s result is the uuid and id of the event emitted for it, failed emits keep their own index, in a batch of plain, zod-checked, keyed and failing items', async () => {
  const gw = await startGateway({ events: [{ id: '100', name: 'upload' }] });
  try {
    const seen: Seen[] = [];
    gw.runtime.host.addEmitStage((event) => {
      const path = event.data['path'];
      // An emit stage failing for one event: only that item fails.
      if (path === '/boom') return Promise.reject(new Error('stage refused /boom (test)'));
      seen.push({ uuid: event.uuid, id: event.id, path, message: event.message, account: event.account.name });
      return undefined;
    });
    const events = [
      { id: '100', data: { path: '/0' } },
      { id: '100', data: { path: '/boom' } },
      { id: '100', data: { path: '/2' }, message: 'two' },
      { id: '100', data: { path: '/3' }, account: { name: 'alice' } },
      { id: 'nope', data: { path: '/4' } },
      { id: '100', data: { path: '/5' }, event_id: 'batch-results-5' },
      { id: 100, data: { path: '/6' } },
    ];
    const res = await send(gw.url, 'POST', '/v1/events/batch', { json: { events } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body['accepted'], 5);
    assert.equal(res.body['failed'], 2);
    const results = res.body['results'] as Array<Record<string, unknown>>;
    assert.deepEqual(results.map((r) => r['index']), [0, 1, 2, 3, 4, 5, 6]);
    assert.equal(typeof (results[1]?.['error'] as Record<string, unknown> | undefined)?.['code'], 'string');
    assert.equal((results[4]?.['error'] as Record<string, unknown>)['code'], 'HKW_ERR_UNKNOWN_EVENT');
    assert.equal(seen.length, 5);
    for (const index of [0, 2, 3, 5, 6]) {
      const result = results[index] as Record<string, unknown>;
      const event = seen.find((e) => e.path === `/${index}`);
      assert.ok(event, `an event was emitted for item ${index}`);
      assert.equal(result['uuid'], event.uuid, `item ${index}'s uuid is its event's`);
      assert.equal(result['id'], event.id);
      assert.equal(result['id'], '100');
      assert.equal('error' in result, false);
    }
    assert.equal(new Set(seen.map((e) => e.uuid)).size, 5, 'every event has its own uuid');
    assert.equal(seen.find((e) => e.path === '/2')?.message, 'two');
    assert.equal(seen.find((e) => e.path === '/3')?.account, 'alice');

    // The keyed item replays its first uuid; the others are new events.
    const again = await send(gw.url, 'POST', '/v1/events/batch', { json: { events: [events[5], events[0]] } });
    const replay = again.body['results'] as Array<Record<string, unknown>>;
    assert.equal(replay[0]?.['uuid'], results[5]?.['uuid']);
    assert.equal(replay[0]?.['replayed'], true);
    assert.equal(replay[1]?.['uuid'], seen.at(-1)?.uuid);
    assert.notEqual(replay[1]?.['uuid'], results[0]?.['uuid']);
  } finally {
    await gw.close();
  }
});
