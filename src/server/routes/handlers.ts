// Extension handlers over the gateway: list them with their state, counters,
// last error and queue depth (viewer role); start or stop one by name or
// uuid (operator role), on this node (as the
// `extensions` service does; a config reload is what changes them on every
// node). A name the config does not have is a 404.

import { z } from 'zod';
import { HandlerNotFoundError } from '../../errors.js';
import type { ExtensionsService } from '../../runtime/install-extensions.js';
import type { RouteModule } from '../route-module.js';
import { zodValidatorCompiler } from '../zod-validation.js';
import { handlerListReply, handlerReply } from './reply-schemas.js';

const nameParams = z.strictObject({ name: z.string().min(1).max(200) });

export const handlerRoutes: RouteModule = (app, { runtime, auth }) => {
  const operator = auth.require('operator');
  const known = (name: string): ExtensionsService => {
    const service = runtime.services.extensions;
    if (service === undefined || service.get(name) === undefined) {
      throw new HandlerNotFoundError(name, service?.list().map((h) => h.name) ?? []);
    }
    return service;
  };

  app.get(
    '/v1/handlers',
    { onRequest: auth.require('viewer'), schema: { summary: 'List the extension handlers', tags: ['handlers'], response: { 200: handlerListReply } } },
    // queue_depth: its events delayed, queued or running on this node (inFlight, under the console's name).
    async () => ({ handlers: (runtime.services.extensions?.list() ?? []).map((h) => ({ ...h, queue_depth: h.inFlight })) }),
  );

  for (const action of ['start', 'stop'] as const) {
    app.post<{ Params: z.output<typeof nameParams> }>(
      `/v1/handlers/:name/${action}`,
      {
        onRequest: operator,
        validatorCompiler: zodValidatorCompiler,
        schema: {
          summary: `${action === 'start' ? 'Start' : 'Stop'} an extension handler (by name or uuid) on this node`,
          tags: ['handlers'],
          params: nameParams,
          response: { 200: handlerReply },
        },
      },
      async (request) => ({ handler: await known(request.params.name)[action](request.params.name) }),
    );
  }
};
