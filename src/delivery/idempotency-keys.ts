// The idempotency keys of emits (events/idempotency.ts) in the SQL stores:
// one table (`idempotency_keys`, `hookwork_idempotency_keys` on PostgreSQL)
// whose primary key decides between two emits with one key at once: the
// first insert reserves it, the other reads the holder's row. Kept apart from
// the delivery tables; the retention job purges expired keys.

import type { Database as Db, Statement } from 'better-sqlite3';
import type { IdempotencyClaim, IdempotencyKeeper, IdempotencyRecord, IdempotencyReservation } from '../events/idempotency.js';

interface KeyRow {
  readonly key: string;
  readonly fingerprint: string;
  readonly event_uuid: string;
  readonly event_time: number | string;
  readonly state: string;
  readonly created_at: number | string;
  readonly expires_at: number | string;
}

function recordOf(row: KeyRow): IdempotencyRecord {
  return {
    key: row.key,
    fingerprint: row.fingerprint,
    eventUuid: row.event_uuid,
    eventTime: Number(row.event_time),
    state: row.state === 'done' ? 'done' : 'pending',
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
  };
}

/** The claim as the row a fresh reservation writes. */
function reservedRecord(c: IdempotencyClaim): IdempotencyRecord {
  return { key: c.key, fingerprint: c.fingerprint, eventUuid: c.eventUuid, eventTime: c.eventTime, state: 'pending', createdAt: c.now, expiresAt: c.expiresAt };
}

const COLUMNS = 'key, fingerprint, event_uuid, event_time, state, created_at, expires_at';

export class SqliteIdempotencyKeys implements IdempotencyKeeper {
  readonly #db: Db;
  readonly #s: Record<'insert' | 'replaceExpired' | 'takeOver' | 'get' | 'complete' | 'release' | 'purge', Statement>;

  /** Call after the store's migrations ran (the table must exist). */
  constructor(db: Db) {
    this.#db = db;
    this.#s = {
      insert: db.prepare(`INSERT INTO idempotency_keys (${COLUMNS}) VALUES (?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT (key) DO NOTHING`),
      replaceExpired: db.prepare(
        `UPDATE idempotency_keys SET fingerprint = ?, event_uuid = ?, event_time = ?, state = 'pending', created_at = ?, expires_at = ?
         WHERE key = ? AND expires_at <= ?`,
      ),
      takeOver: db.prepare(
        `UPDATE idempotency_keys SET created_at = ? WHERE key = ? AND state = 'pending' AND fingerprint = ? AND created_at < ? RETURNING ${COLUMNS}`,
      ),
      get: db.prepare(`SELECT ${COLUMNS} FROM idempotency_keys WHERE key = ?`),
      complete: db.prepare(`UPDATE idempotency_keys SET state = 'done' WHERE key = ? AND fingerprint = ?`),
      release: db.prepare(`DELETE FROM idempotency_keys WHERE key = ? AND fingerprint = ? AND state = 'pending'`),
      purge: db.prepare(`DELETE FROM idempotency_keys WHERE key IN (SELECT key FROM idempotency_keys WHERE expires_at <= ? LIMIT ?)`),
    };
  }

  async reserveIdempotencyKey(c: IdempotencyClaim): Promise<IdempotencyReservation | undefined> {
    const s = this.#s;
    return this.#db.transaction((): IdempotencyReservation | undefined => {
      if (s.insert.run(c.key, c.fingerprint, c.eventUuid, c.eventTime, c.now, c.expiresAt).changes === 1) return { reserved: true, record: reservedRecord(c) };
      if (s.replaceExpired.run(c.fingerprint, c.eventUuid, c.eventTime, c.now, c.expiresAt, c.key, c.now).changes === 1) return { reserved: true, record: reservedRecord(c) };
      const taken = s.takeOver.get(c.now, c.key, c.fingerprint, c.staleBefore) as KeyRow | undefined;
      if (taken !== undefined) return { reserved: true, record: recordOf(taken) };
      const held = s.get.get(c.key) as KeyRow | undefined;
      return held === undefined ? undefined : { reserved: false, record: recordOf(held) };
    }).immediate();
  }

  async completeIdempotencyKey(key: string, fingerprint: string): Promise<void> {
    this.#s.complete.run(key, fingerprint);
  }

  async releaseIdempotencyKey(key: string, fingerprint: string): Promise<void> {
    this.#s.release.run(key, fingerprint);
  }

  async purgeIdempotencyKeys(now: number, limit: number): Promise<number> {
    return this.#s.purge.run(now, limit).changes;
  }
}

