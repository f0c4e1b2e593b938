import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MemoryStore } from '../../src/delivery/memory-store.js';
import type { StoredDeliveryInput } from '../../src/delivery/store.js';
import { storeContract } from './store-contract.js';

storeContract('memory store', async () => ({ store: new MemoryStore(), cleanup: async () => undefined }));

// What only the memory store does: claims from a due heap, a bounded history.

const T0 = 1_700_000_000_000;
const input = (id: string, over: Partial<StoredDeliveryInput> = {}): StoredDeliveryInput => ({
  id,
  target: 't',
  eventJson: JSON.stringify({ id: '1001', n: id }),
  webhookId: `msg_${id}`,
  dueAt: T0,
  createdAt: T0,
  ...over,
});
const claimOf = (now: number, n: number, leaseMs = 1000) => ({ nodeId: 'a', now, leaseMs, capacity: new Map([['t', n]]) });

test('memory store: claims follow due time after reschedules, retries and replays', async () => {
  const store = new MemoryStore();
  await store.enqueue([input('d1', { dueAt: T0 + 30 }), input('d2', { dueAt: T0 + 10 }), input('d3', { dueAt: T0 + 20 })]);
  const [first] = await store.claim(claimOf(T0 + 10, 1));
  assert.equal(first?.id, 'd2');
  // d2 fails and is due again after d1: the heap entry it had is stale and must not surface twice.
  await store.settle([{ deliveryId: 'd2', nodeId: 'a', attempt: 1, record: { deliveryId: 'd2', attempt: 1, startedAt: T0, durationMs: 1, ok: false }, outcome: { state: 'pending', dueAt: T0 + 40, error: 'x' } }]);
  const order = (await store.claim(claimOf(T0 + 100, 10))).map((d) => d.id);
  assert.deepEqual(order, ['d3', 'd1', 'd2']);
  assert.deepEqual(await store.claim(claimOf(T0 + 100, 10)), []);
  // Leases end: the same three come back, then nothing more.
  const again = (await store.claim(claimOf(T0 + 5000, 10))).map((d) => d.id).sort();
  assert.deepEqual(again, ['d1', 'd2', 'd3']);
  assert.deepEqual(await store.claim(claimOf(T0 + 5000, 10)), []);
});

test('memory store: a delivery given as JSON is parsed only when its event is read', async () => {
  const store = new MemoryStore();
  await store.enqueue([input('d1')]);
  const [claimed] = await store.claim(claimOf(T0, 1));
  assert.equal(claimed?.eventJson, JSON.stringify({ id: '1001', n: 'd1' }));
  assert.deepEqual(claimed?.event, { id: '1001', n: 'd1' });
  assert.deepEqual((await store.get('d1'))?.delivery.event, { id: '1001', n: 'd1' });
});

test('memory store: only the newest completed deliveries are kept (keepDone); open and failed ones stay', async () => {
  const store = new MemoryStore({ keepDone: 3 });
  const ids = Array.from({ length: 8 }, (_, i) => `d${i}`);
  await store.enqueue(ids.map((id) => input(id)));
  const claimed = await store.claim(claimOf(T0, 8));
  const settle = (id: string, state: 'done' | 'failed') => ({
    deliveryId: id,
    nodeId: 'a',
    attempt: 1,
    record: { deliveryId: id, attempt: 1, startedAt: T0, durationMs: 1, ok: state === 'done' },
    outcome: state === 'done' ? ({ state: 'done' } as const) : ({ state: 'failed', error: 'no' } as const),
  });
  assert.equal(claimed.length, 8);
  // d0 fails; d1..d5 complete (d1 and d2 are pushed out); d6, d7 stay in flight.
  await store.settle([settle('d0', 'failed'), ...['d1', 'd2', 'd3', 'd4', 'd5'].map((id) => settle(id, 'done'))]);
  const kept = (await store.list({ limit: 100 })).map((d) => d.id).sort();
  assert.deepEqual(kept, ['d0', 'd3', 'd4', 'd5', 'd6', 'd7']);
  // A completed delivery that is retried is open again: it is not the next to go.
  assert.equal(await store.retry('d3', T0 + 1), true);
  await store.settle([settle('d6', 'done'), settle('d7', 'done')]);
  const after = (await store.list({ limit: 100 })).map((d) => d.id).sort();
  assert.deepEqual(after, ['d0', 'd3', 'd5', 'd6', 'd7']);
  assert.equal((await store.get('d3'))?.delivery.state, 'pending');
});

test('memory store: completed deliveries purged before keepDone reaches them do not count against the ones kept after', async () => {
  const store = new MemoryStore({ keepDone: 3 });
  const done = (id: string) => ({
    deliveryId: id,
    nodeId: 'a',
    attempt: 1,
    record: { deliveryId: id, attempt: 1, startedAt: T0, durationMs: 1, ok: true },
    outcome: { state: 'done' } as const,
  });
  const complete = async (ids: string[]) => {
    await store.enqueue(ids.map((id) => input(id)));
    assert.equal((await store.claim(claimOf(T0, ids.length))).length, ids.length);
    await store.settle(ids.map(done));
  };
  await complete(['a', 'b', 'c']);
  assert.equal(await store.purge({ doneBefore: T0 + 10, failedBefore: 0, limit: 100 }), 3);
  await complete(['d', 'e', 'f', 'g']);
  // The purged three still sit in the completed ring: each must be skipped, not counted as one let go.
  assert.deepEqual((await store.list({ limit: 100 })).map((d) => d.id).sort(), ['e', 'f', 'g']);
});

