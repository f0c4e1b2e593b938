// PostgreSQL schema, one entry per version, kept in hookwork_schema. Nodes
// starting together serialize on an advisory lock, so each step runs once.
// Append only.

import type { Migration } from './sqlite.js';

export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'deliveries, attempts, disabled targets',
    sql: `
      CREATE TABLE hookwork_deliveries (
        id text PRIMARY KEY,
        target text NOT NULL,
        event text NOT NULL,
        webhook_id text NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        state text NOT NULL,
        due_at bigint NOT NULL,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL,
        last_error text,
        claimed_by text,
        lease_until bigint NOT NULL DEFAULT 0
      );
      CREATE INDEX hookwork_deliveries_due ON hookwork_deliveries (target, state, due_at);
      CREATE INDEX hookwork_deliveries_created ON hookwork_deliveries (created_at);
      CREATE INDEX hookwork_deliveries_finished ON hookwork_deliveries (state, updated_at);
      CREATE TABLE hookwork_attempts (
        seq bigserial PRIMARY KEY,
        delivery_id text NOT NULL,
        attempt integer NOT NULL,
        started_at bigint NOT NULL,
        duration_ms integer NOT NULL,
        ok boolean NOT NULL,
        http_status integer,
        exit_code integer,
        response text,
        error text,
        detail text
      );
      CREATE INDEX hookwork_attempts_delivery ON hookwork_attempts (delivery_id);
      CREATE TABLE hookwork_disabled_targets (
        target text PRIMARY KEY,
        at bigint NOT NULL,
        reason text NOT NULL
      );
    `,
  },
  {
    // The cluster bus keeps what it sends for a while: a node whose LISTEN
    // connection was down (PostgreSQL restarting) replays what it missed.
    version: 2,
    description: 'cluster message log (replayed after a LISTEN reconnect)',
    sql: `
      CREATE TABLE hookwork_cluster_log (
        seq bigserial PRIMARY KEY,
        at bigint NOT NULL,
        body text NOT NULL
      );
      CREATE INDEX hookwork_cluster_log_at ON hookwork_cluster_log (at);
    `,
  },
  {
    // The event was kept in full in every delivery row (one copy per target).
    // Now it lives once in hookwork_events, shared by the deliveries of one
    // enqueue that carry the same JSON (`refs`); `live` counts those not done
    // yet, and when it reaches 0, keep_done_body applies: the JSON moves into
    // `packed` deflated, or both are NULL (not kept). Existing rows are
    // grouped by their JSON, so they stay readable and share as new ones do.
    version: 3,
    description: 'events in their own table, once per event (keep_done_body)',
    sql: `
      CREATE TABLE hookwork_events (
        seq bigserial PRIMARY KEY,
        refs integer NOT NULL,
        live integer NOT NULL,
        event text,
        packed bytea
      );
      INSERT INTO hookwork_events (refs, live, event)
        SELECT count(*), count(*) FILTER (WHERE state <> 'done'), event FROM hookwork_deliveries GROUP BY event;
      ALTER TABLE hookwork_deliveries ADD COLUMN event_seq bigint;
      UPDATE hookwork_deliveries d SET event_seq = e.seq FROM hookwork_events e WHERE e.event = d.event;
      ALTER TABLE hookwork_deliveries ALTER COLUMN event_seq SET NOT NULL;
      ALTER TABLE hookwork_deliveries DROP COLUMN event;
    `,
  },
  {
    version: 4,
    description: 'the W3C trace context each delivery joins (traceparent, then tracestate)',
    sql: `ALTER TABLE hookwork_deliveries ADD COLUMN IF NOT EXISTS trace_context text;`,
  },
  {
    // One row per claimed (schedule, tick): with several nodes, the primary
    // key decides which node fires a tick (INSERT … ON CONFLICT DO NOTHING).
    // Only each schedule's newest tick is kept (a claim refuses older ones).
    version: 5,
    description: 'schedule tick claims and paused state',
    sql: `
      CREATE TABLE hookwork_schedule_ticks (
        name text NOT NULL,
        tick bigint NOT NULL,
        node text NOT NULL,
        claimed_at bigint NOT NULL,
        fired boolean NOT NULL,
        PRIMARY KEY (name, tick)
      );
      CREATE TABLE hookwork_schedule_state (
        name text PRIMARY KEY,
        paused boolean NOT NULL DEFAULT false,
        changed_at bigint,
        fired_tick bigint,
        fired_at bigint,
        fired_node text
      );
    `,
  },
  {
    // One row per event collected for a digest target (digest:); a batch
    // deletes its rows and inserts its one delivery in one statement.
    version: 6,
    description: 'digest members (digest:), kept until their batch is enqueued',
    sql: `
      CREATE TABLE hookwork_digest_members (
        seq bigserial PRIMARY KEY,
        id text NOT NULL UNIQUE,
        target text NOT NULL,
        event text NOT NULL,
        created_at bigint NOT NULL
      );
      CREATE INDEX hookwork_digest_members_target ON hookwork_digest_members (target, seq);
    `,
  },
  {
    // Target health shared by the nodes (circuit state, failing since), written
    // on transitions only; and each rate-limited target's token bucket, from
    // which nodes take tokens in small batches (see delivery/rate-limiter.ts).
    version: 7,
    description: 'target health (circuit state, failing since) and rate-limit buckets',
    sql: `
      CREATE TABLE hookwork_target_health (
        target text PRIMARY KEY,
        circuit_state text,
        open_until bigint,
        circuit_at bigint,
        circuit_node text,
        failing_since bigint
      );
      CREATE TABLE hookwork_rate_buckets (
        target text PRIMARY KEY,
        tokens double precision NOT NULL,
        updated_at double precision NOT NULL,
        granted integer NOT NULL DEFAULT 0
      );
    `,
  },
  {
    // One row per idempotency key of an emit (Idempotency-Key): the primary
    // key decides between two nodes emitting with one key at once.
    version: 8,
    description: 'idempotency keys of emits (Idempotency-Key), kept for delivery.idempotency_window',
    sql: `
      CREATE TABLE hookwork_idempotency_keys (
        key text PRIMARY KEY,
        fingerprint text NOT NULL,
        event_uuid text NOT NULL,
        event_time bigint NOT NULL,
        state text NOT NULL,
        created_at bigint NOT NULL,
        expires_at bigint NOT NULL
      );
      CREATE INDEX hookwork_idempotency_keys_expiry ON hookwork_idempotency_keys (expires_at);
    `,
  },
  {
    // One row per rotated target: the secrets it signs with, the ones it
    // signed with before (still signing until previous_until).
    version: 9,
    description: "webhook targets' signing secrets rotated from the API",
    sql: `
      CREATE TABLE hookwork_target_secrets (
        target text PRIMARY KEY,
        secrets text[] NOT NULL,
        previous text[] NOT NULL,
        previous_until bigint NOT NULL,
        rotated_at bigint NOT NULL
      );
    `,
  },
  {
    // Console: attempts keep the request and response as sent; deliveries
    // searchable by event uuid, target, state and time. Lists walk
    // (created_at, id) newest first: one index per filter gives a page
    // without reading the rest (keyset paging).
    version: 10,
    description: 'attempt request/response as sent; search indexes for the console',
    sql: `
      ALTER TABLE hookwork_attempts ADD COLUMN IF NOT EXISTS request_headers text;
      ALTER TABLE hookwork_attempts ADD COLUMN IF NOT EXISTS request_body text;
      ALTER TABLE hookwork_attempts ADD COLUMN IF NOT EXISTS response_headers text;
      ALTER TABLE hookwork_deliveries ADD COLUMN IF NOT EXISTS event_uuid text;
      DROP INDEX IF EXISTS hookwork_deliveries_created;
      CREATE INDEX IF NOT EXISTS hookwork_deliveries_created_id ON hookwork_deliveries (created_at, id);
      CREATE INDEX IF NOT EXISTS hookwork_deliveries_target_created ON hookwork_deliveries (target, created_at, id);
      CREATE INDEX IF NOT EXISTS hookwork_deliveries_state_created ON hookwork_deliveries (state, created_at, id);
      CREATE INDEX IF NOT EXISTS hookwork_deliveries_event_uuid ON hookwork_deliveries (event_uuid) WHERE event_uuid IS NOT NULL;
    `,
  },
  {
    // A claim changes state (pending to inflight), attempts, claimed_by,
    // lease_until and updated_at: with state and updated_at in three indexes
    // it could not be a HOT update, so each claim (and each settle) added an
    // entry to all seven indexes. No index names those columns now: the open
    // deliveries (pending or in flight) and the settled ones (done or failed)
    // are told apart by two generated columns a claim leaves as they were
    // (NULL, NULL), so a claim rewrites the row in its page and no index
    // (fillfactor leaves the page room for it). Per delivered row: 10 index
    // entries instead of about 20, and 1 per attempt instead of 2 (see
    // docs/performance.md).
    version: 11,
    description: 'deliveries: indexes a claim does not change (HOT claims), open and settled rows indexed apart',
    sql: `
      -- The fillfactor first: adding the stored columns rewrites the table, with its room.
      ALTER TABLE hookwork_deliveries SET (fillfactor = 40);
      ALTER TABLE hookwork_deliveries
        ADD COLUMN settled_state text GENERATED ALWAYS AS (CASE WHEN state IN ('done', 'failed') THEN state END) STORED,
        ADD COLUMN settled_at bigint GENERATED ALWAYS AS (CASE WHEN state IN ('done', 'failed') THEN updated_at END) STORED;
      DROP INDEX IF EXISTS hookwork_deliveries_due;
      DROP INDEX IF EXISTS hookwork_deliveries_finished;
      DROP INDEX IF EXISTS hookwork_deliveries_state_created;
      CREATE INDEX hookwork_deliveries_open_due ON hookwork_deliveries (target, due_at) WHERE settled_state IS NULL;
      CREATE INDEX hookwork_deliveries_open_created ON hookwork_deliveries (created_at, id) WHERE settled_state IS NULL;
      CREATE INDEX hookwork_deliveries_settled ON hookwork_deliveries (settled_state, settled_at) WHERE settled_state IS NOT NULL;
      CREATE INDEX hookwork_deliveries_settled_created ON hookwork_deliveries (settled_state, created_at, id) WHERE settled_state IS NOT NULL;
      -- Attempts are read and purged by delivery, in order: one index, the primary key, serves both (it was two: seq, delivery_id).
      ALTER TABLE hookwork_attempts DROP CONSTRAINT hookwork_attempts_pkey, ADD PRIMARY KEY (delivery_id, seq);
      DROP INDEX IF EXISTS hookwork_attempts_delivery;
    `,
  },
  {
    // (created_at, id) over every delivery served one query only: the
    // console's list with no state, target or event filter. The open
    // deliveries' (created_at, id) and the settled ones' (settled_state,
    // created_at, id) hold the same rows between them, so that list now walks
    // those (three ranges merged, postgres-store.ts list()), and every enqueue
    // and every settle writes one index entry fewer (docs/performance.md).
    version: 12,
    description: 'deliveries: the unfiltered list walks the open and settled indexes; (created_at, id) dropped',
    sql: `DROP INDEX IF EXISTS hookwork_deliveries_created_id;`,
  },
];
