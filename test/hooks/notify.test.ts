import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHost, ENGINE_EVENTS, silentLogger, type HookworkEvent } from '../../src/index.js';
import { Notifier, type RoutableEvent, type Subscriber } from '../../src/hooks/notify.js';

const events = [
  { id: '100', name: 'uploaded', groups: ['file', 'success'] },
  { id: '101', name: 'deleted', groups: ['file'] },
  { id: '200', name: 'login-failed', groups: ['failure'] },
];

function newHost() {
  return createHost({ logger: silentLogger(), events });
}

test('a subscriber follows one event id only', async () => {
  const host = newHost();
  const seen: string[] = [];
  host.on('100', (e) => void seen.push(e.id));
  await host.emit('100');
  await host.emit('101');
  await host.emit('200');
  await host.idle();
  assert.deepEqual(seen, ['100']);
  await host.close();
});

test('group:x follows every event of the group; * follows everything; order is subscription order', async () => {
  const host = newHost();
  const seen: string[] = [];
  host.on('*', (e) => void seen.push(`*:${e.id}`));
  host.on('group:file', (e) => void seen.push(`file:${e.id}`));
  host.on('100', (e) => void seen.push(`id:${e.id}`));
  host.on('group:success', (e) => void seen.push(`success:${e.id}`));
  await host.emit('100');
  await host.emit('101');
  await host.emit('200');
  await host.idle();
  assert.deepEqual(seen, ['*:100', 'file:100', 'id:100', 'success:100', '*:101', 'file:101', '*:200']);
  await host.close();
});

test('a subscriber of both an id and its group gets the event once per subscription, not duplicated per route', async () => {
  const host = newHost();
  let calls = 0;
  const fn = (): void => void calls++;
  host.on('group:file', fn);
  await host.emit('100');
  await host.idle();
  assert.equal(calls, 1);
  await host.close();
});

test('subscribers run after emit() returns', async () => {
  const host = newHost();
  const seen: string[] = [];
  host.on('100', () => void seen.push('subscriber'));
  const pending = host.emit('100');
  seen.push('emit returned');
  await pending;
  await host.idle();
  assert.deepEqual(seen, ['emit returned', 'subscriber']);
  await host.close();
});

test('a slow async subscriber never holds up emit()', async () => {
  const host = newHost();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let finished = false;
  host.on('100', async () => {
    await gate;
    finished = true;
  });
  await host.emit('100');
  assert.equal(finished, false, 'emit resolved while the subscriber still waits');
  release();
  await host.idle();
  assert.equal(finished, true, 'idle() waits for subscriber promises');
  await host.close();
});

test('a throwing or rejecting subscriber never affects the emitter or the others, and becomes a 20174 handler-failed event', async () => {
  const host = newHost();
  const seen: string[] = [];
  const failures: HookworkEvent[] = [];
  host.on(ENGINE_EVENTS.handlerFailed, (e) => void failures.push(e));
  host.on('100', () => void seen.push('first'));
  host.scope('plugin:broken-sync').on('100', () => {
    throw new Error('sync boom');
  });
  host.scope('plugin:broken-async').on('100', async () => {
    throw new TypeError('async boom');
  });
  host.scope('plugin:rejects-non-error').on('100', () => Promise.reject('a string'));
  host.on('100', () => void seen.push('last'));

  const event = await host.emit('100', { data: { path: '/x' } });
  await host.idle();
  assert.deepEqual(seen, ['first', 'last']);
  assert.equal(failures.length, 3);
  const byName = new Map(failures.map((f) => [f.data['handler'], f]));
  const sync = byName.get('plugin:broken-sync');
  assert.ok(sync);
  assert.equal(sync.id, '20174');
  assert.equal(sync.name, 'handler-failed');
  assert.equal(sync.data['event_id'], '100');
  assert.equal(sync.data['event_uuid'], event.uuid);
  assert.equal(sync.data['error'], 'sync boom');
  assert.match(String(sync.data['stack']), /sync boom/);
  assert.equal(sync.message, 'Handler "plugin:broken-sync" failed on event 100: sync boom');
  assert.equal(byName.get('plugin:broken-async')?.data['error'], 'async boom');
  assert.equal(byName.get('plugin:rejects-non-error')?.data['error'], 'a string');
  await host.close();
});

