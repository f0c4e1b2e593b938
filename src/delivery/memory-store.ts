// The in-memory store: same contract as SQLite and PostgreSQL, nothing
// survives a restart. For embedding hosts that accept that, and for tests.

import type {
  ClaimRequest,
  DeliveryDetail,
  DeliveryStore,
  DisabledTarget,
  ListFilter,
  PurgeRequest,
  ReplayRequest,
  SettleRequest,
  StoredDeliveryInput,
  TargetDepth,
} from './store.js';
import type { AttemptRecord, DeliveryRecord, DeliveryState } from './types.js';

interface Row {
  id: string;
  target: string;
  event: Readonly<Record<string, unknown>>;
  webhookId: string;
  attempts: number;
  state: DeliveryState;
  dueAt: number;
  createdAt: number;
  updatedAt: number;
  lastError: string | undefined;
  claimedBy: string | undefined;
  leaseUntil: number;
  history: AttemptRecord[];
}

function toRecord(row: Row): DeliveryRecord {
  return Object.freeze({
    id: row.id,
    target: row.target,
    event: row.event,
    webhookId: row.webhookId,
    attempts: row.attempts,
    state: row.state,
    dueAt: row.dueAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    ...(row.lastError === undefined ? {} : { lastError: row.lastError }),
  });
}

export class MemoryStore implements DeliveryStore {
  readonly kind = 'memory' as const;
  readonly #rows = new Map<string, Row>();
  /** Target → ids that are pending or in flight, in enqueue order. */
  readonly #open = new Map<string, Set<string>>();
  readonly #disabled = new Map<string, DisabledTarget>();

  async migrate(): Promise<void> {}

  async enqueue(rows: readonly StoredDeliveryInput[]): Promise<void> {
    for (const input of rows) {
      const row: Row = {
        id: input.id,
        target: input.target,
        event: input.event,
        webhookId: input.webhookId,
        attempts: input.claim === undefined ? 0 : 1,
        state: input.claim === undefined ? 'pending' : 'inflight',
        dueAt: input.dueAt,
        createdAt: input.createdAt,
        updatedAt: input.createdAt,
        lastError: undefined,
        claimedBy: input.claim?.nodeId,
        leaseUntil: input.claim?.leaseUntil ?? 0,
        history: [],
      };
      this.#rows.set(row.id, row);
      this.#openSet(row.target).add(row.id);
    }
  }

