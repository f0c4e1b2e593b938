// Config schemas owned by the delivery layer: where deliveries are kept
// (`store`) and how they are run (`delivery`). Durations are in seconds.

import { z } from 'zod';

const STORE_URL = /^(memory|sqlite:.+|postgres(ql)?:\/\/.+)$/;

export const storeConfigSchema = z.strictObject({
  /**
   * `sqlite:<path>` (relative to the data folder; the default, one node),
   * `memory` (embedding and tests: nothing survives a restart) or a
   * `postgres://` URL (several nodes sharing the work).
   */
  url: z
    .string()
    .min(1)
    .regex(STORE_URL, 'use "memory", "sqlite:<file>" or a "postgres://user:pass@host/db" URL')
    .default('sqlite:hookwork.db'),
  /**
   * SQLite's `synchronous` pragma for accepted deliveries and operator changes.
   * `full` (default) survives power loss as well as a killed process; `normal`
   * survives a killed process only. The dispatcher's bookkeeping (claims,
   * attempts, outcomes) always commits with NORMAL: losing it to a power cut
   * only re-sends (see docs/delivery.md).
   */
  synchronous: z.enum(['full', 'normal']).default('full'),
  /** PostgreSQL connections per node. */
  pool_size: z.number().int().positive().default(10),
});

/**
 * A circuit breaker's fields without defaults: a target's own
 * `circuit_breaker` sets some of them, the rest come from
 * `delivery.circuit_breaker`.
 */
const circuitBreakerShape = {
  /**
   * `consecutive`: opens after `failures` failed attempts in a row.
   * `failure_rate`: opens when at least `min_requests` attempts ended within
   * the last `window` seconds and `failure_ratio` of them failed.
   */
  mode: z.enum(['consecutive', 'failure_rate']),
  /** Consecutive failed attempts that open a target's circuit (pauses it). 0 turns the breaker off (consecutive mode). */
  failures: z.number().int().nonnegative(),
  /** Seconds a circuit stays open before probe attempts are let through. */
  cooldown: z.number().positive(),
  /** failure_rate mode: the share of failed attempts (0 < r <= 1) that opens the circuit. */
  failure_ratio: z.number().gt(0).max(1),
  /** failure_rate mode: the sliding window, seconds. */
  window: z.number().positive(),
  /** failure_rate mode: attempts the window must hold before the ratio counts. */
  min_requests: z.number().int().positive(),
  /** Attempts let through once the cool-down is over; all must succeed to close the circuit. */
  half_open_probes: z.number().int().positive(),
};

export const circuitBreakerSchema = z.strictObject({
  mode: circuitBreakerShape.mode.default('consecutive'),
  failures: circuitBreakerShape.failures.default(10),
  cooldown: circuitBreakerShape.cooldown.default(30),
  failure_ratio: circuitBreakerShape.failure_ratio.default(0.5),
  window: circuitBreakerShape.window.default(60),
  min_requests: circuitBreakerShape.min_requests.default(20),
  half_open_probes: circuitBreakerShape.half_open_probes.default(1),
});

/** `rate_limit:` of a target: attempts started per second or per minute (one of them), cluster-wide. */
export const rateLimitSchema = z
  .strictObject({
    per_second: z.number().positive().optional(),
    per_minute: z.number().positive().optional(),
    /** Attempts that may start at once after a quiet spell (default: one second's worth, at least 1). */
    burst: z.number().int().positive().optional(),
  })
  .refine((r) => (r.per_second === undefined) !== (r.per_minute === undefined), {
    message: 'a rate limit needs exactly one of "per_second" and "per_minute"',
  });

const retryScheduleSchema = z.array(z.number().nonnegative()).min(1, 'the retry schedule needs at least one entry (the first attempt)');

/**
 * The delivery controls every queued target (command, webhook, e-mail) may
 * set for itself; unset, `delivery:` decides.
 */
export const targetDeliveryShape = {
  /** Attempts started per second or minute, across every node (see docs/delivery.md#rate-limits). */
  rate_limit: rateLimitSchema.optional(),
  /** This target's own retry schedule (seconds), instead of `delivery.retry_schedule`. */
  retry_schedule: retryScheduleSchema.optional(),
  /** This target's breaker settings, over `delivery.circuit_breaker`. */
  circuit_breaker: z.strictObject(circuitBreakerShape).partial().optional(),
  /** Seconds of failing without a single success before the target is disabled (0: never), instead of the global one. */
  endpoint_failure_disable_after: z.number().nonnegative().optional(),
};

