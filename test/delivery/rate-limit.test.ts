// Per-target rate limits: the token bucket itself (on explicit times), one
// node on a SQLite file through the config (a webhook handler and a real
// receiver counting arrivals per wall-clock second), and two dispatchers on
// one PostgreSQL sharing the limit.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { deliveryConfigSchema } from '../../src/delivery/config-schema.js';
import { PostgresStore } from '../../src/delivery/postgres-store.js';
import { createRateLimiter } from '../../src/delivery/rate-limiter.js';
import { DeliveryService } from '../../src/delivery/service.js';
import type { DeliveryTarget } from '../../src/delivery/types.js';
import { silentLogger } from '../../src/logger.js';
import { startPostgres, type ThrowawayPostgres } from '../helpers/postgres.js';
import { testReceiver, type Receiver } from '../helpers/receiver.js';
import { testRuntime } from '../helpers/runtime.js';
import { waitFor } from '../helpers/wait-for.js';

/** Arrivals per wall-clock second (Date.now() / 1000, floored), as the receiver saw them. */
function countArrivals(receiver: Receiver): Map<number, number> {
  const perSecond = new Map<number, number>();
  receiver.respond((_req, res) => {
    const second = Math.floor(Date.now() / 1000);
    perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
    res.writeHead(200).end('ok');
  });
  return perSecond;
}

function busiest(perSecond: Map<number, number>): number {
  return Math.max(0, ...perSecond.values());
}

test('the local token bucket: a full burst at once, then the rate; the next token is due when it refills', () => {
  const limiter = createRateLimiter({ perSecond: 10, burst: 3 }, undefined, () => undefined, () => undefined);
  const t0 = 1_000_000;
  assert.equal(limiter.claimable(t0, 0), 3, 'a new bucket is full');
  assert.equal(limiter.claimable(t0, 2), 1, 'deliveries claimed and not started count against it');
  assert.ok(limiter.take(t0, 3) && limiter.take(t0, 2) && limiter.take(t0, 1));
  assert.equal(limiter.take(t0, 1), false, 'the burst is spent');
  assert.equal(limiter.claimable(t0, 0), 0);
  // 10 a second: one token every 100 ms; asked to look again when half a tenth's worth (1 token) is there.
  assert.equal(limiter.nextAt(t0), t0 + 100);
  assert.equal(limiter.take(t0 + 99, 1), false);
  assert.equal(limiter.take(t0 + 100, 1), true);
  // A long pause refills up to the burst, never more.
  assert.equal(limiter.claimable(t0 + 60_000, 0), 3);
});

test('one node on a SQLite file: a webhook with rate_limit gets at most its rate per second; every delivery waits its turn, none failed, one attempt each', async (t) => {
  const receiver = await testReceiver(t);
  const perSecond = countArrivals(receiver);
  const runtime = await testRuntime(t, {
    events: [{ id: '7', name: 'demo' }],
    ssrf: { allow: ['127.0.0.1/32'] },
    delivery: { poll_interval: 0.05 },
    handlers: [{ type: 'webhook', name: 'slow', url: `${receiver.url}/in`, actions: ['demo'], rate_limit: { per_second: 4, burst: 4 } }],
  });
  assert.equal(runtime.services.delivery?.store.kind, 'sqlite');
  const total = 20;
  for (let i = 0; i < total; i++) await runtime.host.emit('7', { data: { i } });
  await receiver.waitFor(total, 20_000);
  // Any wall-clock second holds at most the burst and one second of refill (4 + 4); unlimited, all 20 land in one.
  assert.ok(busiest(perSecond) <= 8, `arrivals per second: ${JSON.stringify([...perSecond.values()])}`);
  assert.ok(perSecond.size >= 3, `20 deliveries at 4 a second span at least 3 seconds: ${JSON.stringify([...perSecond.values()])}`);
  const delivery = runtime.services.delivery!;
  await waitFor(async () => (await delivery.list({ state: 'done', limit: 100 })).length === total, { what: 'all done' });
  const done = await delivery.list({ state: 'done', limit: 100 });
  assert.deepEqual(new Set(done.map((d) => d.attempts)), new Set([1]), 'waiting for the rate counts no attempt');
  assert.equal((await delivery.list({ state: 'failed' })).length, 0);
});

