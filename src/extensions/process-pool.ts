// A pool of handler processes speaking the extension protocol: N processes
// (N = extensions.pool.size), one event at a time each, the rest in a FIFO
// queue. It is what pool.ts is for worker threads, over child processes:
// aborting a queued task removes it; aborting a running one kills its
// process (SIGKILL), and a new one is started in its place; a process that
// exits while handling (sys.exit, a crash, out of memory) fails that event
// and is replaced. Generic over the command that starts a process: the
// Python runtime, or a locked-down Node runtime (node-processes.ts).
//
// Frames are pipelined: up to `pipeline` handle frames are written to one
// process before the first is answered (it serves them in order), so a
// process never waits for the host between two events, and one wake-up
// serves several frames. The oldest unanswered frame is the one running:
// a crash fails that one. Before the frames behind it go back to the front
// of the queue, the answers the process wrote before it ended are read to
// the end of its stdout and delivered: an answered event never runs twice.
// Aborting the running event (its limit) kills the process only once what
// the pipe held has been read and its answer is still missing: a process
// that had already finished it and moved on is left alone. An event aborted
// while its frame waits in a process fails at once; the frame carries the
// event's deadline, and a runtime that reaches it later answers `expired`
// without calling handle (an abort for another reason than the limit still
// lets it run, and its answer is dropped).

import { ExtensionProcessError, ExtensionQueueFullError, ExtensionResultError, ExtensionWorkerCrashError, toError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ExtensionTask, HandleResult } from './contract.js';
import type { TaskListener } from './main-side.js';
import { deliverFailure, deliverResult, PROMISED } from './task-outcome.js';
import { TaskExpiredError, type AbortTarget, type TaskSignal } from './task-signal.js';
import { describeExit, ProtocolProcess, type AnswerReceiver, type ProcessCommand, type ProcessExit } from './protocol-process.js';
import { EXIT_CODES, fromRemoteError, type EncodedEvent, type HandleRequest, type RemoteError, type Response } from './protocol.js';

/** A handle request whose event goes as already encoded bytes. */
type EventlessHandle = Readonly<Omit<HandleRequest, 'event'>>;

export interface ProcessPoolOptions {
  /** Processes, i.e. events handled at once. */
  readonly size: number;
  /** Events that may wait for a process; past it runs are refused. Default unbounded. */
  readonly maxQueue?: number;
  /** Starts one worker process (its role argument included). */
  readonly command: ProcessCommand;
  /** Names the runtime in logs and errors, e.g. `python`. */
  readonly name: string;
  readonly logger: Logger;
  /** The memory cap each process has, MB, for the out-of-memory message. */
  readonly memoryLimitMb?: number;
  /** A stderr line that means a process ran out of memory (see ProtocolProcessOptions). */
  readonly outOfMemoryLine?: RegExp;
  /** Handle frames in flight per process (default 1: one at a time). */
  readonly pipeline?: number;
}

interface Entry {
  readonly task: ExtensionTask;
  readonly signal: TaskSignal | undefined;
  /** task.event as JSON text, when the caller had it already. */
  readonly event: EncodedEvent | undefined;
  /** Its process answered it (even if it was aborted meanwhile). */
  answered: boolean;
  /** Who takes its outcome: run()'s promise (PROMISED), or runTo()'s listener. */
  readonly listener: TaskListener<unknown>;
  readonly token: unknown;
}

interface Slot {
  readonly process: ProtocolProcess;
  ready: boolean;
  /** Frames sent and not yet answered, oldest (the one running) first. */
  readonly inFlight: Entry[];
  /** Killed by the host (its running event was aborted): nothing it holds is running any more. */
  killed: boolean;
  /** The running event, aborted (its limit): until it is answered, the process is still on it, not on inFlight[0]. */
  abortedRunning: Entry | undefined;
  /** The handler its last frame named (its log tag). */
  module: string;
  exportName: string;
}

export class ProcessPool {
  readonly size: number;
  readonly maxQueue: number | undefined;
  readonly pipeline: number;
  readonly #options: ProcessPoolOptions;
  readonly #slots = new Set<Slot>();
  #queue: Entry[] = [];
  #completed = 0;
  /** The last handle request made for an already encoded event (#eventlessHandle). */
  #lastHandle: EventlessHandle | undefined;
  #closed = false;
  /** Every task's abort listener (TaskSignal.onAbort): one object, the entry its token. */
  readonly #aborts: AbortTarget<Entry> = { abortedTask: (entry) => this.#abort(entry) };

