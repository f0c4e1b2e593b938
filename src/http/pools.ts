// Keep-alive client pools (client-pool.ts), one per (origin, checked
// address). The address is part of the key because each pool's sockets are
// pinned to the address the SSRF guard checked; a DNS change yields a new
// pool instead of reusing one that connects somewhere unchecked. A target's
// transport profile (client certificate, CAs, proxy) is part of the key too.
// Through a proxy the pool is undici's ProxyAgent: the proxy connects to the
// host name (CONNECT host:port) and resolves it itself, so the pinned address
// does not apply there (docs/webhooks.md, "Through a proxy").

import { ProxyAgent, type Dispatcher } from 'undici';
import { ClientPool } from './client-pool.js';
import { exchange, type ExchangeResult } from './exchange.js';
import type { FormRequest, HttpLane, HttpTransport, RequestForm } from './transport.js';
import { pinnedLookup, type CheckedTarget } from './ssrf-guard.js';
import { tlsOptions, type TransportProfile } from './transport-profile.js';

/** What a lane sends on: a ClientPool, or a proxy's agent bound to one origin. */
export interface LanePool extends Pick<Dispatcher, 'dispatch'> {
  readonly closed: boolean;
  readonly destroyed: boolean;
  close(): Promise<void>;
  destroy(err?: Error): Promise<void>;
}

/** A ProxyAgent for one origin: undici's agents want the origin on every request, pools know it. */
class ProxyPool implements LanePool {
  readonly #agent: ProxyAgent;
  readonly #origin: string;
  #closed = false;
  #destroyed = false;

  constructor(origin: string, profile: TransportProfile, connections: number) {
    this.#origin = origin;
    const tls = tlsOptions(profile);
    this.#agent = new ProxyAgent({ uri: profile.proxy as string, connections, requestTls: tls, ...(profile.ca === undefined ? {} : { proxyTls: { ca: profile.ca } }) });
  }

  get closed(): boolean {
    return this.#closed;
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return this.#agent.dispatch({ ...options, origin: this.#origin }, handler);
  }

  close(): Promise<void> {
    this.#closed = true;
    return this.#agent.close();
  }

  destroy(err?: Error): Promise<void> {
    this.#destroyed = true;
    return this.#agent.destroy(err ?? null);
  }
}

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
  readonly pool: LanePool;

  constructor(pool: LanePool) {
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
  readonly pool: LanePool;
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

  /** The pool for `origin` whose sockets go to the checked address (made as `profile` says). */
  get(origin: string, target: CheckedTarget, profile?: TransportProfile): LanePool {
    return this.#entry(origin, target, profile).pool;
  }

  lane(origin: string, target: CheckedTarget, profile?: TransportProfile): HttpLane {
    return this.#entry(origin, target, profile).lane;
  }

  #entry(origin: string, target: CheckedTarget, profile: TransportProfile | undefined): Entry {
    const key = profile === undefined ? `${origin}|${target.address}` : `${origin}|${target.address}|${profile.id}`;
    const found = this.#pools.get(key);
    if (found !== undefined) {
      found.used = ++this.#tick;
      return found;
    }
    const pool: LanePool =
      profile?.proxy !== undefined
        ? new ProxyPool(origin, profile, this.#connections)
        : new ClientPool(origin, {
            connections: this.#connections,
            keepAliveTimeout: this.#keepAlive,
            connect: { lookup: pinnedLookup(target) as never, ...tlsOptions(profile) },
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
