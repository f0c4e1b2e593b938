// The SQLite store run on a thread of its own (sqlite-worker.ts): the same
// store, the same file and the same guarantees (a call resolves once its
// transaction committed), but the statements run beside the dispatcher and
// its HTTP traffic rather than on the main thread. What `hookwork serve`
// opens for `sqlite:` URLs; SqliteStore itself stays for in-thread use.

import { Worker } from 'node:worker_threads';
import { DeliveryStoreError, HookworkError } from '../errors.js';
import { storeFault } from './store-faults.js';
import { workerEntry, workerExecArgv, workerModule } from '../worker-threads.js';
import type { SqliteStoreOptions } from './sqlite-store.js';
import type { StoreAnswer, StoreCall } from './sqlite-worker.js';
import {
  eventJsonOf,
  StoredRecord,
  type ClaimRequest,
  type DeliveryDetail,
  type DeliveryStore,
  type DisabledTarget,
  type ListFilter,
  type PurgeRequest,
  type ReplayRequest,
  type SettleRequest,
  type Settlement,
  type StoredDeliveryInput,
  type TargetDepth,
} from './store.js';
import type { AttemptRecord, DeliveryRecord, DeliveryState } from './types.js';

interface Waiting {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
}

// What crosses the thread: enqueue rows, settles and claimed records go as
// flat arrays of primitives, not arrays of objects. Structured clone of many
// small objects cost both threads several times more than the statements
// they carried. An event equal to the previous row's is sent once (null
// after it): deliveries of one event to several targets, and bursts of the
// same event, share one string on either side.

/** One value of a packed array. */
export type Packed = string | number | boolean | null;

const ROW_FIELDS = 8;

export function packRows(rows: readonly StoredDeliveryInput[]): Packed[] {
  const out: Packed[] = new Array<Packed>(rows.length * ROW_FIELDS);
  let last: string | undefined;
  let i = 0;
  for (const r of rows) {
    const json = eventJsonOf(r);
    out[i++] = r.id;
    out[i++] = r.target;
    out[i++] = json === last ? null : json;
    out[i++] = r.webhookId;
    out[i++] = r.dueAt;
    out[i++] = r.createdAt;
    out[i++] = r.claim?.nodeId ?? null;
    out[i++] = r.claim?.leaseUntil ?? null;
    last = json;
  }
  return out;
}

export function unpackRows(packed: readonly Packed[]): StoredDeliveryInput[] {
  const rows: StoredDeliveryInput[] = [];
  let json = '';
  for (let i = 0; i < packed.length; i += ROW_FIELDS) {
    if (packed[i + 2] !== null) json = packed[i + 2] as string;
    const nodeId = packed[i + 6];
    const base = {
      id: packed[i] as string,
      target: packed[i + 1] as string,
      eventJson: json,
      webhookId: packed[i + 3] as string,
      dueAt: packed[i + 4] as number,
      createdAt: packed[i + 5] as number,
    };
    rows.push(nodeId === null ? base : { ...base, claim: { nodeId: nodeId as string, leaseUntil: packed[i + 7] as number } });
  }
  return rows;
}

/** Every field of an attempt record, in packing order (the type check below fails when one is added and not listed). */
const ATTEMPT_FIELDS = [
  'deliveryId',
  'attempt',
  'startedAt',
  'durationMs',
  'ok',
  'retryable',
  'retryAfterMs',
  'disableTarget',
  'httpStatus',
  'exitCode',
  'response',
  'error',
] as const satisfies readonly (keyof AttemptRecord)[];
type Unlisted = Exclude<keyof AttemptRecord, (typeof ATTEMPT_FIELDS)[number]>;
const everyAttemptField: [Unlisted] extends [never] ? true : Unlisted = true;
void everyAttemptField;

/** deliveryId, nodeId, attempt, unattempted, outcome (state, dueAt, error, resetAttempts), then the record's fields. */
const SETTLE_FIELDS = 8 + ATTEMPT_FIELDS.length;

