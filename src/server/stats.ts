// The console's one-hour series: events emitted and delivery attempts done
// and failed on this node, per interval (10 s by default, 360 points). The
// counters are plain numbers bumped where the work happens (an emit stage
// here, two fields in the dispatcher); a timer (unref'd) reads them once per
// interval into a fixed ring, so nothing is allocated per event.

import type { Host } from '../host.js';

/** One interval of the series. */
export interface StatsPoint {
  /** When the interval started (ms since the epoch). */
  readonly at: number;
  readonly events: number;
  readonly done: number;
  readonly failed: number;
}

/** Points kept: one hour of 10 s intervals. */
export const STATS_POINTS = 360;

export class StatsSampler {
  readonly intervalMs: number;
  #events = 0;
  readonly #outcomes: () => Readonly<{ done: number; failed: number }> | undefined;
  readonly #ring: StatsPoint[] = [];
  #next = 0;
  #last = { events: 0, done: 0, failed: 0, at: Date.now() };
  #timer: NodeJS.Timeout | undefined;
  #removeStage: (() => void) | undefined;

  constructor(host: Host, outcomes: () => Readonly<{ done: number; failed: number }> | undefined, intervalMs: number) {
    this.intervalMs = intervalMs;
    this.#outcomes = outcomes;
    this.#removeStage = host.addEmitStage(() => {
      this.#events++;
    });
    const now = this.#outcomes();
    this.#last = { events: 0, done: now?.done ?? 0, failed: now?.failed ?? 0, at: Date.now() };
    this.#timer = setInterval(() => this.sample(), intervalMs);
    this.#timer.unref();
  }

  /** Closes the interval in progress into the series. */
  sample(now = Date.now()): void {
    const outcomes = this.#outcomes();
    const done = outcomes?.done ?? this.#last.done;
    const failed = outcomes?.failed ?? this.#last.failed;
    const point: StatsPoint = {
      at: this.#last.at,
      events: this.#events - this.#last.events,
      // A delivery service replaced by a restart of it starts from zero: never a negative count.
      done: Math.max(0, done - this.#last.done),
      failed: Math.max(0, failed - this.#last.failed),
    };
    if (this.#ring.length < STATS_POINTS) this.#ring.push(point);
    else this.#ring[this.#next] = point;
    this.#next = (this.#next + 1) % STATS_POINTS;
    this.#last = { events: this.#events, done, failed, at: now };
  }

  /** The closed intervals, oldest first. */
  series(): StatsPoint[] {
    if (this.#ring.length < STATS_POINTS) return this.#ring.slice();
    return [...this.#ring.slice(this.#next), ...this.#ring.slice(0, this.#next)];
  }

  close(): void {
    clearInterval(this.#timer);
    this.#removeStage?.();
    this.#removeStage = undefined;
  }
}