  #openSet(target: string): Set<string> {
    let set = this.#open.get(target);
    if (set === undefined) {
      set = new Set();
      this.#open.set(target, set);
    }
    return set;
  }

  async claim(request: ClaimRequest): Promise<DeliveryRecord[]> {
    const claimed: DeliveryRecord[] = [];
    for (const [target, capacity] of request.capacity) {
      if (capacity <= 0) continue;
      const open = this.#open.get(target);
      if (open === undefined) continue;
      const due: Row[] = [];
      for (const id of open) {
        const row = this.#rows.get(id) as Row;
        if (row.state === 'pending' ? row.dueAt <= request.now : row.leaseUntil <= request.now) due.push(row);
      }
      due.sort((a, b) => a.dueAt - b.dueAt);
      for (const row of due.slice(0, capacity)) {
        claimed.push({ ...toRecord(row), state: 'inflight' });
        row.state = 'inflight';
        row.attempts += 1;
        row.claimedBy = request.nodeId;
        row.leaseUntil = request.now + request.leaseMs;
        row.updatedAt = request.now;
      }
    }
    return claimed;
  }

  async settle(requests: readonly SettleRequest[]): Promise<number> {
    let applied = 0;
    for (const request of requests) {
      const row = this.#rows.get(request.deliveryId);
      if (row === undefined) continue;
      if (request.unattempted !== true) row.history.push(request.record);
      if (row.state !== 'inflight' || row.claimedBy !== request.nodeId || row.attempts !== request.attempt) continue;
      const outcome = request.outcome;
      row.state = outcome.state;
      row.updatedAt = request.record.startedAt + request.record.durationMs;
      row.claimedBy = undefined;
      if (outcome.state === 'pending') {
        row.dueAt = outcome.dueAt;
        if (outcome.resetAttempts === true) row.attempts -= 1;
      }
      if (outcome.state !== 'done') row.lastError = outcome.error;
      if (outcome.state !== 'pending') this.#open.get(row.target)?.delete(row.id);
      applied += 1;
    }
    return applied;
  }

  async list(filter: ListFilter = {}): Promise<DeliveryRecord[]> {
    const limit = filter.limit ?? 100;
    const out: Row[] = [];
    for (const row of this.#rows.values()) {
      if (filter.state !== undefined && row.state !== filter.state) continue;
      if (filter.target !== undefined && row.target !== filter.target) continue;
      if (filter.before !== undefined && row.createdAt >= filter.before) continue;
      out.push(row);
    }
    out.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
    return out.slice(0, limit).map(toRecord);
  }

  async get(id: string): Promise<DeliveryDetail | undefined> {
    const row = this.#rows.get(id);
    if (row === undefined) return undefined;
    return { delivery: toRecord(row), attempts: [...row.history] };
  }

  #reopen(row: Row, now: number): void {
    row.state = 'pending';
    row.attempts = 0;
    row.dueAt = now;
    row.updatedAt = now;
    row.claimedBy = undefined;
    this.#openSet(row.target).add(row.id);
  }

  /** False (and nothing changes) when it does not exist or is in flight: being attempted right now. */
  async retry(id: string, now: number): Promise<boolean> {
    const row = this.#rows.get(id);
    if (row === undefined || row.state === 'inflight') return false;
    this.#reopen(row, now);
    return true;
  }

  #replayable(request: Omit<ReplayRequest, 'now' | 'limit'>): Row[] {
    const states = request.states ?? ['failed'];
    const out: Row[] = [];
    for (const row of this.#rows.values()) {
      if (
        row.target === request.target &&
        row.createdAt >= request.since &&
        row.updatedAt < (request.before ?? Number.MAX_SAFE_INTEGER) &&
        (states as readonly DeliveryState[]).includes(row.state) &&
        row.state !== 'inflight'
      ) {
        out.push(row);
      }
    }
    return out;
  }

  async countReplay(request: Omit<ReplayRequest, 'now' | 'limit'>): Promise<number> {
    return this.#replayable(request).length;
  }

  async replayBatch(request: ReplayRequest): Promise<number> {
    const rows = this.#replayable(request).filter((r) => r.state !== 'pending').slice(0, request.limit);
    for (const row of rows) this.#reopen(row, request.now);
    return rows.length;
  }

  async purge(request: PurgeRequest): Promise<number> {
    let removed = 0;
    for (const row of this.#rows.values()) {
      if (removed >= request.limit) break;
      const old =
        (row.state === 'done' && row.updatedAt < request.doneBefore) ||
        (row.state === 'failed' && row.updatedAt < request.failedBefore);
      if (old) {
        this.#rows.delete(row.id);
        removed += 1;
      }
    }
    return removed;
  }

  async depthByTarget(): Promise<TargetDepth[]> {
    const depth = new Map<string, { pending: number; inflight: number; failed: number; done: number; oldestDueAt?: number }>();
    for (const row of this.#rows.values()) {
      let d = depth.get(row.target);
      if (d === undefined) {
        d = { pending: 0, inflight: 0, failed: 0, done: 0 };
        depth.set(row.target, d);
      }
      d[row.state] += 1;
      if (row.state === 'pending' && (d.oldestDueAt === undefined || row.dueAt < d.oldestDueAt)) d.oldestDueAt = row.dueAt;
    }
    for (const target of this.#disabled.keys()) {
      if (!depth.has(target)) depth.set(target, { pending: 0, inflight: 0, failed: 0, done: 0 });
    }
    return [...depth]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([target, d]) => {
        const disabled = this.#disabled.get(target);
        return {
          target,
          ...d,
          ...(disabled === undefined ? {} : { disabled: { at: disabled.at, reason: disabled.reason } }),
        };
      });
  }

  async disableTarget(target: string, reason: string, at: number): Promise<void> {
    if (!this.#disabled.has(target)) this.#disabled.set(target, { target, reason, at });
  }

  async enableTarget(target: string): Promise<boolean> {
    return this.#disabled.delete(target);
  }

  async disabledTargets(): Promise<DisabledTarget[]> {
    return [...this.#disabled.values()];
  }

  async close(): Promise<void> {}
}