  constructor(options: ProcessPoolOptions) {
    this.#options = options;
    this.size = options.size;
    this.maxQueue = options.maxQueue;
    this.pipeline = Math.max(1, Math.floor(options.pipeline ?? 1));
  }

  /**
   * Runs `handle` in a process; rejects with the handler's error, a crash, an
   * abort or a full queue. `event`: task.event already encoded as JSON
   * (written as is instead of encoding the event again).
   */
  run(task: ExtensionTask, signal?: TaskSignal, event?: EncodedEvent): Promise<HandleResult> {
    return new Promise<HandleResult>((resolve, reject) => this.runTo(task, signal, event, PROMISED, { resolve, reject }));
  }

  /** run(), its outcome handed to `listener` (TaskRunner.runTo): the result as it is read, a failure on a later microtask. */
  runTo<T>(task: ExtensionTask, signal: TaskSignal | undefined, event: EncodedEvent | undefined, listener: TaskListener<T>, token: T): void {
    const refused = this.#refusal(signal);
    const entry: Entry = { task, signal, event, answered: false, listener: listener as TaskListener<unknown>, token };
    if (refused !== undefined) {
      deliverFailure(entry, refused);
      return;
    }
    this.#queue.push(entry);
    signal?.onAbort(this.#aborts, entry);
    this.#fill();
    this.#pump();
  }

  /** Why a new task is refused at once (closed, already aborted, a full queue), if it is. */
  #refusal(signal: TaskSignal | undefined): Error | undefined {
    if (this.#closed) return new ExtensionProcessError(`The ${this.#options.name} extension pool`, 'it is closed');
    if (signal?.aborted === true) return abortError(signal.reason);
    if (this.maxQueue !== undefined && this.#queue.length >= this.maxQueue && this.#idle() === undefined) {
      return new ExtensionQueueFullError(this.maxQueue);
    }
    return undefined;
  }

  /** Failures are typed where they happen; anything else becomes an Error. */
  describeFailure(err: unknown): Error {
    return toError(err);
  }

  get stats(): { size: number; threads: number; queued: number; completed: number } {
    return { size: this.size, threads: this.#slots.size, queued: this.#queue.length, completed: this.#completed };
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Ends every process; queued and running tasks are rejected. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const error = new ExtensionProcessError(`The ${this.#options.name} extension pool`, 'it closed before the event ran');
    for (const entry of this.#queue.splice(0)) deliverFailure(entry, error);
    await Promise.all([...this.#slots].map((slot) => slot.process.shutdown()));
  }

  /** Starts processes up to `size` (lazily: the first task starts them). */
  #fill(): void {
    while (!this.#closed && this.#slots.size < this.size) this.#start();
  }

  #start(): void {
    const name = this.#options.name;
    const process: ProtocolProcess = new ProtocolProcess(this.#options.command, {
      role: 'worker',
      logger: this.#options.logger,
      tag: `${name} worker`,
      exitError: (exit) => this.#exitError(exit),
      onExit: (exit) => this.#onExit(slot, exit),
      ...(this.#options.outOfMemoryLine === undefined ? {} : { outOfMemoryLine: this.#options.outOfMemoryLine }),
    });
    const slot: Slot = { process, ready: false, inFlight: [], killed: false, abortedRunning: undefined, module: '', exportName: '' };
    this.#slots.add(slot);
    process.ready.then(
      () => {
        slot.ready = true;
        this.#pump();
      },
      () => undefined, // its exit is handled by onExit
    );
  }

  #exitError(exit: ProcessExit): Error {
    if (exit.problem !== undefined) return new ExtensionProcessError(`A ${this.#options.name} extension worker`, exit.problem);
    if (exit.code === EXIT_CODES.outOfMemory || exit.outOfMemory === true) {
      const limit = this.#options.memoryLimitMb === undefined ? 'its memory limit' : `limit ${this.#options.memoryLimitMb} MB`;
      return new ExtensionWorkerCrashError('oom', limit);
    }
    return new ExtensionWorkerCrashError('crash', `worker ${describeExit(exit)}`);
  }

  #onExit(slot: Slot, exit: ProcessExit): void {
    this.#slots.delete(slot);
    const behind = slot.inFlight.splice(0);
    // Ended while on an aborted event (before the kill came): that event has already failed, and the next one never started.
    const onAborted = slot.abortedRunning !== undefined && !slot.abortedRunning.answered;
    const running = slot.killed || onAborted ? undefined : behind.shift();
    if (running !== undefined) deliverFailure(running, this.#exitError(exit));
    if (this.#closed) {
      for (const entry of behind) deliverFailure(entry, new ExtensionProcessError(`The ${this.#options.name} extension pool`, 'it closed before the event ran'));
      return;
    }
    // Never read by the process that ended: they wait again, first in line.
    this.#queue.unshift(...behind);
    if (!slot.ready) {
      // It died before saying hello (no interpreter, a broken install):
      // starting another at once would loop. The waiting events fail; the
      // next event tries again.
      const error = this.#exitError(exit);
      this.#options.logger.error({ err: error }, `A ${this.#options.name} extension worker could not start`);
      for (const entry of this.#queue.splice(0)) deliverFailure(entry, error);
      return;
    }
    this.#fill();
  }

  /** A process with nothing in flight. */
  #idle(): Slot | undefined {
    for (const slot of this.#slots) if (slot.ready && !slot.killed && slot.inFlight.length === 0 && slot.process.exited === undefined) return slot;
    return undefined;
  }

  /** The process with the fewest frames in flight, below `pipeline`: idle ones first, so events spread before they stack. */
  #leastBusy(): Slot | undefined {
    let best: Slot | undefined;
    for (const slot of this.#slots) {
      if (!slot.ready || slot.killed || slot.process.exited !== undefined || slot.inFlight.length >= this.pipeline) continue;
      if (best === undefined || slot.inFlight.length < best.inFlight.length) best = slot;
      if (slot.inFlight.length === 0) break;
    }
    return best;
  }

  #pump(): void {
    for (;;) {
      if (this.#queue.length === 0) return;
      const slot = this.#leastBusy();
      if (slot === undefined) return;
      const entry = this.#queue.shift() as Entry;
      this.#runOn(slot, entry);
    }
  }

  #runOn(slot: Slot, entry: Entry): void {
    slot.inFlight.push(entry);
    const { task } = entry;
    // Its log lines name the handler it runs: the tag is built again only when that changes.
    if (slot.module !== task.module || slot.exportName !== task.exportName) {
      slot.module = task.module;
      slot.exportName = task.exportName;
      slot.process.setTag(`${this.#options.name} worker ${task.module}.${task.exportName}`);
    }
    const expiresAt = entry.signal?.expiresAt ?? 0;
    const { event } = entry;
    const request =
      event === undefined
        ? expiresAt > 0
          ? { type: 'handle' as const, module: task.module, class: task.exportName, event: task.event, configuration: task.configuration, deadline: expiresAt }
          : { type: 'handle' as const, module: task.module, class: task.exportName, event: task.event, configuration: task.configuration }
        : this.#eventlessHandle(task, expiresAt);
    try {
      slot.process.send(request, new Sent(this.#onAnswer, this.#onFailed, slot, entry), event);
    } catch (err) {
      // Its frame would be over the limit: nothing was sent.
      slot.inFlight.splice(slot.inFlight.indexOf(entry), 1);
      deliverFailure(entry, toError(err));
    }
  }

  /**
   * The handle request of a task whose event goes as already encoded bytes:
   * the one made for the frame before when it says the same (module, class,
   * configuration and deadline; tasks of one millisecond share a deadline),
   * so the batch takes its JSON as already made (RequestBatch: the same
   * object, the same text) instead of building and stringifying one per
   * event. Frozen: it is never changed once sent.
   */
  #eventlessHandle(task: ExtensionTask, expiresAt: number): EventlessHandle {
    const last = this.#lastHandle;
    if (last !== undefined && last.module === task.module && last.class === task.exportName && last.configuration === task.configuration && (last.deadline ?? 0) === expiresAt) {
      return last;
    }
    const request: EventlessHandle = Object.freeze(
      expiresAt > 0
        ? { type: 'handle' as const, module: task.module, class: task.exportName, configuration: task.configuration, deadline: expiresAt }
        : { type: 'handle' as const, module: task.module, class: task.exportName, configuration: task.configuration },
    );
    this.#lastHandle = request;
    return request;
  }

  /** A handle frame's answer, read: the oldest in flight on its process, unless it was aborted or its process ended. */
  readonly #onAnswer = (slot: Slot, entry: Entry, response: Response): void => {
    entry.answered = true;
    const at = slot.inFlight.indexOf(entry);
    if (at === -1) return;
    slot.inFlight.splice(at, 1);
    this.#completed++;
    // Answered: an abort has nothing left to do here, and the signal (the handler's job, alive until the event ends) no longer keeps the entry, its task and its bytes.
    entry.signal?.offAbort(entry);
    // The next frame goes out before this result is processed: the process is not idle meanwhile.
    this.#pump();
    if (response.type === 'result') deliverResult(entry, response.result as HandleResult);
    else if (response.type === 'error') deliverFailure(entry, resultError(response.error));
    // Reached past its deadline before the host's own timer fired: failed as the timeout it is.
    else if (response.type === 'expired') deliverFailure(entry, new TaskExpiredError());
    else deliverFailure(entry, new ExtensionProcessError(`A ${this.#options.name} extension worker`, `it answered "handle" with "${response.type}"`));
  };

  /** The process ended before answering: onExit has failed or re-queued what it held. */
  readonly #onFailed = (slot: Slot, entry: Entry, error: Error): void => {
    if (slot.inFlight.includes(entry)) deliverFailure(entry, error);
  };

  #abort(entry: Entry): void {
    const queued = this.#queue.indexOf(entry);
    if (queued !== -1) {
      this.#queue.splice(queued, 1);
      deliverFailure(entry, abortError(entry.signal?.reason));
      return;
    }
    for (const slot of this.#slots) {
      const at = slot.inFlight.indexOf(entry);
      if (at === -1) continue;
      slot.inFlight.splice(at, 1);
      deliverFailure(entry, abortError(entry.signal?.reason));
      // A stuck handler cannot be interrupted: its process goes, a new one
      // comes (the frames behind it are re-queued by onExit). A frame still
      // waiting in the process is not running: its answer will be dropped.
      if (at === 0) this.#killUnlessAnswered(slot, entry);
      return;
    }
  }

