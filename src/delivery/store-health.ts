// Whether the delivery store serves right now, as this node last saw it: the
// enqueues and the dispatcher's claims and settles report each result here.
// A store fault (see store-faults.ts) turns it unhealthy; the next success
// turns it healthy again. Each transition is logged once, at warn, with how
// many operations failed meanwhile, instead of a line per failure.

import type { Logger } from '../logger.js';
import { storeFault, type StoreFault } from './store-faults.js';

export interface StoreHealthReport {
  /** False while the last store operation failed for lack of the store (or of disk space). */
  readonly ok: boolean;
  readonly fault?: StoreFault;
  /** When it began (ms since the epoch). */
  readonly since?: number;
  /** Operations refused since then. */
  readonly failures?: number;
  /** The first refusal's message. */
  readonly error?: string;
}

const HEALTHY: StoreHealthReport = Object.freeze({ ok: true });

export class StoreHealth {
  readonly #logger: Logger;
  readonly #store: string;
  #fault: StoreFault | undefined;
  #since = 0;
  #failures = 0;
  #error = '';

  constructor(logger: Logger, store: string) {
    this.#logger = logger;
    this.#store = store;
  }

  /** A store operation succeeded (cheap: one field check when healthy). */
  succeeded(): void {
    if (this.#fault === undefined) return;
    const fault = this.#fault;
    this.#fault = undefined;
    const fields = { store: this.#store, failures: this.#failures, down_ms: Date.now() - this.#since };
    if (fault === 'disk-full') this.#logger.warn({ ...fields, refusals: this.#failures }, 'The delivery store has disk space again; writes are accepted');
    else this.#logger.warn(fields, 'The delivery store is back');
  }

  /** A store operation failed; only store faults count (a bug is not the store being away). */
  failed(err: unknown): void {
    const fault = storeFault(err);
    if (fault === undefined) return;
    if (this.#fault === fault) {
      this.#failures += 1;
      return;
    }
    // A change of fault (lost, then disk full) is a transition too: say the old one ended.
    if (this.#fault !== undefined) this.succeeded();
    this.#fault = fault;
    this.#since = Date.now();
    this.#failures = 1;
    this.#error = err instanceof Error ? err.message : String((err as { message?: unknown })?.message ?? err);
    if (fault === 'disk-full') {
      this.#logger.warn({ store: this.#store, err }, 'The delivery store is out of disk space: events with deliveries are refused (503) until space is freed');
    } else {
      this.#logger.warn({ store: this.#store, err }, 'The delivery store was lost: events with deliveries are refused (503) until it is back');
    }
  }

  report(): StoreHealthReport {
    if (this.#fault === undefined) return HEALTHY;
    return { ok: false, fault: this.#fault, since: this.#since, failures: this.#failures, error: this.#error };
  }
}
