// The in-memory store: same contract as SQLite and PostgreSQL, nothing
// survives a restart. For embedding hosts that accept that, and for tests.

import {
  DROPPED_EVENT_JSON,
  eventJsonOf,
  jsonBytes,
  packEvent,
  unpackEvent,
  type KeepDoneBody,
  StoredRecord,
  type ClaimRequest,
  type CountRequest,
  type StateCounts,
  type DeliveryDetail,
  type DeliveryStore,
  type DisabledTarget,
  type TargetSecretsRecord,
  type ListFilter,
  type PurgeRequest,
  type ReplayRequest,
  type SettleRequest,
  type StoredDeliveryInput,
  type TargetDepth,
  type TargetOpen,
  digestEventJson,
  type DigestDeliveryInput,
  type DigestHead,
  type DigestMemberInput,
} from './store.js';
import type { AttemptRecord, DeliveryRecord, DeliveryState } from './types.js';
import { eventUuidOf } from './delivery-id.js';
import { DueHeap } from './due-heap.js';
import { MemoryIdempotencyKeys, type IdempotencyClaim, type IdempotencyReservation } from '../events/idempotency.js';
import type { ScheduleRecord, ScheduleTickClaim } from './schedule-store.js';
import type { TargetHealth } from './target-health.js';

interface Row {
  id: string;
  target: string;
  /** The JSON as given, as bytes off the JS heap; decoded and parsed only when a record of it is read for its event. */
  eventBytes: Buffer;
  /** What eventBytes hold once done (keep_done_body): the JSON, deflated JSON, or nothing. */
  kept: KeepDoneBody;
  webhookId: string;
  attempts: number;
  state: DeliveryState;
  dueAt: number;
  createdAt: number;
  updatedAt: number;
  lastError: string | undefined;
  traceContext: string | undefined;
  claimedBy: string | undefined;
  leaseUntil: number;
  /**
   * The attempts' records: none for a queued row, the record itself for one
   * attempt (most done rows: no array to allocate, copy and keep beside it),
   * a list from the second.
   */
  history: AttemptRecord | AttemptRecord[] | undefined;
  /** Bumped whenever the row leaves or re-enters the due heap: older heap entries are stale. */
  generation: number;
}

/** A target's open deliveries: claiming looks only at what may be claimable. */
interface Queue {
  readonly pending: DueHeap<Row>;
  /** In claim order. */
  readonly inflight: Set<Row>;
  /** At most the earliest lease end among `inflight` (it only falls on insert): no scan before it. */
  earliestLease: number;
}

function toRecord(row: Row, state: DeliveryState = row.state): DeliveryRecord {
  // One literal per case, no spread of the body's members into it: a claim makes one record per delivery.
  if (row.kept === 'full') {
    return new StoredRecord({
      id: row.id,
      target: row.target,
      eventBytes: row.eventBytes,
      webhookId: row.webhookId,
      attempts: row.attempts,
      state,
      dueAt: row.dueAt,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
      lastError: row.lastError,
      traceContext: row.traceContext,
    });
  }
  const compressed = row.kept === 'compressed';
  return new StoredRecord({
    id: row.id,
    target: row.target,
    eventJson: compressed ? (unpackEvent(row.eventBytes) as string) : DROPPED_EVENT_JSON,
    eventDropped: !compressed,
    webhookId: row.webhookId,
    attempts: row.attempts,
    state,
    dueAt: row.dueAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    lastError: row.lastError,
    traceContext: row.traceContext,
  });
}

/** A row's history with `record` at its end (see Row.history); a list made by its second item is `[first, second]`, sized to hold them. */
function withAttempt(history: Row['history'], record: AttemptRecord): AttemptRecord | AttemptRecord[] {
  if (history === undefined) return record;
  if (!Array.isArray(history)) return [history, record];
  history.push(record);
  return history;
}

export interface MemoryStoreOptions {
  /**
   * Completed deliveries kept for list/show (default 10,000); past it the
   * oldest completed ones go first. Memory is the limit here, not time: a
   * busy node would otherwise hold days of completed deliveries.
   */
  readonly keepDone?: number;
}

