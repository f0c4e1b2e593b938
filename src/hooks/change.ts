// Change points (UCS's agent-status and shared-data hooks): a value is about
// to change and hooks may replace it or block the change. An exclusive point
// has one holder and refuses a second, naming the holder; a chained point runs
// its hooks as a waterfall. Returning block(reason) or throwing
// ChangeBlockedError blocks; any other exception is logged with its stack and
// the originally requested value is applied.

import { ChangeBlockedError, ExclusiveHookTakenError, HookPointConflictError, InvalidArgumentError, UnknownHookPointError, toError } from '../errors.js';
import type { Logger } from '../logger.js';
import { setActiveAttribute, traced, tracingOn } from '../tracing.js';
import { record, type Monitor } from './monitor.js';
import { NO_METRICS, type CounterChild, type Family, type Metrics } from '../metrics/metrics.js';
import type { Disposer } from './scope.js';

export type ChangeMode = 'exclusive' | 'chained';

export interface ChangePointOptions {
  mode?: ChangeMode;
}

const BLOCK = Symbol('hookwork.block');

export interface ChangeBlock {
  readonly [BLOCK]: true;
  readonly reason: string;
}

/** Returned by a change hook to block the change (reason defaults to "Blocked by hook"). */
export function block(reason?: string | null): ChangeBlock {
  return Object.freeze({ [BLOCK]: true as const, reason: reason === undefined || reason === null || reason === '' ? 'Blocked by hook' : reason });
}

export function isBlock(value: unknown): value is ChangeBlock {
  return typeof value === 'object' && value !== null && (value as Partial<ChangeBlock>)[BLOCK] === true;
}

export interface ChangeRequest<V> {
  readonly point: string;
  /** The current value, before the change. */
  readonly old: V | undefined;
  /** The value to apply so far (after earlier hooks in a chain). */
  readonly value: V;
  /** The value originally requested. */
  readonly requested: V;
}

/** Return the value to apply (`undefined` keeps it as is), or block(reason). */
export type ChangeHookFn<V> = (change: ChangeRequest<V>) => V | ChangeBlock | undefined | Promise<V | ChangeBlock | undefined>;

export type ChangeOutcome<V> =
  | { readonly blocked: false; readonly value: V }
  | { readonly blocked: true; readonly reason: string; readonly by: string };

interface ChangeEntry {
  readonly fn: ChangeHookFn<unknown>;
  readonly owner: string;
}

interface ChangePoint {
  readonly name: string;
  mode: ChangeMode;
  entries: readonly ChangeEntry[];
  /** Outcome series, bound when the point is declared. */
  readonly applied: CounterChild;
  readonly blocked: CounterChild;
  readonly error: CounterChild;
}

export class ChangePoints {
  readonly #points = new Map<string, ChangePoint>();
  readonly #logger: Logger;
  readonly #monitor: Monitor | undefined;
  readonly #outcomes: Family<CounterChild>;

  constructor(logger: Logger, monitor?: Monitor, metrics: Metrics = NO_METRICS) {
    this.#logger = logger;
    this.#monitor = monitor;
    this.#outcomes = metrics.counter('hookwork_change_outcomes_total', 'Change-point requests, per point and outcome (applied, blocked, error: a hook threw and the requested value applied).', ['point', 'outcome']);
  }

  declare(name: string, options: ChangePointOptions = {}): void {
    if (typeof name !== 'string' || name === '') throw new InvalidArgumentError('A change point needs a non-empty name.');
    const mode = options.mode ?? 'chained';
    const point = this.#points.get(name);
    if (point === undefined) {
      const o = this.#outcomes;
      this.#points.set(name, { name, mode, entries: [], applied: o.labels(name, 'applied'), blocked: o.labels(name, 'blocked'), error: o.labels(name, 'error') });
      return;
    }
    if (point.mode !== mode) {
      if (mode === 'exclusive' && point.entries.length > 1) {
        throw new HookPointConflictError('change point', name, `has ${point.entries.length} hooks and cannot become exclusive.`);
      }
      point.mode = mode;
    }
  }

  has(name: string): boolean {
    return this.#points.has(name);
  }

  names(): string[] {
    return [...this.#points.keys()];
  }

  mode(name: string): ChangeMode | undefined {
    return this.#points.get(name)?.mode;
  }

  /** Who holds an exclusive point (or the first hook of a chained one). */
  holder(name: string): string | undefined {
    return this.#points.get(name)?.entries[0]?.owner;
  }

  count(name: string): number {
    return this.#points.get(name)?.entries.length ?? 0;
  }

  /** Adds a hook; an undeclared point is declared chained. */
  hook<V>(name: string, fn: ChangeHookFn<V>, owner = 'anonymous'): Disposer {
    if (typeof fn !== 'function') throw new InvalidArgumentError(`The change hook on "${name}" is not a function.`);
    if (!this.#points.has(name)) this.declare(name);
    const point = this.#points.get(name) as ChangePoint;
    const holder = point.entries[0];
    if (point.mode === 'exclusive' && holder !== undefined) {
      throw new ExclusiveHookTakenError(name, holder.owner, owner);
    }
    const entry: ChangeEntry = { fn: fn as ChangeHookFn<unknown>, owner };
    point.entries = [...point.entries, entry];
    return () => {
      point.entries = point.entries.filter((e) => e !== entry);
    };
  }

  /** Asks the hooks of `name` about changing `old` to `value`. */
  apply<V>(name: string, old: V | undefined, value: V): Promise<ChangeOutcome<V>> {
    if (!tracingOn()) return this.#apply(name, old, value);
    return traced(`change ${name}`, { 'hookwork.change.point': name }, async () => {
      const outcome = await this.#apply(name, old, value);
      setActiveAttribute('hookwork.change.outcome', outcome.blocked ? 'blocked' : 'applied');
      if (outcome.blocked) setActiveAttribute('hookwork.change.blocked_by', outcome.by);
      return outcome;
    });
  }

  async #apply<V>(name: string, old: V | undefined, value: V): Promise<ChangeOutcome<V>> {
    const point = this.#points.get(name);
    if (point === undefined) throw new UnknownHookPointError('change point', name, this.names());
    let current = value;
    for (const entry of point.entries) {
      const monitor = this.#monitor?.enabled === true ? this.#monitor : undefined;
      const at = monitor === undefined ? 0 : Date.now();
      const start = monitor === undefined ? 0 : performance.now();
      try {
        const result = await entry.fn({ point: name, old, value: current, requested: value });
        if (isBlock(result)) {
          if (monitor !== undefined) record(monitor, 'change', name, entry.owner, 'blocked', start, at);
          point.blocked.inc();
          return { blocked: true, reason: result.reason, by: entry.owner };
        }
        if (result !== undefined) current = result as V;
        if (monitor !== undefined) record(monitor, 'change', name, entry.owner, 'ok', start, at);
      } catch (err) {
        if (err instanceof ChangeBlockedError) {
          if (monitor !== undefined) record(monitor, 'change', name, entry.owner, 'blocked', start, at);
          point.blocked.inc();
          return { blocked: true, reason: err.reason, by: entry.owner };
        }
        if (monitor !== undefined) record(monitor, 'change', name, entry.owner, 'error', start, at);
        point.error.inc();
        const error = toError(err);
        this.#logger.error(
          { err: error, point: name, by: entry.owner, stack: error.stack },
          `Change hook of "${entry.owner}" on "${name}" threw; applying the originally requested value`,
        );
        return { blocked: false, value };
      }
    }
    point.applied.inc();
    return { blocked: false, value: current };
  }
}

