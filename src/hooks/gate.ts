// Gates: decision points before an action (`pre-upload`). Gates run in order;
// the first deny (with a reason) or handled wins. A gate that throws or times
// out denies (fail-closed) unless the point is declared fail-open.

import { HookTimeoutError, InvalidArgumentError, UnknownHookPointError, toError } from '../errors.js';
import type { Logger } from '../logger.js';
import { endSpan, startSpan, tracingOn, withSpan, type Span } from '../tracing.js';
import type { Monitor } from './monitor.js';
import { NO_METRICS, secondsSince, type CounterChild, type Family, type HistogramChild, type Metrics } from '../metrics/metrics.js';
import { Deadlines, type Deadline } from './deadlines.js';
import type { Disposer } from './scope.js';

export type GateVerdictKind = 'allow' | 'deny' | 'handled';

export interface GateDecision {
  readonly verdict: GateVerdictKind;
  /** Why it was denied or handled. */
  readonly reason?: string;
  /** The gate that decided (absent for allow). */
  readonly by?: string;
}

/**
 * What a gate returns: nothing or `true` lets the next gate decide; `false`
 * denies with a default reason; or an explicit decision from allow(), deny(),
 * handled().
 */
export type GateResult = void | undefined | boolean | GateDecision;

export interface GateCallInfo {
  readonly gate: string;
  /** Aborted when the gate's timeout expires. */
  readonly signal: AbortSignal;
}

/** A gate may answer at once or with any thenable (a promise or a promise-like). */
export type GateFn<C> = (context: C, info: GateCallInfo) => GateResult | PromiseLike<GateResult>;

export interface GatePointOptions {
  /** When true, a gate that throws or times out lets the action go on. Default false. */
  failOpen?: boolean;
  /** Default per-gate timeout in ms (default 30 000). */
  timeoutMs?: number;
}

export interface GateRegistration {
  /** Shown in denials and reports. */
  name?: string;
  /** Lower runs first; equal orders keep registration order. Default 0. */
  order?: number;
  timeoutMs?: number;
}

const ALLOW: GateDecision = Object.freeze({ verdict: 'allow' });
const RESOLVED_ALLOW: Promise<GateDecision> = Promise.resolve(ALLOW);

export function allow(): GateDecision {
  return ALLOW;
}

export function deny(reason: string): GateDecision {
  return Object.freeze({ verdict: 'deny', reason });
}

export function handled(reason?: string): GateDecision {
  return reason === undefined ? Object.freeze({ verdict: 'handled' }) : Object.freeze({ verdict: 'handled', reason });
}

interface GateEntry {
  readonly fn: GateFn<unknown>;
  readonly name: string;
  readonly order: number;
  readonly seq: number;
  readonly timeoutMs: number | undefined;
}

interface GatePoint {
  readonly name: string;
  failOpen: boolean;
  timeoutMs: number;
  entries: readonly GateEntry[];
  /** This point's series, bound when it is declared (nothing is looked up per run). */
  readonly series: GateSeries;
  /** Chains run, for timing one in TIME_EVERY (see chainStart). */
  runs: number;
}

/**
 * One chain in 8 per gate point is timed for the latency histogram: two clock
 * reads cost about a tenth of a chain of five quick gates on this kind of
 * machine, more than metrics may cost (5 %). Decisions are still counted in
 * full; the histogram's sample keeps its quantiles.
 */
const TIME_EVERY_MASK = 7;

function chainStart(point: GatePoint, metricsOn: boolean): number {
  return metricsOn && (point.runs++ & TIME_EVERY_MASK) === 0 ? performance.now() : 0;
}

interface GateSeries {
  readonly allow: CounterChild;
  readonly deny: CounterChild;
  readonly handled: CounterChild;
  readonly error: CounterChild;
  readonly timeout: CounterChild;
  readonly duration: HistogramChild;
}

