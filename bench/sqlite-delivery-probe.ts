// Counting probe for the SQLite durable delivery bench (issue 21): the same
// scenario as bench/delivery.bench.ts's first row, with per delivery: CPU of
// the main thread and of the other threads (/proc/self/task; the busiest
// other one is the SQLite thread), the messages to the store thread by
// method (and settles per message), and the ratio to raw undici, rounds
// alternating. Run: node --import tsx bench/sqlite-delivery-probe.ts [rounds].
// Options (env): PROBE_BYTES=1 bytes posted and answered per delivery (v8
// serialize); PROBE_LAT=1 each call's round trip and postMessage time;
// PROBE_TIMES=1 when the first, 64th and last answers came and the steady rate
// (PROBE_BINS=1: answers per 10 ms too); PROBE_THREADS=1 CPU per delivery of
// each thread; PROBE_HEAPUSED=1 the heap after each round, and after a full GC
// (with --expose-gc); PROBE_STORE=url another store (memory: the queue's cost
// without SQLite); PROBE_SENDER=true|false|auto delivery.sender_thread;
// PROBE_EB=n delivery.enqueue_batch;
// PROBE_INFLIGHT=1 the dispatcher's attempts in flight (sampled every 5 ms:
// below 64 means it ran dry); PROBE_OURS_ONLY / PROBE_RAW_ONLY one side only;
// PROBE_PROF=file a CPU profile of the main thread over the rounds
// (PROBE_HEAP=1: a sampling heap profile, collected objects included);
// PROBE_RAW_SIGNAL=1 the raw side passes one shared AbortSignal, as the
// queue's attempts pass their lease's; PROBE_NO_SIGNAL=1 ours does not;
// PROBE_TARGET=bare the bare undici target the row used before the fourth
// round (bench/lib.ts undiciBenchTarget) instead of the configured, unsigned
// webhook handler the row measures now; PROBE_TARGET=exchange the same bare
// target sending through exchange() (src/http/exchange.ts).
import { setMaxListeners } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serialize } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { Pool } from 'undici';
import { silentLogger } from '../src/logger.js';
import { createRuntime } from '../src/runtime/runtime.js';
import { countingReceiver, median, threadsCpuUs, undiciBenchTarget } from './lib.js';
import { exchange } from '../src/http/exchange.js';
import type { DeliveryTarget } from '../src/delivery/types.js';

/** PROBE_TARGET=exchange: the bare target's request through the product's exchange() (no record of headers). */
function exchangeTarget(pool: Pool): DeliveryTarget {
  return {
    name: 'bench',
    kind: 'webhook',
    concurrency: CONCURRENCY,
    async attempt(d, c) {
      const r = await exchange(pool, { path: '/hook', method: 'POST', headers: ['content-type', 'application/json', 'webhook-id', c.webhookId], body: d.eventJson ?? JSON.stringify(d.event), timeoutMs: 30_000, signal: c.signal });
      return { ok: r.status < 300, httpStatus: r.status, response: r.head };
    },
  };
}

const CONCURRENCY = 64;
const DELIVERIES = 4000;
const ROUNDS = Number(process.argv[2] ?? 5);
const BYTES = process.env['PROBE_BYTES'] !== undefined;
const body = JSON.stringify({ id: '1001', data: { file: '/a/b.txt', size: 1234, user: 'alice' }, pad: 'x'.repeat(700) });

