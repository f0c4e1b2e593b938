// The PostgreSQL LISTEN connection (enqueue wake-ups, cluster bus) comes back
// after the server restarts, and a node that was away gets the cluster
// messages it missed, once each.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import type { ClusterBus } from '../../src/cluster/bus.js';
import { PostgresStore } from '../../src/delivery/postgres-store.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { startPostgres, type ThrowawayPostgres } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait-for.js';

let server: ThrowawayPostgres;
let n = 0;

before(async () => {
  server = await startPostgres();
});
after(async () => {
  await server?.stop();
});

interface Node {
  readonly store: PostgresStore;
  readonly bus: ClusterBus;
  readonly got: string[];
  wakes: number;
}

async function twoNodes(url: string, logger = captureLogger()): Promise<[Node, Node]> {
  const make = async (name: string): Promise<Node> => {
    const store = new PostgresStore({ url, logger });
    await store.migrate();
    const bus = await store.openClusterBus(name);
    const node: Node = { store, bus, got: [], wakes: 0 };
    store.onWake(() => {
      node.wakes += 1;
    });
    bus.subscribe('plugin.load', (m) => void node.got.push(`${m.from}:${String(m.payload['name'])}`));
    return node;
  };
  return [await make('a'), await make('b')];
}

/** Publishes until the store takes it (its pool reconnects on the next query after a restart). */
async function publishSoon(bus: ClusterBus, name: string): Promise<void> {
  await waitFor(
    async () => {
      try {
        await bus.publish('plugin.load', { name });
        return true;
      } catch {
        return false;
      }
    },
    { what: `publishing ${name}` },
  );
}

test('postgres store: after a PostgreSQL restart, a cluster message from one node reaches the other and an enqueue on one wakes the other; lost/back logged once each', async () => {
  const url = await server.createDatabase(`reconnect_${process.pid}_${n++}`);
  const logger = captureLogger();
  const [a, b] = await twoNodes(url, logger);
  try {
    await a.bus.publish('plugin.load', { name: 'before' });
    await waitFor(() => b.got.length === 1, { what: 'the first message' });

    await server.halt();
    await waitFor(() => logger.lines.filter((l) => /LISTEN connection .*lost/.test(l.msg ?? '')).length === 2, { what: 'both nodes noticed' });
    await server.resume();

    await waitFor(() => logger.lines.filter((l) => /LISTEN connection is back/.test(l.msg ?? '')).length === 2, { what: 'both LISTEN connections back' });
    // A synthetic wake-up after the reconnect: enqueues missed meanwhile are claimed.
    assert.ok(b.wakes > 0, 'b was woken after the reconnect');
    await publishSoon(a.bus, 'after');
    await waitFor(() => b.got.includes('a:after'), { what: 'the message after the restart on b' });
    const wakes = b.wakes;
    await a.store.enqueue([{ id: 'dlv_r1', target: 't', event: {}, webhookId: 'msg_r1', dueAt: 0, createdAt: 0 }]);
    await waitFor(() => b.wakes > wakes, { what: 'a wake-up on b' });
    assert.deepEqual(b.got, ['a:before', 'a:after'], 'each message once');
    const transitions = logger.lines.filter((l) => /LISTEN connection/.test(l.msg ?? ''));
    assert.equal(transitions.length, 4, `one lost and one back line per node: ${transitions.map((l) => l.msg).join(' | ')}`);
    assert.ok(transitions.every((l) => l.level === 'warn'));
  } finally {
    await a.store.close();
    await b.store.close();
  }
});

test('postgres store: a node whose LISTEN connection was cut replays the cluster messages published meanwhile, once each', async () => {
  const url = await server.createDatabase(`replay_${process.pid}_${n++}`);
  const [a, b] = await twoNodes(url);
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    // Cut every LISTEN connection (b's and a's) and publish at once, while b reconnects.
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'hookwork-listen' AND datname = current_database()`);
    await publishSoon(a.bus, 'meanwhile-1');
    await publishSoon(a.bus, 'meanwhile-2');
    await waitFor(() => b.got.length === 2, { what: 'both messages on b' });
    await publishSoon(a.bus, 'later');
    await waitFor(() => b.got.length === 3, { what: 'the later message on b' });
    await waitFor(
      async () => (await admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'hookwork-listen' AND datname = current_database()`)).rows[0]?.n === 2,
      { what: 'both LISTEN connections back' },
    );
    await waitFor(() => a.got.length === 3, { what: 'the three messages on a' });
    assert.deepEqual(b.got, ['a:meanwhile-1', 'a:meanwhile-2', 'a:later']);
    assert.deepEqual(a.got, ['a:meanwhile-1', 'a:meanwhile-2', 'a:later'], 'the publisher too, once each');
  } finally {
    await admin.end();
    await a.store.close();
    await b.store.close();
  }
});
