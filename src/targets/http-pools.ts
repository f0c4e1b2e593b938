// Keep-alive client pools (client-pool.ts), one per (origin, checked
// address). The address is part of the key because each pool's sockets are
// pinned to the address the SSRF guard checked; a DNS change yields a new
// pool instead of reusing one that connects somewhere unchecked.

import { ClientPool } from './client-pool.js';
import { pinnedLookup, type CheckedTarget } from './ssrf-guard.js';

export interface HttpPoolsOptions {
  /** Sockets per pool (default 16). */
  connections?: number;
  /** Pools kept open at most; the least recently used one is closed beyond (default 256). */
  maxPools?: number;
  /** Idle keep-alive in ms (default 30 s). */
  keepAliveTimeoutMs?: number;
}

interface Entry {
  readonly pool: ClientPool;
  /** Recency, for evicting the least recently used pool. */
  used: number;
}

export class HttpPools {
  readonly #pools = new Map<string, Entry>();
  #tick = 0;
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
  get(origin: string, target: CheckedTarget): ClientPool {
    const key = `${origin}|${target.address}`;
    const entry = this.#pools.get(key);
    if (entry !== undefined) {
      entry.used = ++this.#tick;
      return entry.pool;
    }
    const pool = new ClientPool(origin, {
      connections: this.#connections,
      keepAliveTimeout: this.#keepAlive,
      connect: { lookup: pinnedLookup(target) as never },
    });
    if (this.#pools.size >= this.#maxPools) this.#evictOldest();
    this.#pools.set(key, { pool, used: ++this.#tick });
    return pool;
  }

  // Only when a new pool would exceed the limit: a scan, not per-request bookkeeping.
  #evictOldest(): void {
    let oldestKey: string | undefined;
    let oldest = Number.POSITIVE_INFINITY;
    for (const [key, entry] of this.#pools) {
      if (entry.used < oldest) {
        oldest = entry.used;
        oldestKey = key;
      }
    }
    if (oldestKey === undefined) return;
    const { pool } = this.#pools.get(oldestKey) as Entry;
    this.#pools.delete(oldestKey);
    void pool.close().catch(() => undefined);
  }

  get size(): number {
    return this.#pools.size;
  }

  get closed(): boolean {
    return this.#closed;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const pools = [...this.#pools.values()].map((entry) => entry.pool);
    this.#pools.clear();
    await Promise.all(pools.map((pool) => pool.close().catch(() => pool.destroy())));
  }
}
