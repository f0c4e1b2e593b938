// What the delivery layer needs from a store: memory (tests, embedding),
// SQLite (one node) and PostgreSQL (several nodes) implement it, and one
// contract test suite runs against all three.

import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { ClusterBus } from '../cluster/bus.js';
import type { ScheduleStore } from './schedule-store.js';
import type { IdempotencyKeeper } from '../events/idempotency.js';
import type { TargetHealthStore } from './target-health.js';
import type { AttemptRecord, DeliveryRecord, DeliveryState, RateLimit } from './types.js';

/** A delivery ready to be written: every field decided by the service. */
export interface StoredDeliveryInput {
  readonly id: string;
  readonly target: string;
  /** The event as data; at least one of `event` and `eventJson` is set. */
  readonly event?: Readonly<Record<string, unknown>>;
  readonly webhookId: string;
  readonly dueAt: number;
  readonly createdAt: number;
  /** The event as JSON text (written as is); the service always sets it. */
  readonly eventJson?: string;
  /** The same JSON as UTF-8 bytes, when the service made them (for the memory store). */
  readonly eventBytes?: Buffer | undefined;
  /** The trace context to keep with it (see DeliveryRecord.traceContext). */
  readonly traceContext?: string | undefined;
  /**
   * Written already claimed by this node (in flight, first attempt counted,
   * leased until `leaseUntil`): the enqueuing node dispatches it from memory
   * without a claim round trip; if it dies, the lease ends and anyone claims it.
   */
  readonly claim?: { readonly nodeId: string; readonly leaseUntil: number };
}

export interface ClaimRequest {
  readonly nodeId: string;
  readonly now: number;
  readonly leaseMs: number;
  /** Target name → how many more attempts it may start now (targets missing or at 0 are not claimed). */
  readonly capacity: ReadonlyMap<string, number>;
}

/**
 * What a done delivery keeps of its event (`delivery.keep_done_body`): the
 * JSON as it was, deflated, or nothing (its metadata and attempts stay; it
 * can no longer be replayed). Applied once every delivery sharing the event
 * is done, so a pending or failed one always has its body.
 */
export type KeepDoneBody = 'full' | 'compressed' | 'none';

/** How one attempt ends a claim. */
export type Settlement =
  | { readonly state: 'done'; readonly keepBody?: KeepDoneBody }
  | { readonly state: 'pending'; readonly dueAt: number; readonly error?: string; readonly resetAttempts?: boolean }
  | { readonly state: 'failed'; readonly error: string };

export interface SettleRequest {
  readonly deliveryId: string;
  readonly nodeId: string;
  /** The attempt number the claim was made for: a stale settle (lease lost) changes nothing. */
  readonly attempt: number;
  readonly record: AttemptRecord;
  readonly outcome: Settlement;
  /** The delivery was handed back without an attempt: apply the outcome, keep no attempt row. */
  readonly unattempted?: boolean;
}

export interface ListFilter {
  readonly state?: DeliveryState;
  readonly target?: string;
  /** The event's uuid. */
  readonly eventId?: string;
  /** Created at or after this (ms). */
  readonly since?: number;
  /** Created before this (ms): windows are [since, until). */
  readonly until?: number;
  /** Newest first (by creation time, then id); at most this many (default 100). */
  readonly limit?: number;
  /** Only deliveries created before this (ms), for paging. */
  readonly before?: number;
  /** Keyset paging: only deliveries that sort after this one (the last of the previous page) in that order. */
  readonly after?: ListPosition;
}

/** A delivery's place in list order (creation time, then id). */
export interface ListPosition {
  readonly createdAt: number;
  readonly id: string;
}

/** A target's deliveries created in a window, optionally only those changed since a time. */
export interface CountRequest {
  readonly target: string;
  readonly since: number;
  readonly until?: number;
  readonly changedSince?: number;
}

export interface StateCounts {
  readonly pending: number;
  readonly inflight: number;
  readonly done: number;
  readonly failed: number;
}

export interface DeliveryDetail {
  readonly delivery: DeliveryRecord;
  readonly attempts: readonly AttemptRecord[];
}

export type ReplayableState = Extract<DeliveryState, 'failed' | 'done'>;

