// The config of extension handlers (`type: extension`) and of the extensions
// pool they share.

import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { HANDLER_GRANTS, handlerBaseShape } from '../handlers/config-schema.js';
import { MAX_TIMER_MS } from '../hooks/deadlines.js';

export { MAX_TIMER_MS };
/** The longest hard limit a handler may have, seconds (about 24.8 days: the longest Node timer). */
export const MAX_TIMEOUT_SECONDS = Math.floor(MAX_TIMER_MS / 1000);

export const extensionHandlerSchema = z.strictObject({
  type: z.literal('extension'),
  ...handlerBaseShape,
  /**
   * `module/path.ts#ExportName`, `extensions.demo_event_handler.DemoEventHandler`
   * (dotted: the last part is the export) or the seed's `python:` form of the latter.
   * Resolved against the extensions folder.
   */
  entry_point: z.string().min(1),
  /** Free text handed to onStart (parent.configuration). */
  configuration: z.string().default(''),
  /** Consecutive failures before the handler stops in a failed state; 0 = never. */
  fail_after_errors: z.number().int().min(0).default(10),
  /** Hard limit, seconds, for one event's delay, queue time and run time (at most MAX_TIMEOUT_SECONDS). */
  timeout: z
    .number()
    .positive()
    .max(MAX_TIMEOUT_SECONDS, {
      error: `must be at most ${MAX_TIMEOUT_SECONDS} seconds (about 24.8 days, the longest timer Node keeps)`,
    })
    .default(600),
  /** Secrets the worker's copy of the event keeps, e.g. `account.token`. */
  grants: z.array(z.enum(HANDLER_GRANTS)).default([]),
  /**
   * Where a JavaScript handler's handle() runs: `thread` (the shared worker
   * thread pool) or `process` (Node child processes under the permission
   * model, see docs/extensions.md). Python handlers always run in processes.
   */
  isolation: z.enum(['thread', 'process']).default('thread'),
  /** With `isolation: process`: files or folders handle() may read besides the extensions folder (relative to the config file's folder). */
  read_paths: z.array(z.string().min(1)).default([]),
  /** With `isolation: process`: files or folders handle() may write (relative to the config file's folder). */
  write_paths: z.array(z.string().min(1)).default([]),
});

export const extensionPoolLimitsSchema = z.strictObject({
  /** Worker heap limit (old generation), MB; a worker past it dies and is replaced. */
  max_old_generation_mb: z.number().positive().optional(),
  max_young_generation_mb: z.number().positive().optional(),
  code_range_mb: z.number().positive().optional(),
  stack_size_mb: z.number().positive().optional(),
  /**
   * Address-space cap of each Python worker process, MB (RLIMIT_AS, set by
   * the worker at start); a worker past it exits and is replaced. Unset: no cap.
   */
  max_process_memory_mb: z.number().int().positive().optional(),
});

/**
 * Events in flight per worker thread when `pipeline` is not set: deep, since
 * a thread that stops answering (a slow or hung handle()) has the events
 * waiting behind it taken back after a few milliseconds (pool.ts).
 */
export const DEFAULT_THREAD_PIPELINE = 16;
/** Events in flight per worker process when `pipeline` is not set (a process pool takes none back while its process is busy). */
export const DEFAULT_PROCESS_PIPELINE = 4;

export const extensionPoolSchema = z.strictObject({
  /** Workers (events handled at once). Default: the machine's available parallelism. */
  size: z.number().int().positive().default(() => availableParallelism()),
  /** Events waiting for a worker before new ones are refused; default unbounded. */
  max_queue: z.number().int().positive().optional(),
  /**
   * Events posted to one worker (a thread of the thread pool, or a process
   * of a process pool: Python handlers, isolation: process) before the first
   * is answered (docs/extensions.md). 1 sends one at a time. Default:
   * DEFAULT_THREAD_PIPELINE for threads, DEFAULT_PROCESS_PIPELINE for processes.
   */
  pipeline: z.number().int().min(1).max(64).optional(),
  resource_limits: extensionPoolLimitsSchema.default({}),
});

export const extensionsConfigSchema = z.strictObject({
  /** Where entry points are resolved, relative to the config file's folder. */
  folder: z.string().min(1).default('extensions'),
  /** The Python interpreter for `.py` handlers: a path or a name on the PATH (Python 3.9 or newer). */
  python: z.string().min(1).default('python3'),
  pool: extensionPoolSchema.default(() => extensionPoolSchema.parse({})),
});

export type ExtensionHandlerConfig = z.output<typeof extensionHandlerSchema>;
export type ExtensionHandlerConfigInput = z.input<typeof extensionHandlerSchema>;
export type ExtensionsConfig = z.output<typeof extensionsConfigSchema>;
