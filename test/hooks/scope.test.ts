import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClosedError, createHost, deny, Scope, silentLogger } from '../../src/index.js';

function host() {
  return createHost({
    logger: silentLogger(),
    events: [{ id: '100', name: 'uploaded' }],
    changes: { status: { mode: 'exclusive' } },
  });
}

test('disposing a scope removes everything registered through it', async () => {
  const h = host();
  h.define('users.get', (id: string) => ({ id }));
  const plugin = h.scope('plugin:everything');
  let notified = 0;
  let tracked = 0;
  plugin.on('100', () => void notified++);
  plugin.on('group:any', () => void notified++);
  plugin.onGate('pre-upload', () => deny('no'));
  plugin.onChange('status', () => 'plugin value');
  plugin.use('users.get', (next, id: string) => ({ ...(next(id) as object), wrapped: true }));
  plugin.define('plugin.ping', () => 'pong');
  plugin.track('task', () => void tracked++);
  assert.equal(plugin.size, 7);
  assert.deepEqual(plugin.registrations(), { subscriber: 2, gate: 1, change: 1, middleware: 1, method: 1, task: 1 });

  await plugin.dispose();
  assert.equal(plugin.disposed, true);
  assert.equal(plugin.size, 0);
  assert.deepEqual(plugin.registrations(), {});
  await h.emit('100');
  await h.idle();
  assert.equal(notified, 0);
  assert.deepEqual(await h.gate('pre-upload', {}), { verdict: 'allow' });
  assert.deepEqual(await h.change('status', 'a', 'b'), { blocked: false, value: 'b' });
  assert.deepEqual(h.call('users.get', 'u1'), { id: 'u1' });
  assert.throws(() => h.call('plugin.ping'), { code: 'HKW_ERR_UNKNOWN_HOOK_POINT' });
  assert.equal(tracked, 1);
  assert.equal(h.notifier.size, 0);
  await h.close();
});

test('disposing one scope leaves the others alone', async () => {
  const h = host();
  const a = h.scope('a');
  const b = h.scope('b');
  const seen: string[] = [];
  a.on('100', () => void seen.push('a'));
  b.on('100', () => void seen.push('b'));
  await a.dispose();
  await h.emit('100');
  await h.idle();
  assert.deepEqual(seen, ['b']);
  await h.close();
});

test('registering on a disposed scope throws ClosedError', async () => {
  const h = host();
  const plugin = h.scope('plugin:late');
  await plugin.dispose();
  assert.throws(() => plugin.on('100', () => undefined), ClosedError);
  assert.throws(() => plugin.onGate('g', () => undefined), { code: 'HKW_ERR_CLOSED', message: /plugin:late/ });
  assert.throws(() => plugin.onChange('status', () => undefined), ClosedError);
  assert.throws(() => plugin.use('m', (next) => next()), ClosedError);
  assert.throws(() => plugin.define('m', () => undefined), ClosedError);
  assert.throws(() => plugin.track('task', () => undefined), ClosedError);
  assert.equal(h.notifier.size, 0, 'nothing was half-registered');
  await h.close();
});

test('each registration returns its own idempotent disposer; the scope then forgets it', async () => {
  const h = host();
  const plugin = h.scope('p');
  let calls = 0;
  const off = plugin.on('100', () => void calls++);
  plugin.on('100', () => void calls++);
  assert.equal(plugin.size, 2);
  off();
  off();
  assert.equal(plugin.size, 1);
  await h.emit('100');
  await h.idle();
  assert.equal(calls, 1);
  await plugin.dispose();
  await plugin.dispose(); // idempotent too
  await h.close();
});

test('Scope: disposers run newest first, async ones are awaited, failures are collected and rethrown together', async () => {
  const scope = new Scope('s');
  const order: string[] = [];
  scope.track('other', () => void order.push('first'));
  scope.track('task', async () => {
    await new Promise((r) => setImmediate(r));
    order.push('async');
  });
  scope.track('other', () => {
    order.push('throws');
    throw new Error('one');
  });
  scope.track('other', () => Promise.reject(new Error('two')));
  scope.track('other', () => void order.push('last'));
  await assert.rejects(scope.dispose(), (err: unknown) => {
    assert.ok(err instanceof AggregateError);
    assert.deepEqual(
      err.errors.map((e: Error) => e.message).sort(),
      ['one', 'two'],
    );
    return true;
  });
  // Newest first; the async disposer finished before dispose() settled.
  assert.deepEqual(order, ['last', 'throws', 'first', 'async']);
});

test('Scope: a disposer called by hand is not called again by dispose()', async () => {
  const scope = new Scope('s');
  let calls = 0;
  const off = scope.track('other', () => void calls++);
  off();
  await scope.dispose();
  assert.equal(calls, 1);
});

test('closing the host disposes its own registrations', async () => {
  const h = host();
  h.on('100', () => undefined);
  h.onGate('g', () => undefined);
  assert.equal(h.size, 2);
  assert.equal(h.notifier.size, 1);
  assert.equal(h.gates.count('g'), 1);
  await h.close();
  assert.equal(h.size, 0);
  assert.equal(h.notifier.size, 0);
  assert.equal(h.gates.count('g'), 0);
});
