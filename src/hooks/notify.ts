// Notify: subscribers follow an event id, a group (`group:failure`) or `*`.
// Routing one event is one Map lookup: the merged subscriber list per event id
// is built once and cached until a subscription changes, so subscribers of
// other ids are never scanned. Lists are copy-on-write, so a dispatch in
// progress is never disturbed by (un)subscribes.

import { toError } from '../errors.js';
import { record, type Monitor } from './monitor.js';
import type { Disposer } from './scope.js';

/** What the notifier needs to know of an event to route it. */
export interface RoutableEvent {
  readonly id: string;
  readonly groups: readonly string[];
}

export type SubscriberFn<E> = (event: E) => unknown;

export interface Subscriber<E> {
  readonly fn: SubscriberFn<E>;
  /** Who subscribed, for failure reports: `plugin:audit`, `handler:mail`. */
  readonly name: string;
  /** What it follows: an event id, `group:<name>` or `*`. */
  readonly target: string;
  readonly seq: number;
  active: boolean;
}

export type NotifyFailureHandler<E> = (subscriber: Subscriber<E>, event: E, error: Error) => void;

export const WILDCARD = '*';
const GROUP_PREFIX = 'group:';

const RESOLVED: Promise<void> = Promise.resolve();
const EMPTY: readonly never[] = Object.freeze([]);

export class Notifier<E extends RoutableEvent> {
  readonly #byTarget = new Map<string, Subscriber<E>[]>();
  readonly #routes = new Map<string, readonly Subscriber<E>[]>();
  #seq = 0;
  #count = 0;
  #inflight = 0;
  #idleWaiters: Array<() => void> = [];
  readonly #onFailure: NotifyFailureHandler<E>;
  readonly #monitor: Monitor | undefined;

  constructor(onFailure: NotifyFailureHandler<E>, monitor?: Monitor) {
    this.#onFailure = onFailure;
    this.#monitor = monitor;
  }

  /** Live subscriptions, across all targets. */
  get size(): number {
    return this.#count;
  }

  subscribe(target: string, fn: SubscriberFn<E>, name = 'anonymous'): Disposer {
    const subscriber: Subscriber<E> = { fn, name, target, seq: this.#seq++, active: true };
    const current = this.#byTarget.get(target);
    this.#byTarget.set(target, current === undefined ? [subscriber] : [...current, subscriber]);
    this.#count++;
    this.#routes.clear();
    return () => {
      if (!subscriber.active) return;
      subscriber.active = false;
      const list = this.#byTarget.get(target);
      if (list !== undefined) {
        const next = list.filter((s) => s !== subscriber);
        if (next.length === 0) this.#byTarget.delete(target);
        else this.#byTarget.set(target, next);
      }
      this.#count--;
      this.#routes.clear();
    };
  }

  /** Forget cached routes (the catalogue changed an id's groups). */
  invalidate(): void {
    this.#routes.clear();
  }

  /** The subscribers of one event, in subscription order. */
  route(event: E): readonly Subscriber<E>[] {
    const cached = this.#routes.get(event.id);
    if (cached !== undefined) return cached;
    const route = this.#buildRoute(event);
    this.#routes.set(event.id, route);
    return route;
  }

  #buildRoute(event: E): readonly Subscriber<E>[] {
    const sources: Subscriber<E>[][] = [];
    const direct = this.#byTarget.get(event.id);
    if (direct !== undefined) sources.push(direct);
    for (const group of event.groups) {
      const list = this.#byTarget.get(GROUP_PREFIX + group);
      if (list !== undefined) sources.push(list);
    }
    const wild = this.#byTarget.get(WILDCARD);
    if (wild !== undefined) sources.push(wild);
    if (sources.length === 0) return EMPTY;
    if (sources.length === 1) return sources[0] as Subscriber<E>[];
    const merged = new Set<Subscriber<E>>();
    for (const list of sources) for (const s of list) merged.add(s);
    return Object.freeze([...merged].sort((a, b) => a.seq - b.seq));
  }

