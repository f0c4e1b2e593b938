// The extension worker pool: N worker threads (N = available parallelism by
// default), the rest of the events in a FIFO queue. Aborting a queued task
// removes it; aborting a running one terminates its worker, and a fresh one
// is started. A worker that crashes or runs out of memory (resourceLimits)
// is replaced the same way.
//
// Tasks are pipelined: up to `pipeline` tasks are posted to one worker before
// the first is answered (it serves them one at a time, in order), so a
// worker never waits for the main thread between two events, and one
// message and one wake-up serve several tasks (the tasks one pump gives a
// worker go in one message; the answers waiting on every port are read at
// once). Whether a posted task may still start is decided by a shared cell
// per task (thread-messages.ts), so taking one back is exact: a task taken
// back never runs, a worker that has finished a task is never killed for it,
// and the tasks behind a running task that is killed or crashes go back to
// the front of the queue, never having started. A worker left with nothing
// to do takes back the oldest task waiting behind another worker's running
// one: a slow or hung handle() holds up only its own event.

import { availableParallelism } from 'node:os';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { ExtensionQueueFullError, ExtensionWorkerCrashError, HookworkError, toError } from '../errors.js';
import { workerEntry, workerExecArgv, workerModule } from '../worker-threads.js';
import type { ExtensionTask, HandleResult } from './contract.js';
import type { TaskListener } from './main-side.js';
import { deliverFailure, deliverResult, PROMISED } from './task-outcome.js';
import type { AbortTarget, TaskSignal } from './task-signal.js';
import { ANSWER, FENCE, FREE, MAX_SEQ, READY, TASK_FIELDS, type Answer, type ThreadWorkerData } from './thread-messages.js';

export interface ExtensionPoolOptions {
  /** Workers, i.e. events handled at once (default: available parallelism). */
  size?: number;
  /** Events that may wait for a worker; past it runs are refused. Default unbounded. */
  maxQueue?: number;
  /** Tasks posted to one worker before the first is answered (default 1: one at a time). */
  pipeline?: number;
  resourceLimits?: {
    maxOldGenerationSizeMb?: number;
    maxYoungGenerationSizeMb?: number;
    codeRangeSizeMb?: number;
    stackSizeMb?: number;
  };
  /** A worker ended while the pool runs (crash, out of memory, a timed-out task terminated): a new one is started. */
  onWorkerReplaced?: () => void;
}

export interface PoolStats {
  readonly size: number;
  readonly threads: number;
  /** Events waiting for a worker: in the pool's queue, or posted to a worker busy with another. */
  readonly queued: number;
  readonly completed: number;
}

const WORKER_FILE = workerModule(import.meta.url, './thread-worker');

/** Where a task is. */
const QUEUED = 0;
const POSTED = 1;
/** Answered, aborted or failed: its outcome is given. */
const SETTLED = 2;

interface Entry {
  readonly task: ExtensionTask;
  readonly signal: TaskSignal | undefined;
  /** Who takes its outcome: run()'s promise (PROMISED), or runTo()'s listener. */
  readonly listener: TaskListener<unknown>;
  readonly token: unknown;
  state: number;
  /** Its number and cell on the worker it was posted to. */
  seq: number;
  cell: number;
  thread: Thread | undefined;
}

interface Thread {
  readonly worker: Worker;
  readonly port: MessagePort;
  readonly cells: Int32Array;
  /** Cells holding no task. */
  readonly free: number[];
  /** Posted and not yet answered, in the order the worker serves them. */
  readonly inFlight: Entry[];
  /** Tasks of the current pump, flat (TaskBatch). */
  out: unknown[];
  seq: number;
  /** It said READY: it loaded. */
  ready: boolean;
  /** Terminated, crashed or exited: out of the pool. */
  gone: boolean;
  /** performance.now() of its last answer (or READY), or of the task that ended its idleness: how long its running task has held it. */
  answeredAt: number;
}

/**
 * A worker that has not answered for this long while it holds tasks is held
 * (a slow or hung handle()): the tasks waiting behind its running one are
 * taken back for the other workers, and it is given no more until it
 * answers. A deep pipeline then costs a slow event's neighbours about this.
 */
const HELD_MS = 20;

/** Holding tasks and silent since before `heldSince` (performance.now() - HELD_MS). */
function isHeld(thread: Thread, heldSince: number): boolean {
  return thread.inFlight.length > 0 && thread.answeredAt < heldSince;
}

