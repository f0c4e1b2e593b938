// A target's delivery controls as its config gives them (`rate_limit`,
// `retry_schedule`, `circuit_breaker`, `endpoint_failure_disable_after`, in
// seconds) turned into what the dispatcher takes (per second, ms).

import type { TargetDeliveryConfig } from './config-schema.js';
import type { BreakerSettings, DeliveryControls, DeliveryTarget, RateLimit } from './types.js';

/** undefined when the target sets none of them (the queue's settings apply). */
export function deliveryControlsOf(config: TargetDeliveryConfig): DeliveryControls | undefined {
  const rate = config.rate_limit;
  const cb = config.circuit_breaker;
  let rateLimit: RateLimit | undefined;
  if (rate !== undefined) {
    const perSecond = rate.per_second ?? (rate.per_minute as number) / 60;
    // Default burst: one second's worth, at least 1 (so per_minute sends evenly, not all at once).
    rateLimit = { perSecond, burst: rate.burst ?? Math.max(1, Math.floor(perSecond)) };
  }
  let breaker: Partial<BreakerSettings> | undefined;
  if (cb !== undefined) {
    breaker = {
      ...(cb.mode === undefined ? {} : { mode: cb.mode }),
      ...(cb.failures === undefined ? {} : { failures: cb.failures }),
      ...(cb.cooldown === undefined ? {} : { cooldownMs: cb.cooldown * 1000 }),
      ...(cb.failure_ratio === undefined ? {} : { failureRatio: cb.failure_ratio }),
      ...(cb.window === undefined ? {} : { windowMs: cb.window * 1000 }),
      ...(cb.min_requests === undefined ? {} : { minRequests: cb.min_requests }),
      ...(cb.half_open_probes === undefined ? {} : { halfOpenProbes: cb.half_open_probes }),
    };
  }
  if (rateLimit === undefined && breaker === undefined && config.retry_schedule === undefined && config.endpoint_failure_disable_after === undefined) return undefined;
  return {
    ...(rateLimit === undefined ? {} : { rateLimit }),
    ...(config.retry_schedule === undefined ? {} : { retrySchedule: config.retry_schedule }),
    ...(breaker === undefined ? {} : { breaker }),
    ...(config.endpoint_failure_disable_after === undefined ? {} : { disableAfterMs: config.endpoint_failure_disable_after * 1000 }),
  };
}

/** The target with these controls (itself when there are none): attempts go to the target as they are. */
export function withControls(target: DeliveryTarget, controls: DeliveryControls | undefined): DeliveryTarget {
  if (controls === undefined) return target;
  return {
    name: target.name,
    kind: target.kind,
    ...(target.concurrency === undefined ? {} : { concurrency: target.concurrency }),
    ...(target.digest === undefined ? {} : { digest: target.digest }),
    controls,
    attempt: (delivery, context) => target.attempt(delivery, context),
  };
}
