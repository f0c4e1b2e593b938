// DeliveryService: the delivery queue targets enqueue into, plus the
// operator's tools (list, show, retry, replay, depth, enable/disable). It
// group-commits concurrent enqueues into one transaction, wakes the
// dispatcher in-process instead of waiting for a poll, and purges old
// deliveries in small batches on a timer.

import { newDeliveryId } from './delivery-id.js';
import { newWebhookId } from './message-id.js';
import { ClosedError, DeliveryBodyNotKeptError, DeliveryInflightError, DeliveryNotFoundError, InvalidArgumentError } from '../errors.js';
import type { Monitor } from '../hooks/monitor.js';
import { NO_METRICS, type Metrics } from '../metrics/metrics.js';
import { DeliveryMetrics } from './delivery-metrics.js';
import { instrumentStore } from './store-metrics.js';
import type { Logger } from '../logger.js';
import type { DeliveryConfig } from './config-schema.js';
import { Dispatcher } from './dispatcher.js';
import { DigestCollector } from './digests.js';
import { RetryPolicy } from './retry-policy.js';
import { StoreHealth, type StoreHealthReport } from './store-health.js';
import {
  jsonBytes,
  StoredRecord,
  type DeliveryDetail,
  type DeliveryStore,
  type ListFilter,
  type ReplayableState,
  type StoredDeliveryInput,
  type TargetDepth,
  type DigestMemberInput,
} from './store.js';
import type { AttemptRecord, DeliveryQueue, DeliveryRecord, DeliveryTarget, NewDelivery } from './types.js';

export interface DeliveryServiceOptions {
  readonly store: DeliveryStore;
  readonly config: DeliveryConfig;
  readonly nodeId: string;
  readonly logger: Logger;
  readonly monitor?: Monitor;
  /** Where attempt outcomes, queue depth and store latency are recorded (default: nowhere). */
  readonly metrics?: Metrics;
  /** A delivery was dead-lettered. */
  readonly onFailed?: (delivery: DeliveryRecord, attempt: AttemptRecord) => void;
  /** A target was disabled (410). */
  readonly onTargetDisabled?: (target: string, reason: string) => void;
  /** Pass false to only use the admin side (the CLI): nothing is dispatched or purged. */
  readonly dispatch?: boolean;
}

