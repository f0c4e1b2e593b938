// (d) Two gateway nodes on one PostgreSQL, one killed mid-run: the other
// finishes; no delivery is ever sent by both at once.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startPostgres } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait-for.js';
import { postEvents, startNode, startReceiver, tempConfig, type Node } from './crash-helpers.js';

test('(d) two nodes on one PostgreSQL, one killed mid-run: the other finishes, nothing delivered by both at once', async () => {
  const pg = await startPostgres();
  const receiver = await startReceiver();
  receiver.holdMs = 5; // keeps requests open long enough to see overlaps if there were any
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
    const [fromA, fromB] = await Promise.all([postEvents(a.url, 0, 1000, 16), postEvents(b.url, 1000, 2000, 16)]);
    const accepted = new Set([...fromA, ...fromB]);
    assert.equal(accepted.size, 2000);
    await waitFor(() => receiver.received.some((r) => r.node === 'node-b') && receiver.received.length >= 200, { what: 'both nodes at work' });
    await b.kill9();
    const got = () => new Set(receiver.received.map((r) => r.n));
    await waitFor(() => [...accepted].every((n) => got().has(n)), { timeoutMs: 60_000, intervalMs: 100, what: 'node-a finishes the work' });
    assert.deepEqual(receiver.overlaps, [], 'no webhook-id was ever being delivered twice at the same time');
    const nodesOf = new Map<string, Set<string>>();
    for (const r of receiver.received) {
      const set = nodesOf.get(r.webhookId) ?? new Set<string>();
      set.add(r.node);
      nodesOf.set(r.webhookId, set);
    }
    const both = [...nodesOf.values()].filter((s) => s.size > 1).length;
    // Only what node-b had in flight when it died is sent again, by node-a, after the lease.
    assert.ok(both <= 16, `${both} deliveries repeated across nodes`);
    assert.ok(receiver.received.some((r) => r.node === 'node-a'));
  } finally {
    for (const n of nodes) await n.stop();
    await receiver.close();
    cfg.cleanup();
    await pg.stop();
  }
});
