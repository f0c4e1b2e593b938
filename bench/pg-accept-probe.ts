// Counting probe for the `POST /v1/events` acceptance row of
// bench/delivery.bench.ts on PostgreSQL (issue 21): the same passes (a new
// runtime and gateway a pass, 64 clients, 3,000 posts, the memory-store
// gateway alternating with the PostgreSQL one), with per accepted event:
// this process's CPU (gateway and clients, process.cpuUsage()) and its main
// thread's (/proc/self/task), the throwaway server's CPU (/proc/<pid>/schedstat
// of the postmaster and its children) and of the enqueue and LISTEN
// connections' backends (a listening store writes its enqueues on the LISTEN
// one), the WAL written, statements (round trips) and enqueue groups, p99.
// Linux only.
// Run: node --import tsx bench/pg-accept-probe.ts [rounds] (POSTS=n per pass;
// ONLY=pg or ONLY=memory measures one side, e.g. under --cpu-prof;
// BASE=<another checkout, e.g. `git archive` of the commit before> adds that
// checkout's PostgreSQL gateway as a third side, its modules loaded beside
// these, so old and new code alternate in one process; THREADS=1 prints the
// CPU of the process's other threads; PRINT_PID=1 the enqueue backend's pid).

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Pool } from 'undici';
import { eventToJSON } from '../src/events/event-json.js';
import { silentLogger } from '../src/logger.js';
import { createRuntime } from '../src/runtime/runtime.js';
import { createGateway } from '../src/server/gateway.js';
import { median } from './lib.js';
import { serverPids } from './pg-server-pids.js';
import { startPostgres } from '../test/helpers/postgres.js';

const CONCURRENCY = 64;
const POSTS = Number(process.env['POSTS'] ?? 3000);
const ROUNDS = Number(process.argv[2] ?? 5);
const ONLY = process.env['ONLY'];
const TICK_US = 1; // ticksOf's unit: µs

// Every statement the store sends goes through Client#query (the pools' clients included).
let statements = 0;
let enqueues = 0;
let enqueuedRows = 0;
/** Wall time the enqueue statements were out (from the driver's query() to its result), summed. */
let enqueueWallMs = 0;
const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
const original = proto.query;
proto.query = function (this: unknown, ...args: unknown[]) {
  statements++;
  const q = args[0] as { name?: string; values?: unknown[][] } | string;
  if (typeof q === 'object' && q !== null && q.name === 'hookwork_enqueue') {
    enqueues++;
    // The ids: an array, or a binary text[] (its element count at byte 12).
    const ids = q.values?.[0] as unknown;
    enqueuedRows += Buffer.isBuffer(ids) ? ids.readInt32BE(12) : ((ids as unknown[] | undefined)?.length ?? 0);
    // The pool passes a callback: the statement is out until it is called (a client's query without one: until its promise settles).
    const t0 = performance.now();
    const last = args.length - 1;
    const cb = args[last];
    if (typeof cb === 'function') {
      args[last] = (...r: unknown[]) => {
        enqueueWallMs += performance.now() - t0;
        return (cb as (...x: unknown[]) => unknown)(...r);
      };
    } else {
      const out = original.apply(this, args) as Promise<unknown>;
      void out.then(
        () => void (enqueueWallMs += performance.now() - t0),
        () => void (enqueueWallMs += performance.now() - t0),
      );
      return out;
    }
  }
  return original.apply(this, args);
};

function mainThreadUs(): number {
  return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e3;
}

/** CPU µs of every thread but the main one, by thread name. */
function threadsUs(): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of readdirSync('/proc/self/task')) {
    if (t === String(process.pid)) continue;
    try {
      const us = Number(readFileSync(`/proc/self/task/${t}/schedstat`, 'utf8').split(' ')[0]) / 1e3;
      const name = readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim();
      out.set(name, (out.get(name) ?? 0) + us);
    } catch {
      // ended meanwhile
    }
  }
  return out;
}

