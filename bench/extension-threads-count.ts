// Counts what one extension event costs, ours against piscina.run and bare
// worker_threads (the peers of bench/extensions.bench.ts, same tasks), in
// alternated rounds:
// per-thread CPU from /proc/self/task/*/schedstat (main thread, the two
// busiest other threads = the workers, the rest), context switches of all
// threads, and the main thread's postMessage calls, per event. Linux only.
// `node --import tsx bench/extension-threads-count.ts` (ROUNDS=8; ONLY=ours,
// peer or raw measures one side, e.g. under --cpu-prof; the WINDOW lines
// give the measured rounds' start and end on the profiles' clock, in µs).
import { availableParallelism } from 'node:os';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessagePort } from 'node:worker_threads';
import type { HookworkEvent } from '../src/events/envelope.js';
import type { ExtensionTask, HandleResult } from '../src/extensions/contract.js';
import { ExtensionHandler, toWorkerCopy } from '../src/extensions/handler.js';
import { resolveEntryPoint } from '../src/extensions/loader.js';
import { extensionSides, rawThreads } from './extensions.bench.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const EVENT_ID = '5000';
const ENTRY_POINT = 'trivial-extension.ts#TrivialExtension';
const BATCH = 2000;
const ROUNDS = Number(process.env.ROUNDS ?? 8);
const ONLY = process.env.ONLY;

let posts = 0;
const origPost = MessagePort.prototype.postMessage;
MessagePort.prototype.postMessage = function (this: MessagePort, ...args: unknown[]) {
  posts++;
  return (origPost as (...a: unknown[]) => void).apply(this, args);
} as typeof origPost;

function switches(): number {
  let total = 0;
  for (const t of readdirSync('/proc/self/task')) {
    try {
      const s = readFileSync(`/proc/self/task/${t}/status`, 'utf8');
      total += Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(s)?.[1] ?? 0) + Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(s)?.[1] ?? 0);
    } catch {
      // the thread ended meanwhile
    }
  }
  return total;
}
function threadTimes(): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of readdirSync('/proc/self/task')) {
    try {
      const s = readFileSync(`/proc/self/task/${t}/schedstat`, 'utf8');
      out.set(t, Number(s.split(' ')[0]) / 1e3);
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

const size = Math.max(1, Math.min(2, availableParallelism()));
const { runtime, peer } = await extensionSides(size);
const service = runtime.services.extensions;
const handler = service?.handler('trivial') as ExtensionHandler;
let pending = 0;
let done: (() => void) | undefined;
runtime.host.on('20200', () => { if (--pending === 0) done?.(); });
const input = { account: { name: 'bench' }, data: { path: '/in/file.txt', size: 1024 } };
await service?.stop('trivial');
const sources: HookworkEvent[] = [];
for (let i = 0; i < BATCH; i++) sources.push(await runtime.host.emit(EVENT_ID, input));
await service?.start('trivial');
const ours = async () => {
  const finished = new Promise<void>((resolve) => (done = resolve));
  pending = BATCH;
  for (let i = 0; i < BATCH; i++) handler.dispatch(sources[i] as HookworkEvent);
  await finished;
};
const entry = resolveEntryPoint('trivial', ENTRY_POINT, FIXTURES);
const tasks: ExtensionTask[] = sources.map((source) => ({ module: entry.url, exportName: entry.exportName, event: toWorkerCopy(source, false), configuration: source.id }));
const peerRun = async () => {
  const runs: Promise<HandleResult>[] = [];
  for (let i = 0; i < BATCH; i++) runs.push(peer.run(tasks[i] as ExtensionTask));
  await Promise.all(runs);
};
const raw = rawThreads(size);
const rawRun = async () => {
  await raw.batch(tasks);
};
async function measure(fn: () => Promise<void>) {
  const t0 = threadTimes(); const p0 = posts; const c0 = switches(); const w0 = process.hrtime.bigint();
  await fn();
  const wall = Number(process.hrtime.bigint() - w0) / 1e3;
  const t1 = threadTimes(); const c1 = switches();
  let main = 0; const others: number[] = [];
  for (const [t, v] of t1) { const d = v - (t0.get(t) ?? 0); if (t === String(process.pid)) main = d; else others.push(d); }
  others.sort((a, b) => b - a);
  return { wall: wall / BATCH, main: main / BATCH, top2: (others[0]! + others[1]!) / BATCH, rest: others.slice(2).reduce((a, b) => a + b, 0) / BATCH, posts: (posts - p0) / BATCH, cs: (c1 - c0) / BATCH };
}
for (let i = 0; i < 3; i++) { if (ONLY === undefined || ONLY === 'ours') await ours(); if (ONLY === undefined || ONLY === 'peer') await peerRun(); if (ONLY === undefined || ONLY === 'raw') await rawRun(); }
console.log('WINDOW_START', process.hrtime.bigint() / 1000n);
const rows: Record<string, ReturnType<typeof measure> extends Promise<infer R> ? R[] : never> = { ours: [], peer: [], raw: [] };
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? ['ours', 'peer', 'raw'] : ['raw', 'peer', 'ours'];
  for (const name of order) {
    if (ONLY !== undefined && ONLY !== name) continue;
    rows[name]!.push(await measure(name === 'ours' ? ours : name === 'peer' ? peerRun : rawRun));
  }
}
console.log('WINDOW_END', process.hrtime.bigint() / 1000n);
const med = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1] ?? NaN; };
for (const name of ['ours', 'peer', 'raw']) {
  const rs = rows[name]!;
  if (rs.length === 0) continue;
  console.log(`${name.padEnd(5)} wall ${med(rs.map((r) => r.wall)).toFixed(1)} µs/ev (${(1e6 / med(rs.map((r) => r.wall))).toFixed(0)}/s)  main CPU ${med(rs.map((r) => r.main)).toFixed(1)} µs  workers(top2) ${med(rs.map((r) => r.top2)).toFixed(1)} µs  other threads ${med(rs.map((r) => r.rest)).toFixed(1)} µs  main postMessage/ev ${med(rs.map((r) => r.posts)).toFixed(2)}  ctx switches/ev ${med(rs.map((r) => r.cs)).toFixed(2)}`);
}
const ratios = rows.ours!.map((o, i) => rows.peer![i] ? rows.peer![i]!.wall / o.wall : NaN).filter(Number.isFinite);
if (ratios.length) console.log('ratio (peer wall / ours wall) median', med(ratios).toFixed(2), 'all', ratios.map((x) => x.toFixed(2)).join(' '));
await runtime.close();
await peer.destroy();
await raw.close();
