import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CallbackTokenError } from '../../src/errors.js';
import { Callbacks, MemoryCallbackStore, hashToken, type CallbackRecord } from '../../src/targets/callbacks.js';

const record: CallbackRecord = {
  target: 'webhook:w',
  webhookId: 'msg_1',
  eventId: '7',
  eventUuid: 'e-1',
  eventName: 'create_user',
  accountName: 'carol',
  accountUuid: 'u-1',
};

test('the same delivery gets the same URL on every retry; another delivery another URL', () => {
  const callbacks = new Callbacks({ publicUrl: 'https://gw.example/' });
  const a = callbacks.urlFor(record);
  assert.equal(callbacks.urlFor(record), a);
  assert.notEqual(callbacks.urlFor({ ...record, webhookId: 'msg_2' }), a);
  assert.match(a, /^https:\/\/gw\.example\/v1\/callbacks\/[A-Za-z0-9_-]{43}$/);
});

test('only the SHA-256 of the token is stored', () => {
  const store = new MemoryCallbackStore();
  const callbacks = new Callbacks({ store, publicUrl: 'http://x' });
  const token = callbacks.urlFor(record).split('/').pop() as string;
  assert.equal(store.size, 1);
  assert.ok(store.get(hashToken(token)) !== undefined);
  assert.equal(store.get(token), undefined);
});

test('single use, expiry (default 24 h, configurable) and unknown tokens', async () => {
  let now = 1_000_000;
  const reports: string[] = [];
  const callbacks = new Callbacks({ ttlSeconds: 60, now: () => now, publicUrl: 'http://x' });
  callbacks.onFailure((r) => void reports.push(r.error));
  const token = callbacks.urlFor(record).split('/').pop() as string;
  const report = await callbacks.report(token, { error: 'nope', details: { a: 1 } });
  assert.deepEqual([report.error, report.details, report.record.accountName], ['nope', { a: 1 }, 'carol']);
  await assert.rejects(callbacks.report(token), (e: unknown) => e instanceof CallbackTokenError && e.reason === 'used' && e.statusCode === 410);
  const late = callbacks.urlFor({ ...record, webhookId: 'msg_late' }).split('/').pop() as string;
  now += 61_000;
  await assert.rejects(callbacks.report(late), (e: unknown) => e instanceof CallbackTokenError && e.reason === 'expired' && /callbacks\.ttl/.test(e.message));
  await assert.rejects(callbacks.report('A'.repeat(43)), (e: unknown) => e instanceof CallbackTokenError && e.statusCode === 404);
  assert.deepEqual(reports, ['nope']);
  const defaults = new Callbacks({ now: () => 0, publicUrl: 'http://x' });
  const store = new MemoryCallbackStore();
  const d = new Callbacks({ store, now: () => 0, publicUrl: 'http://x' });
  const t = d.urlFor(record).split('/').pop() as string;
  assert.equal(store.get(hashToken(t))?.expiresAt, 86_400_000);
  assert.ok(defaults);
});
