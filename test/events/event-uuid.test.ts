import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newEventUuid } from '../../src/events/event-uuid.js';
import { createHost } from '../../src/host.js';
import { silentLogger } from '../../src/logger.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The millisecond a version 7 UUID carries in its first 48 bits. */
const msOf = (uuid: string): number => Number.parseInt(uuid.slice(0, 8) + uuid.slice(9, 13), 16);

test('event uuids are version 7 UUIDs, each one different, across pool refills', () => {
  const ids = Array.from({ length: 1000 }, () => newEventUuid());
  assert.equal(new Set(ids).size, ids.length);
  for (const id of ids) assert.match(id, UUID_V7);
  // Every hex digit turns up in the random positions (the writer covers all 16).
  const digits = new Set(ids.map((id) => id.slice(24)).join(''));
  assert.equal(digits.size, 16);
  // Both variant nibbles' upper values occur, not only 8.
  assert.ok(ids.some((id) => /^.{19}[ab]/.test(id)));
});

test('event uuids carry the millisecond they were made in, so a later one sorts after an earlier one (the stores index them)', async () => {
  const before = Date.now();
  const first = newEventUuid();
  const after = Date.now();
  assert.ok(msOf(first) >= before && msOf(first) <= after, `${first} carries ${msOf(first)}, not a time in ${before}..${after}`);
  // The next millisecond's uuid sorts after, whatever its random bits.
  while (Date.now() === after) await new Promise((resolve) => setImmediate(resolve));
  const second = newEventUuid();
  assert.ok(second > first, `${second} does not sort after ${first}`);
  // A date past 2^32 ms (1970 + 49 days) keeps its high 16 bits: today's are not zero.
  assert.notEqual(first.slice(0, 4), '0000');
});

test('an event emitted without a uuid gets one of these; a given uuid is kept', async () => {
  const host = createHost({ logger: silentLogger() });
  try {
    const a = await host.emit('20200', {});
    const b = await host.emit('20200', {});
    assert.match(a.uuid, UUID_V7);
    assert.notEqual(a.uuid, b.uuid);
    assert.equal((await host.emit('20200', { uuid: 'given' })).uuid, 'given');
  } finally {
    await host.close();
  }
});
