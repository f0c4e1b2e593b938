// The SQLite store's own thread: it owns the database and runs the store's
// calls as the main thread posts them, so the statements and their commits
// (the largest cost of a delivery) run beside the dispatcher and its HTTP
// traffic instead of on the same thread. One message per call, answered with
// the same id.

import { parentPort, workerData } from 'node:worker_threads';
import { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';

export interface StoreCall {
  readonly id: number;
  readonly method: string;
  readonly args: readonly unknown[];
}

export type StoreAnswer =
  | { readonly id: number; readonly value: unknown }
  | { readonly id: number; readonly error: { readonly name: string; readonly message: string; readonly code?: string } };

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

port.on('message', (call: StoreCall) => {
  void (async () => {
    try {
      if (store === undefined) throw opening;
      const method = (store as unknown as Record<string, (...args: unknown[]) => unknown>)[call.method];
      if (typeof method !== 'function') throw new Error(`the SQLite store has no method "${call.method}"`);
      const value = await method.apply(store, call.args as unknown[]);
      port.postMessage({ id: call.id, value } satisfies StoreAnswer);
    } catch (err) {
      port.postMessage({ id: call.id, error: errorOf(err) } satisfies StoreAnswer);
    }
  })();
});