/** A process's CPU time in units of TICK_US, from /proc/<pid>/schedstat (nanoseconds: finer than stat's 10 ms ticks). */
function ticksOf(pid: string): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e3 / TICK_US;
  } catch {
    return 0;
  }
}

function sumTicks(pids: string): number {
  let t = 0;
  for (const pid of pids.split(',')) t += ticksOf(pid);
  return t;
}

/** The server's WAL position in bytes (its difference around a pass: the WAL the pass wrote). */
async function walLsn(admin: pg.Client): Promise<bigint> {
  const { rows } = await admin.query<{ n: string }>(`SELECT (pg_current_wal_lsn() - '0/0')::text AS n`);
  return BigInt(rows[0]?.n ?? '0');
}

/** The postmaster on `port` and its children, with their ticks; processes that ended keep their last reading. */
const lastTicks = new Map<string, number>();
const kinds = new Map<string, string>();
/** The server's ticks by process kind (connections by database, the enqueue one apart), for THREADS=1. */
function serverTicksByKind(writerPid: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const [pid, t] of lastTicks) {
    const kind = writerPid?.split(',').includes(pid) === true ? 'enqueue connection' : (kinds.get(pid) ?? '?');
    out.set(kind, (out.get(kind) ?? 0) + t);
  }
  return out;
}
function serverTicks(port: number): number {
  const { master, pids } = serverPids(port);
  for (const pid of pids) {
    lastTicks.set(pid, ticksOf(pid));
    if (!kinds.has(pid)) {
      // "postgres: walwriter", "postgres: hookwork probe_accept 127.0.0.1(port) idle": the kind without the client's address and state.
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      kinds.set(pid, pid === master ? 'postmaster' : cmd.replace(/^postgres: /, '').replace(/\d+\.\d+\.\d+\.\d+\(\d+\).*/, 'client'));
    }
  }
  let ticks = 0;
  for (const t of lastTicks.values()) ticks += t;
  return ticks;
}

interface Figures {
  rate: number;
  p99: number;
  procUs: number;
  mainUs: number;
  serverUs: number;
  enqueueBackendUs: number;
  /** WAL bytes per event (the server's, around the pass). */
  walBytes: number;
  statements: number;
  groupSize: number;
  /** Share of the pass the enqueue connection had a statement out. */
  writerBusy: number;
  /** Share of the pass the main thread's event loop was busy (eventLoopUtilization). */
  elu: number;
}

/** The gateway to measure: this checkout's, or another's (BASE) loaded beside it. */
interface Impl {
  createRuntime: typeof createRuntime;
  createGateway: typeof createGateway;
  eventToJSON: typeof eventToJSON;
}
const here: Impl = { createRuntime, createGateway, eventToJSON };

