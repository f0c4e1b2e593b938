// The contract every delivery store keeps. Run by memory-store.test.ts,
// sqlite-store.test.ts and postgres-store.test.ts against a fresh store each.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { newDeliveryId } from '../../src/delivery/delivery-id.js';
import type { DeliveryStore, SettleRequest, StoredDeliveryInput } from '../../src/delivery/store.js';
import type { AttemptRecord, DeliveryRecord } from '../../src/delivery/types.js';

export type StoreFactory = () => Promise<{ store: DeliveryStore; cleanup: () => Promise<void> }>;

const T0 = 1_700_000_000_000;

function row(target: string, over: Partial<StoredDeliveryInput> = {}): StoredDeliveryInput {
  return {
    // The real id form (UUIDv7): ids sort by creation, and lists walk them newest first.
    id: newDeliveryId(),
    target,
    event: { id: '1001', data: { n: 1, nested: { list: [1, 'two'] } } },
    webhookId: `msg_${randomUUID()}`,
    dueAt: T0,
    createdAt: T0,
    ...over,
  };
}

function attempt(d: DeliveryRecord, over: Partial<AttemptRecord> = {}): AttemptRecord {
  return { deliveryId: d.id, attempt: d.attempts + 1, startedAt: T0 + 10, durationMs: 5, ok: true, ...over };
}

function settleReq(d: DeliveryRecord, nodeId: string, outcome: SettleRequest['outcome'], rec: Partial<AttemptRecord> = {}): SettleRequest {
  return { deliveryId: d.id, nodeId, attempt: d.attempts + 1, record: attempt(d, rec), outcome };
}

const cap = (entries: Record<string, number>) => new Map(Object.entries(entries));

