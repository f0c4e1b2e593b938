import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pgDriver from 'pg';
import { POSTGRES_MIGRATIONS } from '../../src/delivery/migrations/postgres.js';
import { CLAIM_SQL, DISPATCH_SETTINGS, PostgresStore, SETTLE_SQL, settleParams } from '../../src/delivery/postgres-store.js';
import type { SettleRequest } from '../../src/delivery/store.js';
import type { AttemptRecord, DeliveryState } from '../../src/delivery/types.js';

const { Client } = pgDriver;
import { deliveryConfigSchema } from '../../src/delivery/config-schema.js';
import { DUE_TARGETS_SQL } from '../../src/delivery/postgres-store.js';
import { DeliveryService } from '../../src/delivery/service.js';
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

test('postgres store: a claim reads about as many deliveries as it takes, not the whole backlog (no sort of every pending one), under its generic plan too', async () => {
  const url = await pg.createDatabase(`claim_plan_${process.pid}`);
  const store = new PostgresStore({ url, logger: silentLogger() });
  const client = new Client({ connectionString: url });
  try {
    await store.migrate();
    const backlog = 3000;
    await store.enqueue(Array.from({ length: backlog }, (_, i) => ({ id: `dlv_${i}`, target: 'a', event: { n: i }, webhookId: `msg_${i}`, dueAt: i, createdAt: 0 })));
    await client.connect();
    await client.query('ANALYZE');
    const params = [['a'], [10], backlog, 'n', backlog + 1000];
    await client.query('BEGIN');
    const { rows } = await client.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${CLAIM_SQL}`, params);
    await client.query('ROLLBACK');
    // The store runs it as a named statement with its generic plan (planned once, for any batch): that plan as well.
    const generic = await genericPlan(client, CLAIM_SQL, params);
    for (const [plan, kind] of [[(rows[0]?.['QUERY PLAN'][0] as { Plan: PlanNode }).Plan, 'custom'], [generic, 'generic']] as const) {
      // Rows each plan node produced from the deliveries table (a scan's rows, times its loops).
      const read: number[] = [];
      const walk = (node: PlanNode): void => {
        if (node['Relation Name'] === 'hookwork_deliveries') read.push(node['Actual Rows'] * node['Actual Loops']);
        for (const child of node.Plans ?? []) walk(child);
      };
      walk(plan);
      assert.ok(read.length > 0);
      assert.ok(Math.max(...read) <= 30, `a claim of 10 among ${backlog} due read ${Math.max(...read)} rows in one plan node (${kind} plan)`);
    }
  } finally {
    await client.end().catch(() => undefined);
    await store.close();
  }
});

/**
 * The generic plan of `sql` run with `params` (as the store's named
 * statements run under plan_cache_mode = force_generic_plan), with its
 * actual rows: auto_explain hands it back as a notice. Rolled back.
 */
async function genericPlan(client: InstanceType<typeof Client>, sql: string, params: unknown[]): Promise<PlanNode> {
  const plans: string[] = [];
  const onNotice = (msg: { message?: string }): void => {
    if (msg.message?.includes('plan:') === true) plans.push(msg.message.slice(msg.message.indexOf('{')));
  };
  client.on('notice', onNotice);
  try {
    await client.query(`LOAD 'auto_explain'`);
    for (const set of ['auto_explain.log_min_duration = 0', 'auto_explain.log_analyze = on', 'auto_explain.log_format = json', 'auto_explain.log_level = notice', 'plan_cache_mode = force_generic_plan']) {
      await client.query(`SET ${set}`);
    }
    await client.query('BEGIN');
    await client.query({ name: `generic_${plans.length}_${Math.random().toString(36).slice(2)}`, text: sql, values: params });
    await client.query('ROLLBACK');
    for (const reset of ['auto_explain.log_min_duration', 'plan_cache_mode']) await client.query(`RESET ${reset}`);
  } finally {
    client.off('notice', onNotice);
  }
  assert.equal(plans.length, 1, 'auto_explain gave the plan');
  return (JSON.parse(plans[0] as string) as { Plan: PlanNode }).Plan;
}

test('postgres store: a settle finds its deliveries by primary key, whatever the statistics say of the rows in flight, under its generic plan too', async () => {
  const url = await pg.createDatabase(`settle_plan_${process.pid}`);
  const store = new PostgresStore({ url, logger: silentLogger() });
  const client = new Client({ connectionString: url });
  try {
    await store.migrate();
    // Enough rows that reading them all costs more than looking the batch up.
    const backlog = 20_000;
    await store.enqueue(Array.from({ length: backlog }, (_, i) => ({ id: `dlv_${i}`, target: 'a', event: { n: i }, webhookId: `msg_${i}`, dueAt: i, createdAt: 0 })));
    await client.connect();
    // Statistics from a moment with nothing in flight: they say a state = 'inflight' condition finds (almost) nothing.
    await client.query('ANALYZE');
    const other = await store.claim({ capacity: new Map([['a', 128]]), now: backlog, nodeId: 'n', leaseMs: 60_000 });
    const batch = await store.claim({ capacity: new Map([['a', 64]]), now: backlog, nodeId: 'n', leaseMs: 60_000 });
    assert.equal(other.length + batch.length, 192);
    const requests: SettleRequest[] = batch.map((d) => ({
      deliveryId: d.id,
      nodeId: 'n',
      attempt: d.attempts + 1,
      record: { deliveryId: d.id, attempt: d.attempts + 1, startedAt: backlog, durationMs: 1, ok: true, httpStatus: 200, response: 'ok' },
      outcome: { state: 'done' },
    }));
    await client.query('BEGIN');
    const { rows } = await client.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${SETTLE_SQL}`, settleParams(requests));
    await client.query('ROLLBACK');
    // The store runs it as a named statement with its generic plan (planned once, for any batch): that plan as well.
    const generic = await genericPlan(client, SETTLE_SQL, settleParams(requests));
    for (const [plan, kind] of [[(rows[0]?.['QUERY PLAN'][0] as { Plan: PlanNode }).Plan, 'custom'], [generic, 'generic']] as const) {
      // The scans of hookwork_deliveries (the update's), with their index and the rows they produced over all their loops.
      const scans: Array<{ index: string | undefined; rows: number }> = [];
      let rescans = 0;
      const walk = (node: PlanNode): void => {
        if (node['Relation Name'] === 'hookwork_deliveries' && node['Node Type'] !== 'ModifyTable') {
          // A bitmap heap scan names its index in the bitmap index scan below it.
          const index = node['Index Name'] ?? node.Plans?.find((p) => p['Node Type'] === 'Bitmap Index Scan')?.['Index Name'];
          scans.push({ index, rows: (node['Actual Rows'] + (node['Rows Removed by Filter'] ?? 0)) * node['Actual Loops'] });
        }
        if (node['Node Type'] === 'Function Scan' && node['Actual Loops'] > 1) rescans += node['Actual Loops'];
        for (const child of node.Plans ?? []) walk(child);
      };
      walk(plan);
      assert.ok(scans.length > 0);
      for (const scan of scans) {
        assert.equal(scan.index, 'hookwork_deliveries_pkey', `the settle read hookwork_deliveries through ${scan.index ?? 'no index'} (${kind} plan)`);
        assert.ok(scan.rows <= batch.length, `a settle of ${batch.length} read ${scan.rows} deliveries (${kind} plan)`);
      }
      assert.equal(rescans, 0, `the outcomes were unnested again for each delivery (${kind} plan)`);
    }
    // And it applies: all 64 done, the other claim untouched.
    assert.equal(await store.settle(requests), 64);
  } finally {
    await client.end().catch(() => undefined);
    await store.close();
  }
});

