// The runtime's types, in a leaf module so installers, routes and the
// cluster control can name them without importing createRuntime (and so
// every installer it lists). Subsystems add their service by augmenting
// RuntimeServices:
//
//   declare module '../runtime/types.js' {
//     interface RuntimeServices { plugins: PluginManager }
//   }

import type { HookworkConfig, HookworkConfigInput } from '../config/schema.js';
import type { Host } from '../host.js';
import type { Logger } from '../logger.js';
import type { PrometheusMetrics } from '../metrics/prometheus.js';
import type { Clock } from '../schedules/clock.js';
import type { Reloadable, ReloadReport } from './reload.js';

/** Services installed by subsystems; each subsystem augments this interface. */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface RuntimeServices {}

/** Where a runtime's config was loaded from. */
export interface ConfigFileSource {
  /** The file or folder, absolute. */
  readonly path: string;
  /** The environment whose HOOKWORK_* variables were applied over it. */
  readonly env?: NodeJS.ProcessEnv;
}

export interface RuntimeOptions {
  /** A validated config, or raw input that is validated here. */
  config?: HookworkConfig | HookworkConfigInput;
  /** The folder relative paths in the config are resolved against (the config file's folder). */
  baseDir?: string;
  logger?: Logger;
  /** Node name for multi-node stores and logs (default: hostname-pid). */
  nodeId?: string;
  /**
   * Reads the config afresh from where it came (for reload() without an
   * argument), e.g. `() => loadConfig(path).then((l) => l.config)`.
   */
  readConfig?: () => Promise<HookworkConfig | HookworkConfigInput>;
  /**
   * The config file or folder the config was loaded from, and the
   * environment applied over it: the admin API shows where each value came
   * from, and edits a single file (`hookwork serve` sets it).
   */
  configFile?: ConfigFileSource;
  /** What schedules read the time from and wait with (default: the system clock); tests pass a fake one. */
  clock?: Clock;
}

export interface Runtime {
  /** The config in force (replaced by a successful reload()). */
  readonly config: HookworkConfig;
  readonly baseDir: string;
  /** Where the config was loaded from (RuntimeOptions.configFile), if from files. */
  readonly configFile: ConfigFileSource | undefined;
  /** `server.data_dir`, resolved. */
  readonly dataDir: string;
  readonly nodeId: string;
  /** The clock schedules run on (RuntimeOptions.clock, or the system clock). */
  readonly clock: Clock;
  readonly host: Host;
  readonly logger: Logger;
  /** This runtime's Prometheus registry (its own, never prom-client's global one); undefined when `metrics.enabled` is false. */
  readonly metrics: PrometheusMetrics | undefined;
  readonly services: Partial<RuntimeServices>;
  /** Resolves a config path against the base folder. */
  resolvePath(path: string): string;
  /**
   * Runs first on close(), newest first, while the host still accepts events:
   * for parts whose stopping may emit (plugins' stop()).
   */
  onShutdown(fn: () => void | Promise<void>): void;
  /** Runs on close(), newest first, after the host has stopped accepting events and drained. */
  onClose(fn: () => void | Promise<void>): void;
  /**
   * Applies a new config without a restart: `input`, or the config read
   * afresh from where it came. Validated as a whole and applied only if every
   * subsystem takes it (otherwise a ConfigError and nothing changes). Reloads
   * run one at a time.
   */
  reload(input?: HookworkConfig | HookworkConfigInput): Promise<ReloadReport>;
  /** Registers a subsystem that takes new config sections at run time; returns the remover. */
  onReload(reloadable: Reloadable): () => void;
  close(): Promise<void>;
}

/**
 * One subsystem's set-up: reads its config section, attaches to the host,
 * registers its service. It names the installers it needs (they run first,
 * and a missing one is an error naming it) and those it only runs after when
 * they are there.
 */
export interface Installer {
  readonly name: string;
  readonly needs?: readonly string[];
  readonly after?: readonly string[];
  install(runtime: Runtime): void | Promise<void>;
}
