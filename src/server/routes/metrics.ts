// GET /metrics: the runtime's Prometheus metrics in the text format. It needs
// a viewer token, or none with `metrics.public: true`. With `metrics.listen`
// it is served on that listener instead (server/metrics-listener.ts) and not
// here, so the metrics stay off the gateway's own port.

import type { RouteModule } from '../route-module.js';

export const metricsRoutes: RouteModule = (app, { runtime, auth }) => {
  const metrics = runtime.metrics;
  const section = runtime.config.metrics;
  if (metrics === undefined || section.listen !== undefined) return;
  app.get('/metrics', section.public ? {} : { onRequest: auth.require('viewer') }, async (_request, reply) => {
    const text = await metrics.scrape();
    return reply.type(metrics.contentType).send(text);
  });
};
