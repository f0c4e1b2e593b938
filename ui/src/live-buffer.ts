// The live page's buffer. At 1,000 events/s a page that renders every event
// freezes, so events go into a bounded ring (raw JSON text, parsed only when
// shown) and the page renders at most once per frame, and at most every
// RENDER_EVERY_MS: each render shows the newest VISIBLE rows. An event that
// arrived and was pushed out of the visible window between two renders was
// never on screen: it is counted as "sampled out", exactly. The server's own
// drops (a slow client, or the events a reconnect could not bring back:
// `event: dropped`) are counted apart, and so are the interruptions the server
// could not account for (`event: gap`). Every count is of the current
// filters: clear() starts them again.

export interface LiveRow {
  readonly seq: number;
  readonly receivedAt: number;
  readonly raw: string;
  parsed?: Record<string, unknown> | null;
}

export class LiveBuffer {
  readonly #ring: (LiveRow | undefined)[];
  #seq = 0;
  #renderedSeq = 0;
  /** #seq when the counts last started (the filters changed). */
  #countedFrom = 0;
  /** Events that were never rendered: pushed out between two renders. */
  sampledOut = 0;
  /** Events the server dropped for this client (it could not keep up, or they were lost in a reconnect). */
  droppedByServer = 0;
  /** Reconnects the server could not resume: the events in between are unknown. */
  gaps = 0;

  constructor(readonly capacity: number) {
    this.#ring = new Array<LiveRow | undefined>(capacity);
  }

  /** Events received since the counts started. */
  get received(): number {
    return this.#seq - this.#countedFrom;
  }

  /** O(1), no parsing: called for every event. */
  push(raw: string, now: number): void {
    const seq = ++this.#seq;
    this.#ring[seq % this.capacity] = { seq, receivedAt: now, raw };
  }

  /** True when something arrived since the last render. */
  get dirty(): boolean {
    return this.#seq !== this.#renderedSeq;
  }

  /** The newest `count` rows, newest first; marks them rendered and counts the ones skipped since the last render. */
  take(count: number): LiveRow[] {
    const shown = Math.min(count, this.capacity);
    const fresh = this.#seq - this.#renderedSeq;
    if (fresh > shown) this.sampledOut += fresh - shown;
    this.#renderedSeq = this.#seq;
    const rows: LiveRow[] = [];
    for (let seq = this.#seq; seq > 0 && rows.length < shown; seq--) {
      const row = this.#ring[seq % this.capacity];
      if (row === undefined || row.seq !== seq) break;
      rows.push(row);
    }
    return rows;
  }

  /** Empties the ring and starts every count again (the row numbers go on: they are the rows' keys). */
  clear(): void {
    this.#ring.fill(undefined);
    this.#renderedSeq = this.#seq;
    this.#countedFrom = this.#seq;
    this.sampledOut = 0;
    this.droppedByServer = 0;
    this.gaps = 0;
  }
}

export function parseRow(row: LiveRow): Record<string, unknown> | null {
  if (row.parsed === undefined) {
    try {
      const value: unknown = JSON.parse(row.raw);
      row.parsed = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null;
    } catch {
      row.parsed = null;
    }
  }
  return row.parsed;
}
