// A binary min-heap of pending deliveries by due time (ties: enqueue order),
// so the memory store claims the due ones without scanning every open row.
// Entries are never removed from the middle: a row that leaves `pending` (or
// is rescheduled) bumps its generation, and its old entry is skipped when it
// surfaces.
//
// The entries are kept in parallel arrays, not as an object each: a queue of
// thousands of pending rows then adds no objects (and no boxed due times) for
// the garbage collector to copy from generation to generation.

export class DueHeap<T> {
  readonly #at: number[] = [];
  readonly #seq: number[] = [];
  readonly #generation: number[] = [];
  readonly #items: T[] = [];
  #nextSeq = 0;

  get size(): number {
    return this.#items.length;
  }

  #before(i: number, j: number): boolean {
    const a = this.#at[i] as number;
    const b = this.#at[j] as number;
    return a < b || (a === b && (this.#seq[i] as number) < (this.#seq[j] as number));
  }

  #swap(i: number, j: number): void {
    swap(this.#at, i, j);
    swap(this.#seq, i, j);
    swap(this.#generation, i, j);
    swap(this.#items, i, j);
  }

  push(at: number, generation: number, item: T): void {
    let i = this.#items.length;
    this.#at.push(at);
    this.#seq.push(this.#nextSeq++);
    this.#generation.push(generation);
    this.#items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#before(i, parent)) break;
      this.#swap(i, parent);
      i = parent;
    }
  }

  /** The earliest entry's due time (Infinity when empty). */
  peekAt(): number {
    return this.#items.length === 0 ? Infinity : (this.#at[0] as number);
  }

  /** The generation the earliest entry was pushed with. */
  peekGeneration(): number {
    return this.#generation[0] as number;
  }

  /** The earliest entry's item (undefined when empty). */
  peekItem(): T | undefined {
    return this.#items[0];
  }

  /** Removes the earliest entry and returns its item. */
  pop(): T | undefined {
    const items = this.#items;
    if (items.length === 0) return undefined;
    const top = items[0] as T;
    const last = items.length - 1;
    if (last > 0) this.#swap(0, last);
    this.#at.pop();
    this.#seq.pop();
    this.#generation.pop();
    items.pop();
    const n = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && this.#before(right, left) ? right : left;
      if (!this.#before(child, i)) break;
      this.#swap(i, child);
      i = child;
    }
    return top;
  }
}

function swap<V>(list: V[], i: number, j: number): void {
  const v = list[i] as V;
  list[i] = list[j] as V;
  list[j] = v;
}
