// DeliveryService: the delivery queue targets enqueue into. It
// group-commits concurrent enqueues into one transaction, wakes the
// dispatcher in-process instead of waiting for a poll, and purges old
// deliveries in small batches on a timer. The operator's tools (list, show,
// retry, replay, depth, enable/disable, purge) are DeliveryAdmin (admin.ts):
// `service.admin`, and the same methods on the service, which hand over.

import { newDeliveryId } from './delivery-id.js';
import { newWebhookId } from './message-id.js';
import { ClosedError, InvalidArgumentError } from '../errors.js';
import type { Monitor } from '../hooks/monitor.js';
import { NO_METRICS, type Metrics } from '../metrics/metrics.js';
import { DeliveryMetrics } from './delivery-metrics.js';
import { instrumentStore } from './store-metrics.js';
import type { Logger } from '../logger.js';
import { DeliveryAdmin, type ReplayOptions, type ReplayResult, type TargetReport } from './admin.js';
import type { DeliveryConfig } from './config-schema.js';
import { Dispatcher, type TargetDisabledCause } from './dispatcher.js';
import { DigestCollector } from './digests.js';
import { RetryPolicy } from './retry-policy.js';
import { StoreHealth, type StoreHealthReport } from './store-health.js';
import { PendingBounds } from './pending-bounds.js';
import { jsonBytes, StoredRecord, type DeliveryDetail, type DeliveryStore, type ListFilter, type StoredDeliveryInput, type DigestMemberInput } from './store.js';
import type { AttemptRecord, BreakerSettings, DeliveryQueue, DeliveryRecord, DeliveryTarget, EnqueueOptions, NewDelivery } from './types.js';
import { activeTraceContext, tracingOn } from '../tracing.js';
import { append } from '../append.js';

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
  /** A target was disabled: it answered 410, or failed without a success for endpoint_failure_disable_after. */
  readonly onTargetDisabled?: (target: string, reason: string, cause: TargetDisabledCause) => void;
  /** Pass false to only use the admin side (the CLI): nothing is dispatched or purged. */
  readonly dispatch?: boolean;
}

export type { ReplayOptions, ReplayResult, TargetReport } from './admin.js';
export type { TargetDisabledCause } from './dispatcher.js';

interface PendingWrite {
  readonly rows: StoredDeliveryInput[];
  /** Deliveries written already claimed by this node, in enqueue order, to run from memory once written. */
  readonly adopt: DeliveryRecord[] | undefined;
  readonly leaseUntil: number;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/** The held enqueues' one write: it grows until the last hold is released. */
interface HeldWrite {
  readonly rows: StoredDeliveryInput[];
  adopt: DeliveryRecord[] | undefined;
  leaseUntil: number;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
  readonly written: Promise<void>;
}

/** What enqueue() resolves to for a caller that does not read the records. */
const NO_RECORDS: readonly DeliveryRecord[] = Object.freeze([]);

/** A store that writes an enqueue before it returns (see DeliveryStore.enqueueNow). */
type ImmediateStore = DeliveryStore & Required<Pick<DeliveryStore, 'enqueueNow'>>;

export { newWebhookId };

export class DeliveryService implements DeliveryQueue {
  readonly store: DeliveryStore;
  readonly nodeId: string;
  readonly #o: DeliveryServiceOptions;
  readonly #policy: RetryPolicy;
  readonly #dispatcher: Dispatcher;
  readonly #health: StoreHealth;
  /** The operator's tools (list, show, retry, replay, depth, enable/disable, purge). */
  readonly admin: DeliveryAdmin;
  #writes: PendingWrite[] = [];
  #writing = false;
  #writeScheduled = false;
  #holds = 0;
  /** What enqueues made while writes are held, to be written as one group (see #heldWrite). */
  #held: HeldWrite | undefined;
  #purgeTimer: NodeJS.Timeout | undefined;
  #purging: Promise<void> | undefined;
  #closed = false;
  #unwake: (() => void) | undefined;
  #closing: Promise<void> | undefined;
  readonly #metrics: DeliveryMetrics;
  #uncollect: (() => void) | undefined;
  readonly #digests: DigestCollector;
  readonly #bounds: PendingBounds;
  /** How often the back-pressure counts are set again from the store (ms). */
  readonly #boundsRefreshMs: number;
  #boundsTimer: NodeJS.Timeout | undefined;
  #boundsRefreshing: Promise<void> | undefined;

