// Storage size of done deliveries (issue 15, point 7e): `npm run bench -- storage`.
// Enqueues EVENTS events of about 1 KiB, each to 3 targets, one event per
// enqueue (as the router does), through the real DeliveryService; each
// delivery completes with one attempt (200, a small body). Then the store is
// compacted (SQLite: WAL checkpoint and VACUUM; PostgreSQL: VACUUM FULL) and
// its size divided by the deliveries kept, once per `delivery.keep_done_body`
// mode. PostgreSQL needs initdb (a throwaway server from the test helper).
// STORAGE_EVENTS overrides the number of events (default 20,000).

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { deliveryConfigSchema } from '../src/delivery/config-schema.js';
import { PostgresStore } from '../src/delivery/postgres-store.js';
import { DeliveryService } from '../src/delivery/service.js';
import { SqliteStore } from '../src/delivery/sqlite-store.js';
import type { DeliveryStore } from '../src/delivery/store.js';
import { silentLogger } from '../src/logger.js';
import { startPostgres } from '../test/helpers/postgres.js';
import type { BenchResult } from './lib.js';

const EVENTS = Number(process.env['STORAGE_EVENTS'] ?? 20_000);
const TARGETS = ['hook-a', 'hook-b', 'hook-c'];
const MODES = ['full', 'compressed', 'none'] as const;
type Mode = (typeof MODES)[number];

/** An event much like the engine emits: an envelope, a few fields, ids and a data block (1 KiB as JSON). */
function makeEvent(n: number): Record<string, unknown> {
  const event: Record<string, unknown> = {
    id: 'upload',
    uid: randomBytes(12).toString('hex'),
    timestamp: new Date(1_700_000_000_000 + n * 1000).toISOString(),
    source: 'sftp-node-1',
    account: { name: `user${n % 500}`, home: `/srv/sftp/user${n % 500}`, groups: ['customers', 'uploads'] },
    data: {
      path: `/incoming/${randomBytes(6).toString('hex')}/report-${n}.csv`,
      size: 10_000 + (n % 9000),
      protocol: 'SFTP',
      ip: `10.0.${n % 250}.${(n * 7) % 250}`,
      session: randomBytes(16).toString('base64url'),
      checksum: randomBytes(32).toString('hex'),
      note: '',
    },
  };
  const size = Buffer.byteLength(JSON.stringify(event));
  (event['data'] as Record<string, unknown>)['note'] = 'lorem ipsum dolor sit amet '.repeat(40).slice(0, Math.max(0, 1024 - size));
  return event;
}

async function fill(store: DeliveryStore, mode: Mode): Promise<number> {
  const config = deliveryConfigSchema.parse({ ...(knownModes().length > 0 ? { keep_done_body: mode } : {}), poll_interval: 0.05 });
  const service = new DeliveryService({ store, config, nodeId: 'bench', logger: silentLogger() });
  await service.start();
  for (const name of TARGETS) {
    service.registerTarget({
      name,
      kind: 'webhook',
      concurrency: 64,
      attempt: async () => ({ ok: true, httpStatus: 200, response: '{"ok":true}' }),
    });
  }
  const window = 500;
  for (let i = 0; i < EVENTS; i += window) {
    const batch: Promise<unknown>[] = [];
    for (let j = i; j < Math.min(EVENTS, i + window); j++) {
      const event = makeEvent(j);
      batch.push(service.enqueue(TARGETS.map((target) => ({ target, event }))));
    }
    await Promise.all(batch);
  }
  const total = EVENTS * TARGETS.length;
  for (;;) {
    const done = (await store.depthByTarget()).reduce((sum, d) => sum + d.done, 0);
    if (done >= total) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await service.close();
  return total;
}

async function sqliteBytes(mode: Mode): Promise<{ perDelivery: number; detail: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'hookwork-storage-'));
  try {
    const file = join(dir, 'deliveries.db');
    const deliveries = await fill(new SqliteStore({ file, synchronous: 'normal' }), mode);
    const db = new Database(file);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.exec('VACUUM');
    db.pragma('wal_checkpoint(TRUNCATE)');
    let tables = '';
    try {
      const rows = db.prepare(`SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC`).all() as { name: string; bytes: number }[];
      tables = rows.map((r) => `${r.name} ${(r.bytes / deliveries).toFixed(0)}`).join(', ');
    } catch {
      tables = '(dbstat not compiled in)';
    }
    db.close();
    const wal = existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0;
    const bytes = statSync(file).size + wal;
    return { perDelivery: bytes / deliveries, detail: `SQLite ${mode}: ${bytes} bytes for ${deliveries} deliveries; per delivery by table/index: ${tables}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function postgresBytes(url: string, mode: Mode): Promise<{ perDelivery: number; detail: string }> {
  const store = new PostgresStore({ url, logger: silentLogger() });
  const deliveries = await fill(store, mode);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('VACUUM FULL');
    const { rows } = await client.query<{ name: string; bytes: string }>(
      `SELECT c.relname AS name, pg_total_relation_size(c.oid) AS bytes FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname LIKE 'hookwork_%' ORDER BY bytes DESC`,
    );
    const bytes = rows.reduce((sum, r) => sum + Number(r.bytes), 0);
    const tables = rows.map((r) => `${r.name} ${(Number(r.bytes) / deliveries).toFixed(0)}`).join(', ');
    return { perDelivery: bytes / deliveries, detail: `PostgreSQL ${mode}: ${bytes} bytes for ${deliveries} deliveries; per delivery by table (with indexes and TOAST): ${tables}` };
  } finally {
    await client.end();
  }
}

/** The modes this build knows (the script also measures a build without the option: `full` only). */
function knownModes(): Mode[] {
  return MODES.filter((mode) => deliveryConfigSchema.safeParse({ keep_done_body: mode }).success);
}

export async function run(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const eventBytes = Buffer.byteLength(JSON.stringify(makeEvent(0)));
  const modes = knownModes();
  const report = (store: string, mode: Mode, figure: { perDelivery: number; detail: string }): void => {
    process.stdout.write(`${figure.detail}\n`);
    results.push({
      name: `bytes per done delivery, ${store}, keep_done_body ${mode} (${EVENTS} events x ${TARGETS.length} targets)`,
      unit: 'B',
      ours: Math.round(figure.perDelivery),
      peer: eventBytes,
      peerName: 'the event JSON alone',
      higherIsBetter: false,
    });
  };
  for (const mode of modes.length > 0 ? modes : (['full'] as Mode[])) report('SQLite', mode, await sqliteBytes(mode));
  let server: Awaited<ReturnType<typeof startPostgres>> | undefined;
  try {
    server = await startPostgres();
  } catch (err) {
    process.stdout.write(`PostgreSQL skipped: ${(err as Error).message}\n`);
  }
  if (server !== undefined) {
    try {
      let n = 0;
      for (const mode of modes.length > 0 ? modes : (['full'] as Mode[])) {
        report('PostgreSQL', mode, await postgresBytes(await server.createDatabase(`storage_${process.pid}_${n++}`), mode));
      }
    } finally {
      await server.stop();
    }
  }
  return results;
}
