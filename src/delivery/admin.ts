// The operator's tools over the outbox (admin API, CLI): list, show, retry,
// replay, depth, enable/disable a target, purge. They work on the store; the
// dispatching side is reached only through AdminDispatch (wake it for what
// became due, show its circuits, tell it which targets are disabled), so the
// CLI can use them with nothing dispatched.

import { ClosedError, DeliveryBodyNotKeptError, DeliveryInflightError, DeliveryNotFoundError, InvalidArgumentError } from '../errors.js';
import type { DeliveryConfig } from './config-schema.js';
import type { CountRequest, DeliveryDetail, DeliveryStore, ListFilter, ReplayableState, StateCounts, TargetDepth } from './store.js';
import type { AttemptRecord, DeliveryRecord } from './types.js';

export interface ReplayOptions {
  readonly target: string;
  /** Deliveries created at or after this time (ms since the epoch). */
  readonly since: number;
  /** ...and at or before this one (default: no bound). */
  readonly until?: number;
  /** Default: failed only. */
  readonly states?: readonly ReplayableState[];
  /** Called after each batch with (done, total). */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface ReplayResult {
  readonly replayed: number;
  readonly total: number;
  /** Done deliveries skipped: their body was not kept. */
  readonly skipped: number;
  /** When the replay began (ms): every delivery it replayed changed at or after it. */
  readonly startedAt: number;
}

/** A target's circuit as this node sees it. */
export interface CircuitReport {
  readonly state: string;
  readonly consecutiveFailures: number;
  readonly running: number;
  readonly limit: number;
  /** The registered target's kind (webhook, command, email, handler…). */
  readonly kind?: string;
  /** Where it sends, redacted (webhooks). */
  readonly url?: string;
}

/** A target as GET /v1/targets shows it. */
export interface TargetView {
  readonly name: string;
  readonly kind: string;
  readonly url?: string;
  readonly pending: number;
  readonly inflight: number;
  readonly failed: number;
  readonly done: number;
  readonly oldest_pending_at: string | null;
  readonly circuit: string;
  readonly disabled: boolean;
  readonly disabled_reason?: string;
  readonly last_attempts: readonly (AttemptRecord & { readonly target: string })[];
}

/** How many attempts GET /v1/targets shows per target. */
const LAST_ATTEMPTS = 5;

export interface TargetReport extends TargetDepth {
  /** This node's view: circuit state and attempts running, when the target is registered here. */
  readonly circuit?: CircuitReport;
}

/** What the admin tools ask of the dispatching side (the Dispatcher is one; idle when nothing is dispatched). */
export interface AdminDispatch {
  /** Something became due: claim it now rather than at the next poll. */
  wake(): void;
  /** The circuits of the targets registered on this node. */
  circuits(): ReadonlyMap<string, CircuitReport>;
  /** The targets now disabled in the store. */
  setDisabled(targets: Iterable<string>): void;
}

export interface DeliveryAdminOptions {
  readonly store: DeliveryStore;
  readonly dispatch: AdminDispatch;
  readonly retention: DeliveryConfig['retention'];
}

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
  const shown = Array.isArray(event) ? (event as unknown[]).map(redactEvent) : redactEvent(event);
  if (shown === event && delivery.eventJson === undefined) return delivery;
  return withEvent(delivery, shown as Readonly<Record<string, unknown>>);
}

/** One event with a granted `account.token` replaced, or the event itself when it has none. */
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

/** The kind of a target not registered on this node: a webhook by its name (`webhook:x`), else unknown here. */
function kindOfName(name: string): string {
  return name.startsWith('webhook:') ? 'webhook' : 'unknown';
}

export class DeliveryAdmin {
  readonly #store: DeliveryStore;
  readonly #dispatch: AdminDispatch;
  readonly #retention: DeliveryConfig['retention'];
  /** Every purge running (the service's timer's and explicit calls): idle() waits for them. */
  readonly #purges = new Set<Promise<number>>();
  #closed = false;

  constructor(options: DeliveryAdminOptions) {
    this.#store = options.store;
    this.#dispatch = options.dispatch;
    this.#retention = options.retention;
  }

  /** Deliveries, newest first, as the operator sees them (`account.token` redacted). */
  async list(filter?: ListFilter): Promise<DeliveryRecord[]> {
    return (await this.#store.list(filter)).map(redactDelivery);
  }

  /** One delivery with its attempts, as the operator sees it (`account.token` redacted; `store.get` has the stored copy). */
  async get(id: string): Promise<DeliveryDetail> {
    const detail = await this.#store.get(id);
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
      if (await this.#store.retry(id, Date.now())) {
        this.#dispatch.wake();
        return (await this.get(id)).delivery;
      }
      const detail = await this.#store.get(id);
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
  async replay(options: ReplayOptions): Promise<ReplayResult> {
    if (typeof options.target !== 'string' || options.target === '') {
      throw new InvalidArgumentError('replay needs a target name.');
    }
    if (!Number.isFinite(options.since)) throw new InvalidArgumentError('replay needs a "since" time.');
    if (options.until !== undefined && !(Number.isFinite(options.until) && options.until >= options.since)) {
      throw new InvalidArgumentError('replay\'s "until" must be a time at or after "since".');
    }
    const states = options.states ?? ['failed'];
    const window = { target: options.target, since: options.since, ...(options.until === undefined ? {} : { until: options.until }) };
    // What was there when the replay began: a delivery it replays and that finishes meanwhile is not picked again.
    const before = Date.now();
    const total = await this.#store.countReplay({ ...window, states, before });
    const skipped = states.includes('done') ? await this.#store.countReplay({ ...window, states: ['done'], before, withoutBody: true }) : 0;
    let replayed = 0;
    options.onProgress?.(0, total);
    for (;;) {
      const n = await this.#store.replayBatch({
        ...window,
        states,
        before,
        now: Date.now(),
        limit: this.#retention.batch,
      });
      if (n === 0) break;
      replayed += n;
      options.onProgress?.(Math.min(replayed, total), total);
      this.#dispatch.wake();
    }
    return { replayed, total, skipped, startedAt: before };
  }

