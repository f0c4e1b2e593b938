// Callback URLs (Magpie's callback_url): `{{callback_url}}` in a webhook
// template gives the receiver a single-use URL on the gateway through which
// it can report, later, that processing failed. Only the SHA-256 of a token
// is stored. The token for one delivery is derived from its webhook-id with a
// per-process key, so every retry of that delivery carries the same URL.

import { createHash, createHmac, randomBytes } from 'node:crypto';
import { CallbackTokenError, toError } from '../errors.js';

/** What a callback remembers about the delivery that issued it (no secrets). */
export interface CallbackRecord {
  /** The target (webhook) that sent the URL. */
  readonly target: string;
  readonly webhookId: string;
  readonly eventId: string;
  readonly eventUuid: string;
  readonly eventName: string;
  readonly accountName: string;
  readonly accountUuid: string;
}

export interface StoredCallback {
  readonly record: CallbackRecord;
  readonly expiresAt: number;
  readonly usedAt?: number;
}

/** Where callback hashes live; in memory by default, the delivery store may back it later. */
export interface CallbackStore {
  /** Keeps the hash unless it is already there (a retry re-issues the same token). */
  issue(hash: string, record: CallbackRecord, expiresAt: number): void;
  get(hash: string): StoredCallback | undefined;
  /** Marks the hash used; false when it already was. */
  markUsed(hash: string, at: number): boolean;
  /** Drops entries that expired before `now`. */
  purge(now: number): void;
}

export class MemoryCallbackStore implements CallbackStore {
  readonly #entries = new Map<string, StoredCallback>();

  issue(hash: string, record: CallbackRecord, expiresAt: number): void {
    if (!this.#entries.has(hash)) this.#entries.set(hash, { record, expiresAt });
  }

  get(hash: string): StoredCallback | undefined {
    return this.#entries.get(hash);
  }

  markUsed(hash: string, at: number): boolean {
    const entry = this.#entries.get(hash);
    if (entry === undefined || entry.usedAt !== undefined) return false;
    this.#entries.set(hash, { ...entry, usedAt: at });
    return true;
  }

  purge(now: number): void {
    for (const [hash, entry] of this.#entries) if (entry.expiresAt < now) this.#entries.delete(hash);
  }

  get size(): number {
    return this.#entries.size;
  }
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export interface CallbackReport {
  readonly record: CallbackRecord;
  readonly error: string;
  readonly details?: unknown;
}

/** What report() returns: the report, and the listeners that failed on it (the token is used either way). */
export interface CallbackReceipt extends CallbackReport {
  readonly listenerErrors: readonly Error[];
}

export interface CallbacksOptions {
  /** Seconds a URL stays valid (default 24 h). */
  ttlSeconds?: number;
  /** The gateway's public base URL; may be set later (when the gateway listens). */
  publicUrl?: string;
  store?: CallbackStore;
  now?: () => number;
}

export class Callbacks {
  readonly #key = randomBytes(32);
  readonly #ttlMs: number;
  readonly #store: CallbackStore;
  readonly #now: () => number;
  #publicUrl: string | undefined;
  readonly #listeners = new Set<(report: CallbackReport) => void | Promise<void>>();
  #lastPurge = 0;

  constructor(options: CallbacksOptions = {}) {
    this.#ttlMs = (options.ttlSeconds ?? 86_400) * 1000;
    this.#store = options.store ?? new MemoryCallbackStore();
    this.#now = options.now ?? Date.now;
    this.#publicUrl = options.publicUrl?.replace(/\/+$/, '');
  }

  get publicUrl(): string | undefined {
    return this.#publicUrl;
  }

  /** Sets the base URL callback URLs start with (the gateway does once it listens, unless configured). */
  setPublicUrl(url: string): void {
    this.#publicUrl = url.replace(/\/+$/, '');
  }

  /** The callback URL for one delivery: the same for every retry of it. */
  urlFor(record: CallbackRecord): string {
    const token = createHmac('sha256', this.#key).update(`${record.target}\n${record.webhookId}`).digest('base64url');
    const now = this.#now();
    this.#store.issue(hashToken(token), record, now + this.#ttlMs);
    if (now - this.#lastPurge > 60_000) {
      this.#lastPurge = now;
      this.#store.purge(now);
    }
    const base = this.#publicUrl ?? 'http://127.0.0.1:8080';
    return `${base}/v1/callbacks/${token}`;
  }

  /** Runs when a receiver reports failure; returns its remover. */
  onFailure(listener: (report: CallbackReport) => void | Promise<void>): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Throws CallbackTokenError unless the token can be used now; does not use it (the gateway checks before reading the body). */
  check(token: string): StoredCallback {
    const entry = this.#store.get(hashToken(token));
    if (entry === undefined) throw new CallbackTokenError('unknown');
    if (entry.usedAt !== undefined) throw new CallbackTokenError('used');
    if (entry.expiresAt < this.#now()) throw new CallbackTokenError('expired');
    return entry;
  }

  /**
   * Uses a token once: throws CallbackTokenError when it is unknown, used or
   * expired; otherwise marks it used and runs every failure listener. The
   * report is accepted once the token is marked: a listener that throws does
   * not give the token back (a second report would repeat what the listeners
   * before it did) and does not stop the others; its error is in the
   * receipt's `listenerErrors` for the caller to log.
   */
  async report(token: string, body: { error?: unknown; details?: unknown } = {}): Promise<CallbackReceipt> {
    const hash = hashToken(token);
    const entry = this.check(token);
    const now = this.#now();
    if (!this.#store.markUsed(hash, now)) throw new CallbackTokenError('used');
    const error = typeof body.error === 'string' && body.error !== '' ? body.error : 'The receiver reported a failure.';
    const report: CallbackReport = { record: entry.record, error, ...(body.details === undefined ? {} : { details: body.details }) };
    const listenerErrors: Error[] = [];
    for (const listener of [...this.#listeners]) {
      try {
        await listener(report);
      } catch (err) {
        listenerErrors.push(toError(err));
      }
    }
    return { ...report, listenerErrors };
  }
}
