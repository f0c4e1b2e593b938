// The SQLite store's own thread: it owns the database and runs the store's
// calls as the main thread posts them, so the statements and their commits
// (the largest cost of a delivery) run beside the dispatcher and its HTTP
// traffic instead of on the same thread. One message per call, answered with
// the same id.

import { parentPort, workerData } from 'node:worker_threads';
import { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
import type { Packed, StoreAnswer, StoreCall } from './sqlite-wire.js';
import type { ClaimRequest } from './store.js';

const port = parentPort;
if (port === null) throw new Error('sqlite-worker.ts runs as a worker thread of SqliteThreadStore.');

let store: SqliteStore | undefined;
let opening: unknown;
try {
  store = new SqliteStore(workerData as SqliteStoreOptions);
} catch (err) {
  opening = err; // every call answers with it
}

function errorOf(err: unknown): { name: string; message: string; code?: string } {
  const error = err instanceof Error ? err : new Error(String(err));
  const code = (error as { code?: unknown }).code;
  return { name: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}) };
}

/** The dispatcher's and the queue's calls come packed (see sqlite-wire.ts); the rest as they are. */
async function run(store: SqliteStore, call: StoreCall): Promise<unknown> {
  const args = call.args;
  switch (call.method) {
    // Read and answered packed, with no object per delivery on this side.
    case 'enqueue':
      return store.enqueuePacked(args[0] as Packed[]);
    case 'settle':
      return store.settlePacked(args[0] as Packed[]);
    case 'claim':
      return store.claimPacked(args[0] as ClaimRequest);
    case 'settleAndClaim':
      return store.settleAndClaimPacked(args[0] as Packed[], args[1] as ClaimRequest | undefined);
    default: {
      const method = (store as unknown as Record<string, (...a: unknown[]) => unknown>)[call.method];
      if (typeof method !== 'function') throw new Error(`the SQLite store has no method "${call.method}"`);
      return method.apply(store, args as unknown[]);
    }
  }
}

port.on('message', (call: StoreCall) => {
  void (async () => {
    try {
      if (store === undefined) throw opening;
      const value = await run(store, call);
      port.postMessage({ id: call.id, value } satisfies StoreAnswer);
    } catch (err) {
      port.postMessage({ id: call.id, error: errorOf(err) } satisfies StoreAnswer);
    }
  })();
});
