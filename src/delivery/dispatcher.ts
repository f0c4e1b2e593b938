// The dispatcher: claims due deliveries for the targets registered on this
// node, runs one attempt each with per-target concurrency and a circuit
// breaker, records every attempt and settles the delivery (done, next attempt,
// dead letter). Claims and settlements are batched: one store round trip
// serves many attempts.

import { setMaxListeners } from 'node:events';
import { toError } from '../errors.js';
import type { Monitor } from '../hooks/monitor.js';
import type { Logger } from '../logger.js';
import { contextFromStored, endSpan, SpanKind, startSpan, tracingOn, withSpan, type Span } from '../tracing.js';
import type { CircuitReport } from './admin.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { createRateLimiter, type RateLimiter } from './rate-limiter.js';
import { statusClass, type DeliveryMetrics, type TargetSeries } from './delivery-metrics.js';
import { stripUrlCredentials } from './redact-url.js';
import type { StoreHealth } from './store-health.js';
import { RetryPolicy } from './retry-policy.js';
import type { TargetHealth } from './target-health.js';
import { clipResponse, type ClaimRequest, type DeliveryStore, type KeepDoneBody, type Settlement, type SettleRequest } from './store.js';
import type { AttemptRecord, AttemptResult, BreakerSettings, DeliveryRecord, DeliveryTarget } from './types.js';

/** Why a target was disabled: its receiver answered 410, or it failed without a success for endpoint_failure_disable_after. */
export type TargetDisabledCause = { readonly cause: 'gone' } | { readonly cause: 'failing'; readonly failingSince: number; readonly disableAfterMs: number };

export interface DispatcherOptions {
  readonly store: DeliveryStore;
  readonly nodeId: string;
  readonly policy: RetryPolicy;
  readonly leaseMs: number;
  /** Attempts at once for a target that does not say. */
  readonly defaultConcurrency: number;
  readonly claimBatch: number;
  /**
   * Outcomes alone (no claim to go with them) wait up to SETTLE_WAIT_MS for
   * more or for the next claim: for stores where each call is a round trip.
   */
  readonly batchSettles?: boolean;
  /**
   * A fast target's window in multiples of its concurrency (default
   * PREFETCH). A store that claims without a round trip (in this process)
   * needs no rounds waiting: 1. Measured there, the ready rounds cost more
   * than they saved (docs/performance.md, "Webhook delivery through the
   * engine: the seventh round").
   */
  readonly prefetch?: number;
  readonly pollMs: number;
  readonly breakerFailures: number;
  readonly breakerCooldownMs: number;
  /** The breaker's full settings (over breakerFailures and breakerCooldownMs); a target's own override them. */
  readonly breaker?: Partial<BreakerSettings>;
  /** Failing without a single success this long (ms) disables a target (0 or unset: never); a target may say otherwise. */
  readonly disableAfterMs?: number;
  /** A retry policy for a target's own schedule (seconds), with the queue's jitter and Retry-After cap. */
  readonly policyFor?: (schedule: readonly number[]) => RetryPolicy;
  /** What a done delivery keeps of its event (default full). */
  readonly keepDoneBody?: KeepDoneBody;
  readonly logger: Logger;
  /** Told of each claim and settle result (store lost / back). */
  readonly storeHealth?: StoreHealth;
  readonly monitor?: Monitor;
  /** Attempt outcomes, latency and status classes per target (absent: metrics off). */
  readonly metrics?: DeliveryMetrics;
  /** A delivery was dead-lettered (after the store recorded it). */
  readonly onFailed?: (delivery: DeliveryRecord, attempt: AttemptRecord) => void;
  /** A delivery of `target` finished here (done or dead-lettered): the back-pressure count. */
  readonly onFinished?: (target: string) => void;
  /** A target was disabled, on a 410 or after failing too long (after the store recorded it). */
  readonly onTargetDisabled?: (target: string, reason: string, cause: TargetDisabledCause) => void;
}

interface Slot {
  readonly target: DeliveryTarget;
  readonly limit: number;
  /**
   * Claimed (running + ready + reserved) at most: the concurrency, plus
   * prefetch - 1 more rounds waiting ready while the target answers quickly.
   * A slow or hanging target holds only its running slots.
   */
  window: number;
  readonly breaker: CircuitBreaker;
  /** Its own retry schedule's policy, else the queue's. */
  readonly policy: RetryPolicy;
  /** Its rate limit (undefined: none). */
  readonly limiter: RateLimiter | undefined;
  /** The limiter said no: look again at its nextAt(). */
  rateWait: boolean;
  /** Failing without a success since then (ms), as this node knows (its own and the store's). */
  failingSince: number | undefined;
  lastSuccessAt: number;
  /** When this node's last health write (failing / circuit) was recorded (Infinity: on its way); a refresh that began before keeps ours. */
  healthWriteAt: number;
  /** 0 or less: never disabled for failing. */
  readonly disableAfterMs: number;
  /** The target's metric series, bound at registration (undefined: metrics off). */
  readonly series: TargetSeries | undefined;
  running: number;
  /** Claimed by this node, not started yet, oldest first. */
  readonly ready: Ready[];
  /** Claimed at enqueue by a write not committed yet. */
  reserved: number;
  /** The breaker opened and its closing is not logged yet. */
  circuitOpen: boolean;
  /** When the circuit last opened here, or was seen opened by another node (ms). */
  openedAt: number;
  /**
   * The claims sent before it was last roused (see #claims): a claim sent
   * after that, which found nothing, may have missed the work that roused it,
   * so it does not put the target to sleep.
   */
  rousedAt: number;
  /** When this node last settled a delivery of it for a retry (ms): a claim beside that write may not see it yet. */
  retriedAt: number;
}

/** The deliveries of one claim share a lease: one controller and one timer, not one per attempt. */
interface Lease {
  readonly until: number;
  readonly controller: AbortController;
  timer: NodeJS.Timeout | undefined;
  /** Deliveries of this claim not finished yet. */
  open: number;
}

interface Ready {
  readonly record: DeliveryRecord;
  readonly lease: Lease;
}

type MutableAttempt = { -readonly [K in keyof AttemptRecord]: AttemptRecord[K] };

/**
 * The usual webhook attempt: answered, success or not, with the stored event
 * as its body, and nothing else to say (no retry hint, error, exit code or
 * body of its own). Its record is then one object literal (attemptSent), in
 * the members' usual order: built a member at a time, it needed a second
 * backing store for the members past the first five, kept with every done delivery.
 */