export interface ReplayRequest {
  /** Count (countReplay only) the done deliveries whose body was not kept instead: a replay skips them. */
  readonly withoutBody?: boolean;
  readonly target: string;
  /** Deliveries created at or after this time (ms). */
  readonly since: number;
  /** And created before this time (ms; default: no bound). */
  readonly until?: number;
  /** Which finished states are replayed (default: failed only). */
  readonly states?: readonly ReplayableState[];
  /**
   * Only deliveries last changed before this time (ms; default: no bound).
   * A replay passes its start, so a delivery it replayed, which then finished
   * again, is not picked a second time (the replay ends).
   */
  readonly before?: number;
  readonly now: number;
  /** Rows changed per transaction. */
  readonly limit: number;
}

export interface PurgeRequest {
  readonly doneBefore: number;
  readonly failedBefore: number;
  readonly limit: number;
}

export interface TargetDepth {
  readonly target: string;
  readonly pending: number;
  readonly inflight: number;
  readonly failed: number;
  readonly done: number;
  /** When the oldest pending delivery became due (ms), if any. */
  readonly oldestDueAt?: number;
  /** Set while the target is disabled (HTTP 410): its deliveries wait. */
  readonly disabled?: { readonly at: number; readonly reason: string };
}

/** A target's unfinished deliveries (openByTarget). */
export interface TargetOpen {
  readonly target: string;
  readonly pending: number;
  readonly inflight: number;
}

export interface DisabledTarget {
  readonly target: string;
  readonly at: number;
  readonly reason: string;
}

/** One event collected for a digest target (`digest:`), kept until its batch is sent. */
export interface DigestMemberInput {
  readonly id: string;
  readonly target: string;
  readonly eventJson: string;
  readonly createdAt: number;
}

/** A digest target's members so far. */
export interface DigestHead {
  readonly target: string;
  readonly count: number;
  /** When the oldest member was collected (ms). */
  readonly oldestAt: number;
}

/** The delivery a batch becomes; its event is the members' events (see digestEventJson). */
export type DigestDeliveryInput = Pick<StoredDeliveryInput, 'id' | 'target' | 'webhookId' | 'dueAt' | 'createdAt'>;

/** A digest delivery's event: its members' events as one JSON array, oldest first. */
export function digestEventJson(events: readonly string[]): string {
  return `[${events.join(',')}]`;
}

/**
 * A webhook target's signing secrets after a rotation from the API: what it
 * signs with from now on, and what it signed with before, still signing
 * until `previousUntil` (the overlap). Kept in the store so a rotation
 * survives restarts and reaches every node.
 */
export interface TargetSecretsRecord {
  readonly target: string;
  readonly secrets: readonly string[];
  readonly previous: readonly string[];
  /** ms since the epoch. */
  readonly previousUntil: number;
  readonly rotatedAt: number;
}

/**
 * Also the schedules' tick claims and paused state (schedule-store.ts), the
 * targets' shared health (target-health.ts), their rotated signing secrets
 * and the idempotency keys of emits (events/idempotency.ts): one database for all.
 */
