// GET /v1/health: for load balancers and probes. Open (no token): it says
// only whether the gateway is up, which server it is, and for how long.

import type { RouteModule } from '../route-module.js';
import { healthReply } from './reply-schemas.js';

export const healthRoutes: RouteModule = (app, { runtime }) => {
  const started = performance.now();
  const schema = { summary: 'Liveness: is the gateway up (open, no token)', tags: ['meta'], response: { 200: healthReply, 503: healthReply } };
  app.get('/v1/health', { schema }, async (_request, reply) => {
    const server = { uuid: runtime.host.server.uuid, name: runtime.host.server.name };
    const uptime = Math.round(performance.now() - started) / 1000;
    if (runtime.host.closed) return reply.code(503).send({ status: 'closing', server, uptime });
    // Still 200 (the process lives: a liveness probe must not restart it for its database), but not "ok"
    // while the node refuses every event with deliveries.
    const store = runtime.services.delivery?.storeHealth();
    if (store !== undefined && !store.ok) {
      return { status: 'degraded', server, uptime, problems: [{ part: 'delivery-store', ...store }] };
    }
    return { status: 'ok', server, uptime };
  });
};
