// The prom-client implementation of Metrics, one per runtime: its own
// Registry (never prom-client's global one, so two runtimes in a process do
// not collide), the process's default metrics, and the engine's families.

import { collectDefaultMetrics, Registry } from 'prom-client';
import { CounterFamily, GaugeFamily, HistogramFamily } from './families.js';
import { DURATION_BUCKETS, type CounterChild, type Family, type GaugeChild, type HistogramChild, type Metrics } from './metrics.js';

export class PrometheusMetrics implements Metrics {
  readonly enabled = true;
  readonly registry = new Registry();
  readonly contentType: string = Registry.PROMETHEUS_CONTENT_TYPE;
  readonly #families = new Map<string, CounterFamily | GaugeFamily | HistogramFamily>();
  readonly #collectors = new Set<() => void | Promise<void>>();
  readonly #onCollectError: (err: unknown) => void;

  /** `onCollectError` hears a collector that failed (the scrape still answers, without its values). */
  constructor(options: { defaultMetrics?: boolean; onCollectError?: (err: unknown) => void } = {}) {
    this.#onCollectError = options.onCollectError ?? (() => undefined);
    if (options.defaultMetrics !== false) {
      collectDefaultMetrics({ register: this.registry });
      // prom-client names three gauges *_total (nodejs_active_handles_total, …), which the
      // Prometheus conventions keep for counters (promtool refuses them); their per-type
      // twins without the suffix stay.
      for (const metric of this.registry.getMetricsAsArray()) {
        if (metric.name.endsWith('_total') && String((metric as unknown as { type?: unknown }).type) !== 'counter') this.registry.removeSingleMetric(metric.name);
      }
    }
  }

  counter(name: string, help: string, labelNames: readonly string[]): Family<CounterChild> {
    return this.#family(name, 'counter', () => new CounterFamily(name, help, labelNames));
  }

  gauge(name: string, help: string, labelNames: readonly string[]): Family<GaugeChild> {
    return this.#family(name, 'gauge', () => new GaugeFamily(name, help, labelNames));
  }

  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[] = DURATION_BUCKETS): Family<HistogramChild> {
    return this.#family(name, 'histogram', () => new HistogramFamily(name, help, labelNames, buckets));
  }

  onCollect(fn: () => void | Promise<void>): () => void {
    this.#collectors.add(fn);
    return () => this.#collectors.delete(fn);
  }

  /** The Prometheus text: collectors run first (each failure reported, none fatal). */
  async scrape(): Promise<string> {
    await Promise.all(
      [...this.#collectors].map(async (fn) => {
        try {
          await fn();
        } catch (err) {
          this.#onCollectError(err);
        }
      }),
    );
    return this.registry.metrics();
  }

  #family<F extends CounterFamily | GaugeFamily | HistogramFamily>(name: string, type: F['type'], make: () => F): F {
    const existing = this.#families.get(name);
    if (existing !== undefined) {
      if (existing.type !== type) throw new TypeError(`The metric ${name} is already a ${existing.type}, not a ${type}.`);
      return existing as F;
    }
    const family = make();
    this.#families.set(name, family);
    this.registry.registerMetric(family as never);
    return family;
  }
}
