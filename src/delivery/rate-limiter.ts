// A target's rate limit (`rate_limit:`): a token bucket, `perSecond` tokens
// a second up to `burst`; an attempt starts only with a token.
// - One node (memory, SQLite): the bucket is in memory, exact.
// - Several nodes (PostgreSQL): the bucket is a row of the store, and a node
//   takes tokens from it in small batches (at most a tenth of a second's
//   worth, and no more than it has deliveries waiting for) with one
//   statement, never one per delivery. Tokens it took and did not use within
//   TOKEN_TTL_MS are dropped, so cluster-wide a target gets at most
//   `burst + perSecond × (T + 0.25 s)` attempts in any T seconds (the
//   tolerance docs/delivery.md states); dropped tokens only ever slow it.

import type { RateLimit } from './types.js';

/** How long tokens taken from the store stay usable on this node. */
const TOKEN_TTL_MS = 250;
/** A batch of tokens is at most this much time's worth. */
const BATCH_MS = 100;
/** A local bucket is looked at again when this much time's worth is there (few claims for a busy target). */
const LOCAL_CHUNK_MS = 50;

/** Takes up to `want` tokens from the shared bucket; resolves with how many it got. */
type TokenSource = (want: number, limit: RateLimit) => Promise<number>;

export interface RateLimiter {
  readonly limit: RateLimit;
  /** Deliveries that may be claimed now, with `waiting` claimed and not started yet. */
  claimable(now: number, waiting: number): number;
  /** Takes a token to start an attempt now; false when there is none (ask again at nextAt()). */
  take(now: number, waiting: number): boolean;
  /** When to look again after claimable() or take() said no (ms; Infinity: a refill will wake the dispatcher). */
  nextAt(now: number): number;
}

export function createRateLimiter(limit: RateLimit, source: TokenSource | undefined, onRefill: () => void, onError: (err: unknown) => void): RateLimiter {
  return source === undefined ? new LocalBucket(limit) : new SharedBucket(limit, source, onRefill, onError);
}

class LocalBucket implements RateLimiter {
  readonly limit: RateLimit;
  readonly #perMs: number;
  #tokens: number;
  #at = -Infinity;

  constructor(limit: RateLimit) {
    this.limit = limit;
    this.#perMs = limit.perSecond / 1000;
    this.#tokens = limit.burst;
  }

  #refill(now: number): number {
    if (now > this.#at) {
      this.#tokens = this.#at === -Infinity ? this.limit.burst : Math.min(this.limit.burst, this.#tokens + (now - this.#at) * this.#perMs);
      this.#at = now;
    }
    return this.#tokens;
  }

  claimable(now: number, waiting: number): number {
    return Math.max(0, Math.floor(this.#refill(now)) - waiting);
  }

  take(now: number): boolean {
    if (this.#refill(now) < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  nextAt(now: number): number {
    const want = Math.min(this.limit.burst, Math.max(1, this.limit.perSecond * (LOCAL_CHUNK_MS / 1000)));
    const missing = want - this.#refill(now);
    return missing <= 0 ? now : now + Math.ceil(missing / this.#perMs);
  }
}

class SharedBucket implements RateLimiter {
  readonly limit: RateLimit;
  readonly #source: TokenSource;
  readonly #onRefill: () => void;
  readonly #onError: (err: unknown) => void;
  readonly #batch: number;
  #tokens = 0;
  #expires = 0;
  #asking = false;
  /** After an empty answer, the next ask waits until then. */
  #retryAt = 0;

  constructor(limit: RateLimit, source: TokenSource, onRefill: () => void, onError: (err: unknown) => void) {
    this.limit = limit;
    this.#source = source;
    this.#onRefill = onRefill;
    this.#onError = onError;
    this.#batch = Math.max(1, Math.min(limit.burst, Math.ceil(limit.perSecond * (BATCH_MS / 1000))));
  }

  #held(now: number): number {
    if (now >= this.#expires) this.#tokens = 0;
    return this.#tokens;
  }

  claimable(now: number, waiting: number): number {
    const held = this.#held(now);
    // Nothing held: claim one batch at most, then ask the store for tokens for what was claimed.
    if (held === 0) return waiting === 0 ? this.#batch : 0;
    return Math.max(0, held - waiting);
  }

  take(now: number, waiting: number): boolean {
    if (this.#held(now) > 0) {
      this.#tokens -= 1;
      return true;
    }
    this.#ask(now, Math.max(1, waiting));
    return false;
  }

  nextAt(now: number): number {
    return this.#asking ? Infinity : Math.max(now, this.#retryAt);
  }

  #ask(now: number, waiting: number): void {
    if (this.#asking || now < this.#retryAt) return;
    this.#asking = true;
    this.#source(Math.min(this.#batch, waiting), this.limit).then(
      (got) => {
        const at = Date.now();
        this.#asking = false;
        if (got > 0) {
          this.#tokens = got;
          this.#expires = at + TOKEN_TTL_MS;
        } else {
          // Empty: the bucket refills one token in 1/perSecond s; ask again then (at least 10 ms on).
          this.#retryAt = at + Math.max(10, Math.ceil(1000 / this.limit.perSecond));
        }
        this.#onRefill();
      },
      (err: unknown) => {
        this.#asking = false;
        this.#retryAt = Date.now() + 1000;
        this.#onError(err);
        this.#onRefill();
      },
    );
  }
}
