import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { SQLITE_MIGRATIONS } from '../../src/delivery/migrations/sqlite.js';
import { DUE_TARGETS_SQL, SqliteStore } from '../../src/delivery/sqlite-store.js';
import type { DeliveryRecord } from '../../src/delivery/types.js';
import { storeContract } from './store-contract.js';

const LATEST = SQLITE_MIGRATIONS[SQLITE_MIGRATIONS.length - 1]?.version as number;

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'hookwork-sqlite-'));
}

storeContract('sqlite store', async () => {
  const dir = tempDir();
  const store = new SqliteStore({ file: join(dir, 'hookwork.db') });
  return {
    store,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

test('sqlite store: dueTargets seeks each target with open deliveries in the partial indexes, never scans the rows', async () => {
  const dir = tempDir();
  try {
    const store = new SqliteStore({ file: join(dir, 'due.db') });
    await store.migrate();
    await store.close();
    const db = new Database(join(dir, 'due.db'));
    const plan = (db.prepare(`EXPLAIN QUERY PLAN ${DUE_TARGETS_SQL}`).all(0, 0) as Array<{ detail: string }>).map((r) => r.detail);
    db.close();
    const reads = plan.filter((line) => / (d|deliveries)\b/.test(line) && /^(SCAN|SEARCH)/.test(line));
    assert.ok(reads.length >= 6, plan.join(' | '));
    // Each read goes through the pending or in-flight partial index: the first entry, the next target (target>?), its earliest time (target=?).
    for (const line of reads) assert.match(line, /USING COVERING INDEX deliveries_(pending|inflight)\b/, plan.join(' | '));
    for (const index of ['pending', 'inflight']) {
      assert.ok(plan.includes(`SEARCH d USING COVERING INDEX deliveries_${index} (target>?)`), plan.join(' | '));
      assert.ok(plan.includes(`SEARCH d USING COVERING INDEX deliveries_${index} (target=?)`), plan.join(' | '));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sqlite store: an empty file is created and migrated to the latest version, in WAL mode', async () => {
  const dir = tempDir();
  try {
    const store = new SqliteStore({ file: join(dir, 'new.db') });
    assert.equal(store.version, 0);
    await store.migrate();
    assert.equal(store.version, SQLITE_MIGRATIONS[SQLITE_MIGRATIONS.length - 1]?.version);
    await store.migrate(); // idempotent
    await store.close();
    const db = new Database(join(dir, 'new.db'));
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sqlite store: a new file gets 8 KiB pages; a file made with 4 KiB pages keeps them, migrates and takes deliveries', async () => {
  const dir = tempDir();
  try {
    const fresh = new SqliteStore({ file: join(dir, 'new.db') });
    await fresh.migrate();
    await fresh.close();
    const read = (file: string): number => {
      const db = new Database(join(dir, file), { readonly: true });
      try {
        return db.pragma('page_size', { simple: true }) as number;
      } finally {
        db.close();
      }
    };
    assert.equal(read('new.db'), 8192);
    // A file an earlier Hookwork made (SQLite's default 4 KiB pages, WAL, a table written).
    const old = new Database(join(dir, 'old.db'));
    old.pragma('journal_mode = WAL');
    old.exec('CREATE TABLE kept (n INTEGER)');
    old.close();
    assert.equal(read('old.db'), 4096);
    const store = new SqliteStore({ file: join(dir, 'old.db') });
    await store.migrate();
    await store.enqueue([{ id: 'dlv_p1', target: 'a', eventJson: '{"n":1}', webhookId: 'msg_p1', dueAt: 1, createdAt: 1 }]);
    assert.equal((await store.claim({ nodeId: 'n', now: 2, leaseMs: 100, capacity: new Map([['a', 5]]) })).length, 1);
    await store.close();
    assert.equal(read('old.db'), 4096);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sqlite store: a version 1 file (fixture) is upgraded and keeps its deliveries and attempts', async () => {
  const dir = tempDir();
  const file = join(dir, 'v1.db');
  try {
    const db = new Database(file);
    db.exec((await import('./fixtures/sqlite-v1.js')).SQLITE_V1_FIXTURE);
    db.close();
    const store = new SqliteStore({ file });
    assert.equal(store.version, 1);
    await store.migrate();
    assert.equal(store.version, LATEST);
    const detail = await store.get('dlv_v1_failed');
    assert.equal(detail?.delivery.state, 'failed');
    assert.equal(detail?.delivery.webhookId, 'msg_v1');
    assert.deepEqual(detail?.delivery.event, { id: '1001', data: { file: '/a.txt' } });
    assert.equal(detail?.attempts.length, 1);
    assert.equal(detail?.attempts[0]?.httpStatus, 500);
    // The v2 features work on the upgraded file.
    await store.disableTarget('hook', '410', 1);
    assert.equal((await store.depthByTarget()).find((d) => d.target === 'hook')?.disabled?.reason, '410');
    assert.equal(await store.retry('dlv_v1_failed', 5), true);
    const [claimed] = await store.claim({ nodeId: 'n', now: 10, leaseMs: 100, capacity: new Map([['other', 1]]) });
    assert.equal(claimed, undefined);
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A file at schema version 2 (steps 1 and 2, as released), with deliveries in every state written with the v2 columns. */
function writeV2File(file: string): void {
  const db = new Database(file);
  db.exec('BEGIN');
  for (const step of SQLITE_MIGRATIONS.filter((m) => m.version <= 2)) db.exec(step.sql);
  const insert = db.prepare(
    `INSERT INTO deliveries (id, target, event, webhook_id, attempts, state, due_at, created_at, updated_at, last_error, claimed_by, lease_until)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  // Random v4 ids, as v2 made them: an upgraded file keeps them.
  insert.run('dlv_5b1c0a4e-0000-4000-8000-000000000001', 'hook', '{"id":"1","data":{"n":1}}', 'msg_done', 2, 'done', 1, 1, 30, 'HTTP 500', null, 0);
  insert.run('dlv_0a9f2d11-0000-4000-8000-000000000002', 'hook', '{"id":"2","data":{"n":2}}', 'msg_pending', 1, 'pending', 50, 2, 20, 'timeout', null, 0);
  insert.run('dlv_ff00aa22-0000-4000-8000-000000000003', 'hook', '{"id":"3","data":{"n":3}}', 'msg_inflight', 1, 'inflight', 3, 3, 3, null, 'node-old', 100);
  insert.run('dlv_77e0bb33-0000-4000-8000-000000000004', 'other', '{"id":"4","data":{"n":4}}', 'msg_failed', 1, 'failed', 4, 4, 40, 'HTTP 400', null, 0);
  const attempt = db.prepare(
    `INSERT INTO attempts (delivery_id, attempt, started_at, duration_ms, ok, http_status, exit_code, response, error, detail)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  attempt.run('dlv_5b1c0a4e-0000-4000-8000-000000000001', 1, 10, 5, 0, 500, null, 'boom', 'HTTP 500', '{"retryable":true}');
  attempt.run('dlv_0a9f2d11-0000-4000-8000-000000000002', 1, 15, 30000, 0, null, null, null, 'timeout', '{"retryable":true}');
  attempt.run('dlv_5b1c0a4e-0000-4000-8000-000000000001', 2, 25, 5, 1, 200, null, 'ok', null, null);
  attempt.run('dlv_77e0bb33-0000-4000-8000-000000000004', 1, 35, 5, 0, 400, null, 'bad', 'HTTP 400', '{"retryable":false}');
  db.prepare(`INSERT INTO disabled_targets (target, at, reason) VALUES ('other', 41, 'HTTP 410')`).run();
  db.pragma('user_version = 2');
  db.exec('COMMIT');
  db.close();
}

test('sqlite store: a version 2 file is upgraded to version 3 and keeps every delivery, its event and its attempts in order', async () => {
  const dir = tempDir();
  const file = join(dir, 'v2.db');
  try {
    writeV2File(file);
    const store = new SqliteStore({ file });
    assert.equal(store.version, 2);
    await store.migrate();
    assert.equal(store.version, LATEST);
    const done = await store.get('dlv_5b1c0a4e-0000-4000-8000-000000000001');
    assert.equal(done?.delivery.state, 'done');
    assert.equal(done?.delivery.attempts, 2);
    assert.equal(done?.delivery.webhookId, 'msg_done');
    assert.equal(done?.delivery.lastError, 'HTTP 500');
    assert.deepEqual(done?.delivery.event, { id: '1', data: { n: 1 } });
    assert.deepEqual(
      done?.attempts.map((a) => [a.attempt, a.ok, a.httpStatus, a.response, a.error, a.retryable]),
      [
        [1, false, 500, 'boom', 'HTTP 500', true],
        [2, true, 200, 'ok', undefined, undefined],
      ],
    );
    const failed = await store.get('dlv_77e0bb33-0000-4000-8000-000000000004');
    assert.equal(failed?.attempts[0]?.retryable, false);
    assert.deepEqual(failed?.delivery.event, { id: '4', data: { n: 4 } });
    // Newest first, as before the upgrade.
    assert.deepEqual(
      (await store.list()).map((d) => d.webhookId),
      ['msg_failed', 'msg_inflight', 'msg_pending', 'msg_done'],
    );
    assert.deepEqual(
      (await store.depthByTarget()).map((d) => [d.target, d.pending, d.inflight, d.done, d.failed, d.oldestDueAt, d.disabled?.reason]),
      [
        ['hook', 1, 1, 1, 0, 50, undefined],
        ['other', 0, 0, 0, 1, undefined, 'HTTP 410'],
      ],
    );
    // Claims see the pending delivery and the in-flight one whose lease ended; the old node's settle is ignored.
    const claimed = await store.claim({ nodeId: 'n', now: 200, leaseMs: 1000, capacity: new Map([['hook', 5]]) });
    assert.deepEqual(claimed.map((d) => [d.webhookId, d.attempts]).sort(), [['msg_inflight', 1], ['msg_pending', 1]]);
    assert.deepEqual(claimed.find((d) => d.webhookId === 'msg_pending')?.event, { id: '2', data: { n: 2 } });
    const inflight = claimed.find((d) => d.webhookId === 'msg_inflight') as DeliveryRecord;
    const stale = { deliveryId: inflight.id, nodeId: 'node-old', attempt: 1, record: { deliveryId: inflight.id, attempt: 1, startedAt: 201, durationMs: 1, ok: true }, outcome: { state: 'done' as const } };
    const fresh = { ...stale, nodeId: 'n', attempt: 2, record: { ...stale.record, attempt: 2, startedAt: 202 } };
    assert.equal(await store.settle([stale, fresh]), 1);
    const after = await store.get(inflight.id);
    assert.equal(after?.delivery.state, 'done');
    // New attempts come after the upgraded ones.
    assert.deepEqual(after?.attempts.map((a) => a.startedAt), [201, 202]);
    assert.deepEqual((await store.get('dlv_5b1c0a4e-0000-4000-8000-000000000001'))?.attempts.map((a) => a.attempt), [1, 2]);
    // New deliveries live beside the upgraded ones; the retention purge takes old finished ones with their events and attempts.
    await store.enqueue([{ id: 'dlv_new', target: 'hook', event: { id: '5' }, webhookId: 'msg_new', dueAt: 300, createdAt: 300 }]);
    assert.equal(await store.purge({ doneBefore: 100, failedBefore: 100, limit: 10 }), 2);
    assert.equal(await store.get('dlv_5b1c0a4e-0000-4000-8000-000000000001'), undefined);
    assert.equal(await store.get('dlv_77e0bb33-0000-4000-8000-000000000004'), undefined);
    assert.deepEqual((await store.get('dlv_new'))?.delivery.event, { id: '5' });
    await store.close();
    const db = new Database(file);
    assert.equal((db.prepare('SELECT count(*) AS n FROM attempts WHERE delivery_id LIKE ?').get('dlv_5b1c%') as { n: number }).n, 0);
    assert.equal((db.prepare('SELECT count(*) AS n FROM delivery_events').get() as { n: number }).n, 3);
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sqlite store: deliveries of one enqueue with the same event share one event row, purged with the last of them', async () => {
  const dir = tempDir();
  const file = join(dir, 'shared.db');
  try {
    const store = new SqliteStore({ file });
    await store.migrate();
    const event = { id: '1001', data: { path: '/a' } };
    const other = { id: '1002', data: { path: '/b' } };
    const rows = ['a', 'b', 'c'].map((target, i) => ({ id: `dlv_s${i}`, target, event, webhookId: `msg_s${i}`, dueAt: 1, createdAt: 1 }));
    await store.enqueue([...rows, { id: 'dlv_o', target: 'a', event: other, webhookId: 'msg_o', dueAt: 1, createdAt: 1 }]);
    const db = new Database(file, { readonly: true });
    const events = (): number => (db.prepare('SELECT count(*) AS n FROM delivery_events').get() as { n: number }).n;
    assert.equal(events(), 2);
    for (const r of rows) assert.deepEqual((await store.get(r.id))?.delivery.event, event);
    const claimed = await store.claim({ nodeId: 'n', now: 5, leaseMs: 100, capacity: new Map([['a', 5], ['b', 5], ['c', 5]]) });
    assert.equal(claimed.length, 4);
    for (const d of claimed) assert.deepEqual(d.event, d.id === 'dlv_o' ? other : event);
    const settle = (d: DeliveryRecord, at: number) => ({
      deliveryId: d.id,
      nodeId: 'n',
      attempt: 1,
      record: { deliveryId: d.id, attempt: 1, startedAt: at, durationMs: 1, ok: true },
      outcome: { state: 'done' as const },
    });
    // a and b finish early, c and the other event late: purging the early ones keeps the shared event for c.
    assert.equal(await store.settle(claimed.map((d) => settle(d, d.target === 'c' || d.id === 'dlv_o' ? 1000 : 10))), 4);
    assert.equal(await store.purge({ doneBefore: 100, failedBefore: 100, limit: 10 }), 2);
    assert.equal(events(), 2);
    assert.deepEqual((await store.get('dlv_s2'))?.delivery.event, event);
    assert.equal(await store.purge({ doneBefore: 2000, failedBefore: 2000, limit: 10 }), 2);
    assert.equal(events(), 0);
    db.close();
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Counts the statements (run/get/all) whose SQL matches `pattern`, from now until the returned stop(). */
function countStatements(pattern: RegExp): { count: () => number; stop: () => void } {
  const scratch = new Database(':memory:');
  const proto = Object.getPrototypeOf(scratch.prepare('SELECT 1')) as Record<'run' | 'get' | 'all', (...args: unknown[]) => unknown>;
  scratch.close();
  let n = 0;
  const originals = { run: proto.run, get: proto.get, all: proto.all };
  for (const name of ['run', 'get', 'all'] as const) {
    const original = originals[name];
    proto[name] = function (this: { source: string }, ...args: unknown[]) {
      if (pattern.test(this.source)) n++;
      return original.apply(this, args);
    };
  }
  return { count: () => n, stop: () => Object.assign(proto, originals) };
}

test('sqlite store: a settle batch counts down its event\'s live deliveries once per event, and the last done one applies keep_done_body', async () => {
  const dir = tempDir();
  const file = join(dir, 'live.db');
  try {
    const store = new SqliteStore({ file });
    await store.migrate();
    const event = { id: '1001', data: { path: '/a' } };
    // 20 deliveries of one event (one enqueue call of the bench): one event row, live = 20.
    await store.enqueue(Array.from({ length: 20 }, (_, i) => ({ id: `dlv_l${i}`, target: 'a', event, webhookId: `msg_l${i}`, dueAt: 1, createdAt: 1 })));
    const claimed = await store.claim({ nodeId: 'n', now: 5, leaseMs: 100, capacity: new Map([['a', 20]]) });
    assert.equal(claimed.length, 20);
    const settle = (d: DeliveryRecord) => ({
      deliveryId: d.id,
      nodeId: 'n',
      attempt: 1,
      record: { deliveryId: d.id, attempt: 1, startedAt: 10, durationMs: 1, ok: true },
      outcome: { state: 'done' as const, keepBody: 'none' as const },
    });
    const db = new Database(file, { readonly: true });
    const live = (): { live: number; kept: number } => db.prepare('SELECT live, length(event) AS kept FROM delivery_events').get() as { live: number; kept: number };
    const counter = countStatements(/UPDATE (OR FAIL )?delivery_events/);
    let first: number;
    try {
      // 19 done: the body stays (one delivery still open).
      assert.equal(await store.settle(claimed.slice(0, 19).map(settle)), 19);
      first = counter.count();
    } finally {
      counter.stop();
    }
    // One live-count update for the event (it was one per settle).
    assert.equal(first, 1);
    assert.equal(live().live, 1);
    assert.ok(live().kept > 0);
    // The last one brings it to 0: keep_done_body none drops the body.
    assert.equal(await store.settle([settle(claimed[19] as DeliveryRecord)]), 1);
    assert.deepEqual(live(), { live: 0, kept: 0 });
    db.close();
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sqlite store: a file from a newer Hookwork is refused with a clear error', async () => {
  const dir = tempDir();
  const file = join(dir, 'future.db');
  try {
    const db = new Database(file);
    db.pragma('user_version = 99');
    db.close();
    const store = new SqliteStore({ file });
    await assert.rejects(store.migrate(), { code: 'HKW_ERR_DELIVERY_STORE', message: /schema version 99/ });
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sqlite store: a version 3 file is upgraded to version 4, counting each event\'s deliveries not done, and keep_done_body applies to its events', async () => {
  const dir = tempDir();
  const file = join(dir, 'v3.db');
  try {
    const db = new Database(file);
    for (const step of SQLITE_MIGRATIONS.filter((m) => m.version <= 3)) db.exec(step.sql);
    db.pragma('user_version = 3');
    db.exec(`
      INSERT INTO delivery_events (seq, refs, event) VALUES (1, 2, '{"id":"shared"}'), (2, 1, '{"id":"alone"}');
      INSERT INTO deliveries (id, target, event_seq, webhook_id, attempts, state, due_at, created_at, updated_at)
        VALUES ('dlv_a', 'a', 1, 'msg_a', 1, 'done', 1, 1, 2), ('dlv_b', 'b', 1, 'msg_b', 0, 'pending', 1, 1, 1),
               ('dlv_c', 'a', 2, 'msg_c', 1, 'done', 1, 1, 2);
    `);
    db.close();
    const store = new SqliteStore({ file });
    await store.migrate();
    assert.equal(store.version, LATEST);
    const check = new Database(file, { readonly: true });
    assert.deepEqual(check.prepare('SELECT seq, live FROM delivery_events ORDER BY seq').all(), [
      { seq: 1, live: 1 },
      { seq: 2, live: 0 },
    ]);
    check.close();
    assert.deepEqual((await store.get('dlv_a'))?.delivery.event, { id: 'shared' });
    const [b] = await store.claim({ nodeId: 'n', now: 5, leaseMs: 100, capacity: new Map([['b', 1]]) });
    assert.deepEqual(b?.event, { id: 'shared' });
    const settle = {
      deliveryId: 'dlv_b',
      nodeId: 'n',
      attempt: 1,
      record: { deliveryId: 'dlv_b', attempt: 1, startedAt: 6, durationMs: 1, ok: true },
      outcome: { state: 'done' as const, keepBody: 'none' as const },
    };
    assert.equal(await store.settle([settle]), 1);
    // The last delivery of the shared event is done: its body goes; the other event's stays.
    assert.equal((await store.get('dlv_a'))?.delivery.eventDropped, true);
    assert.equal((await store.get('dlv_b'))?.delivery.eventDropped, true);
    assert.deepEqual((await store.get('dlv_c'))?.delivery.event, { id: 'alone' });
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
