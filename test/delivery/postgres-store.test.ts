import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { POSTGRES_MIGRATIONS } from '../../src/delivery/migrations/postgres.js';
import { PostgresStore } from '../../src/delivery/postgres-store.js';
import { silentLogger } from '../../src/logger.js';
import { startPostgres, type ThrowawayPostgres } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait-for.js';
import { storeContract } from './store-contract.js';

let pg: ThrowawayPostgres;
let n = 0;

before(async () => {
  pg = await startPostgres();
});
after(async () => {
  await pg?.stop();
});

async function freshStore(): Promise<PostgresStore> {
  const url = await pg.createDatabase(`contract_${process.pid}_${n++}`);
  return new PostgresStore({ url, logger: silentLogger() });
}

storeContract('postgres store', async () => {
  const store = await freshStore();
  return { store, cleanup: () => store.close() };
});

test('postgres store: migrations run once even when several nodes start together', async () => {
  const url = await pg.createDatabase(`migrate_${process.pid}`);
  const stores = Array.from({ length: 4 }, () => new PostgresStore({ url, logger: silentLogger() }));
  try {
    assert.equal(await stores[0]?.version(), 0);
    await Promise.all(stores.map((s) => s.migrate()));
    for (const s of stores) assert.equal(await s.version(), POSTGRES_MIGRATIONS.at(-1)?.version);
  } finally {
    await Promise.all(stores.map((s) => s.close()));
  }
});

test('postgres store: an enqueue on one node wakes the others (NOTIFY)', async () => {
  const url = await pg.createDatabase(`wake_${process.pid}`);
  const a = new PostgresStore({ url, logger: silentLogger() });
  const b = new PostgresStore({ url, logger: silentLogger() });
  try {
    await a.migrate();
    let woken = 0;
    b.onWake(() => {
      woken += 1;
    });
    const bus = await b.openClusterBus('b'); // makes sure LISTEN is up
    assert.equal(bus.shared, true);
    await a.enqueue([{ id: 'dlv_1', target: 't', event: {}, webhookId: 'msg_1', dueAt: 0, createdAt: 0 }]);
    await waitFor(() => woken > 0, { what: 'wake-up' });
  } finally {
    await a.close();
    await b.close();
  }
});

test('postgres store: cluster messages published on one node reach every node, the publisher too', async () => {
  const url = await pg.createDatabase(`cluster_${process.pid}`);
  const stores = [0, 1, 2].map(() => new PostgresStore({ url, logger: silentLogger() }));
  try {
    const buses = await Promise.all(stores.map((s, i) => s.openClusterBus(`node-${i}`)));
    const got: string[][] = [[], [], []];
    buses.forEach((bus, i) => bus.subscribe('plugin.reload', (m) => void got[i]?.push(`${m.from}:${String(m.payload['name'])}`)));
    const all: string[] = [];
    buses[2]?.subscribe('*', (m) => void all.push(m.topic));
    await buses[1]?.publish('plugin.reload', { name: 'audit' });
    await buses[0]?.publish('config.reload');
    await waitFor(() => got.every((g) => g.length === 1) && all.length === 2, { what: 'cluster messages' });
    for (const g of got) assert.deepEqual(g, ['node-1:audit']);
    assert.deepEqual(all.sort(), ['config.reload', 'plugin.reload']);
    await assert.rejects(buses[0]?.publish('big', { blob: 'x'.repeat(9000) }) ?? Promise.resolve(), { code: 'HKW_ERR_DELIVERY_STORE' });
  } finally {
    await Promise.all(stores.map((s) => s.close()));
  }
});

test('postgres store: an unreachable server is a clear store error', async () => {
  const store = new PostgresStore({ url: 'postgres://u:secret@127.0.0.1:1/db', logger: silentLogger() });
  try {
    await assert.rejects(store.migrate(), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'HKW_ERR_DELIVERY_STORE');
      assert.doesNotMatch(err.message, /secret/, 'the password is not in the message');
      return true;
    });
  } finally {
    await store.close();
  }
});
