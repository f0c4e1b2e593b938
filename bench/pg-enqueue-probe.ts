// Store-level probe of the PostgreSQL enqueue (issue 21, the sixth round):
// PostgresStore.enqueue of GROUP-row groups (rows as the bench's ingest row
// makes them: its event JSON, time-ordered ids, target "elsewhere", left
// unclaimed, so every group notifies), one store per side, each with a
// database of its own on one throwaway server and listening as a node does;
// the sides alternate block by block (a different one first each block; the
// first block, cold, is dropped). Per enqueued row: the CPU of the side's
// enqueue and LISTEN backends together (/proc/<pid>/schedstat), of the whole
// server, the WAL written, this process's CPU; then each side against the
// first, block by block (medians of the ratios), and the tables' pages.
// Autovacuum is off on the two tables, so its passes do not land in a block.
// VARIANTS='{"new":{},"old":{"base":"/tmp/base7"}}': a side is this checkout's
// store or another checkout's (`base`, e.g. a `git archive` of the commit
// before), `sql` run after its migration (e.g. a DROP INDEX to try), and
// `listen: false` for a store that does not listen. BLOCKS, GROUPS (per block)
// and GROUP (rows per group, 28 as 64 clients make them) size the run;
// PERF=1 prints the backends' pids and waits 1.5 s (for perf or strace -p).
// Run: node --import tsx bench/pg-enqueue-probe.ts. Linux only.
import pg from 'pg';
import { readFileSync } from 'node:fs';
import { newDeliveryId } from '../src/delivery/delivery-id.js';
import { newWebhookId } from '../src/delivery/message-id.js';
import { newEventUuid } from '../src/events/event-uuid.js';
import { silentLogger } from '../src/logger.js';
import { startPostgres } from '../test/helpers/postgres.js';
import { serverPids } from './pg-server-pids.js';

const BLOCKS = Number(process.env['BLOCKS'] ?? 8);
const GROUPS = Number(process.env['GROUPS'] ?? 100);
const GROUP = Number(process.env['GROUP'] ?? 28);
const variants = JSON.parse(process.env['VARIANTS'] ?? '{"new":{}}') as Record<string, { sql?: string; base?: string; listen?: boolean }>;
const TEMPLATE = '{"id":"1001","uuid":"UUID","name":"bench","groups":[],"message":"","account":{"uuid":"00000000-0000-0000-0000-000000000001","name":"process","peer":{"address":"","port":0,"protocol":"TCP","family":"IPv4"}},"component":{"uuid":"00000000-0000-0000-0000-000000000000","name":"","type":""},"server":{"uuid":"39710cfb-4276-4c7a-98b5-0eede43e2057","name":"hookwork"},"timestamp":{"timestamp":1796585847.514,"cwa_14051":"2026-12-06 19:37:27","iso_8601":"2026-12-06T19:37:27Z","iso_8601_fractional":"2026-12-06T19:37:27.514000Z","iso_8601_local":"2026-12-06T19:37:27+00:00","iso_8601_basic":"20261206T193727Z","iso_8601_compact":"20261206193727","year":2026,"month":12,"day":6,"hour":19,"minute":37,"second":27,"millisecond":514},"data":{"file":"/a/b.txt","size":1234},"data_json":"{\\"file\\":\\"/a/b.txt\\",\\"size\\":1234}"}';

/** CPU ns of the processes `pids` (comma-separated), from /proc/<pid>/schedstat. */
function cpuNs(pids: string): number {
  let total = 0;
  for (const pid of pids.split(',')) {
    try {
      total += Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // ended
    }
  }
  return total;
}

/** The whole server's CPU ns; a process that ended keeps its last reading. */
const lastNs = new Map<string, number>();
function serverNs(port: number): number {
  for (const pid of serverPids(port).pids) lastNs.set(pid, cpuNs(pid));
  let total = 0;
  for (const ns of lastNs.values()) total += ns;
  return total;
}

/** A group of rows as the bench's ingest row makes them. */
function group(): unknown[] {
  const now = Date.now();
  return Array.from({ length: GROUP }, () => ({
    id: newDeliveryId(now),
    target: 'elsewhere',
    eventJson: TEMPLATE.replace('UUID', newEventUuid()),
    webhookId: newWebhookId(),
    dueAt: now,
    createdAt: now,
  }));
}

