// POST /v1/config/reload (superuser): reads the config files again and applies
// them without a restart, on this node and then on every other node. A config
// that is refused changes nothing and answers 400 with every problem.

import type { RouteModule } from '../route-module.js';
import { reloadReply } from './reply-schemas.js';

export const configRoutes: RouteModule = (app, { runtime, auth }) => {
  const schema = { summary: 'Read the config files again and apply them, on every node', tags: ['admin'], response: { 200: reloadReply } };
  app.post('/v1/config/reload', { onRequest: auth.require('superuser'), schema }, async (_request, reply) => {
    const control = runtime.services.control;
    const report = control === undefined ? await runtime.reload() : await control.reloadConfig();
    return reply.send({ reload: report });
  });
};
