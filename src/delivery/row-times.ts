// The memory store's timestamps (due, created, updated, lease end), four
// per row, in one Float64Array instead of four members of each row object.
// A millisecond timestamp is no small integer to V8, so each such member was
// a boxed number of its own: four objects per row (64 bytes), made at enqueue
// for every pending delivery, copied by the scavenges that promote the
// pending ones, and kept with each of the 10,000 done deliveries the store
// keeps. Here a row holds its slot's index; a slot is given back when its row
// leaves the store and taken again by a later row. Neither the array nor the
// free list shrinks: ~40 bytes per row of the largest backlog stay.

export const DUE = 0;
export const CREATED = 1;
export const UPDATED = 2;
export const LEASE = 3;
const COLUMNS = 4;

export class RowTimes {
  #data = new Float64Array(COLUMNS * 1024);
  /** Slots given back, taken again first. */
  readonly #free: number[] = [];
  /** Slots from here on were never taken. */
  #next = 0;

  /** A slot for a new row, with its four times. */
  take(due: number, created: number, updated: number, lease: number): number {
    let slot = this.#free.pop();
    if (slot === undefined) {
      slot = this.#next++;
      if (slot * COLUMNS >= this.#data.length) {
        const grown = new Float64Array(this.#data.length * 2);
        grown.set(this.#data);
        this.#data = grown;
      }
    }
    const at = slot * COLUMNS;
    const data = this.#data;
    data[at + DUE] = due;
    data[at + CREATED] = created;
    data[at + UPDATED] = updated;
    data[at + LEASE] = lease;
    return slot;
  }

  /** The row of `slot` left the store: a later row may take it. */
  give(slot: number): void {
    this.#free.push(slot);
  }

  get(slot: number, column: number): number {
    return this.#data[slot * COLUMNS + column] as number;
  }

  set(slot: number, column: number, value: number): void {
    this.#data[slot * COLUMNS + column] = value;
  }
}
