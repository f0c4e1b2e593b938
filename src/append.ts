// A list made by its first item: `[x]`. Most of the engine's per-emit lists
// (deliveries of an event, rows of an enqueue) hold one item, and `[]`
// followed by push() gives the array room for 16.

/** `list` with `item` at its end: a new `[item]` when there is no list yet. */
export function append<T>(list: T[] | undefined, item: T): T[] {
  if (list === undefined) return [item];
  list.push(item);
  return list;
}
