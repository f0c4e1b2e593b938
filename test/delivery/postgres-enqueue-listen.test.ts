// A store that listens (a node: wake-ups, the cluster bus) writes its
// enqueues on its LISTEN connection: PostgreSQL hands a session's own NOTIFY
// back to it without signalling another backend, so a group's wake-up for
// the other nodes no longer also wakes this node's listening backend (and its
// socket here) only to be skipped. The other nodes are woken as before; while
// the LISTEN connection is down, enqueues go on the enqueue connection.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { KEEP_FREED_MEMORY, PostgresStore } from '../../src/delivery/postgres-store.js';
import { silentLogger } from '../../src/logger.js';
import { startPostgres, type ThrowawayPostgres } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait-for.js';

let server: ThrowawayPostgres;
before(async () => {
  server = await startPostgres();
});
after(async () => {
  await server?.stop();
});

test('postgres store: a listening store writes its enqueues on its LISTEN connection (its own wake-up comes back there, no other backend woken), the other nodes are still woken, and with LISTEN down they go on the enqueue connection', async () => {
  const url = await server.createDatabase(`enqueue_listen_${process.pid}`);
  const a = new PostgresStore({ url, logger: silentLogger() });
  const b = new PostgresStore({ url, logger: silentLogger() });
  const admin = new pg.Client({ connectionString: url });
  // The backend (pid) each enqueue statement ran on.
  const ran: number[] = [];
  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: InstanceType<typeof pg.Client> & { processID?: number }, ...args: unknown[]) {
    if ((args[0] as { name?: string } | undefined)?.name === 'hookwork_enqueue') ran.push(this.processID ?? -1);
    return (query as (...x: unknown[]) => unknown).apply(this, args);
  } as typeof query;
  try {
    await a.migrate();
    await admin.connect();
    const pidOf = async (name: string): Promise<number[]> =>
      (await admin.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()`, [name])).rows.map((r) => r.pid);
    // a's connections, read while a is the only store connected.
    const [enqueueA] = await pidOf('hookwork-enqueue');
    const wakes = { a: 0, b: 0 };
    a.onWake(() => void (wakes.a += 1));
    const seen: string[] = [];
    (await a.openClusterBus('a')).subscribe('probe', (m) => void seen.push(m.from));
    const [listenA] = await pidOf('hookwork-listen');
    await b.migrate();
    b.onWake(() => void (wakes.b += 1));
    const busB = await b.openClusterBus('b'); // LISTEN is up on both

    for (let g = 0; g < 3; g++) {
      await a.enqueue([{ id: `dlv_l${g}`, target: 't', event: { g }, webhookId: `msg_l${g}`, dueAt: 0, createdAt: 0 }]);
    }
    assert.deepEqual(ran, [listenA, listenA, listenA], 'every group ran on the LISTEN connection');
    await waitFor(() => wakes.b === 3, { what: "b's wake-ups" });
    // Notifications reach a listener in commit order: once a has b's later message, it has had its own wake-ups too.
    await busB.publish('probe');
    await waitFor(() => seen.includes('b'), { what: "b's message on a" });
    assert.equal(wakes.a, 0, 'its own wake-ups came back to it and were skipped');
    assert.equal((await a.list({ limit: 10 })).length, 3);

    // LISTEN cut: the next groups go on the enqueue connection, and still wake b.
    ran.length = 0;
    await admin.query('SELECT pg_terminate_backend($1)', [listenA]);
    await waitFor(async () => (await pidOf('hookwork-listen')).length === 1, { what: "a's LISTEN connection gone" });
    await waitFor(
      async () => {
        try {
          await a.enqueue([{ id: `dlv_w${ran.length}`, target: 't', event: {}, webhookId: `msg_w${ran.length}`, dueAt: 0, createdAt: 0 }]);
          return true;
        } catch {
          return false; // the cut connection's last statement
        }
      },
      { what: 'an enqueue while LISTEN is down' },
    );
    if ((await pidOf('hookwork-listen')).length === 1) assert.equal(ran.at(-1), enqueueA, 'with LISTEN down, on the enqueue connection');
    await waitFor(() => wakes.b === 4, { what: "b's wake-up for it" });
  } finally {
    pg.Client.prototype.query = query;
    await admin.end().catch(() => undefined);
    await a.close();
    await b.close();
  }
});

test('postgres store: each connection that writes enqueues first makes its backend keep the memory a group frees (one large block freed raises glibc\'s trim threshold), the LISTEN one and the enqueue one alike', async () => {
  const url = await server.createDatabase(`keep_memory_${process.pid}`);
  const listening = new PostgresStore({ url, logger: silentLogger() });
  const plain = new PostgresStore({ url, logger: silentLogger() });
  // What each backend (pid) was sent, in order: the setup statement and the enqueues.
  const sent = new Map<number, string[]>();
  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: InstanceType<typeof pg.Client> & { processID?: number }, ...args: unknown[]) {
    const q = args[0] as { name?: string; text?: string } | string | undefined;
    const what = typeof q === 'string' ? q : q?.name === 'hookwork_enqueue' ? 'enqueue' : (q?.text ?? '');
    if (what === KEEP_FREED_MEMORY || what === 'enqueue') sent.set(this.processID ?? -1, [...(sent.get(this.processID ?? -1) ?? []), what === 'enqueue' ? what : 'keep']);
    return (query as (...x: unknown[]) => unknown).apply(this, args);
  } as typeof query;
  try {
    await listening.migrate();
    await plain.migrate();
    await listening.openClusterBus('a'); // its enqueues go on the LISTEN connection
    for (let g = 0; g < 3; g++) {
      await listening.enqueue([{ id: `dlv_a${g}`, target: 't', event: { g }, webhookId: `msg_a${g}`, dueAt: 0, createdAt: 0 }]);
      await plain.enqueue([{ id: `dlv_b${g}`, target: 't', event: { g }, webhookId: `msg_b${g}`, dueAt: 0, createdAt: 0 }]);
    }
    const writers = [...sent.values()].filter((s) => s.includes('enqueue'));
    assert.equal(writers.length, 2, 'two connections wrote enqueues (the LISTEN one, the plain store\'s enqueue one)');
    for (const s of writers) assert.deepEqual(s, ['keep', 'enqueue', 'enqueue', 'enqueue'], 'the setup statement first, once');
    // The statement itself: a 1 MB value made and freed, nothing returned but its length.
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      assert.deepEqual((await admin.query(KEEP_FREED_MEMORY)).rows, [{ kept: 1048576 }]);
    } finally {
      await admin.end();
    }
  } finally {
    pg.Client.prototype.query = query;
    await listening.close();
    await plain.close();
  }
});
