// An extension handler's metric series, bound once per handler: events by
// outcome and handle latency. Outcomes are the handler's own finish reasons,
// named for operators: handled, failed, timed_out, skipped (getConfiguration
// said no), rejected (getConfiguration threw), dropped, aborted.

import type { CounterChild, HistogramChild, Metrics } from '../metrics/metrics.js';

const OUTCOME_LABELS: Readonly<Record<string, string>> = {
  ok: 'handled',
  error: 'failed',
  timeout: 'timed_out',
  skipped: 'skipped',
  rejected: 'rejected',
  dropped: 'dropped',
  aborted: 'aborted',
};

/** One event in 8 is timed for the latency histogram, as gate chains are (hooks/gate.ts): two clock reads cost a tenth of an event here. */
const TIME_EVERY_MASK = 7;

export class HandlerSeries {
  readonly enabled: boolean;
  readonly #outcomes = new Map<string, CounterChild>();
  readonly #duration: HistogramChild;
  #events = 0;

  constructor(metrics: Metrics, handler: string) {
    this.enabled = metrics.enabled;
    const family = metrics.counter('hookwork_extension_events_total', 'Events an extension handler finished, per handler and outcome (handled, failed, timed_out, skipped, rejected, dropped, aborted).', ['handler', 'outcome']);
    for (const [outcome, label] of Object.entries(OUTCOME_LABELS)) this.#outcomes.set(outcome, family.labels(handler, label));
    this.#duration = metrics
      .histogram('hookwork_extension_handle_duration_seconds', 'Time from an event reaching an extension handler to its end (delay, queue and handle()), per handler, for handled, failed and timed-out events.', ['handler'])
      .labels(handler);
  }

  /** performance.now() for an event to be timed, else 0 (metrics off, or not this event's turn). */
  start(): number {
    return this.enabled && (this.#events++ & TIME_EVERY_MASK) === 0 ? performance.now() : 0;
  }

  /** One event is over; `startedPerf` is what start() gave it. */
  finished(outcome: string, startedPerf: number): void {
    this.#outcomes.get(outcome)?.inc();
    if (startedPerf !== 0 && (outcome === 'ok' || outcome === 'error' || outcome === 'timeout')) {
      this.#duration.observe((performance.now() - startedPerf) / 1000);
    }
  }
}
