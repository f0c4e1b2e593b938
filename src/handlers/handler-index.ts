// Routes an event to the handlers that follow its id in one Map lookup.
// Handlers with no event-id filter sit on a wildcard list; the merged list per
// id is cached until the set of handlers changes.

import type { HookworkEvent } from '../events/envelope.js';

const EMPTY: readonly never[] = Object.freeze([]);

export class HandlerIndex<T> {
  readonly #byId = new Map<string, T[]>();
  #wildcard: T[] = [];
  readonly #cache = new Map<string, readonly T[]>();
  #order = new Map<T, number>();
  #seq = 0;

  /** Adds `item` for these event ids (null: every event). Returns its remover. */
  add(eventIds: readonly string[] | null, item: T): () => void {
    this.#order.set(item, this.#seq++);
    if (eventIds === null) {
      this.#wildcard = [...this.#wildcard, item];
    } else {
      for (const id of new Set(eventIds)) this.#byId.set(id, [...(this.#byId.get(id) ?? []), item]);
    }
    this.#cache.clear();
    return () => {
      if (!this.#order.delete(item)) return;
      if (eventIds === null) this.#wildcard = this.#wildcard.filter((x) => x !== item);
      else
        for (const id of new Set(eventIds)) {
          const next = (this.#byId.get(id) ?? []).filter((x) => x !== item);
          if (next.length === 0) this.#byId.delete(id);
          else this.#byId.set(id, next);
        }
      this.#cache.clear();
    };
  }

  /** The items following this event's id, in the order they were added. */
  match(event: Pick<HookworkEvent, 'id'>): readonly T[] {
    const cached = this.#cache.get(event.id);
    if (cached !== undefined) return cached;
    const direct = this.#byId.get(event.id);
    let route: readonly T[];
    if (direct === undefined) route = this.#wildcard.length === 0 ? EMPTY : this.#wildcard;
    else if (this.#wildcard.length === 0) route = direct;
    else route = Object.freeze([...direct, ...this.#wildcard].sort((a, b) => (this.#order.get(a) ?? 0) - (this.#order.get(b) ?? 0)));
    this.#cache.set(event.id, route);
    return route;
  }

  get size(): number {
    return this.#order.size;
  }
}
