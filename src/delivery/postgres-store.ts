// The multi-node store: PostgreSQL through pg. Each delivery is claimed by
// one node at a time (FOR UPDATE SKIP LOCKED), for a lease; a node that dies
// loses its claims when the lease ends and the others take them. Every batch
// is one statement (arrays through unnest), so a round trip serves many rows.
// LISTEN/NOTIFY wakes the other nodes' dispatchers on enqueue and carries the
// cluster bus.

import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { DeliveryStoreError } from '../errors.js';
import type { Logger } from '../logger.js';
import { ClusterListeners, type ClusterBus, type ClusterListener, type ClusterMessage } from '../cluster/bus.js';
import { POSTGRES_MIGRATIONS } from './migrations/postgres.js';
import { PostgresIdempotencyKeys } from './idempotency-keys.js';
import type { IdempotencyClaim, IdempotencyReservation } from '../events/idempotency.js';
import { scheduleRecords, type ScheduleRecord, type ScheduleStateRow, type ScheduleTickClaim } from './schedule-store.js';
import { targetHealthFromRow, type TargetHealth, type TargetHealthRow } from './target-health.js';
import { asStoreError, storeFault } from './store-faults.js';
import { eventUuidOf } from './delivery-id.js';
import { boolArray, int4Array, int8Array, textArray } from './pg-binary-array.js';
import { attemptDetail, attemptFromRow, buildDepth, deliveryFromRow, headersJson, LIST_ORDER, listWhere, openFromRows, stateCounts } from './row-mappers.js';
import {
  eventJsonOf,
  packEvent,
  type ClaimRequest,
  type DeliveryDetail,
  type DeliveryStore,
  type DisabledTarget,
  type TargetSecretsRecord,
  type CountRequest,
  type ListFilter,
  type StateCounts,
  type PurgeRequest,
  type ReplayRequest,
  type SettleRequest,
  type StoredDeliveryInput,
  type TargetDepth,
  type TargetOpen,
  type DigestDeliveryInput,
  type DigestHead,
  type DigestMemberInput,
} from './store.js';
import type { DeliveryRecord, DeliveryState, RateLimit } from './types.js';

export interface PostgresStoreOptions {
  readonly url: string;
  readonly poolSize?: number;
  readonly logger: Logger;
}

const WAKE_CHANNEL = 'hookwork_wake';
const CLUSTER_CHANNEL = 'hookwork_cluster';
/** LISTEN reconnects after 100 ms, doubling up to 5 s (with jitter). */
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5000;
/** How long published cluster messages are kept for nodes that were away. */
const CLUSTER_LOG_KEEP_MS = 10 * 60_000;
/** Recent cluster message numbers remembered, so a replay delivers each once. */
const SEEN_KEEP = 256;
/** A delivery row with its event: what get() and list() read. */
const WITH_EVENT = `SELECT d.*, e.event, e.packed FROM hookwork_deliveries d JOIN hookwork_events e ON e.seq = d.event_seq`;
/** The delivery `d` still has its event body (a done one whose body was not kept has neither column). */
const HAS_BODY = `EXISTS (SELECT 1 FROM hookwork_events e WHERE e.seq = d.event_seq AND (e.event IS NOT NULL OR e.packed IS NOT NULL))`;
/**
 * The claim: per target, the oldest due deliveries that are pending or in
 * flight with their lease ended, in one scan of the open deliveries'
 * (target, due_at) index that stops after `cap` taken (it passes over the
 * target's rows in flight whose lease holds: at most what the nodes have in
 * flight). A lease ends after the claim that took it, and a claim takes only
 * due deliveries, so an expired one is due (due_at <= its claim <= its
 * lease_until <= now): `due_at <= now` is an index bound for both kinds. The
 * rows are updated by primary key (an array, so the planner cannot pick a
 * hash join over the whole table) with their events read by key. No index
 * names a column the update changes (migration 11), so it is a HOT update:
 * the new row version stays in its page and no index gets an entry. It
 * returns the columns a claimed record needs, by name (fewer bytes than
 * d.*). Exported for the plan test.
 */
export const CLAIM_SQL = `WITH t AS (SELECT * FROM unnest($1::text[], $2::int[]) AS t(name, cap)),
  picked AS (
    SELECT d.id FROM t CROSS JOIN LATERAL (
      SELECT id FROM hookwork_deliveries
      WHERE target = t.name AND settled_state IS NULL AND due_at <= $3 AND (state = 'pending' OR lease_until <= $3)
      ORDER BY due_at LIMIT t.cap FOR UPDATE SKIP LOCKED) d)
  UPDATE hookwork_deliveries AS d
  SET state = 'inflight', attempts = d.attempts + 1, claimed_by = $4, lease_until = $5, updated_at = $3
  WHERE d.id = ANY (ARRAY(SELECT id FROM picked))
  RETURNING d.id, d.target, d.webhook_id, d.attempts, d.state, d.due_at, d.created_at, d.updated_at, d.last_error, d.trace_context,
    (SELECT e.event FROM hookwork_events e WHERE e.seq = d.event_seq) AS event,
    (SELECT e.packed FROM hookwork_events e WHERE e.seq = d.event_seq) AS packed`;
/**
 * The settle: every outcome of a batch in one statement (attempt rows
 * inserted, deliveries updated, their events' live counts lowered), arrays
 * through unnest. Exported for the plan test.
 */
export const SETTLE_SQL = `WITH att AS (
     INSERT INTO hookwork_attempts (delivery_id, attempt, started_at, duration_ms, ok, http_status, exit_code, response, error, detail, request_headers, request_body, response_headers)
     SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::int[], $5::bool[], $6::int[], $7::int[], $8::text[], $9::text[], $10::text[], $20::text[], $21::text[], $22::text[])
     RETURNING 1),
   upd AS (
     UPDATE hookwork_deliveries AS d
     SET state = u.state, due_at = coalesce(u.due_at, d.due_at), attempts = d.attempts - u.reset,
         last_error = coalesce(u.err, d.last_error), claimed_by = NULL, updated_at = u.updated_at
     FROM unnest($11::text[], $12::text[], $13::bigint[], $14::int[], $15::text[], $16::bigint[], $17::text[], $18::int[], $19::text[],
                 array_fill('inflight'::text, ARRAY[cardinality($11::text[])]))
       AS u(id, state, due_at, reset, err, updated_at, node, attempt, keep, was)
     -- Found by primary key (= ANY of the ids: O(batch)), matched to its outcome by id. The guard (still in flight,
     -- this node's claim, this attempt) compares to u's columns, \`was\` too, so PostgreSQL cannot take
     -- state = 'inflight' for an index condition: with statistics from a moment with few rows in flight it read
     -- every in-flight row version (dead ones too) through a state index, then looped over the batch for each.
     WHERE d.id = ANY ($11::text[]) AND d.id = u.id AND d.state = u.was AND d.claimed_by = u.node AND d.attempts = u.attempt
     RETURNING d.event_seq, u.state, u.keep),
   ev AS (
     -- The last delivery of an event to be done applies keep_done_body (none here; compressed below, in JS).
     UPDATE hookwork_events e SET live = e.live - c.n,
            event = CASE WHEN e.live - c.n <= 0 AND c.keep = 'none' THEN NULL ELSE e.event END
     FROM (SELECT event_seq, count(*) AS n, min(keep) AS keep FROM upd WHERE state = 'done' GROUP BY event_seq) AS c
     WHERE e.seq = c.event_seq
     RETURNING e.seq, e.live, c.keep, e.event)
   SELECT (SELECT count(*) FROM upd) AS applied, (SELECT count(*) FROM att) AS recorded,
          (SELECT array_agg(seq ORDER BY seq) FROM ev WHERE live <= 0 AND keep = 'compressed' AND event IS NOT NULL) AS pack_seqs,
          (SELECT array_agg(event ORDER BY seq) FROM ev WHERE live <= 0 AND keep = 'compressed' AND event IS NOT NULL) AS pack_events`;