export class ExtensionPool {
  readonly size: number;
  readonly maxQueue: number | undefined;
  readonly pipeline: number;
  readonly #options: ExtensionPoolOptions;
  readonly #oldGenerationMb: number | undefined;
  readonly #execArgv: string[] | undefined;
  readonly #threads: Thread[] = [];
  /** FIFO of entries, read from #head; aborted ones are skipped when reached. */
  #queue: Entry[] = [];
  #head = 0;
  /** Entries in #queue still waiting (not aborted). */
  #queued = 0;
  #completed = 0;
  #pumpScheduled = false;
  #closed = false;
  /** Answers read and not handed over yet, flat: entry, ANSWER kind, value (#handOver). */
  #answers: unknown[] = [];
  /** Every task's abort listener (TaskSignal.onAbort): one object, the entry its token. */
  readonly #aborts: AbortTarget<Entry> = { abortedTask: (entry) => this.#abort(entry) };
  readonly #pumpSoon = (): void => {
    this.#pumpScheduled = false;
    this.#pump();
  };

  constructor(options: ExtensionPoolOptions = {}) {
    this.#options = options;
    this.size = options.size ?? availableParallelism();
    this.maxQueue = options.maxQueue;
    this.pipeline = Math.max(1, Math.floor(options.pipeline ?? 1));
    this.#oldGenerationMb = options.resourceLimits?.maxOldGenerationSizeMb;
    this.#execArgv = workerExecArgv();
    // Workers stay up: a handler's module is imported once per worker.
    this.#fill();
  }

  /** Runs one task; rejects with the task's error, an AbortError, a crash or a full queue. */
  run(task: ExtensionTask, signal?: TaskSignal): Promise<HandleResult> {
    return new Promise<HandleResult>((resolve, reject) => this.runTo(task, signal, undefined, PROMISED, { resolve, reject }));
  }

  /**
   * run(), its outcome handed to `listener` (TaskRunner.runTo): the result as
   * it is read, a failure on a later microtask. No promise, no then() and no
   * abort closure per task: a burst of queued events keeps less alive through
   * each young-generation collection (docs/performance.md).
   */
  runTo<T>(task: ExtensionTask, signal: TaskSignal | undefined, _event: unknown, listener: TaskListener<T>, token: T): void {
    const entry: Entry = { task, signal, listener: listener as TaskListener<unknown>, token, state: QUEUED, seq: 0, cell: 0, thread: undefined };
    const refused = this.#refusal(signal);
    if (refused !== undefined) {
      entry.state = SETTLED;
      deliverFailure(entry, refused);
      return;
    }
    // Workers that died before they loaded are not restarted at once: the next run does.
    if (this.#threads.length < this.size) this.#fill();
    this.#queue.push(entry);
    this.#queued++;
    signal?.onAbort(this.#aborts, entry);
    // Every run of this tick goes out in one message per worker.
    if (!this.#pumpScheduled) {
      this.#pumpScheduled = true;
      queueMicrotask(this.#pumpSoon);
    }
  }

  /** Why a new task is refused at once (closed, already aborted, a full queue), if it is. */
  #refusal(signal: TaskSignal | undefined): Error | undefined {
    if (this.#closed) return closedError();
    if (signal?.aborted === true) return abortError(signal.reason);
    // Past max_queue once the workers' free places are counted: the events a pump would leave in the queue.
    if (this.maxQueue !== undefined && this.#queued >= this.maxQueue + this.#room()) return new ExtensionQueueFullError(this.maxQueue);
    return undefined;
  }

  /** Failures are typed where they happen (crash, out of memory, full queue); anything else is the handler's own error. */
  describeFailure(err: unknown): Error {
    if (err instanceof HookworkError) return err;
    const error = err as { message?: unknown } | null;
    if (error !== null && typeof error === 'object' && !(err instanceof Error) && error.message === undefined) {
      return new Error('The handler result could not be copied out of the worker (it holds functions or other non-cloneable values).');
    }
    return toError(err);
  }

  get stats(): PoolStats {
    let waiting = this.#queued;
    for (const thread of this.#threads) {
      for (const entry of thread.inFlight) if (entry.state === POSTED && Atomics.load(thread.cells, entry.cell) === entry.seq) waiting++;
    }
    return { size: this.size, threads: this.#threads.length, queued: waiting, completed: this.#completed };
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Stops every worker; queued and running tasks are rejected. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const error = closedError();
    for (let i = this.#head; i < this.#queue.length; i++) settleWith(this.#queue[i] as Entry, error);
    this.#queue = [];
    this.#head = 0;
    this.#queued = 0;
    const exits: Array<Promise<unknown>> = [];
    for (const thread of this.#threads.splice(0)) {
      thread.gone = true;
      for (const entry of thread.inFlight.splice(0)) settleWith(entry, error);
      exits.push(thread.worker.terminate());
      thread.port.close();
    }
    await Promise.allSettled(exits);
  }

  /** Free places on the workers that may be given events (a held one may not). */
  #room(): number {
    const heldSince = performance.now() - HELD_MS;
    let room = 0;
    for (const thread of this.#threads) if (!isHeld(thread, heldSince)) room += this.pipeline - thread.inFlight.length;
    return room;
  }

  #fill(): void {
    while (!this.#closed && this.#threads.length < this.size) this.#start();
  }

  #start(): void {
    const { port1, port2 } = new MessageChannel();
    const buffer = new SharedArrayBuffer(this.pipeline * Int32Array.BYTES_PER_ELEMENT);
    const { entry, eval: isEval } = workerEntry(WORKER_FILE);
    const workerData: ThreadWorkerData = { cells: buffer, port: port2 };
    const worker = new Worker(entry, {
      eval: isEval,
      workerData,
      transferList: [port2],
      ...(this.#options.resourceLimits === undefined ? {} : { resourceLimits: this.#options.resourceLimits }),
      ...(this.#execArgv === undefined ? {} : { execArgv: this.#execArgv }),
    });
    const free: number[] = [];
    for (let cell = this.pipeline - 1; cell >= 0; cell--) free.push(cell);
    const thread: Thread = { worker, port: port1, cells: new Int32Array(buffer), free, inFlight: [], out: [], seq: 0, ready: false, gone: false, answeredAt: 0 };
    // An idle pool does not keep the process alive; a worker with tasks in flight does (its port is ref'd then).
    worker.unref();
    port1.unref();
    port1.on('message', (message: Answer | typeof READY) => this.#onMessage(thread, message));
    worker.on('error', (err: Error) => this.#lost(thread, this.#crashError(err)));
    worker.on('exit', (code: number) => this.#lost(thread, new ExtensionWorkerCrashError('crash', `worker exited with code: ${code}`)));
    this.#threads.push(thread);
  }

  #crashError(err: Error): Error {
    if ((err as { code?: unknown }).code === 'ERR_WORKER_OUT_OF_MEMORY') {
      const limit = this.#oldGenerationMb === undefined ? 'heap limit' : `limit ${this.#oldGenerationMb} MB`;
      return new ExtensionWorkerCrashError('oom', limit, { cause: err });
    }
    // An exception nothing caught in the worker (thrown from a timer of handle(), say): the handler's own error.
    return err;
  }

  #onMessage(thread: Thread, message: Answer | typeof READY): void {
    this.#receive(thread, message);
    // Whatever else the workers have answered meanwhile, without waiting for its message event.
    for (const each of this.#threads) this.#receivePending(each);
    // The workers are given their next tasks before the answers are handled: they run while the main thread handles them.
    this.#pump();
    this.#handOver();
  }

  /** Gives the answers read since the last hand-over to whoever waits for them. */
  #handOver(): void {
    const answers = this.#answers;
    if (answers.length === 0) return;
    // A new list: a listener may end up reading more answers (a worker removed) and handing them over itself.
    this.#answers = [];
    for (let i = 0; i < answers.length; i += 3) {
      const entry = answers[i] as Entry;
      if (answers[i + 1] === ANSWER.ok) deliverResult(entry, answers[i + 2] as HandleResult);
      else deliverFailure(entry, answers[i + 2]);
    }
  }

  #receivePending(thread: Thread): void {
    for (;;) {
      const received = receiveMessageOnPort(thread.port);
      if (received === undefined) return;
      this.#receive(thread, received.message as Answer | typeof READY);
    }
  }

  #receive(thread: Thread, message: Answer | typeof READY): void {
    if (message === READY) {
      thread.ready = true;
      // Its first task starts now: loading the worker is not the task holding it.
      thread.answeredAt = performance.now();
      return;
    }
    const [seq, kind, value] = message;
    thread.answeredAt = performance.now();
    const inFlight = thread.inFlight;
    // Answers come in order: it is the oldest in flight, unless older ones were taken back.
    let at = 0;
    while (at < inFlight.length && (inFlight[at] as Entry).seq !== seq) at++;
    if (at === inFlight.length) return;
    const entry = inFlight[at] as Entry;
    if (at === 0) inFlight.shift();
    else inFlight.splice(at, 1);
    thread.free.push(entry.cell);
    if (inFlight.length === 0) thread.port.unref();
    this.#completed++;
    if (entry.state !== POSTED) return; // aborted meanwhile: already rejected
    entry.state = SETTLED;
    entry.signal?.offAbort(entry);
    this.#answers.push(entry, kind, value);
  }

  /** Hands the queue to the workers (idle ones first, then the least busy, up to `pipeline` each), one message per worker. */
  #pump(): void {
    const threads = this.#threads;
    const heldSince = performance.now() - HELD_MS;
    for (const thread of threads) if (thread.inFlight.length > 1 && isHeld(thread, heldSince)) this.#reclaim(thread);
    while (this.#queued > 0) {
      const thread = this.#leastBusy(heldSince);
      if (thread === undefined) break;
      const entry = this.#next();
      if (entry === undefined) break;
      this.#assign(thread, entry);
    }
    if (this.#queued === 0) for (const thread of threads) if (thread.inFlight.length === 0) this.#steal(thread);
    for (const thread of threads) {
      if (thread.out.length === 0) continue;
      const out = thread.out;
      thread.out = [];
      try {
        thread.port.postMessage(out);
      } catch {
        this.#postOneByOne(thread, out);
      }
    }
  }

  /** A batch that could not be cloned: each task goes alone, and the ones that cannot be cloned fail. */
  #postOneByOne(thread: Thread, out: unknown[]): void {
    for (let i = 0; i < out.length; i += TASK_FIELDS) {
      const seq = out[i] as number;
      const entry = thread.inFlight.find((each) => each.seq === seq);
      try {
        thread.port.postMessage(out.slice(i, i + TASK_FIELDS));
      } catch (err) {
        if (entry !== undefined && this.#takeBack(entry)) settleWith(entry, toError(err));
      }
    }
  }

  /** The idle worker, or the least busy one with a free place that is not held (its running task answered within HELD_MS). */
  #leastBusy(heldSince: number): Thread | undefined {
    let best: Thread | undefined;
    for (const thread of this.#threads) {
      const load = thread.inFlight.length;
      if (load === 0) return thread;
      if (load < this.pipeline && !isHeld(thread, heldSince) && (best === undefined || load < best.inFlight.length)) best = thread;
    }
    return best;
  }

  /** A held worker's waiting tasks (posted behind its running one, not started) go back to the front of the queue. */
  #reclaim(thread: Thread): void {
    const back: Entry[] = [];
    // Last first: a worker that starts its next task meanwhile starts the oldest, and none taken back runs before it.
    for (let i = thread.inFlight.length - 1; i >= 1; i--) {
      const entry = thread.inFlight[i] as Entry;
      if (entry.state !== POSTED || !this.#takeBack(entry)) continue;
      entry.state = QUEUED;
      back.push(entry);
    }
    back.reverse();
    this.#requeueFirst(back);
  }

  /** Tasks that never started go back to the front of the queue, in their order. */
  #requeueFirst(back: readonly Entry[]): void {
    if (back.length === 0) return;
    this.#queue = [...back, ...this.#queue.slice(this.#head)];
    this.#head = 0;
    this.#queued += back.length;
  }

  #next(): Entry | undefined {
    const queue = this.#queue;
    while (this.#head < queue.length) {
      const entry = queue[this.#head] as Entry;
      queue[this.#head] = undefined as unknown as Entry;
      this.#head++;
      if (entry.state !== QUEUED) continue;
      this.#queued--;
      if (this.#head === queue.length) {
        this.#queue = [];
        this.#head = 0;
      } else if (this.#head >= 1024 && this.#head * 2 >= queue.length) {
        this.#queue = queue.slice(this.#head);
        this.#head = 0;
      }
      return entry;
    }
    return undefined;
  }

  #assign(thread: Thread, entry: Entry): void {
    const cell = thread.free.pop() as number;
    const seq = (thread.seq = thread.seq === MAX_SEQ ? 1 : thread.seq + 1);
    entry.state = POSTED;
    entry.seq = seq;
    entry.cell = cell;
    entry.thread = thread;
    Atomics.store(thread.cells, cell, seq);
    if (thread.inFlight.length === 0) {
      thread.port.ref();
      // Its running task's time starts now (it was idle, not held).
      thread.answeredAt = performance.now();
    }
    thread.inFlight.push(entry);
    thread.out.push(seq, cell, entry.task);
  }

  /** An idle worker takes the oldest task still waiting behind another worker's running one. */
  #steal(idle: Thread): void {
    for (const thread of this.#threads) {
      if (thread === idle || thread.inFlight.length < 2) continue;
      const entry = thread.inFlight[1] as Entry;
      if (entry.state !== POSTED || !this.#takeBack(entry)) continue;
      entry.state = QUEUED;
      this.#assign(idle, entry);
      return;
    }
  }

  /** Takes a posted task back if its worker has not started it: it never will. */
  #takeBack(entry: Entry): boolean {
    const thread = entry.thread as Thread;
    if (Atomics.compareExchange(thread.cells, entry.cell, entry.seq, FREE) !== entry.seq) return false;
    const at = thread.inFlight.indexOf(entry);
    thread.inFlight.splice(at, 1);
    thread.free.push(entry.cell);
    if (thread.inFlight.length === 0) thread.port.unref();
    return true;
  }

  #abort(entry: Entry): void {
    const state = entry.state;
    if (state === SETTLED) return;
    entry.state = SETTLED;
    deliverFailure(entry, abortError(entry.signal?.reason));
    if (state === QUEUED) {
      this.#queued--;
      return;
    }
    // Posted, not started: it never will; its worker can take another.
    if (this.#takeBack(entry)) {
      this.#pump();
      return;
    }
    // Running: a stuck handler cannot be interrupted, its worker goes. A
    // worker that has already finished it (the answer on its way) stays.
    const thread = entry.thread as Thread;
    if (Atomics.compareExchange(thread.cells, entry.cell, -entry.seq, FENCE) === -entry.seq) this.#remove(thread, undefined);
  }

  /**
   * Takes a worker out of the pool: the answers it posted are delivered, the
   * task it was running fails with `error` (none when it was fenced: that one
   * is already settled), the tasks it never started go back to the front of
   * the queue; a new worker takes its place.
   */
  #remove(thread: Thread, error: Error | undefined): void {
    this.#takeOut(thread, error);
    // Its last answers are handed over once the pool is consistent again (a listener may call back into it).
    this.#handOver();
  }

  #takeOut(thread: Thread, error: Error | undefined): void {
    if (thread.gone) return;
    this.#receivePending(thread);
    thread.gone = true;
    this.#threads.splice(this.#threads.indexOf(thread), 1);
    const back: Entry[] = [];
    for (const entry of thread.inFlight.splice(0)) {
      if (entry.state !== POSTED) continue;
      if (Atomics.load(thread.cells, entry.cell) === entry.seq) {
        entry.state = QUEUED;
        back.push(entry);
      } else settleWith(entry, error ?? closedError());
    }
    void thread.worker.terminate();
    thread.port.close();
    if (this.#closed) {
      for (const entry of back) settleWith(entry, closedError());
      return;
    }
    this.#requeueFirst(back);
    if (!thread.ready && error !== undefined) {
      // It died before it loaded (a broken install): starting another at
      // once would loop. The waiting events fail; the next run tries again.
      for (let i = this.#head; i < this.#queue.length; i++) settleWith(this.#queue[i] as Entry, error);
      this.#queue = [];
      this.#head = 0;
      this.#queued = 0;
      return;
    }
    this.#options.onWorkerReplaced?.();
    this.#fill();
    this.#pump();
  }

  #lost(thread: Thread, error: Error): void {
    this.#remove(thread, error);
  }
}

function settleWith(entry: Entry, error: unknown): void {
  if (entry.state === SETTLED) return;
  entry.state = SETTLED;
  entry.signal?.offAbort(entry);
  deliverFailure(entry, error);
}

function abortError(reason: unknown): Error {
  const error = new Error(`The task was aborted (${String(reason)}).`);
  error.name = 'AbortError';
  return error;
}

function closedError(): Error {
  return new Error('The extension pool closed before the event ran (the engine is closing).');
}
