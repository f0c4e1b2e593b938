import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newEventUuid } from '../../src/events/event-uuid.js';
import { createHost } from '../../src/host.js';
import { silentLogger } from '../../src/logger.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('event uuids are random version 4 UUIDs, each one different, across pool refills', () => {
  const ids = Array.from({ length: 1000 }, () => newEventUuid());
  assert.equal(new Set(ids).size, ids.length);
  for (const id of ids) assert.match(id, UUID_V4);
  // Every hex digit turns up in the random positions (the writer covers all 16).
  const digits = new Set(ids.map((id) => id.slice(0, 8)).join(''));
  assert.equal(digits.size, 16);
  // Both variant nibbles' upper values occur, not only 8.
  assert.ok(ids.some((id) => /^.{19}[ab]/.test(id)));
});

test('an event emitted without a uuid gets one of these; a given uuid is kept', async () => {
  const host = createHost({ logger: silentLogger() });
  try {
    const a = await host.emit('20200', {});
    const b = await host.emit('20200', {});
    assert.match(a.uuid, UUID_V4);
    assert.notEqual(a.uuid, b.uuid);
    assert.equal((await host.emit('20200', { uuid: 'given' })).uuid, 'given');
  } finally {
    await host.close();
  }
});
