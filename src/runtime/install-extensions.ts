// Installs extension handlers into a runtime: one worker pool, one
// ExtensionHandler per `type: extension` entry of config.handlers, and the
// `extensions` service to list, start and stop them. On a config reload,
// handlers whose entry is unchanged keep running; changed ones are stopped and
// started anew, removed ones stopped, new ones started.

import { isDeepStrictEqual } from 'node:util';
import type { HookworkConfig } from '../config/schema.js';
import { ConfigError, InvalidArgumentError, type ConfigProblem } from '../errors.js';
import type { Installer, Runtime } from './types.js';
import { ExtensionHandler, type ExtensionHandlerInfo } from '../extensions/handler.js';
import { ExtensionPool, type PoolStats } from '../extensions/pool.js';
import { DEFAULT_PROCESS_PIPELINE, DEFAULT_THREAD_PIPELINE } from '../extensions/config-schema.js';
import { PythonExtensions } from '../extensions/python.js';
import { NodeProcesses } from '../extensions/node-processes.js';

export interface ExtensionsService {
  readonly pool: ExtensionPool;
  /** Python handlers' processes (main processes and their worker pool). */
  readonly python: PythonExtensions;
  /** Locked-down Node processes of JavaScript handlers with `isolation: process`. */
  readonly nodeProcesses: NodeProcesses;
  /** Every configured extension handler, with state, last error and counters. */
  list(): ExtensionHandlerInfo[];
  /** One handler by uuid or name. */
  get(idOrName: string): ExtensionHandlerInfo | undefined;
  /** The handler itself (to dispatch events to it from a queue), by uuid or name. */
  handler(idOrName: string): ExtensionHandler | undefined;
  start(idOrName: string): Promise<ExtensionHandlerInfo>;
  stop(idOrName: string): Promise<ExtensionHandlerInfo>;
  /** Resolves once no extension event is delayed, queued or running. */
  idle(): Promise<void>;
  stats(): PoolStats;
}

declare module './types.js' {
  interface RuntimeServices {
    extensions: ExtensionsService;
  }
}

type ExtensionEntry = Extract<HookworkConfig['handlers'][number], { type: 'extension' }>;

function extensionEntries(config: HookworkConfig): Array<{ handler: ExtensionEntry; index: number }> {
  return config.handlers
    .map((handler, index) => ({ handler, index }))
    .filter((entry): entry is { handler: ExtensionEntry; index: number } => entry.handler.type === 'extension');
}

/** A handler's identity across reloads: its uuid, or its name when it has none. */
const identityOf = (config: ExtensionEntry): string => config.uuid ?? `name:${config.name}`;