/**
 * SETTLE_SQL's parameters: one array per column, in the binary format
 * (pg-binary-array.ts; as the enqueue's), gathered in one pass over the batch
 * (they were 22 passes, one per column). A frozen response headers object the
 * sender gives again while the receiver's headers repeat is turned into JSON
 * once (headersJson), not once per attempt.
 */
export function settleParams(requests: readonly SettleRequest[]): unknown[] {
  const n = requests.length;
  const aId: unknown[] = [];
  const aAttempt: unknown[] = [];
  const aStarted: unknown[] = [];
  const aDuration: unknown[] = [];
  const aOk: unknown[] = [];
  const aStatus: unknown[] = [];
  const aExit: unknown[] = [];
  const aResponse: unknown[] = [];
  const aError: unknown[] = [];
  const aDetail: unknown[] = [];
  const aRequestHeaders: unknown[] = [];
  const aRequestBody: unknown[] = [];
  const aResponseHeaders: unknown[] = [];
  const id: unknown[] = [];
  const state: unknown[] = [];
  const dueAt: unknown[] = [];
  const reset: unknown[] = [];
  const err: unknown[] = [];
  const updatedAt: unknown[] = [];
  const node: unknown[] = [];
  const attempt: unknown[] = [];
  const keep: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const r = requests[i] as SettleRequest;
    const x = r.record;
    const o = r.outcome;
    if (r.unattempted !== true) {
      aId.push(x.deliveryId);
      aAttempt.push(x.attempt);
      aStarted.push(x.startedAt);
      aDuration.push(x.durationMs);
      aOk.push(x.ok);
      aStatus.push(x.httpStatus);
      aExit.push(x.exitCode);
      aResponse.push(x.response);
      aError.push(x.error);
      aDetail.push(attemptDetail(x));
      aRequestHeaders.push(x.requestHeaders === undefined ? null : headersJson(x.requestHeaders, 0));
      aRequestBody.push(x.requestBody);
      aResponseHeaders.push(x.responseHeaders === undefined ? null : headersJson(x.responseHeaders, 1));
    }
    id.push(r.deliveryId);
    state.push(o.state);
    dueAt.push(o.state === 'pending' ? o.dueAt : null);
    reset.push(o.state === 'pending' && o.resetAttempts === true ? 1 : 0);
    err.push(o.state === 'done' ? null : o.error);
    updatedAt.push(x.startedAt + x.durationMs);
    node.push(r.nodeId);
    attempt.push(r.attempt);
    keep.push(o.state === 'done' ? (o.keepBody ?? 'full') : null);
  }
  return [
    textArray(aId),
    int4Array(aAttempt),
    int8Array(aStarted),
    int4Array(aDuration),
    boolArray(aOk),
    int4Array(aStatus),
    int4Array(aExit),
    textArray(aResponse),
    textArray(aError),
    textArray(aDetail),
    textArray(id),
    textArray(state),
    int8Array(dueAt),
    int4Array(reset),
    textArray(err),
    int8Array(updatedAt),
    textArray(node),
    int4Array(attempt),
    textArray(keep),
    textArray(aRequestHeaders),
    textArray(aRequestBody),
    textArray(aResponseHeaders),
  ];
}

/**
 * The claim/settle connections' planner settings (see #dispatch): each
 * statement is planned once, generically, for batches of any size; and, as
 * every table either reads has an index on what it looks up, never by a
 * sequential scan. A generic plan is kept until the table's statistics
 * change (an ANALYZE): one made while a table was a page or two (after a
 * VACUUM, say) would otherwise read it whole, row after row, for every claim
 * and settle while it grew to thousands of rows (a claim of 2 among 30,000:
 * 113 ms against 4 ms, docs/performance.md). Exported for the test.
 */
export const DISPATCH_SETTINGS = ['plan_cache_mode = force_generic_plan', 'enable_seqscan = off'] as const;

/** Arbitrary, fixed: serializes schema migrations across nodes. */
const MIGRATION_LOCK = 7_201_006;
/**
 * The targets with a delivery a claim would take now: each target in the
 * table once, by a skip scan of the (target, created_at, id) index (one seek
 * per distinct target, not per row), kept when a probe of the open
 * deliveries' (target, due_at) index finds a due one that is pending or in
 * flight with its lease ended (as the claim: an expired lease is due). A
 * scalar subquery with LIMIT: as EXISTS, PostgreSQL hashed every due row of
 * the table. Its cost grows with the distinct targets that have rows
 * (finished ones included, until retention purges them) and their rows in
 * flight, not with the targets registered or the backlog. Exported for the
 * plan test.
 */
export const DUE_TARGETS_SQL = `WITH RECURSIVE t(target) AS (
    (SELECT target FROM hookwork_deliveries ORDER BY target LIMIT 1)
    UNION ALL
    SELECT (SELECT d.target FROM hookwork_deliveries d WHERE d.target > t.target ORDER BY d.target LIMIT 1)
    FROM t WHERE t.target IS NOT NULL)
  SELECT target FROM t WHERE target IS NOT NULL AND (
    SELECT 1 FROM hookwork_deliveries d
    WHERE d.target = t.target AND d.settled_state IS NULL AND d.due_at <= $1 AND (d.state = 'pending' OR d.lease_until <= $1)
    ORDER BY d.due_at LIMIT 1) IS NOT NULL`;

/**
 * What a state filter implies of the generated columns the indexes use
 * (migration 11): the same rows, but PostgreSQL can only use a partial index
 * whose condition the query states. Done and failed rows are listed through
 * (settled_state, created_at, id), pending and in-flight ones through the
 * open deliveries' (created_at, id).
 */
function stateIndexTerm(state: DeliveryState | undefined): string | undefined {
  if (state === 'done' || state === 'failed') return `d.settled_state = '${state}'`;
  if (state === 'pending' || state === 'inflight') return 'd.settled_state IS NULL';
  return undefined;
}

/**
 * A list with no state, target or event filter (the console's first page,
 * a time window, the next page's cursor): no index holds every delivery in
 * (created_at, id) order since migration 12, so the open deliveries' range
 * and each settled state's are read newest first, a page at most each, and
 * merged; the events are joined to the page only.
 */
