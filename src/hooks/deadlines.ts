// Timeouts for hook calls without a timer or a promise per call. Calls with
// the same timeout length end in the order they started, so each length keeps
// one FIFO queue and one timer armed for its oldest call. The caller tracks a
// call, settles it when it answers (settle() says whether it was still in
// time), and otherwise its onTimeout runs. The queue drops settled calls from
// its head, so memory follows only the calls still running. The timer is
// unref'd while nothing is pending, so an idle queue never keeps the process
// alive and never needs clearTimeout; with `keepAlive: false` it is never
// ref'd (a pending call does not keep the process alive either).

/** The longest delay a Node timer keeps; a longer one fires after 1 ms (with a TimeoutOverflowWarning). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** One tracked call. */
export interface Deadline {
  settled: boolean;
  readonly deadline: number;
  readonly queue: DeadlineQueue;
  // A function and its argument rather than a closure: no allocation per call for callers with a static handler.
  readonly onTimeout: (owner: never) => void;
  readonly owner: unknown;
}

/** A caller's own object as its tracked call (Deadlines.trackEntry): the fields of a Deadline, set when it is tracked. */
export interface DeadlineEntry {
  settled: boolean;
  deadline: number;
  /** The queue it is in (opaque to the caller); undefined until tracked. */
  queue: unknown;
  readonly onTimeout: (owner: never) => void;
  readonly owner: unknown;
}

/**
 * What a slot holds once the head has passed it. A settled call left in its
 * slot until the next call overwrote it kept its owner alive (an extension
 * event's job with all it holds, a gate step): a burst's thousand finished
 * calls survived every young-generation collection until the next burst,
 * and were promoted to the old one. One shared, frozen entry of the same
 * shape keeps the array's elements of one kind.
 */
const EMPTY: Deadline = Object.freeze({ settled: true, deadline: 0, queue: undefined as unknown as DeadlineQueue, onTimeout: () => undefined, owner: undefined });

class DeadlineQueue {
  items: Deadline[] = [];
  head = 0;
  /** Slots from `head` up to `tail` are live; the others hold EMPTY, and are overwritten by later calls (no resize per call). */
  tail = 0;
  timer: NodeJS.Timeout | undefined;
  refed = false;
  readonly ms: number;
  readonly keepAlive: boolean;

  constructor(ms: number, keepAlive: boolean) {
    this.ms = ms;
    this.keepAlive = keepAlive;
  }

  add(item: Deadline): void {
    this.items[this.tail++] = item;
    if (this.timer === undefined) {
      this.timer = this.arm(Math.min(this.ms, MAX_TIMER_MS));
    } else if (!this.refed && this.keepAlive) {
      this.timer.ref();
      this.refed = true;
    }
  }

  /**
   * A timer for the next expiry, ref'd (while calls are pending) only when the
   * queue keeps the process alive. `ms` is at most MAX_TIMER_MS: a longer
   * deadline is reached by re-arming from fire().
   */
  arm(ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => this.fire(), ms);
    if (this.keepAlive) this.refed = true;
    else timer.unref();
    return timer;
  }

  settle(item: Deadline): void {
    item.settled = true;
    const items = this.items;
    while (this.head < this.tail && (items[this.head] as Deadline).settled) items[this.head++] = EMPTY;
    if (this.head === this.tail) {
      this.head = 0;
      this.tail = 0;
      if (items.length > 1024) this.items = [];
      if (this.refed && this.timer !== undefined) {
        this.timer.unref();
        this.refed = false;
      }
    } else if (this.head > 1024 && this.head * 2 > this.tail) {
      this.items = items.slice(this.head, this.tail);
      this.tail -= this.head;
      this.head = 0;
    }
  }

  /** Calls still waiting for their answer (a scan: for checks and tests, not the hot path). */
  get pending(): number {
    let count = 0;
    for (let i = this.head; i < this.tail; i++) if (!(this.items[i] as Deadline).settled) count++;
    return count;
  }

  /** Whether the queue's timer holds the process open (it must not once nothing is pending). */
  get holdsProcess(): boolean {
    return this.timer?.hasRef() ?? false;
  }

  fire(): void {
    this.timer = undefined;
    this.refed = false;
    const now = performance.now();
    const items = this.items;
    const expired: Deadline[] = [];
    while (this.head < this.tail) {
      const item = items[this.head] as Deadline;
      if (!item.settled) {
        if (item.deadline > now + 1) break;
        item.settled = true;
        expired.push(item);
      }
      items[this.head++] = EMPTY;
    }
    if (this.head === this.tail) {
      this.head = 0;
      this.tail = 0;
    } else {
      const next = items[this.head] as Deadline;
      this.timer = this.arm(Math.min(MAX_TIMER_MS, Math.max(1, Math.ceil(next.deadline - now))));
    }
    // After the queue is consistent: a timeout handler may track new calls.
    for (const item of expired) (item.onTimeout as (owner: unknown) => void)(item.owner);
  }
}

