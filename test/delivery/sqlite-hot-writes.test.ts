// The dispatcher's writes on SQLite (claims and settles, see HOT_WRITES in
// sqlite-store.ts) open no statement journal: a claim of many rows used to
// copy each page it changed into one, spilled to a temp file created and
// unlinked per statement. SQLite puts its temp files in SQLITE_TMPDIR, read
// when it first opens a file in this process, so this file sets it before any
// store opens and watches that folder while claims and settles run.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SqliteStore } from '../../src/delivery/sqlite-store.js';
import type { SettleRequest } from '../../src/delivery/store.js';
import type { DeliveryRecord } from '../../src/delivery/types.js';
import { waitFor } from '../helpers/wait-for.js';

const root = mkdtempSync(join(tmpdir(), 'hookwork-hot-writes-'));
const sqliteTmp = join(root, 'sqlite-tmp');
mkdirSync(sqliteTmp);
process.env['SQLITE_TMPDIR'] = sqliteTmp;

const T0 = 1_700_000_000_000;

function done(d: DeliveryRecord): SettleRequest {
  return {
    deliveryId: d.id,
    nodeId: 'n1',
    attempt: d.attempts + 1,
    record: { deliveryId: d.id, attempt: d.attempts + 1, startedAt: T0 + 5, durationMs: 1, ok: true, httpStatus: 200, response: 'ok' },
    outcome: { state: 'done' },
  };
}

test('sqlite store: claims of many rows (each limit as asked) and their settles write no temp file (no statement journal)', async (t) => {
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const store = new SqliteStore({ file: join(root, 'hot.db') });
  await store.migrate();
  // Each row about a page of its own (a long trace context): a claim of 100 changes well over the 64 KiB a statement journal keeps in memory.
  const trace = `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01,${'x'.repeat(3500)}`;
  const rows = Array.from({ length: 300 }, (_, i) => ({
    id: `dlv_${String(i).padStart(6, '0')}`,
    target: 'a',
    eventJson: JSON.stringify({ n: i }),
    webhookId: `msg_${i}`,
    dueAt: T0,
    createdAt: T0,
    traceContext: trace,
  }));
  await store.enqueue(rows);

  const seen: string[] = [];
  const watcher = watch(sqliteTmp, (_event, name) => seen.push(String(name)));
  try {
    // The same prepared claim with a different limit each time: each limit holds.
    let claimed: DeliveryRecord[] = [];
    for (const capacity of [120, 7, 100, 1]) {
      const got = await store.claim({ nodeId: 'n1', now: T0 + 1, leaseMs: 60_000, capacity: new Map([['a', capacity]]) });
      assert.equal(got.length, capacity);
      claimed = claimed.concat(got);
    }
    // The last 72 come back through the settle-and-claim path.
    const last = await store.settleAndClaim(claimed.map(done), { nodeId: 'n1', now: T0 + 2, leaseMs: 60_000, capacity: new Map([['a', 100]]) });
    assert.equal(last.length, 72);
    assert.equal(await store.settle(last.map(done)), 72);
    assert.deepEqual((await store.list({ state: 'done', limit: 1000 })).length, 300);
    // Folder events come in order: once the marker's is seen, a temp file made before it would have been too.
    writeFileSync(join(sqliteTmp, 'marker'), '');
    await waitFor(() => seen.includes('marker'), 'the marker file is seen');
    assert.deepEqual(seen.filter((name) => name !== 'marker'), [], 'no temp file was created for the claims and settles');
  } finally {
    watcher.close();
    await store.close();
  }
});
