// Extension handlers in processes (issue 18, point 5).
//
// 1. Python handle() through Hookwork (emit's event dispatched, getConfiguration
//    in the handler's main process, handle() in the worker pool, the result
//    event emitted) against "a bare pool of Python processes answering the
//    same messages over pipes (the limit)": the two-step floor (BareTwoStep),
//    a bare main python3 process answering each event's getConfiguration
//    frame, then a bare pool of as many python3 processes as ours answering
//    its handle frame, with a minimal loop (read a frame, json.loads, call
//    the same method, json.dumps). It sends Hookwork's frames byte for byte
//    and keeps as much in flight as Hookwork: every getConfiguration at once,
//    extensions.pool.pipeline (4) handle frames per worker. It carries the
//    target: at least 0.8x. Two one-step bare pools (handle frames only, one
//    or 4 in flight per process) are reported beside it: they skip the
//    getConfiguration message SFTPPlus's model sends for every event.
// 2. A JavaScript handler with isolation: process against the same handler
//    with isolation: thread (reported, no target).
// Pool size min(2, availableParallelism()) everywhere; batches of queued
// events, ours and the peer's interleaved, medians reported.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { HookworkEvent } from '../src/events/envelope.js';
import { toWorkerCopy, type ExtensionHandler } from '../src/extensions/handler.js';
import { encodeFrame, encodeFrames, FrameDecoder, requestText } from '../src/extensions/protocol.js';
import { silentLogger } from '../src/logger.js';
import { createRuntime, type Runtime } from '../src/runtime/runtime.js';
import type { BenchResult } from './lib.js';
import { DEFAULT_PROCESS_PIPELINE } from '../src/extensions/config-schema.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const EVENT_ID = '5000';
const BATCH = 1000;
const ROUNDS = Number(process.env.HOOKWORK_BENCH_ROUNDS ?? 5);
// Warm-up batches of every side before the measured rounds, the same number
// for each. One was not enough for ours: its second batch still cost the
// host ~140 µs of CPU per event (half of it on V8's background threads,
// compiling and collecting), against the floor's ~25 from its second on
// (its loop is a few lines); the mean of five rounds after one warm-up read
// 65–80 where ours costs ~35–50 once compiled. Traced (--trace-opt), V8
// still optimises ~30 of ours' functions (the engine's and Node's stream
// code) between its 6th and 12th batch, none after: ten batches each.
const WARM_UPS = Number(process.env.HOOKWORK_BENCH_WARM_UPS ?? 10);

// The bare worker: the smallest loop that answers a handle frame.
const BARE_WORKER = `
import json, struct, sys
sys.path.insert(0, ${JSON.stringify(FIXTURES)})
from trivial_extension import TrivialExtension
read, write = sys.stdin.buffer.read, sys.stdout.buffer.write
class Event(dict):
    __getattr__ = dict.get
while True:
    header = read(4)
    if len(header) < 4:
        break
    request = json.loads(read(struct.unpack('>I', header)[0]))
    result = TrivialExtension.handle(Event(request['event']), request['configuration'])
    body = json.dumps({'type': 'result', 'id': request['id'], 'result': result}).encode()
    write(struct.pack('>I', len(body)) + body)
    sys.stdout.buffer.flush()
`;

// The floor's bare processes answer in the bytes Hookwork's runtime writes
// (compact JSON; the main process's answer is a `decision`), so the
// two-step floor moves the same bytes per event as Hookwork does.
const FLOOR_WORKER = BARE_WORKER.replace(
  "json.dumps({'type': 'result', 'id': request['id'], 'result': result})",
  "json.dumps({'type': 'result', 'id': request['id'], 'result': result}, separators=(',', ':'))",
);

// The bare main process: the smallest loop that answers a getConfiguration
// frame with the instance's getConfiguration(event), as SFTPPlus's main process does.
const BARE_MAIN = `
import json, struct, sys
sys.path.insert(0, ${JSON.stringify(FIXTURES)})
from trivial_extension import TrivialExtension
read, write = sys.stdin.buffer.read, sys.stdout.buffer.write
class Event(dict):
    __getattr__ = dict.get
instance = TrivialExtension()
while True:
    header = read(4)
    if len(header) < 4:
        break
    request = json.loads(read(struct.unpack('>I', header)[0]))
    result = instance.getConfiguration(Event(request['event']))
    body = json.dumps({'type': 'decision', 'id': request['id'], 'decision': {'action': 'handle', 'configuration': result}}, separators=(',', ':')).encode()
    write(struct.pack('>I', len(body)) + body)
    sys.stdout.buffer.flush()
`;

