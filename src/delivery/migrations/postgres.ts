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
    // Console: attempts keep the request and response as sent; deliveries
    // searchable by event uuid, target, state and time. Lists walk
    // (created_at, id) newest first: one index per filter gives a page
    // without reading the rest (keyset paging).
    version: 7,
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
];
