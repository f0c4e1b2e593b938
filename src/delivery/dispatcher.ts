// The dispatcher: claims due deliveries for the targets registered on this
// node, runs one attempt each with per-target concurrency and a circuit
// breaker, records every attempt and settles the delivery (done, next attempt,
// dead letter). Claims and settlements are batched: one store round trip
// serves many attempts.

import { toError } from '../errors.js';
import type { Monitor } from '../hooks/monitor.js';
import type { Logger } from '../logger.js';
import { CircuitBreaker } from './circuit-breaker.js';
import type { RetryPolicy } from './retry-policy.js';
import { clipResponse, type DeliveryStore, type Settlement, type SettleRequest } from './store.js';
import type { AttemptRecord, AttemptResult, DeliveryRecord, DeliveryTarget } from './types.js';

export interface DispatcherOptions {
  readonly store: DeliveryStore;
  readonly nodeId: string;
  readonly policy: RetryPolicy;
  readonly leaseMs: number;
  /** Attempts at once for a target that does not say. */
  readonly defaultConcurrency: number;
  readonly claimBatch: number;
  readonly pollMs: number;
  readonly breakerFailures: number;
  readonly breakerCooldownMs: number;
  readonly logger: Logger;
  readonly monitor?: Monitor;
  /** A delivery was dead-lettered (after the store recorded it). */
  readonly onFailed?: (delivery: DeliveryRecord, attempt: AttemptRecord) => void;
  /** A target answered 410 and was disabled (after the store recorded it). */
  readonly onTargetDisabled?: (target: string, reason: string) => void;
}

interface Slot {
  readonly target: DeliveryTarget;
  readonly limit: number;
  readonly breaker: CircuitBreaker;
  running: number;
}

const SHUTDOWN = Symbol('shutdown');

export class Dispatcher {
  readonly #o: DispatcherOptions;
  readonly #slots = new Map<string, Slot>();
  #disabled = new Set<string>();
  readonly #running = new Set<Promise<void>>();
  readonly #controllers = new Set<AbortController>();
  #settles: SettleRequest[] = [];
  #failed: Array<{ delivery: DeliveryRecord; record: AttemptRecord }> = [];
  #flushing: Promise<void> | undefined;
  #flushScheduled = false;
  #pumping = false;
  #again = false;
  #wakeScheduled = false;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  #localDueAt = Infinity;
  #lastDisabledRefresh = 0;
  #started = false;
  #stopping = false;

  constructor(options: DispatcherOptions) {
    this.#o = options;
  }

  /** Attempts in flight on this node. */
  get inflight(): number {
    return this.#running.size;
  }

