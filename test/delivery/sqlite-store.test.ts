import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { SQLITE_MIGRATIONS } from '../../src/delivery/migrations/sqlite.js';
import { SqliteStore } from '../../src/delivery/sqlite-store.js';
import { storeContract } from './store-contract.js';

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
    assert.equal(store.version, 2);
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
