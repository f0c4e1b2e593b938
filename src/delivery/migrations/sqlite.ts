// SQLite schema, one entry per version. The store runs the ones above the
// file's `user_version`, each in its own transaction. Append only: never
// edit a released step (test/delivery/fixtures keeps a v1 file built from
// step 1 and checks the upgrade).

export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'deliveries and attempts',
    sql: `
      CREATE TABLE deliveries (
        id TEXT PRIMARY KEY,
        target TEXT NOT NULL,
        event TEXT NOT NULL,
        webhook_id TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL,
        due_at INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        last_error TEXT,
        claimed_by TEXT,
        lease_until INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX deliveries_due ON deliveries (target, state, due_at);
      CREATE INDEX deliveries_created ON deliveries (created_at);
      CREATE TABLE attempts (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        delivery_id TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        started_at INTEGER NOT NULL,
        duration_ms INTEGER NOT NULL,
        ok INTEGER NOT NULL,
        http_status INTEGER,
        exit_code INTEGER,
        response TEXT,
        error TEXT
      );
      CREATE INDEX attempts_delivery ON attempts (delivery_id);
    `,
  },
  {
    version: 2,
    description: 'disabled targets (410), attempt details, retention index',
    sql: `
      CREATE TABLE disabled_targets (
        target TEXT PRIMARY KEY,
        at INTEGER NOT NULL,
        reason TEXT NOT NULL
      );
      ALTER TABLE attempts ADD COLUMN detail TEXT;
      CREATE INDEX deliveries_finished ON deliveries (state, updated_at);
    `,
  },
  {
    version: 3,
    description: 'events in their own table, integer row keys, partial indexes',
    // A state change rewrote the whole row, event JSON (1-2 KiB) included, and
    // touched every index. Now the event lives in delivery_events (shared by
    // the deliveries of one enqueue that carry the same event, counted in
    // `refs`), a delivery row is small and has an integer key, the claim
    // indexes hold only pending or in-flight rows and the retention ones only
    // finished rows, and attempts lose AUTOINCREMENT (their sqlite_sequence
    // write; a plain rowid still grows, so ORDER BY seq keeps their order).
    sql: `
      CREATE TABLE delivery_events (
        seq INTEGER PRIMARY KEY,
        refs INTEGER NOT NULL,
        event TEXT NOT NULL
      );
      INSERT INTO delivery_events (seq, refs, event) SELECT rowid, 1, event FROM deliveries;
      CREATE TABLE deliveries_v3 (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        target TEXT NOT NULL,
        event_seq INTEGER NOT NULL,
        webhook_id TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL,
        due_at INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        last_error TEXT,
        claimed_by TEXT,
        lease_until INTEGER NOT NULL DEFAULT 0
      );
      INSERT INTO deliveries_v3 (seq, id, target, event_seq, webhook_id, attempts, state, due_at, created_at, updated_at, last_error, claimed_by, lease_until)
        SELECT rowid, id, target, rowid, webhook_id, attempts, state, due_at, created_at, updated_at, last_error, claimed_by, lease_until
        FROM deliveries ORDER BY rowid;
      DROP TABLE deliveries;
      ALTER TABLE deliveries_v3 RENAME TO deliveries;
      CREATE INDEX deliveries_pending ON deliveries (target, due_at) WHERE state = 'pending';
      CREATE INDEX deliveries_inflight ON deliveries (target, lease_until) WHERE state = 'inflight';
      CREATE INDEX deliveries_created ON deliveries (created_at);
      CREATE INDEX deliveries_done ON deliveries (updated_at, target) WHERE state = 'done';
      CREATE INDEX deliveries_failed ON deliveries (updated_at, target) WHERE state = 'failed';
      CREATE TABLE attempts_v3 (
        seq INTEGER PRIMARY KEY,
        delivery_id TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        started_at INTEGER NOT NULL,
        duration_ms INTEGER NOT NULL,
        ok INTEGER NOT NULL,
        http_status INTEGER,
        exit_code INTEGER,
        response TEXT,
        error TEXT,
        detail TEXT
      );
      INSERT INTO attempts_v3 (seq, delivery_id, attempt, started_at, duration_ms, ok, http_status, exit_code, response, error, detail)
        SELECT seq, delivery_id, attempt, started_at, duration_ms, ok, http_status, exit_code, response, error, detail
        FROM attempts ORDER BY seq;
      DROP TABLE attempts;
      ALTER TABLE attempts_v3 RENAME TO attempts;
      CREATE INDEX attempts_delivery ON attempts (delivery_id);
    `,
  },
  {
    version: 4,
    description: 'what a done delivery keeps of its event (keep_done_body)',
    // `live` counts the deliveries of an event not done yet: when it reaches
    // 0, keep_done_body applies (the event JSON deflated into a BLOB, or
    // dropped: the empty text). A failed or pending delivery keeps it whole.
    sql: `
      ALTER TABLE delivery_events ADD COLUMN live INTEGER NOT NULL DEFAULT 0;
      UPDATE delivery_events SET live = c.n
        FROM (SELECT event_seq, count(*) AS n FROM deliveries WHERE state != 'done' GROUP BY event_seq) AS c
        WHERE c.event_seq = delivery_events.seq;
    `,
  },
  {
    version: 5,
    description: 'the W3C trace context each delivery joins (traceparent, then tracestate)',
    sql: `ALTER TABLE deliveries ADD COLUMN trace_context TEXT;`,
  },
  {
    version: 6,
    description: 'schedule tick claims and paused state',
    // One row per claimed (schedule, tick): the primary key makes the claim
    // (the first insert wins, the others are ignored). Only each schedule's
    // newest tick is kept (a claim refuses a tick not newer than it).
    sql: `
      CREATE TABLE schedule_ticks (
        name TEXT NOT NULL,
        tick INTEGER NOT NULL,
        node TEXT NOT NULL,
        claimed_at INTEGER NOT NULL,
        fired INTEGER NOT NULL,
        PRIMARY KEY (name, tick)
      ) WITHOUT ROWID;
      CREATE TABLE schedule_state (
        name TEXT PRIMARY KEY,
        paused INTEGER NOT NULL DEFAULT 0,
        changed_at INTEGER,
        fired_tick INTEGER,
        fired_at INTEGER,
        fired_node TEXT
      );
    `,
  },
  {
    version: 7,
    description: 'digest members (digest:), kept until their batch is enqueued',
    // One row per event collected for a digest target; a batch deletes its
    // rows and inserts its one delivery in the same transaction.
    sql: `
      CREATE TABLE digest_members (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        target TEXT NOT NULL,
        event TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX digest_members_target ON digest_members (target, seq);
    `,
  },
  {
    version: 8,
    description: 'console: attempts keep the request and response as sent; deliveries searchable by event uuid, target, state and time',
    // Lists walk (created_at, id) newest first: one index per filter gives
    // a page without reading the rest (keyset paging). event_uuid is the
    // top-level uuid of the event (null for digests).
    sql: `
      ALTER TABLE attempts ADD COLUMN request_headers TEXT;
      ALTER TABLE attempts ADD COLUMN request_body TEXT;
      ALTER TABLE attempts ADD COLUMN response_headers TEXT;
      ALTER TABLE deliveries ADD COLUMN event_uuid TEXT;
      DROP INDEX deliveries_created;
      CREATE INDEX deliveries_created ON deliveries (created_at, id);
      CREATE INDEX deliveries_target_created ON deliveries (target, created_at, id);
      CREATE INDEX deliveries_state_created ON deliveries (state, created_at, id);
      CREATE INDEX deliveries_event_uuid ON deliveries (event_uuid) WHERE event_uuid IS NOT NULL;
    `,
  },
];