export const retentionSchema = z.strictObject({
  /** Seconds a completed delivery is kept (default 7 days). */
  done: z.number().positive().default(7 * 24 * 3600),
  /** Seconds a failed (dead-lettered) delivery is kept (default 30 days). */
  failed: z.number().positive().default(30 * 24 * 3600),
  /** Seconds between purge runs. */
  interval: z.number().positive().default(60),
  /** Rows deleted per purge transaction (small, so dispatch never waits long). */
  batch: z.number().int().positive().default(500),
});

export const deliveryConfigSchema = z.strictObject({
  /**
   * Delay in seconds before each attempt: the first entry is the delay of the
   * first attempt (0 = immediately), the next ones the waits after each
   * failure. Its length is the number of attempts before a delivery is
   * dead-lettered. Default (Standard Webhooks): immediately, 5 s, 5 min,
   * 30 min, 2 h, 5 h, 10 h, 10 h.
   */
  retry_schedule: retryScheduleSchema.default([0, 5, 300, 1800, 7200, 18000, 36000, 36000]),
  /** Each retry delay varies by ± this fraction (0.2 = ±20 %). */
  jitter: z.number().min(0).max(1).default(0.2),
  /** Longest wait a receiver's `Retry-After` may impose, seconds. */
  retry_after_max: z.number().nonnegative().default(3600),
  /**
   * Seconds a node holds a claimed delivery. A node that dies loses its claims
   * after this; an attempt still running at the end of its lease is aborted.
   * Keep it longer than the slowest target's timeout.
   */
  lease: z.number().positive().default(120),
  /** Attempts at once per target when the target does not say. */
  concurrency: z.number().int().positive().default(8),
  /** Deliveries claimed per store round trip. */
  claim_batch: z.number().int().positive().default(128),
  /** Largest enqueue batch written in one transaction (concurrent enqueues are group-committed). */
  enqueue_batch: z.number().int().positive().default(500),
  /**
   * Back-pressure: while this many deliveries are unfinished (pending or in
   * flight) in all, new events are refused (POST /v1/events answers 503 with
   * Retry-After, host.emit rejects with HKW_ERR_BACKPRESSURE) before anything
   * is accepted. Default 1,000,000 (so neither memory nor disk fills without
   * end while a receiver is down); 0: no bound. A target's own `max_pending` bounds
   * that target alone. See docs/delivery.md#back-pressure for its accuracy
   * across nodes.
   */
  max_pending: z.number().int().nonnegative().default(1_000_000),
  /** Seconds an emit's idempotency key (Idempotency-Key, host.emit's idempotencyKey) is remembered (default 24 h). */
  idempotency_window: z.number().positive().default(24 * 3600),
  /** Seconds between store polls for work from other processes (CLI retries, other nodes). */
  poll_interval: z.number().positive().default(1),
  /** Seconds close() waits for attempts in flight before aborting them. */
  shutdown_grace: z.number().nonnegative().default(10),
  /**
   * Webhook requests go out from a thread of their own (true), so the HTTP
   * client's work leaves the thread that runs the host; false sends them from
   * the main thread; `auto` (default) chooses per request: the thread while
   * other processes leave this one a core and a half, measured every half
   * second, the main thread otherwise and on one core (src/http/sender-choice.ts).
   */
  sender_thread: z.union([z.boolean(), z.literal('auto')]).default('auto'),
  /**
   * What a delivery keeps of its event once it (and every delivery sharing
   * the event) succeeded: `full` (default) the JSON as it was; `compressed`
   * the JSON deflated (about a third of the size, read back transparently);
   * `none` nothing: its metadata and attempts stay, but show says the body
   * was not kept and it cannot be retried or replayed. Failed and pending
   * deliveries always keep their body.
   */
  keep_done_body: z.enum(['full', 'compressed', 'none']).default('full'),
  circuit_breaker: circuitBreakerSchema.default(circuitBreakerSchema.parse({})),
  /**
   * Seconds a target may fail without a single success before it is disabled
   * (Svix's endpoint_failure_disable_after; default 5 days; 0 turns it off).
   */
  endpoint_failure_disable_after: z.number().nonnegative().default(5 * 24 * 3600),
  retention: retentionSchema.default(retentionSchema.parse({})),
});

export type TargetDeliveryConfig = { readonly [K in keyof typeof targetDeliveryShape]?: z.output<(typeof targetDeliveryShape)[K]> };
export type StoreConfig = z.output<typeof storeConfigSchema>;
export type DeliveryConfig = z.output<typeof deliveryConfigSchema>;
export type DeliveryConfigInput = z.input<typeof deliveryConfigSchema>;
