// The plugin context: the host API scoped to one plugin. Everything
// registered through it (subscribers, gates, change hooks, middleware,
// methods, routes, tasks, schedules, timers, monitoring and sending listeners) is
// owned by the plugin's scope, so unloading removes it all even when the
// plugin's stop() forgets (UCS leaks such callbacks; Hookwork does not).

import { Cron } from 'croner';
import { ClosedError, InvalidArgumentError, toError } from '../errors.js';
import type { EventCatalogue } from '../events/catalogue.js';
import type { EventServer } from '../events/envelope.js';
import type { SendingRecord } from '../hooks/channel.js';
import type { MonitoringPoint } from '../hooks/monitor.js';
import type { Disposer } from '../hooks/scope.js';
import type { Host, HookMap, HostScope } from '../host.js';
import type { Logger } from '../logger.js';
import type { PluginRouteHandler, PluginRouteOptions, PluginRoutes } from './routes.js';
import { createPluginTimers, type PluginTimers } from './timers.js';

/** What a plugin may read about its host. */
export interface PluginHostInfo {
  readonly server: EventServer;
  readonly catalogue: EventCatalogue;
  readonly strict: boolean;
}

export interface TaskOptions {
  /** Shown in logs. */
  name?: string;
}

export interface ScheduleOptions {
  name?: string;
  /** IANA time zone of the pattern (default: the process's). */
  timezone?: string;
}

export type TaskFn = (signal: AbortSignal) => void | Promise<void>;
export type MonitoringListener = (batch: readonly MonitoringPoint[]) => void | Promise<void>;
export type SendingListener = (record: SendingRecord) => void | Promise<void>;

export interface PluginContext<C = unknown, M extends HookMap = HookMap> {
  readonly name: string;
  readonly version: string;
  /** The plugin's section `plugins.config.<name>`, validated against its configSchema. */
  readonly config: C;
  /** The host's logger with `plugin: <name>` on every line. */
  readonly logger: Logger;
  /** Aborted when the plugin unloads (for fetches and timers of its own). */
  readonly signal: AbortSignal;
  readonly host: PluginHostInfo;
  readonly on: HostScope<M>['on'];
  readonly onGate: HostScope<M>['onGate'];
  readonly onChange: HostScope<M>['onChange'];
  readonly use: HostScope<M>['use'];
  readonly define: HostScope<M>['define'];
  readonly emit: HostScope<M>['emit'];
  /** Calls a host method through its middleware. */
  readonly call: Host<M>['call'];
  readonly gate: Host<M>['gate'];
  readonly change: Host<M>['change'];
  /** Serves `method path` under /plugins/<name>/ on the gateway until unload (`:param`, trailing `*`). */
  route(method: string, path: string, handler: PluginRouteHandler, options?: PluginRouteOptions): Disposer;
  /** Runs a background loop; its signal aborts on unload and the loop is awaited (bounded by stop_timeout). */
  task(fn: TaskFn, options?: TaskOptions): Disposer;
  /** Runs fn on a cron schedule (croner syntax, seconds optional) until unload; overlapping runs are skipped. */
  schedule(pattern: string, fn: TaskFn, options?: ScheduleOptions): Disposer;
  /** setTimeout whose timer is cleared when the plugin unloads (prefer it to the global one). */
  readonly setTimeout: PluginTimers['setTimeout'];
  /** setInterval whose timer is cleared when the plugin unloads (prefer it to the global one). */
  readonly setInterval: PluginTimers['setInterval'];
  readonly clearTimeout: PluginTimers['clearTimeout'];
  readonly clearInterval: PluginTimers['clearInterval'];
  /** Receives batches of monitoring points (LUNA's monitoring events). */
  onMonitoring(fn: MonitoringListener): Disposer;
  /** Receives what handlers produced, with their request context (LUNA's sending events). */
  onSending(fn: SendingListener): Disposer;
  /** Live registrations of this plugin, by kind. */
  registrations(): Record<string, number>;
}

export interface ContextOptions {
  readonly name: string;
  readonly version: string;
  readonly config: unknown;
  readonly host: Host;
  readonly scope: HostScope;
  readonly routes: PluginRoutes;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** How long an aborted task or schedule run may take to end. */
  readonly stopTimeoutMs: number;
}

/** Waits for `promise` at most `ms`; true when it settled in time. */
export function settleWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    promise.then(
      () => {
        clearTimeout(timer);
        resolve(true);
      },
      () => {
        clearTimeout(timer);
        resolve(true);
      },
    );
  });
}

