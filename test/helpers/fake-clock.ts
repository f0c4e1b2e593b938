// A clock tests move by hand (the scheduler's Clock): timers fire when the
// test advances past their time, in time order, never on their own.

import type { Clock } from '../../src/schedules/clock.js';

interface Timer {
  readonly at: number;
  readonly fn: () => void;
}

export class FakeClock implements Clock {
  #now: number;
  readonly #timers = new Set<Timer>();

  constructor(start: number | string) {
    this.#now = typeof start === 'string' ? Date.parse(start) : start;
  }

  now(): number {
    return this.#now;
  }

  setTimer(fn: () => void, ms: number): () => void {
    const timer = { at: this.#now + Math.max(0, ms), fn };
    this.#timers.add(timer);
    return () => {
      this.#timers.delete(timer);
    };
  }

  /** When the earliest timer waiting is due (ms), or undefined. */
  nextAt(): number | undefined {
    let next: number | undefined;
    for (const t of this.#timers) if (next === undefined || t.at < next) next = t.at;
    return next;
  }

  /** The timers waiting, as ISO times, earliest first. */
  waiting(): string[] {
    return [...this.#timers].map((t) => t.at).sort((a, b) => a - b).map((at) => new Date(at).toISOString());
  }

  /** Moves to `to` (ISO or ms), firing each timer due by then at its own time, earliest first. */
  advanceTo(to: number | string): void {
    const end = typeof to === 'string' ? Date.parse(to) : to;
    for (;;) {
      let due: Timer | undefined;
      for (const t of this.#timers) if (t.at <= end && (due === undefined || t.at < due.at)) due = t;
      if (due === undefined) break;
      this.#timers.delete(due);
      this.#now = Math.max(this.#now, due.at);
      due.fn();
    }
    this.#now = Math.max(this.#now, end);
  }
}