test('postgres store: a settle sends its arrays in the binary format, and what it records reads back as it went (every kind of outcome, odd text, NULLs)', async () => {
  const url = await pg.createDatabase(`binary_settle_${process.pid}`);
  const store = new PostgresStore({ url, logger: silentLogger() });
  try {
    await store.migrate();
    await store.enqueue(Array.from({ length: 5 }, (_, i) => ({ id: `dlv_${i}`, target: 'a', event: { n: i }, webhookId: `msg_${i}`, dueAt: 0, createdAt: 0 })));
    const claimed = await store.claim({ capacity: new Map([['a', 5]]), now: 1, nodeId: 'n "1"', leaseMs: 60_000 });
    assert.equal(claimed.length, 5);
    const odd = 'a"b \\c, {d} NULL é😀';
    const records: AttemptRecord[] = [
      { deliveryId: 'dlv_0', attempt: 1, startedAt: 2 ** 40 + 1, durationMs: 12, ok: true, httpStatus: 200, response: odd, requestHeaders: { 'x-a': odd }, responseHeaders: { 'content-type': 'text/plain' }, requestBodyIsEvent: true },
      { deliveryId: 'dlv_1', attempt: 1, startedAt: 5, durationMs: 0, ok: false, httpStatus: 503, error: odd, retryable: true, retryAfterMs: 1500, requestBody: `{"x":"${odd}"}` },
      { deliveryId: 'dlv_2', attempt: 1, startedAt: 6, durationMs: 7, ok: false, exitCode: -3, error: 'gone', disableTarget: true },
      { deliveryId: 'dlv_3', attempt: 1, startedAt: 8, durationMs: 9, ok: true, exitCode: 0 },
      { deliveryId: 'dlv_4', attempt: 1, startedAt: 10, durationMs: 0, ok: false },
    ];
    const requests: SettleRequest[] = [
      { deliveryId: 'dlv_0', nodeId: 'n "1"', attempt: 1, record: records[0]!, outcome: { state: 'done' } },
      { deliveryId: 'dlv_1', nodeId: 'n "1"', attempt: 1, record: records[1]!, outcome: { state: 'pending', dueAt: 2 ** 41, error: odd } },
      { deliveryId: 'dlv_2', nodeId: 'n "1"', attempt: 1, record: records[2]!, outcome: { state: 'failed', error: odd } },
      { deliveryId: 'dlv_3', nodeId: 'n "1"', attempt: 1, record: records[3]!, outcome: { state: 'done', keepBody: 'none' } },
      { deliveryId: 'dlv_4', nodeId: 'n "1"', attempt: 1, record: records[4]!, outcome: { state: 'pending', dueAt: 3, resetAttempts: true }, unattempted: true },
    ];
    const params = settleParams(requests);
    assert.equal(params.length, 22);
    assert.ok(params.every((p) => Buffer.isBuffer(p)), 'every column goes as a binary array');
    // A duration that is no whole number goes as text, as before (the server judges it).
    assert.ok(Array.isArray(settleParams([{ ...requests[0]!, record: { ...records[0]!, durationMs: 1.5 } }])[3]));
    assert.equal(await store.settle(requests), 5);
    const states = await Promise.all(requests.map(async (r) => (await store.get(r.deliveryId))!));
    assert.deepEqual(
      states.map((d) => ({ state: d.delivery.state, dueAt: d.delivery.dueAt, attempts: d.delivery.attempts, lastError: d.delivery.lastError })),
      [
        { state: 'done', dueAt: 0, attempts: 1, lastError: undefined },
        { state: 'pending', dueAt: 2 ** 41, attempts: 1, lastError: odd },
        { state: 'failed', dueAt: 0, attempts: 1, lastError: odd },
        { state: 'done', dueAt: 0, attempts: 1, lastError: undefined },
        { state: 'pending', dueAt: 3, attempts: 0, lastError: undefined },
      ],
    );
    const attempts = states.map((d) => d.attempts.map((a) => ({ ...a })));
    assert.equal(attempts[4]?.length, 0, 'an unattempted settle records no attempt');
    for (const [i, record] of records.slice(0, 4).entries()) {
      const got = attempts[i]?.[0] as unknown as Record<string, unknown>;
      for (const [key, value] of Object.entries(record)) assert.deepEqual(got[key], value, `${record.deliveryId}.${key}`);
    }
  } finally {
    await store.close();
  }
});

interface PlanNode {
  'Node Type'?: string;
  'Index Name'?: string;
  'Relation Name'?: string;
  'Rows Removed by Filter'?: number;
  'Actual Rows': number;
  'Actual Loops': number;
  Plans?: PlanNode[];
}