function guard(logger: Logger, what: string, fn: () => unknown): void {
  try {
    const result = fn();
    if (result instanceof Promise) result.catch((err: unknown) => logger.error({ err: toError(err) }, `${what} failed`));
  } catch (err) {
    logger.error({ err: toError(err) }, `${what} failed`);
  }
}

export function createPluginContext(options: ContextOptions): PluginContext {
  const { name, scope, host, logger, stopTimeoutMs } = options;

  // Late async code of an unloaded plugin must not register anything.
  const assertOpen = (): void => {
    if (scope.disposed) throw new ClosedError(`The context of plugin "${name}" (unloaded)`);
  };

  function task(fn: TaskFn, taskOptions: TaskOptions = {}): Disposer {
    if (typeof fn !== 'function') throw new InvalidArgumentError('ctx.task(fn): fn must be a function.');
    const label = taskOptions.name ?? (fn.name !== '' ? fn.name : 'task');
    const controller = new AbortController();
    let running: Promise<void> = Promise.resolve();
    const dispose = scope.track('task', async () => {
      controller.abort();
      if (!(await settleWithin(running, stopTimeoutMs))) {
        logger.warn({ task: label }, `Task "${label}" of plugin "${name}" did not end within ${stopTimeoutMs} ms of its abort; left behind`);
      }
    });
    running = (async () => fn(controller.signal))().then(
      () => undefined,
      (err: unknown) => {
        if (controller.signal.aborted) logger.debug({ err: toError(err), task: label }, `Task "${label}" ended after its abort`);
        else logger.error({ err: toError(err), task: label }, `Task "${label}" of plugin "${name}" failed`);
      },
    );
    // A task that ends by itself no longer counts as a registration.
    void running.then(dispose);
    return dispose;
  }

  function schedule(pattern: string, fn: TaskFn, scheduleOptions: ScheduleOptions = {}): Disposer {
    if (typeof fn !== 'function') throw new InvalidArgumentError('ctx.schedule(pattern, fn): fn must be a function.');
    assertOpen();
    const label = scheduleOptions.name ?? (fn.name !== '' ? fn.name : pattern);
    const controller = new AbortController();
    let running: Promise<void> | undefined;
    let job: Cron;
    try {
      job = new Cron(
        pattern,
        {
          protect: true,
          ...(scheduleOptions.timezone === undefined ? {} : { timezone: scheduleOptions.timezone }),
        },
        async () => {
          const run = (async () => fn(controller.signal))();
          running = run.then(
            () => undefined,
            (err: unknown) => logger.error({ err: toError(err), schedule: label }, `Scheduled run "${label}" of plugin "${name}" failed`),
          );
          await running;
        },
      );
    } catch (err) {
      throw new InvalidArgumentError(`ctx.schedule(): "${pattern}" is not a valid cron pattern: ${toError(err).message}`);
    }
    return scope.track('schedule', async () => {
      job.stop();
      controller.abort();
      if (running !== undefined && !(await settleWithin(running, stopTimeoutMs))) {
        logger.warn({ schedule: label }, `Scheduled run "${label}" of plugin "${name}" did not end within ${stopTimeoutMs} ms of its abort`);
      }
    });
  }

  const timers = createPluginTimers(scope, name, logger);

  const context: PluginContext = {
    name,
    version: options.version,
    config: options.config,
    logger,
    signal: options.signal,
    host: Object.freeze({ server: host.server, catalogue: host.catalogue, strict: host.strict }),
    on: scope.on,
    onGate: scope.onGate,
    onChange: scope.onChange,
    use: scope.use,
    define: scope.define,
    emit: scope.emit,
    call: (method, ...args) => host.call(method, ...args),
    gate: (gateName, gateContext) => host.gate(gateName, gateContext),
    change: (point, old, value) => host.change(point, old, value),
    route(method, path, handler, routeOptions) {
      assertOpen();
      return scope.track('route', options.routes.add(name, method, path, handler, routeOptions));
    },
    task,
    schedule,
    ...timers,
    onMonitoring(fn) {
      if (typeof fn !== 'function') throw new InvalidArgumentError('ctx.onMonitoring(fn): fn must be a function.');
      assertOpen();
      return scope.track('subscriber', host.monitor.subscribe((batch) => guard(logger, 'Monitoring listener', () => fn(batch))));
    },
    onSending(fn) {
      if (typeof fn !== 'function') throw new InvalidArgumentError('ctx.onSending(fn): fn must be a function.');
      assertOpen();
      return scope.track('subscriber', host.channels.sending.subscribe((record) => guard(logger, 'Sending listener', () => fn(record))));
    },
    registrations: () => scope.registrations(),
  };
  return Object.freeze(context);
}