export interface DeadlinesOptions {
  /** False: pending calls do not keep the process alive (their timers stay unref'd). Default true. */
  readonly keepAlive?: boolean;
}

export class Deadlines {
  readonly #queues = new Map<number, DeadlineQueue>();
  readonly #keepAlive: boolean;

  constructor(options: DeadlinesOptions = {}) {
    this.#keepAlive = options.keepAlive !== false;
  }

  /** Starts tracking a call that must settle within `ms`; `onTimeout(owner)` runs (once) if it does not. */
  track<O>(ms: number, onTimeout: (owner: O) => void, owner: O): Deadline {
    const queue = this.#queueFor(ms);
    const item: Deadline = { settled: false, deadline: performance.now() + ms, queue, onTimeout, owner };
    queue.add(item);
    return item;
  }

  /** Calls tracked and not yet settled or timed out, over every timeout length. */
  get pending(): number {
    let count = 0;
    for (const queue of this.#queues.values()) count += queue.pending;
    return count;
  }

  /** Whether a timer of these deadlines keeps the process alive (only while calls are pending). */
  get holdsProcess(): boolean {
    for (const queue of this.#queues.values()) if (queue.holdsProcess) return true;
    return false;
  }

  /**
   * track() for a caller whose own object is the entry (an extension
   * handler's job): its deadline and queue are set here, and no other
   * object is made per call. Until it is tracked, `settled` is true (a
   * settle() then does nothing).
   */
  trackEntry(ms: number, entry: DeadlineEntry): void {
    const queue = this.#queueFor(ms);
    entry.settled = false;
    entry.deadline = performance.now() + ms;
    entry.queue = queue;
    queue.add(entry as Deadline);
  }

  /** The queue of calls with this timeout length (one per length: they end in the order they start). */
  #queueFor(ms: number): DeadlineQueue {
    let queue = this.#queues.get(ms);
    if (queue === undefined) {
      queue = new DeadlineQueue(ms, this.#keepAlive);
      this.#queues.set(ms, queue);
    }
    return queue;
  }

  /**
   * Whether a tracked call's deadline has passed though its timer has not run.
   * A loop held up past a deadline may read the call's answer before it runs
   * its timers (the poll phase before the timers, or Node's timer lists still
   * judged against the time taken before the hold): which one comes first is
   * the loop's, not the call's. An answer seen while this is true came late;
   * the caller treats it as the timeout it would have been on a loop on time.
   */
  overdue(item: Deadline | DeadlineEntry): boolean {
    return !item.settled && item.deadline <= performance.now();
  }

  /** Marks a tracked call answered. False when it had already timed out (or was settled): ignore the answer. */
  settle(item: Deadline | DeadlineEntry): boolean {
    if (item.settled) return false;
    (item.queue as DeadlineQueue).settle(item as Deadline);
    return true;
  }
}
