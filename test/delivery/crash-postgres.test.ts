// (d) Two gateway nodes on one PostgreSQL, one killed mid-run — while most of
// the work is still queued: the other takes over and finishes; no delivery is
// ever sent by both at once.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startPostgres } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait-for.js';
import { postEvents, startNode, startReceiver, tempConfig, type Node } from './crash-helpers.js';

const TOTAL = 2000;
/** At the kill, at least this many accepted events must not have arrived yet. */
const PENDING_AT_KILL = 500;
/** The fixture target's concurrency per node (test/delivery/fixtures/crash-node.ts). */
const CONCURRENCY = 16;

test('(d) two nodes on one PostgreSQL, one killed mid-run with most work pending: the other takes over and finishes, nothing delivered by both at once', async (t) => {
  const pg = await startPostgres();
  const receiver = await startReceiver();
  // A slow receiver while the events go in: at most 2 nodes × 16 attempts per
  // 250 ms (~128/s) arrive, so the kill finds most of the work still queued,
  // whatever the speed of the machine. Kept well under the 2 s lease.
  receiver.holdMs = 250;
  const cfg = tempConfig({
    store: { url: pg.url },
    delivery: { lease: 2, poll_interval: 0.1, retry_schedule: [0, 0.1, 0.2, 0.5, 1, 1, 1, 1] },
  });
  const nodes: Node[] = [];
  try {
    const a = await startNode(cfg.path, receiver.url, 'node-a');
    nodes.push(a);
    const b = await startNode(cfg.path, receiver.url, 'node-b');
    nodes.push(b);
    // Events go in through both nodes; both deliver.
    const [fromA, fromB] = await Promise.all([postEvents(a.url, 0, TOTAL / 2, 16), postEvents(b.url, TOTAL / 2, TOTAL, 16)]);
    const accepted = new Set([...fromA, ...fromB]);
    assert.equal(accepted.size, TOTAL);
    await waitFor(() => receiver.received.some((r) => r.node === 'node-b') && receiver.received.length >= 200, { what: 'both nodes at work' });

    // Snapshot and kill in one synchronous step: nothing node-b does after the snapshot is settled.
    const arrivedAtKill = new Set(receiver.received.map((r) => r.n));
    const killedAt = Date.now();
    b.child.kill('SIGKILL');
    await b.kill9();
    receiver.holdMs = 5;
    const pendingAtKill = [...accepted].filter((n) => !arrivedAtKill.has(n));
    const pendingOfB = pendingAtKill.filter((n) => fromB.has(n));
    t.diagnostic(`at the kill: ${arrivedAtKill.size} of ${TOTAL} arrived, ${pendingAtKill.length} pending (${pendingOfB.length} accepted by node-b)`);
    assert.ok(pendingAtKill.length >= PENDING_AT_KILL, `killed mid-run: ${arrivedAtKill.size} of ${TOTAL} had arrived, ${pendingAtKill.length} pending`);
    assert.ok(pendingOfB.length >= PENDING_AT_KILL / 2, `${pendingOfB.length} of the events accepted by node-b were pending at its kill`);

    // node-a delivers everything that had not arrived at the kill, node-b's share included. That
    // includes node-b's requests still on the wire at the kill, which reach the receiver after it:
    // node-b never recorded them, so node-a sends them again once their lease ends.
    const deliveredByA = () => new Set(receiver.received.filter((r) => r.node === 'node-a').map((r) => r.n));
    await waitFor(() => pendingAtKill.every((n) => deliveredByA().has(n)), { timeoutMs: 60_000, intervalMs: 100, what: 'node-a finishes the work' });
    const got = new Set(receiver.received.map((r) => r.n));
    assert.ok([...accepted].every((n) => got.has(n)), 'every accepted event arrived');
    assert.deepEqual(receiver.overlaps, [], 'no webhook-id was ever being delivered twice at the same time');

    const byA = deliveredByA();
    const notByA = pendingAtKill.filter((n) => !byA.has(n));
    assert.deepEqual(notByA, [], 'every delivery pending at the kill was delivered by node-a');
    const takenOver = receiver.received.filter((r) => r.node === 'node-a' && r.at >= killedAt && fromB.has(r.n));
    assert.ok(new Set(takenOver.map((r) => r.n)).size >= pendingOfB.length, 'node-a took over node-b’s pending deliveries');
    // After the kill only node-b's requests already on the wire can still arrive from it.
    const lateFromB = receiver.received.filter((r) => r.node === 'node-b' && r.at >= killedAt).length;
    assert.ok(lateFromB <= CONCURRENCY, `${lateFromB} deliveries from node-b arrived after its kill`);

    const nodesOf = new Map<string, Set<string>>();
    for (const r of receiver.received) {
      const set = nodesOf.get(r.webhookId) ?? new Set<string>();
      set.add(r.node);
      nodesOf.set(r.webhookId, set);
    }
    const both = [...nodesOf.values()].filter((s) => s.size > 1).length;
    // Only what node-b had sent but not yet recorded when it died is sent again, by node-a, after the lease:
    // its running attempts (≤ 16) and those finished since its last store write.
    t.diagnostic(`node-b after its kill: ${lateFromB} arrived; repeated across nodes: ${both}`);
    assert.ok(both <= 2 * CONCURRENCY, `${both} deliveries repeated across nodes`);
  } finally {
    for (const n of nodes) await n.stop();
    await receiver.close();
    cfg.cleanup();
    await pg.stop();
  }
});
