// Timers for plugins, two kinds.
//
// Tracked timers (ctx.setTimeout, ctx.setInterval, ctx.clearTimeout,
// ctx.clearInterval): owned by the plugin's scope, cleared when it unloads
// whatever its stop() does, and counted in its registrations (`timer`).
//
// Leftover handles: timers a plugin starts with the *global* setTimeout or
// setInterval are its own business, but they outlive an unload (an interval
// keeps firing after 6 load/unload cycles 6 times over). They are made
// visible: while a plugin's setup(), start() or stop() runs (synchronously and
// until the promise it returned settles), the two globals are wrapped, and a
// timer created with a stack that goes through the plugin's files is noted.
// On unload, the noted timers still active are counted, reported and cleared.
//
// Why this way: an async_hooks init hook or an AsyncLocalStorage (on Node 20
// built on async_hooks) would also follow the plugin's later callbacks, but
// once enabled it runs for every promise and resource of the process, the
// host's hot paths included, for as long as any plugin lives. The wrappers
// here exist only while a plugin's lifecycle code is pending (a load, an
// unload): the rest of the time the globals are Node's own and cost nothing,
// and during those windows a stack is read only per timer created. What this
// does not see: timers created later from the plugin's event handlers, routes
// or tasks, timers from `node:timers` imports, sockets and servers.

import { clearTimeout as clearNodeTimeout, setInterval as nodeSetInterval, setTimeout as nodeSetTimeout } from 'node:timers';
import { basename, dirname, extname, join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvalidArgumentError, toError } from '../errors.js';
import type { Disposer } from '../hooks/scope.js';
import type { HostScope } from '../host.js';
import type { Logger } from '../logger.js';

export type TimerHandle = ReturnType<typeof nodeSetTimeout>;

/** The timer functions of a plugin context. */
export interface PluginTimers {
  /** Like the global setTimeout; cleared when the plugin unloads. */
  setTimeout<A extends unknown[]>(fn: (...args: A) => void, ms?: number, ...args: A): TimerHandle;
  /** Like the global setInterval; cleared when the plugin unloads. */
  setInterval<A extends unknown[]>(fn: (...args: A) => void, ms?: number, ...args: A): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
  clearInterval(handle: TimerHandle | undefined): void;
}

export function createPluginTimers(scope: HostScope, plugin: string, logger: Logger): PluginTimers {
  const live = new Map<TimerHandle, Disposer>();
  const run = (fn: (...args: never[]) => void, args: unknown[]): void => {
    try {
      fn(...(args as never[]));
    } catch (err) {
      logger.error({ err: toError(err) }, `A timer of plugin "${plugin}" threw`);
    }
  };
  const start = (repeat: boolean, fn: unknown, ms: number | undefined, args: unknown[]): TimerHandle => {
    const what = repeat ? 'ctx.setInterval' : 'ctx.setTimeout';
    if (typeof fn !== 'function') throw new InvalidArgumentError(`${what}(fn, ms): fn must be a function.`);
    // Throws once the plugin has unloaded: late code of an unloaded plugin starts nothing.
    let handle: TimerHandle | undefined;
    const dispose = scope.track('timer', () => {
      if (handle !== undefined) {
        clearNodeTimeout(handle);
        live.delete(handle);
      }
    });
    const callback = repeat
      ? () => run(fn as (...a: never[]) => void, args)
      : () => {
          dispose();
          run(fn as (...a: never[]) => void, args);
        };
    handle = repeat ? nodeSetInterval(callback, ms) : nodeSetTimeout(callback, ms);
    live.set(handle, dispose);
    return handle;
  };
  const clear = (handle: TimerHandle | undefined): void => {
    if (handle === undefined) return;
    const dispose = live.get(handle);
    if (dispose !== undefined) dispose();
    else clearNodeTimeout(handle);
  };
  return {
    setTimeout: (fn, ms, ...args) => start(false, fn, ms, args),
    setInterval: (fn, ms, ...args) => start(true, fn, ms, args),
    clearTimeout: clear,
    clearInterval: clear,
  };
}

// ---- leftover handles of the global timer functions ----

interface Window {
  /** Strings a stack frame of the plugin's own code contains (paths and file: URLs). */
  readonly needles: readonly string[];
  readonly handles: Set<TimerHandle>;
}

const windows = new Set<Window>();
let installed: { setTimeout: typeof globalThis.setTimeout; setInterval: typeof globalThis.setInterval; wrappers: unknown[] } | undefined;

function note(handle: TimerHandle): void {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 100;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  for (const window of windows) {
    if (window.needles.some((needle) => stack.includes(needle))) {
      window.handles.add(handle);
      return;
    }
  }
}

function wrap<F extends (...args: never[]) => unknown>(original: F): F {
  const wrapper = function (this: unknown, ...args: Parameters<F>): ReturnType<F> {
    const handle = original.apply(this, args) as ReturnType<F>;
    if (windows.size > 0) note(handle as TimerHandle);
    return handle;
  };
  // util.promisify.custom and the like stay reachable.
  Object.defineProperties(wrapper, Object.getOwnPropertyDescriptors(original));
  return wrapper as unknown as F;
}

function install(): void {
  if (installed !== undefined) return;
  const original = { setTimeout: globalThis.setTimeout, setInterval: globalThis.setInterval };
  const wrappers = [wrap(original.setTimeout), wrap(original.setInterval)];
  globalThis.setTimeout = wrappers[0] as typeof globalThis.setTimeout;
  globalThis.setInterval = wrappers[1] as typeof globalThis.setInterval;
  installed = { ...original, wrappers };
}

function uninstall(): void {
  if (installed === undefined) return;
  // Put back only what is still ours (a test's mocked clock may have replaced it meanwhile).
  if (globalThis.setTimeout === installed.wrappers[0]) globalThis.setTimeout = installed.setTimeout;
  if (globalThis.setInterval === installed.wrappers[1]) globalThis.setInterval = installed.setInterval;
  installed = undefined;
}

/** What identifies a plugin's own code in a stack: its file (and hidden reload copies) or its package folder. */
export function pluginNeedles(path: string, isPackage: boolean): string[] {
  if (isPackage) return [path + sep, pathToFileURL(path).href + '/'];
  const copies = join(dirname(path), `.${basename(path, extname(path))}.`);
  return [path, pathToFileURL(path).href, copies, pathToFileURL(copies).href];
}

/**
 * Notes the global timers `needles`' code creates into `handles` until the
 * returned function is called (see the top of this file).
 */
export function watchGlobalTimers(needles: readonly string[], handles: Set<TimerHandle>): () => void {
  const window: Window = { needles, handles };
  windows.add(window);
  install();
  return () => {
    windows.delete(window);
    if (windows.size === 0) uninstall();
  };
}

/** Clears the noted timers still active; returns how many there were. */
export function clearLeftovers(handles: Set<TimerHandle>): number {
  let count = 0;
  for (const handle of handles) {
    // Node marks a timer that fired (once) or was cleared as destroyed.
    if ((handle as unknown as { _destroyed?: boolean })._destroyed !== true) {
      count++;
      clearNodeTimeout(handle);
    }
  }
  handles.clear();
  return count;
}