export class MemoryStore implements DeliveryStore {
  readonly kind = 'memory' as const;
  readonly #rows = new Map<string, Row>();
  readonly #keys = new MemoryIdempotencyKeys();
  /**
   * Every row in list order (creation time, then id; almost always
   * appended), as two parallel arrays: a search pages from its cursor by
   * binary search instead of sorting all rows. Ids only (the row's own
   * string), so a row let go of is freed at once; entries of deleted rows
   * stay until the next compaction (a search skips them).
   */
  #orderAt: number[] = [];
  #orderId: string[] = [];
  /**
   * Completed rows, oldest completion first, each with the `generation` it
   * completed at (a row reopened since is skipped). An array with a head
   * index: deleting from the front of a Set leaves holes that every later
   * front read walks over.
   */
  #done: Array<Row | number> = [];
  #doneHead = 0;
  #doneCount = 0;
  readonly #keepDone: number;
  readonly #queues = new Map<string, Queue>();
  readonly #disabled = new Map<string, DisabledTarget>();
  /** Each schedule's state: paused, newest claimed tick, newest fired one. */
  readonly #schedules = new Map<string, { paused: boolean; changedAt?: number; lastTick?: number; lastFired?: ScheduleRecord['lastFired'] }>();
  /** Circuit state and failing time per target (target-health.ts). */
  readonly #health = new Map<string, { -readonly [K in keyof TargetHealth]: TargetHealth[K] }>();
  /** Digest members per target, oldest first. */
  readonly #digests = new Map<string, DigestMemberInput[]>();

  constructor(options: MemoryStoreOptions = {}) {
    this.#keepDone = Math.max(0, options.keepDone ?? 10_000);
  }

  async migrate(): Promise<void> {}

