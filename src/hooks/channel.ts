// A tiny typed broadcast channel for engine-level streams that are not
// catalogue events, such as LUNA's "sending" records (the events a handler
// produced, with their request context). Publishing costs one check while
// nobody listens.

export type ChannelListener<T> = (value: T) => void;

export class Channel<T> {
  readonly #listeners = new Set<ChannelListener<T>>();

  get active(): boolean {
    return this.#listeners.size > 0;
  }

  subscribe(listener: ChannelListener<T>): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Delivers to every listener; one that throws never affects the others or the publisher. */
  publish(value: T): void {
    for (const listener of this.#listeners) {
      try {
        listener(value);
      } catch {
        // A listener's failure is its own concern.
      }
    }
  }
}

/** What a handler produced for one event (LUNA's sending_event). */
export interface SendingRecord {
  /** The events the handler produced (already emitted). */
  readonly events: readonly import('../events/envelope.js').HookworkEvent[];
  readonly handlerId: string;
  readonly handlerName: string;
  /** The account of the event that caused them. */
  readonly accountId: string;
  /** The uuid of the event that caused them. */
  readonly requestId: string;
  /** When handling started and ended, ISO 8601. */
  readonly createEventTime: string;
  readonly endEventTime: string;
}