  /**
   * A target's deliveries per state in a creation window; with
   * `changedSince` (a replay's `startedAt`), only those changed since: every
   * delivery a replay made pending is, so done + failed over the replay's
   * total is its progress (exact when no other delivery of the window
   * changed meanwhile, as in a window of past dead letters).
   */
  counts(request: CountRequest): Promise<StateCounts> {
    return this.#store.countStates(request);
  }

  /** Queue depth per target, with this node's circuit states. */
  async depth(): Promise<TargetReport[]> {
    const depth = await this.#store.depthByTarget();
    const circuits = this.#dispatch.circuits();
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
   * Every target (registered here, or with deliveries or a disabled state in
   * the store) with its depth, circuit, disabled state and its last attempts,
   * newest first: those of its newest attempted deliveries (read through the
   * target's id index, a few deliveries per target).
   */
  async targets(): Promise<TargetView[]> {
    const reports = await this.depth();
    const out: TargetView[] = [];
    for (const r of reports) {
      const attempts: (AttemptRecord & { target: string })[] = [];
      const recent = await this.#store.list({ target: r.target, limit: LAST_ATTEMPTS * 4 });
      for (const d of recent) {
        if (attempts.length >= LAST_ATTEMPTS) break;
        if (d.attempts === 0) continue;
        const detail = await this.#store.get(d.id);
        for (const a of [...(detail?.attempts ?? [])].reverse()) if (attempts.length < LAST_ATTEMPTS) attempts.push({ ...a, target: r.target });
      }
      attempts.sort((a, b) => b.startedAt - a.startedAt);
      out.push({
        name: r.target,
        kind: r.circuit?.kind ?? kindOfName(r.target),
        ...(r.circuit?.url === undefined ? {} : { url: r.circuit.url }),
        pending: r.pending,
        inflight: r.inflight,
        failed: r.failed,
        done: r.done,
        oldest_pending_at: r.oldestDueAt === undefined ? null : new Date(r.oldestDueAt).toISOString(),
        circuit: r.circuit?.state ?? 'closed',
        disabled: r.disabled !== undefined,
        ...(r.disabled === undefined ? {} : { disabled_reason: r.disabled.reason }),
        last_attempts: attempts,
      });
    }
    return out;
  }

  /**
   * True when `target` is a target this node knows: registered here, or
   * with deliveries or a disabled state in the store (a target a config
   * reload removed still has those). The admin API answers 404 otherwise.
   */
  async hasTarget(target: string): Promise<boolean> {
    if (this.#dispatch.circuits().has(target)) return true;
    if ((await this.#store.disabledTargets()).some((d) => d.target === target)) return true;
    return (await this.#store.depthByTarget()).some((d) => d.target === target);
  }

  async disableTarget(target: string, reason = 'disabled by an operator'): Promise<void> {
    await this.#store.disableTarget(target, reason, Date.now());
    this.#dispatch.setDisabled((await this.#store.disabledTargets()).map((d) => d.target));
  }

  /** Lets a disabled target's deliveries flow again. False when it was not disabled. */
  async enableTarget(target: string): Promise<boolean> {
    const was = await this.#store.enableTarget(target);
    this.#dispatch.setDisabled((await this.#store.disabledTargets()).map((d) => d.target));
    return was;
  }

  /**
   * Deletes finished deliveries older than the retention, in small batches.
   * close() stops it between batches (it resolves with what it deleted so
   * far); after close() it rejects.
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
    const r = this.#retention;
    let total = 0;
    for (;;) {
      const n = await this.#store.purge({ doneBefore: now - r.done * 1000, failedBefore: now - r.failed * 1000, limit: r.batch });
      total += n;
      if (n < r.batch || this.#closed) break;
      // Let dispatch and requests run between batches.
      await new Promise((resolve) => setImmediate(resolve));
      // close() may have come during the yield: the store is about to close.
      if (this.#closed) break;
    }
    return total;
  }

  /** Refuses new purges and stops those running after their batch; resolves once they have. The store stays open. */
  close(): Promise<void> {
    this.#closed = true;
    return Promise.allSettled([...this.#purges]).then(() => undefined);
  }
}