/** The gate families, made once per Gates. */
class GateMetrics {
  readonly enabled: boolean;
  readonly #decisions: Family<CounterChild>;
  readonly #failures: Family<CounterChild>;
  readonly #duration: Family<HistogramChild>;
  constructor(metrics: Metrics) {
    this.enabled = metrics.enabled;
    this.#decisions = metrics.counter('hookwork_gate_decisions_total', 'Gate chain decisions, per gate point and verdict (allow, deny, handled).', ['gate', 'verdict']);
    this.#failures = metrics.counter('hookwork_gate_failures_total', 'Gates that threw or timed out, per gate point and outcome (error, timeout).', ['gate', 'outcome']);
    this.#duration = metrics.histogram('hookwork_gate_duration_seconds', 'Time a gate chain took to decide, per gate point.', ['gate']);
  }
  bind(gate: string): GateSeries {
    return {
      allow: this.#decisions.labels(gate, 'allow'),
      deny: this.#decisions.labels(gate, 'deny'),
      handled: this.#decisions.labels(gate, 'handled'),
      error: this.#failures.labels(gate, 'error'),
      timeout: this.#failures.labels(gate, 'timeout'),
      duration: this.#duration.labels(gate),
    };
  }
}

const DEFAULT_GATE_TIMEOUT_MS = 30_000;

export class Gates {
  readonly #points = new Map<string, GatePoint>();
  readonly #logger: Logger;
  readonly #monitor: Monitor | undefined;
  readonly #deadlines = new Deadlines();
  readonly #metrics: GateMetrics;
  #seq = 0;

  constructor(logger: Logger, monitor?: Monitor, metrics: Metrics = NO_METRICS) {
    this.#logger = logger;
    this.#monitor = monitor;
    this.#metrics = new GateMetrics(metrics);
  }

