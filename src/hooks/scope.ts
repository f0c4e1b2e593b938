// A scope owns registrations. Every registration returns its own disposer;
// disposing the scope removes everything registered through it, so a plugin
// that forgets to unregister in stop() leaks nothing.

import { ClosedError } from '../errors.js';

export type Disposer = () => void;

/** What a registration is, for counts shown by plugins.list(). */
export type RegistrationKind =
  | 'subscriber'
  | 'gate'
  | 'change'
  | 'middleware'
  | 'method'
  | 'route'
  | 'task'
  | 'schedule'
  | 'timer'
  | 'handler'
  | 'other';

interface Entry {
  readonly kind: RegistrationKind;
  readonly dispose: () => void | Promise<void>;
}

export class Scope {
  readonly name: string;
  readonly #entries = new Set<Entry>();
  readonly #counts = new Map<RegistrationKind, number>();
  #disposed = false;

  constructor(name: string) {
    this.name = name;
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /** How many live registrations this scope owns. */
  get size(): number {
    return this.#entries.size;
  }

  /** Live registration counts by kind. */
  counts(): Record<string, number> {
    return Object.fromEntries(this.#counts);
  }

  /** Throws if the scope is gone, so late async code cannot register after unload. */
  assertOpen(): void {
    if (this.#disposed) throw new ClosedError(`The scope "${this.name}"`);
  }

  /**
   * Takes ownership of a registration. The returned disposer is idempotent
   * and also forgets the entry, so disposing twice or out of order is safe.
   */
  track(kind: RegistrationKind, dispose: () => void | Promise<void>): Disposer {
    this.assertOpen();
    const entry: Entry = { kind, dispose };
    this.#entries.add(entry);
    this.#counts.set(kind, (this.#counts.get(kind) ?? 0) + 1);
    return () => {
      if (!this.#entries.delete(entry)) return;
      this.#decrement(kind);
      void dispose();
    };
  }

  #decrement(kind: RegistrationKind): void {
    const left = (this.#counts.get(kind) ?? 1) - 1;
    if (left === 0) this.#counts.delete(kind);
    else this.#counts.set(kind, left);
  }

  /**
   * Removes everything, newest first. Disposers that return promises (tasks)
   * are awaited; failures are collected and rethrown together at the end.
   */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    const entries = [...this.#entries].reverse();
    this.#entries.clear();
    this.#counts.clear();
    const errors: unknown[] = [];
    const pending: Promise<void>[] = [];
    for (const entry of entries) {
      try {
        const result = entry.dispose();
        if (result !== undefined) pending.push(result.catch((err: unknown) => void errors.push(err)));
      } catch (err) {
        errors.push(err);
      }
    }
    await Promise.all(pending);
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `Disposing scope "${this.name}" failed ${errors.length} times.`);
  }
}
