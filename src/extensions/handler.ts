// One configured extension handler: its lifecycle (onStart/onStop in the
// main process, several times over its life), the per-event decision of
// getConfiguration, the trip through the pool, and the events its results
// and failures become. One deadline per event covers delay, queue and run;
// the hooks' deadline queue watches them all with a single timer per handler
// (its events share one timeout, so they expire in arrival order).
//
// One instance of the handler's class lives in the main process for the
// handler's whole life (SFTPPlus): it is built on the first start, and every
// later stop/start calls onStop/onStart on that same instance. Where that
// instance lives is its MainSide: this process for TypeScript, a process of
// its own for Python (main-side.ts); the rules here are the same for both.

import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ExtensionLoadError, ExtensionResultError, HookTimeoutError, InvalidArgumentError, toError } from '../errors.js';
import { ENGINE_EVENTS } from '../events/engine-events.js';
import { sameAccountInput, type AccountInput, type EmitInput, type HookworkEvent } from '../events/envelope.js';
import { emitEngineEvent, type Host, type HostScope } from '../host.js';
import { Deadlines, type DeadlineEntry } from '../hooks/deadlines.js';
import type { Logger } from '../logger.js';
import { MAX_TIMER_MS, type ExtensionHandlerConfig } from './config-schema.js';
import type { Delayed, ExtensionParent, ExtensionTask, HandleResult, ResultEvent } from './contract.js';
import { LocalMainSide } from './local-main-side.js';
import { resolveEntryPoint, type ResolvedEntryPoint } from './loader.js';
import { AnswerToCome, PendingDecision, type DecisionListener, type MainSide, type TaskListener, type TaskRunner } from './main-side.js';
import type { PythonExtensions } from './python.js';
import type { NodeProcesses } from './node-processes.js';
import { TaskExpiredError, TaskSignal } from './task-signal.js';
import { HandlerSeries } from './handler-metrics.js';
import { toResultEmissions, type ResultEmission } from './results.js';
import { compileFilters, type EventFilter } from '../events/filters.js';
import { endSpan, spanAround, startSpan, tracingOn } from '../tracing.js';

export type ExtensionHandlerState = 'stopped' | 'starting' | 'started' | 'stopping' | 'failed';

export interface ExtensionHandlerCounters {
  /** Events that passed the filters. */
  received: number;
  /** Skipped by getConfiguration (null). */
  skipped: number;
  /** Delayed by getConfiguration (a promise). */
  delayed: number;
  /** Rejected by getConfiguration (it threw). */
  rejected: number;
  /** handle() finished. */
  handled: number;
  /** handle() failed: threw, crashed, ran out of memory, timed out, or gave a bad result. */
  failed: number;
  timeouts: number;
  /** Events emitted from results. */
  emitted: number;
}

export interface ExtensionHandlerError {
  readonly message: string;
  readonly stack: string;
  /** ISO 8601. */
  readonly at: string;
}

export interface ExtensionHandlerInfo {
  readonly uuid: string;
  readonly name: string;
  readonly entryPoint: string;
  readonly state: ExtensionHandlerState;
  /** The ids it follows, or `*`. */
  readonly targets: readonly string[];
  readonly lastError: ExtensionHandlerError | undefined;
  readonly consecutiveFailures: number;
  /** Events between arrival and their end (delayed, queued or running). */
  readonly inFlight: number;
  readonly counters: Readonly<ExtensionHandlerCounters>;
}

export interface ExtensionHandlerOptions {
  config: ExtensionHandlerConfig;
  host: Host;
  /** The thread pool TypeScript and JavaScript handlers run on. */
  pool: TaskRunner;
  /** Python handlers' processes; without it a `.py` entry point fails to start. */
  python?: PythonExtensions;
  /** Locked-down Node processes for `isolation: process`; without it such a handler fails to start. */
  nodeProcesses?: NodeProcesses;
  /** Resolves read_paths/write_paths (relative to the config file's folder); default: against the extensions folder. */
  resolvePath?: (path: string) => string;
  /** Absolute extensions folder, entry points resolve against it. */
  folder: string;
  logger?: Logger;
  /** Where the handler is in the config (`handlers.2`), for problem keys. */
  where?: string;
}