export function packSettles(requests: readonly SettleRequest[]): Packed[] {
  const out: Packed[] = new Array<Packed>(requests.length * SETTLE_FIELDS);
  let i = 0;
  for (const r of requests) {
    const o = r.outcome;
    out[i++] = r.deliveryId;
    out[i++] = r.nodeId;
    out[i++] = r.attempt;
    out[i++] = r.unattempted ?? null;
    out[i++] = o.state;
    out[i++] = o.state === 'pending' ? o.dueAt : null;
    out[i++] = o.state === 'done' ? null : (o.error ?? null);
    out[i++] = o.state === 'pending' ? (o.resetAttempts ?? null) : null;
    const record = r.record as unknown as Record<string, Packed | undefined>;
    for (const field of ATTEMPT_FIELDS) out[i++] = record[field] ?? null;
  }
  return out;
}

export function unpackSettles(packed: readonly Packed[]): SettleRequest[] {
  const out: SettleRequest[] = [];
  for (let i = 0; i < packed.length; i += SETTLE_FIELDS) {
    const state = packed[i + 4] as Settlement['state'];
    const error = packed[i + 6] as string | null;
    let outcome: Settlement;
    if (state === 'done') outcome = { state };
    else if (state === 'failed') outcome = { state, error: error as string };
    else {
      const reset = packed[i + 7];
      outcome = { state, dueAt: packed[i + 5] as number, ...(error === null ? {} : { error }), ...(reset === null ? {} : { resetAttempts: reset as boolean }) };
    }
    const record: Record<string, Packed> = {};
    let k = i + 8;
    for (const field of ATTEMPT_FIELDS) {
      const value = packed[k++] as Packed;
      if (value !== null) record[field] = value;
    }
    const unattempted = packed[i + 3];
    const request = {
      deliveryId: packed[i] as string,
      nodeId: packed[i + 1] as string,
      attempt: packed[i + 2] as number,
      record: record as unknown as AttemptRecord,
      outcome,
    };
    out.push(unattempted === null ? request : { ...request, unattempted: unattempted as boolean });
  }
  return out;
}

const CLAIMED_FIELDS = 10;

/** Claimed records (fresh from the store: their event is the stored JSON) as a flat array. */
export function packClaimed(records: readonly DeliveryRecord[]): Packed[] {
  const out: Packed[] = new Array<Packed>(records.length * CLAIMED_FIELDS);
  let last: string | undefined;
  let i = 0;
  for (const d of records) {
    const json = d.eventJson ?? JSON.stringify(d.event);
    out[i++] = d.id;
    out[i++] = d.target;
    out[i++] = json === last ? null : json;
    out[i++] = d.webhookId;
    out[i++] = d.attempts;
    out[i++] = d.state;
    out[i++] = d.dueAt;
    out[i++] = d.createdAt;
    out[i++] = d.updatedAt;
    out[i++] = d.lastError ?? null;
    last = json;
  }
  return out;
}

/** Claimed records again; the event is parsed here, on first read, and one string serves every record of the same event. */
export function unpackClaimed(packed: readonly Packed[]): DeliveryRecord[] {
  const out: DeliveryRecord[] = [];
  let json = '';
  for (let i = 0; i < packed.length; i += CLAIMED_FIELDS) {
    if (packed[i + 2] !== null) json = packed[i + 2] as string;
    out.push(
      new StoredRecord({
        id: packed[i] as string,
        target: packed[i + 1] as string,
        eventJson: json,
        webhookId: packed[i + 3] as string,
        attempts: packed[i + 4] as number,
        state: packed[i + 5] as DeliveryState,
        dueAt: packed[i + 6] as number,
        createdAt: packed[i + 7] as number,
        updatedAt: packed[i + 8] as number,
        lastError: (packed[i + 9] as string | null) ?? undefined,
      }),
    );
  }
  return out;
}

/** The worker's error again, as the error class the caller would have had in-thread where that matters. */
function rebuild(error: { name: string; message: string; code?: string }): Error {
  // Disk full, busy, I/O error: unavailable for now (store-faults.ts), with the SQLite code kept for the classification.
  const fault = storeFault(error);
  if (fault !== undefined) return new DeliveryStoreError(`The SQLite delivery store cannot serve now (${error.message}).${fault === 'disk-full' ? ' The disk is full: free space (or lower delivery.retention) and retry.' : ''}`, { cause: error, fault });
  if (error.code === 'HKW_ERR_DELIVERY_STORE' || error.name === 'SqliteError') return new DeliveryStoreError(error.message);
  const rebuilt = new Error(error.message);
  rebuilt.name = error.name;
  if (error.code !== undefined) (rebuilt as Error & { code: string }).code = error.code;
  return rebuilt;
}