test('a command handler with rate_limit starts at most its rate per second (each run reports to a real receiver)', async (t) => {
  const receiver = await testReceiver(t);
  const perSecond = countArrivals(receiver);
  const runtime = await testRuntime(t, {
    events: [{ id: '7', name: 'demo' }],
    delivery: { poll_interval: 0.05 },
    handlers: [
      {
        type: 'command',
        name: 'report',
        command: process.execPath,
        args: ['-e', `fetch(${JSON.stringify(`${receiver.url}/run`)}, { method: 'POST' }).then((r) => r.text())`],
        actions: ['demo'],
        concurrency: 4,
        rate_limit: { per_second: 1, burst: 1 },
      },
    ],
  });
  const total = 6;
  await Promise.all(Array.from({ length: total }, (_, i) => runtime.host.emit('7', { data: { i } })));
  await receiver.waitFor(total, 30_000);
  // At most 1 + 1 in any wall-clock second; unlimited, 4 runs at a time report within the same second.
  assert.ok(busiest(perSecond) <= 2, `runs per second: ${JSON.stringify([...perSecond.values()])}`);
  assert.ok(perSecond.size >= 3, `6 runs at 1 a second span at least 3 seconds: ${JSON.stringify([...perSecond.values()])}`);
});

let pg: ThrowawayPostgres;
before(async () => {
  pg = await startPostgres();
});
after(async () => {
  await pg?.stop();
});

test('two dispatchers on one PostgreSQL share the limit: together they stay within it (tolerance: burst + rate x 1.25 s a second)', async (t) => {
  const url = await pg.createDatabase('rate_shared');
  const receiver = await testReceiver(t);
  const perSecond = countArrivals(receiver);
  const config = deliveryConfigSchema.parse({ poll_interval: 0.05, jitter: 0 });
  const nodes = ['node-a', 'node-b'].map(
    (nodeId) => new DeliveryService({ store: new PostgresStore({ url, logger: silentLogger() }), config, nodeId, logger: silentLogger() }),
  );
  t.after(async () => {
    for (const n of nodes) await n.close();
  });
  const attempted = new Map<string, number>();
  for (const node of nodes) {
    await node.start();
    const target: DeliveryTarget = {
      name: 'shared',
      kind: 'webhook',
      concurrency: 8,
      controls: { rateLimit: { perSecond: 4, burst: 4 } },
      async attempt(_d, c) {
        attempted.set(node.nodeId, (attempted.get(node.nodeId) ?? 0) + 1);
        const res = await fetch(`${receiver.url}/in`, { method: 'POST', body: '{}', signal: c.signal });
        await res.text();
        return { ok: res.ok, httpStatus: res.status };
      },
    };
    node.registerTarget(target);
  }
  const total = 24;
  // Half the deliveries enqueued on each node: each would send its share at once, alone.
  await Promise.all(nodes.map((node) => node.enqueue(Array.from({ length: total / 2 }, (_, i) => ({ target: 'shared', event: { id: '7', data: { i } } })))));
  await receiver.waitFor(total, 30_000);
  // Each node on its own bucket would send up to 2 x (4 + 4) in a second; shared, 4 + 4 x 1.25 = 9.
  assert.ok(busiest(perSecond) <= 9, `arrivals per second: ${JSON.stringify([...perSecond.values()])}`);
  assert.ok(perSecond.size >= 3, `spread over seconds: ${JSON.stringify([...perSecond.values()])}`);
  await waitFor(async () => (await nodes[0]!.list({ state: 'done', limit: 100 })).length === total, { what: 'all done' });
  const done = await nodes[0]!.list({ state: 'done', limit: 100 });
  assert.deepEqual(new Set(done.map((d) => d.attempts)), new Set([1]), 'waiting for the rate counts no attempt');
});
