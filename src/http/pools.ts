// Keep-alive client pools (client-pool.ts), one per (origin, checked
// address). The address is part of the key because each pool's sockets are
// pinned to the address the SSRF guard checked; a DNS change yields a new
// pool instead of reusing one that connects somewhere unchecked.

import { ClientPool } from './client-pool.js';
import { exchange, type ExchangeResult } from './exchange.js';
import type { FormRequest, HttpLane, HttpTransport, RequestForm } from './transport.js';
import { pinnedLookup, type CheckedTarget } from './ssrf-guard.js';

export interface HttpPoolsOptions {
  /** Sockets per pool (default 16). */
  connections?: number;
  /** Pools kept open at most; the least recently used one is closed beyond (default 256). */
  maxPools?: number;
  /** Idle keep-alive in ms (default 30 s). */
  keepAliveTimeoutMs?: number;
}

/** A pool as a lane of this thread's transport. */
class PoolLane implements HttpLane {
  readonly pool: ClientPool;

  constructor(pool: ClientPool) {
    this.pool = pool;
  }

  get stale(): boolean {
    return this.pool.closed || this.pool.destroyed;
  }

  send(form: RequestForm, request: FormRequest): Promise<ExchangeResult> {
    // Bytes once: the signature and undici (which would convert a string itself) share them.
    const body = typeof request.body === 'string' ? Buffer.from(request.body) : request.body;
    return exchange(this.pool, {
      path: request.path,
      method: form.method,
      headers: form.headerList(request, body),
      body,
      timeoutMs: form.timeoutMs,
      signal: request.signal,
    });
  }
}

interface Entry {
  readonly pool: ClientPool;
  readonly lane: PoolLane;
  /** Recency, for evicting the least recently used pool. */
  used: number;
}

export class HttpPools implements HttpTransport {
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
    return this.#entry(origin, target).pool;
  }

  lane(origin: string, target: CheckedTarget): HttpLane {
    return this.#entry(origin, target).lane;
  }

  #entry(origin: string, target: CheckedTarget): Entry {
    const key = `${origin}|${target.address}`;
    const found = this.#pools.get(key);
    if (found !== undefined) {
      found.used = ++this.#tick;
      return found;
    }
    const pool = new ClientPool(origin, {
      connections: this.#connections,
      keepAliveTimeout: this.#keepAlive,
      connect: { lookup: pinnedLookup(target) as never },
    });
    if (this.#pools.size >= this.#maxPools) this.#evictOldest();
    const entry: Entry = { pool, lane: new PoolLane(pool), used: ++this.#tick };
    this.#pools.set(key, entry);
    return entry;
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
