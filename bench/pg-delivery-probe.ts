// Counting probe for the PostgreSQL durable delivery bench (issue 21): the
// same scenario as bench/delivery.bench.ts's PostgreSQL row, with per
// delivery: statements (round trips) by kind, CPU of this Node process
// (process.cpuUsage(), receiver included, as for the peer) and CPU of the
// throwaway server's processes (/proc/<pid>/stat of the postmaster and its
// children). Raw undici's CPU per request is measured beside it.
// Run: node --import tsx bench/pg-delivery-probe.ts [rounds]. Options (env):
// PROBE_DDL=sql run after the migrations (schema experiments); PROBE_PSS=1 per-statement times and WAL from pg_stat_statements (restarts
// the server with it loaded); PROBE_STATS=1 each statement's CPU in the
// server log (log_statement_stats; PROBE_KEEP_LOG=ms keeps the log that long
// before the server stops); PROBE_EXPLAIN=rate auto_explain plans of that
// share of statements; PROBE_KINDS=1 the server's CPU per process kind;
// PROBE_OURS_ONLY / PROBE_RAW_ONLY one side only (for --cpu-prof);
// PROBE_SENDER=true|false|auto delivery.sender_thread; PROBE_THREADS=1 CPU by thread;
// PROBE_HEAP=file a sampling heap profile (collected objects included; with
// PROBE_HEAP_PROMOTED=1 only those that outlived a young-generation collection);
// PROBE_E2E=1 the end-to-end row (host.emit to a signed handler) as ours;
// BASE=<another checkout, e.g. a `git archive` of the commit before> adds
// that checkout's runtime as a third side (its own database on the same
// server), so old and new code alternate round by round in one process.
// Ours delivers as the bench's row does: a configured, unsigned `type:
// webhook` handler (PROBE_BARE=1: the bare undici target of the rounds
// before the fourth).

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Pool } from 'undici';
import { silentLogger } from '../src/logger.js';
import { createRuntime } from '../src/runtime/runtime.js';
import { AdaptiveTransport } from '../src/http/adaptive-transport.js';
import { countingReceiver, median, threadsCpuUs, undiciBenchTarget } from './lib.js';
import { startPostgres } from '../test/helpers/postgres.js';

const CONCURRENCY = 64;
const DELIVERIES = 4000;
const ROUNDS = Number(process.argv[2] ?? 5);
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const body = JSON.stringify({ id: '1001', data: { file: '/a/b.txt', size: 1234, user: 'alice' }, pad: 'x'.repeat(700) });

// Every statement the store sends goes through Client#query (the pool's clients included).
const counts = new Map<string, number>();

const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
const original = proto.query;
proto.query = function (this: unknown, ...args: unknown[]) {
  const q = args[0];
  const text = typeof q === 'string' ? q : typeof q === 'object' && q !== null ? String((q as { text?: string }).text ?? (q as { name?: string }).name) : '?';
  const kind = classify(text);
  counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return original.apply(this, args);
};

function classify(sql: string): string {
  const s = sql.replace(/\s+/g, ' ').trim();
  if (s.includes('INSERT INTO hookwork_attempts')) return 'settle';
  if (s.includes('FOR UPDATE SKIP LOCKED') && s.includes("state = 'inflight'")) return 'claim';
  if (s.includes('INSERT INTO hookwork_deliveries')) return 'enqueue';
  return s.slice(0, 50);
}

/** utime+stime (clock ticks) of the postmaster listening on `port` and of its children. */
const byKind = new Map<string, number>();
const lastTicks = new Map<string, { ticks: number; name: string }>();
function postgresTicks(port: number): number {
  let master: string | undefined;
  const stats = new Map<string, string[]>();
  const names = new Map<string, string>();
  byKind.clear();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      stats.set(pid, fields);
      names.set(pid, readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').replace(/\d+\.\d+\.\d+\.\d+\(\d+\).*/, 'client').trim());
      if (master === undefined && readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').includes(`-p ${port} `)) master = pid;
    } catch {
      // gone
    }
  }
  let ticks = 0;
  for (const [pid, f] of stats) {
    // fields from state: [0]=state [1]=ppid ... utime=[11] stime=[12] (stat fields 14, 15)
    if (pid === master || f[1] === master) {
      lastTicks.set(pid, { ticks: Number(f[11]) + Number(f[12]), name: pid === master ? 'postmaster' : (names.get(pid) ?? '?') });
    }
  }
  // A connection the pool closed (idle) keeps the CPU it used: its last reading stays counted.
  for (const { ticks: t, name } of lastTicks.values()) {
    ticks += t;
    byKind.set(name, (byKind.get(name) ?? 0) + t);
  }
  return ticks;
}
const TICK_US = 10_000; // CLK_TCK 100

