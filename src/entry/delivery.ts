// `hookwork/delivery`: the durable outbox on its own: the service, the
// stores, the retry policy and circuit breaker, the cluster bus between
// nodes, and the types a custom store or target implements
// (docs/delivery.md). Re-exports only.

export { DeliveryService } from '../delivery/service.js';
export type { DeliveryServiceOptions, ReplayOptions, TargetDisabledCause, TargetReport } from '../delivery/service.js';
export { openStore, sqlitePath } from '../delivery/open-store.js';
export { MemoryStore } from '../delivery/memory-store.js';
export type { MemoryStoreOptions } from '../delivery/memory-store.js';
export { RetryPolicy } from '../delivery/retry-policy.js';
export { CircuitBreaker } from '../delivery/circuit-breaker.js';
export { parseSince } from '../delivery/parse-time.js';
export type { DeliveryDetail, DeliveryStore, ListFilter, ReplayableState, TargetDepth } from '../delivery/store.js';
export type {
  AttemptContext,
  AttemptRecord,
  AttemptResult,
  BreakerSettings,
  DeliveryControls,
  DeliveryQueue,
  DeliveryRecord,
  DeliveryState,
  DeliveryTarget,
  NewDelivery,
  RateLimit,
} from '../delivery/types.js';
export type { TargetHealth, TargetHealthStore } from '../delivery/target-health.js';
export { CLUSTER_TOPICS, LocalClusterBus } from '../cluster/bus.js';
export type { ClusterBus, ClusterListener, ClusterMessage } from '../cluster/bus.js';
export type { ClusterControl } from '../cluster/control.js';