let firstPost: string | undefined;
let firstAnswer: string | undefined;
let roundStart = 0;
const calls = new Map<string, { n: number; bytes: number; items: number }>();
let answers = 0;
const postMs = new Map<string, number>();
const sent = new Map<number, { method: string; t: number }>();
const latency = new Map<string, { n: number; ms: number; max: number }>();
let answerBytes = 0;
const wp = Worker.prototype as unknown as { postMessage: (...a: unknown[]) => void; on: (e: string, f: (...a: unknown[]) => void) => unknown };
const post = wp.postMessage;
wp.postMessage = function (this: unknown, m: unknown, ...rest: unknown[]) {
  const c = m as { method?: string; args?: unknown[] };
  // The sender thread's messages are flat arrays (sender-thread.ts): counted by their requests (OP.request = 3 opens each).
  if (Array.isArray(m)) {
    const e = calls.get('sender') ?? { n: 0, bytes: 0, items: 0 };
    e.n++;
    for (let k = 0; k < m.length; k++) if (m[k] === 3 && typeof m[k + 1] === 'number' && typeof m[k + 4] === 'string') e.items++;
    calls.set('sender', e);
  }
  if (c && typeof c.method === 'string' && typeof (c as { id?: unknown }).id === 'number') {
    const e = calls.get(c.method) ?? { n: 0, bytes: 0, items: 0 };
    e.n++;
    if (BYTES) e.bytes += serialize(m).length;
    if (c.method === 'settle' || c.method === 'settleAndClaim') e.items += (c.args?.[0] as unknown[]).length / 24; // slots per settle (sqlite-wire.ts)
    if (c.method === 'enqueue') e.items += (c.args?.[0] as unknown[]).length / 9; // slots per row
    calls.set(c.method, e);
    sent.set((c as { id: number }).id, { method: c.method, t: performance.now() });
    if (firstPost === undefined) firstPost = `${c.method} posted ${(performance.now() - roundStart).toFixed(1)}`;
  }
  const t0 = performance.now();
  const r = post.call(this, m, ...rest);
  const c2 = m as { method?: string };
  if (c2 && typeof c2.method === 'string') postMs.set(c2.method, (postMs.get(c2.method) ?? 0) + performance.now() - t0);
  return r;
};
const on = wp.on;
wp.on = function (this: unknown, ev: string, f: (...a: unknown[]) => void) {
  if (ev !== 'message') return on.call(this, ev, f);
  return on.call(this, ev, (m: unknown) => {
    answers++;
    const id = (m as { id?: number }).id;
    const w = id === undefined ? undefined : sent.get(id);
    if (w !== undefined) {
      sent.delete(id!);
      const l = latency.get(w.method) ?? { n: 0, ms: 0, max: 0 };
      const d = performance.now() - w.t;
      l.n++;
      l.ms += d;
      if (d > l.max) l.max = d;
      latency.set(w.method, l);
      if (firstAnswer === undefined) firstAnswer = `${w.method} answered ${(performance.now() - roundStart).toFixed(1)} (took ${d.toFixed(1)})`;
    }
    if (BYTES) try { answerBytes += serialize(m).length; } catch {}
    f(m);
  });
};

