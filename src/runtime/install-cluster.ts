// Installs the cluster control (cluster/control.ts) over this runtime's
// plugins and config reloads, on the bus the delivery store brings (if any).

import { createClusterControl, type ClusterControl } from '../cluster/control.js';
import { InvalidArgumentError } from '../errors.js';
import type { PluginInfo, PluginManager } from '../plugins/manager.js';
import type { ReloadReport } from './reload.js';
import type { Installer, Runtime } from './types.js';

/** The runtime's control: plugin infos and reload reports. */
export type RuntimeClusterControl = ClusterControl<PluginInfo, ReloadReport>;

declare module './types.js' {
  interface RuntimeServices {
    control: RuntimeClusterControl;
  }
}

const installClusterControl = (runtime: Runtime): void => {
  const plugins = (): PluginManager => {
    const manager = runtime.services.plugins;
    if (manager === undefined) throw new InvalidArgumentError('Plugins are not installed in this runtime.');
    return manager;
  };
  const { control, dispose } = createClusterControl({
    bus: runtime.services.cluster,
    logger: runtime.logger,
    plugins,
    reloadConfig: () => runtime.reload(),
  });
  runtime.services.control = control;
  runtime.onShutdown(dispose);
};

// Management over everything else: last, and with the bus delivery brings (if any).
export const clusterInstaller: Installer = { name: 'cluster', after: ['delivery', 'plugins'], install: installClusterControl };