  #completed(row: Row): void {
    this.#done.push(row, row.generation);
    this.#doneCount += 1;
    while (this.#doneCount > this.#keepDone && this.#doneHead < this.#done.length) {
      const oldest = this.#done[this.#doneHead] as Row;
      const generation = this.#done[this.#doneHead + 1] as number;
      // Let go of it now: the slots before the head stay until the next compaction.
      this.#done[this.#doneHead] = 0;
      this.#doneHead += 2;
      // Reopened or purged since (both bump the generation): not this entry's to evict.
      if (oldest.state !== 'done' || oldest.generation !== generation) continue;
      this.#rows.delete(oldest.id);
      this.#doneCount -= 1;
    }
    if (this.#doneHead > 4096 && this.#doneHead * 2 > this.#done.length) {
      this.#done = this.#done.slice(this.#doneHead);
      this.#doneHead = 0;
    }
  }

  /** A completed row left the completed set (reopened or purged). */
  #uncompleted(row: Row): void {
    if (row.state === 'done') this.#doneCount -= 1;
  }

  async enqueue(rows: readonly StoredDeliveryInput[]): Promise<void> {
    this.enqueueNow(rows);
  }

  enqueueNow(rows: readonly StoredDeliveryInput[]): void {
    for (const input of rows) {
      const row: Row = {
        id: input.id,
        target: input.target,
        eventBytes: input.eventBytes ?? jsonBytes(eventJsonOf(input)),
        kept: 'full',
        webhookId: input.webhookId,
        attempts: input.claim === undefined ? 0 : 1,
        state: input.claim === undefined ? 'pending' : 'inflight',
        dueAt: input.dueAt,
        createdAt: input.createdAt,
        updatedAt: input.createdAt,
        lastError: undefined,
        traceContext: input.traceContext,
        claimedBy: input.claim?.nodeId,
        leaseUntil: input.claim?.leaseUntil ?? 0,
        history: undefined,
        generation: 0,
      };
      this.#rows.set(row.id, row);
      this.#index(row);
      if (row.state === 'pending') this.#schedule(row);
      else this.#markInflight(row);
    }
  }

  #queue(target: string): Queue {
    let queue = this.#queues.get(target);
    if (queue === undefined) {
      queue = { pending: new DueHeap(), inflight: new Set(), earliestLease: Infinity };
      this.#queues.set(target, queue);
    }
    return queue;
  }

  /** The row is pending (again): its place in the due heap is by its new due time. */
  #schedule(row: Row): void {
    row.generation += 1;
    this.#queue(row.target).pending.push(row.dueAt, row.generation, row);
  }

  #markInflight(row: Row, queue: Queue = this.#queue(row.target)): void {
    queue.inflight.add(row);
    if (row.leaseUntil < queue.earliestLease) queue.earliestLease = row.leaseUntil;
  }

  /** In-flight rows whose lease ended, up to `limit`; refreshes the earliest-lease bound when it scans. */
  #expired(queue: Queue, now: number, limit: number): Row[] {
    if (queue.earliestLease > now || queue.inflight.size === 0) return [];
    const out: Row[] = [];
    let earliest = Infinity;
    for (const row of queue.inflight) {
      if (row.leaseUntil <= now && out.length < limit) out.push(row);
      else if (row.leaseUntil < earliest) earliest = row.leaseUntil;
    }
    queue.earliestLease = earliest;
    return out;
  }

  #claimRow(row: Row, request: ClaimRequest, into: DeliveryRecord[]): void {
    into.push(toRecord(row, 'inflight'));
    const queue = this.#queue(row.target);
    // Re-added last: the set stays in claim order.
    queue.inflight.delete(row);
    row.state = 'inflight';
    row.generation += 1;
    row.attempts += 1;
    row.claimedBy = request.nodeId;
    row.leaseUntil = request.now + request.leaseMs;
    row.updatedAt = request.now;
    this.#markInflight(row, queue);
  }

  async claim(request: ClaimRequest): Promise<DeliveryRecord[]> {
    const claimed: DeliveryRecord[] = [];
    for (const [target, capacity] of request.capacity) {
      if (capacity <= 0) continue;
      const queue = this.#queues.get(target);
      if (queue === undefined) continue;
      let left = capacity;
      // Expired leases first, as the SQL stores do.
      for (const row of this.#expired(queue, request.now, left)) {
        this.#claimRow(row, request, claimed);
        left -= 1;
      }
      const pending = queue.pending;
      while (left > 0 && pending.peekAt() <= request.now) {
        const generation = pending.peekGeneration();
        const row = pending.pop() as Row;
        if (generation !== row.generation || row.state !== 'pending') continue;
        this.#claimRow(row, request, claimed);
        left -= 1;
      }
    }
    return claimed;
  }

  async dueTargets(now: number): Promise<string[]> {
    const due: string[] = [];
    for (const [target, queue] of this.#queues) {
      const pending = queue.pending;
      // Entries of rows that left pending or were rescheduled are dropped here, as a claim would.
      while (pending.size > 0) {
        const row = pending.peekItem() as Row;
        if (pending.peekGeneration() === row.generation && row.state === 'pending') break;
        pending.pop();
      }
      if (pending.size === 0 && queue.inflight.size === 0) {
        // A target with nothing open costs the next calls nothing (a write makes its queue again).
        this.#queues.delete(target);
        continue;
      }
      // earliestLease is a lower bound: a target it names may have nothing expired (its claim then finds nothing).
      if (pending.peekAt() <= now || (queue.inflight.size > 0 && queue.earliestLease <= now)) due.push(target);
    }
    return due;
  }

  async settle(requests: readonly SettleRequest[]): Promise<number> {
    let applied = 0;
    for (const request of requests) {
      const row = this.#rows.get(request.deliveryId);
      if (row === undefined) continue;
      if (request.unattempted !== true) row.history = withAttempt(row.history, request.record);
      if (row.state !== 'inflight' || row.claimedBy !== request.nodeId || row.attempts !== request.attempt) continue;
      const outcome = request.outcome;
      row.state = outcome.state;
      row.updatedAt = request.record.startedAt + request.record.durationMs;
      row.claimedBy = undefined;
      this.#queues.get(row.target)?.inflight.delete(row);
      if (outcome.state === 'pending') {
        row.dueAt = outcome.dueAt;
        if (outcome.resetAttempts === true) row.attempts -= 1;
        this.#schedule(row);
      } else {
        row.generation += 1;
      }
      if (outcome.state !== 'done') row.lastError = outcome.error;
      else {
        this.#keep(row, outcome.keepBody ?? 'full');
        this.#completed(row);
      }
      applied += 1;
    }
    return applied;
  }

  /** Applies keep_done_body to a row that completed (each row has its own copy of the event here). */
  #keep(row: Row, keep: KeepDoneBody): void {
    if (keep === 'full' || row.kept !== 'full') return;
    row.eventBytes = keep === 'compressed' ? packEvent(row.eventBytes) : Buffer.alloc(0);
    row.kept = keep;
  }

  /** Adds a row to the list order. */
  #index(row: Row): void {
    const at = this.#orderAt;
    const ids = this.#orderId;
    const n = at.length;
    if (n === 0 || (at[n - 1] as number) < row.createdAt || ((at[n - 1] as number) === row.createdAt && (ids[n - 1] as string) < row.id)) {
      at.push(row.createdAt);
      ids.push(row.id);
    } else {
      const i = this.#firstAtOrAfter(row.createdAt, row.id);
      at.splice(i, 0, row.createdAt);
      ids.splice(i, 0, row.id);
    }
    // Drop deleted rows' entries once they are half of the order (amortised: rare).
    if (ids.length > 1024 && ids.length > 2 * this.#rows.size) {
      const keep = ids.map((id) => this.#rows.has(id));
      this.#orderAt = at.filter((_a, i) => keep[i]);
      this.#orderId = ids.filter((_id, i) => keep[i]);
    }
  }

  /** Index of the first entry at or after (createdAt, id) in list order. */
  #firstAtOrAfter(createdAt: number, id: string): number {
    const at = this.#orderAt;
    const ids = this.#orderId;
    let lo = 0;
    let hi = at.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const a = at[mid] as number;
      if (a < createdAt || (a === createdAt && (ids[mid] as string) < id)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  async list(filter: ListFilter = {}): Promise<DeliveryRecord[]> {
    const limit = filter.limit ?? 100;
    const out: DeliveryRecord[] = [];
    // Newest first from the upper bound: the cursor, or the end of the window.
    let start = this.#orderAt.length;
    if (filter.after !== undefined) start = this.#firstAtOrAfter(filter.after.createdAt, filter.after.id);
    if (filter.until !== undefined) start = Math.min(start, this.#firstAtOrAfter(filter.until, ''));
    if (filter.before !== undefined) start = Math.min(start, this.#firstAtOrAfter(filter.before, ''));
    for (let i = start - 1; i >= 0 && out.length < limit; i--) {
      if (filter.since !== undefined && (this.#orderAt[i] as number) < filter.since) break;
      const row = this.#rows.get(this.#orderId[i] as string);
      if (row === undefined) continue;
      if (filter.state !== undefined && row.state !== filter.state) continue;
      if (filter.target !== undefined && row.target !== filter.target) continue;
      if (filter.eventId !== undefined && eventUuidOf(toRecord(row).eventJson ?? '') !== filter.eventId) continue;
      out.push(toRecord(row));
    }
    return out;
  }

  async countStates(request: CountRequest): Promise<StateCounts> {
    const counts = { pending: 0, inflight: 0, done: 0, failed: 0 };
    const until = request.until ?? Number.MAX_SAFE_INTEGER;
    for (let i = this.#firstAtOrAfter(request.since, ''); i < this.#orderAt.length && (this.#orderAt[i] as number) < until; i++) {
      const row = this.#rows.get(this.#orderId[i] as string);
      if (row === undefined || row.target !== request.target) continue;
      if (request.changedSince !== undefined && row.updatedAt < request.changedSince) continue;
      counts[row.state] += 1;
    }
    return counts;
  }

  async get(id: string): Promise<DeliveryDetail | undefined> {
    const row = this.#rows.get(id);
    if (row === undefined) return undefined;
    const history = row.history;
    return { delivery: toRecord(row), attempts: history === undefined ? [] : Array.isArray(history) ? [...history] : [history] };
  }

  #reopen(row: Row, now: number): void {
    this.#uncompleted(row);
    // Pending again: the JSON as it was (what the targets send).
    if (row.kept === 'compressed') {
      row.eventBytes = jsonBytes(unpackEvent(row.eventBytes) as string);
      row.kept = 'full';
    }
    row.state = 'pending';
    row.attempts = 0;
    row.dueAt = now;
    row.updatedAt = now;
    row.claimedBy = undefined;
    this.#schedule(row);
  }

  /** False (and nothing changes) when it does not exist or is in flight: being attempted right now. */
  async retry(id: string, now: number): Promise<boolean> {
    const row = this.#rows.get(id);
    if (row === undefined || row.state === 'inflight' || row.kept === 'none') return false;
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
        row.createdAt < (request.until ?? Number.MAX_SAFE_INTEGER) &&
        row.updatedAt < (request.before ?? Number.MAX_SAFE_INTEGER) &&
        (states as readonly DeliveryState[]).includes(row.state) &&
        row.state !== 'inflight' &&
        // A replay skips what has no body; withoutBody counts just those.
        (row.kept === 'none') === (request.withoutBody === true)
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
        this.#uncompleted(row);
        // Its entry in the completed ring is stale now.
        row.generation += 1;
        removed += 1;
      }
    }
    return removed;
  }

  async openByTarget(): Promise<TargetOpen[]> {
    const open = new Map<string, { target: string; pending: number; inflight: number }>();
    for (const row of this.#rows.values()) {
      if (row.state !== 'pending' && row.state !== 'inflight') continue;
      let o = open.get(row.target);
      if (o === undefined) open.set(row.target, (o = { target: row.target, pending: 0, inflight: 0 }));
      o[row.state] += 1;
    }
    return [...open.values()];
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

  async collectDigest(rows: readonly DigestMemberInput[]): Promise<void> {
    for (const r of rows) {
      let members = this.#digests.get(r.target);
      if (members === undefined) this.#digests.set(r.target, (members = []));
      members.push(r);
    }
  }

  async digestHeads(): Promise<DigestHead[]> {
    return [...this.#digests].filter(([, m]) => m.length > 0).map(([target, m]) => ({ target, count: m.length, oldestAt: (m[0] as DigestMemberInput).createdAt }));
  }

  async flushDigest(delivery: DigestDeliveryInput, limit: number): Promise<number> {
    const members = this.#digests.get(delivery.target);
    if (members === undefined || members.length === 0) return 0;
    const taken = members.splice(0, limit);
    this.enqueueNow([{ ...delivery, eventJson: digestEventJson(taken.map((m) => m.eventJson)) }]);
    return taken.length;
  }

  async disableTarget(target: string, reason: string, at: number): Promise<void> {
    if (!this.#disabled.has(target)) this.#disabled.set(target, { target, reason, at });
  }

  async enableTarget(target: string): Promise<boolean> {
    return this.#disabled.delete(target);
  }

  readonly #secrets = new Map<string, TargetSecretsRecord>();

  async targetSecrets(): Promise<TargetSecretsRecord[]> {
    return [...this.#secrets.values()].sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
  }

  async setTargetSecrets(record: TargetSecretsRecord): Promise<void> {
    this.#secrets.set(record.target, { ...record, secrets: [...record.secrets], previous: [...record.previous] });
  }

  async disabledTargets(): Promise<DisabledTarget[]> {
    return [...this.#disabled.values()];
  }

  #healthOf(target: string): { -readonly [K in keyof TargetHealth]: TargetHealth[K] } {
    let h = this.#health.get(target);
    if (h === undefined) this.#health.set(target, (h = { target }));
    return h;
  }

  async saveCircuit(target: string, state: 'open' | 'closed', openUntil: number, at: number, nodeId: string): Promise<void> {
    this.#healthOf(target).circuit = { state, openUntil, at, nodeId };
  }

  async markFailing(target: string, at: number): Promise<void> {
    const h = this.#healthOf(target);
    h.failingSince ??= at;
  }

  async clearFailing(target: string, at: number): Promise<void> {
    const h = this.#health.get(target);
    if (h?.failingSince !== undefined && h.failingSince <= at) delete h.failingSince;
  }

  async targetHealth(): Promise<TargetHealth[]> {
    return [...this.#health.values()].map((h) => ({ ...h })).sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
  }

  #scheduleOf(name: string) {
    let s = this.#schedules.get(name);
    if (s === undefined) {
      s = { paused: false };
      this.#schedules.set(name, s);
    }
    return s;
  }

  async claimScheduleTick(claim: ScheduleTickClaim): Promise<boolean> {
    const s = this.#scheduleOf(claim.name);
    if (s.lastTick !== undefined && s.lastTick >= claim.tick) return false;
    s.lastTick = claim.tick;
    if (claim.fired) s.lastFired = { tick: claim.tick, at: claim.at, nodeId: claim.nodeId };
    return true;
  }

  async setSchedulePaused(name: string, paused: boolean, at: number): Promise<void> {
    const s = this.#scheduleOf(name);
    s.paused = paused;
    s.changedAt = at;
  }

  async scheduleState(name: string): Promise<ScheduleRecord> {
    return (await this.scheduleStates()).find((r) => r.name === name) ?? { name, paused: false };
  }

  async scheduleStates(): Promise<ScheduleRecord[]> {
    return [...this.#schedules]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, s]) => ({ name, ...s }));
  }

  // Idempotency keys of emits (idempotency-keys.ts): a table of their own.

  reserveIdempotencyKey(claim: IdempotencyClaim): Promise<IdempotencyReservation | undefined> {
    return this.#keys.reserveIdempotencyKey(claim);
  }

  completeIdempotencyKey(key: string, fingerprint: string): Promise<void> {
    return this.#keys.completeIdempotencyKey(key, fingerprint);
  }

  releaseIdempotencyKey(key: string, fingerprint: string): Promise<void> {
    return this.#keys.releaseIdempotencyKey(key, fingerprint);
  }

  purgeIdempotencyKeys(now: number, limit: number): Promise<number> {
    return this.#keys.purgeIdempotencyKeys(now, limit);
  }

  async close(): Promise<void> {}
}
