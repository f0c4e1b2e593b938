// PluginManager: discovery, dependency order, start/stop with timeouts,
// failed state, and run-time load/unload/reload (UCS's plugins.load/unload,
// for superusers over the gateway). Management operations run one at a time,
// so concurrent load/unload/reload of a plugin never interleave. A plugin's
// registrations live in its scope and are removed on unload whatever its
// stop() does.

import { isDeepStrictEqual } from 'node:util';
import {
  ConfigError,
  type ConfigProblem,
  HookTimeoutError,
  isErrorCode,
  PluginAlreadyRunningError,
  PluginDefinitionError,
  PluginDependencyError,
  PluginNotFoundError,
  PluginStartError,
  toError,
} from '../errors.js';
import { withTimeout } from '../hooks/gate.js';
import type { HookMap, Host, HostScope } from '../host.js';
import type { Logger } from '../logger.js';
import { createPluginContext } from './context.js';
import type { PluginHooks } from './definition.js';
import { hasChanged, importPlugin, scanPluginFolder, type LoadedPluginModule, type PluginCandidate } from './discovery.js';
import { PluginRoutes } from './routes.js';
import { clearLeftovers, pluginNeedles, watchGlobalTimers, type TimerHandle } from './timers.js';

export type PluginState = 'discovered' | 'loading' | 'running' | 'stopping' | 'stopped' | 'failed';

export interface PluginInfo {
  readonly name: string;
  readonly version: string | undefined;
  readonly description: string | undefined;
  /** The file or package folder in the plugins folder. */
  readonly file: string | undefined;
  readonly state: PluginState;
  /** Listed in `plugins.active`. */
  readonly active: boolean;
  readonly needs: readonly string[];
  /** When it last started, ISO 8601 (while running). */
  readonly loadedAt: string | undefined;
  /** Live registrations by kind (subscriber, gate, change, middleware, method, route, task, schedule). */
  readonly registrations: Readonly<Record<string, number>>;
  readonly routes: ReadonlyArray<{ method: string; path: string; access: string }>;
  /** Why it last failed: its catalogue code, message and stack (the console shows the stack to every viewer: it names files, never secrets). */
  readonly lastError: { readonly code: string; readonly message: string; readonly stack: string } | undefined;
  /**
   * Timers the plugin started with the global setTimeout/setInterval (during
   * its setup, start or stop) that were still active when it last unloaded or
   * failed; they were cleared then. 0 when none were left.
   */
  readonly leftoverHandles: number;
}

/** A new `plugins` section, for PluginManager.reconfigure(). */
export interface PluginsReconfiguration {
  readonly active: readonly string[];
  readonly config: Readonly<Record<string, unknown>>;
  readonly startTimeoutMs?: number;
  readonly stopTimeoutMs?: number;
}

/** What reconfigure() did, by plugin name. */
export interface PluginsReconfigured {
  readonly unloaded: string[];
  readonly loaded: string[];
  readonly reloaded: string[];
  /** Plugins that failed to stop, start or reload (their state and lastError say why). */
  readonly failed: string[];
}

export interface PluginManagerOptions<M extends HookMap = HookMap> {
  /** The host plugins attach to (typed by its hook map, as plugins' contexts are). */
  readonly host: Host<M>;
  /** The plugins folder (absolute). */
  readonly folder: string;
  /** The names in `plugins.active`. */
  readonly active?: readonly string[];
  /** `plugins.config`: each plugin's section by name. */
  readonly config?: Readonly<Record<string, unknown>>;
  /** Default 10 000. */
  readonly startTimeoutMs?: number;
  /** Default 10 000. */
  readonly stopTimeoutMs?: number;
  readonly logger?: Logger;
  /** The live route table the gateway serves; one is created when absent. */
  readonly routes?: PluginRoutes;
}

interface Running {
  readonly scope: HostScope;
  readonly hooks: PluginHooks;
  readonly controller: AbortController;
}

interface PluginRecord {
  readonly name: string;
  module: LoadedPluginModule | undefined;
  /** The candidate whose module could not be imported (then `module` is undefined). */
  broken: PluginCandidate | undefined;
  state: PluginState;
  loadedAt: Date | undefined;
  lastError: Error | undefined;
  running: Running | undefined;
  /** Global timers noted during its lifecycle code (see timers.ts). */
  readonly globalTimers: Set<TimerHandle>;
  leftoverHandles: number;
}

