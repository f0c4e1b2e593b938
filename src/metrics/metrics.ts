// The metrics interface the engine's hot paths call. A leaf (it imports
// nothing of the project), so hooks, delivery, extensions and the rest can
// record without knowing Prometheus; the runtime installs the prom-client
// implementation (prometheus.ts). The default is NO_METRICS: every call is an
// empty method on one shared object.
//
// Cost rule: a caller binds a child once (`family.labels(gate, 'deny')`) when
// its label values become known (a gate point declared, a target registered)
// and keeps it; recording is then a field update, with no allocation and no
// string building per call. Callers check `enabled` before taking times.

/** One counter series (labels bound). */
export interface CounterChild {
  inc(value?: number): void;
}

/** One gauge series (labels bound). */
export interface GaugeChild {
  set(value: number): void;
  inc(value?: number): void;
  dec(value?: number): void;
}

/** One histogram series (labels bound); values in the metric's unit (seconds). */
export interface HistogramChild {
  observe(value: number): void;
}

/** A metric with labels: `labels(...)` gives the series of those values (the same object each time). */
export interface Family<C> {
  readonly name: string;
  labels(...values: string[]): C;
  /** Drops every series (for gauges refilled at each scrape). */
  reset(): void;
}

export interface Metrics {
  /** False for NO_METRICS: callers skip taking times. */
  readonly enabled: boolean;
  /** The family of that name, created on first use (a second call with the same name returns it). Names end in `_total`. */
  counter(name: string, help: string, labelNames: readonly string[]): Family<CounterChild>;
  gauge(name: string, help: string, labelNames: readonly string[]): Family<GaugeChild>;
  /** `buckets` upper bounds in seconds (default DURATION_BUCKETS). */
  histogram(name: string, help: string, labelNames: readonly string[], buckets?: readonly number[]): Family<HistogramChild>;
  /** Runs before each scrape (values read from elsewhere: the store's queue depth); returns the remover. */
  onCollect(fn: () => void | Promise<void>): () => void;
}

/** Default latency buckets, seconds: 0.5 ms to 30 s. */
export const DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
]);

const NOOP_CHILD: CounterChild & GaugeChild & HistogramChild = Object.freeze({
  inc(): void {},
  set(): void {},
  dec(): void {},
  observe(): void {},
});

const NOOP_FAMILY: Family<CounterChild & GaugeChild & HistogramChild> = Object.freeze({
  name: 'noop',
  labels: () => NOOP_CHILD,
  reset(): void {},
});

/** Metrics off: records nothing, costs one empty call. */
export const NO_METRICS: Metrics = Object.freeze({
  enabled: false,
  counter: () => NOOP_FAMILY,
  gauge: () => NOOP_FAMILY,
  histogram: () => NOOP_FAMILY,
  onCollect: () => () => undefined,
});

/** performance.now() difference in ms → seconds, the unit of every `_seconds` histogram. */
export function secondsSince(startMs: number): number {
  return (performance.now() - startMs) / 1000;
}