/**
 * One event on its way through a handler; it is also the task's abort
 * signal, and its own entry in the handler's deadline queue (delay, queue
 * and run time: Deadlines.trackEntry), where a separate entry was one more
 * object per event in flight.
 */
class Job extends TaskSignal implements DeadlineEntry {
  readonly event: HookworkEvent;
  readonly startedAt: number;
  /** performance.now() when timed (the latency histogram samples it, or the monitor records it), else 0. */
  startedPerf = 0;
  /** Its deadline entry's fields (Deadlines.trackEntry sets them): settled until tracked. */
  settled = true;
  deadline = 0;
  queue: unknown = undefined;
  readonly onTimeout: (job: Job) => void;
  /** Handed to the pool (getConfiguration has decided to handle it). */
  submitted = false;
  finished = false;

  constructor(event: HookworkEvent, onTimeout: (job: Job) => void) {
    super();
    this.event = event;
    this.startedAt = Date.now();
    this.onTimeout = onTimeout;
  }

  /** Whom its deadline's onTimeout is given: itself. */
  get owner(): Job {
    return this;
  }
}

type FailureStage = 'getConfiguration' | 'handle';

/** What #emitResults gives when there is nothing to emit: one shared settled promise. */
const NO_EVENTS: Promise<readonly HookworkEvent[]> = Promise.resolve(Object.freeze([]));

/** A handle() that gave nothing: no events. */
const NO_RESULT_EVENTS: readonly HookworkEvent[] = Object.freeze([]);

function isEventList(results: HookworkEvent | readonly HookworkEvent[]): results is readonly HookworkEvent[] {
  return Array.isArray(results);
}

const EXTENSION_COMPONENT_TYPE = 'extension';