/**
 * The frames Hookwork writes for each event, byte for byte (the same
 * request text, protocol.ts's requestText): its getConfiguration frame
 * (ids 1..n, so an answer names its handle frame), all in one buffer as
 * Hookwork writes a tick's frames, and its handle frame with the deadline
 * Hookwork adds (`timeoutMs` from now).
 */
export function floorFrames(sources: readonly HookworkEvent[], timeoutMs: number): { config: Buffer; handle: Buffer[] } {
  const deadline = Date.now() + timeoutMs;
  const texts: string[] = [];
  const sizes: number[] = [];
  const handle = sources.map((source, i) => {
    const json = JSON.stringify(toWorkerCopy(source, false));
    const config = requestText({ type: 'getConfiguration' }, i + 1, json);
    texts.push(config.text);
    sizes.push(config.size);
    const request = requestText({ type: 'handle', module: 'trivial_extension', class: 'TrivialExtension', configuration: source.id, deadline }, i + 1, json);
    return encodeFrames([request.text], [request.size]);
  });
  return { config: encodeFrames(texts, sizes), handle };
}

/**
 * The same two messages per event as SFTPPlus's model (and ours), in the
 * same bytes (floorFrames): every event's getConfiguration frame to one
 * bare main process, all written at once, as Hookwork does (it keeps every
 * dispatched event's getConfiguration in flight: nothing bounds them);
 * then, on each answer, the event's handle frame to the least busy of
 * `size` bare workers, `depth` in flight per worker (Hookwork's pipeline),
 * the rest queued. Frames are encoded before the clock starts and no result
 * event is made: the limit of the two-step path over pipes, the target's peer.
 */
export class BareTwoStep {
  readonly #main: ChildProcessWithoutNullStreams;
  readonly #workers: Array<{ child: ChildProcessWithoutNullStreams; inFlight: number }> = [];
  readonly #depth: number;
  #handleFrames: readonly Buffer[] = [];
  /** Handle frames waiting for a worker's free place, oldest at #head. */
  #waiting: Buffer[] = [];
  #head = 0;
  #left = 0;
  #done: (() => void) | undefined;

