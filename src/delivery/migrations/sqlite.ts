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
];
