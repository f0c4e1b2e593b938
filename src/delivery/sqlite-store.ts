// The embedded store: one SQLite file (better-sqlite3, WAL). Every write is
// one transaction per batch (an enqueue batch, a dispatcher tick's settles and
// claim): single-row commits are what makes a SQLite queue slow.
// Durability: WAL commits survive a killed process with any `synchronous`.
// With synchronous=FULL (default) accepted deliveries (enqueue) and operator
// changes are fsynced, so they also survive power loss. The dispatcher's own
// bookkeeping (claims, attempt records, outcomes) commits with NORMAL: losing
// its last commits to a power cut only means those deliveries are claimed and
// sent again (at-least-once), and a later FULL commit syncs them anyway. An
// fsync per dispatcher tick would cost more than the deliveries themselves.

import Database, { type Database as Db } from 'better-sqlite3';
import { DeliveryStoreError } from '../errors.js';
import { SQLITE_MIGRATIONS } from './migrations/sqlite.js';
import { SqliteIdempotencyKeys } from './idempotency-keys.js';
import type { IdempotencyClaim, IdempotencyReservation } from '../events/idempotency.js';
import { scheduleRecords, type ScheduleRecord, type ScheduleStateRow, type ScheduleTickClaim } from './schedule-store.js';
import { targetHealthFromRow, type TargetHealth, type TargetHealthRow } from './target-health.js';
import {
  DROPPED_EVENT_JSON,
  packEvent,
  unpackEvent,
  type KeepDoneBody,
  type ClaimRequest,
  type CountRequest,
  type StateCounts,
  type DeliveryDetail,
  type DeliveryStore,
  type DisabledTarget,
  type TargetSecretsRecord,
  type ListFilter,
  type PurgeRequest,
  type ReplayRequest,
  type SettleRequest,
  type StoredDeliveryInput,
  type TargetDepth,
  type TargetOpen,
  digestEventJson,
  type DigestDeliveryInput,
  type DigestHead,
  type DigestMemberInput,
} from './store.js';
import type { DeliveryRecord, DeliveryState } from './types.js';
import { eventUuidOf } from './delivery-id.js';
import {
  CLAIMED_COLUMNS,
  packRows,
  packSettles,
  pushClaimedRow,
  readSettle,
  ROW,
  settleCount,
  settleView,
  unpackClaimed,
  type ClaimedRow,
  type Packed,
  type SettleView,
} from './sqlite-wire.js';
import {
  attemptFromRow,
  buildDepth,
  openFromRows,
  deliveryFromRow,
  LIST_ORDER,
  listWhere,
  stateCounts,
  type AttemptRow,
  type DeliveryRow,
} from './row-mappers.js';

export interface SqliteStoreOptions {
  readonly file: string;
  readonly synchronous?: 'full' | 'normal';
}

/** A delivery row with its event: what get() and list() read. */
const WITH_EVENT = `SELECT d.id, d.target, e.event, d.webhook_id, d.attempts, d.state, d.due_at, d.created_at, d.updated_at, d.last_error, d.trace_context
  FROM deliveries d JOIN delivery_events e ON e.seq = d.event_seq`;

/** What a claim returns of each row (raw: in ClaimedRow's order); the event is read from delivery_events once per event. */
const CLAIMED = CLAIMED_COLUMNS;

/**
 * The targets with work a claim would take now: each target with pending (or
 * in-flight) rows once, by a skip scan of the partial index (one seek per
 * such target, not per row), kept when its earliest due time (or lease end),
 * one more seek, has come. INDEXED BY: the planner took the (state,
 * created_at) index instead and sorted every pending row. Exported for the
 * plan test.
 */
export const DUE_TARGETS_SQL = `WITH RECURSIVE
     p(target) AS (
       SELECT (SELECT target FROM deliveries INDEXED BY deliveries_pending WHERE state = 'pending' ORDER BY target LIMIT 1)
       UNION ALL
       SELECT (SELECT d.target FROM deliveries d INDEXED BY deliveries_pending WHERE d.state = 'pending' AND d.target > p.target ORDER BY d.target LIMIT 1)
       FROM p WHERE p.target IS NOT NULL),
     f(target) AS (
       SELECT (SELECT target FROM deliveries INDEXED BY deliveries_inflight WHERE state = 'inflight' ORDER BY target LIMIT 1)
       UNION ALL
       SELECT (SELECT d.target FROM deliveries d INDEXED BY deliveries_inflight WHERE d.state = 'inflight' AND d.target > f.target ORDER BY d.target LIMIT 1)
       FROM f WHERE f.target IS NOT NULL)
   SELECT target FROM p WHERE target IS NOT NULL
     AND (SELECT min(d.due_at) FROM deliveries d INDEXED BY deliveries_pending WHERE d.state = 'pending' AND d.target = p.target) <= ?
   UNION
   SELECT target FROM f WHERE target IS NOT NULL
     AND (SELECT min(d.lease_until) FROM deliveries d INDEXED BY deliveries_inflight WHERE d.state = 'inflight' AND d.target = f.target) <= ?`;

