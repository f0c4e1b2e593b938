// The extension worker pool (piscina): N workers (N = available parallelism
// by default), the rest of the events wait in piscina's queue. Aborting a
// queued task removes it from the queue; aborting a running one terminates
// its worker, and piscina starts a fresh one. A worker that crashes or runs
// out of memory (resourceLimits) is replaced the same way.

import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { ExtensionQueueFullError, ExtensionWorkerCrashError, toError } from '../errors.js';
import { workerExecArgv, workerModule } from '../worker-threads.js';
import type { ExtensionTask, HandleResult } from './contract.js';

export interface ExtensionPoolOptions {
  /** Workers, i.e. events handled at once (default: available parallelism). */
  size?: number;
  /** Events that may wait for a worker; past it runs are refused. Default unbounded. */
  maxQueue?: number;
  resourceLimits?: {
    maxOldGenerationSizeMb?: number;
    maxYoungGenerationSizeMb?: number;
    codeRangeSizeMb?: number;
    stackSizeMb?: number;
  };
  /** A worker ended while the pool runs (crash, out of memory, a timed-out task terminated): piscina starts a new one. */
  onWorkerReplaced?: () => void;
}

import type { TaskSignal } from './task-signal.js';


const WORKER_FILE = workerModule(import.meta.url, './worker').href;
export interface PoolStats {
  readonly size: number;
  readonly threads: number;
  readonly queued: number;
  readonly completed: number;
}

export class ExtensionPool {
  readonly size: number;
  readonly maxQueue: number | undefined;
  readonly #piscina: Piscina<ExtensionTask, HandleResult>;
  readonly #oldGenerationMb: number | undefined;
  #closed = false;

  constructor(options: ExtensionPoolOptions = {}) {
    this.size = options.size ?? availableParallelism();
    this.maxQueue = options.maxQueue;
    this.#oldGenerationMb = options.resourceLimits?.maxOldGenerationSizeMb;
    const execArgv = workerExecArgv();
    this.#piscina = new Piscina<ExtensionTask, HandleResult>({
      filename: WORKER_FILE,
      minThreads: this.size,
      maxThreads: this.size,
      // Workers stay up: a handler's module is imported once per worker.
      idleTimeout: Infinity,
      concurrentTasksPerWorker: 1,
      ...(options.maxQueue === undefined ? {} : { maxQueue: options.maxQueue }),
      ...(options.resourceLimits === undefined ? {} : { resourceLimits: options.resourceLimits }),
      ...(execArgv === undefined ? {} : { execArgv }),
    });
    // A dying worker is reported through the task it was running; this keeps
    // piscina's pool-level 'error' event from becoming an uncaught exception.
    this.#piscina.on('error', () => undefined);
    const replaced = options.onWorkerReplaced;
    if (replaced !== undefined) {
      this.#piscina.on('workerDestroy', () => {
        if (!this.#closed) replaced();
      });
    }
  }

  /** Runs one task; rejects with the task's error, an AbortError, a crash or a full queue. */
  run(task: ExtensionTask, signal?: TaskSignal): Promise<HandleResult> {
    return this.#piscina.run(task, signal === undefined ? undefined : { signal });
  }

  /** Gives a pool failure a typed error: worker crash, out of memory, full queue, or the handler's own error. */
  describeFailure(err: unknown): Error {
    const error = err as { code?: unknown; message?: unknown } | null;
    if (error !== null && typeof error === 'object') {
      if (error.code === 'ERR_WORKER_OUT_OF_MEMORY') {
        const limit = this.#oldGenerationMb === undefined ? 'heap limit' : `limit ${this.#oldGenerationMb} MB`;
        return new ExtensionWorkerCrashError('oom', limit, { cause: err });
      }
      if (typeof error.message === 'string' && /^worker exited with code/i.test(error.message)) {
        return new ExtensionWorkerCrashError('crash', error.message, { cause: err });
      }
      if (typeof error.message === 'string' && /task queue is at limit|no task queue available/i.test(error.message)) {
        return new ExtensionQueueFullError(this.maxQueue);
      }
      if (!(err instanceof Error) && error.message === undefined) {
        return new Error('The handler result could not be copied out of the worker (it holds functions or other non-cloneable values).');
      }
    }
    return toError(err);
  }

  get stats(): PoolStats {
    return {
      size: this.size,
      threads: this.#piscina.threads.length,
      queued: this.#piscina.queueSize,
      completed: this.#piscina.completed,
    };
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Stops every worker; queued and running tasks are rejected. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#piscina.destroy();
  }
}
