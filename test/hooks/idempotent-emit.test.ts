// host.emit(id, input, { idempotencyKey }) on a host without a delivery
// store (keys in the process): once per key, replays run nothing, other input
// is a conflict, a failed emit frees its key.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IdempotencyConflictError, InvalidArgumentError } from '../../src/errors.js';
import { createHost } from '../../src/host.js';
import { silentLogger } from '../../src/logger.js';

test('an idempotency key emits once: a repeat resolves to the same event and runs no stage and no subscriber; other input rejects with HKW_ERR_IDEMPOTENCY_CONFLICT', async () => {
  const host = createHost({ events: [{ id: '100', name: 'upload' }], logger: silentLogger() });
  let stages = 0;
  host.addEmitStage(() => {
    stages++;
  });
  const seen: string[] = [];
  host.on('100', (e) => void seen.push(e.uuid));
  const first = await host.emit('100', { data: { path: '/a' } }, { idempotencyKey: 'k' });
  const again = await host.emit('100', { data: { path: '/a' } }, { idempotencyKey: 'k' });
  assert.equal(again.uuid, first.uuid);
  assert.equal(again.timestamp.timestamp, first.timestamp.timestamp);
  assert.deepEqual(again.data, first.data);
  const { replayed } = await host.emitIdempotent('100', { data: { path: '/a' } }, 'k');
  assert.equal(replayed, true);
  await assert.rejects(host.emit('100', { data: { path: '/b' } }, { idempotencyKey: 'k' }), (err) => err instanceof IdempotencyConflictError && err.code === 'HKW_ERR_IDEMPOTENCY_CONFLICT');
  await host.idle();
  assert.equal(stages, 1);
  assert.deepEqual(seen, [first.uuid]);
  // Without a key, emit() is as before: a new event each time.
  const plain = await host.emit('100', { data: { path: '/a' } });
  assert.notEqual(plain.uuid, first.uuid);
  await assert.rejects(host.emit('100', {}, { idempotencyKey: '' }), InvalidArgumentError);
  await host.close();
});

test('two emits with one key at once give one event; a failed emit frees its key so the retry is emitted', async () => {
  const host = createHost({ events: [{ id: '100', name: 'upload' }], logger: silentLogger() });
  let fail = true;
  let stages = 0;
  host.addEmitStage(async () => {
    stages++;
    await new Promise((resolve) => setImmediate(resolve));
    if (fail) throw new Error('store down');
  });
  await assert.rejects(host.emit('100', {}, { idempotencyKey: 'r' }), /store down/);
  fail = false;
  const [a, b] = await Promise.all([host.emit('100', {}, { idempotencyKey: 'r' }), host.emit('100', {}, { idempotencyKey: 'r' })]);
  assert.equal(a.uuid, b.uuid);
  assert.equal(stages, 2, 'the failed emit and one of the two at once');
  await host.close();
});