const rx = await countingReceiver();
const dir = mkdtempSync(join(tmpdir(), 'hookwork-probe-'));
const BARE = process.env['PROBE_TARGET'] === 'bare' || process.env['PROBE_TARGET'] === 'exchange';
const runtime = await createRuntime({
  config: {
    log_level: 'silent',
    server: { data_dir: join(dir, 'data') },
    events: [{ id: '1001', name: 'bench' }],
    store: { url: process.env['PROBE_STORE'] ?? 'sqlite:bench.db' },
    delivery: { ...(process.env['PROBE_EB'] ? { enqueue_batch: Number(process.env['PROBE_EB']) } : {}), ...(process.env['PROBE_SENDER'] ? { sender_thread: process.env['PROBE_SENDER'] === 'auto' ? 'auto' : process.env['PROBE_SENDER'] === 'true' } : {}) },
    ...(BARE ? {} : { ssrf: { allow: ['127.0.0.1/32'] }, handlers: [{ type: 'webhook', name: 'bench', url: `${rx.url}/hook`, target_events: ['1001'], concurrency: CONCURRENCY }] }),
  },
  baseDir: dir,
  logger: silentLogger(),
});
const pool = new Pool(rx.url, { connections: CONCURRENCY });
const rawPool = new Pool(rx.url, { connections: CONCURRENCY });
const delivery = runtime.services.delivery!;
const targetName = BARE ? 'bench' : 'handler:bench';
if (BARE) {
  // PROBE_NO_SIGNAL=1: the bare target without the lease's signal (what the listener per request costs; not the bench).
  const target = process.env['PROBE_TARGET'] === 'exchange' ? exchangeTarget(pool) : undiciBenchTarget(pool, CONCURRENCY);
  delivery.registerTarget(
    process.env['PROBE_NO_SIGNAL'] === undefined
      ? target
      : { ...target, attempt: (d, c) => target.attempt(d, { webhookId: c.webhookId, attempt: c.attempt, signal: undefined as unknown as AbortSignal }) },
  );
}
const event = JSON.parse(body) as Record<string, unknown>;
let inflightSum = 0, inflightN = 0, starved = 0;
const ours = async (): Promise<number> => {
  const start = performance.now();
  inflightSum = 0; inflightN = 0; starved = 0;
  const sampler = process.env['PROBE_INFLIGHT'] === undefined ? undefined : setInterval(() => {
    const st = pool.stats as unknown as { running: number; pending: number; queued: number };
    const n = BARE ? st.running + st.pending + st.queued : delivery.inflight;
    if (rx.count() < target - 64) { inflightSum += n; inflightN++; if (n < 56) starved++; }
  }, 5);
  const target = rx.count() + DELIVERIES;
  const writes: Promise<unknown>[] = [];
  const tq = performance.now();
  for (let i = 0; i < DELIVERIES; i += 20) writes.push(delivery.enqueue(Array.from({ length: 20 }, () => ({ target: targetName, event }))));
  if (TIMES) console.log(`enqueue calls took ${(performance.now() - tq).toFixed(1)} ms`);
  await Promise.all(writes);
  await rx.reach(target);
  if (sampler !== undefined) { clearInterval(sampler); console.log(`in flight avg ${(inflightSum / inflightN).toFixed(1)} starved(<56) ${starved}/${inflightN}`); }
  return DELIVERIES / ((performance.now() - start) / 1000);
};
const raw = async (): Promise<number> => {
  const start = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < DELIVERIES) {
        const res = await rawPool.request({ path: '/hook', method: 'POST', headers: { 'content-type': 'application/json', 'webhook-id': 'msg_x' }, body, ...(SIG ? { signal: sharedSignal } : {}) });
        await res.body.text();
      }
    }),
  );
  return DELIVERIES / ((performance.now() - start) / 1000);
};
const pid = String(process.pid);
const THREADS = process.env['PROBE_THREADS'] !== undefined;
const TIMES = process.env['PROBE_TIMES'] !== undefined;
/** A thread's name (/proc comm; on Node 20 every thread reads "node", so its id tells them apart: the main one first, then V8's helpers, then the workers in the order they started). */
function threadName(tid: string): string {
  try {
    return `${readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim()}#${tid}`;
  } catch {
    return `#${tid}`;
  }
}
const SIG = process.env['PROBE_RAW_SIGNAL'] !== undefined;
const sharedController = new AbortController();
setMaxListeners(0, sharedController.signal);
const sharedSignal = sharedController.signal;
const measure = async (fn: () => Promise<number>) => {
  await new Promise((resolve) => setTimeout(resolve, 200));
  calls.clear();
  latency.clear();
  postMs.clear();
  answers = 0;
  answerBytes = 0;
  const t0 = threadsCpuUs();
  const cpu0 = process.cpuUsage();
  const rec = TIMES ? rx.record() : undefined;
  const tStart = performance.now();
  roundStart = tStart;
  firstPost = undefined;
  firstAnswer = undefined;
  const rate = await fn();
  if (process.env['PROBE_HEAPUSED'] !== undefined) {
    const before = process.memoryUsage().heapUsed;
    (globalThis as { gc?: () => void }).gc?.();
    console.log(`${fn === ours ? 'ours' : 'raw '} heap used ${(before / 1e6).toFixed(1)} MB, after a full GC ${(process.memoryUsage().heapUsed / 1e6).toFixed(1)} MB`);
  }
  if (rec !== undefined) {
    const ts = rec.stop();
    const at = (i: number) => (ts[i]! - tStart).toFixed(1);
    const n = ts.length;
    const mid = (0.8 * n) / ((ts[Math.floor(n * 0.9)]! - ts[Math.floor(n * 0.1)]!) / 1000);
    if (process.env['PROBE_BINS'] !== undefined) {
      const bins: number[] = [];
      for (const t of ts) bins[Math.floor((t - tStart) / 10)] = (bins[Math.floor((t - tStart) / 10)] ?? 0) + 1;
      console.log(`${fn === ours ? 'ours' : 'raw '} per 10 ms: ${Array.from(bins, (b) => b ?? 0).join(' ')}`);
    }
    console.log(`${fn === ours ? `${firstPost}; ${firstAnswer}\n` : ''}${fn === ours ? 'ours' : 'raw '} first ${at(0)} ms, 64th ${at(63)} ms, last-64 ${at(n - 64)} ms, last ${at(n - 1)} ms; steady (10–90 %) ${mid.toFixed(0)}/s, whole ${rate.toFixed(0)}/s`);
  }
  await new Promise((resolve) => setTimeout(resolve, 60));
  const cpu = process.cpuUsage(cpu0);
  const t1 = threadsCpuUs();
  let main = 0;
  let other = 0;
  let top = 0;
  const perThread: string[] = [];
  for (const [tid, v] of t1) {
    const d = v - (t0.get(tid) ?? 0);
    if (THREADS && d / DELIVERIES >= 1) perThread.push(`${threadName(tid)} ${(d / DELIVERIES).toFixed(0)}`);
    if (tid === pid) main = d;
    else {
      other += d;
      if (d > top) top = d;
    }
  }
  const msgs: Record<string, string> = {};
  for (const [k, v] of calls) msgs[k] = `${v.n}${v.items ? ` (${(v.items / v.n).toFixed(1)} each)` : ''}${BYTES ? ` ${(v.bytes / DELIVERIES).toFixed(0)}B/d` : ''}`;
  const lat: Record<string, string> = {};
  for (const [k, v] of latency) lat[k] = `${(v.ms / v.n).toFixed(1)}ms avg ${v.max.toFixed(0)} max`;
  for (const [k, v] of postMs) lat[k] += ` post ${((v * 1000) / DELIVERIES).toFixed(1)}µs/d`;
  if (process.env['PROBE_LAT'] !== undefined) console.log(JSON.stringify(lat));
  if (THREADS) console.log(`${fn === ours ? 'ours' : 'raw'} threads (µs/delivery): ${perThread.join(', ')}`);
  return { rate, procUs: (cpu.user + cpu.system) / DELIVERIES, mainUs: main / DELIVERIES, otherUs: other / DELIVERIES, topThreadUs: top / DELIVERIES, msgs, answers, answerB: answerBytes / DELIVERIES };
};
const o: Array<Awaited<ReturnType<typeof measure>>> = [];
const p: Array<Awaited<ReturnType<typeof measure>>> = [];
let session: import('node:inspector').Session | undefined;
try {
  await measure(ours);
  await measure(raw);
  if (process.env['PROBE_PROF'] !== undefined) {
    const { Session } = await import('node:inspector');
    session = new Session();
    session.connect();
    const s = session;
    if (process.env['PROBE_HEAP'] !== undefined) await new Promise<void>((res) => s.post('HeapProfiler.enable', () => s.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true }, () => res())));
    else await new Promise<void>((res) => s.post('Profiler.enable', () => s.post('Profiler.start', () => res())));
  }
  for (let r = 0; r < ROUNDS; r++) {
    if (process.env['PROBE_OURS_ONLY'] !== undefined) {
      o.push(await measure(ours));
      continue;
    }
    if (process.env['PROBE_RAW_ONLY'] !== undefined) {
      p.push(await measure(raw));
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
    const s = session;
    const { writeFileSync } = await import('node:fs');
    if (process.env['PROBE_HEAP'] !== undefined) await new Promise<void>((res) => s.post('HeapProfiler.stopSampling', (err, r) => { writeFileSync(process.env['PROBE_PROF']!, JSON.stringify(r.profile)); res(); }));
    else await new Promise<void>((res) => s.post('Profiler.stop', (err, r) => { writeFileSync(process.env['PROBE_PROF']!, JSON.stringify(r.profile)); res(); }));
  }
} finally {
  await runtime.close();
  await pool.close();
  await rawPool.close();
  await rx.close();
  rmSync(dir, { recursive: true, force: true });
}
const f = (n: number) => n.toFixed(0);
for (let i = 0; i < o.length; i++) {
  const a = o[i]!;
  const b = p[i];
  console.log(`ours ${f(a.rate)}/s proc ${f(a.procUs)} main ${f(a.mainUs)} other ${f(a.otherUs)} (top ${f(a.topThreadUs)}) | raw ${b ? `${f(b.rate)}/s proc ${f(b.procUs)} main ${f(b.mainUs)} other ${f(b.otherUs)}` : '-'} | ratio ${b ? (a.rate / b.rate).toFixed(2) : '-'} | ${JSON.stringify(a.msgs)} answers ${a.answers}${BYTES ? ` ${a.answerB.toFixed(0)}B/d` : ''}`);
}
if (p.length) {
  console.log(`median ratio ${median(o.map((a, i) => a.rate / p[i]!.rate)).toFixed(2)}; ours main ${f(median(o.map((a) => a.mainUs)))} other ${f(median(o.map((a) => a.otherUs)))} top ${f(median(o.map((a) => a.topThreadUs)))} proc ${f(median(o.map((a) => a.procUs)))}; raw main ${f(median(p.map((a) => a.mainUs)))} proc ${f(median(p.map((a) => a.procUs)))}`);
}
