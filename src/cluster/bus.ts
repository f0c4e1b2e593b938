// The cluster bus: control messages (plugin load/unload/reload, config
// reload) published on one node reach every node, the publisher included.
// With PostgreSQL it rides on LISTEN/NOTIFY; otherwise there is one node and
// the bus is local.

import type { Logger } from '../logger.js';

/** Well-known topics; any string works. */
export const CLUSTER_TOPICS = {
  pluginLoad: 'plugin.load',
  pluginUnload: 'plugin.unload',
  pluginReload: 'plugin.reload',
  configReload: 'config.reload',
} as const;

export interface ClusterMessage {
  readonly topic: string;
  /** The node that published it. */
  readonly from: string;
  readonly payload: Readonly<Record<string, unknown>>;
}

export type ClusterListener = (message: ClusterMessage) => void | Promise<void>;

export interface ClusterBus {
  readonly nodeId: string;
  /** True when messages reach other nodes (PostgreSQL); false for a single node. */
  readonly shared: boolean;
  /** Sends to every node (this one too). Payloads must be JSON and under ~7 KB. */
  publish(topic: string, payload?: Record<string, unknown>): Promise<void>;
  /** Listens to one topic, or `*` for all; returns the remover. */
  subscribe(topic: string, listener: ClusterListener): () => void;
}

/** Routes received messages to subscribers; a failing listener never stops the others. */
export class ClusterListeners {
  readonly #byTopic = new Map<string, Set<ClusterListener>>();
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  add(topic: string, listener: ClusterListener): () => void {
    let set = this.#byTopic.get(topic);
    if (set === undefined) {
      set = new Set();
      this.#byTopic.set(topic, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  deliver(message: ClusterMessage): void {
    for (const key of [message.topic, '*']) {
      for (const listener of this.#byTopic.get(key) ?? []) {
        void (async () => listener(message))().catch((err: unknown) =>
          this.#logger.error({ err, topic: message.topic }, 'A cluster message listener failed'),
        );
      }
    }
  }
}

/** One node: publish delivers locally, asynchronously. */
export class LocalClusterBus implements ClusterBus {
  readonly nodeId: string;
  readonly shared = false;
  readonly #listeners: ClusterListeners;

  constructor(nodeId: string, logger: Logger) {
    this.nodeId = nodeId;
    this.#listeners = new ClusterListeners(logger);
  }

  async publish(topic: string, payload: Record<string, unknown> = {}): Promise<void> {
    const message: ClusterMessage = Object.freeze({ topic, from: this.nodeId, payload: structuredClone(payload) });
    queueMicrotask(() => this.#listeners.deliver(message));
  }

  subscribe(topic: string, listener: ClusterListener): () => void {
    return this.#listeners.add(topic, listener);
  }
}
