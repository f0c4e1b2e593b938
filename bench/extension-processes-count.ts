// Counts what one Python handler event costs, Hookwork against the
// two-step floor of bench/extension-processes.bench.ts (the same peer), in
// alternated rounds: the host's CPU per event (process.cpuUsage), the
// Python processes' CPU (/proc/<pid>/stat), and the host's pipe writes and
// reads per event (counted at the child streams). Linux only.
// `node --import tsx bench/extension-processes-count.ts` (ROUNDS=8, WARM=12
// warm-up batches per side; ONLY=ours or floor measures one side, e.g. under
// --cpu-prof).
import { readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { HookworkEvent } from '../src/events/envelope.js';
import type { ExtensionHandler } from '../src/extensions/handler.js';
import { silentLogger } from '../src/logger.js';
import { createRuntime } from '../src/runtime/runtime.js';
import { BareTwoStep, childrenCpuMs, floorFrames } from './extension-processes.bench.js';
import { DEFAULT_PROCESS_PIPELINE } from '../src/extensions/config-schema.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const EVENT_ID = '5000';
const BATCH = 1000;
const ROUNDS = Number(process.env.ROUNDS ?? 8);
const ONLY = process.env.ONLY;
const WARM_UPS = Number(process.env.WARM ?? 12);

/** The host's main thread's context switches: [voluntary (it waited), involuntary (preempted)]. */
function switches(): [number, number] {
  const status = readFileSync(`/proc/self/task/${process.pid}/status`, 'utf8');
  return [Number(/\nvoluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? 0), Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? 0)];
}

/** The host's main thread's time on a CPU so far, µs (process.cpuUsage counts V8's compiler and GC threads too). */
function mainThreadUs(): number {
  return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1000;
}

/** Counts the writes to, and data events from, child pipes (one stream write ≈ one write(2) when the pipe has room). */
let writes = 0;
let reads = 0;
const origWrite = Socket.prototype.write;
Socket.prototype.write = function (this: Socket, ...args: unknown[]) {
  writes++;
  return (origWrite as (...a: unknown[]) => boolean).apply(this, args);
} as typeof origWrite;
const origEmit = Socket.prototype.emit;
Socket.prototype.emit = function (this: Socket, name: string | symbol, ...args: unknown[]) {
  if (name === 'data') reads++;
  return (origEmit as (...a: unknown[]) => boolean).call(this, name, ...args);
} as typeof origEmit;

const size = Math.max(1, Math.min(2, availableParallelism()));
const runtime = await createRuntime({
  config: {
    server: { data_dir: fileURLToPath(new URL('../.data/bench-extension-processes-count', import.meta.url)) },
    events: [{ id: EVENT_ID, name: 'bench-event' }],
    extensions: { folder: FIXTURES, pool: { size } },
    handlers: [{ type: 'extension', name: 'python', entry_point: 'python:extensions.trivial_extension.TrivialExtension', target_events: [EVENT_ID], enabled: false }],
  },
  baseDir: FIXTURES,
  logger: silentLogger(),
});
const service = runtime.services.extensions;
if (service === undefined) throw new Error('no extensions service');
const input = { account: { name: 'bench' }, data: { path: '/in/file.txt', size: 1024 } };
const sources: HookworkEvent[] = [];
for (let i = 0; i < BATCH; i++) sources.push(await runtime.host.emit(EVENT_ID, input));
await service.start('python');
const handler = service.handler('python') as ExtensionHandler;
let pending = 0;
let done: (() => void) | undefined;
runtime.host.on('20200', (event) => {
  if (event.component.uuid === handler.uuid && --pending === 0) done?.();
});
const ours = async (): Promise<void> => {
  const finished = new Promise<void>((resolve) => (done = resolve));
  pending = sources.length;
  for (const source of sources) handler.dispatch(source);
  await finished;
};
const pipeline = runtime.config.extensions.pool.pipeline ?? DEFAULT_PROCESS_PIPELINE;
const floor = new BareTwoStep(size, pipeline);
const frames = floorFrames(sources, handler.config.timeout * 1000);
const theFloor = (): Promise<void> => floor.runAll(frames.config, frames.handle);

interface Tally { main: number; host: number; children: number; writes: number; reads: number; n: number; ms: number; waits: number; preempted: number }
const tally = (): Tally => ({ main: 0, host: 0, children: 0, writes: 0, reads: 0, n: 0, ms: 0, waits: 0, preempted: 0 });
const sides: Record<string, { run: () => Promise<void>; t: Tally; rows: Tally[] }> = {
  ours: { run: ours, t: tally(), rows: [] },
  floor: { run: theFloor, t: tally(), rows: [] },
};
async function measure(name: string): Promise<void> {
  const side = sides[name] as (typeof sides)[string];
  const c0 = childrenCpuMs();
  const w0 = writes;
  const r0 = reads;
  const s0 = switches();
  const t0 = performance.now();
  const m0 = mainThreadUs();
  const u0 = process.cpuUsage();
  await side.run();
  const u = process.cpuUsage(u0);
  const main = (mainThreadUs() - m0) / BATCH;
  const s1 = switches();
  const row: Tally = { main, host: (u.user + u.system) / BATCH, ms: performance.now() - t0, children: 0, writes: (writes - w0) / BATCH, reads: (reads - r0) / BATCH, n: BATCH, waits: (s1[0] - s0[0]) / BATCH, preempted: (s1[1] - s0[1]) / BATCH };
  row.children = ((childrenCpuMs() - c0) * 1000) / BATCH;
  side.rows.push(row);
}
const names = ONLY === undefined ? ['ours', 'floor'] : [ONLY];
// Warm-ups, as many for each side: V8 still optimises ours' code until its ~12th batch (--trace-opt).
for (const name of names) for (let i = 0; i < WARM_UPS; i++) await measure(name);
for (const name of names) sides[name]!.rows.length = 0;
// HEAP=file: sampling heap profile of the measured rounds, collected objects included (what the GC has to sweep).
const heapFile = process.env.HEAP;
const { Session } = await import('node:inspector/promises');
const session = heapFile === undefined ? undefined : new Session();
if (session !== undefined) {
  session.connect();
  await session.post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true } as never);
}
process.stdout.write(`WINDOW start ${process.hrtime.bigint() / 1000n}\n`);
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? names : [...names].reverse();
  for (const name of order) await measure(name);
}
if (session !== undefined && heapFile !== undefined) {
  const { profile } = (await session.post('HeapProfiler.stopSampling')) as { profile: unknown };
  (await import('node:fs')).writeFileSync(heapFile, JSON.stringify(profile));
}
process.stdout.write(`WINDOW end ${process.hrtime.bigint() / 1000n}\n`);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;
for (const name of names) {
  const rows = sides[name]!.rows;
  const f = (k: keyof Tally): string => median(rows.map((r) => r[k])).toFixed(k === 'host' || k === 'main' || k === 'children' ? 1 : 2);
  process.stdout.write(
    `${name.padEnd(6)} host ${f('host')} µs/event (its main thread ${f('main')}), python ${f('children')} µs/event, host writes ${f('writes')}/event, reads ${f('reads')}/event, main thread waits ${f('waits')}/event, preempted ${f('preempted')}/event, ${(BATCH / (median(rows.map((r) => r.ms)) / 1000)).toFixed(0)} events/s (medians of ${rows.length})\n`,
  );
}
floor.close();
await runtime.close();