test('postgres store: dueTargets reads a few index entries per target with deliveries, not the backlog', async () => {
  const url = await pg.createDatabase(`due_plan_${process.pid}`);
  const store = new PostgresStore({ url, logger: silentLogger() });
  const client = new Client({ connectionString: url });
  try {
    await store.migrate();
    const backlog = 3000;
    // A backlog due now for one target, one due later for another, and 20 targets with one delivery each, done.
    await store.enqueue([
      ...Array.from({ length: backlog }, (_, i) => ({ id: `dlv_d${i}`, target: 'down', event: { n: i }, webhookId: `msg_d${i}`, dueAt: i, createdAt: 0 })),
      ...Array.from({ length: backlog }, (_, i) => ({ id: `dlv_l${i}`, target: 'live', event: { n: i }, webhookId: `msg_l${i}`, dueAt: 10 * backlog + i, createdAt: 0 })),
      ...Array.from({ length: 20 }, (_, i) => ({ id: `dlv_t${i}`, target: `t${i}`, event: { n: i }, webhookId: `msg_t${i}`, dueAt: 0, createdAt: 0 })),
    ]);
    const idle = await store.claim({ nodeId: 'n', now: backlog, leaseMs: 1000, capacity: new Map(Array.from({ length: 20 }, (_, i) => [`t${i}`, 1])) });
    await store.settle(idle.map((d) => ({ deliveryId: d.id, nodeId: 'n', attempt: 1, record: { deliveryId: d.id, attempt: 1, startedAt: backlog, durationMs: 1, ok: true }, outcome: { state: 'done' } })));
    assert.deepEqual(await store.dueTargets(backlog), ['down']);
    await client.connect();
    await client.query('ANALYZE');
    const { rows } = await client.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${DUE_TARGETS_SQL}`, [backlog]);
    let read = 0;
    const walk = (node: PlanNode): void => {
      if (node['Relation Name'] === 'hookwork_deliveries') read += node['Actual Rows'] * node['Actual Loops'];
      for (const child of node.Plans ?? []) walk(child);
    };
    walk((rows[0]?.['QUERY PLAN'][0] as { Plan: PlanNode }).Plan);
    // 22 targets: a handful of index entries each, against 6,020 rows.
    assert.ok(read > 0 && read <= 150, `dueTargets read ${read} rows of ${2 * backlog + 20}`);
  } finally {
    await client.end().catch(() => undefined);
    await store.close();
  }
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

test('postgres store: an enqueue does not wake the store that wrote it (its own NOTIFY is skipped), only the others', async () => {
  const url = await pg.createDatabase(`self_wake_${process.pid}`);
  const a = new PostgresStore({ url, logger: silentLogger() });
  const b = new PostgresStore({ url, logger: silentLogger() });
  try {
    await a.migrate();
    const wakes = { a: 0, b: 0 };
    a.onWake(() => void (wakes.a += 1));
    b.onWake(() => void (wakes.b += 1));
    const busA = await a.openClusterBus('a'); // LISTEN is up on both
    const busB = await b.openClusterBus('b');
    const seen: string[] = [];
    busA.subscribe('probe', (m) => void seen.push(m.from));
    await a.enqueue([{ id: 'dlv_self_1', target: 't', event: {}, webhookId: 'msg_self_1', dueAt: 0, createdAt: 0 }]);
    await waitFor(() => wakes.b > 0, { what: "b's wake-up" });
    // Notifications reach a listener in commit order: once a has b's later message, it has had its own wake-up too, if any.
    await busB.publish('probe');
    await waitFor(() => seen.includes('b'), { what: "b's message on a" });
    assert.equal(wakes.a, 0, 'the writing store is not woken by its own enqueue (the service handed the rows to its dispatcher)');
    assert.equal(wakes.b, 1);
  } finally {
    await a.close();
    await b.close();
  }
});

test('postgres store: each enqueue group is one named statement, so a connection parses and plans it once, not once per group', async () => {
  const url = await pg.createDatabase(`named_enqueue_${process.pid}`);
  const store = new PostgresStore({ url, poolSize: 1, logger: silentLogger() });
  const sent: unknown[] = [];
  const query = Client.prototype.query;
  Client.prototype.query = function (this: InstanceType<typeof Client>, ...args: unknown[]) {
    const first = args[0];
    const text = typeof first === 'string' ? first : (first as { text?: string } | undefined)?.text;
    if (text?.includes('INSERT INTO hookwork_deliveries') === true) sent.push(first);
    return (query as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof query;
  try {
    await store.migrate();
    await store.enqueue([
      { id: 'dlv_1', target: 'a', eventJson: '{"n":1}', webhookId: 'msg_1', dueAt: 5, createdAt: 1 },
      { id: 'dlv_2', target: 'b', eventJson: '{"n":1}', webhookId: 'msg_2', dueAt: 5, createdAt: 1, claim: { nodeId: 'n1', leaseUntil: 99 } },
    ]);
    await store.enqueue([{ id: 'dlv_3', target: 'a', eventJson: '{"n":3}', webhookId: 'msg_3', dueAt: 6, createdAt: 2, traceContext: '00-trace-01' }]);
    await store.enqueue([{ id: 'dlv_4', target: 'a', eventJson: '{"n":"x\\"y"}', webhookId: 'msg_4', dueAt: 7, createdAt: 3 }]);
    // Escapes, non-ASCII and a lone surrogate (written as U+FFFD, as a text parameter's UTF-8 makes it) come back as they went.
    const odd = '{"s":"a\\\\b \\"q\\" \\u0001 é 😀 \ud800"}';
    await store.enqueue([
      { id: 'dlv_5', target: 'a', eventJson: odd, webhookId: 'msg_5', dueAt: 8, createdAt: 4 },
      { id: 'dlv_6', target: 'a', eventJson: '{"n":6}', webhookId: 'msg_6', dueAt: 8, createdAt: 4 },
    ]);
    assert.equal(sent.length, 4);
    for (const config of sent) {
      assert.equal(typeof config, 'object', 'sent as a query config, not bare text');
      assert.equal((config as { name?: string }).name, 'hookwork_enqueue');
    }
    // What the named statement wrote is what the bare one did.
    const rows = await store.list({ limit: 10 });
    const byId = new Map(rows.map((r) => [r.id, r]));
    assert.deepEqual(byId.get('dlv_1')?.event, { n: 1 });
    assert.equal(byId.get('dlv_1')?.state, 'pending');
    assert.equal(byId.get('dlv_2')?.state, 'inflight');
    assert.equal(byId.get('dlv_2')?.attempts, 1);
    assert.equal(byId.get('dlv_3')?.traceContext, '00-trace-01');
    assert.deepEqual(byId.get('dlv_4')?.event, { n: 'x"y' });
    assert.deepEqual(byId.get('dlv_5')?.event, { s: 'a\\b "q" \u0001 é 😀 \ufffd' });
    assert.deepEqual(byId.get('dlv_6')?.event, { n: 6 });
  } finally {
    Client.prototype.query = query;
    await store.close();
  }
});

test('postgres store: enqueues go through one connection of their own (hookwork-enqueue), opened by migrate(), whatever else runs on the pool meanwhile', async () => {
  const url = await pg.createDatabase(`enqueue_conn_${process.pid}`);
  const store = new PostgresStore({ url, logger: silentLogger() });
  const admin = new Client({ connectionString: url });
  const ran = new Set<number>();
  const query = Client.prototype.query;
  Client.prototype.query = function (this: InstanceType<typeof Client> & { processID?: number }, ...args: unknown[]) {
    if ((args[0] as { name?: string } | undefined)?.name === 'hookwork_enqueue') ran.add(this.processID ?? -1);
    return (query as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof query;
  try {
    await store.migrate();
    await admin.connect();
    const named = async () =>
      (await admin.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name = 'hookwork-enqueue' AND datname = current_database()`)).rows.map((r) => r.pid);
    const opened = await named();
    assert.equal(opened.length, 1, 'the enqueue connection is open once migrate() returns');
    // Groups one after another (as the service writes them), each beside reads that keep the pool's connections busy.
    for (let g = 0; g < 6; g++) {
      await Promise.all([
        store.enqueue([{ id: `dlv_c${g}`, target: 't', eventJson: `{"n":${g}}`, webhookId: `msg_c${g}`, dueAt: 0, createdAt: 0 }]),
        ...Array.from({ length: 4 }, () => store.depthByTarget()),
      ]);
    }
    assert.deepEqual([...ran], opened, 'every group ran on that one connection');
  } finally {
    Client.prototype.query = query;
    await admin.end();
    await store.close();
  }
});