test('a failing subscriber of handler-failed does not loop', async () => {
  const host = newHost();
  let failedCalls = 0;
  host.on(ENGINE_EVENTS.handlerFailed, () => {
    failedCalls++;
    throw new Error('me too');
  });
  host.on('100', () => {
    throw new Error('boom');
  });
  await host.emit('100');
  await host.idle();
  assert.equal(failedCalls, 1);
  await host.close();
});

test('the subscriber name defaults to the scope and can be given', async () => {
  const host = newHost();
  const failures: HookworkEvent[] = [];
  host.on('20174', (e) => void failures.push(e));
  host.scope('plugin:a').on(
    '100',
    () => {
      throw new Error('x');
    },
    { name: 'plugin:a/uploads' },
  );
  await host.emit('100');
  await host.idle();
  assert.equal(failures[0]?.data['handler'], 'plugin:a/uploads');
  await host.close();
});

test('a disposed subscriber is not called, even for an event already queued', async () => {
  const host = newHost();
  let calls = 0;
  const off = host.on('100', () => void calls++);
  assert.equal(host.notifier.size, 1);
  const pending = host.emit('100');
  off();
  off(); // idempotent
  assert.equal(host.notifier.size, 0);
  await pending;
  await host.emit('100');
  await host.idle();
  assert.equal(calls, 0);
  await host.close();
});

test('a subscription made during a dispatch does not see the event being dispatched', async () => {
  const host = newHost();
  const seen: string[] = [];
  host.on('100', () => {
    seen.push('a');
    host.on('100', () => void seen.push('late'));
  });
  await host.emit('100');
  await host.idle();
  assert.deepEqual(seen, ['a']);
  await host.close();
});

// --- Notifier on its own: routing, caching, no scans -------------------------

interface Ev extends RoutableEvent {
  readonly id: string;
  readonly groups: readonly string[];
}

function ev(id: string, groups: string[] = []): Ev {
  return { id, groups };
}

test('route() is cached per event id and returns the same list until a subscription changes', () => {
  const notifier = new Notifier<Ev>(() => undefined);
  notifier.subscribe('a', () => undefined, 's1');
  notifier.subscribe('group:g', () => undefined, 's2');
  const first = notifier.route(ev('a', ['g']));
  assert.equal(first.length, 2);
  assert.equal(notifier.route(ev('a', ['g'])), first, 'the cached list itself');
  const off = notifier.subscribe('a', () => undefined, 's3');
  const second = notifier.route(ev('a', ['g']));
  assert.notEqual(second, first);
  assert.deepEqual(
    second.map((s) => s.name),
    ['s1', 's2', 's3'],
  );
  assert.equal(first.length, 2, 'a list handed out earlier is never changed (copy-on-write)');
  off();
  assert.deepEqual(
    notifier.route(ev('a', ['g'])).map((s) => s.name),
    ['s1', 's2'],
  );
});

/** Counts calls of the collection methods a scan would need, while `fn` runs. */
function countCollectionWork(fn: () => void): number {
  let count = 0;
  const patched: Array<[object, PropertyKey, unknown]> = [];
  const patch = (proto: object, key: PropertyKey): void => {
    const original = (proto as Record<PropertyKey, unknown>)[key] as (...args: unknown[]) => unknown;
    patched.push([proto, key, original]);
    (proto as Record<PropertyKey, unknown>)[key] = function (this: unknown, ...args: unknown[]) {
      count++;
      return original.apply(this, args);
    };
  };
  for (const key of ['get', 'has', 'forEach', 'keys', 'values', 'entries', Symbol.iterator]) patch(Map.prototype, key);
  for (const key of ['filter', 'forEach', 'map', 'some', 'find', 'indexOf', 'includes', 'sort', Symbol.iterator]) {
    patch(Array.prototype, key);
  }
  // Every step of a for..of over a Map, a Set or an array.
  patch(Object.getPrototypeOf(new Map()[Symbol.iterator]()) as object, 'next');
  patch(Object.getPrototypeOf(new Set()[Symbol.iterator]()) as object, 'next');
  patch(Object.getPrototypeOf([][Symbol.iterator]()) as object, 'next');
  let during = 0;
  count = 0;
  try {
    fn();
  } finally {
    during = count;
    // An indexed loop: for..of would itself call a patched iterator.
    for (let i = patched.length - 1; i >= 0; i--) {
      const [proto, key, original] = patched[i] as [object, PropertyKey, unknown];
      (proto as Record<PropertyKey, unknown>)[key] = original;
    }
  }
  return during;
}