export interface ReplayOptions {
  readonly target: string;
  /** Deliveries created at or after this time (ms since the epoch). */
  readonly since: number;
  /** Default: failed only. */
  readonly states?: readonly ReplayableState[];
  /** Called after each batch with (done, total). */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface TargetReport extends TargetDepth {
  /** This node's view: circuit state and attempts running, when the target is registered here. */
  readonly circuit?: { readonly state: string; readonly consecutiveFailures: number; readonly running: number; readonly limit: number };
}

interface PendingWrite {
  readonly rows: StoredDeliveryInput[];
  /** Deliveries written already claimed by this node, in enqueue order, to run from memory once written. */
  readonly adopt: DeliveryRecord[] | undefined;
  readonly leaseUntil: number;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/** A store that writes an enqueue before it returns (see DeliveryStore.enqueueNow). */
type ImmediateStore = DeliveryStore & Required<Pick<DeliveryStore, 'enqueueNow'>>;

/** What the operator tools show instead of a granted `account.token`. */
export const REDACTED = '[redacted]';

/**
 * A delivery as the operator tools show it (admin API, CLI): a granted
 * `account.token` in the stored event is replaced by "[redacted]". The store
 * keeps the token, for the target that needs it at delivery.
 */
export function redactDelivery(delivery: DeliveryRecord): DeliveryRecord {
  const event = delivery.event;
  // A digest's event is the array of its members' events (digests.ts): each is redacted.
  if (Array.isArray(event)) return withEvent(delivery, (event as unknown[]).map(redactEvent) as unknown as Record<string, unknown>);
  const account = event['account'];
  if (account === null || typeof account !== 'object' || (account as Record<string, unknown>)['token'] === undefined) {
    return delivery.eventJson === undefined ? delivery : withEvent(delivery, event);
  }
  return withEvent(delivery, { ...event, account: { ...(account as Record<string, unknown>), token: REDACTED } });
}

function redactEvent(event: unknown): unknown {
  if (event === null || typeof event !== 'object') return event;
  const account = (event as Record<string, unknown>)['account'];
  if (account === null || typeof account !== 'object' || (account as Record<string, unknown>)['token'] === undefined) return event;
  return { ...(event as Record<string, unknown>), account: { ...(account as Record<string, unknown>), token: REDACTED } };
}

/** The record with another event, as plain data (no `eventJson`: it would hold the secret). */
function withEvent(d: DeliveryRecord, event: Readonly<Record<string, unknown>>): DeliveryRecord {
  return {
    id: d.id,
    target: d.target,
    event,
    webhookId: d.webhookId,
    attempts: d.attempts,
    state: d.state,
    dueAt: d.dueAt,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
    ...(d.lastError === undefined ? {} : { lastError: d.lastError }),
    ...(d.eventDropped === true ? { eventDropped: true } : {}),
  };
}

export class DeliveryService implements DeliveryQueue {
  readonly store: DeliveryStore;
  readonly nodeId: string;
  readonly #o: DeliveryServiceOptions;
  readonly #policy: RetryPolicy;
  readonly #dispatcher: Dispatcher;
  readonly #health: StoreHealth;
  #writes: PendingWrite[] = [];
  #writing = false;
  #writeScheduled = false;
  #purgeTimer: NodeJS.Timeout | undefined;
  #purging: Promise<void> | undefined;
  /** Every purge running (the timer's and explicit calls): close() waits for them. */
  readonly #purges = new Set<Promise<number>>();
  #closed = false;
  #unwake: (() => void) | undefined;
  #closing: Promise<void> | undefined;
  readonly #metrics: DeliveryMetrics;
  #uncollect: (() => void) | undefined;
  readonly #digests: DigestCollector;

