// Opens the store a `store.url` names: `memory`, `sqlite:<file>` (relative
// to the data folder) or `postgres://…`. The drivers load only when used.

import { mkdirSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { DeliveryStoreError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { StoreConfig } from './config-schema.js';
import { MemoryStore } from './memory-store.js';
import type { DeliveryStore } from './store.js';

export interface OpenStoreOptions {
  /** Where a relative `sqlite:` path lives. */
  readonly dataDir: string;
  readonly logger: Logger;
}

/** The SQLite file a `sqlite:` URL names, resolved against the data folder. */
export function sqlitePath(url: string, dataDir: string): string {
  const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
  return isAbsolute(path) ? path : resolve(dataDir, path);
}

export async function openStore(config: StoreConfig, options: OpenStoreOptions): Promise<DeliveryStore> {
  const url = config.url;
  if (url === 'memory') return new MemoryStore();
  if (url.startsWith('sqlite:')) {
    const file = sqlitePath(url, options.dataDir);
    try {
      mkdirSync(dirname(file), { recursive: true });
    } catch (err) {
      throw new DeliveryStoreError(`Cannot create the folder of the delivery store "${file}": ${(err as Error).message}. Check "server.data_dir" and "store.url".`, { cause: err });
    }
    // On a thread of its own: its statements and commits run beside the dispatcher.
    const { SqliteThreadStore } = await import('./sqlite-thread-store.js');
    return new SqliteThreadStore({ file, synchronous: config.synchronous });
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    const { PostgresStore } = await import('./postgres-store.js');
    return new PostgresStore({ url, poolSize: config.pool_size, logger: options.logger });
  }
  throw new DeliveryStoreError(`Unknown store URL "${url}": use "memory", "sqlite:<file>" or "postgres://…".`);
}
