// `delivery.sender_thread: auto`: each webhook request goes out from the
// sender thread while the machine has a core to spare for it (spare-cores.ts),
// from the main thread otherwise. A lane holds one lane of each transport,
// asked for when first used; requests in flight finish where they started.

import { ClosedError } from '../errors.js';
import { HttpPools, type HttpPoolsOptions } from './pools.js';
import { SenderThread } from './sender-thread.js';
import { SpareCores, type SpareCoresOptions } from './spare-cores.js';
import type { ExchangeResult } from './exchange.js';
import type { FormRequest, HttpLane, HttpTransport, RequestForm } from './transport.js';
import type { CheckedTarget } from './ssrf-guard.js';
import type { TransportProfile } from './transport-profile.js';

export interface AdaptiveTransportOptions extends HttpPoolsOptions {
  readonly spare?: SpareCoresOptions;
}

class AdaptiveLane implements HttpLane {
  readonly #transport: AdaptiveTransport;
  readonly #origin: string;
  readonly #target: CheckedTarget;
  readonly #profile: TransportProfile | undefined;
  #thread: HttpLane | undefined;
  #main: HttpLane | undefined;

  constructor(transport: AdaptiveTransport, origin: string, target: CheckedTarget, profile: TransportProfile | undefined) {
    this.#transport = transport;
    this.#origin = origin;
    this.#target = target;
    this.#profile = profile;
  }

  get stale(): boolean {
    return this.#transport.closed;
  }

  send(form: RequestForm, request: FormRequest): Promise<ExchangeResult> {
    const transport = this.#transport;
    // As the sender thread does (HttpPools alone would open a new pool).
    if (transport.closed) return Promise.reject(new ClosedError('The webhook transport'));
    if (transport.spare.threadHasCore()) {
      let lane = this.#thread;
      // Stale: the thread started again, or registered its lanes anew.
      if (lane === undefined || lane.stale) lane = this.#thread = transport.thread.lane(this.#origin, this.#target, this.#profile);
      transport.sentOnThread++;
      return lane.send(form, request);
    }
    let lane = this.#main;
    // Stale: its pool was evicted (the least recently used, past maxPools).
    if (lane === undefined || lane.stale) lane = this.#main = transport.pools.lane(this.#origin, this.#target, this.#profile);
    transport.sentOnMain++;
    return lane.send(form, request);
  }
}

export class AdaptiveTransport implements HttpTransport {
  readonly thread: SenderThread;
  readonly pools: HttpPools;
  readonly spare: SpareCores;
  /** Requests sent from each side so far (the bench reports the share; a test checks the choice). */
  sentOnThread = 0;
  sentOnMain = 0;
  #closed = false;

  constructor(options: AdaptiveTransportOptions = {}) {
    // The thread's options cross to it as they are: only its own (a function cannot cross).
    const { spare, ...pools } = options;
    this.thread = new SenderThread(pools);
    this.pools = new HttpPools(pools);
    this.spare = new SpareCores(spare);
  }

  get closed(): boolean {
    return this.#closed;
  }

  lane(origin: string, target: CheckedTarget, profile?: TransportProfile): HttpLane {
    return new AdaptiveLane(this, origin, target, profile);
  }

  /** Starts the sender thread now (SenderThread.start): the first requests it takes do not wait for it to load. */
  start(): Promise<void> {
    return this.thread.start();
  }

  /** Lets the requests in flight on either side end, then closes every socket and the thread. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([this.thread.close(), this.pools.close()]);
  }
}