  constructor(options: DeliveryServiceOptions) {
    this.#o = options;
    const metrics = options.metrics ?? NO_METRICS;
    this.#metrics = new DeliveryMetrics(metrics);
    this.store = instrumentStore(options.store, metrics);
    this.nodeId = options.nodeId;
    const c = options.config;
    this.#policy = new RetryPolicy({ schedule: c.retry_schedule, jitter: c.jitter, retryAfterMax: c.retry_after_max });
    this.#health = new StoreHealth(options.logger, options.store.kind);
    this.#dispatcher = new Dispatcher({
      store: this.store,
      metrics: this.#metrics,
      nodeId: options.nodeId,
      policy: this.#policy,
      leaseMs: c.lease * 1000,
      defaultConcurrency: c.concurrency,
      claimBatch: c.claim_batch,
      // A store that writes before it returns costs no round trip per call: nothing to batch.
      batchSettles: options.store.enqueueNow === undefined,
      pollMs: c.poll_interval * 1000,
      breakerFailures: c.circuit_breaker.failures,
      breakerCooldownMs: c.circuit_breaker.cooldown * 1000,
      keepDoneBody: c.keep_done_body,
      logger: options.logger,
      storeHealth: this.#health,
      ...(options.monitor === undefined ? {} : { monitor: options.monitor }),
      ...(options.onFailed === undefined ? {} : { onFailed: options.onFailed }),
      ...(options.onTargetDisabled === undefined ? {} : { onTargetDisabled: options.onTargetDisabled }),
    });
    this.#digests = new DigestCollector({
      store: this.store,
      logger: options.logger,
      maxTickMs: c.poll_interval * 1000,
      firstDelayMs: this.#policy.firstDelayMs,
      onEnqueued: () => this.#dispatcher.wake(),
    });
  }

  /**
   * Whether the store serves, as this node last saw it (enqueues, claims,
   * settles report here): for `/v1/health` and readiness.
   */
  storeHealth(): StoreHealthReport {
    return this.#health.report();
  }

  /** Attempts a delivery gets before it is dead-lettered. */
  get maxAttempts(): number {
    return this.#policy.maxAttempts;
  }

  /** Migrates the store and starts dispatching and purging. */
  async start(): Promise<void> {
    await this.store.migrate();
    // Queue depth is read from the store at each scrape: on several nodes that is the shared store.
    if (this.#metrics.enabled) this.#uncollect ??= this.#metrics.metrics.onCollect(async () => this.#metrics.report(await this.depth()));
    if (this.#o.dispatch === false) return;
    await this.#dispatcher.start();
    this.#digests.start();
    this.#unwake = this.store.onWake?.(() => this.#dispatcher.wake());
    const interval = this.#o.config.retention.interval * 1000;
    this.#purgeTimer = setInterval(() => {
      this.#purging ??= this.purge()
        .then(() => undefined)
        .catch((err: unknown) => this.#o.logger.warn({ err }, 'Purging old deliveries failed'))
        .finally(() => {
          this.#purging = undefined;
        });
    }, interval);
    this.#purgeTimer.unref();
  }

  registerTarget(target: DeliveryTarget): () => void {
    if (typeof target?.name !== 'string' || target.name === '' || typeof target.attempt !== 'function') {
      throw new InvalidArgumentError('registerTarget() needs a target with a non-empty "name" and an "attempt(delivery, context)" function.');
    }
    const removeDigest = target.digest === undefined ? undefined : this.#digests.register(target.name, target.digest);
    const remove = this.#dispatcher.registerTarget(target);
    return removeDigest === undefined
      ? remove
      : () => {
          removeDigest();
          remove();
        };
  }

  /** Resolves once every delivery is written (durably, with a durable store). */
  enqueue(deliveries: readonly NewDelivery[]): Promise<readonly DeliveryRecord[]> {
    if (this.#closed) return Promise.reject(new ClosedError('The delivery queue'));
    if (deliveries.length === 0) return Promise.resolve([]);
    const now = Date.now();
    const firstDue = now + this.#policy.firstDelayMs;
    const leaseUntil = now + this.#o.config.lease * 1000;
    const rows: StoredDeliveryInput[] = [];
    const records: DeliveryRecord[] = [];
    let adopt: DeliveryRecord[] | undefined;
    // One event often goes to several targets: serialise it once.
    let lastEvent: unknown;
    let lastJson = '';
    // A store in this process (it writes at once) keeps the payload as bytes, off the JS heap, from here on (see jsonBytes).
    const asBytes = this.store.enqueueNow !== undefined;
    let bytesOf: string | undefined;
    let bytes: Buffer | undefined;
    let claim: StoredDeliveryInput['claim'];
    let members: DigestMemberInput[] | undefined;
    const digests = this.#digests.size === 0 ? undefined : this.#digests;
    for (const d of deliveries) {
      if (typeof d?.target !== 'string' || d.target === '' || (d.event === undefined && typeof d.eventJson !== 'string')) {
        this.#release(adopt);
        return Promise.reject(new InvalidArgumentError('enqueue(): every delivery needs a non-empty "target" name and an "event" (or its "eventJson").'));
      }
      let json = d.eventJson;
      if (json === undefined) {
        if (d.event !== lastEvent) {
          lastEvent = d.event;
          lastJson = JSON.stringify(d.event);
        }
        json = lastJson;
      }
      if (asBytes && json !== bytesOf) {
        bytesOf = json;
        bytes = jsonBytes(json);
      }
      const id = newDeliveryId(now);
      // A digest target's events wait in the store as members (digests.ts): no delivery yet.
      if (digests !== undefined && digests.has(d.target)) {
        (members ??= []).push({ id, target: d.target, eventJson: json, createdAt: now });
        continue;
      }
      const webhookId = d.webhookId ?? newWebhookId();
      const dueAt = d.dueAt ?? firstDue;
      // Due now and this node has room: written already claimed and run from memory, no claim round trip.
      const claimed = dueAt <= now && this.#dispatcher.reserve(d.target, 1, now) === 1;
      rows.push(
        claimed
          ? { id, target: d.target, eventJson: json, eventBytes: bytes, webhookId, dueAt, createdAt: now, claim: (claim ??= { nodeId: this.nodeId, leaseUntil }) }
          : { id, target: d.target, eventJson: json, eventBytes: bytes, webhookId, dueAt, createdAt: now },
      );
      // One record: the caller gets the one the dispatcher runs (in flight) when it was claimed here.
      const record = this.#record(id, d, json, bytes, webhookId, claimed ? 'inflight' : 'pending', dueAt, now);
      records.push(record);
      if (claimed) (adopt ??= []).push(record);
    }
    if (members !== undefined) {
      const collected = this.#digests.collect(members);
      if (rows.length === 0) return collected.then(() => records);
      return Promise.all([collected, this.#writeRows(rows, adopt, leaseUntil, records)]).then(() => records);
    }
    return this.#writeRows(rows, adopt, leaseUntil, records);
  }

  #writeRows(rows: StoredDeliveryInput[], adopt: DeliveryRecord[] | undefined, leaseUntil: number, records: readonly DeliveryRecord[]): Promise<readonly DeliveryRecord[]> {
    // Memory has no commit for concurrent enqueues to share: written and run at once.
    const store = this.store;
    if (store.enqueueNow !== undefined) return this.#writeNow(store as ImmediateStore, rows, adopt, leaseUntil, records);
    return new Promise<readonly DeliveryRecord[]>((resolve, reject) => {
      this.#writes.push({ rows, adopt, leaseUntil, resolve: () => resolve(records), reject });
      this.#scheduleWrite();
    });
  }

  /** A new delivery as enqueue() returns it: in flight when claimed at enqueue (the dispatcher runs this same record), else pending. */
  #record(id: string, d: NewDelivery, json: string, bytes: Buffer | undefined, webhookId: string, state: 'pending' | 'inflight', dueAt: number, now: number): StoredRecord {
    return bytes === undefined
      ? new StoredRecord({ id, target: d.target, event: d.event, eventJson: json, webhookId, attempts: 0, state, dueAt, createdAt: now, updatedAt: now })
      : new StoredRecord({ id, target: d.target, event: d.event, eventBytes: bytes, webhookId, attempts: 0, state, dueAt, createdAt: now, updatedAt: now });
  }

  #writeNow(
    store: ImmediateStore,
    rows: StoredDeliveryInput[],
    adopt: DeliveryRecord[] | undefined,
    leaseUntil: number,
    records: readonly DeliveryRecord[],
  ): Promise<readonly DeliveryRecord[]> {
    try {
      store.enqueueNow(rows);
    } catch (err) {
      this.#release(adopt);
      this.#health.failed(err);
      return Promise.reject(err);
    }
    this.#health.succeeded();
    this.#handOver(rows.length, adopt, leaseUntil);
    return Promise.resolve(records);
  }

  /** After a write: runs what was written already claimed, and wakes the dispatcher for the rest. */
  #handOver(written: number, adopt: DeliveryRecord[] | undefined, leaseUntil: number): void {
    const adopted = adopt === undefined ? 0 : adopt.length;
    if (adopt !== undefined) forEachTarget(adopt, (target, list) => this.#dispatcher.adopt(target, list, leaseUntil, list.length));
    // Rows written unclaimed (no room here, or due later) wait for a claim.
    if (written > adopted) this.#dispatcher.wake();
  }

  /** Gives back the reservations of deliveries claimed at enqueue whose write failed. */
  #release(adopt: DeliveryRecord[] | undefined): void {
    if (adopt !== undefined) forEachTarget(adopt, (target, list) => this.#dispatcher.release(target, list.length));
  }

  #scheduleWrite(): void {
    if (this.#writing || this.#writeScheduled) return;
    this.#writeScheduled = true;
    // One macrotask lets concurrent enqueues (parallel requests) share a transaction.
    setImmediate(() => {
      this.#writeScheduled = false;
      void this.#write();
    });
  }

  async #write(): Promise<void> {
    this.#writing = true;
    const max = this.#o.config.enqueue_batch;
    try {
      while (this.#writes.length > 0) {
        const group: PendingWrite[] = [];
        let count = 0;
        while (this.#writes.length > 0 && (count === 0 || count + (this.#writes[0] as PendingWrite).rows.length <= max)) {
          const next = this.#writes.shift() as PendingWrite;
          group.push(next);
          count += next.rows.length;
        }
        const rows = group.length === 1 ? (group[0] as PendingWrite).rows : group.flatMap((g) => g.rows);
        let written = false;
        try {
          await this.store.enqueue(rows);
          written = true;
          this.#health.succeeded();
        } catch (err) {
          this.#health.failed(err);
          for (const g of group) g.reject(err);
        }
        for (const g of group) {
          if (written) this.#handOver(g.rows.length, g.adopt, g.leaseUntil);
          else this.#release(g.adopt);
        }
        if (written) for (const g of group) g.resolve();
      }
    } finally {
      this.#writing = false;
    }
  }

  /** Deliveries, newest first, as the operator sees them (`account.token` redacted). */
  async list(filter?: ListFilter): Promise<DeliveryRecord[]> {
    return (await this.store.list(filter)).map(redactDelivery);
  }

  /** One delivery with its attempts, as the operator sees it (`account.token` redacted; `store.get` has the stored copy). */
  async get(id: string): Promise<DeliveryDetail> {
    const detail = await this.store.get(id);
    if (detail === undefined) throw new DeliveryNotFoundError(id);
    const delivery = redactDelivery(detail.delivery);
    return delivery === detail.delivery ? detail : { delivery, attempts: detail.attempts };
  }

  /**
   * Makes one delivery pending and due now, with a fresh schedule. Throws
   * DeliveryNotFoundError for an unknown id, DeliveryBodyNotKeptError (409)
   * for a done delivery whose body was not kept, and DeliveryInflightError (409)
   * while a node is attempting it.
   */
  async retry(id: string): Promise<DeliveryRecord> {
    // Twice at most: the attempt may end between the store's refusal and our look.
    for (let i = 0; i < 2; i++) {
      if (await this.store.retry(id, Date.now())) {
        this.#dispatcher.wake();
        return (await this.get(id)).delivery;
      }
      const detail = await this.store.get(id);
      if (detail === undefined) throw new DeliveryNotFoundError(id);
      if (detail.delivery.state === 'inflight') break;
      if (detail.delivery.eventDropped === true) throw new DeliveryBodyNotKeptError(id);
    }
    throw new DeliveryInflightError(id);
  }

  /**
   * Makes a target's failed (or chosen) deliveries since a time pending
   * again; returns how many, and how many done ones it skipped because their
   * body was not kept (keep_done_body: none).
   */
  async replay(options: ReplayOptions): Promise<{ replayed: number; total: number; skipped: number }> {
    if (typeof options.target !== 'string' || options.target === '') {
      throw new InvalidArgumentError('replay needs a target name.');
    }
    if (!Number.isFinite(options.since)) throw new InvalidArgumentError('replay needs a "since" time.');
    const states = options.states ?? ['failed'];
    // What was there when the replay began: a delivery it replays and that finishes meanwhile is not picked again.
    const before = Date.now();
    const total = await this.store.countReplay({ target: options.target, since: options.since, states, before });
    const skipped = states.includes('done')
      ? await this.store.countReplay({ target: options.target, since: options.since, states: ['done'], before, withoutBody: true })
      : 0;
    let replayed = 0;
    options.onProgress?.(0, total);
    for (;;) {
      const n = await this.store.replayBatch({
        target: options.target,
        since: options.since,
        states,
        before,
        now: Date.now(),
        limit: this.#o.config.retention.batch,
      });
      if (n === 0) break;
      replayed += n;
      options.onProgress?.(Math.min(replayed, total), total);
      this.#dispatcher.wake();
    }
    return { replayed, total, skipped };
  }

  /** Queue depth per target, with this node's circuit states. */
  async depth(): Promise<TargetReport[]> {
    const depth = await this.store.depthByTarget();
    const circuits = this.#dispatcher.circuits();
    const seen = new Set<string>();
    const out: TargetReport[] = depth.map((d) => {
      seen.add(d.target);
      const circuit = circuits.get(d.target);
      return circuit === undefined ? d : { ...d, circuit };
    });
    for (const [target, circuit] of circuits) {
      if (!seen.has(target)) out.push({ target, pending: 0, inflight: 0, failed: 0, done: 0, circuit });
    }
    return out;
  }

  /**
   * True when `target` is a target this node knows: registered here, or
   * with deliveries or a disabled state in the store (a target a config
   * reload removed still has those). The admin API answers 404 otherwise.
   */
  async hasTarget(target: string): Promise<boolean> {
    if (this.#dispatcher.circuits().has(target)) return true;
    if ((await this.store.disabledTargets()).some((d) => d.target === target)) return true;
    return (await this.store.depthByTarget()).some((d) => d.target === target);
  }

  async disableTarget(target: string, reason = 'disabled by an operator'): Promise<void> {
    await this.store.disableTarget(target, reason, Date.now());
    this.#dispatcher.setDisabled((await this.store.disabledTargets()).map((d) => d.target));
  }

  /** Lets a disabled target's deliveries flow again. False when it was not disabled. */
  async enableTarget(target: string): Promise<boolean> {
    const was = await this.store.enableTarget(target);
    this.#dispatcher.setDisabled((await this.store.disabledTargets()).map((d) => d.target));
    return was;
  }

  /**
   * Deletes finished deliveries older than the retention, in small batches.
   * close() stops it between batches (it resolves with what it deleted so
   * far) and waits for the batch running; after close() it rejects.
   */
  purge(now = Date.now()): Promise<number> {
    if (this.#closed) return Promise.reject(new ClosedError('The delivery queue'));
    const run = this.#purge(now);
    this.#purges.add(run);
    run.then(
      () => this.#purges.delete(run),
      () => this.#purges.delete(run),
    );
    return run;
  }

  async #purge(now: number): Promise<number> {
    const r = this.#o.config.retention;
    let total = 0;
    for (;;) {
      const n = await this.store.purge({ doneBefore: now - r.done * 1000, failedBefore: now - r.failed * 1000, limit: r.batch });
      total += n;
      if (n < r.batch || this.#closed) break;
      // Let dispatch and requests run between batches.
      await new Promise((resolve) => setImmediate(resolve));
      // close() may have come during the yield: the store is about to close.
      if (this.#closed) break;
    }
    return total;
  }

  /** Attempts in flight on this node. */
  get inflight(): number {
    return this.#dispatcher.inflight;
  }

  /** Stops dispatching, bounded by `shutdown_grace`; enqueues already accepted are written first. */
  stopDispatching(): Promise<void> {
    return this.#dispatcher.stop(this.#o.config.shutdown_grace * 1000);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      while (this.#writing || this.#writeScheduled || this.#writes.length > 0) {
        await new Promise((resolve) => setImmediate(resolve));
      }
      this.#closed = true;
      await this.#digests.stop();
      this.#uncollect?.();
      if (this.#purgeTimer !== undefined) clearInterval(this.#purgeTimer);
      this.#unwake?.();
      await this.stopDispatching();
      await this.#purging;
      await Promise.allSettled([...this.#purges]);
      await this.store.close();
    })();
    return this.#closing;
  }
}

/** Calls `fn` once per run of consecutive records of one target (most enqueues have a single run). */
function forEachTarget(records: DeliveryRecord[], fn: (target: string, list: DeliveryRecord[]) => void): void {
  let from = 0;
  for (let i = 1; i <= records.length; i++) {
    if (i < records.length && (records[i] as DeliveryRecord).target === (records[from] as DeliveryRecord).target) continue;
    const target = (records[from] as DeliveryRecord).target;
    fn(target, from === 0 && i === records.length ? records : records.slice(from, i));
    from = i;
  }
}