export class ExtensionHandler {
  readonly uuid: string;
  readonly name: string;
  readonly config: ExtensionHandlerConfig;
  readonly filter: EventFilter;
  readonly #host: Host;
  readonly #pool: TaskRunner;
  readonly #python: PythonExtensions | undefined;
  readonly #nodeProcesses: NodeProcesses | undefined;
  readonly #resolvePath: (path: string) => string;
  readonly #folder: string;
  readonly #logger: Logger;
  readonly #timeoutMs: number;
  readonly #grantToken: boolean;
  readonly #component: { uuid: string; name: string; type: string };
  readonly #series: HandlerSeries;
  #state: ExtensionHandlerState = 'stopped';
  #lastError: ExtensionHandlerError | undefined;
  #consecutiveFailures = 0;
  #targets: readonly string[] = [];
  #explicit: ReadonlySet<string> | null = null;
  #entry: ResolvedEntryPoint | undefined;
  /** Holds the one instance: built once, kept across stop/start. */
  #main: MainSide | undefined;
  #parent: ExtensionParent | undefined;
  /** onStart succeeded and onStop has not run since. */
  #running = false;
  /** fail_after_errors was reached and its stop is scheduled (or done); cleared by start(). */
  #failStop = false;
  #scope: HostScope | undefined;
  #transition: Promise<void> = Promise.resolve();
  readonly #jobs = new Set<Job>();
  // Unref'd: an event in flight does not keep the process alive.
  readonly #deadlines = new Deadlines({ keepAlive: false });
  // One function for every job: tracking a job allocates no closure.
  readonly #onTimeout = (job: Job): void => this.#expire(job);
  // One listener for every job's outcome from a runner with runTo (a process pool).
  readonly #outcomes: TaskListener<Job> = {
    handled: (job, result) => this.#onResult(job, result),
    failed: (job, err) => this.#onRunFailed(job, err),
  };
  // One listener for every job's AnswerToCome (a Python getConfiguration answer).
  readonly #answers: DecisionListener<Job> = {
    decided: (job, value) => this.#decide(job, value),
    failed: (job, err) => this.#answerFailed(job, err),
  };
  readonly #delays = new Set<() => void>();
  #idleWaiters: Array<() => void> = [];
  readonly counters: ExtensionHandlerCounters = {
    received: 0,
    skipped: 0,
    delayed: 0,
    rejected: 0,
    handled: 0,
    failed: 0,
    timeouts: 0,
    emitted: 0,
  };

  constructor(options: ExtensionHandlerOptions) {
    this.config = options.config;
    this.uuid = options.config.uuid ?? randomUUID();
    this.name = options.config.name;
    this.#host = options.host;
    this.#pool = options.pool;
    this.#python = options.python;
    this.#nodeProcesses = options.nodeProcesses;
    this.#folder = options.folder;
    this.#resolvePath = options.resolvePath ?? ((path) => resolve(options.folder, path));
    this.#logger = options.logger ?? options.host.logger;
    this.#timeoutMs = options.config.timeout * 1000;
    this.#grantToken = options.config.grants.includes('account.token');
    this.#component = Object.freeze({ uuid: this.uuid, name: this.name, type: EXTENSION_COMPONENT_TYPE });
    this.#series = new HandlerSeries(options.host.metrics, this.name);
    // Bad filters are config problems: thrown here, before anything runs.
    this.filter = compileFilters(options.config, options.where === undefined ? {} : { where: options.where });
  }

  get state(): ExtensionHandlerState {
    return this.#state;
  }

  get inFlight(): number {
    return this.#jobs.size;
  }

  info(): ExtensionHandlerInfo {
    return {
      uuid: this.uuid,
      name: this.name,
      entryPoint: this.config.entry_point,
      state: this.#state,
      targets: this.#targets,
      lastError: this.#lastError,
      consecutiveFailures: this.#consecutiveFailures,
      inFlight: this.#jobs.size,
      counters: { ...this.counters },
    };
  }

  /**
   * Loads the class and builds its main-process instance (first start only),
   * runs onStart on it, subscribes. A failure leaves the state `failed`, with the error.
   */
  start(): Promise<void> {
    return this.#serialise(async () => {
      if (this.#state === 'started') return;
      this.#state = 'starting';
      try {
        const entry = (this.#entry ??= resolveEntryPoint(this.name, this.config.entry_point, this.#folder));
        const main = (this.#main ??= this.#makeMain(entry));
        const targetEvents = await main.load();
        await main.start((this.#parent ??= this.#makeParent()));
        this.#running = true;
        this.#subscribe(targetEvents);
        this.#failStop = false;
        this.#consecutiveFailures = 0;
        this.#lastError = undefined;
        this.#state = 'started';
        this.#logger.info({ handler: this.name, targets: this.#targets }, `Extension handler "${this.name}" started`);
      } catch (err) {
        this.#setFailed(toError(err));
        this.#logger.error({ err, handler: this.name }, `Extension handler "${this.name}" failed to start`);
      }
    });
  }

  /**
   * Unsubscribes, drops the events getConfiguration has not decided yet
   * (delayed or awaiting a promise: counted as skipped, no failure event),
   * runs onStop. Events already queued or running finish.
   */
  stop(): Promise<void> {
    return this.#serialise(() => this.#stop('stopped'));
  }

  /** Stops it and frees what its main side holds (a Python handler's process): the handler is gone. */
  async close(): Promise<void> {
    await this.stop();
    await this.#main?.close();
  }

  /**
   * Hands one event to this handler as routing would (filters apply): for
   * dispatchers that deliver from a queue instead of host subscriptions.
   */
  dispatch(event: HookworkEvent): void {
    this.#onEvent(event);
  }

  /** Resolves once no event of this handler is delayed, queued or running. */
  idle(): Promise<void> {
    if (this.#jobs.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Ends every in-flight event now (the pool is closing). */
  abortAll(reason: string): void {
    for (const job of [...this.#jobs]) {
      job.abort(reason);
      this.#finish(job, 'aborted');
    }
  }

  #serialise(step: () => Promise<void>): Promise<void> {
    const next = this.#transition.then(step);
    this.#transition = next.catch(() => undefined);
    return next;
  }

  async #stop(finalState: 'stopped' | 'failed', error?: Error): Promise<void> {
    if (!this.#running) {
      if (error !== undefined) this.#setFailed(error);
      return;
    }
    this.#running = false;
    this.#state = 'stopping';
    this.#dropUndecided();
    const scope = this.#scope;
    this.#scope = undefined;
    await scope?.dispose();
    for (const cancel of [...this.#delays]) cancel();
    try {
      await this.#main?.stop();
    } catch (err) {
      this.#logger.warn({ err, handler: this.name }, `Extension handler "${this.name}" failed in onStop`);
    }
    if (finalState === 'failed') this.#setFailed(error ?? new Error('stopped after failures'));
    else this.#state = 'stopped';
    this.#logger.info({ handler: this.name, state: this.#state }, `Extension handler "${this.name}" stopped`);
  }

  /** Events whose decision has not come (a delay, a pending promise) end here: what it decides later is ignored. */
  #dropUndecided(): void {
    for (const job of [...this.#jobs]) {
      if (job.submitted) continue;
      this.counters.skipped++;
      this.#finish(job, 'dropped');
    }
  }

  #setFailed(error: Error): void {
    this.#state = 'failed';
    this.#lastError = { message: error.message, stack: error.stack ?? '', at: new Date().toISOString() };
  }

  #makeMain(entry: ResolvedEntryPoint): MainSide {
    if (entry.language === 'node') return this.config.isolation === 'process' ? this.#isolatedMain(entry) : new LocalMainSide(this.name, this.config.entry_point, entry, this.#pool);
    if (this.#python === undefined) {
      throw new ExtensionLoadError(this.name, this.config.entry_point, `${entry.file} is a Python module and this runtime has no Python support`);
    }
    return this.#python.mainSide({
      handler: this.name,
      entryPoint: this.config.entry_point,
      module: entry.url,
      exportName: entry.exportName,
      lifecycleLimitMs: this.#timeoutMs,
      toEvent: (event) => toWorkerCopy(event, this.#grantToken),
      // toWorkerCopy gives the event's own members unless it shows a granted token.
      ownCopy: (event) => !showsToken(event, this.#grantToken),
      // Its process died on its own: the handler stops, failed; a start builds a new one.
      onCrash: (error) => void this.#serialise(() => this.#stop('failed', error)),
    });
  }

  /** A JavaScript handler whose handle() runs in locked-down Node processes (node-processes.ts). */
  #isolatedMain(entry: ResolvedEntryPoint): MainSide {
    if (/\.[mc]?ts$/.test(entry.file)) {
      throw new ExtensionLoadError(
        this.name,
        this.config.entry_point,
        `${entry.file} is TypeScript, and isolation: process runs JavaScript only (tsx cannot load under Node's permission model: it needs a worker thread and a child process, both refused there); compile it to .js or .mjs, or use isolation: thread`,
      );
    }
    if (this.#nodeProcesses === undefined) {
      throw new ExtensionLoadError(this.name, this.config.entry_point, 'isolation: process is not available in this runtime');
    }
    const pool = this.#nodeProcesses.pool({
      readPaths: this.config.read_paths.map(this.#resolvePath),
      writePaths: this.config.write_paths.map(this.#resolvePath),
    });
    return new LocalMainSide(this.name, this.config.entry_point, entry, pool, pathToFileURL(entry.file).href);
  }

  #subscribe(fromClass: readonly string[] | undefined): void {
    const scope = this.#host.scope(`extension:${this.name}`);
    const fromConfig = this.filter.eventIds;
    const ids = fromConfig ?? (fromClass !== undefined && fromClass.length > 0 ? fromClass : null);
    this.#explicit = ids === null ? null : new Set(ids);
    this.#targets = ids === null ? ['*'] : Object.freeze([...new Set(ids)]);
    const onEvent = (event: HookworkEvent): void => this.#onEvent(event);
    for (const target of this.#targets) scope.on(target, onEvent, { name: `extension:${this.name}` });
    this.#scope = scope;
  }

  #makeParent(): ExtensionParent {
    return Object.freeze({
      configuration: this.config.configuration,
      name: this.name,
      uuid: this.uuid,
      delay: <T>(seconds: number, fn: () => T | PromiseLike<T>): Delayed<T> => this.#delay(seconds, fn),
      emit: async (events: string | ResultEvent | readonly ResultEvent[]) =>
        this.#emitResults(toResultEmissions(events, 'parent.emit()'), undefined),
    });
  }

  /**
   * parent.delay: `seconds` must be a finite number, 0 or more (else an
   * InvalidArgumentError). Delays past the longest Node timer (about 24.8
   * days) are chained timers, so they never fire early.
   */
  #delay<T>(seconds: number, fn: () => T | PromiseLike<T>): Delayed<T> {
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
      throw new InvalidArgumentError(`parent.delay(seconds, fn): seconds must be a finite number, 0 or more; got ${String(seconds)}.`);
    }
    if (typeof fn !== 'function') {
      throw new InvalidArgumentError(`parent.delay(seconds, fn): fn must be a function; got ${typeof fn}.`);
    }
    let cancel!: () => void;
    const promise = new Promise<T>((resolve, reject) => {
      let left = seconds * 1000;
      let timer: NodeJS.Timeout;
      const fire = (): void => {
        this.#delays.delete(cancel);
        try {
          resolve(fn());
        } catch (err) {
          reject(err);
        }
      };
      const wait = (): void => {
        const step = Math.min(left, MAX_TIMER_MS);
        left -= step;
        timer = setTimeout(left > 0 ? wait : fire, step);
      };
      wait();
      cancel = () => {
        clearTimeout(timer);
        this.#delays.delete(cancel);
        resolve(null as T); // the event it held is skipped
      };
    });
    this.#delays.add(cancel);
    return Object.assign(promise, { seconds, cancel });
  }

  #onEvent(event: HookworkEvent): void {
    if (this.#state !== 'started') return;
    // Its own results (and failure reports about it) never come back to it;
    // other extensions' results reach it only when it names their id.
    if (event.component.type === EXTENSION_COMPONENT_TYPE) {
      if (event.component.uuid === this.uuid) return;
      if (this.#explicit === null || !this.#explicit.has(event.id)) return;
    }
    if (!this.filter.matches(event)) return;
    this.counters.received++;
    const job = new Job(event, this.#onTimeout);
    // Timed when the latency histogram samples this event, or the monitor records durations.
    job.startedPerf = this.#host.monitor.enabled ? performance.now() : this.#series.start();
    this.#track(job);
    let decision: unknown;
    try {
      const main = this.#main as MainSide;
      const parent = this.#parent as ExtensionParent;
      decision = tracingOn()
        ? spanAround(`extension getConfiguration ${this.name}`, { 'hookwork.extension.name': this.name, 'hookwork.event.id': event.id }, () =>
            main.getConfiguration(event, parent, this.config.configuration),
          )
        : main.getConfiguration(event, parent, this.config.configuration);
    } catch (err) {
      this.counters.rejected++;
      this.#reportFailure(job, 'getConfiguration', toError(err), 'rejected', false);
      this.#finish(job, 'rejected');
      return;
    }
    this.#decide(job, decision);
  }

  #decide(job: Job, decision: unknown): void {
    if (job.finished) return;
    if (typeof decision === 'string') {
      this.#submit(job, decision);
      return;
    }
    if (decision === null || decision === undefined) {
      this.counters.skipped++;
      this.#finish(job, 'skipped');
      return;
    }
    if (Array.isArray(decision)) {
      this.#decideWithEvents(job, decision);
      return;
    }
    if (decision instanceof AnswerToCome) {
      // Another process's answer, handed over as it is read (one listener for every job: nothing allocated per event).
      decision.listen(this.#answers, job);
      return;
    }
    if (decision instanceof PendingDecision) {
      // Another process's answer: counted as a delay only when it is one.
      if (decision.delayed) this.counters.delayed++;
      decision.promise.then(
        (value) => this.#decide(job, value),
        (err: unknown) => this.#answerFailed(job, err),
      );
      return;
    }
    if (typeof (decision as PromiseLike<unknown>).then === 'function') {
      this.counters.delayed++;
      (decision as PromiseLike<unknown>).then(
        (value) => this.#decide(job, value),
        (err: unknown) => {
          if (job.finished) return;
          this.counters.rejected++;
          this.#reportFailure(job, 'getConfiguration', toError(err), 'rejected', false);
          this.#finish(job, 'rejected');
        },
      );
      return;
    }
    this.#badDecision(job, `getConfiguration() returned ${typeof decision}; return a configuration text, null, [configuration, events] or a promise of one.`);
  }

  /** getConfiguration failed in another process: a bad answer is the handler's error, anything else rejects the event. */
  #answerFailed(job: Job, err: unknown): void {
    if (job.finished) return;
    if (err instanceof ExtensionResultError) {
      this.#badDecision(job, err.message);
      return;
    }
    this.counters.rejected++;
    this.#reportFailure(job, 'getConfiguration', toError(err), 'rejected', false);
    this.#finish(job, 'rejected');
  }

  #decideWithEvents(job: Job, decision: readonly unknown[]): void {
    const [configuration, events] = decision;
    if (decision.length !== 2 || (configuration !== null && configuration !== undefined && typeof configuration !== 'string')) {
      this.#badDecision(job, 'getConfiguration() returned a list that is not [configuration or null, events].');
      return;
    }
    let emissions: readonly ResultEmission[];
    try {
      emissions = toResultEmissions(events, 'getConfiguration()');
    } catch (err) {
      this.#badDecision(job, (err as Error).message);
      return;
    }
    // The events go out first, then the event is handled (or skipped).
    this.#emitResults(emissions, job.event).then(
      () => {
        if (typeof configuration === 'string') this.#submit(job, configuration);
        else {
          this.counters.skipped++;
          this.#finish(job, 'skipped');
        }
      },
      (err: unknown) => {
        if (job.finished) return;
        this.counters.rejected++;
        this.#reportFailure(job, 'getConfiguration', toError(err), 'error', false);
        this.#finish(job, 'error');
      },
    );
  }

  #badDecision(job: Job, message: string): void {
    this.counters.rejected++;
    this.#reportFailure(job, 'getConfiguration', new ExtensionResultError(message), 'error', false);
    this.#finish(job, 'error');
  }

  #submit(job: Job, configuration: string): void {
    if (job.finished) return;
    // A decision that arrives once the handler has stopped is dropped, like a cancelled delay.
    if (this.#state !== 'started') {
      this.counters.skipped++;
      this.#finish(job, 'dropped');
      return;
    }
    // A decision read past the limit before its timer ran (a late answer from
    // another process, a promise): the timeout, without a frame sent for it.
    if (this.#deadlines.overdue(job)) {
      this.#expire(job);
      return;
    }
    job.submitted = true;
    const main = this.#main as MainSide;
    const task: ExtensionTask = {
      module: main.module,
      exportName: main.exportName,
      event: toWorkerCopy(job.event, this.#grantToken),
      configuration,
    };
    const runner = main.runner;
    // A process pool hands the outcome straight to the one listener (no promise and no then() per event), unless a span waits for it.
    if (runner.runTo !== undefined && !tracingOn()) {
      runner.runTo(task, job, undefined, this.#outcomes, job);
      return;
    }
    // The handle span is recorded here, around the trip through the pool: the worker itself is not traced.
    const span = tracingOn()
      ? startSpan(`extension handle ${this.name}`, { 'hookwork.extension.name': this.name, 'hookwork.extension.uuid': this.uuid, 'hookwork.event.id': job.event.id })
      : undefined;
    runner.run(task, job).then(
      (result) => {
        if (span !== undefined) endSpan(span);
        this.#onResult(job, result);
      },
      (err: unknown) => {
        if (span !== undefined) endSpan(span, err);
        this.#onRunFailed(job, err);
      },
    );
  }

  /** handle() did not give a result: its error, its process's end, an abort, or its runtime's `expired`. */
  #onRunFailed(job: Job, err: unknown): void {
    if (job.finished) return; // timed out: already reported
    // Its runtime reached it past the deadline, or its failure is read past it (before the timer here fired): the timeout it is.
    if (err instanceof TaskExpiredError || this.#deadlines.overdue(job)) this.#expire(job);
    else this.#onHandleFailure(job, (this.#main as MainSide).runner.describeFailure(err), 'error');
  }

  #onResult(job: Job, result: HandleResult): void {
    if (job.finished) return;
    // Read past its deadline before the timer here fired (a loop held up past
    // it reads its pipes and runs its timers in an order of its own): the
    // limit decides by the clock, and the result is dropped as it would have
    // been had the timer run first.
    if (this.#deadlines.overdue(job)) {
      this.#expire(job);
      return;
    }
    // Answered in time: the limit is met. Its result events' emits may wait
    // (an emit stage, a durable enqueue) past it; the event is not a timeout
    // for that, which would report one beside the events it emitted.
    this.#deadlines.settle(job);
    let emissions: readonly ResultEmission[];
    try {
      emissions = toResultEmissions(result, 'handle()');
    } catch (err) {
      this.#onHandleFailure(job, toError(err), 'error');
      return;
    }
    if (emissions.length === 0) {
      this.#onHandled(job, NO_RESULT_EVENTS);
      return;
    }
    // One result event (the usual text): its emit's promise and one callback, no list and no second promise.
    if (emissions.length === 1) {
      this.#emitResult(emissions[0] as ResultEmission, resultAccountOf(job.event)).then(
        (event) => {
          this.counters.emitted++;
          this.#onHandled(job, event);
        },
        (err: unknown) => this.#onHandleFailure(job, toError(err), 'error'),
      );
      return;
    }
    this.#emitResults(emissions, job.event).then(
      (events) => this.#onHandled(job, events),
      (err: unknown) => this.#onHandleFailure(job, toError(err), 'error'),
    );
  }

  /** `results`: the events its result became (one, or a list); listed for the sending channel only when it has subscribers. */
  #onHandled(job: Job, results: HookworkEvent | readonly HookworkEvent[]): void {
    if (job.finished) return;
    this.#consecutiveFailures = 0;
    this.counters.handled++;
    const sending = this.#host.channels.sending;
    if (sending.active && (!isEventList(results) || results.length > 0)) {
      sending.publish({
        events: isEventList(results) ? results : [results],
        handlerId: this.uuid,
        handlerName: this.name,
        accountId: job.event.account.uuid,
        requestId: job.event.uuid,
        createEventTime: new Date(job.startedAt).toISOString(),
        endEventTime: new Date().toISOString(),
      });
    }
    this.#finish(job, 'ok');
  }

  #onHandleFailure(job: Job, error: Error, outcome: string): void {
    if (job.finished) return;
    this.counters.failed++;
    this.#consecutiveFailures++;
    const limit = this.config.fail_after_errors;
    // Several failures may reach the limit before the stop runs: only the first stops it.
    const stopping = limit > 0 && this.#consecutiveFailures >= limit && this.#state === 'started' && !this.#failStop;
    // Once stopping for failures, lastError keeps the stop's reason.
    if (!this.#failStop) this.#lastError = { message: error.message, stack: error.stack ?? '', at: new Date().toISOString() };
    if (stopping) this.#failStop = true;
    this.#reportFailure(job, 'handle', error, outcome, stopping);
    this.#finish(job, outcome);
    if (stopping) {
      this.#logger.error(
        { handler: this.name, failures: this.#consecutiveFailures },
        `Extension handler "${this.name}" stopped after ${this.#consecutiveFailures} consecutive failures (fail_after_errors)`,
      );
      const cause = new Error(`Stopped after ${this.#consecutiveFailures} consecutive failures; the last: ${error.message}`);
      cause.stack = `${cause.message}\n${error.stack ?? ''}`;
      void this.#serialise(() => this.#stop('failed', cause));
    }
  }

  /** Emits result events as this handler, on the triggering event's account (never its token). */
  #emitResults(emissions: readonly ResultEmission[], cause: HookworkEvent | undefined): Promise<readonly HookworkEvent[]> {
    if (emissions.length === 0) return NO_EVENTS;
    const account = cause === undefined ? undefined : resultAccountOf(cause);
    // One result event (the usual text or object): one emit and one callback, no async function around it.
    if (emissions.length === 1) {
      return this.#emitResult(emissions[0] as ResultEmission, account).then((event) => {
        this.counters.emitted++;
        return [event];
      });
    }
    return this.#emitEach(emissions, account);
  }

  async #emitEach(emissions: readonly ResultEmission[], account: AccountInput | undefined): Promise<readonly HookworkEvent[]> {
    const events: HookworkEvent[] = [];
    for (const emission of emissions) {
      events.push(await this.#emitResult(emission, account));
      this.counters.emitted++;
    }
    return events;
  }

  #emitResult(emission: ResultEmission, account: AccountInput | undefined): Promise<HookworkEvent> {
    // Built field by field: a spread of a conditional literal costs an object and a copy per event.
    const input: EmitInput = { message: emission.message, data: emission.data, component: this.#component };
    if (account !== undefined) input.account = account;
    return this.#host.emit(emission.id, input);
  }

  /** SFTPPlus's 20174: names the handler, the event and the error with its stack. */
  #reportFailure(job: Job, stage: FailureStage, error: Error, reason: string, stopping: boolean): void {
    this.#logger.warn({ err: error, handler: this.name, event: job.event.id, stage }, `Extension handler "${this.name}" failed on event ${job.event.id}`);
    emitEngineEvent(
      this.#host,
      ENGINE_EVENTS.handlerFailed,
      {
        data: {
          handler: this.name,
          handler_uuid: this.uuid,
          kind: 'extension',
          stage,
          reason,
          event_id: job.event.id,
          event_uuid: job.event.uuid,
          error: error.message,
          error_code: (error as { code?: unknown }).code ?? null,
          stack: error.stack ?? '',
          handler_stopped: stopping,
        },
        component: this.#component,
        account: accountOf(job.event),
      },
      this.#logger,
    );
  }

  #track(job: Job): void {
    this.#jobs.add(job);
    // A timeout past the longest Node timer (a config that skipped the schema) is re-armed until it is reached.
    this.#deadlines.trackEntry(this.#timeoutMs, job);
    // The same limit on the wall clock, for a runtime to skip the frame once it has passed.
    job.expiresAt = job.startedAt + this.#timeoutMs;
  }

  /** An event past its deadline (delay, queue and run time). */
  #expire(job: Job): void {
    if (job.finished) return;
    this.counters.timeouts++;
    // Aborting removes a queued task, or terminates the worker running it.
    job.abort('timeout');
    this.#onHandleFailure(
      job,
      new HookTimeoutError(`Extension handler "${this.name}" on event ${job.event.id} (delay, queue and run time)`, this.#timeoutMs),
      'timeout',
    );
  }

  #finish(job: Job, outcome: string): void {
    if (job.finished) return;
    job.finished = true;
    this.#deadlines.settle(job);
    this.#jobs.delete(job);
    if (this.#series.enabled) this.#series.finished(outcome, job.startedPerf);
    const monitor = this.#host.monitor;
    if (monitor.enabled) {
      monitor.record({
        kind: 'handler',
        name: job.event.id,
        by: this.name,
        outcome,
        durationMs: job.startedPerf === 0 ? 0 : performance.now() - job.startedPerf,
        at: job.startedAt,
        detail: { handler_uuid: this.uuid, event_uuid: job.event.uuid },
      });
    }
    if (this.#jobs.size === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }
}

/** Whether toWorkerCopy(event) shows the account's token (a copy of the account); otherwise it keeps the event's own members. */
function showsToken(event: HookworkEvent, grantToken: boolean): boolean {
  return grantToken && event.account.token !== undefined;
}

/** A plain copy: what structured cloning sends to the worker (the account token only when granted). */
export function toWorkerCopy(event: HookworkEvent, grantToken: boolean): ExtensionTask['event'] {
  const account = showsToken(event, grantToken) ? { ...event.account, token: event.account.token } : event.account;
  return {
    id: event.id,
    uuid: event.uuid,
    name: event.name,
    groups: event.groups,
    message: event.message,
    account,
    component: event.component,
    server: event.server,
    timestamp: event.timestamp,
    data: event.data,
  };
}

/** A result event's account: the triggering event's, without its token (its own frozen account when that is all it has, else a copy). */
function resultAccountOf(event: HookworkEvent): AccountInput {
  return sameAccountInput(event) ?? accountOf(event);
}

function accountOf(event: HookworkEvent): AccountInput {
  const account = event.account;
  // Assigned, not spread from conditional literals: this runs once per result event.
  const input: { -readonly [K in keyof AccountInput]: AccountInput[K] } = { uuid: account.uuid, name: account.name, peer: account.peer };
  if (account.email !== undefined) input.email = account.email;
  if (account.emails !== undefined) input.emails = account.emails;
  return input;
}
