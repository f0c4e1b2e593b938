// Label-bound series that record with a field update (prom-client's own
// inc(labels) hashes the labels into a string on every call), and the
// families that hold them. Each family is registered in a prom-client
// Registry, which calls get() at scrape time and writes the text format.

import type { CounterChild, Family, GaugeChild, HistogramChild } from './metrics.js';

type MetricType = 'counter' | 'gauge' | 'histogram';

interface MetricValue {
  readonly value: number;
  readonly labels: Record<string, string | number>;
  readonly metricName?: string;
}

/** What prom-client's Registry reads from a registered metric. */
export interface CollectedMetric {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly values: MetricValue[];
  readonly aggregator: 'sum';
}

class Counter implements CounterChild {
  value = 0;
  inc(value = 1): void {
    if (value > 0) this.value += value;
  }
}

class Gauge implements GaugeChild {
  value = 0;
  set(value: number): void {
    this.value = value;
  }
  inc(value = 1): void {
    this.value += value;
  }
  dec(value = 1): void {
    this.value -= value;
  }
}

class Histogram implements HistogramChild {
  /** Per bucket (not cumulative; cumulated at scrape), the last one +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  readonly #bounds: readonly number[];
  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(value: number): void {
    this.sum += value;
    this.count++;
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    this.counts[i] = (this.counts[i] ?? 0) + 1;
  }
}

abstract class BaseFamily<C> implements Family<C> {
  readonly #series = new Map<string, { labels: Record<string, string>; child: C }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricType,
    readonly labelNames: readonly string[],
  ) {}

  protected abstract create(): C;

  labels(...values: string[]): C {
    // Callers bind once and keep the child, so building the key here is off the hot path.
    const key = values.join('\u0000');
    let entry = this.#series.get(key);
    if (entry === undefined) {
      const labels: Record<string, string> = {};
      this.labelNames.forEach((label, i) => (labels[label] = String(values[i] ?? '')));
      entry = { labels, child: this.create() };
      this.#series.set(key, entry);
    }
    return entry.child;
  }

  reset(): void {
    this.#series.clear();
  }

  protected series(): IterableIterator<{ labels: Record<string, string>; child: C }> {
    return this.#series.values();
  }

  abstract get(): CollectedMetric;
}

export class CounterFamily extends BaseFamily<Counter> {
  constructor(name: string, help: string, labelNames: readonly string[]) {
    super(name, help, 'counter', labelNames);
  }
  protected create(): Counter {
    return new Counter();
  }
  get(): CollectedMetric {
    const values = [...this.series()].map((s) => ({ value: s.child.value, labels: s.labels }));
    return { name: this.name, help: this.help, type: 'counter', values, aggregator: 'sum' };
  }
}

export class GaugeFamily extends BaseFamily<Gauge> {
  constructor(name: string, help: string, labelNames: readonly string[]) {
    super(name, help, 'gauge', labelNames);
  }
  protected create(): Gauge {
    return new Gauge();
  }
  get(): CollectedMetric {
    const values = [...this.series()].map((s) => ({ value: s.child.value, labels: s.labels }));
    return { name: this.name, help: this.help, type: 'gauge', values, aggregator: 'sum' };
  }
}

export class HistogramFamily extends BaseFamily<Histogram> {
  readonly buckets: readonly number[];
  constructor(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]) {
    super(name, help, 'histogram', labelNames);
    this.buckets = [...buckets].sort((a, b) => a - b);
  }
  protected create(): Histogram {
    return new Histogram(this.buckets);
  }
  get(): CollectedMetric {
    const values: MetricValue[] = [];
    for (const { labels, child } of this.series()) {
      let cumulative = 0;
      for (let i = 0; i <= this.buckets.length; i++) {
        cumulative += child.counts[i] as number;
        const le = i < this.buckets.length ? (this.buckets[i] as number) : '+Inf';
        values.push({ metricName: `${this.name}_bucket`, value: cumulative, labels: { ...labels, le } });
      }
      values.push({ metricName: `${this.name}_sum`, value: child.sum, labels });
      values.push({ metricName: `${this.name}_count`, value: child.count, labels });
    }
    return { name: this.name, help: this.help, type: 'histogram', values, aggregator: 'sum' };
  }
}
