// A per-target circuit breaker, in one of two modes:
// - consecutive: after `failures` failed attempts in a row the target is
//   paused (open) for the cool-down;
// - failure_rate (Convoy, Svix): it opens when, over a sliding window, at
//   least `minRequests` attempts ended and `failureRatio` of them failed.
// After the cool-down `halfOpenProbes` attempts go through (half-open): when
// they all succeed the circuit closes, a failure opens it again.
// Another node's verdict arrives through adopt() and close() (the state is
// shared through the store, see dispatcher.ts).

import type { BreakerSettings } from './types.js';

export type CircuitState = 'closed' | 'open' | 'half-open';

/** The window is kept as this many buckets (one count per bucket, not one entry per attempt). */
const BUCKETS = 10;

const DEFAULTS: BreakerSettings = {
  mode: 'consecutive',
  failures: 10,
  cooldownMs: 30_000,
  failureRatio: 0.5,
  windowMs: 60_000,
  minRequests: 20,
  halfOpenProbes: 1,
};

export class CircuitBreaker {
  readonly settings: BreakerSettings;
  #failures = 0;
  #openUntil = 0;
  #open = false;
  /** Probes started and not ended yet. */
  #probing = 0;
  /** Probes that succeeded since the cool-down ended. */
  #probeSuccesses = 0;
  // failure_rate: each bucket's start time, attempts and failures.
  readonly #bucketStart: number[] = [];
  readonly #bucketTotal: number[] = [];
  readonly #bucketFailed: number[] = [];

  /** `failures` 0 turns a consecutive breaker off. */
  constructor(failures: number, cooldownMs: number);
  constructor(settings: Partial<BreakerSettings>);
  constructor(a: number | Partial<BreakerSettings>, cooldownMs?: number) {
    this.settings = typeof a === 'number' ? { ...DEFAULTS, failures: a, cooldownMs: cooldownMs ?? DEFAULTS.cooldownMs } : { ...DEFAULTS, ...a };
    if (this.settings.mode === 'failure_rate') {
      for (let i = 0; i < BUCKETS; i++) {
        this.#bucketStart.push(-Infinity);
        this.#bucketTotal.push(0);
        this.#bucketFailed.push(0);
      }
    }
  }

  state(now: number): CircuitState {
    if (!this.#open) return 'closed';
    return now < this.#openUntil ? 'open' : 'half-open';
  }

  /** How many attempts may start now, given the target's own free slots. */
  allowance(now: number, free: number): number {
    if (!this.#open) return free;
    if (now < this.#openUntil) return 0;
    return Math.max(0, Math.min(this.settings.halfOpenProbes - this.#probing - this.#probeSuccesses, free));
  }

  /** When an open circuit lets its probes through (ms), or undefined. */
  get reopensAt(): number | undefined {
    return this.#open && this.#probing === 0 ? this.#openUntil : undefined;
  }

  /** Until when it is open (ms), while open or half-open. */
  get openUntil(): number | undefined {
    return this.#open ? this.#openUntil : undefined;
  }

  /** Call when an attempt starts while half-open: it is a probe. */
  started(now: number): void {
    if (this.#open && now >= this.#openUntil) this.#probing += 1;
  }

  /** Returns true when this success closed the circuit. */
  success(now = Date.now()): boolean {
    this.#failures = 0;
    this.#count(now, false);
    if (!this.#open) return false;
    if (this.#probing > 0) this.#probing -= 1;
    this.#probeSuccesses += 1;
    if (this.#probeSuccesses < this.settings.halfOpenProbes) return false;
    this.close();
    return true;
  }

  /**
   * Ends a half-open probe without a verdict (shutdown, or the target was
   * disabled): the circuit stays open with its cool-down over, so the next
   * attempt is a fresh probe. Counts nothing.
   */
  release(now: number): void {
    if (this.#probing === 0) return;
    this.#probing -= 1;
    this.#openUntil = Math.min(this.#openUntil, now);
  }

  /** Returns true when this failure opened (or re-opened) the circuit. */
  failure(now: number): boolean {
    this.#failures += 1;
    this.#count(now, true);
    if (this.#probing > 0 || (this.#open && now >= this.#openUntil)) {
      // A failed probe: open again for a full cool-down.
      this.#openFor(now + this.settings.cooldownMs);
      return true;
    }
    if (this.#open || !this.#trips(now)) return false;
    this.#openFor(now + this.settings.cooldownMs);
    return true;
  }

  /** Another node opened the circuit until `until`: open here too (an earlier verdict here stands). */
  adopt(until: number): boolean {
    if (this.#open && this.#openUntil >= until) return false;
    if (this.#probing > 0) return false; // our own probes decide
    this.#openFor(until);
    return true;
  }

  /** Closed (here, or by another node's probes). */
  close(): void {
    this.#open = false;
    this.#probing = 0;
    this.#probeSuccesses = 0;
    this.#failures = 0;
    for (let i = 0; i < this.#bucketTotal.length; i++) {
      this.#bucketTotal[i] = 0;
      this.#bucketFailed[i] = 0;
    }
  }

  get consecutiveFailures(): number {
    return this.#failures;
  }

  /** failure_rate: attempts and failures in the window now. */
  windowCounts(now: number): { total: number; failed: number } {
    let total = 0;
    let failed = 0;
    const from = now - this.settings.windowMs;
    for (let i = 0; i < this.#bucketStart.length; i++) {
      if ((this.#bucketStart[i] as number) <= from) continue;
      total += this.#bucketTotal[i] as number;
      failed += this.#bucketFailed[i] as number;
    }
    return { total, failed };
  }

  #openFor(until: number): void {
    this.#open = true;
    this.#probing = 0;
    this.#probeSuccesses = 0;
    this.#openUntil = until;
  }

  #trips(now: number): boolean {
    const s = this.settings;
    if (s.mode === 'consecutive') return s.failures > 0 && this.#failures >= s.failures;
    const { total, failed } = this.windowCounts(now);
    return total >= s.minRequests && failed >= s.failureRatio * total;
  }

  #count(now: number, failed: boolean): void {
    if (this.#bucketStart.length === 0) return;
    const width = this.settings.windowMs / BUCKETS;
    const slot = Math.floor(now / width);
    const i = slot % BUCKETS;
    const start = slot * width;
    if (this.#bucketStart[i] !== start) {
      this.#bucketStart[i] = start;
      this.#bucketTotal[i] = 0;
      this.#bucketFailed[i] = 0;
    }
    this.#bucketTotal[i] = (this.#bucketTotal[i] as number) + 1;
    if (failed) this.#bucketFailed[i] = (this.#bucketFailed[i] as number) + 1;
  }
}
