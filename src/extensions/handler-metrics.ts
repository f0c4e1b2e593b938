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

export class HandlerSeries {
  readonly enabled: boolean;
  readonly #outcomes = new Map<string, CounterChild>();
  readonly #duration: HistogramChild;

  constructor(metrics: Metrics, handler: string) {
    this.enabled = metrics.enabled;
    const family = metrics.counter('hookwork_extension_events_total', 'Events an extension handler finished, per handler and outcome (handled, failed, timed_out, skipped, rejected, dropped, aborted).', ['handler', 'outcome']);
    for (const [outcome, label] of Object.entries(OUTCOME_LABELS)) this.#outcomes.set(outcome, family.labels(handler, label));
    this.#duration = metrics
      .histogram('hookwork_extension_handle_duration_seconds', 'Time from an event reaching an extension handler to its end (delay, queue and handle()), per handler, for handled, failed and timed-out events.', ['handler'])
      .labels(handler);
  }

  /** One event is over; `ms` since it arrived. */
  finished(outcome: string, ms: number): void {
    this.#outcomes.get(outcome)?.inc();
    if (outcome === 'ok' || outcome === 'error' || outcome === 'timeout') this.#duration.observe(ms / 1000);
  }
}