// One instance of a plugin module per process (LUNA), whatever the number of hosts.
const processClaims = new Map<string, string>();

const DEFAULT_TIMEOUT_MS = 10_000;

function errorSummary(error: Error | undefined): PluginInfo['lastError'] {
  if (error === undefined) return undefined;
  // A plugin's own codes are its business: the list shows codes of Hookwork's catalogue only.
  const code = (error as { code?: unknown }).code;
  return { code: isErrorCode(code) ? code : 'HKW_ERR_PLUGIN', message: error.message, stack: error.stack ?? '' };
}

export class PluginManager<M extends HookMap = HookMap> {
  readonly routes: PluginRoutes;
  readonly folder: string;
  readonly #host: Host;
  readonly #logger: Logger;
  // Replaced by reconfigure() on a config reload.
  #active: ReadonlySet<string>;
  #config: Readonly<Record<string, unknown>>;
  #startTimeoutMs: number;
  #stopTimeoutMs: number;
  readonly #records = new Map<string, PluginRecord>();
  /** Running plugins in start order, so shutdown can go in reverse. */
  readonly #started: string[] = [];
  readonly #owner: string;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  #discovered = false;

  constructor(options: PluginManagerOptions<M>) {
    // Contexts are built over the untyped host; plugins see it typed through their own hook map.
    this.#host = options.host as unknown as Host;
    this.folder = options.folder;
    this.#logger = (options.logger ?? options.host.logger).child({ component: 'plugins' });
    this.#active = new Set(options.active ?? []);
    this.#config = options.config ?? {};
    this.#startTimeoutMs = options.startTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#stopTimeoutMs = options.stopTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.routes = options.routes ?? new PluginRoutes();
    this.#owner = `host "${options.host.server.name}" (${options.host.server.uuid})`;
  }

