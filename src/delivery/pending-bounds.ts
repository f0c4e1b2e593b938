// Back-pressure: `delivery.max_pending` (unfinished deliveries in all) and a
// target's `max_pending`. The queue refuses a new event's deliveries while a
// bound is reached, before anything is accepted; nothing accepted is dropped.
// The check must cost nothing per emit, so the counts are kept here, in
// memory: +1 per delivery this node enqueues, -1 per delivery it finishes
// (done or dead-lettered), and set again from the store's unfinished rows every few
// seconds, which brings in what other nodes (and operators' retries and
// replays) changed meanwhile.

import { BackpressureError } from '../errors.js';
import type { TargetOpen } from './store.js';
import type { NewDelivery } from './types.js';

export class PendingBounds {
  readonly #maxTotal: number;
  readonly #targetMax = new Map<string, number>();
  readonly #byTarget = new Map<string, number>();
  #total = 0;
  /** Seconds a refused caller is asked to wait (Retry-After). */
  readonly retryAfter: number;

  constructor(maxTotal: number, retryAfter: number) {
    this.#maxTotal = maxTotal;
    this.retryAfter = retryAfter;
  }

  /** Some bound is set: only then are deliveries counted. */
  get active(): boolean {
    return this.#maxTotal > 0 || this.#targetMax.size > 0;
  }

  /** Unfinished deliveries as this node counts them, in all. */
  get total(): number {
    return this.#total;
  }

  pendingOf(target: string): number {
    return this.#byTarget.get(target) ?? 0;
  }

  bound(target: string, maxPending: number): () => void {
    this.#targetMax.set(target, maxPending);
    return () => {
      if (this.#targetMax.get(target) === maxPending) this.#targetMax.delete(target);
    };
  }

  /** Throws when the queue, or a target of these deliveries, holds its bound already. */
  admit(deliveries: readonly NewDelivery[]): void {
    if (this.#maxTotal > 0 && this.#total >= this.#maxTotal) throw new BackpressureError(undefined, this.#maxTotal, this.retryAfter);
    if (this.#targetMax.size === 0) return;
    for (const d of deliveries) {
      const max = this.#targetMax.get(d.target);
      if (max !== undefined && (this.#byTarget.get(d.target) ?? 0) >= max) throw new BackpressureError(d.target, max, this.retryAfter);
    }
  }

  added(target: string): void {
    this.#total++;
    this.#byTarget.set(target, (this.#byTarget.get(target) ?? 0) + 1);
  }

  finished(target: string): void {
    if (this.#total > 0) this.#total--;
    const n = this.#byTarget.get(target);
    if (n !== undefined && n > 0) this.#byTarget.set(target, n - 1);
  }

  /** The store's counts (pending and in flight per target): what every node's enqueues and settles left. */
  reset(depths: readonly TargetOpen[]): void {
    this.#byTarget.clear();
    this.#total = 0;
    for (const d of depths) {
      const n = d.pending + d.inflight;
      this.#byTarget.set(d.target, n);
      this.#total += n;
    }
  }
}