/** How the PostgreSQL store runs a statement (its pool, with its fault mapping). */
export type PgQuery = <R extends Record<string, unknown>>(sql: string, params: unknown[]) => Promise<{ rows: R[] }>;

export class PostgresIdempotencyKeys implements IdempotencyKeeper {
  readonly #query: PgQuery;

  constructor(query: PgQuery) {
    this.#query = query;
  }

  /**
   * Each step is one statement: the insert (ON CONFLICT DO NOTHING waits for
   * a concurrent insert of the same key to commit, then does nothing), then
   * the takeovers of an expired or abandoned row, then the read. A row that
   * vanishes between two steps (its emit failed) gives undefined: the caller
   * asks again.
   */
  async reserveIdempotencyKey(c: IdempotencyClaim): Promise<IdempotencyReservation | undefined> {
    const inserted = await this.#query<{ key: string }>(
      `INSERT INTO hookwork_idempotency_keys (${COLUMNS}) VALUES ($1, $2, $3, $4, 'pending', $5, $6) ON CONFLICT (key) DO NOTHING RETURNING key`,
      [c.key, c.fingerprint, c.eventUuid, c.eventTime, c.now, c.expiresAt],
    );
    if (inserted.rows.length === 1) return { reserved: true, record: reservedRecord(c) };
    const taken = await this.#query<KeyRow & Record<string, unknown>>(
      `UPDATE hookwork_idempotency_keys
       SET fingerprint = CASE WHEN expires_at <= $5 THEN $2 ELSE fingerprint END,
           event_uuid = CASE WHEN expires_at <= $5 THEN $3 ELSE event_uuid END,
           event_time = CASE WHEN expires_at <= $5 THEN $4 ELSE event_time END,
           expires_at = CASE WHEN expires_at <= $5 THEN $6 ELSE expires_at END,
           state = 'pending', created_at = $5
       WHERE key = $1 AND (expires_at <= $5 OR (state = 'pending' AND fingerprint = $2 AND created_at < $7))
       RETURNING ${COLUMNS}`,
      [c.key, c.fingerprint, c.eventUuid, c.eventTime, c.now, c.expiresAt, c.staleBefore],
    );
    const row = taken.rows[0];
    if (row !== undefined) return { reserved: true, record: recordOf(row) };
    const held = await this.#query<KeyRow & Record<string, unknown>>(`SELECT ${COLUMNS} FROM hookwork_idempotency_keys WHERE key = $1`, [c.key]);
    const heldRow = held.rows[0];
    return heldRow === undefined ? undefined : { reserved: false, record: recordOf(heldRow) };
  }

  async completeIdempotencyKey(key: string, fingerprint: string): Promise<void> {
    await this.#query(`UPDATE hookwork_idempotency_keys SET state = 'done' WHERE key = $1 AND fingerprint = $2`, [key, fingerprint]);
  }

  async releaseIdempotencyKey(key: string, fingerprint: string): Promise<void> {
    await this.#query(`DELETE FROM hookwork_idempotency_keys WHERE key = $1 AND fingerprint = $2 AND state = 'pending'`, [key, fingerprint]);
  }

  async purgeIdempotencyKeys(now: number, limit: number): Promise<number> {
    const { rows } = await this.#query<{ n: number }>(
      `WITH gone AS (
         DELETE FROM hookwork_idempotency_keys WHERE key IN (SELECT key FROM hookwork_idempotency_keys WHERE expires_at <= $1 LIMIT $2) RETURNING 1
       ) SELECT count(*)::int AS n FROM gone`,
      [now, limit],
    );
    return rows[0]?.n ?? 0;
  }
}
