// The SQLite store on its own thread (what `hookwork serve` opens for sqlite:
// URLs) passes the same contract as the in-thread store.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openStore } from '../../src/delivery/open-store.js';
import { SqliteThreadStore } from '../../src/delivery/sqlite-thread-store.js';
import { silentLogger } from '../../src/logger.js';
import { storeContract } from './store-contract.js';

storeContract('sqlite (own thread)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hookwork-sqlite-thread-'));
  const store = new SqliteThreadStore({ file: join(dir, 'deliveries.db') });
  return {
    store,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

test('store.url sqlite: opens the store on its own thread; a file that cannot be opened is a clear store error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hookwork-sqlite-thread-'));
  try {
    const store = await openStore({ url: 'sqlite:nested/hookwork.db', synchronous: 'full', pool_size: 4 } as never, { dataDir: dir, logger: silentLogger() });
    assert.ok(store instanceof SqliteThreadStore);
    await store.migrate();
    assert.deepEqual(await store.depthByTarget(), []);
    await store.close();
    const broken = new SqliteThreadStore({ file: join(dir, 'no-such-folder', 'x.db') });
    await assert.rejects(broken.migrate(), { code: 'HKW_ERR_DELIVERY_STORE', message: /Cannot open the SQLite delivery store/ });
    await broken.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