  registerTarget(target: DeliveryTarget): () => void {
    const slot: Slot = {
      target,
      limit: Math.max(1, target.concurrency ?? this.#o.defaultConcurrency),
      breaker: new CircuitBreaker(this.#o.breakerFailures, this.#o.breakerCooldownMs),
      running: 0,
    };
    this.#slots.set(target.name, slot);
    this.wake();
    return () => {
      if (this.#slots.get(target.name) === slot) this.#slots.delete(target.name);
    };
  }

  /** Circuit state of each registered target, for depth reports. */
  circuits(now = Date.now()): Map<string, { state: string; consecutiveFailures: number; running: number; limit: number }> {
    const out = new Map<string, { state: string; consecutiveFailures: number; running: number; limit: number }>();
    for (const [name, slot] of this.#slots) {
      out.set(name, {
        state: slot.breaker.state(now),
        consecutiveFailures: slot.breaker.consecutiveFailures,
        running: slot.running,
        limit: slot.limit,
      });
    }
    return out;
  }

  setDisabled(targets: Iterable<string>): void {
    this.#disabled = new Set(targets);
    this.wake();
  }

  async start(): Promise<void> {
    this.#started = true;
    await this.#refreshDisabled();
    this.wake();
  }

  /** Looks for work soon (coalesced: many wakes in one tick make one claim). */
  wake(): void {
    if (!this.#started || this.#stopping || this.#wakeScheduled) return;
    this.#wakeScheduled = true;
    setImmediate(() => {
      this.#wakeScheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    if (this.#stopping) return;
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = true;
    void this.#pumpLoop().finally(() => {
      this.#pumping = false;
      this.#arm();
    });
  }

  async #pumpLoop(): Promise<void> {
    do {
      this.#again = false;
      const now = Date.now();
      if (now - this.#lastDisabledRefresh >= this.#o.pollMs) await this.#refreshDisabled();
      const capacity = new Map<string, number>();
      let total = 0;
      for (const [name, slot] of this.#slots) {
        if (this.#disabled.has(name)) continue;
        const free = Math.min(slot.breaker.allowance(now, slot.limit - slot.running), this.#o.claimBatch);
        // Claim in chunks (a quarter of the slots at least) so one store round trip serves many attempts.
        if (free > 0 && (slot.running === 0 || free >= Math.ceil(slot.limit / 4))) {
          capacity.set(name, free);
          total += free;
        }
      }
      if (total === 0) return;
      let claimed: DeliveryRecord[];
      try {
        claimed = await this.#o.store.claim({ nodeId: this.#o.nodeId, now, leaseMs: this.#o.leaseMs, capacity });
      } catch (err) {
        this.#o.logger.error({ err }, 'Claiming deliveries failed; retrying at the next poll');
        return;
      }
      if (this.#stopping) {
        // Claimed while shutting down: hand them straight back, unused.
        const at = Date.now();
        for (const d of claimed) {
          this.#queueSettle(d, undefined, at, { ok: false, error: 'node shutting down' }, { state: 'pending', dueAt: at, resetAttempts: true });
        }
        return;
      }
      for (const delivery of claimed) this.#start(delivery);
      if (claimed.length === total) this.#again = true;
    } while (this.#again && !this.#stopping);
  }

  async #refreshDisabled(): Promise<void> {
    this.#lastDisabledRefresh = Date.now();
    try {
      const list = await this.#o.store.disabledTargets();
      this.#disabled = new Set(list.map((d) => d.target));
    } catch (err) {
      this.#o.logger.warn({ err }, 'Could not read the disabled targets');
    }
  }

  /** Sets the one timer to the next moment something may be due: a retry, a breaker probe, or the poll. */
  #arm(): void {
    if (this.#stopping) return;
    const now = Date.now();
    let at = now + this.#o.pollMs;
    if (this.#localDueAt < at) at = Math.max(this.#localDueAt, now);
    for (const slot of this.#slots.values()) {
      const reopens = slot.breaker.reopensAt;
      if (reopens !== undefined && reopens < at) at = Math.max(reopens, now);
    }
    if (this.#timer !== undefined) {
      if (this.#timerAt <= at) return;
      clearTimeout(this.#timer);
    }
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      if (this.#localDueAt <= Date.now()) this.#localDueAt = Infinity;
      this.#pump();
    }, at - now);
    this.#timer.unref();
  }

  #start(delivery: DeliveryRecord): void {
    const slot = this.#slots.get(delivery.target);
    if (slot === undefined) {
      // Unregistered between claim and start: give it back at once.
      this.#queueSettle(delivery, undefined, Date.now(), {
        ok: false,
        error: 'target unregistered on this node',
      }, { state: 'pending', dueAt: Date.now(), resetAttempts: true });
      return;
    }
    slot.running += 1;
    slot.breaker.started(Date.now());
    const run = this.#run(slot, delivery);
    this.#running.add(run);
    void run.finally(() => {
      this.#running.delete(run);
      slot.running -= 1;
      this.wake();
    });
  }

  async #run(slot: Slot, delivery: DeliveryRecord): Promise<void> {
    const attempt = delivery.attempts + 1;
    const controller = new AbortController();
    this.#controllers.add(controller);
    const lease = setTimeout(() => controller.abort(new Error(`the lease of ${this.#o.leaseMs} ms ended`)), this.#o.leaseMs);
    lease.unref();
    const startedAt = Date.now();
    let result: AttemptResult;
    try {
      result = await slot.target.attempt(delivery, { webhookId: delivery.webhookId, attempt, signal: controller.signal });
    } catch (err) {
      result = { ok: false, retryable: true, error: toError(err).message };
    } finally {
      clearTimeout(lease);
      this.#controllers.delete(controller);
    }
    const finishedAt = Date.now();
    const outcome = this.#decide(slot, delivery, attempt, result, finishedAt, controller.signal.reason === SHUTDOWN);
    this.#queueSettle(delivery, attempt, startedAt, result, outcome, finishedAt - startedAt);
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

  #decide(slot: Slot, delivery: DeliveryRecord, attempt: number, result: AttemptResult, now: number, shutdown: boolean): Settlement {
    if (result.ok) {
      slot.breaker.success();
      return { state: 'done' };
    }
    const error = result.error ?? (result.httpStatus === undefined ? 'attempt failed' : `HTTP ${result.httpStatus}`);
    if (shutdown) {
      // Our own shutdown cut it short: it does not use up the schedule.
      return { state: 'pending', dueAt: now, error, resetAttempts: true };
    }
    if (result.disableTarget === true) {
      const reason = `${error} (delivery ${delivery.id})`;
      this.#disabled.add(delivery.target);
      void this.#o.store
        .disableTarget(delivery.target, reason, now)
        .then(() => this.#o.onTargetDisabled?.(delivery.target, reason))
        .catch((err: unknown) => this.#o.logger.error({ err, target: delivery.target }, 'Could not record a disabled target'));
      // The delivery waits, with the others, until the target is enabled again.
      return { state: 'pending', dueAt: now, error, resetAttempts: true };
    }
    slot.breaker.failure(now);
    const delay = result.retryable === false ? undefined : this.#o.policy.nextDelayMs(attempt, result.retryAfterMs);
    if (delay === undefined) return { state: 'failed', error };
    const dueAt = now + delay;
    if (dueAt < this.#localDueAt) this.#localDueAt = dueAt;
    return { state: 'pending', dueAt, error };
  }

  #queueSettle(
    delivery: DeliveryRecord,
    attempt: number | undefined,
    startedAt: number,
    result: AttemptResult,
    outcome: Settlement,
    durationMs = 0,
  ): void {
    const number = attempt ?? delivery.attempts + 1;
    const response = clipResponse(result.response);
    const record: AttemptRecord = {
      deliveryId: delivery.id,
      attempt: number,
      startedAt,
      durationMs,
      ok: result.ok,
      ...(result.retryable === undefined ? {} : { retryable: result.retryable }),
      ...(result.retryAfterMs === undefined ? {} : { retryAfterMs: result.retryAfterMs }),
      ...(result.disableTarget === undefined ? {} : { disableTarget: result.disableTarget }),
      ...(result.httpStatus === undefined ? {} : { httpStatus: result.httpStatus }),
      ...(result.exitCode === undefined ? {} : { exitCode: result.exitCode }),
      ...(response === undefined ? {} : { response }),
      ...(result.error === undefined ? {} : { error: result.error }),
    };
    this.#settles.push({ deliveryId: delivery.id, nodeId: this.#o.nodeId, attempt: number, record, outcome });
    if (outcome.state === 'failed') this.#failed.push({ delivery: { ...delivery, attempts: number, state: 'failed', lastError: outcome.error }, record });
    if (outcome.state === 'pending' && outcome.dueAt <= Date.now()) this.wake();
    if (!this.#flushScheduled && this.#flushing === undefined) {
      this.#flushScheduled = true;
      setImmediate(() => {
        this.#flushScheduled = false;
        void this.flush();
      });
    }
  }

  /** Writes the recorded attempts and outcomes (one transaction per batch). */
  flush(): Promise<void> {
    this.#flushing ??= (async () => {
      while (this.#settles.length > 0) {
        const batch = this.#settles;
        const failed = this.#failed;
        this.#settles = [];
        this.#failed = [];
        try {
          await this.#o.store.settle(batch);
        } catch (err) {
          // The claims stay in flight and are taken again after their lease: at-least-once holds.
          this.#o.logger.error({ err, count: batch.length }, 'Recording delivery attempts failed; they will be retried after the lease');
          continue;
        }
        for (const f of failed) {
          try {
            this.#o.onFailed?.(f.delivery, f.record);
          } catch (err) {
            this.#o.logger.error({ err }, 'The delivery-failed listener threw');
          }
        }
      }
    })().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
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
    if (this.#running.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.#running]),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, graceMs);
        }),
      ]);
      clearTimeout(timer);
    }
    for (const controller of this.#controllers) controller.abort(SHUTDOWN);
    if (this.#running.size > 0) {
      // Targets honour the signal; bound the wait anyway so close() always ends.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.#running]),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, 2000);
        }),
      ]);
      clearTimeout(timer);
    }
    while (this.#pumping) await new Promise((resolve) => setImmediate(resolve));
    await this.flush();
  }
}
