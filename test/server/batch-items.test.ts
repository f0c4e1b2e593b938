// POST /v1/events/batch checks plain items without zod (plainItem): what it
// accepts must be exactly what batchItemSchema accepts, with the same
// values, and anything it is unsure of must be left to zod.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { batchItemSchema, plainItem } from '../../src/server/routes/events.js';

const LONG_KEY = 'k'.repeat(256);

const shapes: unknown[] = [
  { id: '100' },
  { id: 100 },
  { id: 0 },
  { id: -1 },
  { id: 1.5 },
  { id: Number.MAX_SAFE_INTEGER + 1 },
  { id: '' },
  { id: null },
  { id: true },
  {},
  { data: {} },
  { id: '100', data: { path: '/x', n: 1, nested: { a: [1, 2] } } },
  { id: '100', data: [] },
  { id: '100', data: null },
  { id: '100', data: 'text' },
  { id: '100', data: JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as unknown },
  { id: '100', data: JSON.parse('{"constructor": {"prototype": 1}}') as unknown },
  { id: '100', message: 'hello' },
  { id: '100', message: '' },
  { id: '100', message: 5 },
  { id: '100', event_id: 'e1' },
  { id: '100', event_id: '' },
  { id: '100', event_id: LONG_KEY },
  { id: '100', event_id: 'k'.repeat(255) },
  { id: '100', idempotency_key: 'i1', event_id: 'e1' },
  { id: '100', idempotency_key: 7 },
  { id: '100', account: { name: 'ann', email: 'a@b.c' } },
  { id: '100', account: { nope: 1 } },
  { id: '100', component: { name: 'c' } },
  { id: '100', wrong: true },
  { id: '100', data: undefined },
  null,
  'text',
  42,
  [],
  [{ id: '100' }],
];

test('batch items: every item checked without zod is one batchItemSchema accepts, with the same values; the rest are left to zod', () => {
  let plain = 0;
  for (const raw of shapes) {
    const fast = plainItem(raw);
    const parsed = batchItemSchema.safeParse(raw);
    if (fast === undefined) continue;
    plain++;
    assert.ok(parsed.success, `plainItem accepted ${JSON.stringify(raw)}, which zod refuses`);
    assert.deepEqual({ ...fast }, parsed.data, `the same values for ${JSON.stringify(raw)}`);
  }
  assert.ok(plain >= 8, `the plain shapes go the fast way (${plain})`);
  // What it leaves to zod includes every shape zod refuses, and the account and component members.
  for (const raw of shapes) {
    if (!batchItemSchema.safeParse(raw).success) assert.equal(plainItem(raw), undefined, JSON.stringify(raw));
  }
  assert.equal(plainItem({ id: '100', account: { name: 'ann' } }), undefined);
  assert.equal(plainItem({ id: '100', component: { name: 'c' } }), undefined);
  assert.equal(plainItem({ id: '100', data: JSON.parse('{"__proto__": {}}') as unknown }), undefined);
});