async function measure(impl: Impl, url: string, port: number, admin: pg.Client | undefined): Promise<Figures> {
  const { createRuntime, createGateway, eventToJSON } = impl;
  const dir = mkdtempSync(join(tmpdir(), 'hookwork-probe-'));
  const runtime = await createRuntime({
    config: { log_level: 'silent', server: { data_dir: join(dir, 'data') }, events: [{ id: '1001', name: 'bench' }], store: { url } },
    baseDir: dir,
    logger: silentLogger(),
  });
  // As the bench: nobody delivers, this measures accepting (storing) only.
  runtime.host.addEmitStage(async (e) => {
    await runtime.services.delivery!.enqueue([{ target: 'elsewhere', event: eventToJSON(e) }]);
  });
  const gateway = await createGateway(runtime, { port: 0, host: '127.0.0.1' });
  const base = await gateway.listen();
  const client = new Pool(base, { connections: CONCURRENCY });
  let writerPid: string | undefined;
  if (admin !== undefined) {
    // The enqueue connection and the LISTEN one (on which a listening store writes its enqueues since the sixth round), this database's.
    const { rows } = await admin.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE application_name IN ('hookwork-enqueue', 'hookwork-listen') AND datname = current_database() ORDER BY pid`,
    );
    writerPid = rows.length > 0 ? rows.map((r) => String(r.pid)).join(',') : undefined;
    // For `perf record -p` of the enqueue connection's backend.
    if (process.env['PRINT_PID'] !== undefined) console.log(`enqueue backend pid ${writerPid}`);
  }
  const latencies: number[] = [];
  let next = 0;
  const post = JSON.stringify({ id: '1001', data: { file: '/a/b.txt', size: 1234 } });
  statements = enqueues = enqueuedRows = enqueueWallMs = 0;
  const elu0 = performance.eventLoopUtilization();
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadUs();
  const threads0 = process.env['THREADS'] === undefined ? undefined : threadsUs();
  const srv0 = admin === undefined ? 0 : serverTicks(port);
  const kinds0 = admin === undefined ? undefined : serverTicksByKind(writerPid);
  const w0 = writerPid === undefined ? 0 : sumTicks(writerPid);
  const wal0 = admin === undefined ? 0n : await walLsn(admin);
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < POSTS) {
        const t = performance.now();
        const res = await client.request({ path: '/v1/events', method: 'POST', headers: { 'content-type': 'application/json' }, body: post });
        await res.body.dump();
        latencies.push(performance.now() - t);
      }
    }),
  );
  const wallMs = performance.now() - start;
  const rate = POSTS / (wallMs / 1000);
  const elu = performance.eventLoopUtilization(elu0).utilization;
  const cpu = process.cpuUsage(cpu0);
  const mainUs = mainThreadUs() - main0;
  if (threads0 !== undefined) {
    const parts: string[] = [];
    for (const [name, us] of threadsUs()) parts.push(`${name} ${((us - (threads0.get(name) ?? 0)) / POSTS).toFixed(1)}`);
    console.log(`  other threads, µs per event: ${parts.join(', ')}`);
  }
  const serverUs = admin === undefined ? 0 : (serverTicks(port) - srv0) * TICK_US;
  if (threads0 !== undefined && kinds0 !== undefined) {
    const parts: string[] = [];
    for (const [kind, t] of serverTicksByKind(writerPid)) {
      const us = ((t - (kinds0.get(kind) ?? 0)) * TICK_US) / POSTS;
      if (us > 0) parts.push(`${kind} ${us.toFixed(1)}`);
    }
    console.log(`  server processes, µs per event: ${parts.join(', ')}`);
  }
  const writerUs = writerPid === undefined ? 0 : (sumTicks(writerPid) - w0) * TICK_US;
  const walBytes = admin === undefined ? 0 : Number((await walLsn(admin)) - wal0) / POSTS;
  const figures: Figures = {
    rate,
    p99: 0,
    procUs: (cpu.user + cpu.system) / POSTS,
    mainUs: mainUs / POSTS,
    serverUs: serverUs / POSTS,
    enqueueBackendUs: writerUs / POSTS,
    walBytes,
    statements: statements / POSTS,
    groupSize: enqueues === 0 ? 0 : enqueuedRows / enqueues,
    writerBusy: enqueueWallMs / wallMs,
    elu,
  };
  await client.close();
  await gateway.close();
  await runtime.close();
  rmSync(dir, { recursive: true, force: true });
  latencies.sort((a, b) => a - b);
  figures.p99 = latencies[Math.floor(latencies.length * 0.99)] as number;
  return figures;
}

function show(label: string, f: Figures): string {
  return `${label.padEnd(6)} ${f.rate.toFixed(0).padStart(6)}/s p99 ${f.p99.toFixed(1).padStart(5)} ms  proc ${f.procUs.toFixed(0).padStart(4)} µs main ${f.mainUs.toFixed(0).padStart(4)} µs  server ${f.serverUs.toFixed(0).padStart(4)} µs (enqueue+listen backends ${f.enqueueBackendUs.toFixed(0)}) WAL ${f.walBytes.toFixed(0)} B  stmts ${f.statements.toFixed(3)} group ${f.groupSize.toFixed(1)} writer busy ${(f.writerBusy * 100).toFixed(0)}% loop busy ${(f.elu * 100).toFixed(0)}%`;
}

async function main(): Promise<void> {
  const server = await startPostgres();
  const admins: pg.Client[] = [];
  const database = async (name: string): Promise<{ url: string; admin: pg.Client }> => {
    const url = await server.createDatabase(name);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    admins.push(admin);
    return { url, admin };
  };
  // Each side: a label and what one pass of it measures. BASE=<another checkout> adds its PostgreSQL gateway
  // (its own modules, loaded beside these), so old and new code alternate in one process.
  const sides: Array<{ label: string; pass: () => Promise<Figures>; figures: Figures[] }> = [];
  if (ONLY !== 'pg') sides.push({ label: 'memory', pass: () => measure(here, 'memory', server.port, undefined), figures: [] });
  if (ONLY !== 'memory') {
    const db = await database('probe_accept');
    sides.push({ label: 'pg', pass: () => measure(here, db.url, server.port, db.admin), figures: [] });
    const baseDir = process.env['BASE'];
    if (baseDir !== undefined) {
      const base: Impl = {
        createRuntime: ((await import(join(baseDir, 'src/runtime/runtime.ts'))) as { createRuntime: typeof createRuntime }).createRuntime,
        createGateway: ((await import(join(baseDir, 'src/server/gateway.ts'))) as { createGateway: typeof createGateway }).createGateway,
        eventToJSON: ((await import(join(baseDir, 'src/events/event-json.ts'))) as { eventToJSON: typeof eventToJSON }).eventToJSON,
      };
      const baseDb = await database('probe_accept_base');
      sides.push({ label: 'pg-base', pass: () => measure(base, baseDb.url, server.port, baseDb.admin), figures: [] });
    }
  }
  try {
    for (let round = -1; round < ROUNDS; round++) {
      // A different side first each round (pass -1, all cold, is dropped).
      const order = sides.map((_, i) => sides[(i + Math.max(0, round)) % sides.length]!);
      const got = new Map<string, Figures>();
      for (const side of order) got.set(side.label, await side.pass());
      if (round < 0) continue;
      for (const side of sides) {
        const f = got.get(side.label)!;
        side.figures.push(f);
        console.log(show(side.label, f));
      }
      const memory = got.get('memory');
      if (memory !== undefined) for (const side of sides) if (side.label !== 'memory') console.log(`${side.label} ratio ${(got.get(side.label)!.rate / memory.rate).toFixed(2)}x`);
    }
    const med = (xs: Figures[], k: keyof Figures): number => median(xs.map((x) => x[k]));
    for (const { label, figures: xs } of sides) {
      console.log(
        `median ${label}: ${med(xs, 'rate').toFixed(0)}/s p99 ${med(xs, 'p99').toFixed(1)} ms proc ${med(xs, 'procUs').toFixed(0)} µs main ${med(xs, 'mainUs').toFixed(0)} µs server ${med(xs, 'serverUs').toFixed(0)} µs (enqueue+listen backends ${med(xs, 'enqueueBackendUs').toFixed(0)}) WAL ${med(xs, 'walBytes').toFixed(0)} B stmts ${med(xs, 'statements').toFixed(3)} group ${med(xs, 'groupSize').toFixed(1)} writer busy ${(med(xs, 'writerBusy') * 100).toFixed(0)}% loop busy ${(med(xs, 'elu') * 100).toFixed(0)}%`,
      );
    }
    const memory = sides.find((x) => x.label === 'memory');
    if (memory !== undefined) {
      for (const side of sides) {
        if (side === memory) continue;
        const ratios = side.figures.map((o, i) => o.rate / memory.figures[i]!.rate).sort((a, b) => a - b);
        console.log(`${side.label} vs memory: median ${median(ratios).toFixed(2)}x (${ratios[0]?.toFixed(2)}–${ratios.at(-1)?.toFixed(2)})`);
      }
    }
  } finally {
    for (const admin of admins) await admin.end();
    await server.stop();
  }
}

await main();