test('postgres store: claims and settles are named statements (parsed and planned once a connection) on connections of their own (hookwork-dispatch)', async () => {
  const url = await pg.createDatabase(`dispatch_conn_${process.pid}`);
  const store = new PostgresStore({ url, logger: silentLogger() });
  const admin = new Client({ connectionString: url });
  const ran = new Map<string, Set<number>>();
  const unnamed: string[] = [];
  const settings = new Map<number, string[]>();
  const query = Client.prototype.query;
  Client.prototype.query = function (this: InstanceType<typeof Client> & { processID?: number }, ...args: unknown[]) {
    const q = args[0] as { name?: string; text?: string } | string | undefined;
    const text = typeof q === 'string' ? q : (q?.text ?? '');
    const name = typeof q === 'object' ? q.name : undefined;
    if (name !== undefined) ran.set(name, (ran.get(name) ?? new Set()).add(this.processID ?? -1));
    else if (text.startsWith('SET ')) settings.set(this.processID ?? -1, [...(settings.get(this.processID ?? -1) ?? []), text.slice(4)]);
    else if (text.includes('INSERT INTO hookwork_attempts') || text.includes('FOR UPDATE SKIP LOCKED')) unnamed.push(text.slice(0, 40));
    return (query as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof query;
  try {
    await store.migrate();
    await admin.connect();
    await store.enqueue(Array.from({ length: 40 }, (_, i) => ({ id: `dlv_d${i}`, target: 't', eventJson: `{"n":${i}}`, webhookId: `msg_d${i}`, dueAt: 0, createdAt: 0 })));
    // Batches one after another, as the dispatcher sends them (a claim beside the previous batch's settle).
    let previous: SettleRequest[] = [];
    for (let b = 0; b < 8; b++) {
      const [claimed, settled] = await Promise.all([store.claim({ capacity: new Map([['t', 5]]), now: 1, nodeId: 'n', leaseMs: 60_000 }), store.settle(previous)]);
      assert.equal(claimed.length, 5);
      assert.equal(settled, previous.length);
      previous = claimed.map((d) => ({
        deliveryId: d.id,
        nodeId: 'n',
        attempt: d.attempts + 1,
        record: { deliveryId: d.id, attempt: d.attempts + 1, startedAt: 1, durationMs: 1, ok: true, httpStatus: 200, response: 'ok' },
        outcome: { state: 'done' },
      }));
    }
    assert.equal(await store.settle(previous), 5);
    assert.deepEqual(unnamed, [], 'no claim or settle went as a one-off (unnamed) statement');
    const pids = (await admin.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name = 'hookwork-dispatch' AND datname = current_database()`)).rows.map((r) => r.pid);
    assert.ok(pids.length >= 1 && pids.length <= 2, `${pids.length} claim/settle connections`);
    for (const name of ['hookwork_claim', 'hookwork_settle']) {
      const on = [...(ran.get(name) ?? [])];
      assert.ok(on.length > 0, `${name} ran`);
      for (const pid of on) assert.ok(pids.includes(pid), `${name} ran on ${pid}, not a hookwork-dispatch connection (${pids.join(', ')})`);
    }
    // Those connections run them with their generic plans, never a sequential scan (the plan tests check those plans).
    assert.deepEqual([...settings.keys()].sort(), [...pids].sort(), 'each hookwork-dispatch connection got its settings');
    for (const pid of pids) assert.deepEqual(settings.get(pid), ['plan_cache_mode = force_generic_plan', 'enable_seqscan = off']);
    // All 40 done.
    assert.equal((await store.list({ state: 'done', limit: 100 })).length, 40);
  } finally {
    Client.prototype.query = query;
    await admin.end();
    await store.close();
  }
});

test('postgres store: under the claim/settle connections\' settings, generic plans made while the tables were a page still read by key once they grew (no sequential scan kept)', async () => {
  const url = await pg.createDatabase(`tiny_plans_${process.pid}`);
  const store = new PostgresStore({ url, logger: silentLogger() });
  const client = new Client({ connectionString: url });
  const plans: string[] = [];
  client.on('notice', (msg: { message?: string }) => {
    if (msg.message?.includes('plan:') === true) plans.push(msg.message);
  });
  try {
    await store.migrate();
    await store.enqueue(Array.from({ length: 3 }, (_, i) => ({ id: `t_${i}`, target: 'a', event: { n: i }, webhookId: `m_${i}`, dueAt: 0, createdAt: 0 })));
    await client.connect();
    // A page each, and statistics that say so: what a generic plan made now is planned for.
    await client.query('VACUUM ANALYZE');
    await client.query(`LOAD 'auto_explain'`);
    for (const set of ['auto_explain.log_min_duration = 0', 'auto_explain.log_analyze = on', 'auto_explain.log_level = notice', ...DISPATCH_SETTINGS]) {
      await client.query(`SET ${set}`);
    }
    const claimed = await store.claim({ capacity: new Map([['a', 1]]), now: 1, nodeId: 'n', leaseMs: 60_000 });
    const settle: SettleRequest[] = claimed.map((d) => ({
      deliveryId: d.id,
      nodeId: 'n',
      attempt: d.attempts + 1,
      record: { deliveryId: d.id, attempt: d.attempts + 1, startedAt: 1, durationMs: 1, ok: true, httpStatus: 200, response: 'ok' },
      outcome: { state: 'done' },
    }));
    const run = async (): Promise<void> => {
      await client.query('BEGIN');
      await client.query({ name: 'tiny_claim', text: CLAIM_SQL, values: [['a'], [2], 10, 'n', 1000] });
      await client.query({ name: 'tiny_settle', text: SETTLE_SQL, values: settleParams(settle) });
      await client.query('ROLLBACK');
    };
    await run(); // planned now, while every table is a page
    await store.enqueue(Array.from({ length: 5000 }, (_, i) => ({ id: `g_${i}`, target: 'a', event: { n: i }, webhookId: `mg_${i}`, dueAt: 5, createdAt: 0 })));
    plans.length = 0;
    await run(); // the cached plans, no ANALYZE since
    assert.equal(plans.length, 2, 'auto_explain gave both plans');
    for (const plan of plans) {
      assert.doesNotMatch(plan, /Seq Scan on hookwork_/, `a cached generic plan still reads a table whole:\n${plan}`);
      assert.match(plan, /Index Scan using hookwork_deliveries_pkey|Bitmap Index Scan on hookwork_deliveries_pkey/);
    }
  } finally {
    await client.end().catch(() => undefined);
    await store.close();
  }
});

test('postgres store: an enqueue writes its rows in enqueue order, each with its own event (shared by consecutive rows), under the generic plan too', async () => {
  const url = await pg.createDatabase(`enqueue_order_${process.pid}`);
  const store = new PostgresStore({ url, poolSize: 1, logger: silentLogger() });
  const client = new Client({ connectionString: url });
  try {
    await store.migrate();
    await client.connect();
    const made: Array<{ id: string; event: number }> = [];
    // Eight groups: a named statement is planned generically after its fifth run.
    for (let g = 0; g < 8; g++) {
      const rows = [];
      for (let i = 0; i < 40; i++) {
        // Every third event goes to three targets in a row (one event row, refs 3).
        const event = g * 100 + Math.floor(i / 3);
        const id = `dlv_${String(g).padStart(2, '0')}_${String(i).padStart(3, '0')}`;
        made.push({ id, event });
        rows.push({ id, target: `t${i % 3}`, eventJson: JSON.stringify({ n: event }), webhookId: `msg_${id}`, dueAt: 5, createdAt: 1 });
      }
      await store.enqueue(rows);
    }
    // The order on disk (what ties in due_at are claimed in) is the order enqueued.
    const { rows: onDisk } = await client.query<{ id: string; event: string; refs: number; live: number }>(
      'SELECT d.id, e.event, e.refs, e.live FROM hookwork_deliveries d JOIN hookwork_events e ON e.seq = d.event_seq ORDER BY d.ctid',
    );
    assert.deepEqual(onDisk.map((r) => r.id), made.map((m) => m.id));
    for (const [i, row] of onDisk.entries()) {
      assert.deepEqual(JSON.parse(row.event), { n: made[i]?.event }, `the event of ${row.id}`);
      const sharing = made.filter((m) => m.event === made[i]?.event).length;
      assert.equal(row.refs, sharing);
      assert.equal(row.live, sharing);
    }
    // Events are numbered in enqueue order too, one row per run of equal JSON.
    const { rows: events } = await client.query<{ event: string }>('SELECT event FROM hookwork_events ORDER BY seq');
    assert.deepEqual(events.map((e) => JSON.parse(e.event).n), [...new Set(made.map((m) => m.event))]);
  } finally {
    await client.end();
    await store.close();
  }
});

test('postgres store: an enqueue sends its arrays in the binary format (nothing escaped by the driver, no literal parsed by the server), and writes the same values', async () => {
  const url = await pg.createDatabase(`binary_enqueue_${process.pid}`);
  const store = new PostgresStore({ url, poolSize: 1, logger: silentLogger() });
  const client = new Client({ connectionString: url });
  const sent: unknown[][] = [];
  const query = Client.prototype.query;
  Client.prototype.query = function (this: InstanceType<typeof Client>, ...args: unknown[]) {
    const first = args[0] as { name?: string; values?: unknown[] } | undefined;
    if (first?.name === 'hookwork_enqueue') sent.push(first.values ?? []);
    return (query as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof query;
  try {
    await store.migrate();
    await client.connect();
    // What a text[] literal must escape (quotes, backslashes, commas, braces, the word NULL, blanks), non-ASCII,
    // NULL elements (no trace context, no claim) beside set ones, and bigints past 32 bits, negative and at 2^53 - 1.
    const odd = ['a"b', 'c\\d', 'e,f', '{g}', 'NULL', ' h ', 'é😀', ''];
    const rows = odd.map((text, i) => ({
      id: `dlv_${i}_${text}`,
      target: `t${text}`,
      eventJson: JSON.stringify({ n: i, text }),
      webhookId: `msg_${text}`,
      dueAt: [Number.MAX_SAFE_INTEGER, -5, 0, 2 ** 32, 2 ** 32 - 1, -(2 ** 40) - 3, 1_796_568_322_656, 7][i] as number,
      createdAt: 1_796_568_322_000 + i,
      ...(i % 2 === 0 ? { traceContext: `00-${text}-01` } : {}),
      ...(i % 3 === 0 ? { claim: { nodeId: `node ${text}`, leaseUntil: 2 ** 35 + i } } : {}),
    }));
    await store.enqueue(rows);
    assert.equal(sent.length, 1);
    const values = sent[0] as unknown[];
    // Every array is a Buffer (pg sends those in the binary format); only the wake-up token is text.
    assert.deepEqual(values.map((v) => Buffer.isBuffer(v)), [...Array.from({ length: 12 }, () => true), false]);
    const { rows: got } = await client.query<{ id: string; target: string; webhook_id: string; due_at: string; created_at: string; trace_context: string | null; claimed_by: string | null; lease_until: string; event: string }>(
      'SELECT d.id, d.target, d.webhook_id, d.due_at, d.created_at, d.trace_context, d.claimed_by, d.lease_until, e.event FROM hookwork_deliveries d JOIN hookwork_events e ON e.seq = d.event_seq ORDER BY d.ctid',
    );
    assert.deepEqual(
      got.map((r) => ({ ...r, due_at: Number(r.due_at), created_at: Number(r.created_at), lease_until: Number(r.lease_until), event: JSON.parse(r.event) as unknown })),
      rows.map((r) => ({
        id: r.id,
        target: r.target,
        webhook_id: r.webhookId,
        due_at: r.dueAt,
        created_at: r.createdAt,
        trace_context: r.traceContext ?? null,
        claimed_by: r.claim?.nodeId ?? null,
        lease_until: r.claim?.leaseUntil ?? 0,
        event: JSON.parse(r.eventJson) as unknown,
      })),
    );
    // A due time that is no whole number goes as text, as every one did before: the server refuses it as it did, and nothing is written.
    await assert.rejects(store.enqueue([{ id: 'dlv_frac', target: 't', eventJson: '{}', webhookId: 'msg_frac', dueAt: 1.5, createdAt: 1 }]), /bigint/);
    assert.equal(Array.isArray(sent[1]?.[4]), true, 'the due times went as an array of numbers');
    const { rows: count } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM hookwork_deliveries WHERE id = 'dlv_frac'`);
    assert.equal(count[0]?.n, 0);
  } finally {
    Client.prototype.query = query;
    await client.end();
    await store.close();
  }
});

test('postgres store: a delivery another node enqueues for an idle target among 1,000 is claimed here on its NOTIFY (no poll), by a claim naming only that target', async () => {
  const url = await pg.createDatabase(`idle_wake_${process.pid}`);
  const ours = new PostgresStore({ url, logger: silentLogger() });
  const other = new PostgresStore({ url, logger: silentLogger() });
  const asked: number[] = [];
  const claim = ours.claim.bind(ours);
  ours.claim = (request) => {
    asked.push(request.capacity.size);
    return claim(request);
  };
  let scans = 0;
  const dueTargets = ours.dueTargets.bind(ours);
  ours.dueTargets = (now) => {
    scans++;
    return dueTargets(now);
  };
  // A poll far longer than the test: only the other node's NOTIFY can make this node look.
  const service = new DeliveryService({ store: ours, config: deliveryConfigSchema.parse({ poll_interval: 600 }), nodeId: 'ours', logger: silentLogger() });
  try {
    await other.migrate();
    await service.start();
    const delivered: string[] = [];
    for (let i = 0; i < 1000; i++) service.registerTarget({ name: `t${i}`, kind: 'webhook', attempt: async (d) => (delivered.push(d.target), { ok: true }) });
    await ours.openClusterBus('ours'); // LISTEN is up
    await waitFor(() => scans + asked.length > 0, 'a first look for work');
    await other.enqueue([{ id: 'dlv_other', target: 't500', event: { n: 1 }, webhookId: 'msg_other', dueAt: Date.now(), createdAt: Date.now() }]);
    await waitFor(() => delivered.includes('t500'), 'the other node’s delivery');
    assert.ok(Math.max(...asked) <= 1, `no claim asked about the idle targets (largest: ${Math.max(...asked)} of 1,000)`);
  } finally {
    await service.close();
    await ours.close();
    await other.close();
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

test('postgres store: a version 2 database is upgraded (through version 3, events once): each event once, existing deliveries readable, claimable and purgeable', async () => {
  const url = await pg.createDatabase(`v2_${process.pid}`);
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    // The schema as the migrations up to version 2 leave it, with deliveries written by that version.
    await client.query('CREATE TABLE hookwork_schema (version integer NOT NULL)');
    for (const step of POSTGRES_MIGRATIONS.filter((m) => m.version <= 2)) {
      await client.query(step.sql);
      await client.query('INSERT INTO hookwork_schema (version) VALUES ($1)', [step.version]);
    }
    await client.query(
      `INSERT INTO hookwork_deliveries (id, target, event, webhook_id, attempts, state, due_at, created_at, updated_at, last_error)
       VALUES ('dlv_a', 'a', '{"id":"shared"}', 'msg_a', 1, 'done', 1, 1, 2, NULL),
              ('dlv_b', 'b', '{"id":"shared"}', 'msg_b', 0, 'pending', 1, 1, 1, NULL),
              ('dlv_c', 'a', '{"id":"alone"}', 'msg_c', 2, 'failed', 1, 1, 3, 'HTTP 500')`,
    );
    await client.query(
      `INSERT INTO hookwork_attempts (delivery_id, attempt, started_at, duration_ms, ok, http_status, response) VALUES ('dlv_a', 1, 1, 1, true, 200, 'ok')`,
    );
  } finally {
    await client.end();
  }
  const store = new PostgresStore({ url, logger: silentLogger() });
  try {
    assert.equal(await store.version(), 2);
    await store.migrate();
    assert.equal(await store.version(), Math.max(...POSTGRES_MIGRATIONS.map((m) => m.version)));
    const a = await store.get('dlv_a');
    assert.deepEqual(a?.delivery.event, { id: 'shared' });
    assert.deepEqual(a?.attempts.map((x) => [x.attempt, x.httpStatus, x.response]), [[1, 200, 'ok']]);
    assert.equal((await store.get('dlv_c'))?.delivery.lastError, 'HTTP 500');
    assert.deepEqual((await store.list()).map((d) => d.id).sort(), ['dlv_a', 'dlv_b', 'dlv_c']);
    const check = new Client({ connectionString: url });
    await check.connect();
    const events = async () => (await check.query<{ event: string | null; refs: number; live: number }>('SELECT event, refs, live FROM hookwork_events ORDER BY event')).rows;
    assert.deepEqual(await events(), [
      { event: '{"id":"alone"}', refs: 1, live: 1 },
      { event: '{"id":"shared"}', refs: 2, live: 1 },
    ]);
    // The pending one is claimed with its event; done with keep_done_body none, the shared body goes.
    const [b] = await store.claim({ nodeId: 'n', now: 5, leaseMs: 100, capacity: new Map([['b', 1]]) });
    assert.deepEqual(b?.event, { id: 'shared' });
    await store.settle([
      { deliveryId: 'dlv_b', nodeId: 'n', attempt: 1, record: { deliveryId: 'dlv_b', attempt: 1, startedAt: 6, durationMs: 1, ok: true }, outcome: { state: 'done', keepBody: 'none' } },
    ]);
    assert.equal((await store.get('dlv_a'))?.delivery.eventDropped, true);
    assert.deepEqual((await store.get('dlv_c'))?.delivery.event, { id: 'alone' });
    // The purge takes the deliveries and, with the last of each, its event.
    assert.equal(await store.purge({ doneBefore: 100, failedBefore: 100, limit: 10 }), 3);
    assert.deepEqual(await events(), []);
    await check.end();
  } finally {
    await store.close();
  }
});

test('postgres store: a claim is a HOT update: the claimed rows stay in their pages and no index gets an entry', async () => {
  const url = await pg.createDatabase(`hot_claim_${process.pid}`);
  const store = new PostgresStore({ url, logger: silentLogger() });
  const client = new Client({ connectionString: url });
  try {
    await store.migrate();
    await store.enqueue(Array.from({ length: 200 }, (_, i) => ({ id: `dlv_${i}`, target: 'a', event: { n: i }, webhookId: `msg_${i}`, dueAt: i, createdAt: i })));
    await client.connect();
    // This transaction's own counts (pg_stat_get_xact_*): exact, no wait for the statistics to be flushed.
    await client.query('BEGIN');
    const claimed = await client.query(CLAIM_SQL, [['a'], [100], 1000, 'n', 2000]);
    assert.equal(claimed.rowCount, 100);
    const { rows } = await client.query<{ upd: string; hot: string }>(
      `SELECT pg_stat_get_xact_tuples_updated('hookwork_deliveries'::regclass) AS upd, pg_stat_get_xact_tuples_hot_updated('hookwork_deliveries'::regclass) AS hot`,
    );
    await client.query('ROLLBACK');
    // Before migration 11, state and updated_at were indexed: 0 of 100 were HOT, and each claim added an entry to all 7 indexes.
    assert.deepEqual(rows[0], { upd: '100', hot: '100' });
  } finally {
    await client.end().catch(() => undefined);
    await store.close();
  }
});

test('postgres store: a version 10 database holding pending, in-flight, done and failed deliveries is migrated (HOT claims) and then claims, settles, lists and purges them', async () => {
  const url = await pg.createDatabase(`v10_${process.pid}`);
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    // The schema as the migrations up to version 10 leave it, with deliveries written by that version.
    await client.query('CREATE TABLE hookwork_schema (version integer NOT NULL)');
    for (const step of POSTGRES_MIGRATIONS.filter((m) => m.version <= 10)) {
      await client.query(step.sql);
      await client.query('INSERT INTO hookwork_schema (version) VALUES ($1)', [step.version]);
    }
    await client.query(`INSERT INTO hookwork_events (seq, refs, live, event) VALUES (1, 6, 4, '{"id":"e"}')`);
    await client.query(
      `INSERT INTO hookwork_deliveries (id, target, event_seq, webhook_id, attempts, state, due_at, created_at, updated_at, last_error, claimed_by, lease_until)
       VALUES ('dlv_pending', 'a', 1, 'msg_1', 0, 'pending', 10, 1, 1, NULL, NULL, 0),
              ('dlv_later', 'a', 1, 'msg_2', 1, 'pending', 5000, 2, 2, 'HTTP 500', NULL, 0),
              ('dlv_expired', 'a', 1, 'msg_3', 1, 'inflight', 5, 3, 5, NULL, 'gone', 50),
              ('dlv_held', 'a', 1, 'msg_4', 1, 'inflight', 6, 4, 6, NULL, 'alive', 5000),
              ('dlv_done', 'a', 1, 'msg_5', 1, 'done', 1, 5, 20, NULL, NULL, 0),
              ('dlv_failed', 'b', 1, 'msg_6', 3, 'failed', 1, 6, 30, 'HTTP 500', NULL, 0)`,
    );
    await client.query(`INSERT INTO hookwork_attempts (delivery_id, attempt, started_at, duration_ms, ok, http_status) VALUES ('dlv_done', 1, 19, 1, true, 200)`);
  } finally {
    await client.end();
  }
  const store = new PostgresStore({ url, logger: silentLogger() });
  try {
    assert.equal(await store.version(), 10);
    await store.migrate();
    assert.equal(await store.version(), POSTGRES_MIGRATIONS.at(-1)?.version); // 11, and what came after it
    // Listed by each state through the new indexes, as before.
    const ids = async (state: DeliveryState) => (await store.list({ state })).map((d) => d.id).sort();
    assert.deepEqual(await ids('pending'), ['dlv_later', 'dlv_pending']);
    assert.deepEqual(await ids('inflight'), ['dlv_expired', 'dlv_held']);
    assert.deepEqual(await ids('done'), ['dlv_done']);
    assert.deepEqual(await ids('failed'), ['dlv_failed']);
    assert.deepEqual(await store.openByTarget(), [{ target: 'a', pending: 2, inflight: 2 }]);
    // Attempts keep being read by delivery, in order (their primary key is now (delivery_id, seq)).
    assert.deepEqual((await store.get('dlv_done'))?.attempts.map((x) => [x.attempt, x.httpStatus]), [[1, 200]]);
    assert.deepEqual(await store.dueTargets(100), ['a']);
    // The claim takes the due pending one and the expired lease (oldest due first), not the held lease nor the one due later.
    const claimed = await store.claim({ nodeId: 'n', now: 100, leaseMs: 1000, capacity: new Map([['a', 10]]) });
    claimed.sort((x, y) => x.dueAt - y.dueAt);
    assert.deepEqual(claimed.map((d) => d.id), ['dlv_expired', 'dlv_pending']);
    assert.deepEqual(claimed.map((d) => d.attempts), [1, 0]);
    assert.deepEqual(await store.dueTargets(100), []);
    // Settled (one done, one failed): the old node's claim on the expired one no longer counts.
    const settle = (id: string, attempt: number, outcome: SettleRequest['outcome']): SettleRequest => ({
      deliveryId: id,
      nodeId: 'n',
      attempt,
      record: { deliveryId: id, attempt, startedAt: 100, durationMs: 2, ok: outcome.state === 'done', httpStatus: outcome.state === 'done' ? 200 : 500 },
      outcome,
    });
    assert.equal(await store.settle([settle('dlv_expired', 2, { state: 'done' }), settle('dlv_pending', 1, { state: 'failed', error: 'HTTP 500' })]), 2);
    assert.deepEqual(await ids('done'), ['dlv_done', 'dlv_expired']);
    assert.deepEqual((await store.get('dlv_expired'))?.attempts.map((x) => [x.attempt, x.httpStatus]), [[2, 200]]);
    assert.deepEqual(await ids('failed'), ['dlv_failed', 'dlv_pending']);
    assert.deepEqual(await store.openByTarget(), [{ target: 'a', pending: 1, inflight: 1 }]);
    // Retention: done before 50 and failed before 50 are the migrated ones; the ones settled at 102 stay.
    assert.equal(await store.purge({ doneBefore: 50, failedBefore: 50, limit: 10 }), 2);
    assert.deepEqual((await store.list({ limit: 10 })).map((d) => d.id).sort(), ['dlv_expired', 'dlv_held', 'dlv_later', 'dlv_pending']);
    assert.equal(await store.purge({ doneBefore: 200, failedBefore: 101, limit: 10 }), 1);
    assert.deepEqual(await ids('failed'), ['dlv_pending']);
    // A failed one retried is open again, and claimable.
    assert.equal(await store.retry('dlv_pending', 300), true);
    assert.deepEqual((await store.claim({ nodeId: 'n', now: 300, leaseMs: 1000, capacity: new Map([['a', 10]]) })).map((d) => d.id), ['dlv_pending']);
  } finally {
    await store.close();
  }
});

test('postgres store: a settle turns a frozen response headers object its attempts share into JSON once, and every attempt reads back its own headers', async () => {
  const url = await pg.createDatabase(`settle_headers_once_${process.pid}`);
  const store = new PostgresStore({ url, logger: silentLogger() });
  try {
    await store.migrate();
    await store.enqueue(Array.from({ length: 6 }, (_, i) => ({ id: `dlv_${i}`, target: 'a', event: { n: i }, webhookId: `msg_${i}`, dueAt: 0, createdAt: 0 })));
    assert.equal((await store.claim({ capacity: new Map([['a', 6]]), now: 1, nodeId: 'n', leaseMs: 60_000 })).length, 6);
    // As the webhook sender gives them: one frozen object while the receiver's headers repeat, then another.
    const shared = Object.freeze({ 'content-type': 'text/plain', 'x-seen': '1' });
    const other = Object.freeze({ 'content-type': 'text/plain', 'x-seen': '2' });
    // A target's own, not frozen: changed between two attempts, each must keep what it had.
    const mutable: Record<string, string> = { 'x-mine': 'first' };
    const responseHeaders = [shared, shared, shared, other, mutable, mutable];
    const requests: SettleRequest[] = responseHeaders.map((headers, i) => ({
      deliveryId: `dlv_${i}`,
      nodeId: 'n',
      attempt: 1,
      record: { deliveryId: `dlv_${i}`, attempt: 1, startedAt: 2, durationMs: 1, ok: true, httpStatus: 200, requestHeaders: { 'webhook-id': `msg_${i}` }, responseHeaders: headers },
      outcome: { state: 'done' },
    }));
    const stringify = JSON.stringify;
    let sharedTexts = 0;
    JSON.stringify = ((value: unknown, ...rest: []) => {
      if (value === shared) sharedTexts++;
      return stringify(value, ...rest);
    }) as typeof JSON.stringify;
    try {
      settleParams(requests.slice(0, 4));
    } finally {
      JSON.stringify = stringify;
    }
    // Once for the three attempts in a row that share it (it was once each: 3).
    assert.equal(sharedTexts, 1);
    assert.equal(await store.settle(requests.slice(0, 5)), 5);
    mutable['x-mine'] = 'second';
    assert.equal(await store.settle(requests.slice(5)), 1);
    const got = await Promise.all(requests.map(async (r) => (await store.get(r.deliveryId))!.attempts[0]?.responseHeaders));
    assert.deepEqual(got, [shared, shared, shared, other, { 'x-mine': 'first' }, { 'x-mine': 'second' }]);
    const sent = await Promise.all(requests.map(async (r) => (await store.get(r.deliveryId))!.attempts[0]?.requestHeaders));
    assert.deepEqual(sent, requests.map((r) => r.record.requestHeaders));
  } finally {
    await store.close();
  }
});