async function walLsn(admin: pg.Client): Promise<bigint> {
  const { rows } = await admin.query<{ n: string }>(`SELECT (pg_current_wal_lsn() - '0/0')::text AS n`);
  return BigInt(rows[0]?.n ?? '0');
}

interface Store {
  migrate(): Promise<void>;
  enqueue(rows: unknown[]): Promise<void>;
  onWake(listener: () => void): () => void;
  close(): Promise<void>;
}
interface Side {
  name: string;
  store: Store;
  admin: pg.Client;
  /** The side's enqueue and LISTEN backends. */
  pids: string;
  backendUs: number[];
  serverUs: number[];
  walBytes: number[];
  nodeUs: number[];
}

const server = await startPostgres();
const sides: Side[] = [];
for (const [name, v] of Object.entries(variants)) {
  const url = await server.createDatabase(`enqueue_${name}`);
  const path = v.base === undefined ? '../src/delivery/postgres-store.ts' : `${v.base}/src/delivery/postgres-store.ts`;
  const { PostgresStore } = (await import(path)) as { PostgresStore: new (options: unknown) => Store };
  const store = new PostgresStore({ url, logger: silentLogger() });
  await store.migrate();
  if (v.listen !== false) store.onWake(() => undefined);
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query('ALTER TABLE hookwork_deliveries SET (autovacuum_enabled = false); ALTER TABLE hookwork_events SET (autovacuum_enabled = false)');
  if (v.sql !== undefined) await admin.query(v.sql);
  await store.enqueue(group()); // opens and prepares
  const { rows } = await admin.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE application_name IN ('hookwork-enqueue', 'hookwork-listen') AND datname = current_database()`,
  );
  sides.push({ name, store, admin, pids: rows.map((r) => String(r.pid)).join(','), backendUs: [], serverUs: [], walBytes: [], nodeUs: [] });
}
if (process.env['PERF'] !== undefined) {
  console.log(`PID ${sides.map((x) => x.pids).join(' ')}`);
  await new Promise((r) => setTimeout(r, 1500));
}
const rowsPerBlock = GROUPS * GROUP;
for (let block = -1; block < BLOCKS; block++) {
  const order = sides.map((_, i) => sides[(i + Math.max(0, block)) % sides.length] as Side);
  for (const side of order) {
    const wal0 = await walLsn(side.admin);
    const backend0 = cpuNs(side.pids);
    const server0 = serverNs(server.port);
    const node0 = process.cpuUsage();
    for (let g = 0; g < GROUPS; g++) await side.store.enqueue(group());
    const node = process.cpuUsage(node0);
    const backend = cpuNs(side.pids) - backend0;
    const srv = serverNs(server.port) - server0;
    const wal = (await walLsn(side.admin)) - wal0;
    if (block < 0) continue;
    side.backendUs.push(backend / 1e3 / rowsPerBlock);
    side.serverUs.push(srv / 1e3 / rowsPerBlock);
    side.walBytes.push(Number(wal) / rowsPerBlock);
    side.nodeUs.push((node.user + node.system) / rowsPerBlock);
  }
}
const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
for (const s of sides) {
  console.log(
    `${s.name.padEnd(12)} per row: enqueue+listen backends ${med(s.backendUs).toFixed(1)} µs [${s.backendUs.map((x) => x.toFixed(0)).join(' ')}]  server ${med(s.serverUs).toFixed(1)} µs  WAL ${med(s.walBytes).toFixed(0)} B  node ${med(s.nodeUs).toFixed(1)} µs`,
  );
}
const first = sides[0] as Side;
for (const s of sides.slice(1)) {
  const ratio = (a: number[], b: number[]): string => med(a.map((x, i) => x / (b[i] as number))).toFixed(3);
  console.log(`${s.name} / ${first.name}, block by block (median): backends ${ratio(s.backendUs, first.backendUs)} server ${ratio(s.serverUs, first.serverUs)} node ${ratio(s.nodeUs, first.nodeUs)}`);
}
for (const s of sides) {
  const { rows } = await s.admin.query<{ relname: string; pages: string }>(
    `SELECT relname, pg_relation_size(oid) / 8192 AS pages FROM pg_class WHERE relname LIKE 'hookwork_deliveries%' OR relname LIKE 'hookwork_events%' ORDER BY 1`,
  );
  console.log(`${s.name} pages: ${rows.map((r) => `${r.relname.replace('hookwork_', '')} ${r.pages}`).join(', ')}`);
}
for (const s of sides) {
  await s.admin.end();
  await s.store.close();
}
await server.stop();
