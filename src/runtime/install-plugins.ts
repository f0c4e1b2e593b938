// The plugins installer: builds the PluginManager from `plugins` in the
// config, starts the active plugins (a failing one is marked failed; the
// runtime still starts), takes new `plugins` sections on a config reload and
// stops them all when the runtime closes.

import { ConfigError } from '../errors.js';
import type { Installer, Runtime } from './types.js';
import { PluginManager } from '../plugins/manager.js';

declare module './types.js' {
  interface RuntimeServices {
    plugins: PluginManager;
  }
}

const installPlugins = async (runtime: Runtime): Promise<void> => {
  const section = runtime.config.plugins;
  const manager = new PluginManager({
    host: runtime.host,
    folder: runtime.resolvePath(section.folder),
    active: section.active,
    config: section.config,
    startTimeoutMs: section.start_timeout * 1000,
    stopTimeoutMs: section.stop_timeout * 1000,
    logger: runtime.logger,
  });
  runtime.services.plugins = manager;
  const { metrics } = runtime.host;
  if (metrics.enabled) {
    const state = metrics.gauge('hookwork_plugin_state', 'Each known plugin: 1 for its current state (discovered, loading, running, stopping, stopped, failed), 0 for the others; read at scrape time.', ['plugin', 'state']);
    const STATES = ['discovered', 'loading', 'running', 'stopping', 'stopped', 'failed'] as const;
    runtime.onClose(
      metrics.onCollect(() => {
        state.reset();
        for (const plugin of manager.list()) for (const s of STATES) state.labels(plugin.name, s).set(plugin.state === s ? 1 : 0);
      }),
    );
  }
  // Plugins stop while the host still accepts events, so a stop() that emits works.
  runtime.onShutdown(() => manager.close());
  runtime.onReload({
    name: 'plugins',
    sections: ['plugins'],
    async prepare(next, previous) {
      if (next.plugins.folder !== previous.plugins.folder) runtime.logger.warn('plugins.folder applies after a restart; the other plugins settings apply now');
      await manager.discover(); // new plugin files are checked too
      const problems = manager.checkConfig(next.plugins);
      if (problems.length > 0) throw new ConfigError(problems);
      return {
        async commit() {
          const done = await manager.reconfigure({
            active: next.plugins.active,
            config: next.plugins.config,
            startTimeoutMs: next.plugins.start_timeout * 1000,
            stopTimeoutMs: next.plugins.stop_timeout * 1000,
          });
          runtime.logger.info({ ...done }, 'Plugins took the new config');
        },
      };
    },
  });
  await manager.loadActive();
};

// Plugins may use every other service, so they come after all that are there.
export const pluginsInstaller: Installer = { name: 'plugins', after: ['delivery', 'handlers', 'extensions'], install: installPlugins };
