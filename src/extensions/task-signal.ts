// The abort signal of one extension task, shared by the thread pool
// (pool.ts) and the process pool.

/** Who onAbort() calls, with the token it was given. */
export interface AbortTarget<T> {
  abortedTask(token: T): void;
}

/**
 * A minimal abort signal for one task: the pools only need `aborted`,
 * `reason` and one listener, and this is cheaper than an AbortController
 * on the per-event path.
 */
export class TaskSignal {
  aborted = false;
  reason: unknown = undefined;
  /**
   * When the task's limit passes, ms since the Unix epoch (0: none). A
   * process pool sends it with the frame, so a runtime that reaches the
   * frame later skips it (answers `expired`) instead of running it.
   */
  expiresAt = 0;
  /** onAbort's listener and token (one at a time). */
  #target: AbortTarget<never> | undefined;
  #token: unknown;

  /**
   * The listener, without a closure: `target.abortedTask(token)` is called
   * on abort. A pool's listener is one object for all its tasks, and
   * the token what it already holds per task (its queue entry), where a
   * closure per task is two more objects that live as long as the task is
   * in flight (a thousand of them, through every young-generation collection
   * of a burst).
   */
  onAbort<T>(target: AbortTarget<T>, token: T): void {
    this.#target = target as AbortTarget<never>;
    this.#token = token;
  }

  /** Drops onAbort's listener if it is still the one given `token` (a later onAbort's is kept). */
  offAbort(token: unknown): void {
    if (this.#target === undefined || this.#token !== token) return;
    this.#target = undefined;
    this.#token = undefined;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const target = this.#target;
    const token = this.#token;
    this.#target = undefined;
    this.#token = undefined;
    target?.abortedTask(token as never);
  }
}

/** A task its runtime did not run: it reached the frame past the task's deadline (`expiresAt`). The handler reports it as its timeout. */
export class TaskExpiredError extends Error {
  constructor() {
    super('The task was not run: its deadline had passed when its worker reached it.');
    this.name = 'AbortError';
  }
}
