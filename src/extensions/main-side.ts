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

/** Runs handle() somewhere: the thread pool, or a process pool. */
export interface TaskRunner {
  /** `event`: task.event already encoded as JSON, for a runner that sends JSON (a process pool); others ignore it. */
  run(task: ExtensionTask, signal?: TaskSignal, event?: EncodedEvent): Promise<HandleResult>;
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
   * null, [configuration, events], a promise) or a PendingDecision. Throwing
   * rejects the event. `configuration` is what to use when the class has no
   * getConfiguration.
   */
  getConfiguration(event: HookworkEvent, parent: ExtensionParent, configuration: string): unknown;
  /** Frees what it holds (a process); the handler is gone. */
  close(): Promise<void>;
}
