// What the extension thread pool (pool.ts) and its worker threads
// (thread-worker.ts) say to each other, and the shared cells that decide,
// without a message, whether a task posted to a worker may still start.
//
// Each worker has a few cells (one per task it may hold, `pipeline` of
// them) in a SharedArrayBuffer. Posting task `seq` stores `seq` in its cell.
// The worker starts it only by swapping `seq` for `-seq`, and ends it by
// swapping `-seq` for 0 (FREE), then answers. The pool takes a task back
// that has not started by swapping `seq` for FREE, and stops a running one
// for good by swapping `-seq` for FENCE: a worker that finds its cell fenced
// posts nothing more and starts nothing more (it is being terminated). Both
// sides use compare-and-swap on the same cell, so exactly one wins: a task
// taken back never runs, and a worker that has already finished a task is
// never killed for it.

import type { MessagePort } from 'node:worker_threads';

/** A cell holding no task. */
export const FREE = 0;
/** A running task the pool has given up on: its worker is terminated. */
export const FENCE = -0x80000000;
/** Task numbers stay positive int32s (their negation marks them started). */
export const MAX_SEQ = 0x7fffffff;

/** The worker loaded and listens (its first message). */
export const READY = 'ready';

/** How an answer ended. */
export const ANSWER = { ok: 0, error: 1 } as const;

/**
 * Tasks, flat: `[seq, cell, task, seq, cell, task, ...]` (one message for
 * all the tasks one pump gives a worker).
 */
export type TaskBatch = unknown[];
/** Fields per task in a TaskBatch. */
export const TASK_FIELDS = 3;

/** One answer: `[seq, ANSWER.ok | ANSWER.error, result or error]`. */
export type Answer = [number, number, unknown];

/** workerData of a pool worker. */
export interface ThreadWorkerData {
  /** Int32 cells, one per task the worker may hold. */
  readonly cells: SharedArrayBuffer;
  /** Where tasks come from and answers go. */
  readonly port: MessagePort;
}