function isPlainSent(result: AttemptResult, response: string | undefined): boolean {
  return (
    result.httpStatus !== undefined &&
    response !== undefined &&
    result.requestHeaders !== undefined &&
    result.responseHeaders !== undefined &&
    result.requestBodyIsEvent === true &&
    result.retryable === undefined &&
    result.retryAfterMs === undefined &&
    result.disableTarget === undefined &&
    result.exitCode === undefined &&
    result.error === undefined &&
    result.requestBody === undefined
  );
}

function attemptSent(deliveryId: string, attempt: number, startedAt: number, durationMs: number, result: AttemptResult, response: string | undefined): AttemptRecord {
  return {
    deliveryId,
    attempt,
    startedAt,
    durationMs,
    ok: result.ok,
    httpStatus: result.httpStatus,
    response,
    requestHeaders: result.requestHeaders,
    requestBodyIsEvent: true,
    responseHeaders: result.responseHeaders,
  };
}

/**
 * `ms` as V8's small integer when it is one (the same value): the
 * difference of two Date.now() values is a heap number, and a record's
 * member that ever held one keeps every record's value boxed, a number
 * object of its own kept with each of the 10,000 done deliveries.
 */
function wholeMs(ms: number): number {
  const small = ms | 0;
  return Object.is(small, ms) ? small : ms;
}

/** Any attempt's record: the members the result has, in the same order as attemptSent's. */
function attemptRecord(deliveryId: string, attempt: number, startedAt: number, durationMs: number, result: AttemptResult, response: string | undefined): AttemptRecord {
  const record: MutableAttempt = { deliveryId, attempt, startedAt, durationMs, ok: result.ok };
  if (result.retryable !== undefined) record.retryable = result.retryable;
  if (result.retryAfterMs !== undefined) record.retryAfterMs = result.retryAfterMs;
  if (result.disableTarget !== undefined) record.disableTarget = result.disableTarget;
  if (result.httpStatus !== undefined) record.httpStatus = result.httpStatus;
  if (result.exitCode !== undefined) record.exitCode = result.exitCode;
  if (response !== undefined) record.response = response;
  if (result.error !== undefined) record.error = result.error;
  // The request and response as sent (HTTP targets; redacted by the target): the console's attempt view.
  if (result.requestHeaders !== undefined) record.requestHeaders = result.requestHeaders;
  if (result.requestBody !== undefined) record.requestBody = result.requestBody;
  if (result.requestBodyIsEvent === true) record.requestBodyIsEvent = true;
  if (result.responseHeaders !== undefined) record.responseHeaders = result.responseHeaders;
  return record;
}

const SHUTDOWN = Symbol('shutdown');
/** One frozen outcome per keep_done_body mode: no allocation per success. */
const DONE: Readonly<Record<KeepDoneBody, Settlement>> = Object.freeze({
  full: Object.freeze({ state: 'done' }),
  compressed: Object.freeze({ state: 'done', keepBody: 'compressed' }),
  none: Object.freeze({ state: 'done', keepBody: 'none' }),
});

/**
 * A fast target's window, in multiples of its concurrency. The ready rounds
 * must outlast a claim's round trip to the store (a SQLite commit on the
 * store thread, a PostgreSQL query) at the target's pace, or its slots sit
 * idle waiting for the next claim: two proved too few for SQLite at 64 in flight.
 */
const PREFETCH = 4;

/** The longest outcomes wait to share a store call (see DispatcherOptions.batchSettles). */
const SETTLE_WAIT_MS = 10;

export class Dispatcher {
  readonly #o: DispatcherOptions;
  readonly #prefetch: number;
  readonly #slots = new Map<string, Slot>();
  /** Attempts settled on this node since it started (the console's stats sample them): two field bumps, nothing allocated. */
  readonly outcomes = { done: 0, failed: 0 };
  #disabled = new Set<string>();
  /** Attempts running on this node, and who waits for none to be. */
  #running = 0;
  readonly #idleWaiters: Array<() => void> = [];
  readonly #leases = new Set<Lease>();
  #lastLease: Lease | undefined;
  /** How much earlier than its store lease an attempt may be cut off, so that leases can be shared. */
  readonly #leaseSharing: number;
  #settles: SettleRequest[] = [];
  #failed: Array<{ delivery: DeliveryRecord; record: AttemptRecord }> = [];
  #ticking: Promise<void> | undefined;
  #settleTimer: NodeJS.Timeout | undefined;
  /** Send the outcomes waiting at the next tick, claim or not. */
  #settleNow = false;
  #tickScheduled = false;
  #again = false;
  /**
   * A wake() came (another node's work, an operator's retry, a target
   * registered): the next tick asks the store which targets have due work.
   */
  #scanWanted = true;
  /** The store's answer to which targets have due work, while on its way. */
  #scanning: Promise<void> | undefined;
  #lastScan = 0;
  /** Claims sent so far: a rouse stamps it (Slot.rousedAt). */
  #claims = 0;
  /** The last read of the targets' shared health: a target registered later starts from it (an open circuit elsewhere holds here at once). */
  #health: { readonly byTarget: ReadonlyMap<string, TargetHealth>; readonly readStarted: number } | undefined;
  /**
   * The targets claims ask about. The others sleep: their last claim found
   * nothing more due, or they were registered and the store named no work of
   * theirs. A sleeping target is roused by new work written here for it, a
   * retry of its due now, or the store's answer to which targets have due
   * work (asked once a poll interval and on each wake, #scan): so neither the
   * claims nor the tick's look at the targets visit the idle ones, and
   * nothing asks the store about each of them.
   */
  readonly #awake = new Set<Slot>();
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  #localDueAt = Infinity;
  #lastDisabledRefresh = 0;
  /** A wake from the store came: the next tick reads the disabled targets again, and the scan waits for that read. */
  #refreshWanted = false;
  #refreshing: Promise<void> | undefined;
  /** Targets this node disabled (410), and when the store recorded it (Infinity: not yet); a refresh that began before keeps them. */
  readonly #disabledHere = new Map<string, number>();
  #started = false;
  #stopping = false;
  /** Targets registered with a retry schedule of their own. */
  #ownSchedules = 0;

  constructor(options: DispatcherOptions) {
    this.#o = options;
    this.#prefetch = Math.max(1, options.prefetch ?? PREFETCH);
    this.#leaseSharing = Math.min(1000, options.leaseMs / 16);
  }