test('memory store: a completed delivery pushed out by keepDone is let go of at once (its payload with it)', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const store = new MemoryStore({ keepDone: 1 });
  const refs: Array<WeakRef<Buffer>> = [];
  for (let i = 0; i < 3; i++) {
    const eventBytes = Buffer.alloc(64 * 1024, i); // its own memory, not a pool slab shared with others
    refs.push(new WeakRef(eventBytes));
    await store.enqueue([input(`d${i}`, { eventBytes })]);
  }
  await store.claim(claimOf(T0, 3));
  const record = (id: string) => ({ deliveryId: id, attempt: 1, startedAt: T0, durationMs: 1, ok: true });
  await store.settle(['d0', 'd1', 'd2'].map((id) => ({ deliveryId: id, nodeId: 'a', attempt: 1, record: record(id), outcome: { state: 'done' } as const })));
  // Collected only once nothing references them; give the collector a few turns.
  for (let i = 0; i < 5 && (refs[0]?.deref() !== undefined || refs[1]?.deref() !== undefined); i++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
  assert.equal(refs[0]?.deref(), undefined, 'd0 was pushed out but is still held');
  assert.equal(refs[1]?.deref(), undefined, 'd1 was pushed out but is still held');
  assert.ok(refs[2]?.deref() !== undefined, 'd2 is the one kept');
  assert.deepEqual((await store.list()).map((d) => d.id), ['d2']);
});

test('memory store: the JSON is kept as bytes and handed out as is', async () => {
  const store = new MemoryStore();
  const json = JSON.stringify({ id: '1001', text: 'ä €' });
  await store.enqueue([input('d1', { eventJson: json })]);
  const [claimed] = await store.claim(claimOf(T0, 1));
  assert.ok(Buffer.isBuffer(claimed?.eventBytes));
  assert.equal(claimed?.eventBytes?.toString('utf8'), json);
  assert.equal(claimed?.eventJson, json);
  assert.deepEqual(claimed?.event, JSON.parse(json));
});

test('memory store: its records serialise as plain deliveries, with their event', async () => {
  const store = new MemoryStore();
  const json = JSON.stringify({ id: '1001', n: 1 });
  await store.enqueue([input('d1', { eventJson: json })]);
  const [listed] = await store.list();
  const plain = JSON.parse(JSON.stringify(listed)) as Record<string, unknown>;
  assert.deepEqual(plain, { id: 'd1', target: 't', event: { id: '1001', n: 1 }, webhookId: 'msg_d1', attempts: 0, state: 'pending', dueAt: T0, createdAt: T0, updatedAt: T0 });
});

test('memory store: the times of deliveries that left (pushed out by keepDone, purged) are not those of later ones, nor of those kept', async () => {
  // A guard on the rows that leave (keepDone, purge): the times of those that stay and of later ones are their own.
  const store = new MemoryStore({ keepDone: 2 });
  const times = (i: number) => ({ dueAt: T0 + 1000 * i + 1, createdAt: T0 + 1000 * i });
  await store.enqueue([0, 1, 2, 3].map((i) => input(`d${i}`, times(i))));
  await store.claim(claimOf(T0 + 10_000, 4, 60_000));
  const done = (id: string, at: number) => ({ deliveryId: id, nodeId: 'a', attempt: 1, record: { deliveryId: id, attempt: 1, startedAt: at, durationMs: 7, ok: true }, outcome: { state: 'done' } as const });
  // d0 and d1 are pushed out by d2 and d3 (keepDone 2), giving their slots back.
  await store.settle([0, 1, 2, 3].map((i) => done(`d${i}`, T0 + 20_000 + i)));
  assert.equal(await store.get('d0'), undefined);
  await store.enqueue([input('d4', times(4)), input('d5', times(5))]);
  // d2 is purged (done before its update time + 1) while d3 is kept: d3's slot must not go with it.
  assert.equal(await store.purge({ doneBefore: T0 + 20_010, failedBefore: 0, limit: 10 }), 1);
  await store.enqueue([input('d6', times(6))]);
  const [leased] = await store.claim(claimOf(T0 + 30_000, 1, 5_000));
  assert.equal(leased?.id, 'd4');
  for (const [id, i] of [['d4', 4], ['d5', 5], ['d6', 6]] as const) {
    const d = (await store.get(id))?.delivery;
    assert.equal(d?.createdAt, T0 + 1000 * i, `${id} created`);
    assert.equal(d?.dueAt, T0 + 1000 * i + 1, `${id} due`);
    assert.equal(d?.updatedAt, id === 'd4' ? T0 + 30_000 : T0 + 1000 * i, `${id} updated`);
  }
  const kept = (await store.get('d3'))?.delivery;
  assert.deepEqual([kept?.createdAt, kept?.dueAt, kept?.updatedAt, kept?.state], [T0 + 3000, T0 + 3001, T0 + 20_003 + 7, 'done']);
  // d4's lease ends at its own time (d5's and d6's later): claimed again only once it has passed.
  assert.deepEqual((await store.claim(claimOf(T0 + 30_000, 2, 60_000))).map((d) => d.id), ['d5', 'd6']);
  assert.deepEqual(await store.claim(claimOf(T0 + 34_999, 5)), []);
  const again = await store.claim(claimOf(T0 + 35_000, 1));
  assert.equal(again[0]?.id, 'd4');
  assert.deepEqual((await store.list({ limit: 10 })).map((d) => d.id), ['d6', 'd5', 'd4', 'd3']);
});
