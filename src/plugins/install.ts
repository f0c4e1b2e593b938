// The plugins installer: builds the PluginManager from `plugins` in the
// config, starts the active plugins (a failing one is marked failed; the
// runtime still starts) and stops them all when the runtime closes.

import type { Installer, Runtime } from '../runtime.js';
import { PluginManager } from './manager.js';

declare module '../runtime.js' {
  interface RuntimeServices {
    plugins: PluginManager;
  }
}

export const installPlugins: Installer = async (runtime: Runtime) => {
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
  // Plugins stop while the host still accepts events, so a stop() that emits works.
  runtime.onShutdown(() => manager.close());
  await manager.loadActive();
};