export class SqliteThreadStore implements DeliveryStore {
  readonly kind = 'sqlite' as const;
  readonly file: string;
  readonly #worker: Worker;
  readonly #waiting = new Map<number, Waiting>();
  #nextId = 0;
  #failure: Error | undefined;
  #closed = false;

  constructor(options: SqliteStoreOptions) {
    this.file = options.file;
    const execArgv = workerExecArgv();
    const { entry, eval: isScript } = workerEntry(workerModule(import.meta.url, './sqlite-worker'));
    this.#worker = new Worker(entry, {
      eval: isScript,
      workerData: options,
      ...(execArgv === undefined ? {} : { execArgv }),
    });
    this.#worker.on('message', (answer: StoreAnswer) => {
      const waiting = this.#waiting.get(answer.id);
      if (waiting === undefined) return;
      this.#waiting.delete(answer.id);
      if (this.#waiting.size === 0) this.#worker.unref();
      if ('error' in answer) waiting.reject(rebuild(answer.error));
      else waiting.resolve(answer.value);
    });
    const fail = (error: Error): void => {
      this.#failure ??= new DeliveryStoreError(`The SQLite store's thread stopped (${error.message}); the gateway must be restarted.`, { cause: error });
      for (const waiting of this.#waiting.values()) waiting.reject(this.#failure);
      this.#waiting.clear();
    };
    this.#worker.unref();
    this.#worker.on('error', fail);
    this.#worker.on('exit', (code) => {
      if (!this.#closed) fail(new Error(`exit code ${code}`));
    });
  }

  #call<T>(method: string, ...args: unknown[]): Promise<T> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (this.#closed) return Promise.reject(new DeliveryStoreError(`The SQLite store "${this.file}" is closed.`));
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      // The thread keeps the process alive only while a call waits on it, as an open file would not.
      if (this.#waiting.size === 0) this.#worker.ref();
      this.#waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.#worker.postMessage({ id, method, args } satisfies StoreCall);
    });
  }

  migrate(): Promise<void> {
    return this.#call('migrate');
  }

  enqueue(rows: readonly StoredDeliveryInput[]): Promise<void> {
    return this.#call('enqueue', packRows(rows));
  }

  async claim(request: ClaimRequest): Promise<DeliveryRecord[]> {
    return unpackClaimed(await this.#call<Packed[]>('claim', request));
  }

  settle(requests: readonly SettleRequest[]): Promise<number> {
    return this.#call('settle', packSettles(requests));
  }

  async settleAndClaim(settles: readonly SettleRequest[], claim: ClaimRequest | undefined): Promise<DeliveryRecord[]> {
    return unpackClaimed(await this.#call<Packed[]>('settleAndClaim', packSettles(settles), claim));
  }

  list(filter?: ListFilter): Promise<DeliveryRecord[]> {
    return this.#call('list', filter);
  }

  get(id: string): Promise<DeliveryDetail | undefined> {
    return this.#call('get', id);
  }

  retry(id: string, now: number): Promise<boolean> {
    return this.#call('retry', id, now);
  }

  countReplay(request: Omit<ReplayRequest, 'now' | 'limit'>): Promise<number> {
    return this.#call('countReplay', request);
  }

  replayBatch(request: ReplayRequest): Promise<number> {
    return this.#call('replayBatch', request);
  }

  purge(request: PurgeRequest): Promise<number> {
    return this.#call('purge', request);
  }

  depthByTarget(): Promise<TargetDepth[]> {
    return this.#call('depthByTarget');
  }

  disableTarget(target: string, reason: string, at: number): Promise<void> {
    return this.#call('disableTarget', target, reason, at);
  }

  enableTarget(target: string): Promise<boolean> {
    return this.#call('enableTarget', target);
  }

  disabledTargets(): Promise<DisabledTarget[]> {
    return this.#call('disabledTargets');
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      if (this.#failure === undefined) await this.#call('close');
    } catch (err) {
      if (!(err instanceof HookworkError)) throw err;
    } finally {
      this.#closed = true;
      await this.#worker.terminate();
    }
  }
}
