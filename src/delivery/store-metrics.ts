// Times every store operation (hookwork_store_operation_duration_seconds,
// per store kind and operation): a wrapper with the store as its prototype,
// whose methods call the real store's (bound, so its private fields work).

import { secondsSince, type HistogramChild, type Metrics } from '../metrics/metrics.js';
import type { DeliveryStore } from './store.js';

const TIMED = [
  'migrate', 'enqueue', 'claim', 'dueTargets', 'settle', 'settleAndClaim', 'list', 'get', 'retry', 'countReplay', 'claimScheduleTick',
  'replayBatch', 'purge', 'depthByTarget', 'openByTarget', 'disableTarget', 'enableTarget', 'disabledTargets', 'targetHealth', 'takeRateTokens',
] as const;

type AnyFn = (...args: unknown[]) => unknown;

export function instrumentStore(store: DeliveryStore, metrics: Metrics): DeliveryStore {
  if (!metrics.enabled) return store;
  const family = metrics.histogram('hookwork_store_operation_duration_seconds', 'Time a delivery store operation took, per store kind and operation (failed ones included).', ['store', 'operation']);
  const wrapper = Object.create(store) as Record<string, unknown>;
  // Every method is bound to the real store first: called on the wrapper, a class's #fields would throw.
  for (let proto: object | null = store; proto !== null && proto !== Object.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
    for (const key of Object.getOwnPropertyNames(proto)) {
      if (key === 'constructor' || Object.prototype.hasOwnProperty.call(wrapper, key)) continue;
      const value = (store as unknown as Record<string, unknown>)[key];
      if (typeof value === 'function') wrapper[key] = (value as AnyFn).bind(store);
    }
  }
  for (const op of TIMED) {
    const fn = (store as unknown as Record<string, unknown>)[op];
    if (typeof fn !== 'function') continue;
    const series: HistogramChild = family.labels(store.kind, op);
    const observe = (start: number) => () => series.observe(secondsSince(start));
    wrapper[op] = (...args: unknown[]) => {
      const start = performance.now();
      const result = (fn as AnyFn).apply(store, args) as Promise<unknown>;
      const done = observe(start);
      result.then(done, done);
      return result;
    };
  }
  const enqueueNow = store.enqueueNow;
  if (enqueueNow !== undefined) {
    const series = family.labels(store.kind, 'enqueueNow');
    wrapper['enqueueNow'] = (rows: Parameters<NonNullable<DeliveryStore['enqueueNow']>>[0]) => {
      const start = performance.now();
      try {
        enqueueNow.call(store, rows);
      } finally {
        series.observe(secondsSince(start));
      }
    };
  }
  return wrapper as unknown as DeliveryStore;
}
