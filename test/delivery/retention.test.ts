// Retention: finished deliveries are purged (done after delivery.retention.done,
// failed after delivery.retention.failed), by the service's timer, in small
// batches that yield to dispatch between them.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { deliveryConfigSchema, type DeliveryConfigInput } from '../../src/delivery/config-schema.js';
import { DeliveryService } from '../../src/delivery/service.js';
import { SqliteStore } from '../../src/delivery/sqlite-store.js';
import type { ClaimRequest, PurgeRequest, SettleRequest, StoredDeliveryInput } from '../../src/delivery/store.js';
import type { DeliveryRecord } from '../../src/delivery/types.js';
import { silentLogger } from '../../src/logger.js';
import { waitFor } from '../helpers/wait-for.js';

const DAY = 24 * 3600 * 1000;
const NOW = 1_750_000_000_000;

/** A SQLite store that logs its purge batches and the dispatcher's writes, in order. */
class TracedStore extends SqliteStore {
  readonly log: string[] = [];
  onPurgeBatch: ((batch: number) => void) | undefined;
  #batches = 0;

  override async purge(request: PurgeRequest): Promise<number> {
    const n = await super.purge(request);
    this.#batches += 1;
    this.log.push(`purge ${n}`);
    this.onPurgeBatch?.(this.#batches);
    return n;
  }

  override async enqueue(rows: readonly StoredDeliveryInput[]): Promise<void> {
    await super.enqueue(rows);
    this.log.push(`enqueue ${rows.length}`);
  }

  override async settle(requests: readonly SettleRequest[]): Promise<number> {
    const n = await super.settle(requests);
    if (requests.length > 0) this.log.push(`settle ${requests.length}`);
    return n;
  }

  override async settleAndClaim(settles: readonly SettleRequest[], claim: ClaimRequest | undefined): Promise<DeliveryRecord[]> {
    const out = await super.settleAndClaim(settles, claim);
    if (settles.length > 0) this.log.push(`settle ${settles.length}`);
    return out;
  }
}

function tempStore(t: TestContext): TracedStore {
  const dir = mkdtempSync(join(tmpdir(), 'hookwork-retention-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return new TracedStore({ file: join(dir, 'hookwork.db'), synchronous: 'normal' });
}

function service(store: SqliteStore, config: DeliveryConfigInput, dispatch = true): DeliveryService {
  return new DeliveryService({
    store,
    config: deliveryConfigSchema.parse({ retry_schedule: [0], jitter: 0, poll_interval: 0.05, ...config }),
    nodeId: 'test-node',
    logger: silentLogger(),
    dispatch,
  });
}

/**
 * Writes deliveries through the store API that finished (done or failed) at
 * `finishedAt`: written claimed, then settled by an attempt ending then (a
 * finished delivery's age is counted from its last update).
 */
async function finished(store: SqliteStore, state: 'done' | 'failed', finishedAt: number, ids: readonly string[]): Promise<void> {
  const rows = ids.map((id): StoredDeliveryInput => ({
    id,
    target: 'old',
    event: { id: '1' },
    webhookId: `msg_${id}`,
    dueAt: finishedAt - 10,
    createdAt: finishedAt - 10,
    claim: { nodeId: 'n', leaseUntil: finishedAt + 60_000 },
  }));
  await store.enqueue(rows);
  const applied = await store.settle(
    ids.map((id) => ({
      deliveryId: id,
      nodeId: 'n',
      attempt: 1,
      record: { deliveryId: id, attempt: 1, startedAt: finishedAt - 5, durationMs: 5, ok: state === 'done' },
      outcome: state === 'done' ? { state: 'done' as const } : { state: 'failed' as const, error: 'HTTP 500' },
    })),
  );
  assert.equal(applied, ids.length);
}

async function ids(store: SqliteStore): Promise<string[]> {
  return (await store.list({ limit: 100_000 })).map((d) => d.id).sort();
}

test('retention config: done kept 7 days, failed 30 days, purged every 60 s in batches of 500 by default', () => {
  const c = deliveryConfigSchema.parse({});
  assert.deepEqual(c.retention, { done: 7 * 24 * 3600, failed: 30 * 24 * 3600, interval: 60, batch: 500 });
  // A partial retention keeps the other defaults.
  assert.deepEqual(deliveryConfigSchema.parse({ retention: { done: 3600 } }).retention, { done: 3600, failed: 30 * 24 * 3600, interval: 60, batch: 500 });
  for (const bad of [{ done: 0 }, { failed: -1 }, { interval: 0 }, { batch: 0 }, { batch: 1.5 }]) {
    assert.equal(deliveryConfigSchema.safeParse({ retention: bad }).success, false, JSON.stringify(bad));
  }
});

test('purge(now): done deliveries older than retention.done and failed ones older than retention.failed go (with their attempts); younger and unfinished ones stay', async (t) => {
  const store = tempStore(t);
  const s = service(store, {}, false); // the defaults: 7 d / 30 d
  await s.start();
  try {
    await finished(store, 'done', NOW - 8 * DAY, ['done_8d']);
    await finished(store, 'done', NOW - 7 * DAY - 1, ['done_7d_1ms']);
    await finished(store, 'done', NOW - 7 * DAY, ['done_7d']); // exactly the retention: kept
    await finished(store, 'done', NOW - 6 * DAY, ['done_6d']);
    await finished(store, 'failed', NOW - 31 * DAY, ['failed_31d']);
    await finished(store, 'failed', NOW - 30 * DAY - 1, ['failed_30d_1ms']);
    await finished(store, 'failed', NOW - 30 * DAY, ['failed_30d']);
    await finished(store, 'failed', NOW - 8 * DAY, ['failed_8d']); // past the done retention, not the failed one
    // Unfinished deliveries are never purged, however old.
    await store.enqueue([{ id: 'pending_90d', target: 'old', event: {}, webhookId: 'msg_p', dueAt: NOW - 90 * DAY, createdAt: NOW - 90 * DAY }]);
    await store.enqueue([
      { id: 'inflight_90d', target: 'old', event: {}, webhookId: 'msg_i', dueAt: NOW - 90 * DAY, createdAt: NOW - 90 * DAY, claim: { nodeId: 'n', leaseUntil: NOW - 89 * DAY } },
    ]);

    const purgeable = ['done_8d', 'done_7d_1ms', 'failed_31d', 'failed_30d_1ms'];
    for (const due of purgeable) assert.notEqual(await store.get(due), undefined, `${due} is stored before the purge`);
    assert.equal(await s.purge(NOW), 4);
    assert.deepEqual(await ids(store), ['done_6d', 'done_7d', 'failed_30d', 'failed_8d', 'inflight_90d', 'pending_90d']);
    for (const gone of purgeable) assert.equal(await store.get(gone), undefined, gone);
    assert.equal((await store.get('done_6d'))?.attempts.length, 1, 'a kept delivery keeps its attempts');

    // Nothing more at the same time; a day later the 6-day-old done and the 30-day-old failed ones are due.
    assert.equal(await s.purge(NOW), 0);
    assert.equal(await s.purge(NOW + DAY + 1), 3);
    assert.deepEqual(await ids(store), ['failed_8d', 'inflight_90d', 'pending_90d']);
  } finally {
    await s.close();
  }
});

test('purge(now) honours configured retentions and deletes in batches of retention.batch until nothing is left', async (t) => {
  const store = tempStore(t);
  const s = service(store, { retention: { done: 60, failed: 120, batch: 4 } }, false);
  await s.start();
  try {
    await finished(store, 'done', NOW - 61_000, Array.from({ length: 10 }, (_, i) => `d${i}`));
    await finished(store, 'done', NOW - 59_000, ['d_young']);
    await finished(store, 'failed', NOW - 121_000, ['f_old']);
    await finished(store, 'failed', NOW - 61_000, ['f_young']);
    assert.equal(await s.purge(NOW), 11);
    assert.deepEqual(
      store.log.filter((l) => l.startsWith('purge')),
      ['purge 4', 'purge 4', 'purge 3'],
      'full batches until a short one',
    );
    assert.deepEqual(await ids(store), ['d_young', 'f_young']);
  } finally {
    await s.close();
  }
});

test('the service purges by itself on its retention.interval timer, without a purge() call', async (t) => {
  const store = tempStore(t);
  const now = Date.now();
  await store.migrate();
  await finished(store, 'done', now - 8 * DAY, ['done_old_1', 'done_old_2', 'done_old_3']);
  await finished(store, 'failed', now - 31 * DAY, ['failed_old']);
  await finished(store, 'done', now - 6 * DAY, ['done_young']);
  await finished(store, 'failed', now - 29 * DAY, ['failed_young']);
  const s = service(store, { retention: { interval: 0.01, batch: 2 } });
  await s.start();
  try {
    await waitFor(async () => (await ids(store)).length === 2, { what: 'the timer to purge the old deliveries' });
    assert.deepEqual(await ids(store), ['done_young', 'failed_young']);
    assert.deepEqual(store.log.filter((l) => l.startsWith('purge')).slice(0, 2), ['purge 2', 'purge 2'], 'batches of 2');
  } finally {
    await s.close();
  }
});

test('a purge of many rows never blocks dispatch: a delivery enqueued after its first batch is written, attempted and settled before it ends', async (t) => {
  const store = tempStore(t);
  await store.migrate();
  const OLD = 5_000;
  const BATCH = 50;
  await finished(store, 'done', Date.now() - 8 * DAY, Array.from({ length: OLD }, (_, i) => `old_${i}`));
  store.log.length = 0;
  // A long interval: only the purge() below runs.
  const s = service(store, { retention: { batch: BATCH, interval: 3600 } });
  await s.start();
  try {
    s.registerTarget({
      name: 'fast',
      kind: 'webhook',
      attempt: async () => {
        store.log.push('attempt');
        return { ok: true, httpStatus: 200 };
      },
    });
    let enqueued: Promise<readonly DeliveryRecord[]> | undefined;
    store.onPurgeBatch = (batch) => {
      if (batch === 1) {
        store.log.push('enqueue called');
        enqueued = s.enqueue([{ target: 'fast', event: { id: '1001' } }]);
        void enqueued.then(() => store.log.push('enqueue resolved'));
      }
    };
    const purged = await s.purge();
    store.log.push('purge() returned');
    assert.equal(purged, OLD);

    const log = store.log;
    const at = (entry: string): number => {
      const i = log.indexOf(entry);
      assert.notEqual(i, -1, `${entry} in ${JSON.stringify(log.filter((l) => !l.startsWith('purge ')))}`);
      return i;
    };
    const end = at('purge() returned');
    const batches = log.filter((l) => l.startsWith('purge ')).length;
    assert.equal(batches, OLD / BATCH + 1, 'small batches, then an empty one');
    assert.ok(at('enqueue called') < at('enqueue 1'));
    assert.ok(at('enqueue 1') < at('attempt'));
    assert.ok(at('attempt') < at('settle 1'));
    assert.ok(at('settle 1') < end, 'delivered and settled while the purge was still running');
    assert.ok(at('enqueue resolved') < end);
    // Purge batches ran after the delivery settled: the purge yielded to it instead of finishing first.
    assert.ok(log.slice(at('settle 1'), end).some((l) => l.startsWith('purge ')), 'purge batches after the settle');
    const [record] = (await enqueued) ?? [];
    assert.equal((await store.get(record?.id as string))?.delivery.state, 'done');
    assert.deepEqual(await ids(store), [record?.id]);
  } finally {
    await s.close();
  }
});

test('close() during a long purge stops it between batches and waits for it; neither rejects; purge() after close() rejects', async (t) => {
  const store = tempStore(t);
  await store.migrate();
  await finished(store, 'done', Date.now() - 8 * DAY, Array.from({ length: 500 }, (_, i) => `old_${i}`));
  const s = service(store, { retention: { batch: 10, interval: 3600 } });
  await s.start();
  let closing: Promise<void> | undefined;
  // close() lands while the purge yields between batches 2 and 3.
  store.onPurgeBatch = (batch) => {
    if (batch === 2) setImmediate(() => (closing = s.close()));
  };
  const purged = await s.purge();
  await closing;
  assert.equal(purged, 20, 'stopped after the batch before close()');
  await assert.rejects(s.purge(), { code: 'HKW_ERR_CLOSED' });
  const reopened = new SqliteStore({ file: store.file });
  try {
    await reopened.migrate();
    assert.equal((await reopened.list({ limit: 1000 })).length, 500 - purged);
  } finally {
    await reopened.close();
  }
});