  /** Attempts in flight on this node. */
  get inflight(): number {
    return this.#running;
  }

  /** Whether some target has a retry schedule of its own (enqueue then asks firstDelayMs()). */
  get ownSchedules(): boolean {
    return this.#ownSchedules > 0;
  }

  /** The first attempt's delay of a target registered here with its own schedule, else undefined. */
  firstDelayMs(target: string): number | undefined {
    const slot = this.#slots.get(target);
    return slot === undefined || slot.policy === this.#o.policy ? undefined : slot.policy.firstDelayMs;
  }

  registerTarget(target: DeliveryTarget): () => void {
    const limit = Math.max(1, target.concurrency ?? this.#o.defaultConcurrency);
    const controls = target.controls;
    const schedule = controls?.retrySchedule;
    const policy = schedule === undefined || this.#o.policyFor === undefined ? this.#o.policy : this.#o.policyFor(schedule);
    const take = this.#o.store.takeRateTokens?.bind(this.#o.store);
    const rate = controls?.rateLimit;
    const limiter =
      rate === undefined
        ? undefined
        : createRateLimiter(
            rate,
            // A store shared by nodes keeps the bucket; the others leave it in memory here.
            take === undefined ? undefined : (want, l) => take(target.name, want, l),
            () => {
              const s = this.#slots.get(target.name);
              if (s !== undefined && s.ready.length > 0) this.#drain(s, Date.now());
              this.due(target.name);
            },
            (err) => this.#o.logger.warn({ err, target: target.name }, 'Could not take rate-limit tokens from the store; retrying in 1 s'),
          );
    const slot: Slot = {
      target,
      limit,
      window: limit,
      breaker: new CircuitBreaker({
        failures: this.#o.breakerFailures,
        cooldownMs: this.#o.breakerCooldownMs,
        ...this.#o.breaker,
        ...controls?.breaker,
      }),
      policy,
      limiter,
      rateWait: false,
      failingSince: undefined,
      lastSuccessAt: 0,
      healthWriteAt: 0,
      disableAfterMs: controls?.disableAfterMs ?? this.#o.disableAfterMs ?? 0,
      series: this.#o.metrics?.enabled === true ? this.#o.metrics.bind(target.name) : undefined,
      running: 0,
      ready: [],
      reserved: 0,
      circuitOpen: false,
      openedAt: 0,
      rousedAt: -1,
      retriedAt: 0,
    };
    const previous = this.#slots.get(target.name);
    if (previous !== undefined && previous.policy !== this.#o.policy) this.#ownSchedules -= 1;
    if (policy !== this.#o.policy) this.#ownSchedules += 1;
    this.#slots.set(target.name, slot);
    // It starts asleep: the wake below asks the store whether it has work (one query, however many register).
    const known = this.#health;
    if (known !== undefined) this.#applyHealthTo(target.name, slot, known.byTarget.get(target.name), known.readStarted);
    if (previous !== undefined) {
      this.#awake.delete(previous);
      this.#handBackReady(previous, 'target replaced on this node');
    }
    this.wake();
    return () => {
      if (this.#slots.get(target.name) !== slot) return;
      this.#slots.delete(target.name);
      this.#awake.delete(slot);
      if (slot.policy !== this.#o.policy) this.#ownSchedules -= 1;
      this.#handBackReady(slot, 'target unregistered on this node');
    };
  }

  /** The kind (webhook, command, …) of a target registered on this node. */
  kindOf(target: string): string | undefined {
    return this.#slots.get(target)?.target.kind;
  }

  /** Circuit state of each registered target, for depth reports. */
  circuits(now = Date.now()): Map<string, CircuitReport> {
    const out = new Map<string, CircuitReport>();
    for (const [name, slot] of this.#slots) {
      const openUntil = slot.breaker.openUntil;
      out.set(name, {
        state: slot.breaker.state(now),
        mode: slot.breaker.settings.mode,
        consecutiveFailures: slot.breaker.consecutiveFailures,
        ...(openUntil === undefined ? {} : { openUntil }),
        ...(slot.failingSince === undefined ? {} : { failingSince: slot.failingSince }),
        running: slot.running,
        limit: slot.limit,
        kind: slot.target.kind,
        ...(slot.target.shownUrl === undefined ? {} : { url: slot.target.shownUrl }),
      });
    }
    return out;
  }

  setDisabled(targets: Iterable<string>): void {
    this.#replaceDisabled(new Set(targets));
    this.#disabledHere.clear();
    this.wake();
  }

  /**
   * A target enabled again starts afresh: its failing time ends (else the
   * next failure would disable it again at once, its failing time being
   * older than endpoint_failure_disable_after).
   */
  #replaceDisabled(next: Set<string>): void {
    const now = Date.now();
    for (const target of this.#disabled) {
      if (next.has(target)) continue;
      const slot = this.#slots.get(target);
      if (slot === undefined || slot.failingSince === undefined) continue;
      slot.failingSince = undefined;
      this.#saveHealth(slot, (store) => store.clearFailing(target, now));
    }
    this.#disabled = next;
  }

  async start(): Promise<void> {
    this.#started = true;
    await this.#refreshDisabled();
    this.wake();
  }

  /**
   * How many of `wanted` new deliveries to `target`, due now, this node takes
   * at enqueue (written already claimed, then dispatched from memory). The
   * caller passes the same number to adopt() once written, or to release().
   */
  reserve(target: string, wanted: number, now: number): number {
    if (!this.#started || this.#stopping || this.#disabled.has(target)) return 0;
    const slot = this.#slots.get(target);
    if (slot === undefined || slot.breaker.state(now) !== 'closed') return 0;
    let n = Math.max(0, Math.min(wanted, slot.window - slot.running - slot.ready.length - slot.reserved));
    if (slot.limiter !== undefined && n > 0) n = Math.min(n, slot.limiter.claimable(now, slot.ready.length + slot.reserved));
    slot.reserved += n;
    return n;
  }

  /** Gives back reservations whose write failed. */
  release(target: string, reserved: number): void {
    const slot = this.#slots.get(target);
    if (slot !== undefined) slot.reserved = Math.max(0, slot.reserved - reserved);
  }

  /** Takes deliveries written already claimed by this node (see reserve()) and runs them. */
  adopt(target: string, records: readonly DeliveryRecord[], leaseUntil: number, reserved: number): void {
    if (records.length === 0) return;
    this.release(target, reserved);
    const lease = this.#lease(leaseUntil, records.length);
    const slot = this.#slots.get(target);
    for (const record of records) {
      if (slot === undefined || this.#stopping) this.#handBack({ record, lease }, 'not attempted: node shutting down or target unregistered');
      else slot.ready.push({ record, lease });
    }
    if (slot !== undefined && !this.#stopping) this.#drain(slot, Date.now());
  }

  /** Looks for work soon, for every target: asks the store which have some (coalesced: many wakes make one store call). */
  wake(): void {
    this.#scanWanted = true;
    this.#look();
  }

  /**
   * A wake from the store (another node's work, an operator's action there):
   * the disabled targets and their health are read again before the scan
   * that follows, so work another node wrote after disabling a target is not
   * claimed here before this node knows of the disable.
   */
  wakeShared(): void {
    this.#refreshWanted = true;
    this.wake();
  }

  /** New work for `target` was written here: its next claim asks for it (coalesced, like wake()). */
  due(target: string): void {
    const slot = this.#slots.get(target);
    if (slot !== undefined) this.#rouse(slot);
    this.#look();
  }

  /** Claims again soon, for the targets not known idle. */
  #look(): void {
    if (!this.#started || this.#stopping) return;
    this.#again = true;
    this.#scheduleTick();
  }

  #scheduleTick(): void {
    if (this.#tickScheduled || this.#ticking !== undefined) return;
    this.#tickScheduled = true;
    setImmediate(() => {
      this.#tickScheduled = false;
      void this.#tick();
    });
  }

  /** Whether outcomes alone wait (a timer sends them at the latest SETTLE_WAIT_MS from now). */
  #deferSettles(count: number): boolean {
    if (this.#o.batchSettles !== true || this.#stopping || this.#settleNow || count >= this.#o.claimBatch) return false;
    this.#settleTimer ??= setTimeout(() => {
      this.#settleTimer = undefined;
      this.#settleNow = true;
      this.#scheduleTick();
    }, SETTLE_WAIT_MS);
    return true;
  }

  /** Runs ticks until there is nothing to settle and nothing worth claiming; one at a time. */
  #tick(): Promise<void> {
    this.#ticking ??= this.#tickLoop().finally(() => {
      this.#ticking = undefined;
      if (this.#settles.length > 0 && this.#settleTimer === undefined) this.#scheduleTick();
      this.#arm();
    });
    return this.#ticking;
  }

  async #tickLoop(): Promise<void> {
    for (;;) {
      const claimAgain = this.#again;
      this.#again = false;
      const now = Date.now();
      // Beside the tick, not before it: a store round trip per poll interval would stall every claim behind it.
      if (!this.#stopping && claimAgain && this.#refreshing === undefined && (this.#refreshWanted || now - this.#lastDisabledRefresh >= this.#o.pollMs)) {
        this.#refreshWanted = false;
        this.#refreshing = this.#refreshDisabled().finally(() => {
          this.#refreshing = undefined;
        });
      }
      if (!this.#stopping && claimAgain) this.#scan(now);
      const claim = this.#stopping || !claimAgain ? undefined : this.#claimRequest(now);
      const claimSeq = claim === undefined ? this.#claims : ++this.#claims;
      const settles = this.#settles;
      const failed = this.#failed;
      if (settles.length === 0 && claim === undefined) return;
      if (claim === undefined && this.#deferSettles(settles.length)) return;
      this.#settleNow = false;
      if (this.#settleTimer !== undefined) {
        clearTimeout(this.#settleTimer);
        this.#settleTimer = undefined;
      }
      this.#settles = [];
      this.#failed = [];
      const { settled, claimed } = await this.#exchange(settles, claim);
      if (settled) this.#notifyFailed(failed);
      if (claim === undefined) continue;
      if (claimed.length === 0) {
        if (!settled) return; // the store is failing: the next poll tries again
        this.#markIdle(claim, claimed, claimSeq);
        continue;
      }
      const lease = this.#lease(claim.now + claim.leaseMs, claimed.length);
      const touched = new Set<Slot>();
      for (const record of claimed) {
        const slot = this.#slots.get(record.target);
        if (slot === undefined || this.#stopping) {
          // Claimed while shutting down or unregistering: hand it straight back, unused.
          this.#handBack({ record, lease }, 'not attempted: node shutting down or target unregistered');
          continue;
        }
        slot.ready.push({ record, lease });
        touched.add(slot);
      }
      for (const slot of touched) this.#drain(slot, Date.now());
      let asked = 0;
      for (const n of claim.capacity.values()) asked += n;
      if (claimed.length === asked) this.#again = true;
      else this.#markIdle(claim, claimed, claimSeq);
    }
  }

  /**
   * The targets a claim got fewer deliveries for than it asked have nothing
   * more due now: they sleep, left out of the claims until roused (new work
   * written here, a retry due, or the store naming them in a scan).
   */
  #markIdle(claim: ClaimRequest, claimed: readonly DeliveryRecord[], claimSeq: number): void {
    const got = new Map<string, number>();
    for (const record of claimed) got.set(record.target, (got.get(record.target) ?? 0) + 1);
    for (const [name, asked] of claim.capacity) {
      const slot = this.#slots.get(name);
      if (slot === undefined || (got.get(name) ?? 0) >= asked) continue;
      // Claimed deliveries waiting here, a retry settled beside this claim (its write may not have been visible to it),
      // or roused since this claim was sent (by work it may not have seen): not idle.
      if (slot.ready.length > 0 || slot.rateWait || slot.retriedAt > claim.now - this.#o.pollMs || slot.rousedAt >= claimSeq) continue;
      this.#awake.delete(slot);
    }
  }

  /** A sleeping target may have work: claims ask for it again. */
  #rouse(slot: Slot): void {
    slot.rousedAt = this.#claims;
    if (this.#slots.get(slot.target.name) === slot) this.#awake.add(slot);
  }

  /**
   * Once a poll interval, and soon after a wake: asks the store which targets
   * have due work and rouses those registered here, beside the tick (the
   * claims go on meanwhile). One query, whose cost grows with the targets
   * that have open deliveries, not with the idle ones: this is how work
   * written by another node or process, a retry whose delay ended, or a lease
   * that ran out is found (within about a poll interval).
   */
  #scan(now: number): void {
    if (this.#scanning !== undefined || (!this.#scanWanted && now - this.#lastScan < this.#o.pollMs)) return;
    this.#scanWanted = false;
    this.#lastScan = now;
    const store = this.#o.store;
    if (store.dueTargets === undefined) {
      // A store that cannot say: every target is asked again, as its claims would.
      for (const slot of this.#slots.values()) this.#rouse(slot);
      return;
    }
    // After a disabled-targets read on its way (a shared wake starts one): the targets the scan rouses are claimed knowing it.
    const dueTargets = store.dueTargets.bind(store);
    const refreshed = this.#refreshing ?? Promise.resolve();
    this.#scanning = refreshed.then(() => dueTargets(now)).then(
      (targets) => {
        this.#scanning = undefined;
        // The poll of an idle node: it tells when the store is lost or back, as claims do.
        this.#o.storeHealth?.succeeded();
        let roused = false;
        for (const name of targets) {
          const slot = this.#slots.get(name);
          if (slot === undefined) continue;
          // An awake one is stamped too: a claim of it on its way may have missed what this scan saw.
          if (!this.#awake.has(slot)) roused = true;
          this.#rouse(slot);
        }
        if (roused || this.#scanWanted) this.#look();
      },
      (err: unknown) => {
        this.#scanning = undefined;
        // A scan still on its way when the node stops may meet a closed store: not the store being lost.
        if (this.#stopping) return;
        // The next poll asks again; while the store is away, StoreHealth logs it once.
        const health = this.#o.storeHealth;
        health?.failed(err);
        if (health?.report().ok !== false) this.#o.logger.warn({ err }, 'Could not ask the store which targets have due work; asking again at the next poll');
        if (this.#scanWanted) this.#look();
      },
    );
  }

  /** Settles and claims in one store call when the store can, else both side by side. */
  async #exchange(settles: SettleRequest[], claim: ClaimRequest | undefined): Promise<{ settled: boolean; claimed: DeliveryRecord[] }> {
    const store = this.#o.store;
    if (store.settleAndClaim !== undefined && settles.length > 0 && claim !== undefined) {
      try {
        const claimed = await store.settleAndClaim(settles, claim);
        this.#o.storeHealth?.succeeded();
        return { settled: true, claimed };
      } catch (err) {
        this.#o.storeHealth?.failed(err);
        this.#settleFailed(err, settles.length);
        return { settled: false, claimed: [] };
      }
    }
    const [s, c] = await Promise.allSettled([
      settles.length > 0 ? store.settle(settles) : Promise.resolve(0),
      claim === undefined ? Promise.resolve([]) : store.claim(claim),
    ]);
    const health = this.#o.storeHealth;
    if (s.status === 'rejected' || c.status === 'rejected') health?.failed(s.status === 'rejected' ? s.reason : (c as PromiseRejectedResult).reason);
    else health?.succeeded();
    if (s.status === 'rejected') this.#settleFailed(s.reason, settles.length);
    if (c.status === 'rejected') this.#claimFailed(c.reason);
    return { settled: s.status === 'fulfilled', claimed: c.status === 'fulfilled' ? c.value : [] };
  }

  #settleFailed(err: unknown, count: number): void {
    // The claims stay in flight and are taken again after their lease: at-least-once holds.
    // While the store is away, StoreHealth logs it once; a line per tick would flood the log.
    if (this.#o.storeHealth?.report().ok === false) return;
    this.#o.logger.error({ err, count }, 'Recording delivery attempts failed; they will be retried after the lease');
  }

  #claimFailed(err: unknown): void {
    if (this.#o.storeHealth?.report().ok === false) return;
    this.#o.logger.error({ err }, 'Claiming deliveries failed; retrying at the next poll');
  }

  #notifyFailed(failed: ReadonlyArray<{ delivery: DeliveryRecord; record: AttemptRecord }>): void {
    for (const f of failed) {
      try {
        this.#o.onFailed?.(f.delivery, f.record);
      } catch (err) {
        this.#o.logger.error({ err }, 'The delivery-failed listener threw');
      }
    }
  }

  /** What to claim now: room in each target's window, in chunks so one store call serves many attempts. */
  #claimRequest(now: number): ClaimRequest | undefined {
    let capacity: Map<string, number> | undefined;
    for (const slot of this.#awake) {
      const name = slot.target.name;
      if (this.#disabled.has(name)) continue;
      const room = slot.window - slot.running - slot.ready.length - slot.reserved;
      let free = Math.min(slot.breaker.allowance(now, room), this.#o.claimBatch);
      let chunk = Math.ceil(slot.window / 4);
      if (slot.limiter !== undefined && free > 0) {
        // Only what the rate limit lets start soon: the rest waits in the store, pending and not counted.
        const rate = slot.limiter.claimable(now, slot.ready.length + slot.reserved);
        slot.rateWait = rate < free;
        if (rate < free) free = rate;
        chunk = 1;
      }
      if (free > 0 && (free >= chunk || slot.running + slot.ready.length === 0)) {
        (capacity ??= new Map()).set(name, free);
      }
    }
    return capacity === undefined ? undefined : { nodeId: this.#o.nodeId, now, leaseMs: this.#o.leaseMs, capacity };
  }

  #lease(until: number, count: number): Lease {
    // Claims and adoptions a moment apart share the older lease (and its one
    // controller and timer): their attempts end a little before the store's
    // lease would, never after.
    const last = this.#lastLease;
    if (last !== undefined && last.open > 0 && last.until <= until && until - last.until <= this.#leaseSharing && !last.controller.signal.aborted) {
      last.open += count;
      return last;
    }
    const lease: Lease = { until, controller: new AbortController(), timer: undefined, open: count };
    // Every attempt of the claim listens to this one signal.
    setMaxListeners(0, lease.controller.signal);
    lease.timer = setTimeout(() => lease.controller.abort(new Error(`the lease of ${this.#o.leaseMs} ms ended`)), Math.max(0, until - Date.now()));
    lease.timer.unref();
    this.#leases.add(lease);
    this.#lastLease = lease;
    return lease;
  }

  #leaseDone(lease: Lease): void {
    lease.open -= 1;
    if (lease.open > 0) return;
    clearTimeout(lease.timer);
    this.#leases.delete(lease);
  }

  /** Starts ready deliveries while the target has free slots. */
  #drain(slot: Slot, now: number): void {
    while (slot.running < slot.limit && slot.ready.length > 0) {
      if (this.#disabled.has(slot.target.name) || slot.breaker.allowance(now, 1) === 0) {
        this.#handBackReady(slot, 'not attempted: the target is paused (circuit open or disabled)');
        return;
      }
      const first = slot.ready[0] as Ready;
      // Too little of the lease left: another node may take it soon. Let the store hand it out again.
      if (first.lease.until - now < this.#o.leaseMs / 2) {
        slot.ready.shift();
        this.#handBack(first, 'not attempted: its lease was running out');
        continue;
      }
      if (slot.limiter !== undefined && !slot.limiter.take(now, slot.ready.length)) {
        // Over the rate: it waits, claimed, for a token (the limiter or the timer wakes it).
        slot.rateWait = true;
        this.#scheduleTick();
        return;
      }
      slot.ready.shift();
      this.#start(slot, first);
    }
  }

  /** Returns claimed, unstarted deliveries to the queue, due now, without using up their schedule. */
  #handBackReady(slot: Slot, why: string): void {
    for (const ready of slot.ready.splice(0)) this.#handBack(ready, why);
  }

  #handBack(ready: Ready, why: string): void {
    const now = Date.now();
    this.#leaseDone(ready.lease);
    this.#pushSettle(ready.record, ready.record.attempts + 1, now, { ok: false, error: why }, { state: 'pending', dueAt: now, resetAttempts: true }, 0, true);
  }

  async #refreshDisabled(): Promise<void> {
    const started = Date.now();
    this.#lastDisabledRefresh = started;
    // The health read goes beside the disabled one: one poll, two small reads, never one per delivery.
    const health = this.#o.store.targetHealth().then(
      (list) => {
        if (!this.#stopping) this.#applyHealth(list, started);
      },
      (err: unknown) => {
        if (!this.#stopping) this.#o.logger.warn({ err }, 'Could not read the target health');
      },
    );
    try {
      const list = await this.#o.store.disabledTargets();
      const disabled = new Set(list.map((d) => d.target));
      // A target this node disabled (410) is missing from a read that began before the store had it: keep it.
      for (const [target, recordedAt] of this.#disabledHere) {
        if (recordedAt >= started) disabled.add(target);
        else this.#disabledHere.delete(target);
      }
      this.#replaceDisabled(disabled);
    } catch (err) {
      // A read still on its way when the node stops may meet a closed store.
      if (!this.#stopping) this.#o.logger.warn({ err }, 'Could not read the disabled targets');
    }
    await health;
  }

  /** Sets the one timer to the next moment something may be due: a retry, a breaker probe, or the poll. */
  #arm(): void {
    if (this.#stopping) return;
    const now = Date.now();
    let at = now + this.#o.pollMs;
    if (this.#localDueAt < at) at = Math.max(this.#localDueAt, now);
    // Sleeping targets have nothing claimed or waiting: the poll's scan is their time.
    for (const slot of this.#awake) {
      const reopens = slot.breaker.reopensAt;
      if (reopens !== undefined && reopens < at) at = Math.max(reopens, now);
      if (slot.rateWait && slot.limiter !== undefined) {
        const next = slot.limiter.nextAt(now);
        if (next < at) at = Math.max(next, now + 1);
      }
    }
    if (this.#timer !== undefined) {
      if (this.#timerAt <= at) return;
      clearTimeout(this.#timer);
    }
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      const fired = Date.now();
      if (this.#localDueAt <= fired) this.#localDueAt = Infinity;
      // Claimed deliveries waiting for a rate-limit token start now if one came.
      for (const slot of this.#awake) {
        if (!slot.rateWait) continue;
        slot.rateWait = false;
        if (slot.ready.length > 0) this.#drain(slot, fired);
      }
      // Idle targets sleep until roused: the poll's one scan (#scan, from the tick) looks for their work, no sweep of them all.
      this.#look();
    }, at - now);
    this.#timer.unref();
  }

  #start(slot: Slot, ready: Ready): void {
    slot.running += 1;
    const now = Date.now();
    // Half-open: this attempt is the breaker's one probe, and must end it (see #decide).
    const probe = slot.breaker.state(now) === 'half-open';
    slot.breaker.started(now);
    this.#running += 1;
    this.#run(slot, ready, probe);
  }

  readonly #runFailed = (err: unknown): void => {
    this.#o.logger.error({ err }, 'Recording a delivery attempt failed');
  };

  /** An attempt is over (recorded or not): its slot is free. */
  #ended(slot: Slot, ready: Ready): void {
    this.#running -= 1;
    slot.running -= 1;
    this.#leaseDone(ready.lease);
    // The next ready one starts at once; the store hears of this one at the next tick.
    if (!this.#stopping) this.#drain(slot, Date.now());
    this.#again = true;
    this.#scheduleTick();
    if (this.#running === 0) for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  /** Resolves when no attempt runs, or after `ms`. */
  #idle(ms: number): Promise<void> {
    if (this.#running === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#idleWaiters.push(done);
    });
  }

  /**
   * One attempt, recorded; its slot is free again at the end, whatever
   * happened. Not async: one reaction on the target's promise, not an async
   * function's frame and promise and a catch() on it, per attempt.
   */
  #run(slot: Slot, ready: Ready, probe: boolean): void {
    const delivery = ready.record;
    const attempt = delivery.attempts + 1;
    const signal = ready.lease.controller.signal;
    const startedAt = Date.now();
    let span: Span | undefined;
    try {
      span = tracingOn() ? attemptSpan(slot.target, delivery, attempt) : undefined;
    } catch (err) {
      this.#runFailed(err);
      return;
    }
    let attempted: Promise<AttemptResult>;
    try {
      // Promise.resolve: a target's own thenable (or a plain value) is waited for, as an await would.
      attempted = Promise.resolve(
        span === undefined
          ? slot.target.attempt(delivery, { webhookId: delivery.webhookId, attempt, signal })
          : withSpan(span, () => slot.target.attempt(delivery, { webhookId: delivery.webhookId, attempt, signal })),
      );
    } catch (err) {
      attempted = Promise.reject(err);
    }
    attempted.then(
      (result) => this.#attempted(slot, ready, probe, attempt, startedAt, signal, span, result),
      (err: unknown) => this.#attempted(slot, ready, probe, attempt, startedAt, signal, span, { ok: false, retryable: true, error: toError(err).message }),
    );
  }

  /** The attempt's outcome, recorded; then its slot is free (a failure to record is logged). */
  #attempted(slot: Slot, ready: Ready, probe: boolean, attempt: number, startedAt: number, signal: AbortSignal, span: Span | undefined, outcome: AttemptResult): void {
    try {
      let result = outcome;
      if (span !== undefined) endAttemptSpan(span, result);
      // The one place an attempt's error text is recorded: everything shown later (lastError, attempts, CLI, events) reads it.
      if (result.error !== undefined) {
        const error = stripUrlCredentials(result.error);
        if (error !== result.error) result = { ...result, error };
      }
      try {
        this.#record(slot, ready.record, attempt, startedAt, result, signal, probe);
      } finally {
        this.#ended(slot, ready);
      }
    } catch (err) {
      this.#runFailed(err);
    }
  }

  #record(slot: Slot, delivery: DeliveryRecord, attempt: number, startedAt: number, result: AttemptResult, signal: AbortSignal, probe: boolean): void {
    const finishedAt = Date.now();
    slot.window = finishedAt - startedAt < this.#o.leaseMs / 8 ? slot.limit * this.#prefetch : slot.limit;
    const outcome = this.#decide(slot, delivery, attempt, result, finishedAt, signal.reason === SHUTDOWN, probe);
    this.#pushSettle(delivery, attempt, startedAt, result, outcome, finishedAt - startedAt, false);
    if (result.ok) this.outcomes.done++;
    else this.outcomes.failed++;
    const series = slot.series;
    if (series !== undefined) {
      (result.ok ? series.done : result.disableTarget === true ? series.disabled : outcome.state === 'failed' ? series.dead : series.retried).inc();
      series.duration.observe((finishedAt - startedAt) / 1000);
      (series.status[statusClass(result.httpStatus)] as TargetSeries['done']).inc();
    }
    const monitor = this.#o.monitor;
    if (monitor?.enabled === true) {
      monitor.record({
        kind: 'delivery',
        name: delivery.target,
        by: this.#o.nodeId,
        outcome: result.ok ? 'ok' : outcome.state === 'failed' ? 'failed' : 'retry',
        durationMs: finishedAt - startedAt,
        at: startedAt,
        detail: {
          delivery_id: delivery.id,
          attempt,
          ...(result.httpStatus === undefined ? {} : { http_status: result.httpStatus }),
          ...(result.exitCode === undefined ? {} : { exit_code: result.exitCode }),
        },
      });
    }
  }