async function main(): Promise<void> {
  const server = await startPostgres();
  try {
    await probe(server);
  } finally {
    await server.stop();
  }
}

async function probe(server: Awaited<ReturnType<typeof startPostgres>>): Promise<void> {
  const url = await server.createDatabase('probe_delivery');
  const baseDir = process.env['BASE'];
  const baseUrl = baseDir === undefined ? undefined : await server.createDatabase('probe_delivery_base');
  const pss = process.env['PROBE_PSS'] !== undefined;
  {
    const ex = new pg.Client({ connectionString: url });
    await ex.connect();
    if (process.env['PROBE_STATS'] !== undefined) {
      // Each statement's CPU (getrusage before and after) in the server log.
      await ex.query(`ALTER DATABASE probe_delivery SET log_statement_stats = on`);
      const { rows } = await ex.query<{ data_directory: string }>('SHOW data_directory');
      console.log(`log: ${rows[0]?.data_directory}/../log`);
    }
    if (process.env['PROBE_EXPLAIN'] !== undefined) {
      await ex.query(`ALTER DATABASE probe_delivery SET session_preload_libraries = 'auto_explain'`);
      await ex.query(`ALTER DATABASE probe_delivery SET auto_explain.log_min_duration = 0`);
      await ex.query(`ALTER DATABASE probe_delivery SET auto_explain.log_analyze = on`);
      await ex.query(`ALTER DATABASE probe_delivery SET auto_explain.log_buffers = on`);
      await ex.query(`ALTER DATABASE probe_delivery SET auto_explain.log_timing = on`);
      await ex.query(`ALTER DATABASE probe_delivery SET auto_explain.sample_rate = ${process.env['PROBE_EXPLAIN']}`);
      const { rows } = await ex.query<{ data_directory: string }>('SHOW data_directory');
      console.log(`log: ${rows[0]?.data_directory}/../log`);
    }
    await ex.end();
  }
  if (pss) {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'`);
    await admin.end();
    await server.halt();
    await server.resume();
    const again = new pg.Client({ connectionString: url });
    await again.connect();
    await again.query('CREATE EXTENSION pg_stat_statements');
    await again.query(`ALTER SYSTEM SET pg_stat_statements.track_planning = on`);
    await again.query('SELECT pg_reload_conf()');
    await again.end();
  }
  const rx = await countingReceiver();
  const dir = mkdtempSync(join(tmpdir(), 'hookwork-probe-'));
  const bare = process.env['PROBE_BARE'] !== undefined;
  // PROBE_E2E=1: the bench's end-to-end row instead (host.emit through the router to a signed handler).
  const e2e = process.env['PROBE_E2E'] !== undefined;
  const pool = new Pool(rx.url, { connections: CONCURRENCY });
  const rawPool = new Pool(rx.url, { connections: CONCURRENCY });
  /** A runtime of this checkout or BASE's, delivering as the bench's row does; returns one round of it. */
  const side = async (make: typeof createRuntime, storeUrl: string, name: string) => {
    const runtime = await make({
      config: {
        log_level: 'silent',
        server: { data_dir: join(dir, name) },
        events: [{ id: '1001', name: 'bench' }],
        store: { url: storeUrl },
        // PROBE_SENDER=true|false|auto: delivery.sender_thread (default: the product's default).
        ...(process.env['PROBE_SENDER'] ? { delivery: { sender_thread: process.env['PROBE_SENDER'] === 'auto' ? 'auto' : process.env['PROBE_SENDER'] === 'true' } } : {}),
        ...(bare
          ? {}
          : {
              ssrf: { allow: ['127.0.0.1/32'] },
              handlers: [{ type: 'webhook', name: 'bench', url: `${rx.url}/hook`, target_events: ['1001'], concurrency: CONCURRENCY, ...(e2e ? { secrets: [SECRET] } : {}) }],
            }),
      },
      baseDir: dir,
      logger: silentLogger(),
    });
    const delivery = runtime.services.delivery!;
    if (bare) delivery.registerTarget(undiciBenchTarget(pool, CONCURRENCY));
    const targetName = bare ? 'bench' : 'handler:bench';
    const event = JSON.parse(body) as Record<string, unknown>;
    const data = { file: '/a/b.txt', size: 1234, user: 'alice', pad: 'x'.repeat(600) };
    const round = async (): Promise<number> => {
      const http0 = runtime.services.targets?.http;
      const sentBefore: [number, number] = http0 instanceof AdaptiveTransport ? [http0.sentOnThread, http0.sentOnMain] : [0, 0];
      const start = performance.now();
      const target = rx.count() + DELIVERIES;
      if (e2e) {
        // The bench's end-to-end row: many producers emitting, routed to the signed handler.
        let emitted = 0;
        await Promise.all(
          Array.from({ length: CONCURRENCY }, async () => {
            while (emitted++ < DELIVERIES) await runtime.host.emit('1001', { data });
          }),
        );
      } else {
        const writes: Promise<unknown>[] = [];
        for (let i = 0; i < DELIVERIES; i += 20) writes.push(delivery.enqueue(Array.from({ length: 20 }, () => ({ target: targetName, event }))));
        await Promise.all(writes);
      }
      await rx.reach(target);
      const rate = DELIVERIES / ((performance.now() - start) / 1000);
      // With the default (auto): the share of this round's requests sent from the sender thread.
      const http = runtime.services.targets?.http;
      if (http instanceof AdaptiveTransport) {
        const onThread = http.sentOnThread - sentBefore[0];
        const all = onThread + http.sentOnMain - sentBefore[1];
        console.log(`  ${name}: ${Math.round((100 * onThread) / Math.max(1, all))} % sent from the sender thread`);
      }
      return rate;
    };
    return { runtime, round };
  };
  const mine = await side(createRuntime, url, 'data');
  const runtime = mine.runtime;
  const ours = mine.round;
  const based =
    baseDir === undefined || baseUrl === undefined
      ? undefined
      : await side(((await import(join(baseDir, 'src/runtime/runtime.ts'))) as { createRuntime: typeof createRuntime }).createRuntime, baseUrl, 'base');
  if (process.env['PROBE_DDL'] !== undefined) {
    // Schema experiments: statements run after the migrations (e.g. an index dropped or made partial).
    const ddl = new pg.Client({ connectionString: url });
    await ddl.connect();
    await ddl.query(process.env['PROBE_DDL']);
    await ddl.end();
  }
  const raw = async (): Promise<number> => {
    const start = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next++ < DELIVERIES) {
          const res = await rawPool.request({ path: '/hook', method: 'POST', headers: { 'content-type': 'application/json', 'webhook-id': 'msg_x' }, body });
          await res.body.text();
        }
      }),
    );
    return DELIVERIES / ((performance.now() - start) / 1000);
  };
  // WAL written per delivery (a count of the server's row work: heap versions, index entries, locks).
  const walClient = new pg.Client({ connectionString: url });
  await walClient.connect();
  const walLsn = async (): Promise<bigint> => {
    const { rows } = await walClient.query<{ b: string }>(`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint AS b`);
    return BigInt(rows[0]?.b ?? '0');
  };
  const measure = async (fn: () => Promise<number>) => {
    // Let the previous round's settles and the server's background work finish.
    await new Promise((resolve) => setTimeout(resolve, 300));
    counts.clear();
    const cpu0 = process.cpuUsage();
    const threads0 = threadsCpuUs();
    const wal0 = await walLsn();
    const pg0 = postgresTicks(server.port);
    const kinds0 = new Map(byKind);
    byKind.clear();
    const rate = await fn();
    // The last settles are written after the last request: wait for them (a poll's worth).
    await new Promise((resolve) => setTimeout(resolve, 100));
    const cpu = process.cpuUsage(cpu0);
    // PROBE_THREADS=1: this process's CPU per delivery by thread (the main one first).
    if (process.env['PROBE_THREADS'] !== undefined) {
      const parts: string[] = [];
      for (const [tid, v] of threadsCpuUs()) {
        const us = (v - (threads0.get(tid) ?? 0)) / DELIVERIES;
        if (us >= 1) parts.push(`${tid === String(process.pid) ? 'main' : `#${tid}`} ${us.toFixed(0)}`);
      }
      console.log(`  threads (µs/delivery): ${parts.join(', ')}`);
    }
    const pgUs = (postgresTicks(server.port) - pg0) * TICK_US;
    const walB = Number((await walLsn()) - wal0) / DELIVERIES;
    const kinds: Record<string, number> = {};
    for (const [k, v] of byKind) kinds[k] = Math.round(((v - (kinds0.get(k) ?? 0)) * TICK_US) / DELIVERIES);
    if (process.env['PROBE_KINDS'] !== undefined) console.log(JSON.stringify(kinds));
    // The store's connections alone (no autovacuum, WAL writer, checkpointer).
    let backendUs = 0;
    for (const [k, v] of Object.entries(kinds)) if (k.endsWith(' client')) backendUs += v;
    return { rate, nodeUs: (cpu.user + cpu.system) / DELIVERIES, pgUs: pgUs / DELIVERIES, backendUs, walB, counts: new Map(counts) };
  };
  const o: Array<Awaited<ReturnType<typeof measure>>> = [];
  const p: Array<Awaited<ReturnType<typeof measure>>> = [];
  const b: Array<Awaited<ReturnType<typeof measure>>> = [];

  try {
    await measure(ours);
    await measure(raw);
    if (based !== undefined) await measure(based.round);
    // PROBE_HEAP=file: a sampling heap profile of the main thread over the rounds, collected objects included (what the GC works on).
    const heapFile = process.env['PROBE_HEAP'];
    const { Session } = await import('node:inspector');
    const session = heapFile === undefined ? undefined : new Session();
    if (session !== undefined) {
      session.connect();
      await new Promise<void>((res) => session.post('HeapProfiler.enable', () => session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: process.env['PROBE_HEAP_PROMOTED'] === undefined }, () => res())));
    }
    for (let r = 0; r < ROUNDS; r++) {
      if (process.env['PROBE_RAW_ONLY'] !== undefined) {
        o.push(await measure(raw));
        p.push(o.at(-1)!);
        continue;
      }
      if (process.env['PROBE_OURS_ONLY'] !== undefined) {
        o.push(await measure(ours));
        p.push(o.at(-1)!);
        continue;
      }
      if (based !== undefined) {
        // Three sides, a different one first each round.
        const steps = [
          async () => o.push(await measure(ours)),
          async () => p.push(await measure(raw)),
          async () => b.push(await measure(based.round)),
        ];
        for (let i = 0; i < 3; i++) await steps[(i + r) % 3]!();
        continue;
      }
      if (r % 2 === 0) {
        o.push(await measure(ours));
        p.push(await measure(raw));
      } else {
        p.push(await measure(raw));
        o.push(await measure(ours));
      }
    }
    if (session !== undefined) {
      const { writeFileSync } = await import('node:fs');
      await new Promise<void>((res) => session.post('HeapProfiler.stopSampling', (err, r) => { writeFileSync(heapFile!, JSON.stringify(r.profile)); res(); }));
    }
    {
      // Row versions: a HOT update wrote no index entry.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const { rows } = await walClient.query<{ rel: string; ins: string; upd: string; hot: string; del: string; n: string }>(
        `SELECT relname AS rel, n_tup_ins AS ins, n_tup_upd AS upd, n_tup_hot_upd AS hot, n_tup_del AS del,
                (SELECT count(*) FROM pg_indexes i WHERE i.tablename = t.relname) AS n
         FROM pg_stat_user_tables t WHERE relname LIKE 'hookwork_%' AND n_tup_ins + n_tup_upd + n_tup_del > 0 ORDER BY relname`,
      );
      for (const r of rows) console.log(`${r.rel}: ${r.ins} inserted, ${r.upd} updated, ${r.hot} of them HOT, ${r.del} deleted; ${r.n} indexes`);
    }
    if (pss) {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      const total = DELIVERIES * (ROUNDS + 2);
      const { rows } = await c.query<{ q: string; calls: string; plan: number; exec: number; rows: string; blks: string; wal: string }>(
        `SELECT (CASE WHEN db.datname = 'probe_delivery_base' THEN 'base ' ELSE '' END) || left(regexp_replace(query, '\\s+', ' ', 'g'), 60) AS q, calls, total_plan_time AS plan, total_exec_time AS exec, rows, shared_blks_hit + shared_blks_read + shared_blks_dirtied AS blks, wal_bytes AS wal
         FROM pg_stat_statements s JOIN pg_database db ON db.oid = s.dbid ORDER BY total_plan_time + total_exec_time DESC LIMIT 12`,
      );
      for (const r of rows) {
        console.log(`${r.q.padEnd(65)} calls ${r.calls} plan ${((r.plan * 1000) / total).toFixed(1)}µs/d exec ${((r.exec * 1000) / total).toFixed(1)}µs/d per call plan ${(r.plan / Number(r.calls)).toFixed(2)}ms exec ${(r.exec / Number(r.calls)).toFixed(2)}ms wal ${(Number(r.wal) / total).toFixed(0)}B/d`);
      }
      await c.end();
    }
  } finally {
    await runtime.close();
    await based?.runtime.close();
    await walClient.end();
    await pool.close();
    await rawPool.close();
    await rx.close();
    rmSync(dir, { recursive: true, force: true });
    if (process.env['PROBE_KEEP_LOG'] !== undefined) console.log(`port: ${server.port} (pg_waldump --stats=record its data folder's pg_wal while it waits)`);
    if (process.env['PROBE_KEEP_LOG'] !== undefined) await new Promise((resolve) => setTimeout(resolve, Number(process.env['PROBE_KEEP_LOG'])));
  }
  const f = (n: number) => n.toFixed(1);
  const line = (label: string, a: Awaited<ReturnType<typeof measure>>, peer: Awaited<ReturnType<typeof measure>>): string => {
    let statements = 0;
    for (const n of a.counts.values()) statements += n;
    return `${label}: ${f(a.rate)}/s node ${f(a.nodeUs)}µs pg ${f(a.pgUs)}µs (backends ${f(a.backendUs)}µs) wal ${a.walB.toFixed(0)}B | ratio ${(a.rate / peer.rate).toFixed(2)} | statements/delivery ${(statements / DELIVERIES).toFixed(4)} ${JSON.stringify(Object.fromEntries(a.counts))}`;
  };
  for (let i = 0; i < o.length; i++) {
    console.log(`round ${i}: raw ${f(p[i]!.rate)}/s node ${f(p[i]!.nodeUs)}µs`);
    console.log(`  ${line('ours', o[i]!, p[i]!)}`);
    if (b[i] !== undefined) console.log(`  ${line('base', b[i]!, p[i]!)}`);
  }
  const summary = (label: string, xs: typeof o) =>
    console.log(
      `median ${label}: ratio ${median(xs.map((a, i) => a.rate / p[i]!.rate)).toFixed(2)} node ${f(median(xs.map((a) => a.nodeUs)))}µs pg ${f(median(xs.map((a) => a.pgUs)))}µs (backends ${f(median(xs.map((a) => a.backendUs)))}µs) wal ${median(xs.map((a) => a.walB)).toFixed(0)}B`,
    );
  summary('ours', o);
  if (b.length > 0) summary('base', b);
  console.log(`median raw node ${f(median(p.map((x) => x.nodeUs)))}µs`);
}

await main();
