// `hookwork/plugins`: loading plugins without a runtime (PluginManager) and
// the route table they register on (docs/plugins.md). Writing a plugin needs
// only the root entry. Re-exports only.

export { PluginManager } from '../plugins/manager.js';
export type { PluginInfo, PluginManagerOptions, PluginsReconfiguration, PluginsReconfigured, PluginState } from '../plugins/manager.js';
export { PluginRoutes } from '../plugins/routes.js';