  /** Declares (or re-configures) a gate point. */
  declare(name: string, options: GatePointOptions = {}): void {
    if (typeof name !== 'string' || name === '') throw new InvalidArgumentError('A gate needs a non-empty name.');
    const point = this.#points.get(name);
    if (point === undefined) {
      this.#points.set(name, {
        name,
        failOpen: options.failOpen ?? false,
        timeoutMs: options.timeoutMs ?? DEFAULT_GATE_TIMEOUT_MS,
        entries: [],
        series: this.#metrics.bind(name),
        runs: 0,
      });
      return;
    }
    if (options.failOpen !== undefined) point.failOpen = options.failOpen;
    if (options.timeoutMs !== undefined) point.timeoutMs = options.timeoutMs;
  }

  has(name: string): boolean {
    return this.#points.has(name);
  }

  names(): string[] {
    return [...this.#points.keys()];
  }

  /** How many gates a point has. */
  count(name: string): number {
    return this.#points.get(name)?.entries.length ?? 0;
  }

  /** Adds a gate; an undeclared point is declared fail-closed with defaults. */
  register<C>(name: string, fn: GateFn<C>, options: GateRegistration = {}): Disposer {
    if (typeof fn !== 'function') throw new InvalidArgumentError(`The gate registered on "${name}" is not a function.`);
    if (!this.#points.has(name)) this.declare(name);
    const point = this.#points.get(name) as GatePoint;
    const entry: GateEntry = {
      fn: fn as GateFn<unknown>,
      name: options.name ?? (fn.name !== '' ? fn.name : `gate#${this.#seq}`),
      order: options.order ?? 0,
      seq: this.#seq++,
      timeoutMs: options.timeoutMs,
    };
    point.entries = [...point.entries, entry].sort((a, b) => a.order - b.order || a.seq - b.seq);
    return () => {
      point.entries = point.entries.filter((e) => e !== entry);
    };
  }

  /** Runs the gates of `name` in order and returns the decision. */
  run<C>(name: string, context: C): Promise<GateDecision> {
    const point = this.#points.get(name);
    if (point === undefined) return Promise.reject(new UnknownHookPointError('gate', name, this.names()));
    const entries = point.entries;
    if (entries.length === 0) {
      point.series.allow.inc();
      return RESOLVED_ALLOW;
    }
    return this.#runAll(point, entries, context);
  }

  #runAll(point: GatePoint, entries: readonly GateEntry[], context: unknown): Promise<GateDecision> {
    if (tracingOn()) return this.#runTraced(point, entries, context);
    return new Promise((resolve) => {
      const monitor = this.#monitor?.enabled === true ? this.#monitor : undefined;
      const start = chainStart(point, this.#metrics.enabled);
      GateStep.runFrom({ point, entries, context, resolve, logger: this.#logger, monitor, deadlines: this.#deadlines, start, traced: false }, 0);
    });
  }

  /** The chain in a span of its own, each gate in a child span (tracing on only). */
  #runTraced(point: GatePoint, entries: readonly GateEntry[], context: unknown): Promise<GateDecision> {
    const span = startSpan(`gate ${point.name}`, { 'hookwork.gate.point': point.name, 'hookwork.gate.count': entries.length });
    return withSpan(
      span,
      () =>
        new Promise<GateDecision>((resolve) => {
          const monitor = this.#monitor?.enabled === true ? this.#monitor : undefined;
          const done = (decision: GateDecision): void => {
            span.setAttribute('hookwork.gate.verdict', decision.verdict);
            if (decision.by !== undefined) span.setAttribute('hookwork.gate.decided_by', decision.by);
            endSpan(span);
            resolve(decision);
          };
          const start = chainStart(point, this.#metrics.enabled);
          GateStep.runFrom({ point, entries, context, resolve: done, logger: this.#logger, monitor, deadlines: this.#deadlines, start, traced: true }, 0);
        }),
    );
  }
}

/** One run of a gate chain. */
interface ChainRun {
  readonly point: GatePoint;
  readonly entries: readonly GateEntry[];
  readonly context: unknown;
  readonly resolve: (decision: GateDecision) => void;
  readonly logger: Logger;
  readonly monitor: Monitor | undefined;
  readonly deadlines: Deadlines;
  /** performance.now() at the start, when this chain is timed (else 0). */
  readonly start: number;
  /** Each gate call gets a span (a tracer provider is registered). */
  readonly traced: boolean;
}

/** Ends a chain run: counts its verdict and time, then resolves. */
function settle(run: ChainRun, decision: GateDecision): void {
  const series = run.point.series;
  series[decision.verdict].inc();
  if (run.start !== 0) series.duration.observe(secondsSince(run.start));
  run.resolve(decision);
}

/**
 * A gate call's info, with a lazy signal: most gates never read it, and an
 * AbortController per call would cost more than the call. It is also the
 * controller the deadline aborts (`abort(reason)`), before or after the gate
 * reads `signal`.
 */
class CallInfo implements GateCallInfo {
  readonly gate: string;
  /** The controller once made; or, aborted before the gate read its signal, the reason (boxed). */
  #state: AbortController | { readonly reason: unknown } | undefined = undefined;

  constructor(gate: string) {
    this.gate = gate;
  }

  get signal(): AbortSignal {
    const state = this.#state;
    if (state instanceof AbortController) return state.signal;
    const controller = new AbortController();
    if (state !== undefined) controller.abort(state.reason);
    this.#state = controller;
    return controller.signal;
  }

  abort(reason?: unknown): void {
    const state = this.#state;
    if (state === undefined) this.#state = { reason };
    else if (state instanceof AbortController) state.abort(reason);
  }
}

/**
 * One gate's call within a chain run, and the info that gate receives (one
 * object per call: the gate sees only `gate`, `signal` and `abort`, the rest is private).
 */
class GateStep extends CallInfo {
  readonly #run: ChainRun;
  readonly #index: number;
  readonly #entry: GateEntry;
  readonly #at: number;
  readonly #start: number;
  #span: Span | undefined;

  constructor(run: ChainRun, index: number) {
    super(run.point.name);
    this.#run = run;
    this.#index = index;
    this.#entry = run.entries[index] as GateEntry;
    this.#at = run.monitor === undefined ? 0 : Date.now();
    this.#start = run.monitor === undefined ? 0 : performance.now();
  }

  // The chain is driven by callbacks, not an async function: a gate that
  // answers synchronously costs no promise hop, and one that answers with a
  // thenable costs one then() and a deadline entry (no promise of our own).
  static runFrom(run: ChainRun, from: number): void {
    const { entries } = run;
    for (let i = from; i < entries.length; i++) {
      const step = new GateStep(run, i);
      let result: unknown;
      try {
        // Every gate gets its info, whatever its declared parameter count (a
        // wrapper `(...a) => f(...a)` has length 0).
        result = run.traced ? step.#callTraced() : step.#entry.fn(run.context, step);
      } catch (err) {
        if (step.#failed(err)) return;
        continue;
      }
      if (isThenable(result)) {
        step.#await(result);
        return;
      }
      if (step.#answered(result)) return;
    }
    settle(run, ALLOW);
  }

  /** The gate called inside its own span (ended in #record). */
  #callTraced(): unknown {
    const span = startSpan(`gate ${this.#run.point.name} ${this.#entry.name}`, { 'hookwork.gate.point': this.#run.point.name, 'hookwork.gate.name': this.#entry.name });
    this.#span = span;
    return withSpan(span, () => this.#entry.fn(this.#run.context, this));
  }

  /** The gate answered; true when that decided the chain (resolved). */
  #answered(result: unknown): boolean {
    let decision: GateDecision | undefined;
    try {
      decision = interpret(result as GateResult, this.#entry.name);
    } catch (err) {
      return this.#failed(err);
    }
    this.#record(decision === undefined ? 'ok' : decision.verdict);
    return this.#decide(decision);
  }

  /** The gate threw, rejected or timed out: deny (fail-closed) or go on (fail-open); true when that decided the chain. */
  #failed(err: unknown): boolean {
    const timedOut = err instanceof HookTimeoutError;
    this.#record(timedOut ? 'timeout' : 'error');
    (timedOut ? this.#run.point.series.timeout : this.#run.point.series.error).inc();
    const { point, logger } = this.#run;
    const name = this.#entry.name;
    const error = toError(err);
    logger.warn({ err: error, gate: point.name, by: name }, `Gate "${name}" on "${point.name}" failed`);
    if (point.failOpen) return false;
    return this.#decide(Object.freeze({ verdict: 'deny', reason: `Gate "${name}" failed: ${error.message}`, by: name }));
  }

  /** Waits for a thenable answer within the gate's timeout; the chain goes on from its callbacks. */
  #await(thenable: PromiseLike<unknown>): void {
    const { deadlines, point } = this.#run;
    const deadline = deadlines.track(this.#entry.timeoutMs ?? point.timeoutMs, GateStep.#timedOut, this);
    // Inline callbacks: tsx's keepNames would rename named ones on every call.
    try {
      thenable.then(
        (value) => {
          if (deadlines.settle(deadline) && !this.#answered(value)) GateStep.runFrom(this.#run, this.#index + 1);
        },
        (err: unknown) => this.#rejected(deadline, err),
      );
    } catch (err) {
      this.#rejected(deadline, err); // a thenable whose then() throws
    }
  }

  static #timedOut(step: GateStep): void {
    const ms = step.#entry.timeoutMs ?? step.#run.point.timeoutMs;
    const error = new HookTimeoutError(`Gate "${step.#entry.name}" on "${step.#run.point.name}"`, ms);
    step.abort(error);
    if (!step.#failed(error)) GateStep.runFrom(step.#run, step.#index + 1);
  }

  #rejected(deadline: Deadline, err: unknown): void {
    if (this.#run.deadlines.settle(deadline) && !this.#failed(err)) GateStep.runFrom(this.#run, this.#index + 1);
  }

  #decide(decision: GateDecision | undefined): boolean {
    if (decision === undefined) return false;
    settle(this.#run, decision);
    return true;
  }

  #record(outcome: string): void {
    const span = this.#span;
    if (span !== undefined) {
      this.#span = undefined;
      span.setAttribute('hookwork.gate.outcome', outcome);
      endSpan(span, outcome === 'error' || outcome === 'timeout' ? outcome : undefined);
    }
    const { monitor, point } = this.#run;
    monitor?.record({ kind: 'gate', name: point.name, by: this.#entry.name, outcome, durationMs: performance.now() - this.#start, at: this.#at });
  }
}

function isThenable(value: unknown): value is PromiseLike<GateResult> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function interpret(result: GateResult, by: string): GateDecision | undefined {
  if (result === undefined || result === true) return undefined;
  if (result === false) return Object.freeze({ verdict: 'deny', reason: `Denied by gate "${by}"`, by });
  if (result === null || typeof result !== 'object') {
    throw new InvalidArgumentError(`Gate "${by}" returned ${JSON.stringify(result)}; return allow(), deny(reason), handled() or a boolean.`);
  }
  switch (result.verdict) {
    case 'allow':
      return undefined;
    case 'deny':
      return Object.freeze({ verdict: 'deny', reason: result.reason ?? `Denied by gate "${by}"`, by: result.by ?? by });
    case 'handled':
      return Object.freeze({ verdict: 'handled', ...(result.reason === undefined ? {} : { reason: result.reason }), by: result.by ?? by });
    default:
      throw new InvalidArgumentError(`Gate "${by}" returned an unknown verdict ${JSON.stringify((result as { verdict: unknown }).verdict)}.`);
  }
}

/** Rejects with HookTimeoutError after `ms`, aborting `controller` if given. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string, controller?: AbortController): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      const error = new HookTimeoutError(what, ms);
      controller?.abort(error);
      reject(error);
    }, ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