export interface DeliveryStore extends ScheduleStore, TargetHealthStore, IdempotencyKeeper {
  readonly kind: 'memory' | 'sqlite' | 'postgres';
  /** Creates or upgrades the schema; safe to run on every start. */
  migrate(): Promise<void>;
  /** Writes the batch in one transaction; resolves once it is durable. */
  enqueue(rows: readonly StoredDeliveryInput[]): Promise<void>;
  /**
   * enqueue() done before it returns, for a store with nothing to wait for
   * (memory): the service then writes each enqueue at once instead of
   * grouping concurrent ones into one commit.
   */
  enqueueNow?(rows: readonly StoredDeliveryInput[]): void;
  /**
   * Atomically takes due deliveries (pending and due, or in flight with an
   * expired lease) for the targets with capacity, oldest due first, marking
   * them in flight for `nodeId` until `now + leaseMs`. Each returned record's
   * `attempts` counts the attempts started before this one.
   */
  claim(request: ClaimRequest): Promise<DeliveryRecord[]>;
  /**
   * The targets that have a delivery claim() would take at `now` (pending and
   * due, or in flight with an expired lease), each once, in no set order: in
   * one query whose cost grows with the targets that have pending or in-flight
   * deliveries, never with every target registered. A dispatcher asks once a
   * poll interval (and on a wake) instead of claiming for each idle target.
   * A store without it: the dispatcher asks every target once a poll.
   */
  dueTargets?(now: number): Promise<string[]>;
  /** Records each attempt and applies its outcome, in one transaction. Returns how many outcomes applied. */
  settle(requests: readonly SettleRequest[]): Promise<number>;
  /**
   * settle() then claim() in one transaction (one commit per dispatcher tick).
   * Stores without it get both calls, run side by side.
   */
  settleAndClaim?(settles: readonly SettleRequest[], claim: ClaimRequest | undefined): Promise<DeliveryRecord[]>;
  list(filter?: ListFilter): Promise<DeliveryRecord[]>;
  get(id: string): Promise<DeliveryDetail | undefined>;
  /** Makes a delivery pending and due now with a fresh schedule. False when it does not exist or is in flight (changed nothing). */
  retry(id: string, now: number): Promise<boolean>;
  /** How many deliveries a replay would change. */
  countReplay(request: Omit<ReplayRequest, 'now' | 'limit'>): Promise<number>;
  /** A target's deliveries per state in a creation window (reads that window's rows, through the target's id index). */
  countStates(request: CountRequest): Promise<StateCounts>;
  /** Makes up to `limit` matching deliveries pending again; returns how many. Call until 0. */
  replayBatch(request: ReplayRequest): Promise<number>;
  /** Deletes up to `limit` old finished deliveries (and their attempts); returns how many. */
  purge(request: PurgeRequest): Promise<number>;
  depthByTarget(): Promise<TargetDepth[]>;
  /**
   * Pending and in-flight deliveries per target (targets with none left
   * out), reading only those rows: the back-pressure counts are refreshed
   * from it every few seconds, and depthByTarget() also counts every
   * finished row the retention keeps. A store without it: depthByTarget().
   */
  openByTarget?(): Promise<TargetOpen[]>;
  disableTarget(target: string, reason: string, at: number): Promise<void>;
  /** False when the target was not disabled. */
  enableTarget(target: string): Promise<boolean>;
  disabledTargets(): Promise<DisabledTarget[]>;
  /** Every target's rotated signing secrets (optional: a store without them cannot rotate). */
  targetSecrets?(): Promise<TargetSecretsRecord[]>;
  /** Replaces a target's rotated signing secrets; resolves once durable. */
  setTargetSecrets?(record: TargetSecretsRecord): Promise<void>;
  /** Keeps digest members; resolves once they are durable. */
  collectDigest?(rows: readonly DigestMemberInput[]): Promise<void>;
  /** Every digest target with members: how many, and the oldest's time. */
  digestHeads?(): Promise<DigestHead[]>;
  /**
   * In one transaction: takes up to `limit` oldest members of
   * `delivery.target`, deletes them and enqueues `delivery` with their events
   * as its event (digestEventJson). A crash before the commit leaves the
   * members; after it, the one delivery. Returns how many members it took
   * (0: nothing was enqueued).
   */
  flushDigest?(delivery: DigestDeliveryInput, limit: number): Promise<number>;
  /**
   * Takes up to `want` tokens from `target`'s shared token bucket (created
   * full), in one statement; resolves with how many it got. Stores shared by
   * several nodes only (PostgreSQL): the others keep the bucket in memory.
   */
  takeRateTokens?(target: string, want: number, limit: RateLimit): Promise<number>;
  /** Calls `listener` when another process adds or frees work (PostgreSQL's NOTIFY); others poll. */
  onWake?(listener: () => void): () => void;
  /** A bus that reaches every node sharing this store (PostgreSQL only). */
  openClusterBus?(nodeId: string): Promise<ClusterBus>;
  close(): Promise<void>;
}

/** The JSON a row keeps for an event. */
export function eventJsonOf(row: StoredDeliveryInput): string {
  return row.eventJson ?? JSON.stringify(row.event);
}

/**
 * A delivery as a store or the service hands it out: the event stays the
 * stored JSON (text, or UTF-8 bytes) until someone reads `event` (a target
 * sending the JSON as is never parses it).
 */
