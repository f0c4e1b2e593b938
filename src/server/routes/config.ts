// POST /v1/config/reload (superuser): reads the config files again and applies
// them without a restart, on this node and then on every other node. A config
// that is refused changes nothing and answers 400 with every problem.

import type { RouteModule } from '../route-module.js';

export const configRoutes: RouteModule = (app, { runtime, auth }) => {
  app.post('/v1/config/reload', { onRequest: auth.require('superuser') }, async (_request, reply) => {
    const control = runtime.services.control;
    const report = control === undefined ? await runtime.reload() : await control.reloadConfig();
    return reply.send({ reload: report });
  });
};
