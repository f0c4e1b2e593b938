// The live event stream behind GET /v1/events/stream (Server-Sent Events).
// The hub subscribes to every event ('*') only while at least one client
// listens, so host.emit costs nothing more when nobody watches (its route for
// an id is the same empty list as before). Each event is serialised once for
// all clients, with a granted account.token shown as "[redacted]" as the
// delivery tools show it. A client that cannot keep up (its socket refuses
// more) gets at most `queueMax` events queued; the rest are dropped and
// counted, and an `event: dropped` with the count follows once it catches up.

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

class StreamClient {
  readonly #res: ServerResponse;
  readonly #queueMax: number;
  readonly #id: ((value: string) => boolean) | undefined;
  readonly #filter: StreamFilter;
  readonly #q: string | undefined;
  #queue: string[] = [];
  #waiting = false;
  #dropped = 0;

  constructor(res: ServerResponse, filter: StreamFilter, queueMax: number) {
    this.#res = res;
    this.#filter = filter;
    this.#queueMax = queueMax;
    this.#id = filter.id === undefined ? undefined : compileExpression(filter.id);
    this.#q = filter.q?.toLowerCase();
    res.on('drain', () => this.#drain());
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

  send(text: string): void {
    if (this.#res.writableEnded || this.#res.destroyed) return;
    if (this.#waiting) {
      if (this.#queue.length < this.#queueMax) this.#queue.push(text);
      else this.#dropped++;
      return;
    }
    if (!this.#res.write(text)) this.#waiting = true;
  }

  /** A keep-alive comment, unless the client is behind anyway (then it is not idle). */
  ping(): void {
    if (!this.#waiting) this.send(': ping\n\n');
  }

  end(): void {
    if (!this.#res.writableEnded) this.#res.end();
  }

  #drain(): void {
    this.#waiting = false;
    const queue = this.#queue;
    this.#queue = [];
    for (let i = 0; i < queue.length; i++) {
      if (!this.#res.write(queue[i] as string)) {
        this.#waiting = true;
        // Still behind: what is left waits, ahead of anything newer.
        this.#queue = queue.slice(i + 1).concat(this.#queue);
        return;
      }
    }
    if (this.#dropped > 0) {
      const count = this.#dropped;
      this.#dropped = 0;
      if (!this.#res.write(`event: dropped\ndata: {"count":${count}}\n\n`)) this.#waiting = true;
    }
  }
}

export interface EventStreamOptions {
  readonly queueMax: number;
  readonly pingMs: number;
}

export class EventStreamHub {
  readonly #host: Host;
  readonly #options: EventStreamOptions;
  readonly #clients = new Set<StreamClient>();
  #unsubscribe: (() => void) | undefined;
  #pinger: NodeJS.Timeout | undefined;

  constructor(host: Host, options: EventStreamOptions) {
    this.#host = host;
    this.#options = options;
  }

  get clients(): number {
    return this.#clients.size;
  }

  /** Streams to `res` (headers already sent) until it closes. Throws on a filter that does not compile. */
  add(res: ServerResponse, filter: StreamFilter): void {
    const client = new StreamClient(res, filter, this.#options.queueMax);
    this.#clients.add(client);
    res.on('close', () => this.#remove(client));
    if (this.#unsubscribe === undefined) {
      this.#unsubscribe = this.#host.notifier.subscribe('*', (event) => this.#publish(event), 'console-event-stream');
      this.#pinger = setInterval(() => {
        for (const c of this.#clients) c.ping();
      }, this.#options.pingMs);
      this.#pinger.unref();
    }
  }

  /** Ends every stream (the gateway closes: open streams would keep it waiting). */
  closeAll(): void {
    for (const client of [...this.#clients]) client.end();
  }

  #publish(event: HookworkEvent): void {
    const frame = new Frame(event);
    for (const client of this.#clients) if (client.wants(frame)) client.send(frame.text);
  }

  #remove(client: StreamClient): void {
    this.#clients.delete(client);
    if (this.#clients.size > 0) return;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    clearInterval(this.#pinger);
    this.#pinger = undefined;
  }
}
