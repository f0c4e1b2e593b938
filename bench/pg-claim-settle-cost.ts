// Counting probe for the PostgreSQL claim and settle on the Node side and in
// the server (docs/performance.md, "PostgreSQL delivery: the sixth round"):
// BASE=<another checkout, e.g. a `git archive` of the commit before> is
// required: its settleParams and this checkout's alternate in one process.
// 1. settleParams() for batches of 64 webhook settles (a frozen response
//    headers object shared, as the sender gives it): CPU µs per delivery.
// 2. CLAIM_SQL against the variant that sends each event once (tried in the
//    sixth round and dropped: EVENT_ONCE_SQL below), on a throwaway server:
//    a claim of 64 among 20,000 due deliveries enqueued as the bench does
//    (twenty of one event per call), under the claim connections' settings,
//    each rolled back: field text bytes returned, Node CPU per claimed
//    delivery (query, parse, records), round trip, and each plan's shared
//    buffer hits and execution time.
// 3. The Node CPU of one trivial named statement through a pg.Pool (the
//    fixed cost of a statement on this side).
// PER_EVENT=n: deliveries per event (default 20, as the bench; 1 is the
// end-to-end row's shape, where each claimed row carries its own event).
// Run: BASE=/tmp/base node --import tsx bench/pg-claim-settle-cost.ts

import { join } from 'node:path';
import pg from 'pg';
import { startPostgres } from '../test/helpers/postgres.js';
import { CLAIM_SQL, PostgresStore, settleParams } from '../src/delivery/postgres-store.js';
import { deliveryFromRow, type DeliveryRow } from '../src/delivery/row-mappers.js';
import { DROPPED_EVENT_JSON, StoredRecord, unpackEvent } from '../src/delivery/store.js';
import { silentLogger } from '../src/logger.js';
import type { SettleRequest } from '../src/delivery/store.js';
import { median } from './lib.js';

const baseDir = process.env['BASE'];
if (baseDir === undefined) throw new Error('BASE=<another checkout> is required (its code is the "old" side).');
const base = (await import(join(baseDir, 'src/delivery/postgres-store.ts'))) as { settleParams: typeof settleParams };

/**
 * The variant: the claimed rows ordered by event, the event's columns in the
 * first row of each only (`head`); the records share one string and, when
 * several deliveries share the event, one Buffer of its bytes.
 */
