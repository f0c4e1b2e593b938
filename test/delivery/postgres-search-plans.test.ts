// A delivery search on PostgreSQL reads about a page of deliveries however
// many are stored: every search the console makes (each filter, a time
// window, the next page's cursor) walks an index, never the table. Since
// migration 12 no index holds every delivery in (created_at, id) order (it
// cost every enqueue and every settle an index entry and served this list
// only): the list with no state, target or event filter merges the open
// deliveries' (created_at, id) and the settled ones' (settled_state,
// created_at, id), a page at most from each.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pgDriver from 'pg';
import { POSTGRES_MIGRATIONS } from '../../src/delivery/migrations/postgres.js';
import { PostgresStore } from '../../src/delivery/postgres-store.js';
import type { ListFilter } from '../../src/delivery/store.js';
import type { DeliveryState } from '../../src/delivery/types.js';
import { silentLogger } from '../../src/logger.js';
import { startPostgres, type ThrowawayPostgres } from '../helpers/postgres.js';

const { Client } = pgDriver;

let pg: ThrowawayPostgres;
before(async () => {
  pg = await startPostgres();
});
after(async () => {
  await pg?.stop();
});

interface PlanNode {
  'Node Type'?: string;
  'Index Name'?: string;
  'Relation Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  Plans?: PlanNode[];
}

/** The state of delivery i: a third pending, a third done, a third failed, a few in flight. */
function stateOf(i: number): DeliveryState {
  if (i % 3 === 0) return i % 30 === 0 ? 'inflight' : 'pending';
  return i % 3 === 1 ? 'done' : 'failed';
}

