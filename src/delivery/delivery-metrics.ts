// The outbox's metrics: attempt outcomes, latency and HTTP status classes per
// target (series bound when a target registers, so an attempt only bumps
// fields), and, at each scrape, the queue depth, oldest pending age and
// circuit state read from the store (on several nodes: the shared store, so
// every node reports the same depth; the circuit is this node's).

import type { CounterChild, Family, GaugeChild, HistogramChild, Metrics } from '../metrics/metrics.js';
import type { TargetDepth } from './store.js';

/** One target's attempt series. */
export interface TargetSeries {
  readonly done: CounterChild;
  readonly retried: CounterChild;
  readonly dead: CounterChild;
  readonly disabled: CounterChild;
  readonly duration: HistogramChild;
  /** By HTTP status class: index 1..5 for 1xx..5xx, 0 for attempts with no HTTP answer (commands, network errors). */
  readonly status: readonly CounterChild[];
}

const STATUS_CLASSES = ['none', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;
const CIRCUIT_STATES = ['closed', 'half-open', 'open'] as const;

export class DeliveryMetrics {
  readonly enabled: boolean;
  readonly #outcomes: Family<CounterChild>;
  readonly #duration: Family<HistogramChild>;
  readonly #status: Family<CounterChild>;
  readonly #depth: Family<GaugeChild>;
  readonly #oldest: Family<GaugeChild>;
  readonly #circuit: Family<GaugeChild>;

  constructor(readonly metrics: Metrics) {
    this.enabled = metrics.enabled;
    this.#outcomes = metrics.counter('hookwork_deliveries_total', 'Delivery attempts by outcome, per target: done, retried (another attempt is due), dead (no attempt left), disabled (the target answered 410).', ['target', 'outcome']);
    this.#duration = metrics.histogram('hookwork_delivery_attempt_duration_seconds', 'Time one delivery attempt took, per target.', ['target']);
    this.#status = metrics.counter('hookwork_delivery_http_responses_total', 'Delivery attempts per target and HTTP status class (1xx..5xx; "none" when no HTTP answer came).', ['target', 'status_class']);
    this.#depth = metrics.gauge('hookwork_delivery_queue_depth', 'Deliveries in the store per target and state (pending, inflight, failed, done), read at scrape time.', ['target', 'state']);
    this.#oldest = metrics.gauge('hookwork_delivery_oldest_pending_age_seconds', 'Age of the oldest due pending delivery per target (0 when none), read at scrape time.', ['target']);
    this.#circuit = metrics.gauge('hookwork_delivery_circuit_state', "This node's circuit breaker per target: 1 for its current state (closed, half-open, open), 0 for the others.", ['target', 'state']);
  }

  bind(target: string): TargetSeries {
    return {
      done: this.#outcomes.labels(target, 'done'),
      retried: this.#outcomes.labels(target, 'retried'),
      dead: this.#outcomes.labels(target, 'dead'),
      disabled: this.#outcomes.labels(target, 'disabled'),
      duration: this.#duration.labels(target),
      status: STATUS_CLASSES.map((c) => this.#status.labels(target, c)),
    };
  }

  /** Refills the scrape-time gauges from one depth report (a target gone from it drops out). */
  report(depth: readonly (TargetDepth & { circuit?: { state: string } })[], now = Date.now()): void {
    this.#depth.reset();
    this.#oldest.reset();
    this.#circuit.reset();
    for (const d of depth) {
      this.#depth.labels(d.target, 'pending').set(d.pending);
      this.#depth.labels(d.target, 'inflight').set(d.inflight);
      this.#depth.labels(d.target, 'failed').set(d.failed);
      this.#depth.labels(d.target, 'done').set(d.done);
      this.#oldest.labels(d.target).set(d.oldestDueAt === undefined || d.pending === 0 ? 0 : Math.max(0, (now - d.oldestDueAt) / 1000));
      if (d.circuit !== undefined) {
        for (const state of CIRCUIT_STATES) this.#circuit.labels(d.target, state).set(d.circuit.state === state ? 1 : 0);
      }
    }
  }
}

/** The status-class index of an HTTP status (0: none). */
export function statusClass(status: number | undefined): number {
  if (status === undefined) return 0;
  const c = Math.floor(status / 100);
  return c >= 1 && c <= 5 ? c : 0;
}
