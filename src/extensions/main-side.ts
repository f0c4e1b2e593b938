// The main side of an extension handler: where its one instance lives and
// its onStart, onStop and getConfiguration run, and which runner its static
// handle() goes to. ExtensionHandler keeps every decision rule (skip, emit,
// delay, reject, deadlines, failures) and asks a MainSide only for the
// handler's own code: in this process for TypeScript (local-main-side.ts),
// in a process of its own for Python (python-main-side.ts).

import type { HookworkEvent } from '../events/envelope.js';
import type { ExtensionParent, ExtensionTask, HandleResult } from './contract.js';
import type { EncodedEvent } from './protocol.js';
import type { TaskSignal } from './task-signal.js';

/** Takes a handle task's outcome (TaskRunner.runTo), for the `token` it was given (ExtensionHandler: the event's job). */
export interface TaskListener<T> {
  /** The result, handed over as it is read. */
  handled(token: T, result: HandleResult): void;
  /** What run() would reject with, on a later microtask (as a promise's rejection comes). */
  failed(token: T, error: unknown): void;
}

/** Runs handle() somewhere: the thread pool, or a process pool. */
export interface TaskRunner {
  /** `event`: task.event already encoded as JSON, for a runner that sends JSON (a process pool); others ignore it. */
  run(task: ExtensionTask, signal?: TaskSignal, event?: EncodedEvent): Promise<HandleResult>;
  /**
   * run(), its outcome handed to `listener` instead of a promise (no promise,
   * no then() and no microtask turn per result): where the runner has it.
   */
  runTo?<T>(task: ExtensionTask, signal: TaskSignal | undefined, event: EncodedEvent | undefined, listener: TaskListener<T>, token: T): void;
  /** Gives a failure of run() a typed, readable error. */
  describeFailure(err: unknown): Error;
}

/**
 * A decision still to come from another process (not a delay of the
 * handler's own unless `delayed`). Not a thenable on purpose: a promise that
 * resolves to it keeps it whole, and the handler counts only real delays.
 */
export class PendingDecision {
  constructor(
    readonly promise: Promise<unknown>,
    readonly delayed: boolean,
  ) {}
}

/** Takes the decision an AnswerToCome gives, for the `token` it was given (ExtensionHandler: the event's job). */
export interface DecisionListener<T> {
  /** The decision, in getConfiguration's forms (a PendingDecision included: a delay). */
  decided(token: T, value: unknown): void;
  /** getConfiguration failed: it threw in its process, the process ended, or its answer is not a decision. */
  failed(token: T, error: unknown): void;
}

/**
 * A decision another process gives later, handed to its listener as soon as
 * the answer is read: no promise, no then() and no microtask turn per event,
 * where PendingDecision costs a promise, its two resolving functions, a
 * then() promise and its two callbacks (the one decision every event of a
 * Python handler waits for). The main side settles it once (decide or
 * fail); the handler listens once, before or after.
 */
export abstract class AnswerToCome {
  #listener: DecisionListener<never> | undefined;
  #token: unknown;
  /** Settled before anyone listened: [value] or [undefined, error]. */
  #early: [unknown, unknown?] | undefined;
  #failed = false;

  listen<T>(listener: DecisionListener<T>, token: T): void {
    const early = this.#early;
    if (early !== undefined) {
      this.#early = undefined;
      if (this.#failed) listener.failed(token, early[1]);
      else deliver(listener, token, early[0]);
      return;
    }
    this.#listener = listener as DecisionListener<never>;
    this.#token = token;
  }

  protected decide(value: unknown): void {
    const listener = this.#listener;
    if (listener === undefined) {
      this.#early = [value];
      return;
    }
    this.#listener = undefined;
    deliver(listener, this.#token as never, value);
  }

  protected fail(error: unknown): void {
    const listener = this.#listener;
    if (listener === undefined) {
      this.#failed = true;
      this.#early = [undefined, error];
      return;
    }
    this.#listener = undefined;
    listener.failed(this.#token as never, error);
  }
}

/** The answer is read in the process's stream callback: a listener that throws fails its own event, not the other answers of that chunk. */
function deliver<T>(listener: DecisionListener<T>, token: T, value: unknown): void {
  try {
    listener.decided(token, value);
  } catch (err) {
    listener.failed(token, err);
  }
}

export interface MainSide {
  /** What handle() tasks name: the module (URL or dotted name) and the class. */
  readonly module: string;
  readonly exportName: string;
  readonly runner: TaskRunner;
  /** Loads the module and builds the instance (once; again after its process died). Resolves with the class's TARGET_EVENTS. */
  load(): Promise<readonly string[] | undefined>;
  start(parent: ExtensionParent): Promise<void>;
  stop(): Promise<void>;
  /**
   * The decision for one event, in getConfiguration's forms (a configuration,
   * null, [configuration, events], a promise), a PendingDecision or an
   * AnswerToCome. Throwing
   * rejects the event. `configuration` is what to use when the class has no
   * getConfiguration.
   */
  getConfiguration(event: HookworkEvent, parent: ExtensionParent, configuration: string): unknown;
  /** Frees what it holds (a process); the handler is gone. */
  close(): Promise<void>;
}
