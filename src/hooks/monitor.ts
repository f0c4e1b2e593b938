// Monitoring points (LUNA's monitoring events): one per hook call, handler
// run and delivery attempt. Recording costs nothing while nobody listens:
// callers check `monitor.enabled` before taking times.

export type MonitoringKind = 'notify' | 'gate' | 'change' | 'middleware' | 'handler' | 'delivery' | 'command' | 'webhook';

export interface MonitoringPoint {
  readonly kind: MonitoringKind;
  /** The hook point, method, event id or target. */
  readonly name: string;
  /** Who ran: subscriber, gate, plugin or handler name. */
  readonly by: string;
  /** `ok`, `error`, `deny`, `handled`, `blocked`, `timeout`, … */
  readonly outcome: string;
  readonly durationMs: number;
  /** When it started, ms since the epoch. */
  readonly at: number;
  readonly detail?: Readonly<Record<string, unknown>>;
}

export type MonitoringSink = (points: readonly MonitoringPoint[]) => void;

export interface MonitorOptions {
  /** Points per batch before a flush (default 100). */
  batchSize?: number;
  /** Longest a point waits in a batch (default 1000 ms). */
  flushMs?: number;
}

export class Monitor {
  /** True while at least one sink listens; hot paths check it first. */
  enabled = false;
  readonly #sinks = new Set<MonitoringSink>();
  #batch: MonitoringPoint[] = [];
  #timer: NodeJS.Timeout | undefined;
  readonly #batchSize: number;
  readonly #flushMs: number;

  constructor(options: MonitorOptions = {}) {
    this.#batchSize = options.batchSize ?? 100;
    this.#flushMs = options.flushMs ?? 1000;
  }

  /** Adds a sink that receives batches of points; returns its disposer. */
  subscribe(sink: MonitoringSink): () => void {
    this.#sinks.add(sink);
    this.enabled = true;
    return () => {
      this.#sinks.delete(sink);
      this.enabled = this.#sinks.size > 0;
      if (!this.enabled) this.#batch = [];
    };
  }

  record(point: MonitoringPoint): void {
    if (!this.enabled) return;
    this.#batch.push(point);
    if (this.#batch.length >= this.#batchSize) this.flush();
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.flush(), this.#flushMs);
      this.#timer.unref();
    }
  }

  /** Sends the pending batch now. A failing sink never affects the others. */
  flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#batch.length === 0) return;
    const batch = Object.freeze(this.#batch);
    this.#batch = [];
    for (const sink of this.#sinks) {
      try {
        sink(batch);
      } catch {
        // A sink is a plugin's concern; its failure must not stop monitoring.
      }
    }
  }
}

/** Records one point timed from `start` (performance.now()) and stamped `at` (Date.now()). A function, not a closure per call. */
export function record(monitor: Monitor, kind: MonitoringKind, name: string, by: string, outcome: string, start: number, at: number): void {
  monitor.record({ kind, name, by, outcome, durationMs: performance.now() - start, at });
}