  /** Every known plugin: discovered, running, stopped or failed. */
  list(): PluginInfo[] {
    return [...this.#records.values()].sort((a, b) => a.name.localeCompare(b.name)).map((r) => this.#info(r));
  }

  get(name: string): PluginInfo | undefined {
    const record = this.#records.get(name);
    return record === undefined ? undefined : this.#info(record);
  }

  /** Scans the folder again (new files appear, changed stopped ones are re-imported). */
  discover(): Promise<PluginInfo[]> {
    return this.#exclusive(async () => {
      await this.#discover();
      return this.list();
    });
  }

  /**
   * Starts a plugin (and the plugins it needs first). A plugin that is
   * already running is stopped and started again with its code fresh from
   * disk, as UCS's `load` does: loading is how an operator picks up new code.
   */
  load(name: string): Promise<PluginInfo> {
    return this.#exclusive(async () => {
      const record = this.#lookup(name);
      if (record?.running !== undefined) return this.#info(await this.#reload(record));
      return this.#info(await this.#load(name, []));
    });
  }

  /** Stops a plugin (and first the running plugins that need it). */
  unload(name: string): Promise<PluginInfo> {
    return this.#exclusive(async () => {
      const record = await this.#find(name);
      await this.#unloadWithDependents(record);
      return this.#info(record);
    });
  }

  /** Stops a plugin, then starts it with its code fresh from disk; dependents stopped on the way start again. */
  reload(name: string): Promise<PluginInfo> {
    return this.#exclusive(async () => this.#info(await this.#reload(await this.#find(name))));
  }

  /**
   * The problems a new `plugins` section would cause, nothing applied: the
   * section of each plugin that will run after reconfigure() (listed active,
   * or running and keeping on) checked against its schema. For config
   * reloads, which must refuse a bad section before changing anything.
   */
  checkConfig(next: Pick<PluginsReconfiguration, 'active' | 'config'>): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    const active = new Set(next.active);
    for (const record of this.#records.values()) {
      if (record.module === undefined) continue;
      const listed = this.#isActive(record, active);
      const keepsRunning = record.running !== undefined && (listed || !this.#isActive(record));
      if (!listed && !keepsRunning) continue;
      try {
        this.#validateConfig(record, record.module, next.config);
      } catch (err) {
        if (err instanceof ConfigError) problems.push(...err.problems);
        else throw err;
      }
    }
    return problems;
  }

  /**
   * Applies a new `plugins` section (a config reload): plugins dropped from
   * `active` stop, newly listed ones start, and running plugins whose own
   * section changed are reloaded. Plugins loaded by hand at run time are left
   * as they are. A plugin that fails to start is marked failed; the others go on.
   */
  reconfigure(next: PluginsReconfiguration): Promise<PluginsReconfigured> {
    return this.#exclusive(async () => {
      const previousActive = this.#active;
      const previousConfig = this.#config;
      this.#active = new Set(next.active);
      this.#config = next.config;
      if (next.startTimeoutMs !== undefined) this.#startTimeoutMs = next.startTimeoutMs;
      if (next.stopTimeoutMs !== undefined) this.#stopTimeoutMs = next.stopTimeoutMs;
      const done: PluginsReconfigured = { unloaded: [], loaded: [], reloaded: [], failed: [] };
      const attempt = async (name: string, list: string[], step: () => Promise<unknown>): Promise<void> => {
        try {
          await step();
          list.push(name);
        } catch (err) {
          const error = toError(err);
          done.failed.push(name);
          this.#logger.error({ err: error, plugin: name }, `Plugin "${name}" could not take the new config: ${error.message}`);
        }
      };
      await this.#discover();
      for (const name of [...previousActive].reverse()) {
        const record = this.#lookup(name);
        if (record?.running === undefined || this.#isActive(record)) continue;
        await attempt(record.name, done.unloaded, () => this.#unloadWithDependents(record));
      }
      for (const record of [...this.#records.values()]) {
        if (record.running === undefined || isDeepStrictEqual(previousConfig[record.name], this.#config[record.name])) continue;
        await attempt(record.name, done.reloaded, () => this.#reload(record));
      }
      // Newly listed plugins, and listed ones that are not running (failed before: tried again).
      for (const name of this.#active) {
        if (this.#lookup(name)?.running !== undefined) continue;
        await attempt(this.#lookup(name)?.name ?? name, done.loaded, () => this.#load(name, []));
      }
      return done;
    });
  }

  /**
   * Discovers the folder and starts the active plugins in order. A plugin
   * that fails is marked failed and the others load normally.
   */
  loadActive(names: readonly string[] = [...this.#active]): Promise<PluginInfo[]> {
    return this.#exclusive(async () => {
      await this.#discover();
      for (const name of names) {
        try {
          await this.#load(name, []);
        } catch (err) {
          const error = toError(err);
          // Listed by a name no file gave (LUNA lists file names; a file's failure is already on its record).
          if (this.#lookup(name) === undefined) this.#records.set(name, this.#newRecord(name, undefined, 'failed', error));
          this.#logger.error({ err: error, plugin: name }, `Plugin "${name}" did not start: ${error.message}`);
        }
      }
      return this.list();
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Stops every running plugin, newest first. */
  close(): Promise<void> {
    if (this.#closed) return this.#queue.then(() => undefined);
    this.#closed = true;
    return this.#run(async () => {
      for (const name of [...this.#started].reverse()) {
        const record = this.#records.get(name);
        if (record !== undefined) await this.#stop(record);
      }
    });
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new PluginDependencyError('(any)', 'the plugin manager is closed.'));
    return this.#run(fn);
  }

  #run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(fn, fn);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  #newRecord(name: string, module: LoadedPluginModule | undefined, state: PluginState, error?: Error): PluginRecord {
    return { name, module, broken: undefined, state, loadedAt: undefined, lastError: error, running: undefined, globalTimers: new Set(), leftoverHandles: 0 };
  }

  #info(record: PluginRecord): PluginInfo {
    const definition = record.module?.definition;
    return Object.freeze({
      name: record.name,
      version: definition?.version,
      description: definition?.description,
      file: (record.module?.candidate ?? record.broken)?.path,
      state: record.state,
      active: this.#isActive(record),
      needs: [...(definition?.needs ?? [])],
      loadedAt: record.loadedAt?.toISOString(),
      registrations: record.running?.scope.registrations() ?? {},
      routes: this.routes.list(record.name),
      lastError: errorSummary(record.lastError),
      leftoverHandles: record.leftoverHandles,
    });
  }

  async #discover(): Promise<void> {
    const candidates = scanPluginFolder(this.folder, this.#logger);
    const seen = new Set<string>();
    for (const candidate of candidates) {
      const current = [...this.#records.values()].find(
        (r) => r.module?.candidate.path === candidate.path || (r.module === undefined && r.broken?.path === candidate.path),
      );
      // A running plugin keeps the code it started with until it is reloaded.
      if (current?.running !== undefined) {
        seen.add(current.name);
        continue;
      }
      let module: LoadedPluginModule | undefined;
      try {
        module = current?.module !== undefined && !hasChanged(current.module) ? current.module : await importPlugin(candidate, this.#logger);
      } catch (err) {
        const error = toError(err);
        this.#logger.error({ err: error, file: candidate.path }, error.message);
        // The file's plugin (known by its declared name, when it imported before) is failed
        // with the import error, and forgets its old code: a load must not start it.
        // (A plugin of another file that holds the file's name is left alone.)
        const byBase = this.#records.get(candidate.base);
        const record = current ?? (byBase === undefined ? this.#newRecord(candidate.base, undefined, 'failed') : byBase.module === undefined ? byBase : undefined);
        if (record !== undefined && record.running === undefined) {
          record.module = undefined;
          record.state = 'failed';
          record.lastError = error;
          record.broken = candidate;
          this.#records.set(record.name, record);
          seen.add(record.name);
        }
        continue;
      }
      if (module === undefined) continue;
      const name = module.definition.name;
      if (seen.has(name)) {
        const first = this.#records.get(name)?.module?.candidate.path ?? '?';
        this.#logger.error({ file: candidate.path, plugin: name }, new PluginDefinitionError(candidate.path, `the name "${name}" is already used by ${first}; skipped.`).message);
        continue;
      }
      seen.add(name);
      if (current !== undefined && current.name !== name) this.#records.delete(current.name);
      const record = this.#records.get(name);
      if (record === undefined) this.#records.set(name, this.#newRecord(name, module, 'discovered'));
      else if (record.running === undefined) {
        record.module = module;
        record.broken = undefined;
        if (record.state === 'failed' && record.lastError instanceof PluginDefinitionError) {
          record.state = 'discovered';
          record.lastError = undefined;
        }
      }
    }
    // Files that are gone: forget the plugins that are not running.
    for (const [name, record] of this.#records) {
      if (!seen.has(name) && record.running === undefined && (record.module !== undefined || record.broken !== undefined)) {
        this.#records.delete(name);
      }
    }
    this.#discovered = true;
  }

  /** The record of a plugin by its declared name or, as LUNA lists them, its file name without extension. */
  #lookup(name: string): PluginRecord | undefined {
    return this.#records.get(name) ?? [...this.#records.values()].find((r) => (r.module?.candidate ?? r.broken)?.base === name);
  }

  /** Listed in `plugins.active` (or in `list`), by its name or its file name. */
  #isActive(record: PluginRecord, list: ReadonlySet<string> = this.#active): boolean {
    if (list.has(record.name)) return true;
    const base = (record.module?.candidate ?? record.broken)?.base;
    return base !== undefined && list.has(base);
  }

  /** The record of a plugin by name (or file name), discovering when needed. */
  async #find(name: string): Promise<PluginRecord> {
    let record = this.#lookup(name);
    if (record === undefined || !this.#discovered) {
      await this.#discover();
      record = this.#lookup(name);
    }
    if (record === undefined) throw new PluginNotFoundError(name, this.folder, [...this.#records.keys()]);
    return record;
  }

  async #load(name: string, chain: readonly string[]): Promise<PluginRecord> {
    if (chain.includes(name)) {
      throw new PluginDependencyError(chain[0] as string, `its dependencies form a cycle: ${[...chain, name].join(' → ')}.`);
    }
    let record = await this.#find(name);
    if (record.running !== undefined) return record;
    // Fresh code: a changed (or broken, maybe fixed) file is imported again.
    if (record.module === undefined || hasChanged(record.module)) {
      await this.#discover();
      record = await this.#find(name);
    }
    const module = record.module;
    if (module === undefined) throw record.lastError ?? new PluginNotFoundError(name, this.folder, [...this.#records.keys()]);
    for (const dependency of module.definition.needs ?? []) {
      try {
        if (!this.#records.has(dependency)) await this.#find(dependency);
      } catch {
        throw this.#fail(record, new PluginDependencyError(record.name, `it needs "${dependency}", which is not in the plugins folder ${this.folder}.`));
      }
      try {
        await this.#load(dependency, [...chain, record.name]);
      } catch (err) {
        const error = toError(err);
        if (error instanceof PluginDependencyError && error.message.includes('cycle')) throw this.#fail(record, error);
        throw this.#fail(record, new PluginDependencyError(record.name, `it needs "${dependency}", which did not start: ${error.message}`));
      }
    }
    await this.#start(record, module);
    return record;
  }

  #fail(record: PluginRecord, error: Error): Error {
    record.state = 'failed';
    record.lastError = error;
    return error;
  }

  /** Counts a load, unload or reload (not a hot path: the series is looked up by its labels). */
  #count(plugin: string, operation: 'load' | 'unload' | 'reload', outcome: 'ok' | 'error'): void {
    this.#host.metrics
      .counter('hookwork_plugin_operations_total', 'Plugin loads (starts), unloads (stops) and reloads, per plugin and outcome (ok, error).', ['plugin', 'operation', 'outcome'])
      .labels(plugin, operation, outcome)
      .inc();
  }

  async #reload(record: PluginRecord): Promise<PluginRecord> {
    try {
      const loaded = await this.#reloadOnce(record);
      this.#count(record.name, 'reload', 'ok');
      return loaded;
    } catch (err) {
      this.#count(record.name, 'reload', 'error');
      throw err;
    }
  }

  async #reloadOnce(record: PluginRecord): Promise<PluginRecord> {
    const restarted = await this.#unloadWithDependents(record);
    const loaded = await this.#load(record.name, []);
    for (const dependent of restarted.reverse()) {
      await this.#load(dependent, []).catch((err: unknown) =>
        this.#logger.error({ err: toError(err), plugin: dependent }, `Plugin "${dependent}" did not start again after reloading "${record.name}"`),
      );
    }
    return loaded;
  }

  #validateConfig(record: PluginRecord, module: LoadedPluginModule, config = this.#config): unknown {
    const schema = module.definition.configSchema;
    const section = config[record.name];
    if (schema === undefined) return section ?? {};
    const parsed = schema.safeParse(section ?? {});
    if (parsed.success) return parsed.data;
    throw new ConfigError(
      parsed.error.issues.map((issue) => ({
        key: ['plugins', 'config', record.name, ...issue.path.map(String)].join('.'),
        message: issue.message,
      })),
    );
  }

  async #start(record: PluginRecord, module: LoadedPluginModule): Promise<void> {
    const { definition } = module;
    let config: unknown;
    try {
      config = this.#validateConfig(record, module);
    } catch (err) {
      throw this.#fail(record, toError(err));
    }
    const entry = module.candidate.entry;
    const owner = processClaims.get(entry);
    if (owner !== undefined) throw this.#fail(record, new PluginAlreadyRunningError(record.name, module.candidate.path, owner));
    processClaims.set(entry, this.#owner);
    record.state = 'loading';
    const scope = this.#host.scope(`plugin:${record.name}`);
    const controller = new AbortController();
    const context = createPluginContext({
      name: record.name,
      version: definition.version,
      config,
      host: this.#host,
      scope,
      routes: this.routes,
      logger: this.#host.logger.child({ plugin: record.name }),
      signal: controller.signal,
      stopTimeoutMs: this.#stopTimeoutMs,
    });
    const unwatch = this.#watch(record, module);
    let started: PluginHooks | undefined;
    try {
      // Measured around the calls: a start() that busy-waits blocks the timer of
      // withTimeout too, and must not come out `running` past its timeout.
      const began = performance.now();
      const starting = (async () => {
        const hooks = (await definition.setup(context)) ?? {};
        if (typeof hooks.start === 'function') await hooks.start();
        return hooks;
      })();
      started = await withTimeout(starting, this.#startTimeoutMs, `Starting plugin "${record.name}"`, controller).finally(unwatch);
      if (performance.now() - began > this.#startTimeoutMs) {
        throw new HookTimeoutError(`Starting plugin "${record.name}" (it blocked the event loop)`, this.#startTimeoutMs);
      }
      record.running = { scope, hooks: started, controller };
      record.state = 'running';
      record.loadedAt = new Date();
      record.lastError = undefined;
      this.#started.push(record.name);
      this.#count(record.name, 'load', 'ok');
      this.#logger.info({ plugin: record.name, version: definition.version }, `Plugin "${record.name}" ${definition.version} started`);
    } catch (err) {
      const error = toError(err);
      controller.abort(error);
      // A start that overran but finished may hold resources: its stop() is asked to release them.
      if (started !== undefined) await this.#callStop(record, started);
      await this.#dispose(record.name, scope);
      this.#reportLeftovers(record);
      processClaims.delete(entry);
      this.#fail(record, error);
      this.#count(record.name, 'load', 'error');
      this.#logger.error({ err: error, plugin: record.name }, `Plugin "${record.name}" failed to start; its registrations were removed`);
      throw new PluginStartError(record.name, error);
    }
  }

  /** Notes the global timers the plugin's lifecycle code starts, until the returned function runs. */
  #watch(record: PluginRecord, module: LoadedPluginModule): () => void {
    const { path, entry } = module.candidate;
    return watchGlobalTimers(pluginNeedles(path, path !== entry), record.globalTimers);
  }

  /** Counts, logs and clears what the plugin left running with the global timer functions. */
  #reportLeftovers(record: PluginRecord): void {
    const count = clearLeftovers(record.globalTimers);
    record.leftoverHandles = count;
    if (count > 0) {
      this.#logger.warn(
        { plugin: record.name, leftoverHandles: count },
        `Plugin "${record.name}" left ${count} timer${count === 1 ? '' : 's'} of the global setTimeout/setInterval running; cleared (use ctx.setTimeout/ctx.setInterval)`,
      );
    }
  }

  /** Calls stop() bounded by the stop timeout; a failure is kept as lastError and logged. */
  /** Calls stop() with the stop timeout; false when it threw or timed out (logged, kept as lastError). */
  async #callStop(record: PluginRecord, hooks: PluginHooks): Promise<boolean> {
    if (typeof hooks.stop !== 'function') return true;
    const module = record.module;
    const unwatch = module === undefined ? () => undefined : this.#watch(record, module);
    try {
      await withTimeout((async () => hooks.stop?.())(), this.#stopTimeoutMs, `Stopping plugin "${record.name}"`).finally(unwatch);
      return true;
    } catch (err) {
      record.lastError = toError(err);
      this.#logger.warn({ err: record.lastError, plugin: record.name }, `Plugin "${record.name}" stop() failed; removing its registrations anyway`);
      return false;
    }
  }

  async #dispose(name: string, scope: HostScope): Promise<void> {
    try {
      await scope.dispose();
    } catch (err) {
      this.#logger.error({ err: toError(err), plugin: name }, `Removing the registrations of plugin "${name}" reported errors`);
    }
  }

  /** Stops the plugin; registrations go even when stop() throws or hangs. */
  async #stop(record: PluginRecord): Promise<void> {
    const running = record.running;
    if (running === undefined) return;
    record.state = 'stopping';
    const stopFailed = !(await this.#callStop(record, running.hooks));
    running.controller.abort();
    await this.#dispose(record.name, running.scope);
    this.#reportLeftovers(record);
    if (record.module !== undefined) processClaims.delete(record.module.candidate.entry);
    record.running = undefined;
    record.loadedAt = undefined;
    record.state = 'stopped';
    const index = this.#started.indexOf(record.name);
    if (index !== -1) this.#started.splice(index, 1);
    this.#count(record.name, 'unload', stopFailed ? 'error' : 'ok');
    this.#logger.info({ plugin: record.name }, `Plugin "${record.name}" stopped`);
  }

  /** Stops the running plugins that need `record` (deepest first), then it; returns the dependents stopped. */
  async #unloadWithDependents(record: PluginRecord): Promise<string[]> {
    const stopped: string[] = [];
    const visit = async (target: PluginRecord): Promise<void> => {
      for (const other of this.#records.values()) {
        if (other.running !== undefined && (other.module?.definition.needs ?? []).includes(target.name)) {
          await visit(other);
          if (other.running !== undefined) {
            this.#logger.info({ plugin: other.name }, `Stopping plugin "${other.name}" because it needs "${target.name}"`);
            await this.#stop(other);
            stopped.push(other.name);
          }
        }
      }
    };
    await visit(record);
    await this.#stop(record);
    return stopped;
  }
}
