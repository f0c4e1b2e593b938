// A runtime is a host built from a config, with every subsystem installed:
// what `hookwork serve` runs and what an embedding server can create too.
// Subsystems install themselves (one installer each, listed below, ordered by
// what each declares it needs) and expose their service on `runtime.services`
// by augmenting RuntimeServices (types.ts).

import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { isChecked, markChecked } from '../config/checks.js';
import { runConfigChecks } from '../config/run-checks.js';
import { configSchema, type HookworkConfig, type HookworkConfigInput } from '../config/schema.js';
import { clusterInstaller } from './install-cluster.js';
import { deliveryInstaller } from './install-delivery.js';
import { ClosedError, ConfigError, InvalidArgumentError } from '../errors.js';
import type { EventDefinition } from '../events/catalogue.js';
import { extensionsInstaller } from './install-extensions.js';
import { createHost } from '../host.js';
import { createLogger } from '../logger.js';
import { PrometheusMetrics } from '../metrics/prometheus.js';
import { pluginsInstaller } from './install-plugins.js';
import { ReloadRegistry, type ReloadReport } from './reload.js';
import { handlersInstaller } from './install-handlers.js';
import { schedulesInstaller } from './install-schedules.js';
import { systemClock } from '../schedules/clock.js';
import { orderInstallers } from './installers.js';
import type { Installer, Runtime, RuntimeOptions } from './types.js';

export type { Runtime, RuntimeOptions } from './types.js';

// Each subsystem adds its installer here, in any order: each names what it
// needs and what it comes after, and orderInstallers() sorts them.
const INSTALLERS: readonly Installer[] = orderInstallers([
  deliveryInstaller,
  handlersInstaller,
  extensionsInstaller,
  pluginsInstaller,
  clusterInstaller,
  schedulesInstaller,
]);

/** Validates a config given as an object: its schema, then every registered check (as loadConfig does for files). */
export function parseConfig(input: unknown): HookworkConfig {
  if (isChecked(input)) return input as HookworkConfig;
  const parsed = configSchema.safeParse(input ?? {});
  if (parsed.success) {
    const problems = runConfigChecks(parsed.data);
    if (problems.length > 0) throw new ConfigError(problems);
    return markChecked(parsed.data);
  }
  throw new ConfigError(
    parsed.error.issues.map((issue) => ({ key: issue.path.map(String).join('.'), message: issue.message })),
  );
}

function catalogueFromConfig(config: HookworkConfig): EventDefinition[] {
  return config.events.map((e) => ({
    id: e.id,
    name: e.name,
    groups: e.groups,
    ...(e.message === undefined ? {} : { message: e.message }),
    ...(e.description === undefined ? {} : { description: e.description }),
    ...(e.data_schema === undefined ? {} : { schema: z.fromJSONSchema(e.data_schema as never) }),
  }));
}

export async function createRuntime(options: RuntimeOptions = {}): Promise<Runtime> {
  let config = parseConfig(options.config);
  const baseDir = resolve(options.baseDir ?? process.cwd());
  const resolvePath = (path: string): string => (isAbsolute(path) ? path : resolve(baseDir, path));
  const dataDir = resolvePath(config.server.data_dir);
  const logger = options.logger ?? createLogger({ level: config.log_level, format: config.log_format });
  // Read once: turning metrics on or off takes a restart (the hot paths bind their series at start).
  const metrics = config.metrics.enabled
    ? new PrometheusMetrics({ onCollectError: (err) => logger.warn({ err }, 'A metrics collector failed; this scrape lacks its values') })
    : undefined;
  const host = createHost({
    ...(metrics === undefined ? {} : { metrics }),
    server: { name: config.server.name, ...(config.server.uuid === undefined ? {} : { uuid: config.server.uuid }) },
    dataDir,
    events: catalogueFromConfig(config),
    strict: config.strict,
    gates: Object.fromEntries(
      Object.entries(config.gates).map(([name, g]) => [
        name,
        { failOpen: g.fail_open, ...(g.timeout === undefined ? {} : { timeoutMs: g.timeout * 1000 }) },
      ]),
    ),
    changes: config.changes,
    logger,
  });
  const shutdownHooks: Array<() => void | Promise<void>> = [];
  const closeHooks: Array<() => void | Promise<void>> = [];
  const runHooks = async (hooks: Array<() => void | Promise<void>>): Promise<void> => {
    for (const fn of [...hooks].reverse()) {
      try {
        await fn();
      } catch (err) {
        logger.error({ err }, 'A runtime close hook failed');
      }
    }
  };
  let closing: Promise<void> | undefined;
  const reloads = new ReloadRegistry(logger);
  let reloading: Promise<unknown> = Promise.resolve();
  const reload = async (input?: HookworkConfig | HookworkConfigInput): Promise<ReloadReport> => {
    if (closing !== undefined) throw new ClosedError('The runtime');
    let raw = input;
    if (raw === undefined) {
      if (options.readConfig === undefined) {
        throw new InvalidArgumentError('This runtime was created from a config object, so it cannot read its config again: pass the new config to reload(config).');
      }
      raw = await options.readConfig();
    }
    const next = parseConfig(raw);
    const report = await reloads.apply(config, next);
    config = next;
    logger.info({ ...report }, `Config reloaded (${report.applied.join(', ') || 'nothing to apply'})`);
    if (report.restartNeeded.length > 0) {
      logger.warn({ sections: report.restartNeeded }, `Config sections changed that only a restart applies: ${report.restartNeeded.join(', ')}`);
    }
    return report;
  };
  const runtime: Runtime = {
    get config() {
      return config;
    },
    baseDir,
    configFile: options.configFile,
    dataDir,
    nodeId: options.nodeId ?? `${process.env['HOSTNAME'] ?? 'node'}-${process.pid}`,
    clock: options.clock ?? systemClock,
    host,
    logger,
    metrics,
    services: {},
    resolvePath,
    onShutdown(fn) {
      shutdownHooks.push(fn);
    },
    onClose(fn) {
      closeHooks.push(fn);
    },
    reload(input) {
      const next = reloading.then(() => reload(input));
      reloading = next.catch(() => undefined);
      return next;
    },
    onReload: (reloadable) => reloads.add(reloadable),
    close() {
      closing ??= (async () => {
        await runHooks(shutdownHooks);
        await host.close();
        await runHooks(closeHooks);
      })();
      return closing;
    },
  };
  try {
    for (const installer of INSTALLERS) await installer.install(runtime);
  } catch (err) {
    await runtime.close();
    throw err;
  }
  return runtime;
}