function everyStateListSql(where: readonly string[], limit: string): string {
  const range = (term: string): string =>
    `(SELECT * FROM hookwork_deliveries d WHERE ${[...where, term].join(' AND ')} ORDER BY ${LIST_ORDER} LIMIT ${limit})`;
  return `SELECT d.*, e.event, e.packed FROM (
       ${range('d.settled_state IS NULL')} UNION ALL ${range(`d.settled_state = 'done'`)} UNION ALL ${range(`d.settled_state = 'failed'`)}
       ORDER BY created_at DESC, id DESC LIMIT ${limit}) d
     JOIN hookwork_events e ON e.seq = d.event_seq ORDER BY ${LIST_ORDER}`;
}

/** Redacts the password of a connection URL for messages. */
function safeUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

/**
 * The enqueue: a group's events and deliveries in one statement, arrays
 * through unnest. The events' numbers are drawn first, as one array in
 * order (`seqs`, a CTE: evaluated once), and each row takes its event's by
 * subscript ($3 holds the event's place in the group): no join, so the rows
 * are inserted in the order of the arrays (the order ties are claimed in)
 * with no sort to keep it. A join of the deliveries to the events, and the
 * sort it then needed for that order, cost the server about a third of the
 * statement's CPU (docs/performance.md). Every array, the events' JSON texts
 * ($9) among them, goes in the binary format (pg-binary-array.ts): no escape
 * in the driver and no parse in the server, where a text[] literal (or, as
 * before, one JSON array of the texts) is escaped in JS and read back
 * character by character. Notifies the other nodes when a row is left
 * unclaimed ($7, the claiming node, has a NULL); the wake-up's payload ($13)
 * names the store that wrote, whose own listener skips it (this node already
 * knows of its enqueue), where it would re-read the disabled targets and
 * scan for due work after every group (three statements a group).
 */
const ENQUEUE_SQL = `WITH seqs AS (SELECT ARRAY(SELECT nextval('hookwork_events_seq_seq') FROM generate_series(1, cardinality($10::int[]))) AS a),
   ins_ev AS (
     INSERT INTO hookwork_events (seq, refs, live, event)
     SELECT (SELECT a FROM seqs)[t.i], ($10::int[])[t.i], ($10::int[])[t.i], t.event
     FROM unnest($9::text[]) WITH ORDINALITY AS t(event, i)),
   ins AS (
     INSERT INTO hookwork_deliveries (id, target, event_seq, webhook_id, attempts, state, due_at, created_at, updated_at, claimed_by, lease_until, trace_context, event_uuid)
     SELECT t.id, t.target, (SELECT a FROM seqs)[t.ev_i], t.webhook_id, CASE WHEN t.node IS NULL THEN 0 ELSE 1 END, CASE WHEN t.node IS NULL THEN 'pending' ELSE 'inflight' END,
            t.due_at, t.created_at, t.created_at, t.node, coalesce(t.lease_until, 0), t.trace_context, t.event_uuid
     FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::bigint[], $6::bigint[], $7::text[], $8::bigint[], $11::text[], $12::text[])
       AS t(id, target, ev_i, webhook_id, due_at, created_at, node, lease_until, trace_context, event_uuid))
   SELECT pg_notify('${WAKE_CHANNEL}', $13::text) WHERE array_position($7::text[], NULL) IS NOT NULL`;

/**
 * Run once on each connection that writes enqueues. An enqueue group's
 * statement needs a few hundred KB of the backend's memory (the Bind
 * message, the arrays it carries, the rows unnested from them), freed when
 * it ends; glibc's malloc, which PostgreSQL uses on Linux, gives freed
 * memory at the top of the heap back to the kernel once it passes its trim
 * threshold (128 KB to start), so every group grew the heap again and
 * shrank it after: two brk calls, the new pages' faults and zeroing, and a
 * TLB flush, per group (docs/performance.md, the sixth round). glibc raises
 * that threshold to twice the size of the first large block the process
 * frees (up to 32 MB): this statement allocates and frees one of 1 MB
 * (repeat()'s result), so the backend keeps up to 2 MB it freed instead.
 * Elsewhere (another allocator) it is a query that does nothing.
 */
export const KEEP_FREED_MEMORY = `SELECT length(repeat('x', 1048576)) AS kept`;

export class PostgresStore implements DeliveryStore {
  readonly kind = 'postgres' as const;
  readonly #pool: pg.Pool;
  /**
   * The enqueues' own connection, used while the LISTEN connection is not up
   * (see #enqueueConnection; the service writes one group at a time):
   * the named statement is parsed, planned and its tables' caches loaded on
   * it once, where the shared pool handed each group whichever connection was
   * idle, so every connection of the pool paid that again (about 25 ms of the
   * server's CPU each), and a new one was often opened while requests waited.
   */
  readonly #writer: pg.Pool;
  /**
   * The dispatcher's claims and settles: two connections of their own (a
   * claim and a settle go side by side), on which both are named statements
   * run with their generic plans (DISPATCH_SETTINGS). Each was parsed and
   * planned again for every batch on the shared pool: about a quarter of the
   * server's CPU per delivery (docs/performance.md, the fifth round). Their
   * plans find every row by key whatever the batch's size (the plan tests
   * check the generic ones); the shared pool's one-off statements keep their
   * custom plans.
   */
  readonly #dispatch: pg.Pool;
  /** The claim/settle connections that were sent DISPATCH_SETTINGS. */
  readonly #genericPlans = new WeakSet<pg.PoolClient>();
  readonly #url: string;
  readonly #logger: Logger;
  readonly #wakeListeners = new Set<() => void>();
  readonly #cluster: ClusterListeners;
  #listener: pg.Client | undefined;
  #listening: Promise<void> | undefined;
  #closed = false;
  #reconnectTimer: NodeJS.Timeout | undefined;
  /** Reconnect attempts since the LISTEN connection was lost (for the backoff). */
  #retries = 0;
  /** When the LISTEN connection was lost, while it is. */
  #lostAt: number | undefined;
  /** The highest cluster log entry seen, and the recent ones (a replay must not deliver one twice). */
  #lastSeq = 0;
  readonly #seen = new Set<number>();
  readonly #keys = new PostgresIdempotencyKeys((sql, params) => this.#query(sql, params));
  /** Cluster messages that came while a replay ran, delivered after it. */
  #held: string[] | undefined;
  /** The payload of this store's enqueue wake-ups: its listener skips them (see ENQUEUE_SQL). */
  readonly #wakeFrom = `enqueue:${randomUUID()}`;