  /**
   * Calls every subscriber now, in order. A subscriber that throws or whose
   * promise rejects is reported and never affects the caller or the others.
   */
  dispatch(subscribers: readonly Subscriber<E>[], event: E): void {
    if (this.#monitor?.enabled === true) {
      this.#dispatchTimed(subscribers, event);
      return;
    }
    for (let i = 0; i < subscribers.length; i++) {
      const subscriber = subscribers[i] as Subscriber<E>;
      if (!subscriber.active) continue;
      try {
        const result = subscriber.fn(event);
        if (result != null && typeof (result as PromiseLike<unknown>).then === 'function') {
          this.#track(subscriber, event, result as PromiseLike<unknown>);
        }
      } catch (err) {
        this.#fail(subscriber, event, err);
      }
    }
  }

  #dispatchTimed(subscribers: readonly Subscriber<E>[], event: E): void {
    const monitor = this.#monitor as Monitor;
    for (const subscriber of subscribers) {
      if (!subscriber.active) continue;
      const at = Date.now();
      const start = performance.now();
      try {
        const result = subscriber.fn(event);
        if (result != null && typeof (result as PromiseLike<unknown>).then === 'function') {
          this.#track(subscriber, event, (result as PromiseLike<unknown>).then(
            () => record(monitor, 'notify', event.id, subscriber.name, 'ok', start, at),
            (err: unknown) => {
              record(monitor, 'notify', event.id, subscriber.name, 'error', start, at);
              throw err;
            },
          ));
        } else record(monitor, 'notify', event.id, subscriber.name, 'ok', start, at);
      } catch (err) {
        record(monitor, 'notify', event.id, subscriber.name, 'error', start, at);
        this.#fail(subscriber, event, err);
      }
    }
  }

  /** Calls every subscriber synchronously (the fast path benchmarks measure). */
  emitSync(event: E): void {
    const subscribers = this.route(event);
    if (subscribers.length !== 0) this.dispatch(subscribers, event);
  }

  /** Calls every subscriber and resolves when all have settled; never rejects. */
  emit(event: E): Promise<void> {
    const subscribers = this.route(event);
    let pending: Promise<unknown>[] | undefined;
    for (let i = 0; i < subscribers.length; i++) {
      const subscriber = subscribers[i] as Subscriber<E>;
      if (!subscriber.active) continue;
      try {
        const result = subscriber.fn(event);
        if (result != null && typeof (result as PromiseLike<unknown>).then === 'function') {
          (pending ??= []).push(
            Promise.resolve(result).then(undefined, (err: unknown) => this.#fail(subscriber, event, err)),
          );
        }
      } catch (err) {
        this.#fail(subscriber, event, err);
      }
    }
    return pending === undefined ? RESOLVED : Promise.all(pending).then(() => undefined);
  }

  #track(subscriber: Subscriber<E>, event: E, promise: PromiseLike<unknown>): void {
    this.#inflight++;
    promise.then(
      () => this.#settle(),
      (err: unknown) => {
        this.#fail(subscriber, event, err);
        this.#settle();
      },
    );
  }

  #settle(): void {
    if (--this.#inflight === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  #fail(subscriber: Subscriber<E>, event: E, err: unknown): void {
    try {
      this.#onFailure(subscriber, event, toError(err));
    } catch {
      // The failure reporter itself must never break a dispatch.
    }
  }

  /** Subscriber promises still running. */
  get pending(): number {
    return this.#inflight;
  }

  /** Resolves once no subscriber promise is still running. */
  idle(): Promise<void> {
    if (this.#inflight === 0) return RESOLVED;
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Live subscription count for one target (an id, `group:x` or `*`). */
  count(target: string): number {
    return this.#byTarget.get(target)?.length ?? 0;
  }
}
