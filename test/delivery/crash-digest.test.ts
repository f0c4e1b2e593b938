// Digests across a kill -9 (real processes, on SQLite and on PostgreSQL with two nodes): every accepted
// event arrives in exactly one batch; a batch sent again after the kill
// carries the same webhook-id (a delivery in flight at the kill), never the
// same event in a second batch.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { test } from 'node:test';
import { startPostgres } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait-for.js';
import { postEvents, startNode, tempConfig, type Node } from './crash-helpers.js';

interface Batch {
  readonly webhookId: string;
  readonly ns: number[];
}

async function startBatchReceiver(): Promise<{ url: string; batches: Batch[]; close(): Promise<void> }> {
  const batches: Batch[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const events = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Array<{ data: { n: number } }>;
      batches.push({ webhookId: String(req.headers['webhook-id']), ns: events.map((e) => e.data.n) });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    batches,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

test('digest: kill -9 between collecting and sending loses no event and puts none in two batches', async () => {
  process.env['DIGEST'] = JSON.stringify({ max_events: 7, within: 0.3 });
  const receiver = await startBatchReceiver();
  const cfg = tempConfig({ store: { url: 'sqlite:hookwork.db' }, delivery: { lease: 5, poll_interval: 0.1, retry_schedule: [0, 0.1, 0.2, 0.5, 1, 1] } });
  let node: Node | undefined;
  try {
    const first = await startNode(cfg.path, receiver.url);
    node = first;
    let killed = false;
    const accepted1 = await postEvents(first.url, 0, 3000, 16, (count) => {
      if (count >= 400 && !killed) {
        killed = true;
        first.child.kill('SIGKILL');
      }
    });
    await first.kill9();
    assert.ok(accepted1.size >= 400 && accepted1.size < 3000, `killed part-way (${accepted1.size} accepted)`);
    node = await startNode(cfg.path, receiver.url);
    const accepted2 = await postEvents(node.url, 10_000, 10_100);
    const all = new Set([...accepted1, ...accepted2]);
    const arrived = (): Set<number> => new Set(receiver.batches.flatMap((b) => b.ns));
    await waitFor(() => [...all].every((n) => arrived().has(n)), { timeoutMs: 60_000, intervalMs: 100, what: 'every accepted event in a batch' });
    const batchesOf = new Map<number, Set<string>>();
    for (const batch of receiver.batches) {
      assert.ok(batch.ns.length >= 1 && batch.ns.length <= 7, `a batch of ${batch.ns.length}`);
      for (const n of batch.ns) batchesOf.set(n, (batchesOf.get(n) ?? new Set()).add(batch.webhookId));
    }
    for (const [n, ids] of batchesOf) assert.equal(ids.size, 1, `event ${n} went out in ${ids.size} different batches`);
    assert.ok(receiver.batches.some((b) => b.ns.length === 7), 'the count bound made full batches');
  } finally {
    delete process.env['DIGEST'];
    await node?.stop();
    await receiver.close();
    cfg.cleanup();
  }
});

test('digest on PostgreSQL: two nodes form batches at once, one is killed -9; every event in exactly one batch', async () => {
  process.env['DIGEST'] = JSON.stringify({ max_events: 5, within: 0.3 });
  const pg = await startPostgres();
  const receiver = await startBatchReceiver();
  const cfg = tempConfig({ store: { url: pg.url }, delivery: { lease: 2, poll_interval: 0.1, retry_schedule: [0, 0.1, 0.2, 0.5, 1, 1] } });
  const nodes: Node[] = [];
  try {
    const a = await startNode(cfg.path, receiver.url, 'node-a');
    nodes.push(a);
    const b = await startNode(cfg.path, receiver.url, 'node-b');
    nodes.push(b);
    let killed = false;
    const [fromA, fromB] = await Promise.all([
      postEvents(a.url, 0, 600, 8),
      postEvents(b.url, 1000, 3000, 8, (count) => {
        if (count >= 300 && !killed) {
          killed = true;
          b.child.kill('SIGKILL');
        }
      }),
    ]);
    await b.kill9();
    const more = await postEvents(a.url, 5000, 5050, 8);
    const all = new Set([...fromA, ...fromB, ...more]);
    const arrived = (): Set<number> => new Set(receiver.batches.flatMap((x) => x.ns));
    await waitFor(() => [...all].every((n) => arrived().has(n)), { timeoutMs: 60_000, intervalMs: 100, what: 'every accepted event in a batch' });
    const batchesOf = new Map<number, Set<string>>();
    for (const batch of receiver.batches) for (const n of batch.ns) batchesOf.set(n, (batchesOf.get(n) ?? new Set()).add(batch.webhookId));
    for (const [n, ids] of batchesOf) assert.equal(ids.size, 1, `event ${n} went out in ${ids.size} different batches`);
  } finally {
    delete process.env['DIGEST'];
    for (const node of nodes) await node.stop();
    await receiver.close();
    cfg.cleanup();
    await pg.stop();
  }
});
