// installDelivery(runtime): opens the store named by `store.url`, starts the
// dispatcher, and exposes `runtime.services.delivery` (the queue targets
// enqueue into) and `runtime.services.cluster` (the control-message bus).
// Shutdown is graceful: dispatch stops with the host (before targets close
// their clients), the store closes last.

import { ENGINE_EVENTS } from '../events/engine-events.js';
import { emitEngineEvent } from '../host.js';
import { failedEventRecord } from '../handlers/router.js';
import type { Installer, Runtime } from './types.js';
import { LocalClusterBus, type ClusterBus } from '../cluster/bus.js';
import { openStore } from '../delivery/open-store.js';
import { DeliveryService } from '../delivery/service.js';

declare module './types.js' {
  interface RuntimeServices {
    delivery: DeliveryService;
    cluster: ClusterBus;
  }
}

async function installDelivery(runtime: Runtime): Promise<void> {
  const { host, logger } = runtime;
  const log = logger.child({ component: 'delivery' });
  const store = await openStore(runtime.config.store, { dataDir: runtime.dataDir, logger: log });
  const emit = (id: string, data: Record<string, unknown>): void => emitEngineEvent(host, id, { data }, log);
  const service = new DeliveryService({
    store,
    config: runtime.config.delivery,
    nodeId: runtime.nodeId,
    logger: log,
    monitor: host.monitor,
    metrics: host.metrics,
    onFailed(delivery, attempt) {
      log.warn({ delivery: delivery.id, target: delivery.target, attempts: attempt.attempt }, 'Delivery failed for good (dead-lettered)');
      emit(ENGINE_EVENTS.deliveryFailed, {
        delivery_id: delivery.id,
        target: delivery.target,
        webhook_id: delivery.webhookId,
        attempts: attempt.attempt,
        error: attempt.error ?? delivery.lastError ?? 'failed',
        ...(attempt.httpStatus === undefined ? {} : { http_status: attempt.httpStatus }),
        ...(attempt.exitCode === undefined ? {} : { exit_code: attempt.exitCode }),
        event_id: delivery.event['id'] ?? null,
        event_uuid: delivery.event['uuid'] ?? null,
        handler: delivery.target,
        // The failed event itself, for on_failure handlers (without a granted secret).
        event: failedEventRecord(delivery.event),
      });
    },
    onTargetDisabled(target, reason, cause) {
      if (cause.cause === 'failing') {
        log.warn({ target, reason }, 'Delivery target disabled (failing without a success for endpoint_failure_disable_after); enable it with "hookwork deliveries enable"');
        emit(ENGINE_EVENTS.deliveryTargetFailingDisabled, {
          target,
          reason,
          failing_since: new Date(cause.failingSince).toISOString(),
          disable_after: cause.disableAfterMs / 1000,
        });
        return;
      }
      log.warn({ target, reason }, 'Delivery target disabled (410 Gone); enable it with "hookwork deliveries enable"');
      emit(ENGINE_EVENTS.deliveryTargetDisabled, { target, reason });
    },
  });
  try {
    await service.start();
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
  let cluster: ClusterBus;
  try {
    cluster = store.openClusterBus !== undefined ? await store.openClusterBus(runtime.nodeId) : new LocalClusterBus(runtime.nodeId, log);
  } catch (err) {
    await service.close().catch(() => undefined);
    throw err;
  }
  runtime.services.delivery = service;
  runtime.services.cluster = cluster;
  // Emits' idempotency keys live in the store: they hold across restarts, and across nodes on PostgreSQL.
  // A reservation older than the lease was abandoned by an emitter that died (an emit never takes that long).
  host.useIdempotency({ keeper: service.store, windowMs: runtime.config.delivery.idempotency_window * 1000, staleMs: runtime.config.delivery.lease * 1000 });
  host.onClose(() => service.stopDispatching());
  runtime.onClose(() => service.close());
}

export const deliveryInstaller: Installer = { name: 'delivery', install: installDelivery };
