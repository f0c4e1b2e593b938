// The abort signal of one extension task, shared by the thread pool
// (piscina) and the process pool.

/**
 * A minimal abort signal for one task: piscina only needs `aborted`,
 * `reason` and one listener, and this is cheaper than an AbortController
 * on the per-event path.
 */
export class TaskSignal {
  aborted = false;
  reason: unknown = undefined;
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
