// What the scheduler reads the time from and waits with. The system clock in
// production; tests pass a fake one (test/helpers/fake-clock.ts) and move it
// by hand, so a schedule's ticks are tested without waiting for them.

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` once after about `ms`; returns what cancels it. */
  setTimer(fn: () => void, ms: number): () => void;
}

/** setTimeout's longest delay: a longer one fires at once (Node clamps it to 1 ms). */
const MAX_DELAY_MS = 2_147_483_647;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    // The scheduler checks the time when the timer fires and waits again when it is early.
    const timer = setTimeout(fn, Math.min(Math.max(0, ms), MAX_DELAY_MS));
    // The gateway keeps the process alive, not a schedule's next tick.
    timer.unref();
    return () => clearTimeout(timer);
  },
};