/*
 * HOT_WRITES: the dispatcher's statements (claims, settles) run many to a
 * transaction, and any error in one rolls the whole transaction back
 * (#bookkeeping), so nothing needs one statement undone alone. Two defaults
 * of SQLite would make each cost more than its rows:
 * - An UPDATE that may abort (a NOT NULL check, with the default ON CONFLICT
 *   ABORT) inside a transaction opens a statement journal and copies every
 *   page it is about to change into it, first in memory, then into a temp
 *   file (/var/tmp/etilqs_…, created and unlinked per statement) once it
 *   passes 64 KiB, as a claim of 64 rows does. UPDATE OR FAIL needs none:
 *   a failure stops the statement where it is, and the transaction is
 *   rolled back as before (SQLite itself rolls back the whole transaction
 *   on a full disk or an I/O error when there is no statement journal).
 * - A bound LIMIT (`LIMIT ?`) is read as a constant when the statement is
 *   prepared: binding it again (every run) expires the statement, so each
 *   claim was compiled again. `LIMIT ? + 0` is an expression: the same
 *   limit, read when the statement runs.
 */
function prepareStatements(db: Db) {
  return {
    insertEvent: db.prepare(`INSERT INTO delivery_events (refs, live, event) VALUES (?, ?, ?)`),
    insertMember: db.prepare(`INSERT INTO digest_members (id, target, event, created_at) VALUES (?, ?, ?, ?)`),
    digestHeads: db.prepare(`SELECT target, count(*) AS count, min(created_at) AS oldestAt FROM digest_members GROUP BY target`),
    digestBatch: db.prepare(`SELECT seq, event FROM digest_members WHERE target = ? ORDER BY seq LIMIT ?`),
    deleteMembers: db.prepare(`DELETE FROM digest_members WHERE target = ? AND seq <= ?`),
    insert: db.prepare(
      `INSERT INTO deliveries (id, target, event_seq, webhook_id, attempts, state, due_at, created_at, updated_at, trace_context, event_uuid)
       VALUES (?, ?, ?, ?, 0, 'pending', ?, ?, ?, ?, ?)`,
    ),
    insertClaimed: db.prepare(
      `INSERT INTO deliveries (id, target, event_seq, webhook_id, attempts, state, due_at, created_at, updated_at, trace_context, claimed_by, lease_until, event_uuid)
       VALUES (?, ?, ?, ?, 1, 'inflight', ?, ?, ?, ?, ?, ?, ?)`,
    ),
    // The dispatcher's writes (claims, settles) are UPDATE OR FAIL and their LIMITs `? + 0`; see HOT_WRITES above.
    // Raw rows (arrays): the store thread packs them for the wire as they come.
    claimExpired: db
      .prepare(
        `UPDATE OR FAIL deliveries SET state = 'inflight', attempts = attempts + 1, claimed_by = ?, lease_until = ?, updated_at = ?
       WHERE seq IN (SELECT seq FROM deliveries WHERE target = ? AND state = 'inflight' AND lease_until <= ? LIMIT ? + 0)
       RETURNING ${CLAIMED}`,
      )
      .raw(),
    claimDue: db
      .prepare(
        `UPDATE OR FAIL deliveries SET state = 'inflight', attempts = attempts + 1, claimed_by = ?, lease_until = ?, updated_at = ?
       WHERE seq IN (SELECT seq FROM deliveries WHERE target = ? AND state = 'pending' AND due_at <= ? ORDER BY due_at LIMIT ? + 0)
       RETURNING ${CLAIMED}`,
      )
      .raw(),
    dueTargets: db.prepare(DUE_TARGETS_SQL).pluck(),
    eventOf: db.prepare(`SELECT event FROM delivery_events WHERE seq = ?`).pluck(),
    insertAttempt: db.prepare(
      `INSERT INTO attempts (delivery_id, attempt, started_at, duration_ms, ok, http_status, exit_code, response, error, detail, request_headers, request_body, response_headers)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    settle: db.prepare(
      `UPDATE OR FAIL deliveries SET state = ?, due_at = coalesce(?, due_at), attempts = attempts - ?, last_error = coalesce(?, last_error),
         claimed_by = NULL, updated_at = ?
       WHERE id = ? AND state = 'inflight' AND claimed_by = ? AND attempts = ?
       RETURNING event_seq`,
    ).pluck(),
    // Deliveries of the event are done (one statement per event of a settle batch): the last one applies keep_done_body.
    doneLive: db.prepare(`UPDATE OR FAIL delivery_events SET live = live - ? WHERE seq = ? RETURNING live`).pluck(),
    reopenLive: db.prepare(`UPDATE delivery_events SET live = live + 1 WHERE seq = ?`),
    setEvent: db.prepare(`UPDATE delivery_events SET event = ? WHERE seq = ?`),
    reopenable: db.prepare(
      `SELECT d.state, d.event_seq, length(e.event) > 0 AS kept FROM deliveries d JOIN delivery_events e ON e.seq = d.event_seq WHERE d.id = ?`,
    ),
    get: db.prepare(`${WITH_EVENT} WHERE d.id = ?`),
    attemptsOf: db.prepare(`SELECT * FROM attempts WHERE delivery_id = ? ORDER BY seq`),
    retry: db.prepare(
      `UPDATE deliveries SET state = 'pending', attempts = 0, due_at = ?, updated_at = ?, claimed_by = NULL
       WHERE id = ? AND state != 'inflight'`,
    ),
    reopenSeq: db.prepare(
      `UPDATE deliveries SET state = 'pending', attempts = 0, due_at = ?, updated_at = ?, claimed_by = NULL WHERE seq = ?`,
    ),
    purgeDone: db.prepare(`SELECT seq, id, event_seq FROM deliveries WHERE state = 'done' AND updated_at < ? LIMIT ?`),
    purgeFailed: db.prepare(`SELECT seq, id, event_seq FROM deliveries WHERE state = 'failed' AND updated_at < ? LIMIT ?`),
    deleteDelivery: db.prepare(`DELETE FROM deliveries WHERE seq = ?`),
    deleteAttempts: db.prepare(`DELETE FROM attempts WHERE delivery_id = ?`),
    releaseEvent: db.prepare(`UPDATE delivery_events SET refs = refs - 1 WHERE seq = ? RETURNING refs`).pluck(),
    deleteEvent: db.prepare(`DELETE FROM delivery_events WHERE seq = ?`),
    // One query per state, each over its own partial index (none reads a row).
    depth: db.prepare(
      `SELECT target, 'pending' AS state, count(*) AS n, min(due_at) AS oldest FROM deliveries WHERE state = 'pending' GROUP BY target
       UNION ALL SELECT target, 'inflight', count(*), NULL FROM deliveries WHERE state = 'inflight' GROUP BY target
       UNION ALL SELECT target, 'done', count(*), NULL FROM deliveries WHERE state = 'done' GROUP BY target
       UNION ALL SELECT target, 'failed', count(*), NULL FROM deliveries WHERE state = 'failed' GROUP BY target`,
    ),
    // The first two parts of depth: the pending and in-flight rows only, found through the (state, created_at) index.
    open: db.prepare(
      `SELECT target, 'pending' AS state, count(*) AS n FROM deliveries WHERE state = 'pending' GROUP BY target
       UNION ALL SELECT target, 'inflight', count(*) FROM deliveries WHERE state = 'inflight' GROUP BY target`,
    ),
    disable: db.prepare(`INSERT OR IGNORE INTO disabled_targets (target, at, reason) VALUES (?, ?, ?)`),
    enable: db.prepare(`DELETE FROM disabled_targets WHERE target = ?`),
    disabled: db.prepare(`SELECT target, at, reason FROM disabled_targets ORDER BY target`),
    // A claim is refused when this tick or a newer one of the schedule was claimed (see ScheduleStore).
    claimTick: db.prepare(
      `INSERT OR IGNORE INTO schedule_ticks (name, tick, node, claimed_at, fired)
       SELECT ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM schedule_ticks WHERE name = ? AND tick >= ?)`,
    ),
    dropOlderTicks: db.prepare(`DELETE FROM schedule_ticks WHERE name = ? AND tick < ?`),
    tickFired: db.prepare(
      `INSERT INTO schedule_state (name, fired_tick, fired_at, fired_node) VALUES (?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET fired_tick = excluded.fired_tick, fired_at = excluded.fired_at, fired_node = excluded.fired_node`,
    ),
    setPaused: db.prepare(
      `INSERT INTO schedule_state (name, paused, changed_at) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET paused = excluded.paused, changed_at = excluded.changed_at`,
    ),
    scheduleStates: db.prepare(`SELECT name, paused, changed_at, fired_tick, fired_at, fired_node FROM schedule_state`),
    scheduleTicks: db.prepare(`SELECT name, max(tick) AS tick FROM schedule_ticks GROUP BY name`),
    syncNormal: db.prepare(`PRAGMA synchronous = NORMAL`),
    syncFull: db.prepare(`PRAGMA synchronous = FULL`),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

/** The target health statements (see target-health.ts), prepared on first use. */
function prepareHealth(db: Db) {
  return {
    saveCircuit: db.prepare(
      `INSERT INTO target_health (target, circuit_state, open_until, circuit_at, circuit_node) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (target) DO UPDATE SET circuit_state = excluded.circuit_state, open_until = excluded.open_until,
         circuit_at = excluded.circuit_at, circuit_node = excluded.circuit_node`,
    ),
    markFailing: db.prepare(
      `INSERT INTO target_health (target, failing_since) VALUES (?, ?)
       ON CONFLICT (target) DO UPDATE SET failing_since = coalesce(failing_since, excluded.failing_since)`,
    ),
    clearFailing: db.prepare(`UPDATE target_health SET failing_since = NULL WHERE target = ? AND failing_since <= ?`),
    all: db.prepare(`SELECT target, circuit_state, open_until, circuit_at, circuit_node, failing_since FROM target_health ORDER BY target`),
  };
}

export class SqliteStore implements DeliveryStore {
  readonly kind = 'sqlite' as const;
  readonly file: string;
  readonly #db: Db;
  readonly #full: boolean;
  #s: Statements | undefined;
  #h: ReturnType<typeof prepareHealth> | undefined;
  #k: SqliteIdempotencyKeys | undefined;
  /** The one settle view #settle reads each packed settle into. */
  readonly #view: SettleView = settleView();

  constructor(options: SqliteStoreOptions) {
    this.file = options.file;
    try {
      this.#db = new Database(options.file);
      // A new file gets 8 KiB pages (SQLite's default is 4): each commit writes
      // its changed pages to the WAL with two writes a page (frame header,
      // page), and a dispatcher commit changes about 50 of them; with pages
      // twice as large it makes ~40 % fewer write calls for ~20 % more bytes,
      // which costs the store thread less CPU (see docs/performance.md,
      // "Durable SQLite delivery: the fifth round"). Set before the first
      // write; an existing file keeps its page size (SQLite ignores this then).
      this.#db.pragma('page_size = 8192');
      this.#db.pragma('journal_mode = WAL');
      this.#full = options.synchronous !== 'normal';
      this.#db.pragma(`synchronous = ${this.#full ? 'FULL' : 'NORMAL'}`);
      // The CLI and the gateway may share the file: wait for each other's writes.
      this.#db.pragma('busy_timeout = 5000');
    } catch (err) {
      throw new DeliveryStoreError(`Cannot open the SQLite delivery store "${options.file}": ${(err as Error).message}`, { cause: err });
    }
  }

  /** The schema version the file is at. */
  get version(): number {
    return this.#db.pragma('user_version', { simple: true }) as number;
  }

  async migrate(): Promise<void> {
    const current = this.version;
    const latest = SQLITE_MIGRATIONS[SQLITE_MIGRATIONS.length - 1]?.version ?? 0;
    if (current > latest) {
      throw new DeliveryStoreError(
        `The delivery store "${this.file}" has schema version ${current}, newer than this Hookwork knows (${latest}). Upgrade Hookwork or use another store.`,
      );
    }
    for (const step of SQLITE_MIGRATIONS) {
      if (step.version <= current) continue;
      this.#db.transaction(() => {
        this.#db.exec(step.sql);
        this.#db.pragma(`user_version = ${step.version}`);
      }).immediate();
    }
    this.#s = prepareStatements(this.#db);
  }

  get #stmts(): Statements {
    if (this.#s === undefined) throw new DeliveryStoreError('The SQLite delivery store was used before migrate().');
    return this.#s;
  }


  async enqueue(rows: readonly StoredDeliveryInput[]): Promise<void> {
    this.enqueuePacked(packRows(rows));
  }

  /**
   * enqueue() as the store thread receives it (packRows' layout), written
   * without making a row object per delivery. Consecutive rows with the same
   * event (one event to several targets; the wire sends it once, then null)
   * share one event row.
   */
  enqueuePacked(packed: readonly Packed[]): void {
    const s = this.#stmts;
    this.#db.transaction(() => {
      let i = 0;
      while (i < packed.length) {
        const json = packed[i + ROW.event] as string;
        let end = i + ROW.fields;
        while (end < packed.length && packed[end + ROW.event] === null) end += ROW.fields;
        const n = (end - i) / ROW.fields;
        const eventSeq = s.insertEvent.run(n, n, json).lastInsertRowid;
        const uuid = eventUuidOf(json);
        for (; i < end; i += ROW.fields) {
          const createdAt = packed[i + ROW.createdAt];
          const nodeId = packed[i + ROW.nodeId];
          if (nodeId === null) {
            s.insert.run(packed[i + ROW.id], packed[i + ROW.target], eventSeq, packed[i + ROW.webhookId], packed[i + ROW.dueAt], createdAt, createdAt, packed[i + ROW.trace], uuid);
          } else {
            s.insertClaimed.run(
              packed[i + ROW.id],
              packed[i + ROW.target],
              eventSeq,
              packed[i + ROW.webhookId],
              packed[i + ROW.dueAt],
              createdAt,
              createdAt,
              packed[i + ROW.trace],
              nodeId,
              packed[i + ROW.leaseUntil],
              uuid,
            );
          }
        }
      }
    }).immediate();
  }

  async collectDigest(rows: readonly DigestMemberInput[]): Promise<void> {
    const s = this.#stmts;
    this.#db.transaction(() => {
      for (const r of rows) s.insertMember.run(r.id, r.target, r.eventJson, r.createdAt);
    }).immediate();
  }

  async digestHeads(): Promise<DigestHead[]> {
    return this.#stmts.digestHeads.all() as DigestHead[];
  }

  async flushDigest(delivery: DigestDeliveryInput, limit: number): Promise<number> {
    const s = this.#stmts;
    return this.#db.transaction(() => {
      const members = s.digestBatch.all(delivery.target, limit) as Array<{ seq: number; event: string }>;
      const last = members[members.length - 1];
      if (last === undefined) return 0;
      const eventSeq = s.insertEvent.run(1, 1, digestEventJson(members.map((m) => m.event))).lastInsertRowid;
      s.insert.run(delivery.id, delivery.target, eventSeq, delivery.webhookId, delivery.dueAt, delivery.createdAt, delivery.createdAt, null, null);
      // The oldest first, in one immediate transaction: exactly the rows read above.
      s.deleteMembers.run(delivery.target, last.seq);
      return members.length;
    }).immediate();
  }

  async claim(request: ClaimRequest): Promise<DeliveryRecord[]> {
    return unpackClaimed(this.claimPacked(request));
  }

  /** claim() as the store thread answers it: the claimed deliveries packed for the wire (packClaimed's layout). */
  claimPacked(request: ClaimRequest): Packed[] {
    return this.#bookkeeping(() => this.#claim(request));
  }

  async dueTargets(now: number): Promise<string[]> {
    return this.#stmts.dueTargets.all(now, now) as string[];
  }

  async settle(requests: readonly SettleRequest[]): Promise<number> {
    return this.settlePacked(packSettles(requests));
  }

  /** settle() as the store thread receives it (packSettles' layout). */
  settlePacked(settles: readonly Packed[]): number {
    return this.#bookkeeping(() => this.#settle(settles));
  }

  /** One transaction, so one commit, per dispatcher tick. */
  async settleAndClaim(settles: readonly SettleRequest[], claim: ClaimRequest | undefined): Promise<DeliveryRecord[]> {
    return unpackClaimed(this.settleAndClaimPacked(packSettles(settles), claim));
  }

  /** settleAndClaim() as the store thread receives and answers it (packed both ways). */
  settleAndClaimPacked(settles: readonly Packed[], claim: ClaimRequest | undefined): Packed[] {
    return this.#bookkeeping(() => {
      if (settles.length > 0) this.#settle(settles);
      return claim === undefined ? [] : this.#claim(claim);
    });
  }

  /** Runs a dispatcher write in one transaction committed without fsync (see the top of this file). */
  #bookkeeping<T>(fn: () => T): T {
    if (!this.#full) return this.#db.transaction(fn).immediate();
    const s = this.#stmts;
    s.syncNormal.run();
    try {
      return this.#db.transaction(fn).immediate();
    } finally {
      s.syncFull.run();
    }
  }

  #claim(request: ClaimRequest): Packed[] {
    const s = this.#stmts;
    const { nodeId, now, leaseMs } = request;
    const out: Packed[] = [];
    // Claimed rows of one event share its JSON string: read once per claim, sent once per run of rows.
    const events = new Map<number, string>();
    let last: string | undefined;
    const take = (rows: ClaimedRow[]): number => {
      for (const row of rows) {
        const seq = row[2];
        let event = events.get(seq);
        if (event === undefined) {
          event = unpackEvent(s.eventOf.get(seq) as string | Buffer) ?? DROPPED_EVENT_JSON;
          events.set(seq, event);
        }
        pushClaimedRow(out, row, event === last ? null : event);
        last = event;
      }
      return rows.length;
    };
    for (const [target, capacity] of request.capacity) {
      if (capacity <= 0) continue;
      const left = capacity - take(s.claimExpired.all(nodeId, now + leaseMs, now, target, now, capacity) as ClaimedRow[]);
      if (left <= 0) continue;
      take(s.claimDue.all(nodeId, now + leaseMs, now, target, now, left) as ClaimedRow[]);
    }
    return out;
  }

  /**
   * Applies packed settles: an attempt row each (unless unattempted) and the
   * outcome, when the claim still holds. The done ones count down their
   * event's live deliveries once per event, after the batch: the last settle
   * that brings it to 0 applies its keep_done_body, as one at a time would.
   */
  #settle(packed: readonly Packed[]): number {
    const s = this.#stmts;
    const v: SettleView = this.#view;
    let applied = 0;
    let done: Map<number, { n: number; keep: KeepDoneBody }> | undefined;
    const count = settleCount(packed);
    let nodeId = '';
    for (let n = 0; n < count; n++) {
      readSettle(packed, n, v, nodeId);
      nodeId = v.nodeId;
      if (!v.unattempted) {
        s.insertAttempt.run(
          v.deliveryId,
          v.recordAttempt,
          v.startedAt,
          v.durationMs,
          v.ok ? 1 : 0,
          v.httpStatus,
          v.exitCode,
          v.response,
          v.attemptError,
          v.detail,
          v.requestHeaders,
          v.requestBody,
          v.responseHeaders,
        );
      }
      const eventSeq = s.settle.get(v.state, v.dueAt, v.resetAttempts ? 1 : 0, v.error, v.startedAt + v.durationMs, v.deliveryId, v.nodeId, v.attempt) as
        | number
        | undefined;
      if (eventSeq === undefined) continue;
      applied += 1;
      if (v.state !== 'done') continue;
      const seen = (done ??= new Map()).get(eventSeq);
      if (seen === undefined) done.set(eventSeq, { n: 1, keep: v.keepBody });
      else {
        seen.n += 1;
        seen.keep = v.keepBody;
      }
    }
    if (done !== undefined) for (const [eventSeq, { n, keep }] of done) this.#doneWith(eventSeq, n, keep);
    return applied;
  }

  /** `n` more deliveries of the event are done; when they were the last, keep what `keep` says of the event. */
  #doneWith(eventSeq: number, n: number, keep: KeepDoneBody): void {
    const s = this.#stmts;
    const live = s.doneLive.get(n, eventSeq) as number | undefined;
    if (live !== 0 || keep === 'full') return;
    if (keep === 'none') {
      s.setEvent.run('', eventSeq);
      return;
    }
    const event = s.eventOf.get(eventSeq) as string | Buffer | undefined;
    if (typeof event === 'string' && event !== '') s.setEvent.run(packEvent(event), eventSeq);
  }

  async list(filter: ListFilter = {}): Promise<DeliveryRecord[]> {
    const { where, params } = listWhere(filter, () => '?');
    params.push(filter.limit ?? 100);
    const sql = `${WITH_EVENT} ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${LIST_ORDER} LIMIT ?`;
    return (this.#db.prepare(sql).all(...params) as DeliveryRow[]).map((row) => deliveryFromRow(row));
  }

  async countStates(request: CountRequest): Promise<StateCounts> {
    const { where, params } = listWhere({ target: request.target, since: request.since, ...(request.until === undefined ? {} : { until: request.until }) }, () => '?');
    if (request.changedSince !== undefined) {
      where.push('d.updated_at >= ?');
      params.push(request.changedSince);
    }
    const rows = this.#db.prepare(`SELECT d.state, count(*) AS n FROM deliveries d WHERE ${where.join(' AND ')} GROUP BY d.state`).all(...params) as {
      state: DeliveryState;
      n: number;
    }[];
    return stateCounts(rows);
  }

  async get(id: string): Promise<DeliveryDetail | undefined> {
    const s = this.#stmts;
    const row = s.get.get(id) as DeliveryRow | undefined;
    if (row === undefined) return undefined;
    return { delivery: deliveryFromRow(row), attempts: (s.attemptsOf.all(id) as AttemptRow[]).map(attemptFromRow) };
  }

  /** False (and nothing changes) when it does not exist or is in flight: being attempted right now. */
  /** False (nothing changes) also for a done delivery whose body was not kept: there is nothing to send. */
  async retry(id: string, now: number): Promise<boolean> {
    const s = this.#stmts;
    return this.#db.transaction(() => {
      const row = s.reopenable.get(id) as { state: DeliveryState; event_seq: number; kept: number } | undefined;
      if (row === undefined || row.state === 'inflight') return false;
      if (row.state === 'done') {
        if (row.kept !== 1) return false;
        s.reopenLive.run(row.event_seq);
      }
      return s.retry.run(now, now, id).changes > 0;
    }).immediate();
  }

  /** Replayable rows: a done one only if its body was kept (a replay skips the others). */
  #replayWhere(states: readonly string[], withoutBody = false): string {
    const body = `EXISTS (SELECT 1 FROM delivery_events e WHERE e.seq = deliveries.event_seq AND length(e.event) > 0)`;
    return (
      `target = ? AND created_at >= ? AND created_at < ? AND updated_at < ? AND state IN (${states.map(() => '?').join(', ')})` +
      (withoutBody ? ` AND state = 'done' AND NOT ${body}` : ` AND (state != 'done' OR ${body})`)
    );
  }

  async countReplay(request: Omit<ReplayRequest, 'now' | 'limit'>): Promise<number> {
    const states = request.states ?? ['failed'];
    const row = this.#db
      .prepare(`SELECT count(*) AS n FROM deliveries WHERE ${this.#replayWhere(states, request.withoutBody === true)}`)
      .get(request.target, request.since, request.until ?? Number.MAX_SAFE_INTEGER, request.before ?? Number.MAX_SAFE_INTEGER, ...states) as { n: number };
    return row.n;
  }

  async replayBatch(request: ReplayRequest): Promise<number> {
    const states = request.states ?? ['failed'];
    const s = this.#stmts;
    const pick = this.#db.prepare(`SELECT seq, state, event_seq FROM deliveries WHERE ${this.#replayWhere(states)} LIMIT ?`);
    return this.#db.transaction(() => {
      const rows = pick.all(request.target, request.since, request.until ?? Number.MAX_SAFE_INTEGER, request.before ?? Number.MAX_SAFE_INTEGER, ...states, request.limit) as {
        seq: number;
        state: DeliveryState;
        event_seq: number;
      }[];
      for (const row of rows) {
        s.reopenSeq.run(request.now, request.now, row.seq);
        // A done delivery counts again among its event's live ones.
        if (row.state === 'done') s.reopenLive.run(row.event_seq);
      }
      return rows.length;
    }).immediate();
  }

  async purge(request: PurgeRequest): Promise<number> {
    const s = this.#stmts;
    return this.#db.transaction(() => {
      const rows = s.purgeDone.all(request.doneBefore, request.limit) as { seq: number; id: string; event_seq: number }[];
      if (rows.length < request.limit) rows.push(...(s.purgeFailed.all(request.failedBefore, request.limit - rows.length) as typeof rows));
      for (const { seq, id, event_seq } of rows) {
        s.deleteAttempts.run(id);
        s.deleteDelivery.run(seq);
        // The event goes with the last delivery that carried it.
        const refs = s.releaseEvent.get(event_seq) as number | undefined;
        if (refs !== undefined && refs <= 0) s.deleteEvent.run(event_seq);
      }
      return rows.length;
    }).immediate();
  }

  async openByTarget(): Promise<TargetOpen[]> {
    return openFromRows(this.#stmts.open.all() as { target: string; state: 'pending' | 'inflight'; n: number }[]);
  }

  async depthByTarget(): Promise<TargetDepth[]> {
    const s = this.#stmts;
    const rows = s.depth.all() as { target: string; state: DeliveryState; n: number; oldest: number }[];
    const disabled = new Map((await this.disabledTargets()).map((d) => [d.target, d]));
    return buildDepth(rows, disabled);
  }

  async disableTarget(target: string, reason: string, at: number): Promise<void> {
    this.#stmts.disable.run(target, at, reason);
  }

  async enableTarget(target: string): Promise<boolean> {
    return this.#stmts.enable.run(target).changes > 0;
  }

  async disabledTargets(): Promise<DisabledTarget[]> {
    return (this.#stmts.disabled.all() as { target: string; at: number; reason: string }[]).map((r) => ({
      target: r.target,
      at: Number(r.at),
      reason: r.reason,
    }));
  }

  get #health(): ReturnType<typeof prepareHealth> {
    void this.#stmts; // throws before migrate()
    return (this.#h ??= prepareHealth(this.#db));
  }

  async saveCircuit(target: string, state: 'open' | 'closed', openUntil: number, at: number, nodeId: string): Promise<void> {
    this.#health.saveCircuit.run(target, state, openUntil, at, nodeId);
  }

  async markFailing(target: string, at: number): Promise<void> {
    this.#health.markFailing.run(target, at);
  }

  async clearFailing(target: string, at: number): Promise<void> {
    this.#health.clearFailing.run(target, at);
  }

  async targetHealth(): Promise<TargetHealth[]> {
    return (this.#health.all.all() as TargetHealthRow[]).map(targetHealthFromRow);
  }

  async targetSecrets(): Promise<TargetSecretsRecord[]> {
    const rows = this.#db.prepare('SELECT target, secrets, previous, previous_until, rotated_at FROM target_secrets ORDER BY target').all() as {
      target: string;
      secrets: string;
      previous: string;
      previous_until: number;
      rotated_at: number;
    }[];
    return rows.map((r) => ({
      target: r.target,
      secrets: JSON.parse(r.secrets) as string[],
      previous: JSON.parse(r.previous) as string[],
      previousUntil: Number(r.previous_until),
      rotatedAt: Number(r.rotated_at),
    }));
  }

  async setTargetSecrets(record: TargetSecretsRecord): Promise<void> {
    this.#db
      .prepare(
        `INSERT INTO target_secrets (target, secrets, previous, previous_until, rotated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (target) DO UPDATE SET secrets = excluded.secrets, previous = excluded.previous, previous_until = excluded.previous_until, rotated_at = excluded.rotated_at`,
      )
      .run(record.target, JSON.stringify(record.secrets), JSON.stringify(record.previous), record.previousUntil, record.rotatedAt);
  }

  async claimScheduleTick(claim: ScheduleTickClaim): Promise<boolean> {
    const s = this.#stmts;
    return this.#db.transaction(() => {
      if (s.claimTick.run(claim.name, claim.tick, claim.nodeId, claim.at, claim.fired ? 1 : 0, claim.name, claim.tick).changes === 0) return false;
      s.dropOlderTicks.run(claim.name, claim.tick);
      if (claim.fired) s.tickFired.run(claim.name, claim.tick, claim.at, claim.nodeId);
      return true;
    }).immediate();
  }

  async setSchedulePaused(name: string, paused: boolean, at: number): Promise<void> {
    this.#stmts.setPaused.run(name, paused ? 1 : 0, at);
  }

  async scheduleState(name: string): Promise<ScheduleRecord> {
    return (await this.scheduleStates()).find((r) => r.name === name) ?? { name, paused: false };
  }

  async scheduleStates(): Promise<ScheduleRecord[]> {
    const s = this.#stmts;
    return scheduleRecords(s.scheduleStates.all() as ScheduleStateRow[], s.scheduleTicks.all() as { name: string; tick: number }[]);
  }

  get #keys(): SqliteIdempotencyKeys {
    this.#stmts; // throws before migrate()
    return (this.#k ??= new SqliteIdempotencyKeys(this.#db));
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
    if (this.#db.open) this.#db.close();
  }
}