async function installExtensions(runtime: Runtime): Promise<void> {
  const { config, host } = runtime;
  const folder = runtime.resolvePath(config.extensions.folder);

  const limits = config.extensions.pool.resource_limits;
  const { metrics } = host;
  const replaced = metrics.counter('hookwork_extension_workers_replaced_total', 'Extension pool workers that ended while the pool ran (crash, out of memory, a timed-out event) and were replaced.', []).labels();
  const pool = new ExtensionPool({
    onWorkerReplaced: () => replaced.inc(),
    size: config.extensions.pool.size,
    ...(config.extensions.pool.max_queue === undefined ? {} : { maxQueue: config.extensions.pool.max_queue }),
    pipeline: config.extensions.pool.pipeline ?? DEFAULT_THREAD_PIPELINE,
    resourceLimits: {
      ...(limits.max_old_generation_mb === undefined ? {} : { maxOldGenerationSizeMb: limits.max_old_generation_mb }),
      ...(limits.max_young_generation_mb === undefined ? {} : { maxYoungGenerationSizeMb: limits.max_young_generation_mb }),
      ...(limits.code_range_mb === undefined ? {} : { codeRangeSizeMb: limits.code_range_mb }),
      ...(limits.stack_size_mb === undefined ? {} : { stackSizeMb: limits.stack_size_mb }),
    },
  });

  // Python processes start only when a Python handler does.
  const python = new PythonExtensions({
    interpreter: config.extensions.python,
    folder,
    poolSize: config.extensions.pool.size,
    ...(config.extensions.pool.max_queue === undefined ? {} : { maxQueue: config.extensions.pool.max_queue }),
    pipeline: config.extensions.pool.pipeline ?? DEFAULT_PROCESS_PIPELINE,
    ...(limits.max_process_memory_mb === undefined ? {} : { memoryLimitMb: limits.max_process_memory_mb }),
    logger: runtime.logger,
  });

  // Processes of `isolation: process` handlers start only when such a handler handles an event.
  const nodeProcesses = new NodeProcesses({
    folder,
    poolSize: config.extensions.pool.size,
    ...(config.extensions.pool.max_queue === undefined ? {} : { maxQueue: config.extensions.pool.max_queue }),
    pipeline: config.extensions.pool.pipeline ?? DEFAULT_PROCESS_PIPELINE,
    ...(limits.max_old_generation_mb === undefined ? {} : { memoryLimitMb: limits.max_old_generation_mb }),
    logger: runtime.logger,
  });

  /** Builds the handlers of these entries, reusing `keep` (by identity) where the entry is unchanged; refuses the lot on any problem. */
  const build = (entries: ReturnType<typeof extensionEntries>, keep: readonly ExtensionHandler[] = []): ExtensionHandler[] => {
    const built: ExtensionHandler[] = [];
    const problems: ConfigProblem[] = [];
    for (const { handler, index } of entries) {
      const same = keep.find((h) => identityOf(h.config) === identityOf(handler) && isDeepStrictEqual(h.config, handler));
      if (same !== undefined) {
        built.push(same);
        continue;
      }
      try {
        const resolvePath = (path: string): string => runtime.resolvePath(path);
        built.push(new ExtensionHandler({ config: handler, host, pool, python, nodeProcesses, resolvePath, folder, logger: runtime.logger, where: `handlers.${index}` }));
      } catch (err) {
        if (err instanceof ConfigError) problems.push(...err.problems);
        else throw err;
      }
    }
    if (problems.length > 0) throw new ConfigError(problems);
    return built;
  };

  let handlers: ExtensionHandler[];
  try {
    handlers = build(extensionEntries(config));
  } catch (err) {
    await pool.close();
    throw err;
  }

  const find = (idOrName: string): ExtensionHandler => {
    const found = handlers.find((h) => h.uuid === idOrName) ?? handlers.find((h) => h.name === idOrName);
    if (found === undefined) {
      const known = handlers.map((h) => h.name).join(', ') || 'none';
      throw new InvalidArgumentError(`No extension handler "${idOrName}" is configured (known: ${known}).`);
    }
    return found;
  };

  const service: ExtensionsService = {
    pool,
    python,
    nodeProcesses,
    list: () => handlers.map((h) => h.info()),
    get: (idOrName) => {
      try {
        return find(idOrName).info();
      } catch {
        return undefined;
      }
    },
    handler: (idOrName) => handlers.find((h) => h.uuid === idOrName) ?? handlers.find((h) => h.name === idOrName),
    async start(idOrName) {
      const handler = find(idOrName);
      await handler.start();
      return handler.info();
    },
    async stop(idOrName) {
      const handler = find(idOrName);
      await handler.stop();
      return handler.info();
    },
    async idle() {
      await host.idle();
      while (handlers.some((h) => h.inFlight > 0)) {
        await Promise.all(handlers.map((h) => h.idle()));
        await host.idle();
      }
    },
    stats: () => pool.stats,
  };
  runtime.services.extensions = service;
  if (metrics.enabled) {
    const queued = metrics.gauge('hookwork_extension_pool_queue_depth', 'Events waiting for a free extension pool worker, read at scrape time.', []).labels();
    const threads = metrics.gauge('hookwork_extension_pool_workers', 'Extension pool workers running, read at scrape time.', []).labels();
    const uncollect = metrics.onCollect(() => {
      const stats = pool.stats;
      queued.set(stats.queued);
      threads.set(stats.threads);
    });
    runtime.onClose(uncollect);
  }

  runtime.onClose(async () => {
    await Promise.all(handlers.map((h) => h.stop()));
    for (const handler of handlers) handler.abortAll('closing');
    await Promise.all([pool.close(), python.close(), nodeProcesses.close()]);
  });

  runtime.onReload({
    name: 'extensions',
    // The extensions section (folder, pool) is not taken: the report lists it as needing a restart.
    sections: ['handlers'],
    async prepare(next) {
      const nextHandlers = build(extensionEntries(next), handlers);
      const gone = handlers.filter((h) => !nextHandlers.includes(h));
      const added = nextHandlers.filter((h) => !handlers.includes(h));
      if (gone.length === 0 && added.length === 0 && nextHandlers.every((h, i) => h === handlers[i])) return undefined;
      return {
        async commit() {
          // Replaced handlers stop before their successors start (onStop, then onStart).
          for (const handler of gone) await handler.close();
          handlers = nextHandlers;
          for (const handler of added) if (handler.config.enabled) await handler.start();
        },
      };
    },
  });

  // Started one after another, in config order: onStart may not block.
  for (const handler of handlers) if (handler.config.enabled) await handler.start();
}

export const extensionsInstaller: Installer = { name: 'extensions', after: ['handlers'], install: installExtensions };
