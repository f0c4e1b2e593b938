// Management that reaches every node: a plugin load/unload/reload or a config
// reload requested on one node is done there, then published on the cluster
// bus (LISTEN/NOTIFY with PostgreSQL), and every other node does the same
// locally. Each node reads its own config files on a config reload. With one
// node (SQLite, memory) there is no bus and this is just the local call.
// It knows plugins and reloads only through the functions it is given, so
// the cluster sits below the subsystems it steers.

import { toError } from '../errors.js';
import type { Logger } from '../logger.js';
import { CLUSTER_TOPICS, type ClusterBus, type ClusterMessage } from './bus.js';

/** What the control does to plugins, on this node. */
export interface PluginControl<Info> {
  load(name: string): Promise<Info>;
  unload(name: string): Promise<Info>;
  reload(name: string): Promise<Info>;
}

export interface ClusterControl<Info = unknown, Report = unknown> {
  loadPlugin(name: string): Promise<Info>;
  unloadPlugin(name: string): Promise<Info>;
  reloadPlugin(name: string): Promise<Info>;
  /** Reads the config again and applies it here, then on every other node. */
  reloadConfig(): Promise<Report>;
}

export interface ClusterControlOptions<Info, Report> {
  /** The bus to the other nodes; none with one node. */
  readonly bus?: ClusterBus | undefined;
  readonly logger: Logger;
  /** This node's plugins (it may throw when plugins are not installed). */
  readonly plugins: () => PluginControl<Info>;
  readonly reloadConfig: () => Promise<Report>;
}

type PluginAction = 'load' | 'unload' | 'reload';

const PLUGIN_TOPICS: Readonly<Record<PluginAction, string>> = {
  load: CLUSTER_TOPICS.pluginLoad,
  unload: CLUSTER_TOPICS.pluginUnload,
  reload: CLUSTER_TOPICS.pluginReload,
};

/** The control and the disposer of its subscriptions to the other nodes. */
export function createClusterControl<Info, Report>(
  options: ClusterControlOptions<Info, Report>,
): { control: ClusterControl<Info, Report>; dispose: () => void } {
  const { bus, plugins, reloadConfig } = options;
  const log = options.logger.child({ component: 'cluster' });

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

  const control: ClusterControl<Info, Report> = {
    loadPlugin: pluginAction('load'),
    unloadPlugin: pluginAction('unload'),
    reloadPlugin: pluginAction('reload'),
    reloadConfig: () => everywhere(CLUSTER_TOPICS.configReload, {}, reloadConfig),
  };
  if (bus === undefined) return { control, dispose: () => undefined };

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
  removers.push(bus.subscribe(CLUSTER_TOPICS.configReload, (message) => apply(message, 'a config reload', reloadConfig)));
  return {
    control,
    dispose: () => {
      for (const remove of removers) remove();
    },
  };
}