const EVENT_ONCE_SQL = CLAIM_SQL.replace(
  `) d)
  UPDATE hookwork_deliveries AS d`,
  `) d),
  c AS (UPDATE hookwork_deliveries AS d`,
).replace(
  /RETURNING ([^]*?),\s*\(SELECT e\.event[^]*$/,
  `RETURNING $1, d.event_seq),
  k AS (SELECT c.*, row_number() OVER (PARTITION BY c.event_seq) = 1 AS head FROM c)
  SELECT k.*, CASE WHEN k.head THEN (SELECT e.event FROM hookwork_events e WHERE e.seq = k.event_seq) END AS event,
    CASE WHEN k.head THEN (SELECT e.packed FROM hookwork_events e WHERE e.seq = k.event_seq) END AS packed
  FROM k ORDER BY k.event_seq, k.head DESC`,
);
if (EVENT_ONCE_SQL === CLAIM_SQL || !EVENT_ONCE_SQL.includes('head')) throw new Error('CLAIM_SQL changed: EVENT_ONCE_SQL no longer applies to it.');
function eventOnceRecords(rows: ReadonlyArray<DeliveryRow & { head: boolean }>): StoredRecord[] {
  let json: string | undefined;
  let bytes: Buffer | undefined;
  return rows.map((row, i) => {
    if (row.head) {
      json = unpackEvent(row.packed ?? row.event);
      bytes = json === undefined || rows[i + 1]?.head !== false ? undefined : Buffer.from(json, 'utf8');
    }
    const fields = { id: row.id, target: row.target, webhookId: row.webhook_id, attempts: Number(row.attempts) - 1, state: row.state, dueAt: Number(row.due_at), createdAt: Number(row.created_at), updatedAt: Number(row.updated_at), lastError: row.last_error ?? undefined, traceContext: row.trace_context };
    return bytes === undefined ? new StoredRecord({ ...fields, eventJson: json ?? DROPPED_EVENT_JSON, eventDropped: json === undefined }) : new StoredRecord({ ...fields, eventBytes: bytes });
  });
}

// 1. The settle's parameters.
const responseHeaders = Object.freeze({ 'content-type': 'text/plain', date: 'Sun, 06 Dec 2026 19:00:00 GMT', connection: 'keep-alive', 'keep-alive': 'timeout=5', 'content-length': '2' });
const batch = (k: number): SettleRequest[] =>
  Array.from({ length: 64 }, (_, i) => {
    const id = `dlv_${k}_${i}_0123456789abcdef01234567`;
    const startedAt = Date.now();
    return {
      deliveryId: id,
      nodeId: 'node_abcdef0123',
      attempt: 1,
      outcome: { state: 'done' },
      record: {
        deliveryId: id, attempt: 1, startedAt, durationMs: 3, ok: true, httpStatus: 200, response: 'ok', requestBodyIsEvent: true,
        requestHeaders: { 'user-agent': 'Hookwork/1.0', 'content-type': 'application/json', 'webhook-id': `msg_${k}_${i}_abcdef0123456789`, 'webhook-timestamp': String(Math.floor(startedAt / 1000)) },
        responseHeaders,
      },
    };
  });
const batches = Array.from({ length: 200 }, (_, k) => batch(k));
const sides: Array<[string, typeof settleParams]> = [['old', base.settleParams], ['new', settleParams]];
for (const [, build] of sides) for (let w = 0; w < 3; w++) for (const b of batches) build(b);
const settleUs = new Map<string, number[]>([['old', []], ['new', []]]);
for (let round = 0; round < 12; round++) {
  for (const [name, build] of round % 2 === 0 ? sides : [...sides].reverse()) {
    const t0 = process.cpuUsage();
    for (let r = 0; r < 3; r++) for (const b of batches) build(b);
    const t = process.cpuUsage(t0);
    settleUs.get(name)!.push((t.user + t.system) / (3 * 200 * 64));
  }
}
for (const [name, xs] of settleUs) console.log(`settle parameters, ${name}: ${median(xs).toFixed(2)} µs per delivery (median of 12)`);

const server = await startPostgres();
try {
  // 2. The claim.
  const url = await server.createDatabase('claim_cost');
  const store = new PostgresStore({ url, logger: silentLogger() });
  await store.migrate();
  const event = { id: '1001', data: { file: '/a/b.txt', size: 1234, user: 'alice' }, pad: 'x'.repeat(700) };
  const perEvent = Number(process.env['PER_EVENT'] ?? 20);
  const events = Array.from({ length: Math.ceil(20_000 / perEvent) }, (_, n) => ({ ...event, n }));
  for (let k = 0; k < 10; k++) {
    await store.enqueue(
      Array.from({ length: 2000 }, (_, i) => ({ id: `d_${k}_${i}`, target: 'handler:bench', event: events[Math.floor((k * 2000 + i) / perEvent)]!, webhookId: `m_${k}_${i}`, dueAt: 0, createdAt: 0 })),
    );
  }
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query('SET plan_cache_mode = force_generic_plan');
  await c.query('SET enable_seqscan = off');
  await c.query('ANALYZE');
  const claims: Array<[string, string, (rows: never[]) => unknown[]]> = [
    ['as is', CLAIM_SQL, (rows) => rows.map((row) => deliveryFromRow(row, true))],
    ['each event once', EVENT_ONCE_SQL, (rows) => eventOnceRecords(rows)],
  ];
  const cpu = new Map<string, number[]>(claims.map(([n]) => [n, []]));
  const wall = new Map<string, number[]>(claims.map(([n]) => [n, []]));
  const exec = new Map<string, number[]>(claims.map(([n]) => [n, []]));
  for (let r = 0; r < 200; r++) {
    for (const [name, text, records] of r % 2 === 0 ? claims : [...claims].reverse()) {
      await c.query('BEGIN');
      const t0 = performance.now();
      const u0 = process.cpuUsage();
      const res = await c.query({ name: `claim_${name.replace(/ /g, '_')}`, text, values: [['handler:bench'], [64], 1000, 'n', 2000] });
      const made = records(res.rows as never[]);
      const u = process.cpuUsage(u0);
      wall.get(name)!.push((performance.now() - t0) * 1000);
      cpu.get(name)!.push((u.user + u.system) / made.length);
      await c.query('ROLLBACK');
      if (r % 10 === 0) {
        await c.query('BEGIN');
        const { rows } = await c.query<{ 'QUERY PLAN': Array<{ 'Execution Time': number }> }>(
          `EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE claim_${name.replace(/ /g, '_')}('{handler:bench}', '{64}', 1000, 'n', 2000)`,
        );
        await c.query('ROLLBACK');
        exec.get(name)!.push(rows[0]!['QUERY PLAN'][0]!['Execution Time'] * 1000);
      }
      if (r === 0) {
        let bytes = 0;
        for (const row of res.rows as Array<Record<string, unknown>>) for (const v of Object.values(row)) if (v !== null) bytes += Buffer.byteLength(String(v));
        console.log(`claim, ${name}: ${res.rowCount} rows, ${(res.rows as Array<{ event: unknown }>).filter((x) => x.event !== null).length} of them with the event, ${bytes} bytes of field text`);
      }
    }
  }
  for (const [name] of claims) {
    console.log(
      `claim, ${name}: Node CPU ${median(cpu.get(name)!).toFixed(2)} µs per claimed delivery, round trip ${(median(wall.get(name)!) / 1000).toFixed(2)} ms, execution ${(median(exec.get(name)!) / 1000).toFixed(2)} ms (medians)`,
    );
    await c.query('BEGIN');
    const { rows } = await c.query<{ 'QUERY PLAN': Array<{ Plan: { 'Shared Hit Blocks': number } }> }>(
      `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE claim_${name.replace(/ /g, '_')}('{handler:bench}', '{64}', 1000, 'n', 2000)`,
    );
    await c.query('ROLLBACK');
    console.log(`claim, ${name}: ${rows[0]!['QUERY PLAN'][0]!.Plan['Shared Hit Blocks']} shared buffer hits`);
  }
  await c.end();
  await store.close();

  // 3. A statement's fixed cost in the driver.
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const cost: number[] = [];
  for (let round = 0; round < 3; round++) {
    const u0 = process.cpuUsage();
    for (let i = 0; i < 2000; i++) {
      const client = await pool.connect();
      await client.query({ name: 'one', text: 'SELECT $1::int AS x', values: [i] });
      client.release();
    }
    const u = process.cpuUsage(u0);
    if (round > 0) cost.push((u.user + u.system) / 2000);
  }
  console.log(`a trivial named statement through pg.Pool: ${cost.map((x) => x.toFixed(1)).join(', ')} µs of Node CPU`);
  await pool.end();
} finally {
  await server.stop();
}