  #decide(
    slot: Slot,
    delivery: DeliveryRecord,
    attempt: number,
    result: AttemptResult,
    now: number,
    shutdown: boolean,
    probe: boolean,
  ): Settlement {
    if (result.ok) {
      if (slot.circuitOpen) {
        slot.circuitOpen = false;
        this.#o.logger.warn({ target: slot.target.name, failures: slot.breaker.consecutiveFailures }, 'Circuit closed: the target answers again');
      }
      // Other nodes see the circuit closed at their next poll.
      if (slot.breaker.success(now)) this.#saveHealth(slot, (store) => store.saveCircuit(slot.target.name, 'closed', 0, now, this.#o.nodeId));
      slot.lastSuccessAt = now;
      if (slot.failingSince !== undefined) {
        slot.failingSince = undefined;
        this.#saveHealth(slot, (store) => store.clearFailing(slot.target.name, now));
      }
      return DONE[this.#o.keepDoneBody ?? 'full'];
    }
    const error = result.error ?? (result.httpStatus === undefined ? 'attempt failed' : `HTTP ${result.httpStatus}`);
    // A probe cut short by our shutdown, or answered with 410, says nothing of
    // the target's health: release it, or the breaker would wait for its
    // verdict forever (no attempt allowed, no reopen timer) and this node would
    // never send to the target again, even after an operator enables it.
    if (probe && (shutdown || result.disableTarget === true)) slot.breaker.release(now);
    if (shutdown) {
      // Our own shutdown cut it short: it does not use up the schedule.
      return { state: 'pending', dueAt: now, error, resetAttempts: true };
    }
    if (result.disableTarget === true) {
      this.#disableTarget(delivery.target, `${error} (delivery ${delivery.id})`, now, { cause: 'gone' });
      // The delivery waits, with the others, until the target is enabled again.
      return { state: 'pending', dueAt: now, error, resetAttempts: true };
    }
    if (slot.failingSince === undefined) {
      slot.failingSince = now;
      this.#saveHealth(slot, (store) => store.markFailing(slot.target.name, now));
    } else if (slot.disableAfterMs > 0 && now - slot.failingSince >= slot.disableAfterMs && !this.#disabled.has(delivery.target)) {
      const since = slot.failingSince;
      const reason = `no successful attempt since ${new Date(since).toISOString()} (endpoint_failure_disable_after: ${slot.disableAfterMs / 1000} s); last error: ${error} (delivery ${delivery.id})`;
      this.#disableTarget(delivery.target, reason, now, { cause: 'failing', failingSince: since, disableAfterMs: slot.disableAfterMs });
      return { state: 'pending', dueAt: now, error, resetAttempts: true };
    }
    // Logged when it opens (not again at each failed probe) and when it closes, with the failures meanwhile.
    if (slot.breaker.failure(now)) {
      slot.openedAt = now;
      const until = slot.breaker.openUntil ?? now;
      this.#saveHealth(slot, (store) => store.saveCircuit(slot.target.name, 'open', until, now, this.#o.nodeId));
      if (!slot.circuitOpen) {
        slot.circuitOpen = true;
        this.#o.logger.warn(
          { target: slot.target.name, failures: slot.breaker.consecutiveFailures, mode: slot.breaker.settings.mode, error },
          'Circuit opened: the target keeps failing; its deliveries wait for the cool-down',
        );
      }
    }
    const delay = result.retryable === false ? undefined : slot.policy.nextDelayMs(attempt, result.retryAfterMs);
    if (delay === undefined) return { state: 'failed', error };
    const dueAt = now + delay;
    if (dueAt < this.#localDueAt) this.#localDueAt = dueAt;
    return { state: 'pending', dueAt, error };
  }


  /** Disables a target (a 410, or failing too long): every node stops sending at its next poll. */
  #disableTarget(target: string, reason: string, now: number, cause: TargetDisabledCause): void {
    this.#disabled.add(target);
    this.#disabledHere.set(target, Infinity);
    void this.#o.store
      .disableTarget(target, reason, now)
      .then(() => {
        if (this.#disabledHere.get(target) === Infinity) this.#disabledHere.set(target, Date.now());
        this.#o.onTargetDisabled?.(target, reason, cause);
      })
      .catch((err: unknown) => this.#o.logger.error({ err, target }, 'Could not record a disabled target'));
  }

  /** Records a health transition (circuit, failing) in the store, off the attempt's path. */
  #saveHealth(slot: Slot, write: (store: DeliveryStore) => Promise<void>): void {
    slot.healthWriteAt = Infinity;
    write(this.#o.store).then(
      () => {
        slot.healthWriteAt = Date.now();
      },
      (err: unknown) => {
        slot.healthWriteAt = Date.now();
        this.#o.logger.warn({ err, target: slot.target.name }, 'Could not record the target health in the store; other nodes learn it later');
      },
    );
  }

  /**
   * What other nodes recorded: a circuit they opened opens here (until the
   * same time), one they closed closes here, and the failing time is the
   * store's, unless this node wrote since the read began or succeeded since.
   */
  #applyHealth(list: readonly TargetHealth[], readStarted: number): void {
    const byTarget = new Map(list.map((h) => [h.target, h]));
    this.#health = { byTarget, readStarted };
    for (const [name, slot] of this.#slots) this.#applyHealthTo(name, slot, byTarget.get(name), readStarted);
  }

  /** What the store says of one target's circuit and failing time, as of a read begun at `readStarted`. */
  #applyHealthTo(name: string, slot: Slot, health: TargetHealth | undefined, readStarted: number): void {
    if (slot.healthWriteAt >= readStarted) return;
    const circuit = health?.circuit;
    if (circuit !== undefined && circuit.nodeId !== this.#o.nodeId) {
      // A circuit whose cool-down ended long ago (nobody probed since) is not news.
      if (circuit.state === 'open' && circuit.openUntil > Date.now() && slot.breaker.adopt(circuit.openUntil)) {
        slot.circuitOpen = true;
        slot.openedAt = circuit.at;
        this.#o.logger.warn({ target: name, by: circuit.nodeId, until: new Date(circuit.openUntil).toISOString() }, 'Circuit opened by another node: its deliveries wait for the cool-down here too');
      } else if (circuit.state === 'closed' && slot.breaker.openUntil !== undefined && circuit.at >= slot.openedAt) {
        slot.breaker.close();
        slot.circuitOpen = false;
        this.#o.logger.warn({ target: name, by: circuit.nodeId }, 'Circuit closed by another node: the target answers again');
        this.due(name);
      }
    }
    const since = health?.failingSince;
    if (since === undefined) {
      slot.failingSince = undefined;
    } else if (slot.lastSuccessAt >= since) {
      // We succeeded after the failing time another node began: end it.
      slot.failingSince = undefined;
      const at = slot.lastSuccessAt;
      this.#saveHealth(slot, (store) => store.clearFailing(name, at));
    } else {
      slot.failingSince = slot.failingSince === undefined ? since : Math.min(slot.failingSince, since);
    }
  }

  #pushSettle(
    delivery: DeliveryRecord,
    attempt: number,
    startedAt: number,
    result: AttemptResult,
    outcome: Settlement,
    durationMs: number,
    unattempted: boolean,
  ): void {
    const response = clipResponse(result.response);
    const duration = wholeMs(durationMs);
    const record = isPlainSent(result, response)
      ? attemptSent(delivery.id, attempt, startedAt, duration, result, response)
      : attemptRecord(delivery.id, attempt, startedAt, duration, result, response);
    const request: SettleRequest = unattempted
      ? { deliveryId: delivery.id, nodeId: this.#o.nodeId, attempt, record, outcome, unattempted }
      : { deliveryId: delivery.id, nodeId: this.#o.nodeId, attempt, record, outcome };
    this.#settles.push(request);
    if (outcome.state !== 'pending') this.#o.onFinished?.(delivery.target);
    if (outcome.state === 'failed') {
      this.#failed.push({
        delivery: {
          id: delivery.id,
          target: delivery.target,
          event: delivery.event,
          webhookId: delivery.webhookId,
          attempts: attempt,
          state: 'failed',
          dueAt: delivery.dueAt,
          createdAt: delivery.createdAt,
          updatedAt: Date.now(),
          lastError: outcome.error,
        },
        record,
      });
    }
    if (outcome.state === 'pending') {
      const slot = this.#slots.get(delivery.target);
      const now = Date.now();
      if (slot !== undefined) {
        slot.retriedAt = now;
        if (outcome.dueAt <= now) this.#rouse(slot);
      }
      if (outcome.dueAt <= now) this.#again = true;
    }
    this.#scheduleTick();
  }

  /** Writes the recorded attempts and outcomes (one transaction per batch). */
  async flush(): Promise<void> {
    while (this.#ticking !== undefined || this.#settles.length > 0) {
      this.#settleNow = true;
      await (this.#ticking ?? this.#tick());
    }
  }

  /**
   * Stops claiming, waits up to `graceMs` for attempts in flight, aborts the
   * rest (they go back to pending without using up their schedule), and
   * records everything.
   */
  async stop(graceMs: number): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const slot of this.#slots.values()) this.#handBackReady(slot, 'not attempted: node shutting down');
    await this.#idle(graceMs);
    for (const lease of this.#leases) lease.controller.abort(SHUTDOWN);
    // Targets honour the signal; bound the wait anyway so close() always ends.
    await this.#idle(2000);
    await this.flush();
    if (this.#settleTimer !== undefined) clearTimeout(this.#settleTimer);
    for (const lease of this.#leases) clearTimeout(lease.timer);
  }
}

/**
 * A delivery attempt's span: a child of the span that enqueued the delivery
 * (its stored trace context), so an attempt hours later, after a restart,
 * still lands in the event's trace.
 */
function attemptSpan(target: DeliveryTarget, delivery: DeliveryRecord, attempt: number): Span {
  return startSpan(
    `deliver ${target.name}`,
    {
      'hookwork.delivery.id': delivery.id,
      'hookwork.delivery.target': target.name,
      'hookwork.delivery.target_kind': target.kind,
      'hookwork.delivery.attempt': attempt,
      'hookwork.webhook.id': delivery.webhookId,
    },
    SpanKind.INTERNAL,
    contextFromStored(delivery.traceContext),
  );
}

function endAttemptSpan(span: Span, result: AttemptResult): void {
  span.setAttribute('hookwork.delivery.outcome', result.ok ? 'ok' : result.retryable === true ? 'retryable' : 'failed');
  endSpan(span, result.ok ? undefined : (result.error ?? 'failed'));
}
