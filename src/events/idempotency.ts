// Idempotent emits: an emit made with an idempotency key reserves the key in
// a keeper (the delivery store, so keys hold across restarts and, on
// PostgreSQL, across nodes) before it runs. A repeat within the window gets
// the first emit's event back (same uuid, same time) and runs nothing; the
// same key with other input is a conflict. The keeper's unique key is what
// decides between two identical emits at once: one reserves, the other waits
// for it to finish and replays.

import { createHash } from 'node:crypto';
import { IdempotencyConflictError } from '../errors.js';

/** What an emit asks the keeper for: the key, for this input, with the uuid and time its event will have. */
export interface IdempotencyClaim {
  readonly key: string;
  /** A hash of the event id and input: the same key with another fingerprint is a conflict. */
  readonly fingerprint: string;
  readonly eventUuid: string;
  readonly eventTime: number;
  /** Now (ms). */
  readonly now: number;
  /** When the key is forgotten (ms). */
  readonly expiresAt: number;
  /** A reservation made before this (ms) and never completed is abandoned (its emitter died): it may be taken over. */
  readonly staleBefore: number;
}

export interface IdempotencyRecord {
  readonly key: string;
  readonly fingerprint: string;
  /** The event the key stands for (reserved up front, so a takeover emits the same uuid). */
  readonly eventUuid: string;
  readonly eventTime: number;
  /** `pending` while its emit runs; `done` once the event was accepted. */
  readonly state: 'pending' | 'done';
  readonly createdAt: number;
  readonly expiresAt: number;
}

export interface IdempotencyReservation {
  /** True: the caller owns the key and emits `record`'s event; false: `record` is someone else's. */
  readonly reserved: boolean;
  readonly record: IdempotencyRecord;
}

/** Where keys are kept: every delivery store, and a memory one for hosts without a store. */
export interface IdempotencyKeeper {
  /**
   * Reserves the key when nobody holds it (or its holder expired, or
   * abandoned a reservation with the same fingerprint). Atomic: of two
   * reservations at once, one gets `reserved: true`. Otherwise returns the
   * holder's record (undefined only if it vanished meanwhile: call again).
   */
  reserveIdempotencyKey(claim: IdempotencyClaim): Promise<IdempotencyReservation | undefined>;
  /** The emit was accepted: the key now replays its event. */
  completeIdempotencyKey(key: string, fingerprint: string): Promise<void>;
  /** The emit failed: the key is free again (a retry runs it anew). Only a pending reservation is removed. */
  releaseIdempotencyKey(key: string, fingerprint: string): Promise<void>;
  /** Deletes up to `limit` keys expired at `now`; returns how many. */
  purgeIdempotencyKeys(now: number, limit: number): Promise<number>;
}

/** The same event id and input give the same fingerprint (the input as JSON, in its keys' order). */
export function emitFingerprint(id: string, input: unknown): string {
  return createHash('sha256').update(JSON.stringify([id, input ?? {}])).digest('base64url');
}

/** Keys in this process only: a host with no delivery store, and the memory store. */
export class MemoryIdempotencyKeys implements IdempotencyKeeper {
  readonly #keys = new Map<string, IdempotencyRecord>();

  async reserveIdempotencyKey(claim: IdempotencyClaim): Promise<IdempotencyReservation> {
    this.#dropExpired(claim.now);
    const held = this.#keys.get(claim.key);
    const abandoned = held !== undefined && held.state === 'pending' && held.createdAt < claim.staleBefore && held.fingerprint === claim.fingerprint;
    if (held !== undefined && held.expiresAt > claim.now && !abandoned) return { reserved: false, record: held };
    const record: IdempotencyRecord = abandoned
      ? { ...held, createdAt: claim.now }
      : { key: claim.key, fingerprint: claim.fingerprint, eventUuid: claim.eventUuid, eventTime: claim.eventTime, state: 'pending', createdAt: claim.now, expiresAt: claim.expiresAt };
    // Deleted first so the map stays in creation order (what #dropExpired relies on).
    this.#keys.delete(claim.key);
    this.#keys.set(claim.key, record);
    return { reserved: true, record };
  }

