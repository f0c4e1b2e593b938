// The live event stream behind GET /v1/events/stream (Server-Sent Events).
// The hub subscribes to every event ('*') only while at least one client
// listens or waits for its reconnect, so host.emit costs nothing more when
// nobody watches (its route for an id is the same empty list as before). Each event is serialised once for
// all clients, with a granted account.token shown as "[redacted]" as the
// delivery tools show it.
//
// The stream's promise: every event that matched a client's filters reaches
// it or is counted to it in an `event: dropped` notice, across slow readers
// and reconnects. So each client numbers the events it wants (`id:
// <stream>:<n>`, n = 1, 2, … with no hole, after an `event: stream` frame
// with id `<stream>:0`) and every one is, in this order,
// handed to the socket, queued (at most `queueMax`), or dropped; once one is
// dropped, the next ones are dropped too until the notice is written, so a
// notice sits in the stream exactly where its events would have been and its
// id says "every event up to here is accounted for". When the connection
// closes the client stays for `resumeMs` as if it were a reader that stopped:
// it queues, then drops and counts. The browser reconnects with
// `Last-Event-ID`; the client then counts as dropped what was handed to the
// old socket after that id (written but never read), and goes on with its
// queue and its notice. A reconnect the hub cannot resume (expired, another
// node, a restart) gets `event: gap`: the events of the gap are unknown.

import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { REDACTED } from '../delivery/admin.js';
import type { HookworkEvent } from '../events/envelope.js';
import { eventJsonText } from '../events/event-json.js';
import { compileExpression } from '../events/filters.js';
import type { Host } from '../host.js';

export interface StreamFilter {
  /** A glob (or `a|b`, `!x`, `m/regex/`) over the event id, as the handlers' `id` filter. */
  readonly id?: string;
  /** One of the event's groups, exactly. */
  readonly group?: string;
  /** The account's name or uuid, exactly. */
  readonly account?: string;
  /** Text the event's JSON contains (case-insensitive). */
  readonly q?: string;
}

/** The envelope's JSON as the console shows it (no secret). */
export function streamJson(event: HookworkEvent): string {
  const text = eventJsonText(event);
  if (event.account.token === undefined) return text;
  const plain = JSON.parse(text) as { account: Record<string, unknown> };
  plain.account['token'] = REDACTED;
  return JSON.stringify(plain);
}