export function storeContract(name: string, factory: StoreFactory): void {
  async function withStore(fn: (store: DeliveryStore) => Promise<void>): Promise<void> {
    const { store, cleanup } = await factory();
    try {
      await store.migrate();
      await fn(store);
    } finally {
      await cleanup();
    }
  }

  test(`${name}: enqueue, claim and complete keep the event, webhook id and attempts`, () =>
    withStore(async (store) => {
      const r = row('a');
      await store.enqueue([r]);
      const claimed = await store.claim({ nodeId: 'n1', now: T0, leaseMs: 1000, capacity: cap({ a: 10 }) });
      assert.equal(claimed.length, 1);
      const d = claimed[0] as DeliveryRecord;
      assert.equal(d.id, r.id);
      assert.equal(d.webhookId, r.webhookId);
      assert.deepEqual(d.event, r.event);
      assert.equal(d.attempts, 0);
      assert.equal(d.state, 'inflight');
      // Claimed: nobody else gets it while the lease holds.
      assert.equal((await store.claim({ nodeId: 'n2', now: T0 + 500, leaseMs: 1000, capacity: cap({ a: 10 }) })).length, 0);
      const applied = await store.settle([settleReq(d, 'n1', { state: 'done' }, { httpStatus: 200, response: 'ok' })]);
      assert.equal(applied, 1);
      const detail = await store.get(r.id);
      assert.equal(detail?.delivery.state, 'done');
      assert.equal(detail?.delivery.attempts, 1);
      assert.equal(detail?.attempts.length, 1);
      assert.equal(detail?.attempts[0]?.httpStatus, 200);
      assert.equal(detail?.attempts[0]?.response, 'ok');
      assert.equal(detail?.attempts[0]?.ok, true);
      assert.equal((await store.claim({ nodeId: 'n1', now: T0 + 10_000, leaseMs: 1000, capacity: cap({ a: 10 }) })).length, 0);
    }));

  test(`${name}: claims only due deliveries, oldest first, up to each target's capacity`, () =>
    withStore(async (store) => {
      await store.enqueue([
        row('a', { dueAt: T0 + 3 }),
        row('a', { dueAt: T0 + 1 }),
        row('a', { dueAt: T0 + 2 }),
        row('a', { dueAt: T0 + 5000 }),
        row('b', { dueAt: T0 }),
        row('c', { dueAt: T0 }),
      ]);
      const claimed = await store.claim({ nodeId: 'n1', now: T0 + 10, leaseMs: 1000, capacity: cap({ a: 2, b: 5 }) });
      const a = claimed.filter((d) => d.target === 'a').map((d) => d.dueAt);
      assert.deepEqual(a, [T0 + 1, T0 + 2]);
      assert.equal(claimed.filter((d) => d.target === 'b').length, 1);
      assert.equal(claimed.filter((d) => d.target === 'c').length, 0, 'targets without capacity are not claimed');
      const more = await store.claim({ nodeId: 'n1', now: T0 + 10, leaseMs: 1000, capacity: cap({ a: 5 }) });
      assert.deepEqual(more.map((d) => d.dueAt), [T0 + 3], 'the not-yet-due one waits');
    }));

  test(`${name}: an expired lease lets another node take the delivery; the old node's settle is ignored`, () =>
    withStore(async (store) => {
      const r = row('a');
      await store.enqueue([r]);
      const [first] = await store.claim({ nodeId: 'n1', now: T0, leaseMs: 1000, capacity: cap({ a: 1 }) });
      assert.ok(first);
      const [second] = await store.claim({ nodeId: 'n2', now: T0 + 1000, leaseMs: 1000, capacity: cap({ a: 1 }) });
      assert.ok(second, 'taken over after the lease');
      assert.equal(second.webhookId, r.webhookId, 'same webhook id on every attempt');
      assert.equal(second.attempts, 1, 'the lost attempt counts');
      assert.equal(await store.settle([settleReq(first, 'n1', { state: 'done' })]), 0, 'stale settle changes nothing');
      assert.equal((await store.get(r.id))?.delivery.state, 'inflight');
      assert.equal(await store.settle([settleReq(second, 'n2', { state: 'done' })]), 1);
      const detail = await store.get(r.id);
      assert.equal(detail?.delivery.state, 'done');
      assert.equal(detail?.attempts.length, 2, 'both attempts are recorded');
    }));

  test(`${name}: one claim takes expired leases and due pending deliveries together, oldest due first, within each target's capacity`, () =>
    withStore(async (store) => {
      // a: two claimed long ago (due T0, T0+2) whose lease ends at T0+1000, and pending ones due T0+1, T0+3, T0+4, and one not due.
      const leased = [row('a', { dueAt: T0 }), row('a', { dueAt: T0 + 2 })];
      const pending = [row('a', { dueAt: T0 + 1 }), row('a', { dueAt: T0 + 3 }), row('a', { dueAt: T0 + 4 })];
      const later = row('a', { dueAt: T0 + 60_000 });
      await store.enqueue(leased);
      assert.equal((await store.claim({ nodeId: 'old', now: T0 + 2, leaseMs: 998, capacity: cap({ a: 2 }) })).length, 2);
      await store.enqueue([...pending, later, row('b', { dueAt: T0 + 5 })]);
      const claimed = await store.claim({ nodeId: 'n', now: T0 + 1000, leaseMs: 1000, capacity: cap({ a: 4, b: 1 }) });
      const a = claimed.filter((d) => d.target === 'a').sort((x, y) => x.dueAt - y.dueAt);
      assert.deepEqual(a.map((d) => d.dueAt), [T0, T0 + 1, T0 + 2, T0 + 3], 'the 4 oldest due, whether their lease ended or they were pending');
      assert.deepEqual(a.map((d) => d.attempts), [1, 0, 1, 0], 'an expired lease counts its lost attempt');
      assert.equal(claimed.filter((d) => d.target === 'b').length, 1);
      const rest = await store.claim({ nodeId: 'n', now: T0 + 1000, leaseMs: 1000, capacity: cap({ a: 10 }) });
      assert.deepEqual(rest.map((d) => d.dueAt), [T0 + 4], 'what is left and due; the one due later stays');
    }));

  test(`${name}: dueTargets names each target a claim would take work for now (due pending, expired lease), once, and no other`, () =>
    withStore(async (store) => {
      assert.ok(store.dueTargets !== undefined, 'the store answers dueTargets');
      const due = async (now: number): Promise<string[]> => [...(await store.dueTargets?.(now) ?? [])].sort();
      assert.deepEqual(await due(T0), [], 'an empty store');
      // a: two due; b: due later; c: claimed (lease ends T0+1000); d: done; e: failed; f: rescheduled to later.
      await store.enqueue([row('a'), row('a', { dueAt: T0 - 5 }), row('b', { dueAt: T0 + 500 }), row('c'), row('d'), row('e'), row('f')]);
      const claimed = await store.claim({ nodeId: 'n1', now: T0, leaseMs: 1000, capacity: cap({ c: 1, d: 1, e: 1, f: 1 }) });
      const of = (target: string) => claimed.find((d) => d.target === target) as DeliveryRecord;
      await store.settle([
        settleReq(of('d'), 'n1', { state: 'done' }),
        settleReq(of('e'), 'n1', { state: 'failed', error: 'gone' }),
        settleReq(of('f'), 'n1', { state: 'pending', dueAt: T0 + 700, error: 'later' }),
      ]);
      assert.deepEqual(await due(T0), ['a'], 'only a has work due now');
      assert.deepEqual(await due(T0 + 500), ['a', 'b'], 'b once its time came');
      assert.deepEqual(await due(T0 + 1000), ['a', 'b', 'c', 'f'], "c once its lease ended, f at its retry's time");
      // Claimed in full, a has nothing due any more; b's one delivery is claimed by another node.
      await store.claim({ nodeId: 'n2', now: T0 + 1000, leaseMs: 1000, capacity: cap({ a: 10, b: 10 }) });
      assert.deepEqual(await due(T0 + 1000), ['c', 'f']);
      // Many targets with nothing open cost nothing and are not named.
      await store.enqueue(Array.from({ length: 50 }, (_, i) => row(`idle-${i}`)));
      const idle = await store.claim({ nodeId: 'n1', now: T0 + 1000, leaseMs: 1000, capacity: new Map(Array.from({ length: 50 }, (_, i) => [`idle-${i}`, 1])) });
      await store.settle(idle.map((d) => settleReq(d, 'n1', { state: 'done' })));
      assert.deepEqual(await due(T0 + 1000), ['c', 'f'], 'once each (several due rows of one target make one entry)');
    }));

  test(`${name}: reschedule, reset on 410-style give-back, dead letter`, () =>
    withStore(async (store) => {
      const r = row('a');
      await store.enqueue([r]);
      let [d] = await store.claim({ nodeId: 'n', now: T0, leaseMs: 1000, capacity: cap({ a: 1 }) });
      assert.ok(d);
      await store.settle([settleReq(d, 'n', { state: 'pending', dueAt: T0 + 5000, error: 'HTTP 500' }, { ok: false, httpStatus: 500, retryable: true })]);
      let detail = await store.get(r.id);
      assert.equal(detail?.delivery.state, 'pending');
      assert.equal(detail?.delivery.dueAt, T0 + 5000);
      assert.equal(detail?.delivery.lastError, 'HTTP 500');
      assert.equal(detail?.attempts[0]?.retryable, true);
      assert.equal((await store.claim({ nodeId: 'n', now: T0 + 4999, leaseMs: 1000, capacity: cap({ a: 1 }) })).length, 0);
      [d] = await store.claim({ nodeId: 'n', now: T0 + 5000, leaseMs: 1000, capacity: cap({ a: 1 }) });
      assert.ok(d);
      assert.equal(d.attempts, 1);
      await store.settle([settleReq(d, 'n', { state: 'pending', dueAt: T0 + 5000, resetAttempts: true, error: 'gone' })]);
      assert.equal((await store.get(r.id))?.delivery.attempts, 1, 'a given-back attempt does not use up the schedule');
      [d] = await store.claim({ nodeId: 'n', now: T0 + 6000, leaseMs: 1000, capacity: cap({ a: 1 }) });
      assert.ok(d);
      await store.settle([settleReq(d, 'n', { state: 'failed', error: 'exhausted' }, { ok: false, error: 'exhausted' })]);
      detail = await store.get(r.id);
      assert.equal(detail?.delivery.state, 'failed');
      assert.equal(detail?.delivery.lastError, 'exhausted');
      assert.equal(detail?.attempts.length, 3);
    }));

  test(`${name}: list filters by state and target, newest first; get of an unknown id is undefined`, () =>
    withStore(async (store) => {
      await store.enqueue([row('a', { createdAt: T0 }), row('a', { createdAt: T0 + 1 }), row('b', { createdAt: T0 + 2 })]);
      const [d] = await store.claim({ nodeId: 'n', now: T0 + 10, leaseMs: 1000, capacity: cap({ b: 1 }) });
      assert.ok(d);
      await store.settle([settleReq(d, 'n', { state: 'failed', error: 'x' })]);
      const all = await store.list();
      assert.deepEqual(all.map((x) => x.createdAt), [T0 + 2, T0 + 1, T0]);
      assert.equal((await store.list({ state: 'failed' })).length, 1);
      assert.equal((await store.list({ state: 'pending', target: 'a' })).length, 2);
      assert.equal((await store.list({ target: 'a', limit: 1 }))[0]?.createdAt, T0 + 1);
      assert.equal((await store.list({ before: T0 + 1 })).length, 1);
      assert.equal(await store.get('dlv_nope'), undefined);
    }));

  test(`${name}: list pages newest first by keyset position (after), filtered by target, state, event uuid and creation window`, () =>
    withStore(async (store) => {
      // As the service makes them: created now, each id made at its creation time.
      const base = Date.now() - 10 * 60_000;
      const rows: StoredDeliveryInput[] = [];
      for (let i = 0; i < 30; i++) {
        const createdAt = base + i * 10_000;
        const uuid = `00000000-0000-4000-8000-${String(i % 3).padStart(12, '0')}`;
        const eventJson = JSON.stringify({ id: '1001', uuid, name: 'upload', data: { i } });
        rows.push({ id: newDeliveryId(createdAt), target: i % 2 === 0 ? 'even' : 'odd', eventJson, webhookId: `msg_${randomUUID()}`, dueAt: createdAt, createdAt });
      }
      await store.enqueue(rows);
      const expected = [...rows].reverse().map((r) => r.id);
      const seen: string[] = [];
      let after: DeliveryRecord | undefined;
      for (;;) {
        const page = await store.list({ limit: 7, ...(after === undefined ? {} : { after }) });
        seen.push(...page.map((d) => d.id));
        if (page.length < 7) break;
        after = page.at(-1);
      }
      assert.deepEqual(seen, expected, 'every delivery once, newest first');
      const odd = await store.list({ target: 'odd', limit: 4 });
      assert.deepEqual(odd.map((d) => d.id), expected.filter((_id, k) => k % 2 === 0).slice(0, 4));
      const oddNext = await store.list({ target: 'odd', limit: 4, after: odd.at(-1) as DeliveryRecord });
      assert.deepEqual(oddNext.map((d) => d.id), expected.filter((_id, k) => k % 2 === 0).slice(4, 8));
      const byEvent = await store.list({ eventId: '00000000-0000-4000-8000-000000000001' });
      assert.deepEqual(byEvent.map((d) => (d.event['data'] as { i: number }).i), [28, 25, 22, 19, 16, 13, 10, 7, 4, 1]);
      const window = await store.list({ since: base + 50_000, until: base + 100_001 });
      assert.deepEqual(window.map((d) => d.createdAt), [100, 90, 80, 70, 60, 50].map((s) => base + s * 1000));
      const [claimed] = await store.claim({ nodeId: 'n', now: base + 400_000, leaseMs: 1000, capacity: cap({ even: 1 }) });
      assert.ok(claimed);
      await store.settle([settleReq(claimed, 'n', { state: 'failed', error: 'x' })]);
      const failed = await store.list({ state: 'failed' });
      assert.deepEqual(failed.map((d) => d.id), [claimed.id]);
      assert.deepEqual((await store.list({ state: 'failed', target: 'odd' })).length, 0);
      assert.equal((await store.list({ state: 'pending', target: 'even', since: base + 280_000 })).length, 1, 'only the newest even one (the oldest was claimed)');
    }));

  test(`${name}: countStates counts a target's deliveries per state in a creation window, and only those changed since a time`, () =>
    withStore(async (store) => {
      const base = Date.now() - 60_000;
      const make = (target: string, at: number): StoredDeliveryInput => row(target, { id: newDeliveryId(at), createdAt: at, dueAt: at });
      await store.enqueue([make('t', base), make('t', base + 1000), make('t', base + 2000), make('u', base + 1500), make('t', base + 30_000)]);
      const claimed = await store.claim({ nodeId: 'n', now: base + 40_000, leaseMs: 60_000, capacity: cap({ t: 2 }) });
      assert.equal(claimed.length, 2);
      await store.settle([settleReq(claimed[0] as DeliveryRecord, 'n', { state: 'failed', error: 'x' }, { startedAt: base + 41_000, durationMs: 1 })]);
      assert.deepEqual(await store.countStates({ target: 't', since: base, until: base + 2001 }), { pending: 1, inflight: 1, done: 0, failed: 1 });
      assert.deepEqual(await store.countStates({ target: 't', since: base }), { pending: 2, inflight: 1, done: 0, failed: 1 });
      assert.deepEqual(await store.countStates({ target: 't', since: base, changedSince: base + 41_000 }), { pending: 0, inflight: 0, done: 0, failed: 1 });
      assert.deepEqual(await store.countStates({ target: 'nobody', since: base }), { pending: 0, inflight: 0, done: 0, failed: 0 });
    }));

  test(`${name}: an attempt keeps the request and response headers and body as recorded (the console's attempt view)`, () =>
    withStore(async (store) => {
      await store.enqueue([row('a'), row('a')]);
      const claimed = await store.claim({ nodeId: 'n', now: T0, leaseMs: 1000, capacity: cap({ a: 10 }) });
      const [one, two] = claimed as [DeliveryRecord, DeliveryRecord];
      const requestHeaders = { 'user-agent': 'Hookwork-Webhook/0.1', authorization: '[redacted]', 'webhook-id': 'msg_1' };
      const responseHeaders = { 'content-type': 'text/plain', 'x-multi': 'a, b' };
      await store.settle([
        settleReq(one, 'n', { state: 'done' }, { httpStatus: 200, response: 'ok', requestHeaders, responseHeaders, requestBodyIsEvent: true }),
        settleReq(two, 'n', { state: 'done' }, { httpStatus: 201, requestHeaders, requestBody: 'name=é&x=1', responseHeaders: {} }),
      ]);
      const a = (await store.get(one.id))?.attempts[0];
      assert.deepEqual([a?.requestHeaders, a?.responseHeaders, a?.requestBodyIsEvent, a?.requestBody], [requestHeaders, responseHeaders, true, undefined]);
      const b = (await store.get(two.id))?.attempts[0];
      assert.deepEqual([b?.requestBody, b?.requestBodyIsEvent, b?.responseHeaders], ['name=é&x=1', undefined, {}]);
    }));

  test(`${name}: retry and replay make deliveries pending again with a fresh schedule`, () =>
    withStore(async (store) => {
      const rows = [row('a', { createdAt: T0 }), row('a', { createdAt: T0 + 100 }), row('a', { createdAt: T0 + 200 }), row('b', { createdAt: T0 + 300 })];
      await store.enqueue(rows);
      const claimed = await store.claim({ nodeId: 'n', now: T0 + 1000, leaseMs: 1000, capacity: cap({ a: 10, b: 10 }) });
      await store.settle(claimed.map((d) => settleReq(d, 'n', { state: 'failed', error: 'dead' })));
      assert.equal(await store.retry('dlv_nope', T0), false);
      assert.equal(await store.retry((rows[0] as StoredDeliveryInput).id, T0 + 2000), true);
      const again = await store.get((rows[0] as StoredDeliveryInput).id);
      assert.equal(again?.delivery.state, 'pending');
      assert.equal(again?.delivery.attempts, 0);
      assert.equal(again?.delivery.dueAt, T0 + 2000);
      assert.equal(await store.countReplay({ target: 'a', since: T0 + 100 }), 2);
      let replayed = 0;
      for (;;) {
        const n = await store.replayBatch({ target: 'a', since: T0 + 100, now: T0 + 3000, limit: 1 });
        if (n === 0) break;
        replayed += n;
      }
      assert.equal(replayed, 2);
      assert.equal((await store.list({ target: 'a', state: 'pending' })).length, 3);
      assert.equal((await store.list({ target: 'b', state: 'failed' })).length, 1, 'other targets untouched');
      const c2 = await store.claim({ nodeId: 'n', now: T0 + 3000, leaseMs: 1000, capacity: cap({ a: 10 }) });
      assert.equal(c2.length, 3);
      await store.settle(c2.map((d) => settleReq(d, 'n', { state: 'done' })));
      assert.equal(await store.countReplay({ target: 'a', since: 0, states: ['done'] }), 3);
      assert.equal(await store.replayBatch({ target: 'a', since: 0, states: ['done'], now: T0 + 4000, limit: 10 }), 3);
    }));

  test(`${name}: a target's rotated signing secrets are kept and replaced`, () =>
    withStore(async (store) => {
      assert.ok(store.targetSecrets !== undefined && store.setTargetSecrets !== undefined);
      assert.deepEqual(await store.targetSecrets(), []);
      const first = { target: 'webhook:a', secrets: ['whsec_new'], previous: ['whsec_old1', 'whsec_old2'], previousUntil: T0 + 1000, rotatedAt: T0 };
      await store.setTargetSecrets(first);
      await store.setTargetSecrets({ ...first, target: 'handler:b' });
      const second = { target: 'webhook:a', secrets: ['whsec_newer'], previous: ['whsec_new'], previousUntil: T0 + 5000, rotatedAt: T0 + 10 };
      await store.setTargetSecrets(second);
      assert.deepEqual(await store.targetSecrets(), [{ ...first, target: 'handler:b' }, second]);
    }));

  test(`${name}: a replay window: "until" leaves deliveries created at or after it alone`, () =>
    withStore(async (store) => {
      await store.enqueue([row('a', { createdAt: T0 }), row('a', { createdAt: T0 + 100 }), row('a', { createdAt: T0 + 200 })]);
      const claimed = await store.claim({ nodeId: 'n', now: T0 + 1000, leaseMs: 1000, capacity: cap({ a: 10 }) });
      await store.settle(claimed.map((d) => settleReq(d, 'n', { state: 'failed', error: 'dead' })));
      const window = { target: 'a', since: T0, until: T0 + 200 };
      assert.equal(await store.countReplay(window), 2);
      assert.equal(await store.replayBatch({ ...window, now: T0 + 2000, limit: 10 }), 2);
      assert.equal(await store.replayBatch({ ...window, now: T0 + 2001, limit: 10 }), 0);
      const failed = await store.list({ target: 'a', state: 'failed' });
      assert.deepEqual(failed.map((d) => d.createdAt), [T0 + 200], 'the one created at "until" is not replayed');
    }));

  test(`${name}: a replay bounded by "before" (its start) never picks a delivery it replayed that finished again`, () =>
    withStore(async (store) => {
      await store.enqueue([row('a', { createdAt: T0 }), row('a', { createdAt: T0 })]);
      const first = await store.claim({ nodeId: 'n', now: T0 + 1, leaseMs: 1000, capacity: cap({ a: 10 }) });
      await store.settle(first.map((d) => settleReq(d, 'n', { state: 'done' }))); // updated at T0 + 15
      const start = T0 + 20;
      const replay = { target: 'a', since: 0, states: ['done'] as const, before: start };
      assert.equal(await store.countReplay(replay), 2);
      assert.equal(await store.replayBatch({ ...replay, now: T0 + 30, limit: 1 }), 1);
      // The replayed one is delivered again (done, changed after the replay began) before the next batch.
      const again = await store.claim({ nodeId: 'n', now: T0 + 31, leaseMs: 1000, capacity: cap({ a: 10 }) });
      assert.equal(again.length, 1);
      await store.settle(again.map((d) => settleReq(d, 'n', { state: 'done' }, { startedAt: T0 + 40 })));
      assert.equal(await store.replayBatch({ ...replay, now: T0 + 50, limit: 10 }), 1, 'only the one not replayed yet');
      assert.equal(await store.replayBatch({ ...replay, now: T0 + 60, limit: 10 }), 0, 'and then the replay ends');
    }));

  test(`${name}: retry of a delivery in flight is refused (false) and changes nothing; its node still settles it`, () =>
    withStore(async (store) => {
      const r = row('a');
      const claimedAtEnqueue = row('a', { claim: { nodeId: 'n2', leaseUntil: T0 + 1000 } });
      await store.enqueue([r, claimedAtEnqueue]);
      const [d] = await store.claim({ nodeId: 'n', now: T0, leaseMs: 1000, capacity: cap({ a: 1 }) });
      assert.equal(d?.id, r.id);
      for (const id of [r.id, claimedAtEnqueue.id]) {
        const before = await store.get(id);
        assert.equal(before?.delivery.state, 'inflight');
        assert.equal(await store.retry(id, T0 + 500), false, 'being attempted right now: nothing to retry');
        assert.deepEqual(await store.get(id), before, 'unchanged');
      }
      assert.equal(await store.settle([settleReq(d as DeliveryRecord, 'n', { state: 'done' })]), 1, 'the claim still holds');
      assert.equal((await store.get(r.id))?.delivery.state, 'done');
      assert.equal(await store.retry(r.id, T0 + 600), true, 'once the attempt ended it can be retried');
      assert.equal((await store.get(r.id))?.delivery.state, 'pending');
    }));

  test(`${name}: an attempt keeps its exit code (0 too), HTTP status and a multibyte 4 KiB response as recorded`, () =>
    withStore(async (store) => {
      const rows = [row('cmd'), row('cmd'), row('hook')];
      await store.enqueue(rows);
      const claimed = await store.claim({ nodeId: 'n', now: T0, leaseMs: 1000, capacity: cap({ cmd: 2, hook: 1 }) });
      assert.equal(claimed.length, 3);
      const byId = new Map(claimed.map((d) => [d.id, d]));
      const [r0, r1, r2] = rows as [StoredDeliveryInput, StoredDeliveryInput, StoredDeliveryInput];
      // 2 + 1023 × 4 = 4094 bytes: what the dispatcher keeps of a long emoji answer.
      const response = `ok${'😀'.repeat(1023)}`;
      await store.settle([
        settleReq(byId.get(r0.id) as DeliveryRecord, 'n', { state: 'done' }, { exitCode: 0, response: 'é€😀 done' }),
        settleReq(byId.get(r1.id) as DeliveryRecord, 'n', { state: 'failed', error: 'exit 3' }, { ok: false, exitCode: 3, retryable: false, error: 'exit 3' }),
        settleReq(byId.get(r2.id) as DeliveryRecord, 'n', { state: 'done' }, { httpStatus: 204, response }),
      ]);
      const a0 = (await store.get(r0.id))?.attempts[0];
      assert.equal(a0?.exitCode, 0);
      assert.equal(a0?.httpStatus, undefined);
      assert.equal(a0?.response, 'é€😀 done');
      const a1 = (await store.get(r1.id))?.attempts[0];
      assert.equal(a1?.exitCode, 3);
      assert.equal(a1?.ok, false);
      assert.equal(a1?.retryable, false);
      const a2 = (await store.get(r2.id))?.attempts[0];
      assert.equal(a2?.httpStatus, 204);
      assert.equal(a2?.exitCode, undefined);
      assert.equal(a2?.response, response);
      assert.equal(Buffer.byteLength(a2?.response ?? ''), 4094);
    }));

  test(`${name}: purge removes old finished deliveries in batches and keeps the rest`, () =>
    withStore(async (store) => {
      const rows = Array.from({ length: 5 }, () => row('a'));
      const open = row('a');
      await store.enqueue([...rows, open]);
      const claimed = await store.claim({ nodeId: 'n', now: T0, leaseMs: 1000, capacity: cap({ a: 5 }) });
      assert.equal(claimed.length, 5);
      await store.settle(claimed.map((d, i) => settleReq(d, 'n', i < 3 ? { state: 'done' } : { state: 'failed', error: 'x' })));
      // Finished at T0 + 15: done older than T0 + 100 goes; failed is kept until T0 + 10.
      assert.equal(await store.purge({ doneBefore: T0 + 100, failedBefore: T0 + 10, limit: 2 }), 2);
      assert.equal(await store.purge({ doneBefore: T0 + 100, failedBefore: T0 + 10, limit: 2 }), 1);
      assert.equal(await store.purge({ doneBefore: T0 + 100, failedBefore: T0 + 10, limit: 2 }), 0);
      assert.equal((await store.list({ state: 'failed' })).length, 2);
      assert.equal(await store.purge({ doneBefore: T0 + 100, failedBefore: T0 + 100, limit: 10 }), 2);
      const left = await store.list();
      assert.deepEqual(left.map((d) => d.id), [open.id]);
      const gone = await store.get((claimed[0] as DeliveryRecord).id);
      assert.equal(gone, undefined);
    }));

  test(`${name}: openByTarget counts each target's pending and in-flight deliveries, never its finished ones`, () =>
    withStore(async (store) => {
      assert.ok(store.openByTarget !== undefined, 'the store answers openByTarget');
      const open = async () => [...((await store.openByTarget?.()) ?? [])].sort((x, y) => (x.target < y.target ? -1 : 1));
      assert.deepEqual(await open(), [], 'an empty store');
      await store.enqueue([row('a'), row('a', { dueAt: T0 + 9 }), row('a'), row('b'), row('c'), row('d')]);
      const claimed = await store.claim({ nodeId: 'n', now: T0, leaseMs: 1000, capacity: cap({ a: 1, c: 1, d: 1 }) });
      const of = (target: string) => claimed.find((d) => d.target === target) as DeliveryRecord;
      await store.settle([settleReq(of('c'), 'n', { state: 'done' }), settleReq(of('d'), 'n', { state: 'failed', error: 'gone' })]);
      await store.disableTarget('e', 'HTTP 410', T0);
      // c and d are finished, e has no delivery: none of them is named.
      assert.deepEqual(await open(), [
        { target: 'a', pending: 2, inflight: 1 },
        { target: 'b', pending: 1, inflight: 0 },
      ]);
    }));

  test(`${name}: depth per target and disabled targets`, () =>
    withStore(async (store) => {
      await store.enqueue([row('a', { dueAt: T0 + 7 }), row('a', { dueAt: T0 + 3 }), row('a'), row('b')]);
      const [d] = await store.claim({ nodeId: 'n', now: T0, leaseMs: 1000, capacity: cap({ a: 1 }) });
      assert.ok(d);
      await store.disableTarget('b', 'HTTP 410', T0);
      await store.disableTarget('b', 'again', T0 + 1);
      await store.disableTarget('gone', 'HTTP 410', T0);
      const depth = await store.depthByTarget();
      const a = depth.find((x) => x.target === 'a');
      assert.equal(a?.pending, 2);
      assert.equal(a?.inflight, 1);
      assert.equal(a?.oldestDueAt, T0 + 3);
      assert.equal(a?.disabled, undefined);
      assert.deepEqual(depth.find((x) => x.target === 'b')?.disabled, { at: T0, reason: 'HTTP 410' });
      assert.equal(depth.find((x) => x.target === 'gone')?.pending, 0);
      assert.deepEqual((await store.disabledTargets()).map((x) => x.target), ['b', 'gone']);
      assert.equal(await store.enableTarget('b'), true);
      assert.equal(await store.enableTarget('b'), false);
      assert.deepEqual((await store.disabledTargets()).map((x) => x.target), ['gone']);
    }));

  test(`${name}: concurrent claims from two nodes never hand out the same delivery`, () =>
    withStore(async (store) => {
      const rows = Array.from({ length: 200 }, (_, i) => row('a', { dueAt: T0 + i }));
      await store.enqueue(rows);
      const seen = new Map<string, string>();
      const claimLoop = async (node: string) => {
        for (;;) {
          const got = await store.claim({ nodeId: node, now: T0 + 1000, leaseMs: 60_000, capacity: cap({ a: 7 }) });
          if (got.length === 0) return;
          for (const d of got) {
            assert.equal(seen.has(d.id), false, `${d.id} claimed by ${seen.get(d.id)} and ${node}`);
            seen.set(d.id, node);
          }
          await store.settle(got.map((d) => settleReq(d, node, { state: 'done' })));
        }
      };
      await Promise.all([claimLoop('n1'), claimLoop('n2'), claimLoop('n3')]);
      assert.equal(seen.size, 200);
    }));

  for (const keep of ['full', 'compressed', 'none'] as const) {
    test(`${name}: keep_done_body ${keep}: a done delivery shows ${keep === 'none' ? 'that its body was not kept, and retry and replay refuse it' : 'its event, and retry and replay send it again'}`, () =>
      withStore(async (store) => {
        const eventJson = JSON.stringify({ id: 'upload', data: { path: '/in/report.csv', note: 'x'.repeat(600) } });
        const rows = ['a', 'b', 'c'].map((t) => row(t, { event: undefined, eventJson }));
        await store.enqueue(rows);
        const claimed = await store.claim({ nodeId: 'n1', now: T0, leaseMs: 60_000, capacity: cap({ a: 1, b: 1, c: 1 }) });
        assert.equal(claimed.length, 3);
        const byTarget = new Map(claimed.map((d) => [d.target, d]));
        // a and b done, c still in flight: the shared event keeps its body for c.
        await store.settle(['a', 'b'].map((t) => settleReq(byTarget.get(t) as DeliveryRecord, 'n1', { state: 'done', keepBody: keep }, { httpStatus: 200, response: 'ok' })));
        assert.equal((await store.get((rows[2] as StoredDeliveryInput).id))?.delivery.eventDropped, undefined);
        assert.equal(JSON.stringify((await store.get((rows[2] as StoredDeliveryInput).id))?.delivery.event), eventJson);
        await store.settle([settleReq(byTarget.get('c') as DeliveryRecord, 'n1', { state: 'done', keepBody: keep }, { httpStatus: 200, response: 'ok' })]);
        for (const r of rows) {
          const detail = await store.get(r.id);
          assert.equal(detail?.delivery.state, 'done');
          assert.equal(detail?.attempts.length, 1);
          assert.equal(detail?.attempts[0]?.httpStatus, 200);
          if (keep === 'none') {
            assert.equal(detail?.delivery.eventDropped, true);
            assert.deepEqual(detail?.delivery.event, {});
          } else {
            assert.equal(detail?.delivery.eventDropped, undefined);
            assert.equal(JSON.stringify(detail?.delivery.event), eventJson);
          }
        }
        const listed = await store.list({ state: 'done', target: 'a' });
        assert.equal(listed[0]?.eventDropped, keep === 'none' ? true : undefined);
        const replay = { target: 'b', since: T0, states: ['done'] as const };
        if (keep === 'none') {
          assert.equal(await store.retry((rows[0] as StoredDeliveryInput).id, T0 + 100), false);
          assert.equal((await store.get((rows[0] as StoredDeliveryInput).id))?.delivery.state, 'done');
          assert.equal(await store.countReplay(replay), 0);
          assert.equal(await store.countReplay({ ...replay, withoutBody: true }), 1);
          assert.equal(await store.replayBatch({ ...replay, now: T0 + 100, limit: 10 }), 0);
          return;
        }
        assert.equal(await store.retry((rows[0] as StoredDeliveryInput).id, T0 + 100), true);
        assert.equal(await store.countReplay({ ...replay, withoutBody: true }), 0);
        assert.equal(await store.replayBatch({ ...replay, now: T0 + 100, limit: 10 }), 1);
        const again = await store.claim({ nodeId: 'n1', now: T0 + 200, leaseMs: 60_000, capacity: cap({ a: 5, b: 5, c: 5 }) });
        assert.deepEqual(again.map((d) => d.target).sort(), ['a', 'b']);
        for (const d of again) assert.equal(d.eventJson ?? JSON.stringify(d.event), eventJson);
        // Done again: still readable, and the purge takes the event with the last delivery.
        await store.settle(again.map((d) => settleReq(d, 'n1', { state: 'done', keepBody: keep }, { startedAt: T0 + 300 })));
        assert.equal(JSON.stringify((await store.get((rows[1] as StoredDeliveryInput).id))?.delivery.event), eventJson);
        assert.equal(await store.purge({ doneBefore: T0 + 10_000, failedBefore: T0, limit: 10 }), 3);
      }));
  }

  test(`${name}: keep_done_body none drops nothing a failed delivery of the same event needs`, () =>
    withStore(async (store) => {
      const eventJson = JSON.stringify({ id: 'upload', n: 7 });
      const rows = ['a', 'b'].map((t) => row(t, { event: undefined, eventJson }));
      await store.enqueue(rows);
      const claimed = await store.claim({ nodeId: 'n1', now: T0, leaseMs: 60_000, capacity: cap({ a: 1, b: 1 }) });
      const byTarget = new Map(claimed.map((d) => [d.target, d]));
      await store.settle([
        settleReq(byTarget.get('b') as DeliveryRecord, 'n1', { state: 'failed', error: 'HTTP 500' }, { ok: false }),
        settleReq(byTarget.get('a') as DeliveryRecord, 'n1', { state: 'done', keepBody: 'none' }),
      ]);
      const failed = await store.get((rows[1] as StoredDeliveryInput).id);
      assert.equal(failed?.delivery.eventDropped, undefined);
      assert.equal(JSON.stringify(failed?.delivery.event), eventJson);
      assert.equal(await store.replayBatch({ target: 'b', since: T0, now: T0 + 100, limit: 10 }), 1);
      const again = await store.claim({ nodeId: 'n1', now: T0 + 200, leaseMs: 60_000, capacity: cap({ b: 1 }) });
      assert.equal(again[0]?.eventJson ?? JSON.stringify(again[0]?.event), eventJson);
    }));

  test(`${name}: a schedule tick is claimed once; older ticks are refused; fired ticks and paused state are kept`, () =>
    withStore(async (store) => {
      const claim = (tick: number, nodeId: string, fired = true) => store.claimScheduleTick({ name: 'nightly', tick, nodeId, at: tick + 5, fired });
      assert.deepEqual(await store.scheduleState('nightly'), { name: 'nightly', paused: false });
      assert.equal(await claim(T0, 'n1'), true);
      assert.equal(await claim(T0, 'n2'), false, 'the same tick twice');
      assert.equal(await claim(T0 - 60_000, 'n2'), false, 'a tick older than the newest claimed');
      assert.equal(await claim(T0 + 60_000, 'n2', false), true, 'a newer tick, marked handled without firing');
      // Both nodes at once on the same tick: one wins.
      const both = await Promise.all([claim(T0 + 120_000, 'n1'), claim(T0 + 120_000, 'n2')]);
      assert.equal(both.filter(Boolean).length, 1);
      await store.setSchedulePaused('nightly', true, T0 + 1);
      await store.setSchedulePaused('other', true, T0 + 2);
      await store.setSchedulePaused('other', false, T0 + 3);
      const nightly = await store.scheduleState('nightly');
      assert.equal(nightly.paused, true);
      assert.equal(nightly.changedAt, T0 + 1);
      assert.equal(nightly.lastTick, T0 + 120_000);
      assert.equal(nightly.lastFired?.tick, T0 + 120_000);
      assert.equal(nightly.lastFired?.at, T0 + 120_005);
      assert.deepEqual((await store.scheduleStates()).map((r) => [r.name, r.paused]), [['nightly', true], ['other', false]]);
    }));

  test(`${name}: digest members: a batch takes the oldest up to its limit, removes them and enqueues one delivery of their events`, () =>
    withStore(async (store) => {
      assert.ok(store.collectDigest !== undefined && store.digestHeads !== undefined && store.flushDigest !== undefined);
      const member = (target: string, n: number) => ({ id: `dlv_${randomUUID()}`, target, eventJson: JSON.stringify({ id: '1001', data: { n } }), createdAt: T0 + n });
      await store.collectDigest([member('d', 1), member('d', 2), member('other', 9)]);
      await store.collectDigest([member('d', 3), member('d', 4), member('d', 5)]);
      const heads = (await store.digestHeads()).sort((a, b) => a.target.localeCompare(b.target));
      assert.deepEqual(heads, [{ target: 'd', count: 5, oldestAt: T0 + 1 }, { target: 'other', count: 1, oldestAt: T0 + 9 }]);
      const batch = (id: string) => ({ id, target: 'd', webhookId: `msg_${randomUUID()}`, dueAt: T0, createdAt: T0 + 100 });
      const first = batch(`dlv_${randomUUID()}`);
      assert.equal(await store.flushDigest(first, 3), 3);
      assert.equal(await store.flushDigest(batch(`dlv_${randomUUID()}`), 3), 2);
      assert.equal(await store.flushDigest(batch(`dlv_${randomUUID()}`), 3), 0, 'nothing left: no delivery');
      assert.deepEqual((await store.digestHeads()).map((h) => h.target), ['other']);
      const claimed = await store.claim({ nodeId: 'n1', now: T0 + 200, leaseMs: 1000, capacity: cap({ d: 10 }) });
      assert.equal(claimed.length, 2);
      const events = claimed.map((d) => (JSON.parse(d.eventJson ?? JSON.stringify(d.event)) as Array<{ data: { n: number } }>).map((e) => e.data.n));
      assert.deepEqual(events.sort((a, b) => a.length - b.length), [[4, 5], [1, 2, 3]]);
      assert.equal(claimed.find((d) => d.id === first.id)?.webhookId, first.webhookId);
    }));

  test(`${name}: digest members: a batch whose delivery cannot be written leaves every member in place`, () =>
    withStore(async (store) => {
      if (store.kind === 'memory') return; // nothing to fail part-way: the memory store writes at once
      const taken = row('d');
      await store.enqueue([taken]);
      await store.collectDigest!([1, 2, 3].map((n) => ({ id: `dlv_${randomUUID()}`, target: 'd', eventJson: JSON.stringify({ n }), createdAt: T0 + n })));
      // The delivery id is taken already: the insert fails, so the whole batch must roll back.
      await assert.rejects(store.flushDigest!({ id: taken.id, target: 'd', webhookId: `msg_${randomUUID()}`, dueAt: T0, createdAt: T0 }, 10));
      assert.deepEqual(await store.digestHeads!(), [{ target: 'd', count: 3, oldestAt: T0 + 1 }]);
      assert.equal(await store.flushDigest!({ id: `dlv_${randomUUID()}`, target: 'd', webhookId: `msg_${randomUUID()}`, dueAt: T0, createdAt: T0 }, 10), 3);
    }));

  test(`${name}: idempotency keys: one reservation wins, a done key is held with its event, a released key is free, an abandoned one is taken over with its uuid, expired ones are purged`, () =>
    withStore(async (store) => {
      const claim = (key: string, fingerprint: string, now: number, uuid = `u-${now}`) =>
        store.reserveIdempotencyKey({ key, fingerprint, eventUuid: uuid, eventTime: now, now, expiresAt: now + 60_000, staleBefore: now - 10_000 });
      // Two reservations at once: one wins, the other sees the holder's row.
      const both = await Promise.all([claim('k1', 'fp', T0, 'ua'), claim('k1', 'fp', T0, 'ub')]);
      assert.equal(both.filter((r) => r?.reserved === true).length, 1);
      const winner = both.find((r) => r?.reserved === true)?.record;
      const loser = both.find((r) => r?.reserved !== true)?.record;
      assert.equal(loser?.eventUuid, winner?.eventUuid);
      assert.equal(loser?.state, 'pending');
      await store.completeIdempotencyKey('k1', 'fp');
      const held = await claim('k1', 'other', T0 + 1);
      assert.equal(held?.reserved, false);
      assert.deepEqual(
        { uuid: held?.record.eventUuid, time: held?.record.eventTime, state: held?.record.state, fp: held?.record.fingerprint },
        { uuid: winner?.eventUuid, time: T0, state: 'done', fp: 'fp' },
      );
      // A failed emit releases its key: the next one reserves it.
      assert.equal((await claim('k2', 'fp', T0))?.reserved, true);
      await store.releaseIdempotencyKey('k2', 'fp');
      assert.equal((await claim('k2', 'fp', T0 + 1, 'again'))?.record.eventUuid, 'again');
      // A pending reservation older than staleBefore was abandoned: taken over, keeping its uuid and time.
      const takeover = await claim('k2', 'fp', T0 + 20_000, 'new');
      assert.equal(takeover?.reserved, true);
      assert.equal(takeover?.record.eventUuid, 'again');
      assert.equal(takeover?.record.eventTime, T0 + 1);
      // ...but not with another fingerprint, and release() leaves a done key alone.
      assert.equal((await claim('k2', 'fp2', T0 + 40_000))?.reserved, false);
      await store.releaseIdempotencyKey('k1', 'fp');
      assert.equal((await claim('k1', 'fp', T0 + 2))?.reserved, false);
      // Past its window a key is free (reserved anew, with the new claim's uuid) and purged.
      const expired = await claim('k1', 'fp3', T0 + 61_000, 'fresh');
      assert.equal(expired?.reserved, true);
      assert.equal(expired?.record.eventUuid, 'fresh');
      assert.equal(await store.purgeIdempotencyKeys(T0 + 59_000, 10), 0);
      await store.purgeIdempotencyKeys(T0 + 200_000, 10);
      assert.equal((await claim('k2', 'fp2', T0 + 200_000))?.reserved, true);
      // The purge deletes at most `limit` expired keys per call.
      for (const key of ['k3', 'k4', 'k5']) await claim(key, 'fp', T0 + 300_000);
      assert.equal(await store.purgeIdempotencyKeys(T0 + 400_000, 2), 2);
      // The last of k3-k5 (and k2, unless the store dropped it on its own when it expired).
      assert.ok((await store.purgeIdempotencyKeys(T0 + 400_000, 10)) >= 1);
      assert.equal(await store.purgeIdempotencyKeys(T0 + 400_000, 10), 0);
    }));
}
