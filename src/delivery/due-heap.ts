// A binary min-heap of pending deliveries by due time (ties: enqueue order),
// so the memory store claims the due ones without scanning every open row.
// Entries are never removed from the middle: a row that leaves `pending` (or
// is rescheduled) bumps its generation, and its old entry is skipped when it
// surfaces.

export interface DueEntry<T> {
  readonly at: number;
  readonly seq: number;
  readonly generation: number;
  readonly item: T;
}

function before<T>(a: DueEntry<T>, b: DueEntry<T>): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

export class DueHeap<T> {
  readonly #items: DueEntry<T>[] = [];
  #seq = 0;

  get size(): number {
    return this.#items.length;
  }

  push(at: number, generation: number, item: T): void {
    const items = this.#items;
    const entry: DueEntry<T> = { at, seq: this.#seq++, generation, item };
    let i = items.length;
    items.push(entry);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent] as DueEntry<T>;
      if (!before(entry, p)) break;
      items[i] = p;
      i = parent;
    }
    items[i] = entry;
  }

  /** The earliest entry, without removing it. */
  peek(): DueEntry<T> | undefined {
    return this.#items[0];
  }

  pop(): DueEntry<T> | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    const n = items.length;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && before(items[right] as DueEntry<T>, items[left] as DueEntry<T>) ? right : left;
      const c = items[child] as DueEntry<T>;
      if (!before(c, last)) break;
      items[i] = c;
      i = child;
    }
    items[i] = last;
    return top;
  }
}
