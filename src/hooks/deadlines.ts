// Timeouts for hook calls without a timer per call. Calls with the same
// timeout length end in the order they started, so each length keeps one FIFO
// queue and one timer armed for its oldest call. Settling marks a call done;
// the queue drops done calls from its head, so memory follows only the calls
// still running. The timer is unref'd while nothing is pending, so an idle
// queue never keeps the process alive and never needs clearTimeout.

import { HookTimeoutError } from '../errors.js';

interface Pending {
  readonly deadline: number;
  settled: boolean;
  readonly what: string;
  readonly ms: number;
  readonly reject: (error: Error) => void;
  readonly controller: AbortController | undefined;
}

class Queue {
  items: Pending[] = [];
  head = 0;
  timer: NodeJS.Timeout | undefined;
  refed = false;
  readonly ms: number;

  constructor(ms: number) {
    this.ms = ms;
  }

  add(item: Pending): void {
    this.items.push(item);
    if (this.timer === undefined) {
      this.timer = setTimeout(() => this.fire(), this.ms);
      this.refed = true;
    } else if (!this.refed) {
      this.timer.ref();
      this.refed = true;
    }
  }

  settle(item: Pending): void {
    item.settled = true;
    const items = this.items;
    while (this.head < items.length && (items[this.head] as Pending).settled) this.head++;
    if (this.head === items.length) {
      items.length = 0;
      this.head = 0;
      if (this.refed && this.timer !== undefined) {
        this.timer.unref();
        this.refed = false;
      }
    } else if (this.head > 1024 && this.head * 2 > items.length) {
      this.items = items.slice(this.head);
      this.head = 0;
    }
  }

  fire(): void {
    this.timer = undefined;
    this.refed = false;
    const now = performance.now();
    const items = this.items;
    while (this.head < items.length) {
      const item = items[this.head] as Pending;
      if (!item.settled) {
        if (item.deadline > now + 1) break;
        item.settled = true;
        const error = new HookTimeoutError(item.what, item.ms);
        item.controller?.abort(error);
        item.reject(error);
      }
      this.head++;
    }
    if (this.head === items.length) {
      items.length = 0;
      this.head = 0;
      return;
    }
    const next = items[this.head] as Pending;
    this.timer = setTimeout(() => this.fire(), Math.max(1, Math.ceil(next.deadline - now)));
    this.refed = true;
  }
}

export class Deadlines {
  readonly #queues = new Map<number, Queue>();

  /**
   * Settles like `promise`, or rejects with HookTimeoutError after `ms`
   * (aborting `controller`, if given, with the same error).
   */
  race<T>(promise: PromiseLike<T>, ms: number, what: string, controller?: AbortController): Promise<T> {
    let queue = this.#queues.get(ms);
    if (queue === undefined) {
      queue = new Queue(ms);
      this.#queues.set(ms, queue);
    }
    const q = queue;
    return new Promise<T>((resolve, reject) => {
      const item: Pending = { deadline: performance.now() + ms, settled: false, what, ms, reject, controller };
      q.add(item);
      promise.then(
        (value) => {
          if (item.settled) return;
          q.settle(item);
          resolve(value);
        },
        (err: unknown) => {
          if (item.settled) return;
          q.settle(item);
          reject(err);
        },
      );
    });
  }
}
