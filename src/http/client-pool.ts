// Keep-alive undici Clients for one origin, one request at a time each (what
// undici's Pool does with pipelining 1), handing each request to an idle
// client from a free list. Pool looks for a free client by scanning all of
// them on every request, and scans again when they are all busy: with the 64
// connections of a busy webhook target that cost 2-5 % of a request here.
// Pool also loses a client for good to every request undici refuses as built
// (no 'drain' follows); this pool keeps it. Requests beyond `connections`
// wait here, in order, for the next free client.

import { Client, errors, type Dispatcher } from 'undici';

export interface ClientPoolOptions extends Client.Options {
  /** Clients (sockets) at most; each one runs one request at a time. */
  readonly connections: number;
}

/**
 * A dispatch handler; one that says whether its request is over (answered,
 * failed or aborted) spares the pool a look at the client after each
 * dispatch (see #send).
 */
type Handler = Dispatcher.DispatchHandler & { readonly settled?: boolean };

interface Slot {
  readonly client: Client;
  /** In the free list: a client is put there once, whatever reports it free. */
  idle: boolean;
}

export class ClientPool {
  readonly #origin: string;
  readonly #clientOptions: Client.Options;
  readonly #max: number;
  readonly #clients = new Set<Client>();
  /** Clients with nothing to do, last freed on top (its socket is the warmest). */
  readonly #idle: Slot[] = [];
  /** Waiting requests as [options, handler] pairs from `#head` on. */
  #queue: Array<Dispatcher.DispatchOptions | Handler> = [];
  #head = 0;
  #closed = false;
  #destroyed = false;
  #onEmpty: Array<() => void> = [];

  constructor(origin: string, options: ClientPoolOptions) {
    const { connections, ...clientOptions } = options;
    if (!Number.isInteger(connections) || connections < 1) {
      throw new errors.InvalidArgumentError(`connections must be a positive integer, got ${String(connections)}`);
    }
    this.#origin = origin;
    this.#max = connections;
    this.#clientOptions = { ...clientOptions, pipelining: 1 };
  }

  get closed(): boolean {
    return this.#closed;
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** Requests waiting for a free client. */
  get queued(): number {
    return (this.#queue.length - this.#head) / 2;
  }

  /** Sends the request on a free client, or queues it; like Dispatcher.dispatch, false when no more requests go out at once. */
  dispatch(options: Dispatcher.DispatchOptions, handler: Handler): boolean {
    if (this.#destroyed || this.#closed) {
      (handler as { onError?: (err: Error) => void }).onError?.(this.#destroyed ? new errors.ClientDestroyedError() : new errors.ClientClosedError());
      return false;
    }
    const slot = this.#idle.pop() ?? (this.#clients.size < this.#max ? this.#create() : undefined);
    if (slot === undefined) {
      this.#queue.push(options, handler);
      return false;
    }
    slot.idle = false;
    if (!this.#send(slot.client, options, handler)) this.#free(slot);
    return this.#idle.length > 0 || this.#clients.size < this.#max;
  }

  /** Waits for the queued requests and those in flight, then closes every socket. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.queued > 0) await new Promise<void>((resolve) => this.#onEmpty.push(resolve));
    await Promise.all([...this.#clients].map((client) => client.close()));
  }

  /** Fails the queued requests and those in flight, and closes every socket now. */
  async destroy(err?: Error): Promise<void> {
    this.#destroyed = true;
    const queue = this.#queue;
    const head = this.#head;
    this.#queue = [];
    this.#head = 0;
    for (let i = head + 1; i < queue.length; i += 2) {
      (queue[i] as { onError?: (err: Error) => void }).onError?.(err ?? new errors.ClientDestroyedError());
    }
    this.#emptied();
    await Promise.all([...this.#clients].map((client) => client.destroy(err ?? null)));
  }

  #create(): Slot {
    const client = new Client(this.#origin, this.#clientOptions);
    const slot: Slot = { client, idle: false };
    this.#clients.add(client);
    client.on('drain', () => this.#drained(slot));
    return slot;
  }

  #free(slot: Slot): void {
    if (slot.idle) return;
    slot.idle = true;
    this.#idle.push(slot);
  }

  /** True when the client is busy with it now (a 'drain' follows when it is done). */
  #send(client: Client, options: Dispatcher.DispatchOptions, handler: Handler): boolean {
    if (client.dispatch(options, handler)) return false;
    // False, and yet the request is over: it failed before it was queued
    // (a header undici refuses; its handler has the error), and no 'drain'
    // will come. A handler that cannot say is checked on the client.
    const settled = handler.settled;
    return settled === undefined ? client.stats.size > 0 : !settled;
  }

  #drained(slot: Slot): void {
    if (this.#destroyed || slot.idle) return;
    const client = slot.client;
    const queue = this.#queue;
    while (this.#head < queue.length) {
      const options = queue[this.#head] as Dispatcher.DispatchOptions;
      const handler = queue[this.#head + 1] as Handler;
      queue[this.#head] = queue[this.#head + 1] = undefined as never;
      this.#head += 2;
      // Over while it waited (aborted): nothing to send.
      if (handler.settled === true) continue;
      if (this.#send(client, options, handler)) {
        if (this.#head === queue.length) this.#emptied();
        else if (this.#head > 1024 && this.#head * 2 > queue.length) this.#compact();
        return;
      }
    }
    this.#emptied();
    this.#free(slot);
  }

  // A queue that never empties (requests keep arriving faster than they end) drops its consumed front now and then.
  #compact(): void {
    this.#queue = this.#queue.slice(this.#head);
    this.#head = 0;
  }

  #emptied(): void {
    this.#queue.length = 0;
    this.#head = 0;
    for (const resolve of this.#onEmpty.splice(0)) resolve();
  }
}
