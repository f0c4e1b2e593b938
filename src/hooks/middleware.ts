// Middleware on named host methods (UCS's API middleware). Several per method,
// onion order: the first registered is outermost. Each receives `next` (the
// next middleware or the method itself) followed by the call's arguments; it
// may rewrite arguments, call next or not, rewrite the result, or throw typed
// errors. The chain is composed once per change, not per call.

import { InvalidArgumentError, UnknownHookPointError } from '../errors.js';
import { spanAround, tracingOn } from '../tracing.js';
import { record, type Monitor } from './monitor.js';
import { NO_METRICS, type CounterChild, type Family, type Metrics } from '../metrics/metrics.js';
import type { Disposer } from './scope.js';

// `never[]` parameters accept every function while keeping `Parameters<F>` exact.
export type MethodFn = (...args: never[]) => unknown;

/**
 * The arguments a caller passes: the method's own parameters, or `unknown[]`
 * for a loosely typed method (plain MethodFn), which could not be called at
 * all with its `never[]` parameters.
 */
export type ArgsOf<F extends MethodFn> = MethodFn extends F ? unknown[] : Parameters<F>;

export type Next<F extends MethodFn> = (...args: ArgsOf<F>) => ReturnType<F>;

export type MiddlewareFn<F extends MethodFn> = (next: Next<F>, ...args: Parameters<F>) => ReturnType<F>;

type AnyFn = (...args: unknown[]) => unknown;

interface MiddlewareEntry {
  readonly fn: (next: AnyFn, ...args: unknown[]) => unknown;
  readonly name: string;
}

interface MethodSlot {
  impl: AnyFn | undefined;
  middleware: readonly MiddlewareEntry[];
  chain: AnyFn | undefined;
  /** Bound when the slot is made; counts calls a middleware refused. */
  readonly refusals: CounterChild;
}

/**
 * Errors the implementation itself threw: a call that fails with any other
 * error was refused by a middleware (it threw instead of calling next, or
 * rewrote the error). Only filled while metrics are on.
 */
const IMPL_ERRORS = new WeakSet<object>();

function markImplError(err: unknown): never {
  if (err !== null && (typeof err === 'object' || typeof err === 'function')) IMPL_ERRORS.add(err);
  throw err;
}

/** The implementation, marking what it throws or rejects with (see IMPL_ERRORS). */
function markingImpl(impl: AnyFn): AnyFn {
  return (...args) => {
    let result: unknown;
    try {
      result = impl(...args);
    } catch (err) {
      markImplError(err);
    }
    return result instanceof Promise ? result.catch(markImplError) : result;
  };
}

function compose(impl: AnyFn, middleware: readonly MiddlewareEntry[]): AnyFn {
  let next = impl;
  for (let i = middleware.length - 1; i >= 0; i--) {
    const fn = (middleware[i] as MiddlewareEntry).fn;
    const inner = next;
    next = (...args: unknown[]) => fn(inner, ...args);
  }
  return next;
}

export class Methods {
  readonly #slots = new Map<string, MethodSlot>();
  readonly #monitor: Monitor | undefined;
  readonly #metricsOn: boolean;
  readonly #refusals: Family<CounterChild>;

  constructor(monitor?: Monitor, metrics: Metrics = NO_METRICS) {
    this.#monitor = monitor;
    this.#metricsOn = metrics.enabled;
    this.#refusals = metrics.counter('hookwork_middleware_refusals_total', 'Method calls a middleware refused (threw or rejected instead of the implementation), per method.', ['method']);
  }

  #slot(name: string): MethodSlot {
    let slot = this.#slots.get(name);
    if (slot === undefined) {
      slot = { impl: undefined, middleware: [], chain: undefined, refusals: this.#refusals.labels(name) };
      this.#slots.set(name, slot);
    }
    return slot;
  }