/** One frame of an event, made once per event for every client that wants it. */
class Frame {
  #json: string | undefined;
  #lower: string | undefined;
  #text: string | undefined;
  constructor(readonly event: HookworkEvent) {}
  get json(): string {
    return (this.#json ??= streamJson(this.event));
  }
  get lower(): string {
    return (this.#lower ??= this.json.toLowerCase());
  }
  get text(): string {
    return (this.#text ??= `event: event\ndata: ${this.json}\n\n`);
  }
}

/** The filters as one string: a reconnect resumes only the stream of the same filters. */
function filterKey(filter: StreamFilter): string {
  return JSON.stringify([filter.id ?? null, filter.group ?? null, filter.account ?? null, filter.q ?? null]);
}

class StreamClient {
  /** Names the stream in its event ids; random, so a stream cannot be resumed by guessing. */
  readonly key = randomBytes(9).toString('base64url');
  readonly filterKey: string;
  readonly #queueMax: number;
  readonly #id: ((value: string) => boolean) | undefined;
  readonly #filter: StreamFilter;
  readonly #q: string | undefined;
  #res: ServerResponse | undefined;
  #queue: string[] = [];
  #waiting = false;
  /** The number of the last event this client wanted. */
  #seq = 0;
  /** Events 1..#handed went to a socket; the next #queue.length are queued; the last #dropped are dropped. */
  #handed = 0;
  #dropped = 0;
  /** While detached: the timer that forgets the client. */
  expiry: NodeJS.Timeout | undefined;

  constructor(res: ServerResponse, filter: StreamFilter, queueMax: number) {
    this.#filter = filter;
    this.filterKey = filterKey(filter);
    this.#queueMax = queueMax;
    this.#id = filter.id === undefined ? undefined : compileExpression(filter.id);
    this.#q = filter.q?.toLowerCase();
    this.#attach(res);
    // The stream's id before any event: a connection that breaks before the first one is resumed too.
    res.write(`id: ${this.key}:0\nevent: stream\ndata: {}\n\n`);
  }

  get attached(): boolean {
    return this.#res !== undefined;
  }

  wants(frame: Frame): boolean {
    const event = frame.event;
    if (this.#id !== undefined && !this.#id(event.id)) return false;
    if (this.#filter.group !== undefined && !event.groups.includes(this.#filter.group)) return false;
    const account = this.#filter.account;
    if (account !== undefined && event.account.name !== account && event.account.uuid !== account) return false;
    if (this.#q !== undefined && !frame.lower.includes(this.#q)) return false;
    return true;
  }

  send(frame: Frame): void {
    const seq = ++this.#seq;
    const res = this.#res;
    // Behind, detached, or a socket that died before its 'close': queued or counted, never lost.
    if (this.#waiting || res === undefined || res.writableEnded || res.destroyed) {
      if (this.#dropped === 0 && this.#queue.length < this.#queueMax) this.#queue.push(`id: ${this.key}:${seq}\n${frame.text}`);
      else this.#dropped++;
      return;
    }
    this.#handed = seq;
    if (!res.write(`id: ${this.key}:${seq}\n${frame.text}`)) this.#waiting = true;
  }

  /** A keep-alive comment, unless the client is behind anyway (then it is not idle). */
  ping(): void {
    if (this.#res !== undefined && !this.#waiting && !this.#res.writableEnded) this.#res.write(': ping\n\n');
  }

  end(): void {
    if (this.#res !== undefined && !this.#res.writableEnded) this.#res.end();
  }

  /**
   * `res` closed: from now on the client queues and counts, as a reader that
   * stopped. False when `res` is no longer the client's socket (the browser
   * reconnected before the server saw the old one close).
   */
  detach(res: ServerResponse): boolean {
    if (this.#res !== res) return false;
    this.#res = undefined;
    this.#waiting = false;
    return true;
  }

  /** Detaches the current socket and ends it: its browser has reconnected, it will read no more. */
  takeOver(): void {
    const old = this.#res;
    if (old === undefined) return;
    this.detach(old);
    old.destroy();
  }

  /** True when `lastSeen` is a number this stream gave (it may be resumed from there). */
  gave(lastSeen: number): boolean {
    return Number.isSafeInteger(lastSeen) && lastSeen >= 0 && lastSeen <= this.#handed;
  }

  /**
   * A reconnect that read every event up to `lastSeen` (one this stream
   * gave): what the old socket was handed after it is counted as dropped,
   * then the queue and the drop notice follow.
   */
  resume(res: ServerResponse, lastSeen: number): void {
    this.#attach(res);
    const lost = this.#handed - lastSeen;
    if (lost > 0 && !res.write(`id: ${this.key}:${this.#handed}\nevent: dropped\ndata: {"count":${lost}}\n\n`)) {
      this.#waiting = true;
      return;
    }
    this.#flush();
  }

  #attach(res: ServerResponse): void {
    this.#res = res;
    this.#waiting = false;
    res.on('drain', () => {
      if (this.#res === res) this.#flush();
    });
  }

  #flush(): void {
    const res = this.#res;
    if (res === undefined) return;
    this.#waiting = false;
    const queue = this.#queue;
    this.#queue = [];
    for (let i = 0; i < queue.length; i++) {
      this.#handed++;
      if (!res.write(queue[i] as string)) {
        this.#waiting = true;
        // Still behind: what is left waits (nothing came meanwhile: this loop is synchronous).
        this.#queue = queue.slice(i + 1).concat(this.#queue);
        return;
      }
    }
    if (this.#dropped > 0) {
      const count = this.#dropped;
      this.#dropped = 0;
      this.#handed = this.#seq;
      if (!res.write(`id: ${this.key}:${this.#seq}\nevent: dropped\ndata: {"count":${count}}\n\n`)) this.#waiting = true;
    }
  }
}

export interface EventStreamOptions {
  readonly queueMax: number;
  readonly pingMs: number;
  /** How long a closed stream waits for its browser to reconnect (it queues, then counts, meanwhile). */
  readonly resumeMs: number;
}

/** Closed streams kept for a reconnect at once: beyond, the oldest is forgotten (its reconnect gets `event: gap`). */
const MAX_DETACHED = 64;

/** The `Last-Event-ID` of one of our frames: `<stream>:<n>`. */
function parseLastEventId(value: string): { key: string; seq: number } | undefined {
  const colon = value.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const seq = Number(value.slice(colon + 1));
  return Number.isSafeInteger(seq) ? { key: value.slice(0, colon), seq } : undefined;
}

export class EventStreamHub {
  readonly #host: Host;
  readonly #options: EventStreamOptions;
  /** Every client, connected or waiting for a reconnect, by its key. */
  readonly #clients = new Map<string, StreamClient>();
  /** Closed streams that may still be resumed, oldest first. */
  readonly #detached = new Map<string, StreamClient>();
  #closing = false;
  #unsubscribe: (() => void) | undefined;
  #pinger: NodeJS.Timeout | undefined;

  constructor(host: Host, options: EventStreamOptions) {
    this.#host = host;
    this.#options = options;
  }

  /** Clients connected or waiting for a reconnect. */
  get clients(): number {
    return this.#clients.size;
  }

  /**
   * Streams to `res` (headers already sent) until it closes; `lastEventId`
   * (the request's `Last-Event-ID`) resumes a closed stream of the same
   * filters. Throws on a filter that does not compile.
   */
  add(res: ServerResponse, filter: StreamFilter, lastEventId?: string): void {
    let client = lastEventId === undefined || lastEventId === '' ? undefined : this.#resume(res, filter, lastEventId);
    if (client === undefined) {
      // The browser had a stream this hub cannot resume: what it missed is unknown.
      if (lastEventId !== undefined && lastEventId !== '') res.write('event: gap\ndata: {}\n\n');
      client = new StreamClient(res, filter, this.#options.queueMax);
      this.#clients.set(client.key, client);
    }
    const added = client;
    res.on('close', () => this.#closed(added, res));
    if (this.#unsubscribe === undefined) {
      this.#unsubscribe = this.#host.notifier.subscribe('*', (event) => this.#publish(event), 'console-event-stream');
      this.#pinger = setInterval(() => {
        for (const c of this.#clients.values()) c.ping();
      }, this.#options.pingMs);
      this.#pinger.unref();
    }
  }

  /** Ends every stream (the gateway closes: open streams would keep it waiting); none is kept for a reconnect. */
  closeAll(): void {
    this.#closing = true;
    for (const client of [...this.#clients.values()]) {
      if (client.attached) client.end();
      else this.#remove(client);
    }
  }

  #resume(res: ServerResponse, filter: StreamFilter, lastEventId: string): StreamClient | undefined {
    const last = parseLastEventId(lastEventId);
    const client = last === undefined ? undefined : this.#clients.get(last.key);
    if (last === undefined || client === undefined || client.filterKey !== filterKey(filter) || !client.gave(last.seq)) return undefined;
    if (client.attached) {
      // The browser reconnected before the server saw its old connection close: that one is dead to it.
      client.takeOver();
      this.#park(client);
    }
    client.resume(res, last.seq);
    this.#detached.delete(client.key);
    clearTimeout(client.expiry);
    client.expiry = undefined;
    return client;
  }

  #publish(event: HookworkEvent): void {
    const frame = new Frame(event);
    for (const client of this.#clients.values()) if (client.wants(frame)) client.send(frame);
  }

  #closed(client: StreamClient, res: ServerResponse): void {
    if (this.#closing) {
      this.#remove(client);
      return;
    }
    if (client.detach(res)) this.#park(client);
  }

  /** Keeps a closed stream for its reconnect, for `resumeMs` at most. */
  #park(client: StreamClient): void {
    this.#detached.set(client.key, client);
    client.expiry = setTimeout(() => this.#remove(client), this.#options.resumeMs);
    client.expiry.unref();
    if (this.#detached.size > MAX_DETACHED) {
      const oldest = this.#detached.values().next().value;
      if (oldest !== undefined) this.#remove(oldest);
    }
  }

  #remove(client: StreamClient): void {
    clearTimeout(client.expiry);
    client.expiry = undefined;
    this.#detached.delete(client.key);
    this.#clients.delete(client.key);
    if (this.#clients.size > 0) return;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    clearInterval(this.#pinger);
    this.#pinger = undefined;
  }
}