  constructor(options: DeliveryServiceOptions) {
    this.#o = options;
    const metrics = options.metrics ?? NO_METRICS;
    this.#metrics = new DeliveryMetrics(metrics);
    this.store = instrumentStore(options.store, metrics);
    this.nodeId = options.nodeId;
    const c = options.config;
    this.#policy = new RetryPolicy({ schedule: c.retry_schedule, jitter: c.jitter, retryAfterMax: c.retry_after_max });
    this.#health = new StoreHealth(options.logger, options.store.kind);
    this.#boundsRefreshMs = Math.max(1000, c.poll_interval * 5000);
    this.#bounds = new PendingBounds(c.max_pending, Math.ceil(this.#boundsRefreshMs / 1000));
    const bounds = this.#bounds;
    this.#dispatcher = new Dispatcher({
      store: this.store,
      metrics: this.#metrics,
      nodeId: options.nodeId,
      policy: this.#policy,
      leaseMs: c.lease * 1000,
      defaultConcurrency: c.concurrency,
      claimBatch: c.claim_batch,
      // A store that writes before it returns costs no round trip per call: nothing to batch, and no claim to wait for.
      batchSettles: options.store.enqueueNow === undefined,
      ...(options.store.enqueueNow === undefined ? {} : { prefetch: 1 }),
      pollMs: c.poll_interval * 1000,
      breakerFailures: c.circuit_breaker.failures,
      breakerCooldownMs: c.circuit_breaker.cooldown * 1000,
      breaker: breakerSettings(c.circuit_breaker),
      // Parsed configs have it; a hand-made one (tests, embedders) without it keeps the old behaviour.
      disableAfterMs: (c.endpoint_failure_disable_after ?? 0) * 1000,
      policyFor: (schedule) => new RetryPolicy({ schedule, jitter: c.jitter, retryAfterMax: c.retry_after_max }),
      keepDoneBody: c.keep_done_body,
      logger: options.logger,
      storeHealth: this.#health,
      ...(options.monitor === undefined ? {} : { monitor: options.monitor }),
      ...(options.onFailed === undefined ? {} : { onFailed: options.onFailed }),
      onFinished: (target) => {
        if (bounds.active) bounds.finished(target);
      },
      ...(options.onTargetDisabled === undefined ? {} : { onTargetDisabled: options.onTargetDisabled }),
    });
    this.admin = new DeliveryAdmin({ store: this.store, dispatch: this.#dispatcher, retention: c.retention });
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

  /** Attempts settled on this node since it started: `done` succeeded, `failed` did not (retried or dead-lettered). */
  get outcomes(): Readonly<{ done: number; failed: number }> {
    return this.#dispatcher.outcomes;
  }

  /** The kind (webhook, command, …) of a target registered on this node; undefined for one that is not. */
  targetKind(target: string): string | undefined {
    return this.#dispatcher.kindOf(target);
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
    if (this.#bounds.active) await this.#refreshBounds();
    await this.#dispatcher.start();
    this.#digests.start();
    this.#unwake = this.store.onWake?.(() => this.#dispatcher.wakeShared());
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
    this.#boundsTimer = setInterval(() => {
      if (this.#bounds.active) void this.#refreshBounds();
    }, this.#boundsRefreshMs);
    this.#boundsTimer.unref();
  }

  /**
   * Back-pressure (delivery.max_pending, a target's max_pending): throws
   * BackpressureError, before anything is written, when a bound is reached.
   * Cheap: counts kept in memory (see pending-bounds.ts), no store query.
   */
  admit(deliveries: readonly NewDelivery[]): void {
    if (this.#bounds.active) this.#bounds.admit(deliveries);
  }

  /** A target's own max_pending; returns the remover. */
  boundTarget(target: string, maxPending: number): () => void {
    const wasActive = this.#bounds.active;
    const remove = this.#bounds.bound(target, maxPending);
    // Nothing was counted while no bound was set: start from the store's counts.
    if (!wasActive && !this.#closed) void this.#refreshBounds();
    return remove;
  }

  /** Unfinished deliveries as this node counts them for back-pressure (in all, or of one target). */
  pendingCount(target?: string): number {
    return target === undefined ? this.#bounds.total : this.#bounds.pendingOf(target);
  }

  /** Sets the back-pressure counts from the store (what other nodes, retries and replays changed). */
  #refreshBounds(): Promise<void> {
    // Only the unfinished rows: depthByTarget() would also count every finished row the retention keeps, every few seconds.
    const store = this.store;
    this.#boundsRefreshing ??= (store.openByTarget === undefined ? store.depthByTarget() : store.openByTarget())
      .then((open) => this.#bounds.reset(open))
      .catch((err: unknown) => this.#o.logger.warn({ err }, 'Could not read the queue depth for back-pressure; keeping the counts kept so far'))
      .finally(() => {
        this.#boundsRefreshing = undefined;
      });
    return this.#boundsRefreshing;
  }

  /** Counts what a write added (only while a back-pressure bound is set). */
  #counted(rows: readonly StoredDeliveryInput[]): void {
    if (!this.#bounds.active) return;
    for (const row of rows) this.#bounds.added(row.target);
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
  enqueue(deliveries: readonly NewDelivery[], options?: EnqueueOptions): Promise<readonly DeliveryRecord[]> {
    if (this.#closed) return Promise.reject(new ClosedError('The delivery queue'));
    if (deliveries.length === 0) return Promise.resolve([]);
    const now = Date.now();
    const firstDue = now + this.#policy.firstDelayMs;
    const leaseUntil = now + this.#o.config.lease * 1000;
    // Made by their first delivery (append()): most enqueues carry one.
    let rows: StoredDeliveryInput[] | undefined;
    let records: DeliveryRecord[] | undefined;
    let adopt: DeliveryRecord[] | undefined;
    // One event often goes to several targets: serialise it once.
    let lastEvent: unknown;
    let lastJson = '';
    // A store in this process (it writes at once) keeps the payload as bytes, off the JS heap, from here on (see jsonBytes).
    const asBytes = this.store.enqueueNow !== undefined;
    let bytesOf: string | undefined;
    let bytes: Buffer | undefined;
    let claim: StoredDeliveryInput['claim'];
    // The enqueueing span's context, kept with each delivery: its attempts join that trace.
    const activeTrace = tracingOn() ? activeTraceContext() : undefined;
    let members: DigestMemberInput[] | undefined;
    const digests = this.#digests.size === 0 ? undefined : this.#digests;
    const ownSchedules = this.#dispatcher.ownSchedules;
    const wantRecords = options?.records !== false;
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
      // A target with a retry schedule of its own starts with its own first delay.
      const dueAt = d.dueAt ?? (ownSchedules ? this.#firstDue(d.target, now, firstDue) : firstDue);
      // Due now and this node has room: written already claimed and run from memory, no claim round trip.
      const claimed = dueAt <= now && this.#dispatcher.reserve(d.target, 1, now) === 1;
      const traceContext = d.traceContext ?? activeTrace;
      const row: StoredDeliveryInput = claimed
        ? { id, target: d.target, eventJson: json, eventBytes: bytes, webhookId, dueAt, createdAt: now, traceContext, claim: (claim ??= { nodeId: this.nodeId, leaseUntil }) }
        : { id, target: d.target, eventJson: json, eventBytes: bytes, webhookId, dueAt, createdAt: now, traceContext };
      rows = append(rows, row);
      // One record: the caller gets the one the dispatcher runs (in flight) when it was claimed here. None for a caller that does not read it, unless the dispatcher runs it.
      if (!wantRecords && !claimed) continue;
      const record = this.#record(id, d, json, bytes, webhookId, claimed ? 'inflight' : 'pending', dueAt, now, traceContext);
      if (wantRecords) records = append(records, record);
      if (claimed) adopt = append(adopt, record);
    }
    const written: readonly DeliveryRecord[] = records ?? NO_RECORDS;
    if (members !== undefined) {
      const collected = this.#digests.collect(members);
      if (rows === undefined) return collected.then(() => written);
      return Promise.all([collected, this.#writeRows(rows, adopt, leaseUntil, written)]).then(() => written);
    }
    return rows === undefined ? Promise.resolve(written) : this.#writeRows(rows, adopt, leaseUntil, written);
  }

  #firstDue(target: string, now: number, otherwise: number): number {
    const delay = this.#dispatcher.firstDelayMs(target);
    return delay === undefined ? otherwise : now + delay;
  }

  #writeRows(rows: StoredDeliveryInput[], adopt: DeliveryRecord[] | undefined, leaseUntil: number, records: readonly DeliveryRecord[]): Promise<readonly DeliveryRecord[]> {
    // Memory has no commit for concurrent enqueues to share: written and run at once.
    const store = this.store;
    if (store.enqueueNow !== undefined) return this.#writeNow(store as ImmediateStore, rows, adopt, leaseUntil, records);
    if (this.#holds > 0) return this.#heldWrite(rows, adopt, leaseUntil).then(() => records);
    return new Promise<readonly DeliveryRecord[]>((resolve, reject) => {
      this.#writes.push({ rows, adopt, leaseUntil, resolve: () => resolve(records), reject });
      this.#scheduleWrite();
    });
  }

  /**
   * While writes are held (holdWrites), every enqueue joins one group, written
   * once the last hold is released: a batch of a thousand emits makes one
   * pending write and one promise, not a thousand of each to merge after.
   */
  #heldWrite(rows: readonly StoredDeliveryInput[], adopt: DeliveryRecord[] | undefined, leaseUntil: number): Promise<void> {
    let group = this.#held;
    if (group === undefined) {
      let resolve!: () => void;
      let reject!: (err: unknown) => void;
      const written = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      group = this.#held = { rows: [], adopt: undefined, leaseUntil, resolve, reject, written };
    }
    for (const row of rows) group.rows.push(row);
    if (adopt !== undefined) for (const record of adopt) (group.adopt ??= []).push(record);
    if (leaseUntil < group.leaseUntil) group.leaseUntil = leaseUntil;
    return group.written;
  }

  /** A new delivery as enqueue() returns it: in flight when claimed at enqueue (the dispatcher runs this same record), else pending. */
  #record(id: string, d: NewDelivery, json: string, bytes: Buffer | undefined, webhookId: string, state: 'pending' | 'inflight', dueAt: number, now: number, traceContext: string | undefined): StoredRecord {
    return bytes === undefined
      ? new StoredRecord({ id, target: d.target, event: d.event, eventJson: json, webhookId, attempts: 0, state, dueAt, createdAt: now, updatedAt: now, traceContext })
      : new StoredRecord({ id, target: d.target, event: d.event, eventBytes: bytes, webhookId, attempts: 0, state, dueAt, createdAt: now, updatedAt: now, traceContext });
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
    this.#counted(rows);
    this.#handOver(rows, adopt, leaseUntil);
    return Promise.resolve(records);
  }

  /** After a write: runs what was written already claimed, and wakes the dispatcher for the rest. */
  #handOver(rows: readonly StoredDeliveryInput[], adopt: DeliveryRecord[] | undefined, leaseUntil: number): void {
    if (adopt !== undefined) forEachTarget(adopt, (target, list) => this.#dispatcher.adopt(target, list, leaseUntil, list.length));
    // Rows written unclaimed (no room here, or due later) wait for a claim of their target.
    if (rows.length > (adopt === undefined ? 0 : adopt.length)) for (const row of rows) if (row.claim === undefined) this.#dispatcher.due(row.target);
  }

  /** Gives back the reservations of deliveries claimed at enqueue whose write failed. */
  #release(adopt: DeliveryRecord[] | undefined): void {
    if (adopt !== undefined) forEachTarget(adopt, (target, list) => this.#dispatcher.release(target, list.length));
  }

  /**
   * Until the returned release() is called, enqueues wait; then everything
   * enqueued meanwhile is written as one group (one transaction, whatever
   * enqueue_batch says). A batch of emits (POST /v1/events/batch) holds the
   * queue while it emits its events, and releases it in the same tick.
   */
  holdWrites(): () => void {
    this.#holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.#holds > 0) return;
      const held = this.#held;
      this.#held = undefined;
      if (held !== undefined) this.#writes.push(held);
      if (this.#writes.length > 0) this.#scheduleWrite();
    };
  }

  #scheduleWrite(): void {
    if (this.#writing || this.#writeScheduled || this.#holds > 0) return;
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
      // A hold (holdWrites) keeps what came meanwhile for its release to write as one.
      while (this.#writes.length > 0 && this.#holds === 0) {
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
          this.#counted(rows);
        } catch (err) {
          this.#health.failed(err);
          for (const g of group) g.reject(err);
        }
        for (const g of group) {
          if (written) this.#handOver(g.rows, g.adopt, g.leaseUntil);
          else this.#release(g.adopt);
        }
        if (written) for (const g of group) g.resolve();
      }
    } finally {
      this.#writing = false;
      if (this.#writes.length > 0) this.#scheduleWrite();
    }
  }

  // The operator's tools, on the service too (the admin API and the CLI call them here).

  list(filter?: ListFilter): Promise<DeliveryRecord[]> {
    return this.admin.list(filter);
  }

  get(id: string): Promise<DeliveryDetail> {
    return this.admin.get(id);
  }

  retry(id: string): Promise<DeliveryRecord> {
    return this.admin.retry(id);
  }

  replay(options: ReplayOptions): Promise<ReplayResult> {
    return this.admin.replay(options);
  }

  depth(): Promise<TargetReport[]> {
    return this.admin.depth();
  }

  hasTarget(target: string): Promise<boolean> {
    return this.admin.hasTarget(target);
  }

  disableTarget(target: string, reason?: string): Promise<void> {
    return this.admin.disableTarget(target, reason);
  }

  enableTarget(target: string): Promise<boolean> {
    return this.admin.enableTarget(target);
  }

  purge(now?: number): Promise<number> {
    return this.admin.purge(now);
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
      const purged = this.admin.close();
      if (this.#purgeTimer !== undefined) clearInterval(this.#purgeTimer);
      if (this.#boundsTimer !== undefined) clearInterval(this.#boundsTimer);
      await this.#boundsRefreshing;
      this.#unwake?.();
      await this.stopDispatching();
      await this.#purging;
      await purged;
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

/** The breaker settings of `delivery.circuit_breaker` (seconds in the config, ms here). */
function breakerSettings(c: DeliveryConfig['circuit_breaker']): Partial<BreakerSettings> {
  return {
    ...(c.mode === undefined ? {} : { mode: c.mode }),
    failures: c.failures,
    cooldownMs: c.cooldown * 1000,
    ...(c.failure_ratio === undefined ? {} : { failureRatio: c.failure_ratio }),
    ...(c.window === undefined ? {} : { windowMs: c.window * 1000 }),
    ...(c.min_requests === undefined ? {} : { minRequests: c.min_requests }),
    ...(c.half_open_probes === undefined ? {} : { halfOpenProbes: c.half_open_probes }),
  };
}
