// The abort signal of one extension task, shared by the thread pool
// (pool.ts) and the process pool.

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
  #listener: (() => void) | undefined;

  addEventListener(_type: 'abort', listener: () => void): void {
    this.#listener = listener;
  }

  removeEventListener(): void {
    this.#listener = undefined;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listener = this.#listener;
    this.#listener = undefined;
    listener?.();
  }
}

/** A task its runtime did not run: it reached the frame past the task's deadline (`expiresAt`). The handler reports it as its timeout. */
export class TaskExpiredError extends Error {
  constructor() {
    super('The task was not run: its deadline had passed when its worker reached it.');
    this.name = 'AbortError';
  }
}
