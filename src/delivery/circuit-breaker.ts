// A per-target circuit breaker: after `failures` consecutive failed attempts
// the target is paused (open) for `cooldownMs`; then one probe goes through
// (half-open); a success closes it, a failure opens it again.

export type CircuitState = 'closed' | 'open' | 'half-open';

export class CircuitBreaker {
  readonly #threshold: number;
  readonly #cooldownMs: number;
  #failures = 0;
  #openUntil = 0;
  #open = false;
  #probing = false;

  /** `failures` 0 turns the breaker off. */
  constructor(failures: number, cooldownMs: number) {
    this.#threshold = failures;
    this.#cooldownMs = cooldownMs;
  }

  state(now: number): CircuitState {
    if (!this.#open) return 'closed';
    return now < this.#openUntil ? 'open' : 'half-open';
  }

  /** How many attempts may start now, given the target's own free slots. */
  allowance(now: number, free: number): number {
    if (!this.#open) return free;
    if (now < this.#openUntil || this.#probing) return 0;
    return Math.min(1, free);
  }

  /** When an open circuit lets its probe through (ms), or undefined. */
  get reopensAt(): number | undefined {
    return this.#open && !this.#probing ? this.#openUntil : undefined;
  }

  /** Call when an attempt starts while half-open: it is the probe. */
  started(now: number): void {
    if (this.#open && now >= this.#openUntil) this.#probing = true;
  }

  success(): void {
    this.#failures = 0;
    this.#open = false;
    this.#probing = false;
  }

  /**
   * Ends a half-open probe without a verdict (shutdown, or the target was
   * disabled): the circuit stays open with its cool-down over, so the next
   * attempt is a fresh probe. Counts nothing.
   */
  release(now: number): void {
    if (!this.#probing) return;
    this.#probing = false;
    this.#openUntil = now;
  }

  /** Returns true when this failure opened (or re-opened) the circuit. */
  failure(now: number): boolean {
    this.#failures += 1;
    if (this.#threshold === 0) return false;
    if (this.#probing || (!this.#open && this.#failures >= this.#threshold)) {
      this.#open = true;
      this.#probing = false;
      this.#openUntil = now + this.#cooldownMs;
      return true;
    }
    return false;
  }

  get consecutiveFailures(): number {
    return this.#failures;
  }
}
