// The SQLite store run on a thread of its own (sqlite-worker.ts): the same
// store, the same file and the same guarantees (a call resolves once its
// transaction committed), but the statements run beside the dispatcher and
// its HTTP traffic rather than on the main thread. What `hookwork serve`
// opens for `sqlite:` URLs; SqliteStore itself stays for in-thread use.

import type { IdempotencyClaim, IdempotencyReservation } from '../events/idempotency.js';
import { Worker } from 'node:worker_threads';
import { DeliveryStoreError, HookworkError } from '../errors.js';
import { storeFault } from './store-faults.js';
import { workerEntry, workerExecArgv, workerModule } from '../worker-threads.js';
import type { SqliteStoreOptions } from './sqlite-store.js';
import { packRows, packSettles, unpackClaimed, type Packed, type StoreAnswer, type StoreCall } from './sqlite-wire.js';
import {
  type ClaimRequest,
  type DeliveryDetail,
  type DeliveryStore,
  type DisabledTarget,
  type TargetSecretsRecord,
  type CountRequest,
  type ListFilter,
  type StateCounts,
  type PurgeRequest,
  type ReplayRequest,
  type SettleRequest,
  type StoredDeliveryInput,
  type TargetDepth,
  type TargetOpen,
  type DigestDeliveryInput,
  type DigestHead,
  type DigestMemberInput,
} from './store.js';
import type { DeliveryRecord } from './types.js';
import type { ScheduleRecord, ScheduleTickClaim } from './schedule-store.js';
import type { TargetHealth } from './target-health.js';

interface Waiting {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
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

  collectDigest(rows: readonly DigestMemberInput[]): Promise<void> {
    return this.#call('collectDigest', rows);
  }

  digestHeads(): Promise<DigestHead[]> {
    return this.#call('digestHeads');
  }

  flushDigest(delivery: DigestDeliveryInput, limit: number): Promise<number> {
    return this.#call('flushDigest', delivery, limit);
  }

  async claim(request: ClaimRequest): Promise<DeliveryRecord[]> {
    return unpackClaimed(await this.#call<Packed[]>('claim', request));
  }

  dueTargets(now: number): Promise<string[]> {
    return this.#call('dueTargets', now);
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

  countStates(request: CountRequest): Promise<StateCounts> {
    return this.#call('countStates', request);
  }

  purge(request: PurgeRequest): Promise<number> {
    return this.#call('purge', request);
  }

  depthByTarget(): Promise<TargetDepth[]> {
    return this.#call('depthByTarget');
  }

  openByTarget(): Promise<TargetOpen[]> {
    return this.#call('openByTarget');
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

  saveCircuit(target: string, state: 'open' | 'closed', openUntil: number, at: number, nodeId: string): Promise<void> {
    return this.#call('saveCircuit', target, state, openUntil, at, nodeId);
  }

  markFailing(target: string, at: number): Promise<void> {
    return this.#call('markFailing', target, at);
  }

  clearFailing(target: string, at: number): Promise<void> {
    return this.#call('clearFailing', target, at);
  }

  targetHealth(): Promise<TargetHealth[]> {
    return this.#call('targetHealth');
  }

  targetSecrets(): Promise<TargetSecretsRecord[]> {
    return this.#call('targetSecrets');
  }

  setTargetSecrets(record: TargetSecretsRecord): Promise<void> {
    return this.#call('setTargetSecrets', record);
  }

  claimScheduleTick(claim: ScheduleTickClaim): Promise<boolean> {
    return this.#call('claimScheduleTick', claim);
  }

  setSchedulePaused(name: string, paused: boolean, at: number): Promise<void> {
    return this.#call('setSchedulePaused', name, paused, at);
  }

  scheduleState(name: string): Promise<ScheduleRecord> {
    return this.#call('scheduleState', name);
  }

  scheduleStates(): Promise<ScheduleRecord[]> {
    return this.#call('scheduleStates');
  }

  reserveIdempotencyKey(claim: IdempotencyClaim): Promise<IdempotencyReservation | undefined> {
    return this.#call('reserveIdempotencyKey', claim);
  }

  completeIdempotencyKey(key: string, fingerprint: string): Promise<void> {
    return this.#call('completeIdempotencyKey', key, fingerprint);
  }

  releaseIdempotencyKey(key: string, fingerprint: string): Promise<void> {
    return this.#call('releaseIdempotencyKey', key, fingerprint);
  }

  purgeIdempotencyKeys(now: number, limit: number): Promise<number> {
    return this.#call('purgeIdempotencyKeys', now, limit);
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
