// A worker thread of the extension pool (pool.ts). It serves the tasks the
// pool posts, strictly one at a time and in order (an async handle() holds
// the worker until it settles), and answers each on the pool's port. Tasks
// wait here, in order, while one runs: the pool posts up to `pipeline` at
// once so the worker never waits for the main thread between two events.
// Whether a task may still start is decided by its cell (thread-messages.ts):
// the pool may have taken it back, or be terminating this worker.

import { receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import type { ExtensionTask, HandleResult } from './contract.js';
import { ANSWER, FREE, READY, TASK_FIELDS, type TaskBatch, type ThreadWorkerData } from './thread-messages.js';
import runExtensionTask from './worker.js';

const { cells: buffer, port } = workerData as ThreadWorkerData;
const cells = new Int32Array(buffer);
/** Tasks received and not yet started, flat as they came (TaskBatch), read from `head`. */
let waiting: unknown[] = [];
let head = 0;
/** An async handle() is running: the next task waits for it. */
let busy = false;
/** The pool stopped this worker for good (a running task was fenced): nothing more runs or answers. */
let stopped = false;

function answer(seq: number, cell: number, kind: number, value: unknown): void {
  // The task ends here unless the pool fenced it meanwhile (it is terminating this worker).
  if (Atomics.compareExchange(cells, cell, -seq, FREE) !== -seq) {
    stopped = true;
    return;
  }
  try {
    port.postMessage([seq, kind, value]);
  } catch {
    // The result (or a thrown value) could not be cloned: the event fails, the worker stays.
    const error = kind === ANSWER.ok
      ? new Error('The handler result could not be copied out of the worker (it holds functions or other non-cloneable values).')
      : new Error(`handle() threw a value that could not be copied out of the worker: ${describe(value)}`);
    port.postMessage([seq, ANSWER.error, error]);
  }
}

function describe(value: unknown): string {
  try {
    return String(value);
  } catch {
    return typeof value;
  }
}

/** Takes what the port already holds without waiting for its message event. */
function receivePending(): boolean {
  const received = receiveMessageOnPort(port);
  if (received === undefined) return false;
  accept(received.message as TaskBatch);
  return true;
}

function accept(batch: TaskBatch): void {
  if (head === waiting.length) {
    waiting = batch;
    head = 0;
  } else {
    for (const item of batch) waiting.push(item);
  }
}

/** Runs the waiting tasks in order until one is async (it resumes when that one settles) or none is left. */
function drain(): void {
  while (!busy && !stopped) {
    if (head === waiting.length && !receivePending()) return;
    const seq = waiting[head] as number;
    const cell = waiting[head + 1] as number;
    const task = waiting[head + 2] as ExtensionTask;
    waiting[head + 2] = undefined;
    head += TASK_FIELDS;
    // Taken back by the pool (aborted, or moved to an idle worker): not ours to run.
    if (Atomics.compareExchange(cells, cell, seq, -seq) !== seq) continue;
    let result: HandleResult | Promise<HandleResult>;
    try {
      result = runExtensionTask(task);
    } catch (err) {
      answer(seq, cell, ANSWER.error, err);
      continue;
    }
    if (result !== null && typeof result === 'object' && typeof (result as Promise<HandleResult>).then === 'function') {
      busy = true;
      (result as Promise<HandleResult>).then(
        (value) => settle(seq, cell, ANSWER.ok, value),
        (err: unknown) => settle(seq, cell, ANSWER.error, err),
      );
      return;
    }
    answer(seq, cell, ANSWER.ok, result);
  }
}

function settle(seq: number, cell: number, kind: number, value: unknown): void {
  busy = false;
  answer(seq, cell, kind, value);
  drain();
}

(port as MessagePort).on('message', (batch: TaskBatch) => {
  accept(batch);
  drain();
});
port.postMessage(READY);
