// Digests (`digest: {max_events, within}`): a target's deliveries are kept as
// members in the store instead of being enqueued, and sent as one delivery
// whose event is the JSON array of theirs when either bound is reached. The
// store forms a batch in one transaction (members deleted, the delivery
// inserted), so a crash leaves either the members or the one delivery: no
// event is lost or sent twice. Members left by a stopped node are picked up
// by the next tick of any node serving the target.

import { DeliveryStoreError } from '../errors.js';
import type { Logger } from '../logger.js';
import { newDeliveryId } from './delivery-id.js';
import { newWebhookId } from './message-id.js';
import type { DeliveryStore, DigestMemberInput } from './store.js';

/** The most events one digest delivery carries when only `within` bounds it. */
export const DIGEST_BATCH_MAX = 1000;
/** The bounds of the time check: often enough for a short `within`, never busy. */
const TICK_MIN_MS = 20;

export interface DigestBounds {
  readonly maxEvents?: number;
  readonly withinMs?: number;
}

export interface DigestCollectorOptions {
  readonly store: DeliveryStore;
  readonly logger: Logger;
  /** The longest wait between time checks (the queue's poll interval). */
  readonly maxTickMs: number;
  /** When a new batch delivery is first due, from now. */
  readonly firstDelayMs: number;
  /** A batch was enqueued: the dispatcher should look. */
  readonly onEnqueued: () => void;
}

type DigestStore = DeliveryStore & Required<Pick<DeliveryStore, 'collectDigest' | 'digestHeads' | 'flushDigest'>>;

export class DigestCollector {
  readonly #o: DigestCollectorOptions;
  readonly #targets = new Map<string, DigestBounds>();
  #timer: NodeJS.Timeout | undefined;
  #tickMs = 0;
  #running = false;
  #flushing: Promise<void> | undefined;
  #again = false;

  constructor(options: DigestCollectorOptions) {
    this.#o = options;
  }

  get size(): number {
    return this.#targets.size;
  }

  has(target: string): boolean {
    return this.#targets.has(target);
  }

  /** Makes `target` a digest target; returns the remover. */
  register(target: string, bounds: DigestBounds): () => void {
    const store = this.#o.store;
    if (store.collectDigest === undefined || store.digestHeads === undefined || store.flushDigest === undefined) {
      throw new DeliveryStoreError(`The ${store.kind} delivery store keeps no digests, so target "${target}" cannot use "digest:".`);
    }
    this.#targets.set(target, bounds);
    this.#retime();
    return () => {
      if (this.#targets.get(target) === bounds) this.#targets.delete(target);
      this.#retime();
    };
  }

  /** Keeps the members durably, then sends the batches a count bound completed. */
  async collect(members: readonly DigestMemberInput[]): Promise<void> {
    await (this.#o.store as DigestStore).collectDigest(members);
    if (members.some((m) => this.#targets.get(m.target)?.maxEvents !== undefined)) this.flush();
  }

  /** Starts the time checks (and sends what a previous run left due). */
  start(): void {
    this.#running = true;
    this.#retime();
    if (this.#targets.size > 0) this.flush();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#retime();
    await this.#flushing;
  }

  /** Sends every batch that is due; a call while one runs makes it run once more. */
  flush(): void {
    if (this.#flushing !== undefined) {
      this.#again = true;
      return;
    }
    this.#flushing = (async () => {
      do {
        this.#again = false;
        try {
          await this.#flushDue();
        } catch (err) {
          this.#o.logger.warn({ err }, 'Sending digests failed; their events stay collected and are tried again');
        }
      } while (this.#again && this.#running);
    })().finally(() => {
      this.#flushing = undefined;
    });
  }

  async #flushDue(): Promise<void> {
    const store = this.#o.store as DigestStore;
    const heads = await store.digestHeads();
    let enqueued = false;
    for (const head of heads) {
      const bounds = this.#targets.get(head.target);
      if (bounds === undefined) continue;
      const now = Date.now();
      const old = bounds.withinMs !== undefined && now - head.oldestAt >= bounds.withinMs;
      const limit = bounds.maxEvents ?? DIGEST_BATCH_MAX;
      let left = head.count;
      // Full batches on the count bound; on the time bound, what is left too.
      while (left > 0 && (old || left >= limit)) {
        const taken = await store.flushDigest({ id: newDeliveryId(now), target: head.target, webhookId: newWebhookId(), dueAt: now + this.#o.firstDelayMs, createdAt: now }, limit);
        if (taken === 0) break;
        enqueued = true;
        left -= taken;
      }
    }
    if (enqueued) this.#o.onEnqueued();
  }

  /** One timer for every digest target, as often as the shortest `within` needs. */
  #retime(): void {
    const withins = [...this.#targets.values()].map((b) => b.withinMs).filter((w): w is number => w !== undefined);
    const tick = !this.#running || this.#targets.size === 0 ? 0 : Math.max(TICK_MIN_MS, Math.min(this.#o.maxTickMs, ...withins.map((w) => w / 4)));
    if (tick === this.#tickMs) return;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#tickMs = tick;
    if (tick === 0) return;
    this.#timer = setInterval(() => this.flush(), tick);
    this.#timer.unref();
  }
}