  /**
   * Kills the process running `entry` unless its answer was already on the
   * way: the process may have finished it, and be on the next frame, with
   * the answer unread in the pipe. Two turns of the loop give at least one
   * full read of the pipe (whatever phase the abort came from) before the
   * choice: a process that moved on keeps serving, and the frames behind
   * the aborted one run once, there.
   */
  #killUnlessAnswered(slot: Slot, entry: Entry): void {
    slot.abortedRunning = entry;
    setImmediate(() =>
      setImmediate(() => {
        if (entry.answered || slot.killed || slot.process.exited !== undefined) return;
        slot.killed = true;
        slot.process.kill();
      }),
    );
  }
}

/** One handle frame sent: takes its answer to the pool (one small object per frame, where a promise took three and two closures). */
class Sent implements AnswerReceiver {
  constructor(
    readonly onAnswer: (slot: Slot, entry: Entry, response: Response) => void,
    readonly onFailed: (slot: Slot, entry: Entry, error: Error) => void,
    readonly slot: Slot,
    readonly entry: Entry,
  ) {}

  answered(response: Response): void {
    this.onAnswer(this.slot, this.entry, response);
  }

  failed(error: Error): void {
    this.onFailed(this.slot, this.entry, error);
  }
}

/** The runtime's ResultError (a result JSON cannot carry) is the engine's result error; anything else is the handler's own. */
function resultError(remote: RemoteError): Error {
  if (remote.type === 'ResultError') return new ExtensionResultError(remote.message);
  return fromRemoteError(remote);
}

function abortError(reason: unknown): Error {
  const error = new Error(`The task was aborted (${String(reason)}).`);
  error.name = 'AbortError';
  return error;
}
