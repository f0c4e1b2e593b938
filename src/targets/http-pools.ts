// Keep-alive undici pools, one per (origin, checked address). The address is
// part of the key because each pool's sockets are pinned to the address the
// SSRF guard checked; a DNS change yields a new pool instead of reusing one
// that connects somewhere unchecked.

import { Pool } from 'undici';
import { pinnedLookup, type CheckedTarget } from './ssrf-guard.js';

export interface HttpPoolsOptions {
  /** Sockets per pool (default 16). */
  connections?: number;
  /** Pools kept open at most; the least recently used one is closed beyond (default 256). */
  maxPools?: number;
  /** Idle keep-alive in ms (default 30 s). */
  keepAliveTimeoutMs?: number;
}

export class HttpPools {
  readonly #pools = new Map<string, Pool>();
  readonly #connections: number;
  readonly #maxPools: number;
  readonly #keepAlive: number;
  #closed = false;

  constructor(options: HttpPoolsOptions = {}) {
    this.#connections = options.connections ?? 16;
    this.#maxPools = options.maxPools ?? 256;
    this.#keepAlive = options.keepAliveTimeoutMs ?? 30_000;
  }

  /** The pool for `origin` whose sockets go to the checked address. */
  get(origin: string, target: CheckedTarget): Pool {
    const key = `${origin}|${target.address}`;
    let pool = this.#pools.get(key);
    if (pool !== undefined) {
      // Map order doubles as recency: move to the end.
      this.#pools.delete(key);
      this.#pools.set(key, pool);
      return pool;
    }
    pool = new Pool(origin, {
      connections: this.#connections,
      pipelining: 1,
      keepAliveTimeout: this.#keepAlive,
      connect: { lookup: pinnedLookup(target) as never },
    });
    this.#pools.set(key, pool);
    if (this.#pools.size > this.#maxPools) {
      const [oldestKey, oldest] = this.#pools.entries().next().value as [string, Pool];
      this.#pools.delete(oldestKey);
      void oldest.close().catch(() => undefined);
    }
    return pool;
  }

  get size(): number {
    return this.#pools.size;
  }

  get closed(): boolean {
    return this.#closed;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((pool) => pool.close().catch(() => pool.destroy())));
  }
}
