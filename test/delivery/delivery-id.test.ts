import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newDeliveryId } from '../../src/delivery/delivery-id.js';

const UUID_V7 = /^dlv_[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('delivery ids are dlv_ + a UUIDv7 carrying the time, unique, and sort in the order they were made', () => {
  const now = Date.UTC(2025, 0, 31, 12);
  const ids = Array.from({ length: 5000 }, () => newDeliveryId(now));
  for (const id of ids.slice(0, 50)) assert.match(id, UUID_V7);
  assert.equal(new Set(ids).size, ids.length);
  assert.deepEqual([...ids].sort(), ids);
  // The first 48 bits are the milliseconds (5000 ids of one millisecond may borrow the next one or two).
  const ms = parseInt((ids[0] as string).slice(4, 17).replace('-', ''), 16);
  assert.ok(ms >= now && ms <= now + 2, `timestamp ${ms}`);
  // A clock that steps back does not break the order.
  const later = newDeliveryId(now - 60_000);
  assert.ok(later > (ids[ids.length - 1] as string));
  assert.match(later, UUID_V7);
});
