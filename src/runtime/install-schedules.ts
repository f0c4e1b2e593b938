// installSchedules(runtime): runs the config's `schedules:` on the delivery
// store's tick claims and exposes `runtime.services.schedules` (what the
// gateway's /v1/schedules routes call). Stops with the host, before the
// store closes.

import { Scheduler } from '../schedules/scheduler.js';
import type { Installer, Runtime } from './types.js';

declare module './types.js' {
  interface RuntimeServices {
    schedules: Scheduler;
  }
}

async function installSchedules(runtime: Runtime): Promise<void> {
  const { host } = runtime;
  const delivery = runtime.services.delivery;
  if (delivery === undefined) return;
  const logger = runtime.logger.child({ component: 'schedules' });
  // `event:` may name the event instead of giving its id; emit() takes ids.
  const idOf = new Map(host.catalogue.list().map((entry) => [entry.name, entry.id]));
  const scheduler = new Scheduler({
    schedules: runtime.config.schedules,
    store: delivery.store,
    nodeId: runtime.nodeId,
    logger,
    clock: runtime.clock,
    emit: async (event, data) => {
      if (host.closed) return;
      await host.emit(host.catalogue.has(event) ? event : (idOf.get(event) ?? event), { data });
    },
  });
  runtime.services.schedules = scheduler;
  // Stop before the host closes: a tick emitting into a closing host would be refused.
  runtime.onShutdown(() => scheduler.close());
  await scheduler.start();
}

export const schedulesInstaller: Installer = { name: 'schedules', needs: ['delivery'], after: ['handlers', 'plugins'], install: installSchedules };
