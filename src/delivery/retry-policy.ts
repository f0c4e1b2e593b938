// When the next attempt is due: the schedule's delay with ± jitter, never
// sooner than a receiver's Retry-After (itself capped), and how many attempts
// a delivery gets (the schedule's length).

export interface RetryPolicyOptions {
  /** Delay in seconds before each attempt; the first entry is the first attempt's. */
  schedule: readonly number[];
  /** ± fraction, 0.2 = ±20 %. */
  jitter: number;
  /** Cap on a receiver's Retry-After, seconds. */
  retryAfterMax: number;
  random?: () => number;
}

export class RetryPolicy {
  readonly maxAttempts: number;
  readonly #delaysMs: readonly number[];
  readonly #jitter: number;
  readonly #retryAfterMaxMs: number;
  readonly #random: () => number;

  constructor(options: RetryPolicyOptions) {
    this.#delaysMs = options.schedule.map((s) => s * 1000);
    this.maxAttempts = this.#delaysMs.length;
    this.#jitter = options.jitter;
    this.#retryAfterMaxMs = options.retryAfterMax * 1000;
    this.#random = options.random ?? Math.random;
  }

  /** Delay before the first attempt, ms (no jitter: "immediately" means now). */
  get firstDelayMs(): number {
    return this.#delaysMs[0] ?? 0;
  }

  /**
   * Delay before attempt `attemptsMade + 1`, or undefined when the schedule
   * is exhausted and the delivery must be dead-lettered.
   */
  nextDelayMs(attemptsMade: number, retryAfterMs?: number): number | undefined {
    if (attemptsMade >= this.maxAttempts) return undefined;
    const base = this.#delaysMs[attemptsMade] ?? 0;
    const jittered = base * (1 + this.#jitter * (2 * this.#random() - 1));
    if (retryAfterMs === undefined || !(retryAfterMs > 0)) return Math.round(jittered);
    return Math.round(Math.max(jittered, Math.min(retryAfterMs, this.#retryAfterMaxMs)));
  }
}
