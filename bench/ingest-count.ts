// Counts what one accepted event costs through POST /v1/events/batch and
// single POST /v1/events (the two sides of bench/ingest.bench.ts, made by
// the same functions), in alternated rounds: process CPU and main-thread CPU
// (/proc/self/task/*/schedstat) per event, the garbage collector's pauses
// (count and time) per round, and with ALLOC=1 the bytes the main thread
// allocates per event (V8's sampling heap profiler, counting objects the
// collector has freed too). Linux only.
// `node --import tsx bench/ingest-count.ts` (ROUNDS=6; ONLY=batch or
// ONLY=single measures one side, e.g. under --cpu-prof; ALLOC=1 adds the
// allocation counts, TOP=n prints the n functions allocating most).
import { readdirSync, readFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { PerformanceObserver } from 'node:perf_hooks';
import { BATCH_CLIENTS, EVENTS, SINGLE_CLIENTS, batched, side, single, type Side } from './ingest.bench.js';

const ROUNDS = Number(process.env['ROUNDS'] ?? 6);
const ONLY = process.env['ONLY'];
const ALLOC = process.env['ALLOC'] === '1';
const TOP = Number(process.env['TOP'] ?? 0);

/** CPU µs of this process's main thread (its task id is the process id). */
function mainThreadUs(): number {
  return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e3;
}

/** CPU µs of every thread, by thread name (the main one is "main"): V8's helpers, the SQLite thread, libuv's. */
function threadsUs(): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of readdirSync('/proc/self/task')) {
    try {
      const us = Number(readFileSync(`/proc/self/task/${t}/schedstat`, 'utf8').split(' ')[0]) / 1e3;
      const name = t === String(process.pid) ? 'main' : `${readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim()}#${t}`;
      out.set(name, (out.get(name) ?? 0) + us);
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

let gcCount = 0;
let gcMs = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gcCount++;
    gcMs += entry.duration;
  }
}).observe({ entryTypes: ['gc'] });

interface HeapNode {
  selfSize: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children: HeapNode[];
}

const session = new Session();
session.connect();

async function sampled<T>(fn: () => Promise<T>): Promise<{ result: T; bytes: number; top: Map<string, number> }> {
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 1024,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  } as never);
  const result = await fn();
  const { profile } = (await session.post('HeapProfiler.stopSampling')) as unknown as { profile: { head: HeapNode } };
  let bytes = 0;
  const top = new Map<string, number>();
  const walk = (node: HeapNode): void => {
    bytes += node.selfSize;
    if (node.selfSize > 0) {
      const key = `${node.callFrame.functionName || '(anonymous)'} ${node.callFrame.url.split('/').slice(-2).join('/')}:${node.callFrame.lineNumber}`;
      top.set(key, (top.get(key) ?? 0) + node.selfSize);
    }
    for (const child of node.children) walk(child);
  };
  walk(profile.head);
  return { result, bytes, top };
}

interface Figures {
  cpu: number[];
  main: number[];
  rate: number[];
  gc: number[];
  gcMs: number[];
  bytes: number[];
  threads: Map<string, number[]>;
}

const figures = new Map<string, Figures>();

async function measure(name: string, s: Side): Promise<void> {
  const f: Figures = figures.get(name) ?? { cpu: [], main: [], rate: [], gc: [], gcMs: [], bytes: [], threads: new Map() };
  figures.set(name, f);
  const cpu0 = process.cpuUsage();
  const threads0 = threadsUs();
  const main0 = mainThreadUs();
  const gc0 = gcCount;
  const gcMs0 = gcMs;
  let rate: number;
  if (ALLOC) {
    const { result, bytes, top } = await sampled(() => s.round());
    rate = result;
    f.bytes.push(bytes / EVENTS);
    if (TOP > 0) {
      console.log(`-- ${name}: top allocations, bytes per event`);
      for (const [k, v] of [...top].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`${(v / EVENTS).toFixed(0).padStart(7)} ${k}`);
    }
  } else {
    rate = await s.round();
  }
  const cpu = process.cpuUsage(cpu0);
  for (const [thread, us] of threadsUs()) {
    const list = f.threads.get(thread) ?? [];
    list.push((us - (threads0.get(thread) ?? 0)) / EVENTS);
    f.threads.set(thread, list);
  }
  f.cpu.push((cpu.user + cpu.system) / EVENTS);
  f.main.push((mainThreadUs() - main0) / EVENTS);
  f.rate.push(rate);
  f.gc.push(gcCount - gc0);
  f.gcMs.push(gcMs - gcMs0);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

const sides: Array<[string, Side]> = [];
if (ONLY !== 'single') sides.push(['batch', await side(batched, BATCH_CLIENTS)]);
if (ONLY !== 'batch') sides.push(['single', await side(single, SINGLE_CLIENTS)]);
const start = process.hrtime.bigint() / 1000n;
try {
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? sides : [...sides].reverse();
    for (const [name, s] of order) await measure(name, s);
  }
} finally {
  for (const [, s] of sides) await s.close();
}
// The measured rounds' start and end on the profiles' clock (µs), for a --cpu-prof reader.
console.log(`WINDOW ${start} ${process.hrtime.bigint() / 1000n}`);
for (const [name, f] of figures) {
  const fmt = (xs: number[], d = 1): string => `${median(xs).toFixed(d)} [${xs.map((x) => x.toFixed(d)).join(' ')}]`;
  console.log(`${name}: events/s ${fmt(f.rate, 0)}`);
  console.log(`${name}: process CPU µs/event ${fmt(f.cpu)}`);
  console.log(`${name}: main thread CPU µs/event ${fmt(f.main)}`);
  console.log(`${name}: GC pauses/round ${fmt(f.gc, 0)}, GC ms/round ${fmt(f.gcMs, 0)}`);
  for (const [thread, us] of [...f.threads].sort((x, y) => median(y[1]) - median(x[1]))) console.log(`${name}:   thread ${thread} CPU µs/event ${fmt(us)}`);
  if (f.bytes.length > 0) console.log(`${name}: bytes allocated/event (main thread) ${fmt(f.bytes, 0)}`);
}
const b = figures.get('batch');
const s1 = figures.get('single');
if (b !== undefined && s1 !== undefined) {
  const ratios = b.rate.map((x, i) => x / (s1.rate[i] as number));
  console.log(`ratio batch/single events/s: ${median(ratios).toFixed(2)} [${ratios.map((x) => x.toFixed(2)).join(' ')}]`);
  console.log(`CPU ratio single/batch per event: ${(median(s1.cpu) / median(b.cpu)).toFixed(2)}`);
}