test('postgres store: every delivery search (each filter, a window, a cursor) reads about a page of deliveries through an index, with no scan of the table', async () => {
  const url = await pg.createDatabase(`search_plans_${process.pid}`);
  const store = new PostgresStore({ url, logger: silentLogger() });
  const client = new Client({ connectionString: url });
  const total = 3000;
  const page = 50;
  const targets = ['t', 'u', 'v'];
  // Captured as the store sends them, then explained with their parameters.
  const lists: Array<{ text: string; values: unknown[] }> = [];
  const query = Client.prototype.query;
  try {
    await store.migrate();
    const rows = Array.from({ length: total }, (_, i) => ({
      id: `dlv_${String(i).padStart(5, '0')}`,
      target: targets[i % 3] as string,
      event: { n: i, uuid: `uuid-${i}` },
      webhookId: `msg_${i}`,
      dueAt: i,
      // Pairs share a creation time: the cursor's id breaks the tie.
      createdAt: 1_000 + Math.floor(i / 2),
    }));
    for (let at = 0; at < total; at += 500) await store.enqueue(rows.slice(at, at + 500));
    await client.connect();
    // Settled (and claimed) by hand: the generated columns the indexes use follow state and updated_at.
    await client.query(
      `UPDATE hookwork_deliveries SET state = s.state, updated_at = 5000 FROM unnest($1::text[], $2::text[]) AS s(id, state) WHERE hookwork_deliveries.id = s.id`,
      [rows.map((r) => r.id), rows.map((_, i) => stateOf(i))],
    );
    await client.query(`UPDATE hookwork_deliveries SET event_uuid = 'uuid-' || (substr(id, 5)::int)`);
    await client.query('VACUUM ANALYZE hookwork_deliveries');
    await client.query('ANALYZE');
    Client.prototype.query = function (this: InstanceType<typeof Client>, ...args: unknown[]) {
      const text = typeof args[0] === 'string' ? args[0] : '';
      if (text.includes('FROM hookwork_deliveries d') && text.includes('ORDER BY')) lists.push({ text, values: args[1] as unknown[] });
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof query;
    const cursor = { createdAt: 2_000, id: 'dlv_02000' };
    const filters: ListFilter[] = [
      {},
      { after: cursor },
      { since: 1_200, until: 2_200 },
      { since: 1_200, until: 2_200, after: cursor },
      { target: 'u' },
      { target: 'u', after: cursor },
      { state: 'failed' },
      { state: 'done', after: cursor },
      { state: 'pending' },
      { eventId: 'uuid-2001' },
    ];
    for (const filter of filters) {
      lists.length = 0;
      const got = await store.list({ ...filter, limit: page });
      // The same deliveries, in the same order, as a filter of them all would give.
      const want = rows
        .map((r, i) => ({ ...r, state: stateOf(i), uuid: `uuid-${i}` }))
        .filter((r) => filter.state === undefined || r.state === filter.state)
        .filter((r) => filter.target === undefined || r.target === filter.target)
        .filter((r) => filter.eventId === undefined || r.uuid === filter.eventId)
        .filter((r) => filter.since === undefined || r.createdAt >= filter.since)
        .filter((r) => filter.until === undefined || r.createdAt < filter.until)
        .filter((r) => filter.after === undefined || r.createdAt < filter.after.createdAt || (r.createdAt === filter.after.createdAt && r.id < filter.after.id))
        .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1))
        .slice(0, page)
        .map((r) => r.id);
      assert.deepEqual(
        got.map((d) => d.id),
        want,
        `${JSON.stringify(filter)}: the page`,
      );
      assert.equal(lists.length, 1, `${JSON.stringify(filter)}: one statement`);
      const [sent] = lists;
      Client.prototype.query = query;
      const explained = await client.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${sent?.text}`, sent?.values);
      Client.prototype.query = function (this: InstanceType<typeof Client>, ...args: unknown[]) {
        const text = typeof args[0] === 'string' ? args[0] : '';
        if (text.includes('FROM hookwork_deliveries d') && text.includes('ORDER BY')) lists.push({ text, values: args[1] as unknown[] });
        return (query as (...a: unknown[]) => unknown).apply(this, args);
      } as typeof query;
      const plan = (explained.rows[0]?.['QUERY PLAN'][0] as { Plan: PlanNode }).Plan;
      let read = 0;
      const indexes = new Set<string>();
      const walk = (node: PlanNode): void => {
        if (node['Relation Name'] === 'hookwork_deliveries') {
          assert.notEqual(node['Node Type'], 'Seq Scan', `${JSON.stringify(filter)}: a scan of every delivery`);
          read += node['Actual Rows'] * node['Actual Loops'];
          if (node['Index Name'] !== undefined) indexes.add(node['Index Name']);
        }
        for (const child of node.Plans ?? []) walk(child);
      };
      walk(plan);
      // A page from each range it merges at most (the open deliveries, done, failed), of 3,000.
      assert.ok(read <= 3 * page + 3, `${JSON.stringify(filter)}: read ${read} deliveries for a page of ${page}`);
      if (filter.state === undefined && filter.target === undefined && filter.eventId === undefined) {
        assert.deepEqual([...indexes].sort(), ['hookwork_deliveries_open_created', 'hookwork_deliveries_settled_created'], `${JSON.stringify(filter)}: the indexes`);
      }
    }
  } finally {
    Client.prototype.query = query;
    await client.end().catch(() => undefined);
    await store.close();
  }
});

test('postgres store: a version 11 database is migrated (no (created_at, id) index: one entry fewer per enqueue and per settle) and lists, pages, settles and purges its deliveries as before', async () => {
  const url = await pg.createDatabase(`v11_${process.pid}`);
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    // The schema as the migrations up to version 11 leave it, with deliveries written by that version.
    await client.query('CREATE TABLE hookwork_schema (version integer NOT NULL)');
    for (const step of POSTGRES_MIGRATIONS.filter((m) => m.version <= 11)) {
      await client.query(step.sql);
      await client.query('INSERT INTO hookwork_schema (version) VALUES ($1)', [step.version]);
    }
    await client.query(`INSERT INTO hookwork_events (refs, live, event) VALUES (4, 3, '{"id":"e"}')`);
    await client.query(
      `INSERT INTO hookwork_deliveries (id, target, event_seq, webhook_id, attempts, state, due_at, created_at, updated_at, last_error, claimed_by, lease_until)
       VALUES ('dlv_a', 'a', 1, 'msg_1', 0, 'pending', 10, 1, 1, NULL, NULL, 0),
              ('dlv_b', 'a', 1, 'msg_2', 1, 'inflight', 5, 2, 5, NULL, 'n', 5000),
              ('dlv_c', 'a', 1, 'msg_3', 1, 'done', 1, 3, 20, NULL, NULL, 0),
              ('dlv_d', 'b', 1, 'msg_4', 3, 'failed', 1, 3, 30, 'HTTP 500', NULL, 0)`,
    );
  } finally {
    await client.end();
  }
  const store = new PostgresStore({ url, logger: silentLogger() });
  const check = new Client({ connectionString: url });
  try {
    assert.equal(await store.version(), 11);
    await store.migrate();
    assert.equal(await store.version(), POSTGRES_MIGRATIONS.at(-1)?.version);
    await check.connect();
    const { rows } = await check.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_indexes WHERE indexname = 'hookwork_deliveries_created_id'`);
    assert.equal(rows[0]?.n, 0, 'the (created_at, id) index is gone');
    // Newest first, ties by id, across every state; the cursor pages on.
    assert.deepEqual((await store.list({})).map((d) => d.id), ['dlv_d', 'dlv_c', 'dlv_b', 'dlv_a']);
    assert.deepEqual((await store.list({ limit: 2 })).map((d) => d.id), ['dlv_d', 'dlv_c']);
    assert.deepEqual((await store.list({ limit: 2, after: { createdAt: 3, id: 'dlv_c' } })).map((d) => d.id), ['dlv_b', 'dlv_a']);
    assert.deepEqual((await store.list({ since: 2, until: 3 })).map((d) => [d.id, d.state]), [['dlv_b', 'inflight']]);
    assert.deepEqual((await store.list({}))[0]?.event, { id: 'e' });
    // New deliveries and settles write the remaining indexes; the list keeps up.
    await store.enqueue([{ id: 'dlv_e', target: 'a', eventJson: '{"id":"f"}', webhookId: 'msg_5', dueAt: 4, createdAt: 4 }]);
    const claimed = await store.claim({ nodeId: 'n2', now: 100, leaseMs: 1000, capacity: new Map([['a', 10]]) });
    assert.deepEqual(claimed.map((d) => d.id).sort(), ['dlv_a', 'dlv_e']);
    assert.equal(
      await store.settle(
        claimed.map((d) => ({
          deliveryId: d.id,
          nodeId: 'n2',
          attempt: d.attempts + 1,
          record: { deliveryId: d.id, attempt: d.attempts + 1, startedAt: 100, durationMs: 1, ok: true, httpStatus: 200 },
          outcome: { state: 'done' as const },
        })),
      ),
      2,
    );
    assert.deepEqual((await store.list({})).map((d) => [d.id, d.state]), [['dlv_e', 'done'], ['dlv_d', 'failed'], ['dlv_c', 'done'], ['dlv_b', 'inflight'], ['dlv_a', 'done']]);
    assert.equal(await store.purge({ doneBefore: 1_000, failedBefore: 1_000, limit: 10 }), 4);
    assert.deepEqual((await store.list({})).map((d) => d.id), ['dlv_b']);
  } finally {
    await check.end().catch(() => undefined);
    await store.close();
  }
});
