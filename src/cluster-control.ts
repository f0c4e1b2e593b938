// Management that reaches every node: a plugin load/unload/reload or a config
// reload requested on one node is done there, then published on the cluster
// bus (LISTEN/NOTIFY with PostgreSQL), and every other node does the same
// locally. Each node reads its own config files on a config reload. With one
// node (SQLite, memory) the bus is local and this is just the local call.

import { CLUSTER_TOPICS, type ClusterBus, type ClusterMessage } from './delivery/cluster.js';
import { InvalidArgumentError, toError } from './errors.js';
import type { PluginInfo, PluginManager } from './plugins/manager.js';
import type { Installer, Runtime } from './runtime.js';
import type { ReloadReport } from './runtime-reload.js';

export interface ClusterControl {
  loadPlugin(name: string): Promise<PluginInfo>;
  unloadPlugin(name: string): Promise<PluginInfo>;
  reloadPlugin(name: string): Promise<PluginInfo>;
  /** Reads the config again and applies it here, then on every other node. */
  reloadConfig(): Promise<ReloadReport>;
}

declare module './runtime.js' {
  interface RuntimeServices {
    control: ClusterControl;
  }
}

type PluginAction = 'load' | 'unload' | 'reload';

const PLUGIN_TOPICS: Readonly<Record<PluginAction, string>> = {
  load: CLUSTER_TOPICS.pluginLoad,
  unload: CLUSTER_TOPICS.pluginUnload,
  reload: CLUSTER_TOPICS.pluginReload,
};

export const installClusterControl: Installer = (runtime: Runtime) => {
  const log = runtime.logger.child({ component: 'cluster' });
  const bus: ClusterBus | undefined = runtime.services.cluster;
  const plugins = (): PluginManager => {
    const manager = runtime.services.plugins;
    if (manager === undefined) throw new InvalidArgumentError('Plugins are not installed in this runtime.');
    return manager;
  };

  // The request is done here first, so the caller gets this node's answer;
  // the other nodes are told whatever it was (they may differ, e.g. in files).
  const everywhere = async <T>(topic: string, payload: Record<string, unknown>, local: () => Promise<T>): Promise<T> => {
    try {
      return await local();
    } finally {
      if (bus !== undefined) {
        await bus.publish(topic, payload).catch((err: unknown) =>
          log.error({ err: toError(err), topic }, `Could not tell the other nodes (${topic}); they keep their state until asked again`),
        );
      }
    }
  };

  const pluginAction = (action: PluginAction) => (name: string) =>
    everywhere(PLUGIN_TOPICS[action], { name }, () => plugins()[action](name));

  const control: ClusterControl = {
    loadPlugin: pluginAction('load'),
    unloadPlugin: pluginAction('unload'),
    reloadPlugin: pluginAction('reload'),
    reloadConfig: () => everywhere(CLUSTER_TOPICS.configReload, {}, () => runtime.reload()),
  };
  runtime.services.control = control;
  if (bus === undefined) return;

  const fromElsewhere = (message: ClusterMessage): boolean => message.from !== bus.nodeId;
  const apply = async (message: ClusterMessage, what: string, step: () => Promise<unknown>): Promise<void> => {
    if (!fromElsewhere(message)) return;
    try {
      await step();
      log.info({ from: message.from, topic: message.topic }, `Did ${what}, as node ${message.from} asked`);
    } catch (err) {
      log.error({ err: toError(err), from: message.from, topic: message.topic }, `Could not do ${what}, as node ${message.from} asked`);
    }
  };
  const removers = (Object.keys(PLUGIN_TOPICS) as PluginAction[]).map((action) =>
    bus.subscribe(PLUGIN_TOPICS[action], (message) => {
      const name = message.payload['name'];
      if (typeof name !== 'string' || name === '') return;
      return apply(message, `plugin ${action} "${name}"`, () => plugins()[action](name));
    }),
  );
  removers.push(bus.subscribe(CLUSTER_TOPICS.configReload, (message) => apply(message, 'a config reload', () => runtime.reload())));
  runtime.onShutdown(() => {
    for (const remove of removers) remove();
  });
};