  /** The chain of a slot; with metrics on, the implementation marks its errors so refusals can be told apart. */
  #compose(impl: AnyFn, middleware: readonly MiddlewareEntry[]): AnyFn {
    return this.#metricsOn && middleware.length > 0 ? compose(markingImpl(impl), middleware) : compose(impl, middleware);
  }

  /** Counts a failed call as a refusal unless the implementation threw it. */
  #refused(slot: MethodSlot, err: unknown): void {
    if (err !== null && (typeof err === 'object' || typeof err === 'function') && IMPL_ERRORS.has(err)) return;
    slot.refusals.inc();
  }

  /** Defines (or replaces) a method's implementation. */
  define<F extends MethodFn>(name: string, impl: F): Disposer {
    if (typeof impl !== 'function') throw new InvalidArgumentError(`The implementation of method "${name}" is not a function.`);
    const slot = this.#slot(name);
    const fn = impl as unknown as AnyFn;
    slot.impl = fn;
    slot.chain = this.#compose(fn, slot.middleware);
    return () => {
      if (slot.impl !== fn) return;
      slot.impl = undefined;
      slot.chain = undefined;
    };
  }

  has(name: string): boolean {
    return this.#slots.get(name)?.impl !== undefined;
  }

  names(): string[] {
    return [...this.#slots].filter(([, slot]) => slot.impl !== undefined).map(([name]) => name);
  }

  count(name: string): number {
    return this.#slots.get(name)?.middleware.length ?? 0;
  }

  /** Wraps a method (defined now or later) with middleware. */
  use<F extends MethodFn>(name: string, middleware: MiddlewareFn<F>, owner?: string): Disposer {
    if (typeof middleware !== 'function') throw new InvalidArgumentError(`The middleware for "${name}" is not a function.`);
    const slot = this.#slot(name);
    const entry: MiddlewareEntry = {
      fn: middleware as unknown as MiddlewareEntry['fn'],
      name: owner ?? (middleware.name !== '' ? middleware.name : 'anonymous'),
    };
    slot.middleware = [...slot.middleware, entry];
    slot.chain = slot.impl === undefined ? undefined : this.#compose(slot.impl, slot.middleware);
    return () => {
      slot.middleware = slot.middleware.filter((e) => e !== entry);
      slot.chain = slot.impl === undefined ? undefined : this.#compose(slot.impl, slot.middleware);
    };
  }

  /** Calls a method through its middleware. */
  call<F extends MethodFn = MethodFn>(name: string, ...args: ArgsOf<F>): ReturnType<F> {
    const slot = this.#slots.get(name);
    const chain = slot?.chain;
    if (chain === undefined) throw new UnknownHookPointError('method', name, this.names());
    if (tracingOn()) return this.#callTraced(slot as MethodSlot, name, chain, args) as ReturnType<F>;
    if (this.#metricsOn && (slot as MethodSlot).middleware.length > 0) return this.#callCounted(slot as MethodSlot, name, chain, args) as ReturnType<F>;
    if (this.#monitor?.enabled === true) return this.#callTimed(name, chain, args) as ReturnType<F>;
    return chain(...(args as unknown[])) as ReturnType<F>;
  }

  /** The composed callable, for hot callers that want to skip the name lookup. */
  get<F extends MethodFn = MethodFn>(name: string): Next<F> {
    return ((...args: ArgsOf<F>) => this.call<F>(name, ...args)) as Next<F>;
  }

  /** A call through middleware with metrics on: a failure the implementation did not throw is a refusal. */
  #callCounted(slot: MethodSlot, name: string, chain: AnyFn, args: readonly unknown[]): unknown {
    let result: unknown;
    try {
      result = this.#monitor?.enabled === true ? this.#callTimed(name, chain, args) : chain(...args);
    } catch (err) {
      this.#refused(slot, err);
      throw err;
    }
    if (result instanceof Promise) {
      return result.catch((err: unknown) => {
        this.#refused(slot, err);
        throw err;
      });
    }
    return result;
  }

  /** The call in a span (named after the method, with its middleware listed); the monitor still records it. */
  #callTraced(slot: MethodSlot, name: string, chain: AnyFn, args: readonly unknown[]): unknown {
    const by = slot.middleware.map((m) => m.name);
    return spanAround(`call ${name}`, { 'hookwork.method': name, 'hookwork.middleware': by }, () =>
      this.#metricsOn && slot.middleware.length > 0
        ? this.#callCounted(slot, name, chain, args)
        : this.#monitor?.enabled === true
          ? this.#callTimed(name, chain, args)
          : chain(...args),
    );
  }

  #callTimed(name: string, chain: AnyFn, args: readonly unknown[]): unknown {
    const monitor = this.#monitor as Monitor;
    const at = Date.now();
    const start = performance.now();
    const by = this.#slots.get(name)?.middleware.map((m) => m.name).join(',') ?? '';
    let result: unknown;
    try {
      result = chain(...args);
    } catch (err) {
      record(monitor, 'middleware', name, by, 'error', start, at);
      throw err;
    }
    if (result instanceof Promise) {
      return result.then(
        (value: unknown) => {
          record(monitor, 'middleware', name, by, 'ok', start, at);
          return value;
        },
        (err: unknown) => {
          record(monitor, 'middleware', name, by, 'error', start, at);
          throw err;
        },
      );
    }
    record(monitor, 'middleware', name, by, 'ok', start, at);
    return result;
  }
}
