// The extension handler contract (SFTPPlus's Python API event handler, in
// TypeScript). A handler module exports a class:
//
//   export class DemoEventHandler implements ExtensionHandlerInstance {
//     static TARGET_EVENTS = ['100'];                        // optional
//     onStart(parent: ExtensionParent) { ... }               // main process
//     onStop() { ... }                                       // main process
//     getConfiguration(event: HookworkEvent) { ... }         // main process
//     static handle(event: WorkerEvent, configuration: string) { ... } // a worker
//   }
//
// `handle` runs in a worker thread on a copy of the event: no shared memory,
// and onStart never ran there.

import type { HookworkEvent } from '../events/envelope.js';

/** An event a handler asks the engine to emit (`message` is required). */
export interface ResultEvent {
  /** Defaults to `20200` (informational). `20201` success, `20202` failure. */
  readonly event_id?: string | number;
  readonly message: string;
  /** What went wrong, for `20202`. */
  readonly details?: string;
  /** Any other attribute is kept in the emitted event's data. */
  readonly [attribute: string]: unknown;
}

/** What `handle` (or parent.emit) may give: text (informational), nothing, one or many events. */
export type HandleResult = string | ResultEvent | readonly ResultEvent[] | null | undefined | void;

/** Events that go with a getConfiguration decision: one, many, or a text. */
export type DecisionEvents = string | ResultEvent | readonly ResultEvent[] | null | undefined;

/**
 * What getConfiguration decides for one event:
 * - a string: handle it with this configuration;
 * - `null`/`undefined`: skip it;
 * - `[null, events]`: skip it and emit these events;
 * - `[configuration, events]`: emit these events, then handle it;
 * - a promise of any of these (e.g. `parent.delay(…)`): decide later, holding no worker.
 * Throwing rejects this event only, with a failure event.
 */
export type ConfigurationDecision =
  | string
  | null
  | undefined
  | readonly [string | null | undefined, DecisionEvents]
  | PromiseLike<string | null | undefined | readonly [string | null | undefined, DecisionEvents]>;

/** A delayed result: a promise that settles after the delay, which onStop cancels. */
export interface Delayed<T> extends Promise<T> {
  readonly seconds: number;
  /** Drops the pending call: the event it was holding is skipped. */
  cancel(): void;
}

/** Given to onStart: the handler's view of the engine, in the main process. */
export interface ExtensionParent {
  /** The `configuration` text from the handler's config. */
  readonly configuration: string;
  /** The handler's config name and uuid. */
  readonly name: string;
  readonly uuid: string;
  /**
   * Calls `fn` after `seconds` (in the main process); returning it from getConfiguration delays the event without holding a worker.
   * `seconds` must be a finite number, 0 or more (else it throws an InvalidArgumentError); past the longest Node timer (about 24.8 days) timers are chained.
   */
  delay<T>(seconds: number, fn: () => T | PromiseLike<T>): Delayed<T>;
  /** Emits events as this handler: a text (informational) or `{ event_id?, message, … }` objects. */
  emit(events: string | ResultEvent | readonly ResultEvent[]): Promise<readonly HookworkEvent[]>;
}

/** The event as a worker sees it: a plain copy (the token only when granted). */
export interface WorkerEvent {
  readonly id: string;
  readonly uuid: string;
  readonly name: string;
  readonly groups: readonly string[];
  readonly message: string;
  readonly account: HookworkEvent['account'];
  readonly component: HookworkEvent['component'];
  readonly server: HookworkEvent['server'];
  readonly timestamp: HookworkEvent['timestamp'];
  readonly data: HookworkEvent['data'];
  /** `data` as JSON (computed on first read, in the worker). */
  readonly data_json: string;
}

/** The instance side (main process only). Every method is optional. */
export interface ExtensionHandlerInstance {
  onStart?(parent: ExtensionParent): void | PromiseLike<void>;
  onStop?(): void | PromiseLike<void>;
  /** Without it, every event is handled with the configured configuration text. */
  getConfiguration?(event: HookworkEvent): ConfigurationDecision;
}

/** The class a handler module exports. */
export interface ExtensionHandlerClass {
  new (): ExtensionHandlerInstance;
  /** Event ids followed when the config names no `target_events`. */
  readonly TARGET_EVENTS?: ReadonlyArray<string | number>;
  /** Runs in a worker, on a copy of the event. */
  handle(event: WorkerEvent, configuration: string): HandleResult | PromiseLike<HandleResult>;
}

/** The task a worker receives: which module and export, the event copy and its configuration. */
export interface ExtensionTask {
  /** file: URL of the handler module. */
  readonly module: string;
  readonly exportName: string;
  readonly event: Omit<WorkerEvent, 'data_json'>;
  readonly configuration: string;
}