export class StoredRecord implements DeliveryRecord {
  readonly id: string;
  readonly target: string;
  readonly webhookId: string;
  readonly attempts: number;
  readonly state: DeliveryState;
  readonly dueAt: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly lastError?: string;
  readonly eventDropped?: true;
  readonly traceContext?: string;
  #json: string | undefined;
  #bytes: Buffer | undefined;
  #event: Readonly<Record<string, unknown>> | undefined;

  constructor(
    fields: Omit<DeliveryRecord, 'event' | 'eventJson' | 'eventBytes' | 'lastError' | 'traceContext'> &
      ({ readonly eventJson: string; readonly eventBytes?: undefined } | { readonly eventJson?: undefined; readonly eventBytes: Buffer }) & {
        readonly lastError?: string | undefined;
        readonly traceContext?: string | undefined | null;
        /** The event as data when the caller has it (else parsed from the JSON on first read). */
        readonly event?: Readonly<Record<string, unknown>> | undefined;
        /** The body was not kept (keep_done_body: none): `event` is `{}`. */
        readonly eventDropped?: boolean | undefined;
      },
  ) {
    this.id = fields.id;
    this.target = fields.target;
    this.#json = fields.eventJson;
    this.#bytes = fields.eventBytes;
    this.webhookId = fields.webhookId;
    this.attempts = fields.attempts;
    this.state = fields.state;
    this.dueAt = fields.dueAt;
    this.createdAt = fields.createdAt;
    this.updatedAt = fields.updatedAt;
    if (fields.lastError !== undefined) this.lastError = fields.lastError;
    if (fields.eventDropped === true) this.eventDropped = true;
    if (fields.traceContext !== undefined && fields.traceContext !== null) this.traceContext = fields.traceContext;
    this.#event = fields.event;
  }

  get eventJson(): string {
    return (this.#json ??= (this.#bytes as Buffer).toString('utf8'));
  }

  get eventBytes(): Buffer | undefined {
    return this.#bytes;
  }

  get event(): Readonly<Record<string, unknown>> {
    return (this.#event ??= JSON.parse(this.eventJson) as Record<string, unknown>);
  }

  /** As JSON: the plain record, with its event (what a store's list and get mean). */
  toJSON(): DeliveryRecord {
    return {
      id: this.id,
      target: this.target,
      event: this.event,
      webhookId: this.webhookId,
      attempts: this.attempts,
      state: this.state,
      dueAt: this.dueAt,
      createdAt: this.createdAt,
      updatedAt: this.updatedAt,
      ...(this.lastError === undefined ? {} : { lastError: this.lastError }),
      ...(this.eventDropped === true ? { eventDropped: true } : {}),
    };
  }
}

/** What a delivery whose body was not kept shows as its event. */
export const DROPPED_EVENT_JSON = '{}';

/** Deflates an event's JSON for a done delivery (keep_done_body: compressed). */
export function packEvent(json: string | Buffer): Buffer {
  return deflateRawSync(json);
}

/**
 * A stored event body as JSON text: text as is, deflated bytes inflated,
 * undefined when it was not kept (null, or the empty text SQLite keeps).
 */
export function unpackEvent(stored: string | Buffer | Uint8Array | null | undefined): string | undefined {
  if (stored === null || stored === undefined || stored === '') return undefined;
  if (typeof stored === 'string') return stored;
  return stored.length === 0 ? undefined : inflateRawSync(stored).toString('utf8');
}

/**
 * The event JSON as UTF-8 bytes: a queue that holds many deliveries keeps
 * them off the JS heap, so the garbage collector does not copy each one from
 * generation to generation. Node's Buffer pool makes small ones cheap (a kept
 * slice holds its 8 KiB slab; bigger payloads get memory of their own).
 */
export function jsonBytes(json: string): Buffer {
  return Buffer.from(json, 'utf8');
}

/** Cuts a response or output to the 4 KiB the record keeps. */
export function clipResponse(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  if (text.length <= 4096 && Buffer.byteLength(text) <= 4096) return text;
  const bytes = Buffer.from(text);
  // Cut before the character the limit falls inside (its bytes after the first are 10xxxxxx).
  let end = 4096;
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end -= 1;
  return bytes.subarray(0, end).toString('utf8');
}
