// Middleware on named host methods (UCS's API middleware). Several per method,
// onion order: the first registered is outermost. Each receives `next` (the
// next middleware or the method itself) followed by the call's arguments; it
// may rewrite arguments, call next or not, rewrite the result, or throw typed
// errors. The chain is composed once per change, not per call.

import { InvalidArgumentError, UnknownHookPointError } from '../errors.js';
import { spanAround, tracingOn } from '../tracing.js';
import { record, type Monitor } from './monitor.js';
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

  constructor(monitor?: Monitor) {
    this.#monitor = monitor;
  }

  #slot(name: string): MethodSlot {
    let slot = this.#slots.get(name);
    if (slot === undefined) {
      slot = { impl: undefined, middleware: [], chain: undefined };
      this.#slots.set(name, slot);
    }
    return slot;
  }

  /** Defines (or replaces) a method's implementation. */
  define<F extends MethodFn>(name: string, impl: F): Disposer {
    if (typeof impl !== 'function') throw new InvalidArgumentError(`The implementation of method "${name}" is not a function.`);
    const slot = this.#slot(name);
    const fn = impl as unknown as AnyFn;
    slot.impl = fn;
    slot.chain = compose(fn, slot.middleware);
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
    slot.chain = slot.impl === undefined ? undefined : compose(slot.impl, slot.middleware);
    return () => {
      slot.middleware = slot.middleware.filter((e) => e !== entry);
      slot.chain = slot.impl === undefined ? undefined : compose(slot.impl, slot.middleware);
    };
  }

  /** Calls a method through its middleware. */
  call<F extends MethodFn = MethodFn>(name: string, ...args: ArgsOf<F>): ReturnType<F> {
    const chain = this.#slots.get(name)?.chain;
    if (chain === undefined) throw new UnknownHookPointError('method', name, this.names());
    if (tracingOn()) return this.#callTraced(name, chain, args) as ReturnType<F>;
    if (this.#monitor?.enabled === true) return this.#callTimed(name, chain, args) as ReturnType<F>;
    return chain(...(args as unknown[])) as ReturnType<F>;
  }

  /** The composed callable, for hot callers that want to skip the name lookup. */
  get<F extends MethodFn = MethodFn>(name: string): Next<F> {
    return ((...args: ArgsOf<F>) => this.call<F>(name, ...args)) as Next<F>;
  }

  /** The call in a span (named after the method, with its middleware listed); the monitor still records it. */
  #callTraced(name: string, chain: AnyFn, args: readonly unknown[]): unknown {
    const by = this.#slots.get(name)?.middleware.map((m) => m.name) ?? [];
    return spanAround(`call ${name}`, { 'hookwork.method': name, 'hookwork.middleware': by }, () =>
      this.#monitor?.enabled === true ? this.#callTimed(name, chain, args) : chain(...args),
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