  async completeIdempotencyKey(key: string, fingerprint: string): Promise<void> {
    const held = this.#keys.get(key);
    if (held !== undefined && held.fingerprint === fingerprint) this.#keys.set(key, { ...held, state: 'done' });
  }

  async releaseIdempotencyKey(key: string, fingerprint: string): Promise<void> {
    const held = this.#keys.get(key);
    if (held !== undefined && held.state === 'pending' && held.fingerprint === fingerprint) this.#keys.delete(key);
  }

  async purgeIdempotencyKeys(now: number, limit: number): Promise<number> {
    let n = 0;
    for (const [key, record] of this.#keys) {
      if (n >= limit) break;
      if (record.expiresAt <= now) {
        this.#keys.delete(key);
        n++;
      }
    }
    return n;
  }

  /** Keys are kept in creation order with one window: the expired ones are at the front. */
  #dropExpired(now: number): void {
    for (const [key, record] of this.#keys) {
      if (record.expiresAt > now) return;
      this.#keys.delete(key);
    }
  }
}

/** How a host runs idempotent emits. */
export interface IdempotencyOptions {
  readonly keeper: IdempotencyKeeper;
  /** How long a key is remembered (ms). */
  readonly windowMs: number;
  /** After this long (ms) a reservation never completed is taken to be abandoned (its emitter died). */
  readonly staleMs: number;
}

/** What the host gives runIdempotent: an emit of the reserved uuid and time, and the rebuilt event of a replay. */
export interface IdempotentRun<E> {
  emit(uuid: string, timeMs: number): Promise<E>;
  replay(uuid: string, timeMs: number): E;
  newUuid(): string;
}

/** Waits between two looks at a key another emit holds (doubling from 5 ms up to 250 ms). */
const WAIT_MIN_MS = 5;
const WAIT_MAX_MS = 250;

/**
 * Runs an emit under an idempotency key: reserved here, emitted once and
 * completed; held by a finished emit, replayed; held by one still running,
 * waited for. `replayed` says which.
 */
export async function runIdempotent<E>(
  options: IdempotencyOptions,
  key: string,
  fingerprint: string,
  run: IdempotentRun<E>,
): Promise<{ event: E; replayed: boolean }> {
  const uuid = run.newUuid();
  let wait = WAIT_MIN_MS;
  for (;;) {
    const now = Date.now();
    const reservation = await options.keeper.reserveIdempotencyKey({
      key,
      fingerprint,
      eventUuid: uuid,
      eventTime: now,
      now,
      expiresAt: now + options.windowMs,
      staleBefore: now - options.staleMs,
    });
    if (reservation !== undefined) {
      const record = reservation.record;
      if (record.fingerprint !== fingerprint) throw new IdempotencyConflictError(key);
      if (reservation.reserved) {
        let event: E;
        try {
          event = await run.emit(record.eventUuid, record.eventTime);
        } catch (err) {
          // Not accepted: the key must not replay a failure, a retry runs anew.
          await options.keeper.releaseIdempotencyKey(key, fingerprint).catch(() => undefined);
          throw err;
        }
        // The event is accepted; if this write fails, the reservation goes stale and a retry re-emits the same uuid.
        await options.keeper.completeIdempotencyKey(key, fingerprint).catch(() => undefined);
        return { event, replayed: false };
      }
      if (record.state === 'done') return { event: run.replay(record.eventUuid, record.eventTime), replayed: true };
    }
    // Another emit holds the key and is still running: look again shortly.
    await new Promise((resolve) => setTimeout(resolve, wait));
    wait = Math.min(wait * 2, WAIT_MAX_MS);
  }
}
