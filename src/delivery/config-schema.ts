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

export const circuitBreakerSchema = z.strictObject({
  /** Consecutive failed attempts that open a target's circuit (pauses it). 0 turns the breaker off. */
  failures: z.number().int().nonnegative().default(10),
  /** Seconds a circuit stays open before one probe attempt is let through. */
  cooldown: z.number().positive().default(30),
});

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
  retry_schedule: z
    .array(z.number().nonnegative())
    .min(1, 'the retry schedule needs at least one entry (the first attempt)')
    .default([0, 5, 300, 1800, 7200, 18000, 36000, 36000]),
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
  /** Seconds between store polls for work from other processes (CLI retries, other nodes). */
  poll_interval: z.number().positive().default(1),
  /** Seconds close() waits for attempts in flight before aborting them. */
  shutdown_grace: z.number().nonnegative().default(10),
  /**
   * Webhook requests go out from a thread of their own (true), so the HTTP
   * client's work leaves the thread that runs the host; false sends them from
   * the main thread; `auto` (default) uses the thread on 3 cores or more
   * (availableParallelism()), the main thread below (src/http/sender-choice.ts).
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
  retention: retentionSchema.default(retentionSchema.parse({})),
});

export type StoreConfig = z.output<typeof storeConfigSchema>;
export type DeliveryConfig = z.output<typeof deliveryConfigSchema>;
export type DeliveryConfigInput = z.input<typeof deliveryConfigSchema>;