function routingWork(others: number): { work: number; route: readonly Subscriber<Ev>[] } {
  const notifier = new Notifier<Ev>(() => undefined);
  for (let i = 0; i < others; i++) notifier.subscribe(`other-${i}`, () => undefined);
  for (let i = 0; i < 10; i++) notifier.subscribe('group:other', () => undefined);
  notifier.subscribe('target', () => undefined, 'mine');
  notifier.subscribe('group:g', () => undefined, 'group-mine');
  let route: readonly Subscriber<Ev>[] = [];
  const work = countCollectionWork(() => {
    route = notifier.route(ev('target', ['g']));
  });
  return { work, route };
}

test('routing an event never scans the subscribers of other ids', () => {
  const few = routingWork(10);
  const many = routingWork(10_000);
  assert.deepEqual(
    many.route.map((s) => s.name),
    ['mine', 'group-mine'],
  );
  assert.equal(many.work, few.work, 'the same collection work with 10 or 10,000 subscribers on other ids');
  assert.ok(many.work < 50, `routing did ${many.work} collection operations`);
});

test('a cached route costs one Map lookup', () => {
  const notifier = new Notifier<Ev>(() => undefined);
  for (let i = 0; i < 1000; i++) notifier.subscribe(`other-${i}`, () => undefined);
  notifier.subscribe('target', () => undefined);
  notifier.route(ev('target'));
  assert.equal(
    countCollectionWork(() => notifier.route(ev('target'))),
    1,
  );
});

test('Notifier.emit resolves once async subscribers settle and never rejects', async () => {
  const failures: string[] = [];
  const notifier = new Notifier<Ev>((s, _e, err) => void failures.push(`${s.name}:${err.message}`));
  const seen: string[] = [];
  notifier.subscribe('a', async () => {
    await new Promise((r) => setImmediate(r));
    seen.push('async');
  }, 'slow');
  notifier.subscribe('a', () => Promise.reject(new Error('nope')), 'bad');
  notifier.subscribe('a', () => void seen.push('sync'), 'fast');
  await notifier.emit(ev('a'));
  assert.deepEqual(seen, ['sync', 'async']);
  assert.deepEqual(failures, ['bad:nope']);
  assert.equal(notifier.size, 3);
  assert.equal(notifier.count('a'), 3);
});

test('Notifier.emitSync calls every subscriber before returning; a throwing failure handler is contained', () => {
  const notifier = new Notifier<Ev>(() => {
    throw new Error('reporter broke');
  });
  const seen: string[] = [];
  notifier.subscribe('a', () => {
    throw new Error('x');
  });
  notifier.subscribe('a', () => void seen.push('after'));
  notifier.emitSync(ev('a'));
  assert.deepEqual(seen, ['after']);
});

test('emitting an id that is not in the catalogue is an error naming it; strict: false only warns', async () => {
  const host = newHost();
  await assert.rejects(host.emit('999'), { code: 'HKW_ERR_UNKNOWN_EVENT', message: /"999"/ });
  await host.close();
  const loose = createHost({ logger: silentLogger(), strict: false });
  const seen: string[] = [];
  loose.on('999', (e) => void seen.push(e.id));
  await loose.emit('999');
  await loose.idle();
  assert.deepEqual(seen, ['999']);
  await loose.close();
});

test('emit after close() is refused', async () => {
  const host = newHost();
  await host.close();
  await assert.rejects(host.emit('100'), { code: 'HKW_ERR_CLOSED' });
});

test('a catalogue change that moves an id into a group reroutes it', async () => {
  const host = newHost();
  const seen: string[] = [];
  host.on('group:audit', (e) => void seen.push(e.id));
  await host.emit('101');
  host.catalogue.declare({ id: '101', name: 'deleted', groups: ['file', 'audit'] });
  await host.emit('101');
  await host.idle();
  assert.deepEqual(seen, ['101']);
  await host.close();
});