  constructor(options: PostgresStoreOptions) {
    this.#url = options.url;
    this.#logger = options.logger;
    this.#cluster = new ClusterListeners(options.logger);
    this.#pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 10 });
    // An idle client's error (server restart) must not crash the process.
    // Debug only: the delivery service logs the store lost / back once (a restart fails every idle client).
    this.#pool.on('error', (err) => this.#logger.debug({ err }, 'An idle PostgreSQL connection failed'));
    // Named, so an operator can tell it from the pool's connections in pg_stat_activity.
    this.#writer = new pg.Pool({ connectionString: options.url, max: 1, application_name: 'hookwork-enqueue' });
    this.#writer.on('error', (err) => this.#logger.debug({ err }, 'The idle PostgreSQL enqueue connection failed'));
    // Queued before the connection's first enqueue (see KEEP_FREED_MEMORY); a failure fails nothing else.
    this.#writer.on('connect', (client) => void client.query(KEEP_FREED_MEMORY).catch(() => undefined));
    this.#dispatch = new pg.Pool({ connectionString: options.url, max: 2, application_name: 'hookwork-dispatch' });
    this.#dispatch.on('error', (err) => this.#logger.debug({ err }, 'An idle PostgreSQL claim/settle connection failed'));
  }

  /**
   * A named statement (`name`) on the claim/settle connections (see
   * #dispatch). Each connection first gets DISPATCH_SETTINGS by a SET, rather than
   * a startup option, which poolers such as PgBouncer refuse. Where they do
   * not hold (a server before 12, a pooler in transaction mode handing the
   * statement another server connection), PostgreSQL plans the statements
   * itself, as it does the shared pool's.
   */
  async #dispatchQuery<R extends pg.QueryResultRow>(name: string, text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    const client = await this.#connect(this.#dispatch);
    try {
      if (!this.#genericPlans.has(client)) {
        this.#genericPlans.add(client);
        for (const setting of DISPATCH_SETTINGS) {
          await client.query(`SET ${setting}`).catch((err: unknown) => {
            this.#logger.debug({ err, setting }, 'Could not set a planner setting on a claim/settle connection; PostgreSQL picks the plans');
          });
        }
      }
      const result = await client.query<R>({ name, text, values });
      client.release();
      return result;
    } catch (err) {
      // As pg.Pool#query does: a connection whose statement failed is not handed out again.
      client.release(err as Error);
      throw asStoreError(err, `PostgreSQL at ${safeUrl(this.#url)}`);
    }
  }

  /** A connection of `pool`; failing to get one is a store error (a 503 the caller retries, store-faults.ts decides). */
  async #connect(pool: pg.Pool): Promise<pg.PoolClient> {
    try {
      return await pool.connect();
    } catch (err) {
      throw asStoreError(err, `PostgreSQL at ${safeUrl(this.#url)}`);
    }
  }

  async #query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    try {
      return await this.#pool.query<R>(sql, params);
    } catch (err) {
      // Restarting, unreachable, connection dropped: a 503 the caller retries (store-faults.ts decides).
      throw asStoreError(err, `PostgreSQL at ${safeUrl(this.#url)}`);
    }
  }

  async migrate(): Promise<void> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (err) {
      throw new DeliveryStoreError(`Cannot connect to the PostgreSQL delivery store at ${safeUrl(this.#url)}: ${(err as Error).message}. Check "store.url".`, {
        cause: err,
        ...(storeFault(err) === undefined ? {} : { fault: 'unavailable' as const }),
      });
    }
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query('CREATE TABLE IF NOT EXISTS hookwork_schema (version integer NOT NULL)');
      const { rows } = await client.query<{ version: number }>('SELECT max(version) AS version FROM hookwork_schema');
      const current = rows[0]?.version ?? 0;
      const latest = POSTGRES_MIGRATIONS[POSTGRES_MIGRATIONS.length - 1]?.version ?? 0;
      if (current > latest) {
        throw new DeliveryStoreError(`The PostgreSQL delivery store has schema version ${current}, newer than this Hookwork knows (${latest}). Upgrade Hookwork.`);
      }
      for (const step of POSTGRES_MIGRATIONS) {
        if (step.version <= current) continue;
        await client.query(step.sql);
        await client.query('INSERT INTO hookwork_schema (version) VALUES ($1)', [step.version]);
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
    // The enqueue connection is opened now, when the node starts, not by the first accepted event (it reconnects by itself if lost).
    try {
      (await this.#writer.connect()).release();
    } catch (err) {
      this.#logger.debug({ err }, 'Could not open the PostgreSQL enqueue connection yet; the first enqueue opens it');
    }
  }

  /** The schema version the database is at (0 before the first migration). */
  async version(): Promise<number> {
    const exists = await this.#query<{ t: string | null }>(`SELECT to_regclass('hookwork_schema')::text AS t`);
    if (exists.rows[0]?.t == null) return 0;
    const { rows } = await this.#query<{ version: number | null }>('SELECT max(version) AS version FROM hookwork_schema');
    return rows[0]?.version ?? 0;
  }

  async collectDigest(rows: readonly DigestMemberInput[]): Promise<void> {
    if (rows.length === 0) return;
    await this.#query(
      `INSERT INTO hookwork_digest_members (id, target, event, created_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])`,
      [rows.map((r) => r.id), rows.map((r) => r.target), rows.map((r) => r.eventJson), rows.map((r) => r.createdAt)],
    );
  }

  async digestHeads(): Promise<DigestHead[]> {
    const { rows } = await this.#query<{ target: string; count: number; oldest_at: string }>(
      `SELECT target, count(*)::int AS count, min(created_at) AS oldest_at FROM hookwork_digest_members GROUP BY target`,
    );
    return rows.map((r) => ({ target: r.target, count: r.count, oldestAt: Number(r.oldest_at) }));
  }

  /** One statement: members another node is taking are skipped (SKIP LOCKED), so no event goes into two batches. */
  async flushDigest(delivery: DigestDeliveryInput, limit: number): Promise<number> {
    const { rows } = await this.#query<{ n: number }>(
      `WITH taken AS (
         DELETE FROM hookwork_digest_members WHERE seq IN (
           SELECT seq FROM hookwork_digest_members WHERE target = $1 ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING seq, event),
       ev AS (
         INSERT INTO hookwork_events (refs, live, event)
         SELECT 1, 1, '[' || string_agg(event, ',' ORDER BY seq) || ']' FROM taken HAVING count(*) > 0
         RETURNING seq),
       ins AS (
         INSERT INTO hookwork_deliveries (id, target, event_seq, webhook_id, attempts, state, due_at, created_at, updated_at, claimed_by, lease_until)
         SELECT $3, $1, ev.seq, $4, 0, 'pending', $5, $6, $6, NULL, 0 FROM ev
         RETURNING 1)
       SELECT (SELECT count(*) FROM taken)::int AS n, (SELECT pg_notify('${WAKE_CHANNEL}', '') FROM ins) AS woke`,
      [delivery.target, limit, delivery.id, delivery.webhookId, delivery.dueAt, delivery.createdAt],
    );
    return rows[0]?.n ?? 0;
  }

  async enqueue(rows: readonly StoredDeliveryInput[]): Promise<void> {
    if (rows.length === 0) return;
    // Consecutive rows with the same JSON (one event to several targets) share one event row.
    const events: string[] = [];
    const refs: number[] = [];
    const eventOf: number[] = [];
    const uuids: (string | null)[] = [];
    let last: string | undefined;
    let uuid: string | null = null;
    for (const r of rows) {
      const json = eventJsonOf(r);
      if (json !== last) {
        // Sent as UTF-8 (textArray): a lone surrogate becomes U+FFFD, as a text parameter's UTF-8 makes it.
        events.push(json);
        refs.push(0);
        last = json;
        uuid = eventUuidOf(json);
      }
      refs[events.length - 1] = (refs[events.length - 1] as number) + 1;
      eventOf.push(events.length);
      uuids.push(uuid);
    }
    try {
      // A named statement on the enqueue connection: parsed and planned once, not per group.
      await this.#enqueueConnection().query({
        name: 'hookwork_enqueue',
        text: ENQUEUE_SQL,
        values: [
          textArray(rows.map((r) => r.id)),
          textArray(rows.map((r) => r.target)),
          int4Array(eventOf),
          textArray(rows.map((r) => r.webhookId)),
          int8Array(rows.map((r) => r.dueAt)),
          int8Array(rows.map((r) => r.createdAt)),
          textArray(rows.map((r) => r.claim?.nodeId)),
          int8Array(rows.map((r) => r.claim?.leaseUntil)),
          textArray(events),
          int4Array(refs),
          textArray(rows.map((r) => r.traceContext)),
          textArray(uuids),
          this.#wakeFrom,
        ],
      });
    } catch (err) {
      throw asStoreError(err, `PostgreSQL at ${safeUrl(this.#url)}`);
    }
  }

  /**
   * Where an enqueue goes: the LISTEN connection while it is up, else the
   * enqueue connection of its own. PostgreSQL hands a NOTIFY back to the
   * session that sent it, if it listens, without a signal: on the LISTEN
   * connection a group's wake-up for the other nodes no longer also wakes
   * this node's listening backend (a signal, a read of the queue, a message)
   * and its socket in this process, once per group, only to be skipped
   * (docs/performance.md, the sixth round). The other nodes are notified as
   * before; a wake-up or cluster message for this node that comes while a
   * group is being written arrives when its statement ends.
   */
  #enqueueConnection(): Pick<pg.Client, 'query'> {
    return this.#listener ?? this.#writer;
  }

  async claim(request: ClaimRequest): Promise<DeliveryRecord[]> {
    const names: string[] = [];
    const caps: number[] = [];
    for (const [target, capacity] of request.capacity) {
      if (capacity <= 0) continue;
      names.push(target);
      caps.push(capacity);
    }
    if (names.length === 0) return [];
    const { rows } = await this.#dispatchQuery<Parameters<typeof deliveryFromRow>[0]>('hookwork_claim', CLAIM_SQL, [
      textArray(names),
      int4Array(caps),
      request.now,
      request.nodeId,
      request.now + request.leaseMs,
    ]);
    return rows.map((row) => deliveryFromRow(row, true));
  }

  async dueTargets(now: number): Promise<string[]> {
    const { rows } = await this.#query<{ target: string }>(DUE_TARGETS_SQL, [now]);
    return rows.map((r) => r.target);
  }

  async settle(requests: readonly SettleRequest[]): Promise<number> {
    if (requests.length === 0) return 0;
    const { rows } = await this.#dispatchQuery<{ applied: string; pack_seqs: string[] | null; pack_events: string[] | null }>('hookwork_settle', SETTLE_SQL, settleParams(requests));
    const row = rows[0];
    if (row?.pack_seqs != null && row.pack_events != null) await this.#pack(row.pack_seqs, row.pack_events);
    return Number(row?.applied ?? 0);
  }

  /**
   * keep_done_body: compressed, for events whose deliveries are all done:
   * deflated here (PostgreSQL has no deflate of its own). A separate write
   * after the settle committed: if it fails, the event just stays whole.
   */
  async #pack(seqs: readonly string[], events: readonly string[]): Promise<void> {
    try {
      await this.#query(
        `UPDATE hookwork_events e SET packed = u.packed, event = NULL
         FROM unnest($1::bigint[], $2::bytea[]) AS u(seq, packed)
         WHERE e.seq = u.seq AND e.event IS NOT NULL`,
        [seqs, events.map((json) => packEvent(json))],
      );
    } catch (err) {
      this.#logger.debug({ err }, 'Could not compress the events of done deliveries; they stay whole');
    }
  }

  async list(filter: ListFilter = {}): Promise<DeliveryRecord[]> {
    const { where, params } = listWhere(filter, (n) => `$${n}`);
    const side = stateIndexTerm(filter.state);
    if (side !== undefined) where.push(side);
    params.push(filter.limit ?? 100);
    const sql =
      filter.state === undefined && filter.target === undefined && filter.eventId === undefined
        ? everyStateListSql(where, `$${params.length}`)
        : `${WITH_EVENT} ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY ${LIST_ORDER} LIMIT $${params.length}`;
    const { rows } = await this.#query<Parameters<typeof deliveryFromRow>[0]>(sql, params);
    return rows.map((row) => deliveryFromRow(row));
  }

  async get(id: string): Promise<DeliveryDetail | undefined> {
    const { rows } = await this.#query<Parameters<typeof deliveryFromRow>[0]>(`${WITH_EVENT} WHERE d.id = $1`, [id]);
    const row = rows[0];
    if (row === undefined) return undefined;
    const attempts = await this.#query<Parameters<typeof attemptFromRow>[0]>(
      'SELECT * FROM hookwork_attempts WHERE delivery_id = $1 ORDER BY seq',
      [id],
    );
    return { delivery: deliveryFromRow(row), attempts: attempts.rows.map(attemptFromRow) };
  }

  /** False (and nothing changes) when it does not exist or is in flight: being attempted right now. */
  async retry(id: string, now: number): Promise<boolean> {
    const { rows } = await this.#query<{ changed: boolean }>(
      `WITH old AS (
         SELECT d.id, d.state, d.event_seq FROM hookwork_deliveries d
         WHERE d.id = $1 AND d.state <> 'inflight' AND (d.state <> 'done' OR ${HAS_BODY}) FOR UPDATE),
       upd AS (
         UPDATE hookwork_deliveries d SET state = 'pending', attempts = 0, due_at = $2, updated_at = $2, claimed_by = NULL
         FROM old WHERE d.id = old.id RETURNING old.state, old.event_seq),
       ev AS (UPDATE hookwork_events SET live = live + 1 WHERE seq IN (SELECT event_seq FROM upd WHERE state = 'done'))
       SELECT EXISTS (SELECT 1 FROM upd) AS changed,
              (SELECT pg_notify('${WAKE_CHANNEL}', '') FROM upd LIMIT 1) IS NULL AS n`,
      [id, now],
    );
    return rows[0]?.changed === true;
  }

  async countReplay(request: Omit<ReplayRequest, 'now' | 'limit'>): Promise<number> {
    const { rows } = await this.#query<{ n: string }>(
      `SELECT count(*) AS n FROM hookwork_deliveries d WHERE d.target = $1 AND d.created_at >= $2 AND d.state = ANY($3::text[]) AND d.updated_at < $4 AND d.created_at < $5
         AND ${request.withoutBody === true ? `d.state = 'done' AND NOT ${HAS_BODY}` : `(d.state <> 'done' OR ${HAS_BODY})`}`,
      [request.target, request.since, request.states ?? ['failed'], request.before ?? Number.MAX_SAFE_INTEGER, request.until ?? Number.MAX_SAFE_INTEGER],
    );
    return Number(rows[0]?.n ?? 0);
  }

  async countStates(request: CountRequest): Promise<StateCounts> {
    const window = { target: request.target, since: request.since, ...(request.until === undefined ? {} : { until: request.until }) };
    const { where, params } = listWhere(window, (n) => `$${n}`);
    if (request.changedSince !== undefined) {
      params.push(request.changedSince);
      where.push(`d.updated_at >= $${params.length}`);
    }
    const { rows } = await this.#query<{ state: DeliveryState; n: string }>(
      `SELECT d.state, count(*) AS n FROM hookwork_deliveries d WHERE ${where.join(' AND ')} GROUP BY d.state`,
      params,
    );
    return stateCounts(rows);
  }

  async replayBatch(request: ReplayRequest): Promise<number> {
    const { rows } = await this.#query<{ n: string }>(
      `WITH picked AS (
         SELECT d.id, d.state, d.event_seq FROM hookwork_deliveries d
         WHERE d.target = $1 AND d.created_at >= $2 AND d.state = ANY($3::text[]) AND d.updated_at < $6 AND d.created_at < $7
           AND (d.state <> 'done' OR ${HAS_BODY})
         LIMIT $5 FOR UPDATE SKIP LOCKED),
       upd AS (
         UPDATE hookwork_deliveries d SET state = 'pending', attempts = 0, due_at = $4, updated_at = $4, claimed_by = NULL
         FROM picked WHERE d.id = picked.id
         RETURNING picked.state, picked.event_seq),
       -- A done delivery counts again among its event's live ones.
       ev AS (
         UPDATE hookwork_events e SET live = e.live + c.n
         FROM (SELECT event_seq, count(*) AS n FROM upd WHERE state = 'done' GROUP BY event_seq) AS c
         WHERE e.seq = c.event_seq)
       SELECT count(*) AS n, pg_notify('${WAKE_CHANNEL}', '') IS NULL AS w FROM upd`,
      [request.target, request.since, request.states ?? ['failed'], request.now, request.limit, request.before ?? Number.MAX_SAFE_INTEGER, request.until ?? Number.MAX_SAFE_INTEGER],
    );
    return Number(rows[0]?.n ?? 0);
  }

  async purge(request: PurgeRequest): Promise<number> {
    return this.#transaction(async (client) => {
      const { rows } = await client.query<{ n: string; empty: string[] | null }>(
        `WITH gone AS (
           DELETE FROM hookwork_deliveries WHERE id IN (
             SELECT id FROM hookwork_deliveries
             WHERE (settled_state = 'done' AND settled_at < $1) OR (settled_state = 'failed' AND settled_at < $2)
             LIMIT $3 FOR UPDATE SKIP LOCKED)
           RETURNING id, event_seq),
         att AS (DELETE FROM hookwork_attempts WHERE delivery_id IN (SELECT id FROM gone) RETURNING 1),
         ev AS (
           UPDATE hookwork_events e SET refs = e.refs - c.n
           FROM (SELECT event_seq, count(*) AS n FROM gone GROUP BY event_seq) AS c
           WHERE e.seq = c.event_seq RETURNING e.seq, e.refs)
         SELECT (SELECT count(*) FROM gone) AS n, (SELECT count(*) FROM att) AS a, (SELECT array_agg(seq) FROM ev WHERE refs <= 0) AS empty`,
        [request.doneBefore, request.failedBefore, request.limit],
      );
      const empty = rows[0]?.empty;
      // The event goes with the last delivery that carried it (a row cannot be updated and deleted in one statement).
      if (empty != null) await client.query('DELETE FROM hookwork_events WHERE seq = ANY($1::bigint[]) AND refs <= 0', [empty]);
      return Number(rows[0]?.n ?? 0);
    });
  }

  /** Runs `fn` in one transaction on one connection. */
  async #transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#connect(this.#pool);
    try {
      await client.query('BEGIN');
      const value = await fn(client);
      await client.query('COMMIT');
      return value;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw asStoreError(err, `PostgreSQL at ${safeUrl(this.#url)}`);
    } finally {
      client.release();
    }
  }

  async openByTarget(): Promise<TargetOpen[]> {
    const { rows } = await this.#query<{ target: string; state: 'pending' | 'inflight'; n: string }>(
      `SELECT target, state, count(*) AS n FROM hookwork_deliveries WHERE settled_state IS NULL GROUP BY target, state`,
    );
    return openFromRows(rows);
  }

  async depthByTarget(): Promise<TargetDepth[]> {
    const { rows } = await this.#query<{ target: string; state: DeliveryState; n: string; oldest: string | null }>(
      `SELECT target, state, count(*) AS n, min(due_at) AS oldest FROM hookwork_deliveries GROUP BY target, state`,
    );
    const disabled = new Map((await this.disabledTargets()).map((d) => [d.target, d]));
    return buildDepth(rows, disabled);
  }

  async disableTarget(target: string, reason: string, at: number): Promise<void> {
    await this.#query(
      'INSERT INTO hookwork_disabled_targets (target, at, reason) VALUES ($1, $2, $3) ON CONFLICT (target) DO NOTHING',
      [target, at, reason],
    );
  }

  async enableTarget(target: string): Promise<boolean> {
    const { rowCount } = await this.#query(
      `WITH del AS (DELETE FROM hookwork_disabled_targets WHERE target = $1 RETURNING 1)
       SELECT 1 FROM del, pg_notify('${WAKE_CHANNEL}', '') AS n`,
      [target],
    );
    return (rowCount ?? 0) > 0;
  }

  async disabledTargets(): Promise<DisabledTarget[]> {
    const { rows } = await this.#query<{ target: string; at: string; reason: string }>(
      'SELECT target, at, reason FROM hookwork_disabled_targets ORDER BY target',
    );
    return rows.map((r) => ({ target: r.target, at: Number(r.at), reason: r.reason }));
  }

  async saveCircuit(target: string, state: 'open' | 'closed', openUntil: number, at: number, nodeId: string): Promise<void> {
    await this.#query(
      `INSERT INTO hookwork_target_health (target, circuit_state, open_until, circuit_at, circuit_node) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (target) DO UPDATE SET circuit_state = excluded.circuit_state, open_until = excluded.open_until,
         circuit_at = excluded.circuit_at, circuit_node = excluded.circuit_node`,
      [target, state, openUntil, at, nodeId],
    );
  }

  async markFailing(target: string, at: number): Promise<void> {
    await this.#query(
      `INSERT INTO hookwork_target_health (target, failing_since) VALUES ($1, $2)
       ON CONFLICT (target) DO UPDATE SET failing_since = coalesce(hookwork_target_health.failing_since, excluded.failing_since)`,
      [target, at],
    );
  }

  async clearFailing(target: string, at: number): Promise<void> {
    await this.#query('UPDATE hookwork_target_health SET failing_since = NULL WHERE target = $1 AND failing_since <= $2', [target, at]);
  }

  async targetHealth(): Promise<TargetHealth[]> {
    const { rows } = await this.#query<TargetHealthRow>(
      'SELECT target, circuit_state, open_until, circuit_at, circuit_node, failing_since FROM hookwork_target_health ORDER BY target',
    );
    return rows.map(targetHealthFromRow);
  }

  /**
   * The shared token bucket (see rate-limiter.ts): refilled by the time since
   * its last take on the database's clock (nodes' clocks may differ), capped
   * at the burst, then up to `want` whole tokens taken; one statement, the
   * row lock serialising nodes. A new bucket starts full.
   */
  async takeRateTokens(target: string, want: number, limit: RateLimit): Promise<number> {
    const now = '(extract(epoch FROM statement_timestamp()) * 1000)';
    const avail = `LEAST($3::float8, b.tokens + GREATEST(0, ${now} - b.updated_at) * $2::float8)`;
    const granted = `LEAST($4::int, floor(${avail})::int)`;
    const { rows } = await this.#query<{ granted: number }>(
      `INSERT INTO hookwork_rate_buckets AS b (target, tokens, updated_at, granted)
       VALUES ($1, $3::float8 - LEAST($4::int, floor($3::float8)::int), ${now}, LEAST($4::int, floor($3::float8)::int))
       ON CONFLICT (target) DO UPDATE SET granted = ${granted}, tokens = ${avail} - ${granted}, updated_at = GREATEST(b.updated_at, ${now})
       RETURNING granted`,
      [target, limit.perSecond / 1000, limit.burst, want],
    );
    return rows[0]?.granted ?? 0;
  }

  async targetSecrets(): Promise<TargetSecretsRecord[]> {
    const { rows } = await this.#query<{ target: string; secrets: string[]; previous: string[]; previous_until: string; rotated_at: string }>(
      'SELECT target, secrets, previous, previous_until, rotated_at FROM hookwork_target_secrets ORDER BY target',
    );
    return rows.map((r) => ({ target: r.target, secrets: r.secrets, previous: r.previous, previousUntil: Number(r.previous_until), rotatedAt: Number(r.rotated_at) }));
  }

  async setTargetSecrets(record: TargetSecretsRecord): Promise<void> {
    await this.#query(
      `INSERT INTO hookwork_target_secrets (target, secrets, previous, previous_until, rotated_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (target) DO UPDATE SET secrets = EXCLUDED.secrets, previous = EXCLUDED.previous, previous_until = EXCLUDED.previous_until, rotated_at = EXCLUDED.rotated_at`,
      [record.target, record.secrets, record.previous, record.previousUntil, record.rotatedAt],
    );
  }

  /**
   * One statement: the insert that claims the tick (the primary key lets one
   * node's through; a node whose claim is not newer than the schedule's
   * newest one gets nothing), dropping the older ticks and recording a fired
   * one go with it.
   */
  async claimScheduleTick(claim: ScheduleTickClaim): Promise<boolean> {
    const { rows } = await this.#query<{ n: number }>(
      `WITH ins AS (
         INSERT INTO hookwork_schedule_ticks (name, tick, node, claimed_at, fired)
         SELECT $1::text, $2::bigint, $3::text, $4::bigint, $5::boolean
         WHERE NOT EXISTS (SELECT 1 FROM hookwork_schedule_ticks WHERE name = $1::text AND tick >= $2::bigint)
         ON CONFLICT (name, tick) DO NOTHING
         RETURNING tick
       ), old AS (
         DELETE FROM hookwork_schedule_ticks t USING ins WHERE t.name = $1::text AND t.tick < ins.tick
       ), fired AS (
         INSERT INTO hookwork_schedule_state (name, fired_tick, fired_at, fired_node)
         SELECT $1::text, ins.tick, $4::bigint, $3::text FROM ins WHERE $5::boolean
         ON CONFLICT (name) DO UPDATE SET fired_tick = excluded.fired_tick, fired_at = excluded.fired_at, fired_node = excluded.fired_node
       )
       SELECT count(*)::int AS n FROM ins`,
      [claim.name, claim.tick, claim.nodeId, claim.at, claim.fired],
    );
    return (rows[0]?.n ?? 0) > 0;
  }

  async setSchedulePaused(name: string, paused: boolean, at: number): Promise<void> {
    await this.#query(
      `INSERT INTO hookwork_schedule_state (name, paused, changed_at) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO UPDATE SET paused = excluded.paused, changed_at = excluded.changed_at`,
      [name, paused, at],
    );
  }

  async scheduleState(name: string): Promise<ScheduleRecord> {
    return (await this.scheduleStates()).find((r) => r.name === name) ?? { name, paused: false };
  }

  async scheduleStates(): Promise<ScheduleRecord[]> {
    const [states, ticks] = await Promise.all([
      this.#query<ScheduleStateRow>('SELECT name, paused, changed_at, fired_tick, fired_at, fired_node FROM hookwork_schedule_state'),
      this.#query<{ name: string; tick: string }>('SELECT name, max(tick) AS tick FROM hookwork_schedule_ticks GROUP BY name'),
    ]);
    return scheduleRecords(states.rows, ticks.rows);
  }

  /** Calls `listener` when another node (or the CLI) adds or frees work. */
  onWake(listener: () => void): () => void {
    this.#wakeListeners.add(listener);
    void this.#listen().catch((err: unknown) => {
      this.#logger.warn({ err }, 'LISTEN for wake-ups failed; polling, and reconnecting with backoff');
      this.#scheduleReconnect();
    });
    return () => {
      this.#wakeListeners.delete(listener);
    };
  }

  async openClusterBus(nodeId: string): Promise<ClusterBus> {
    await this.#listen();
    const listeners = this.#cluster;
    const store = this;
    return {
      nodeId,
      shared: true,
      async publish(topic: string, payload: Record<string, unknown> = {}): Promise<void> {
        const text = JSON.stringify({ topic, from: nodeId, payload });
        if (Buffer.byteLength(text) > 7900) {
          throw new DeliveryStoreError(`The cluster message "${topic}" is ${Buffer.byteLength(text)} bytes; NOTIFY payloads must stay under 8000.`);
        }
        await store.#publish(text);
      },
      subscribe(topic: string, listener: ClusterListener): () => void {
        return listeners.add(topic, listener);
      },
    };
  }

  /** Logs the message (for nodes that missed the NOTIFY) and notifies, in one statement. */
  async #publish(text: string): Promise<void> {
    const now = Date.now();
    try {
      await this.#query(
        `WITH ins AS (INSERT INTO hookwork_cluster_log (at, body) VALUES ($2, $1) RETURNING seq),
              old AS (DELETE FROM hookwork_cluster_log WHERE at < $3)
         SELECT pg_notify('${CLUSTER_CHANNEL}', jsonb_set($1::jsonb, '{seq}', to_jsonb(ins.seq))::text) FROM ins`,
        [text, now, now - CLUSTER_LOG_KEEP_MS],
      );
    } catch (err) {
      // A database not migrated to the log (version < 2): NOTIFY alone, as before.
      if ((err as { code?: string }).code !== '42P01') throw err;
      await this.#query('SELECT pg_notify($1, $2)', [CLUSTER_CHANNEL, text]);
    }
  }

  #onNotification(msg: pg.Notification): void {
    if (msg.channel === WAKE_CHANNEL) {
      // This store's own enqueue: the service handed its rows to the dispatcher already.
      if (msg.payload !== this.#wakeFrom) this.#wakeAll();
    } else if (msg.channel === CLUSTER_CHANNEL && msg.payload !== undefined) {
      // While missed messages are replayed, newer ones wait behind them (order kept).
      if (this.#held !== undefined) this.#held.push(msg.payload);
      else this.#deliverCluster(msg.payload);
    }
  }

  #wakeAll(): void {
    for (const fn of this.#wakeListeners) fn();
  }

  /** Delivers one cluster message once (a replayed one may also come by NOTIFY). */
  #deliverCluster(text: string, seq?: number): void {
    try {
      const parsed = JSON.parse(text) as ClusterMessage & { seq?: unknown };
      const n = seq ?? (typeof parsed.seq === 'number' ? parsed.seq : undefined);
      if (n !== undefined) {
        if (this.#seen.has(n)) return;
        this.#seen.add(n);
        if (this.#seen.size > SEEN_KEEP) this.#seen.delete(this.#seen.values().next().value as number);
        if (n > this.#lastSeq) this.#lastSeq = n;
      }
      this.#cluster.deliver(Object.freeze({ topic: parsed.topic, from: parsed.from, payload: parsed.payload ?? {} }));
    } catch (err) {
      this.#logger.warn({ err }, 'Ignored a malformed cluster message');
    }
  }

  /** Connects the LISTEN client once; a lost connection reconnects with backoff (see #scheduleReconnect). */
  #listen(): Promise<void> {
    this.#listening ??= this.#connectListener().catch((err: unknown) => {
      this.#listening = undefined;
      throw err;
    });
    return this.#listening;
  }

  async #connectListener(): Promise<void> {
    // Named, so an operator (and a test) can tell it from the pool's connections in pg_stat_activity.
    const client = new pg.Client({ connectionString: this.#url, application_name: 'hookwork-listen' });
    let gone = false;
    const lost = (err?: unknown): void => {
      if (gone) return;
      gone = true;
      void client.end().catch(() => undefined);
      if (this.#listener !== client) return; // still connecting: the caller sees the failure
      this.#listener = undefined;
      this.#listening = undefined;
      if (this.#closed) return;
      this.#lostAt = Date.now();
      this.#logger.warn({ err }, 'The PostgreSQL LISTEN connection (wake-ups, cluster bus) was lost; reconnecting with backoff');
      this.#scheduleReconnect();
    };
    client.on('notification', (msg) => this.#onNotification(msg));
    client.on('error', lost);
    client.on('end', () => lost(new Error('the connection ended')));
    try {
      await client.connect();
      // Enqueues go on this connection (#enqueueConnection); failing this one statement must not fail LISTEN.
      // Before the LISTENs: from the last one until #catchUp holds them, no await may let a notification through.
      await client.query(KEEP_FREED_MEMORY).catch(() => undefined);
      await client.query(`LISTEN ${WAKE_CHANNEL}`);
      await client.query(`LISTEN ${CLUSTER_CHANNEL}`);
    } catch (err) {
      gone = true;
      void client.end().catch(() => undefined);
      throw err;
    }
    if (this.#closed) {
      gone = true;
      await client.end().catch(() => undefined);
      return;
    }
    this.#listener = client;
    const reconnected = this.#lostAt !== undefined;
    await this.#catchUp(client, reconnected);
    if (reconnected) {
      this.#logger.warn(
        { down_ms: Date.now() - (this.#lostAt as number), attempts: this.#retries },
        'The PostgreSQL LISTEN connection is back; replayed the cluster messages it missed and woke the dispatcher',
      );
      this.#lostAt = undefined;
    }
    this.#retries = 0;
  }

  /**
   * After (re)subscribing: NOTIFY keeps nothing for a listener that was away,
   * so the cluster messages logged since the last one seen are replayed (each
   * delivered once), and the dispatcher is woken for enqueues it missed. The
   * first connection only notes where the log is.
   */
  async #catchUp(client: pg.Client, reconnected: boolean): Promise<void> {
    try {
      if (!reconnected) {
        const { rows } = await client.query<{ seq: string | null }>('SELECT max(seq) AS seq FROM hookwork_cluster_log');
        this.#lastSeq = Math.max(this.#lastSeq, Number(rows[0]?.seq ?? 0));
        return;
      }
      this.#held = [];
      // Sequence numbers are taken before commit: look a little behind the last one seen for a late commit.
      const { rows } = await client.query<{ seq: string; body: string }>(
        'SELECT seq, body FROM hookwork_cluster_log WHERE seq > $1 ORDER BY seq',
        [Math.max(0, this.#lastSeq - SEEN_KEEP)],
      );
      for (const row of rows) this.#deliverCluster(row.body, Number(row.seq));
    } catch (err) {
      // Not migrated to the log (42P01): nothing to replay.
      if ((err as { code?: string }).code !== '42P01') this.#logger.warn({ err }, 'Could not replay the missed cluster messages');
    } finally {
      const held = this.#held;
      this.#held = undefined;
      for (const text of held ?? []) this.#deliverCluster(text);
      if (reconnected) this.#wakeAll();
    }
  }

  /** Tries LISTEN again after 100 ms, doubling to 5 s, with jitter, until it succeeds or the store closes. */
  #scheduleReconnect(): void {
    if (this.#closed || this.#reconnectTimer !== undefined) return;
    const cap = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** Math.min(this.#retries, 16));
    const delay = cap / 2 + (Math.random() * cap) / 2;
    this.#retries += 1;
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      this.#listen().catch((err: unknown) => {
        this.#logger.debug({ err, attempts: this.#retries }, 'Reconnecting LISTEN failed; trying again');
        this.#scheduleReconnect();
      });
    }, delay);
    this.#reconnectTimer.unref();
  }

  // Idempotency keys of emits (idempotency-keys.ts): a table of their own.

  reserveIdempotencyKey(claim: IdempotencyClaim): Promise<IdempotencyReservation | undefined> {
    return this.#keys.reserveIdempotencyKey(claim);
  }

  completeIdempotencyKey(key: string, fingerprint: string): Promise<void> {
    return this.#keys.completeIdempotencyKey(key, fingerprint);
  }

  releaseIdempotencyKey(key: string, fingerprint: string): Promise<void> {
    return this.#keys.releaseIdempotencyKey(key, fingerprint);
  }

  purgeIdempotencyKeys(now: number, limit: number): Promise<number> {
    return this.#keys.purgeIdempotencyKeys(now, limit);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#reconnectTimer !== undefined) clearTimeout(this.#reconnectTimer);
    await this.#listening?.catch(() => undefined);
    await this.#listener?.end().catch(() => undefined);
    await Promise.all([this.#pool.end(), this.#writer.end(), this.#dispatch.end()]);
  }
}
