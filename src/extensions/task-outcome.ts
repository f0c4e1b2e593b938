// How a pool hands a task's outcome to whoever waits for it: run()'s promise
// or runTo()'s listener (TaskRunner, main-side.ts). Shared by the thread pool
// (pool.ts) and the process pool.

import type { HandleResult } from './contract.js';
import type { TaskListener } from './main-side.js';

/** Who takes a task's outcome, and the token it is given back. */
export interface OutcomeTaker {
  readonly listener: TaskListener<unknown>;
  readonly token: unknown;
}

/** run()'s promise, as a token. */
export interface PromiseFunctions {
  resolve(result: HandleResult): void;
  reject(error: unknown): void;
}

/** run()'s listener: the token is the promise's two functions. */
export const PROMISED: TaskListener<PromiseFunctions> = {
  handled: (promise, result) => promise.resolve(result),
  failed: (promise, error) => promise.reject(error),
};

/** The result, to whoever waits for it; a listener that throws fails its own task. */
export function deliverResult(taker: OutcomeTaker, result: HandleResult): void {
  try {
    taker.listener.handled(taker.token, result);
  } catch (err) {
    deliverFailure(taker, err);
  }
}

/** A failure, to whoever waits for it: on a later microtask for runTo()'s listener, as run()'s promise would reject it (the caller may still be on its way, e.g. aborting the task). */
export function deliverFailure(taker: OutcomeTaker, error: unknown): void {
  const { listener, token } = taker;
  if (listener === PROMISED) listener.failed(token as never, error);
  else queueMicrotask(() => listener.failed(token, error));
}
