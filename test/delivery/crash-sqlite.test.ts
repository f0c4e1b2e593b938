// Crash tests with real processes on the embedded SQLite store.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { SqliteStore } from '../../src/delivery/sqlite-store.js';
import { waitFor } from '../helpers/wait-for.js';
import { postEvents, startNode, startReceiver, tempConfig, type Node, type Receiver } from './crash-helpers.js';

const ROOT = new URL('../../', import.meta.url).pathname;

function arrived(receiver: Receiver): Set<number> {
  return new Set(receiver.received.map((r) => r.n));
}

function allArrived(receiver: Receiver, expected: Iterable<number>): boolean {
  const got = arrived(receiver);
  for (const n of expected) if (!got.has(n)) return false;
  return true;
}

test('(a) kill -9 part-way through 5,000 events: after a restart every accepted event arrives; duplicates only from the kill, same webhook-id', async () => {
  const receiver = await startReceiver();
  // A 5 s lease: long enough that a starved CPU (a loaded CI machine) does not
  // expire a lease mid-attempt and send a delivery again whose first outcome
  // is recorded all the same (what this test tells apart from the kill's repeats).
  const cfg = tempConfig({
    store: { url: 'sqlite:hookwork.db' },
    delivery: { lease: 5, poll_interval: 0.1, retry_schedule: [0, 0.1, 0.2, 0.5, 1, 1, 1, 1, 1, 1] },
  });
  let node: Node | undefined;
  try {
    const first = await startNode(cfg.path, receiver.url);
    node = first;
    let killed = false;
    const accepted1 = await postEvents(first.url, 0, 5000, 32, (count) => {
      if (count >= 2000 && !killed) {
        killed = true;
        first.child.kill('SIGKILL');
      }
    });
    await first.kill9();
    assert.ok(accepted1.size >= 2000 && accepted1.size < 5000, `killed part-way (${accepted1.size} accepted)`);
    node = await startNode(cfg.path, receiver.url);
    const accepted2 = await postEvents(node.url, 10_000, 10_000 + (5000 - accepted1.size));
    const all = new Set([...accepted1, ...accepted2]);
    assert.equal(all.size, 5000);
    await waitFor(() => allArrived(receiver, all), { timeoutMs: 60_000, intervalMs: 100, what: 'every accepted event at the receiver' });
    const byN = new Map<number, Set<string>>();
    for (const r of receiver.received) {
      const ids = byN.get(r.n) ?? new Set<string>();
      ids.add(r.webhookId);
      byN.set(r.n, ids);
    }
    for (const [n, ids] of byN) assert.equal(ids.size, 1, `event ${n}: every copy carries the same webhook-id`);
    // Only deliveries in flight at the kill repeat: claimed before it, with no
    // outcome committed (the store counts more claims than it has attempts).
    const repeated = new Set([...byN].filter(([n]) => receiver.received.filter((r) => r.n === n).length > 1).map(([, ids]) => [...ids][0] as string));
    await node.stop();
    node = undefined;
    const store = new SqliteStore({ file: join(cfg.dir, 'data', 'hookwork.db') });
    try {
      await store.migrate();
      const done = await store.list({ state: 'done', limit: 10_000 });
      // Events stored just before the kill whose 202 never reached the client are delivered too.
      assert.ok(done.length >= all.size, `every delivery is done (${done.length})`);
      assert.equal(await store.list({ state: 'pending', limit: 1 }).then((l) => l.length), 0, 'none left pending');
      for (const delivery of done) {
        const detail = await store.get(delivery.id);
        const lostOutcome = (detail?.delivery.attempts ?? 0) > (detail?.attempts.length ?? 0);
        if (repeated.has(delivery.webhookId)) assert.ok(lostOutcome, `${delivery.webhookId} was sent twice although its first outcome was recorded`);
      }
    } finally {
      await store.close();
    }
    assert.ok(repeated.size < accepted1.size / 10, `${repeated.size} repeated: a handful, not a replay of the run`);
  } finally {
    await node?.stop();
    await receiver.close();
    cfg.cleanup();
  }
});

test('(b) the receiver answers 500 for a while, then recovers: everything arrives', async () => {
  const receiver = await startReceiver();
  let failing = true;
  let refused = 0;
  receiver.status = () => {
    if (!failing) return 200;
    refused += 1;
    return 500;
  };
  const cfg = tempConfig({
    store: { url: 'sqlite:hookwork.db' },
    delivery: { poll_interval: 0.1, retry_schedule: [0, 0.1, 0.2, 0.3, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5], circuit_breaker: { failures: 0, cooldown: 1 } },
  });
  let node: Node | undefined;
  try {
    node = await startNode(cfg.path, receiver.url);
    const accepted = await postEvents(node.url, 0, 300);
    assert.equal(accepted.size, 300);
    // Every event fails at least twice (retried), then the receiver recovers.
    await waitFor(() => refused >= 600, { timeoutMs: 30_000, what: 'failed attempts' });
    assert.equal(receiver.received.length, 0);
    failing = false;
    await waitFor(() => allArrived(receiver, accepted), { timeoutMs: 30_000, intervalMs: 50, what: 'all events after recovery' });
  } finally {
    await node?.stop();
    await receiver.close();
    cfg.cleanup();
  }
});

test('(c) the receiver never recovers: dead letters, then a replay (CLI) after the fix delivers them all', async () => {
  const receiver = await startReceiver();
  let fixed = false;
  receiver.status = () => (fixed ? 200 : 503);
  const cfg = tempConfig({
    store: { url: 'sqlite:hookwork.db' },
    delivery: { poll_interval: 0.1, retry_schedule: [0, 0.05, 0.05], circuit_breaker: { failures: 0, cooldown: 1 } },
  });
  let node: Node | undefined;
  try {
    node = await startNode(cfg.path, receiver.url);
    const accepted = await postEvents(node.url, 0, 200);
    const cli = (...args: string[]) =>
      execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'deliveries', ...args, '--config', cfg.path], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, HOOKWORK_LOG_LEVEL: 'silent' },
      });
    await waitFor(
      () => {
        const out = cli('list', '--state', 'failed', '--target', 'handler:receiver', '--limit', '1000', '--json');
        return (JSON.parse(out) as unknown[]).length === accepted.size;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: 'every delivery dead-lettered' },
    );
    assert.equal(receiver.received.length, 0);
    const listed = JSON.parse(cli('list', '--state', 'failed', '--limit', '1', '--json')) as Array<{ id: string }>;
    const shown = cli('show', listed[0]?.id as string);
    assert.match(shown, /attempts \(3\)/);
    assert.match(shown, /http=503/);
    fixed = true;
    const out = cli('replay', '--target', 'handler:receiver', '--since', '1h');
    assert.match(out, new RegExp(`Replayed ${accepted.size} deliveries`));
    await waitFor(() => allArrived(receiver, accepted), { timeoutMs: 30_000, intervalMs: 50, what: 'all events after the replay' });
    const depth = cli('depth');
    assert.match(depth, /handler:receiver {2}pending=0 inflight=0 failed=0/);
  } finally {
    await node?.stop();
    await receiver.close();
    cfg.cleanup();
  }
});
