// One answer to "is this store error the store being unavailable for now?".
// PostgreSQL restarting, a dropped connection, SQLite's disk full or database
// busy: the caller should try again later (503 with Retry-After), and the
// node's health says the store is lost (or the disk full) until an operation
// succeeds again. Anything else (a bug, a constraint) stays what it is.

import { DeliveryStoreError } from '../errors.js';

/** Why a store cannot serve now: unreachable or refusing for now, or out of space. */
export type StoreFault = 'unavailable' | 'disk-full';

/** Node's socket errors that mean the server went away or is not there yet. */
const NET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED']);

/**
 * PostgreSQL SQLSTATEs: 57P01 admin_shutdown ("terminating connection due to
 * administrator command"), 57P02 crash_shutdown, 57P03 cannot_connect_now
 * ("the database system is starting up / shutting down"), 53300
 * too_many_connections; class 08 is every connection exception.
 */
const PG_CODES = new Set(['57P01', '57P02', '57P03', '53300']);

/** SQLite result codes (better-sqlite3's `code`, extended codes included). */
function sqliteFault(code: string): StoreFault | undefined {
  if (code === 'SQLITE_FULL') return 'disk-full';
  if (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_') || code === 'SQLITE_LOCKED' || code.startsWith('SQLITE_IOERR')) return 'unavailable';
  return undefined;
}

/** pg's messages when a connection dies without a code. */
const PG_MESSAGES = /Connection terminated|connection error and is not queryable|timeout exceeded when trying to connect|terminating connection|the database system is (starting up|shutting down|in recovery mode)/i;

/**
 * What kind of store fault `err` is (looking through `cause`), or undefined
 * when it is not a store-unavailable condition.
 */
export function storeFault(err: unknown): StoreFault | undefined {
  for (let e = err, depth = 0; e !== null && typeof e === 'object' && depth < 5; depth++) {
    const { code, message, fault } = e as { code?: unknown; message?: unknown; fault?: unknown };
    if (fault === 'unavailable' || fault === 'disk-full') return fault;
    if (typeof code === 'string') {
      if (code === 'ENOSPC' || code === 'EDQUOT') return 'disk-full';
      if (NET_CODES.has(code) || PG_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code)) return 'unavailable';
      if (code.startsWith('SQLITE_')) {
        const f = sqliteFault(code);
        if (f !== undefined) return f;
      }
    }
    if (typeof message === 'string') {
      if (/database or disk is full|no space left on device/i.test(message)) return 'disk-full';
      if (PG_MESSAGES.test(message)) return 'unavailable';
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * `err` as the error callers should see: a DeliveryStoreError (503, with its
 * fault and Retry-After) when the store is unavailable, else `err` unchanged.
 * `where` names the store for the message (no password).
 */
export function asStoreError(err: unknown, where: string): unknown {
  if (err instanceof DeliveryStoreError && err.fault !== undefined) return err;
  const fault = storeFault(err);
  if (fault === undefined) return err;
  const detail = err instanceof Error ? err.message : String(err);
  const advice =
    fault === 'disk-full'
      ? 'The disk is full: free space (or lower delivery.retention) and retry.'
      : 'It is restarting or unreachable; retry shortly.';
  return new DeliveryStoreError(`The delivery store ${where} cannot serve now (${detail}). ${advice}`, { cause: err, fault });
}