  constructor(size: number, depth: number) {
    this.#depth = depth;
    this.#main = spawn('python3', ['-u', '-c', BARE_MAIN], { stdio: 'pipe' });
    const mainDecoder = new FrameDecoder();
    this.#main.stdout.on('data', (chunk: Buffer) => {
      for (const answer of mainDecoder.push(chunk) as Array<{ id: number }>) this.#toWorker(this.#handleFrames[answer.id - 1] as Buffer);
    });
    for (let i = 0; i < size; i++) {
      const worker = { child: spawn('python3', ['-u', '-c', FLOOR_WORKER], { stdio: 'pipe' }), inFlight: 0 };
      const decoder = new FrameDecoder();
      worker.child.stdout.on('data', (chunk: Buffer) => {
        for (const _answer of decoder.push(chunk)) {
          worker.inFlight--;
          if (--this.#left === 0) this.#done?.();
          const next = this.#waiting[this.#head];
          if (next !== undefined) {
            this.#head++;
            worker.inFlight++;
            worker.child.stdin.write(next);
          }
        }
      });
      this.#workers.push(worker);
    }
  }

  #toWorker(frame: Buffer): void {
    let best = this.#workers[0] as { child: ChildProcessWithoutNullStreams; inFlight: number };
    for (const worker of this.#workers) if (worker.inFlight < best.inFlight) best = worker;
    if (best.inFlight >= this.#depth) {
      this.#waiting.push(frame);
      return;
    }
    best.inFlight++;
    best.child.stdin.write(frame);
  }

  /** Writes every event's getConfiguration frame (`configFrames`, one buffer) at once; resolves when every handle frame was answered. */
  runAll(configFrames: Buffer, handleFrames: readonly Buffer[]): Promise<void> {
    this.#left = handleFrames.length;
    this.#handleFrames = handleFrames;
    this.#waiting = [];
    this.#head = 0;
    const finished = new Promise<void>((resolve) => (this.#done = resolve));
    this.#main.stdin.write(configFrames);
    return finished;
  }

  close(): void {
    this.#main.stdin.end();
    for (const worker of this.#workers) worker.child.stdin.end();
  }
}

/**
 * N python3 processes, up to `depth` frames in flight each (written before
 * the first is answered, as Hookwork's extensions.pool.pipeline does), the
 * rest queued. Depth 1 is one frame at a time; depth 4 matches our default
 * pipeline, the honest limit for a pool that pipelines.
 */
export class BarePool {
  readonly #children: ChildProcessWithoutNullStreams[] = [];
  readonly #depth: number;
  #queue: Buffer[] = [];
  #left = 0;
  #done: (() => void) | undefined;

  constructor(size: number, depth: number) {
    this.#depth = depth;
    for (let i = 0; i < size; i++) {
      const child = spawn('python3', ['-u', '-c', BARE_WORKER], { stdio: 'pipe' });
      const decoder = new FrameDecoder();
      child.stdout.on('data', (chunk: Buffer) => {
        for (const _answer of decoder.push(chunk)) {
          if (--this.#left === 0) this.#done?.();
          // One answer frees one place in this process: the next frame goes there.
          const next = this.#queue.pop();
          if (next !== undefined) child.stdin.write(next);
        }
      });
      this.#children.push(child);
    }
  }

  /** Sends every frame; resolves when every answer came back. */
  runAll(frames: readonly Buffer[]): Promise<void> {
    this.#left = frames.length;
    this.#queue = [...frames].reverse();
    const finished = new Promise<void>((resolve) => (this.#done = resolve));
    // Spread first (one frame to each process), then stack up to the depth.
    for (let place = 0; place < this.#depth; place++) {
      for (const child of this.#children) {
        const next = this.#queue.pop();
        if (next === undefined) return finished;
        child.stdin.write(next);
      }
    }
    return finished;
  }

  close(): void {
    for (const child of this.#children) child.stdin.end();
  }
}

/** Times batches of already emitted events dispatched to one handler, until each produced its 20200. */
function batchRunner(runtime: Runtime, handler: ExtensionHandler, sources: readonly HookworkEvent[]): () => Promise<number> {
  let pending = 0;
  let done: (() => void) | undefined;
  runtime.host.on('20200', (event) => {
    if (event.component.uuid === handler.uuid && --pending === 0) done?.();
  });
  return async () => {
    const finished = new Promise<void>((resolve) => (done = resolve));
    pending = sources.length;
    const start = process.hrtime.bigint();
    for (const source of sources) handler.dispatch(source);
    await finished;
    return (sources.length * 1e9) / Number(process.hrtime.bigint() - start);
  };
}

/**
 * CPU time (ms) of this process's child processes so far, from /proc (0
 * where there is none). Counts work, which a busy machine does not skew as
 * it does throughput. Each child's time on a CPU comes from
 * /proc/<pid>/schedstat (nanoseconds); /proc/<pid>/stat's utime and stime
 * (10 ms ticks, too coarse for a batch that costs its processes ~40 ms) only
 * where schedstat is missing.
 */
export function childrenCpuMs(): number {
  let total = 0;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return 0;
  }
  for (const pid of entries) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // ppid, then utime and stime in clock ticks (100 per second on Linux).
      if (Number(fields[1]) !== process.pid) continue;
      total += schedMs(pid) ?? (Number(fields[11]) + Number(fields[12])) * 10;
    } catch {
      // it ended meanwhile
    }
  }
  return total;
}

/** A process's time on a CPU so far, ms: the first field (ns) of each of its threads' /proc/<pid>/task/<tid>/schedstat, summed; undefined without schedstat. */
function schedMs(pid: string): number | undefined {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    return Number.isFinite(ns) ? ns / 1e6 : undefined;
  } catch {
    return undefined;
  }
}

interface CpuTally {
  events: number;
  ownMs: number;
  childrenMs: number;
}

/**
 * Wraps a timed batch: adds the CPU it used (this process, and the child
 * processes) to `tally`. The first WARM_UPS calls are interleavedWith's warm-ups and are
 * not counted: the bare pools' python3 processes are still starting then
 * (~0.1 s of CPU each, through a pyenv shim even more), and this process's
 * code is not compiled yet; counting it put the peers' start-ups into ours
 * (it runs first): ~190 µs per event of "processes" over its 6 batches.
 */
function counted(run: () => Promise<number>, events: number, tally: CpuTally): () => Promise<number> {
  let warmUps = WARM_UPS;
  return async () => {
    if (warmUps > 0) {
      warmUps--;
      return run();
    }
    // The /proc scan itself stays outside this process's measured time.
    const children = childrenCpuMs();
    const own = process.cpuUsage();
    const rate = await run();
    const used = process.cpuUsage(own);
    tally.ownMs += (used.user + used.system) / 1000;
    tally.childrenMs += childrenCpuMs() - children;
    tally.events += events;
    return rate;
  };
}

function perEvent(tally: CpuTally): string {
  const us = (ms: number): string => ((ms * 1000) / tally.events).toFixed(0);
  return `${us(tally.ownMs + tally.childrenMs)} µs CPU/event (node ${us(tally.ownMs)}, processes ${us(tally.childrenMs)})`;
}

/**
 * Ours and each peer alternately, `rounds` times after WARM_UPS warm-ups each (the
 * order flips every round, so drift favours no one); each round gives one
 * ratio per peer, and each peer's median round is reported. Kept local and
 * self-contained so it can be swapped for the shared alternation/median
 * helper bench/lib.ts is getting (wp-bench).
 */
async function interleaved(ours: () => Promise<number>, peer: () => Promise<number>, rounds = ROUNDS): Promise<Alternated> {
  return (await interleavedWith(ours, [peer], rounds))[0] as Alternated;
}

async function interleavedWith(ours: () => Promise<number>, peers: ReadonlyArray<() => Promise<number>>, rounds = ROUNDS): Promise<Alternated[]> {
  for (let warmUp = 0; warmUp < WARM_UPS; warmUp++) {
    await ours();
    for (const peer of peers) await peer();
  }
  const pairs: Array<Array<{ ours: number; peer: number }>> = peers.map(() => []);
  for (let round = 0; round < rounds; round++) {
    // Even rounds: ours, then the peers; odd rounds: the peers backwards, then ours.
    const even = round % 2 === 0;
    const oursFirst = even ? await ours() : undefined;
    const measured: number[] = [];
    const order = peers.map((_, i) => i);
    if (!even) order.reverse();
    for (const i of order) measured[i] = await (peers[i] as () => Promise<number>)();
    const oursNow = oursFirst ?? (await ours());
    measured.forEach((peer, i) => (pairs[i] as Array<{ ours: number; peer: number }>).push({ ours: oursNow, peer }));
  }
  return pairs.map((list) => {
    // Higher is better here: the ratio is ours / peer.
    list.sort((a, b) => a.ours / a.peer - b.ours / b.peer);
    const middle = list[list.length >> 1] as { ours: number; peer: number };
    const ratios = list.map((pair) => pair.ours / pair.peer);
    return { ours: middle.ours, peer: middle.peer, min: ratios[0] as number, max: ratios[ratios.length - 1] as number, rounds };
  });
}

interface Alternated {
  /** The round whose ratio is the median: its two figures. */
  readonly ours: number;
  readonly peer: number;
  readonly min: number;
  readonly max: number;
  readonly rounds: number;
}

function spread(result: Alternated): string {
  return `median of ${result.rounds} alternated rounds, ratio ${result.min.toFixed(2)}–${result.max.toFixed(2)}x`;
}

export async function run(): Promise<BenchResult[]> {
  const size = Math.max(1, Math.min(2, availableParallelism()));
  const runtime = await createRuntime({
    config: {
      server: { data_dir: fileURLToPath(new URL('../.data/bench-extension-processes', import.meta.url)) },
      events: [{ id: EVENT_ID, name: 'bench-event' }],
      extensions: { folder: FIXTURES, pool: { size } },
      handlers: [
        { type: 'extension', name: 'python', entry_point: 'python:extensions.trivial_extension.TrivialExtension', target_events: [EVENT_ID], enabled: false },
        { type: 'extension', name: 'thread', entry_point: 'trivial-extension.mjs#TrivialExtension', target_events: [EVENT_ID], enabled: false },
        { type: 'extension', name: 'process', entry_point: 'trivial-extension.mjs#TrivialExtension', target_events: [EVENT_ID], isolation: 'process', enabled: false },
      ],
    },
    baseDir: FIXTURES,
    logger: silentLogger(),
  });
  const service = runtime.services.extensions;
  if (service === undefined) throw new Error('no extensions service');
  // The events exist before the clock starts; handlers get them as routing would.
  const input = { account: { name: 'bench' }, data: { path: '/in/file.txt', size: 1024 } };
  const sources: HookworkEvent[] = [];
  for (let i = 0; i < BATCH; i++) sources.push(await runtime.host.emit(EVENT_ID, input));
  for (const name of ['python', 'thread', 'process']) {
    const info = await service.start(name);
    if (info.state !== 'started') throw new Error(`handler ${name} did not start: ${info.lastError?.message ?? ''}`);
  }

  // 1. Python through Hookwork against the bare pools, same frames: one
  // frame at a time per process, and up to our pipeline depth in flight.
  const pipeline = runtime.config.extensions.pool.pipeline ?? DEFAULT_PROCESS_PIPELINE;
  const bare = new BarePool(size, 1);
  const barePipelined = new BarePool(size, pipeline);
  let id = 0;
  const frames = sources.map((source) =>
    encodeFrame({ type: 'handle', id: ++id, module: 'trivial_extension', class: 'TrivialExtension', event: toWorkerCopy(source, false), configuration: source.id }),
  );
  // The two-step floor: each event's two frames in Hookwork's own bytes (its deadline included).
  const twoStep = new BareTwoStep(size, pipeline);
  const pythonHandler = service.handler('python') as ExtensionHandler;
  const floor = floorFrames(sources, pythonHandler.config.timeout * 1000);
  const timedTwoStep = async (): Promise<number> => {
    const start = process.hrtime.bigint();
    await twoStep.runAll(floor.config, floor.handle);
    return (floor.handle.length * 1e9) / Number(process.hrtime.bigint() - start);
  };
  const timed = (pool: BarePool) => async (): Promise<number> => {
    const start = process.hrtime.bigint();
    await pool.runAll(frames);
    return (frames.length * 1e9) / Number(process.hrtime.bigint() - start);
  };
  const oursCpu: CpuTally = { events: 0, ownMs: 0, childrenMs: 0 };
  const peerCpu: CpuTally = { events: 0, ownMs: 0, childrenMs: 0 };
  const pipelinedCpu: CpuTally = { events: 0, ownMs: 0, childrenMs: 0 };
  const twoStepCpu: CpuTally = { events: 0, ownMs: 0, childrenMs: 0 };
  const [python, pythonPipelined, pythonTwoStep] = (await interleavedWith(counted(batchRunner(runtime, service.handler('python') as ExtensionHandler, sources), BATCH, oursCpu), [
    counted(timed(bare), BATCH, peerCpu),
    counted(timed(barePipelined), BATCH, pipelinedCpu),
    counted(timedTwoStep, BATCH, twoStepCpu),
  ])) as [Alternated, Alternated, Alternated];
  process.stdout.write(`Python handle(): ours ${perEvent(oursCpu)}; bare pool, 1 in flight ${perEvent(peerCpu)}; bare pool, ${pipeline} in flight ${perEvent(pipelinedCpu)}; bare main process + pool (two steps), ${pipeline} in flight ${perEvent(twoStepCpu)}\n`);
  bare.close();
  barePipelined.close();
  twoStep.close();

  // 2. isolation: process against isolation: thread, same handler.
  const node = await interleaved(
    batchRunner(runtime, service.handler('process') as ExtensionHandler, sources),
    batchRunner(runtime, service.handler('thread') as ExtensionHandler, sources),
  );
  await runtime.close();

  return [
    {
      // The "bare pool of Python processes answering the same messages over pipes (the limit)":
      // the same two messages per event as Hookwork (getConfiguration to the main process, handle to a worker).
      name: `Python getConfiguration() + handle() through Hookwork (main process + ${size} workers, pipeline ${pipeline}), ${BATCH} queued (${spread(pythonTwoStep)})`,
      unit: 'events/s',
      ours: pythonTwoStep.ours,
      peer: pythonTwoStep.peer,
      peerName: `the two-step floor: a bare main python3 process answering every event's getConfiguration (all in flight, as ours), then a bare pool of ${size} answering handle, ${pipeline} in flight each; Hookwork's frames byte for byte, encoded beforehand`,
      higherIsBetter: true,
      target: 'at least 0.8x',
    },
    {
      name: `Python handle() through Hookwork (main process + ${size} workers, pipeline ${pipeline}), ${BATCH} queued (${spread(pythonPipelined)})`,
      unit: 'events/s',
      ours: pythonPipelined.ours,
      peer: pythonPipelined.peer,
      peerName: `one-step bare pool of ${size} python3 processes answering handle frames only, ${pipeline} in flight each (reported, not the target's peer: it skips the getConfiguration message every event needs)`,
      higherIsBetter: true,
    },
    {
      name: `Python handle() through Hookwork (main process + ${size} workers, pipeline ${pipeline}), ${BATCH} queued (${spread(python)})`,
      unit: 'events/s',
      ours: python.ours,
      peer: python.peer,
      peerName: `one-step bare pool of ${size} python3 processes answering handle frames only, one in flight each (reported, not the target's peer: no getConfiguration)`,
      higherIsBetter: true,
    },
    {
      name: `JavaScript handle() with isolation: process (${size} Node processes), ${BATCH} queued (${spread(node)})`,
      unit: 'events/s',
      ours: node.ours,
      peer: node.peer,
      peerName: `isolation: thread (${size} worker threads)`,
      higherIsBetter: true,
    },
  ];
}
