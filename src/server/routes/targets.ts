// Delivery targets over the gateway: a test send (operator) runs one target
// now with a sample event, outside the queue, and answers with the attempt.
// A name no target has is a 404.

import { z } from 'zod';
import { ClosedError, TargetNotFoundError } from '../../errors.js';
import type { OutboundTarget } from '../../handlers/target.js';
import type { TargetsService } from '../../runtime/install-handlers.js';
import { testSend } from '../../runtime/test-send.js';
import type { RouteModule } from '../route-module.js';
import { zodValidatorCompiler } from '../zod-validation.js';
import { testSendReply } from './reply-schemas.js';

const nameParams = z.strictObject({ name: z.string().min(1).max(500) });
const testBody = z
  .strictObject({
    /** Event id or catalogue name; default: the first event the target's config follows. */
    event: z.string().min(1).optional(),
    /** The event's data; default: the catalogue's example data for it. */
    data: z.record(z.string(), z.unknown()).optional(),
  })
  // fastify passes a missing body as null: no body is a test with the defaults.
  .nullish();

export const targetRoutes: RouteModule = (app, { runtime, auth }) => {
  const operator = auth.require('operator');
  const service = (): TargetsService => {
    const s = runtime.services.targets;
    if (s === undefined) throw new ClosedError('The targets service');
    return s;
  };
  const target = (name: string): OutboundTarget => {
    const found = service().targets.get(name);
    if (found === undefined) throw new TargetNotFoundError(name);
    return found;
  };

  app.post<{ Params: z.output<typeof nameParams>; Body: z.output<typeof testBody> }>(
    '/v1/targets/:name/test',
    {
      onRequest: operator,
      validatorCompiler: zodValidatorCompiler,
      schema: {
        summary: 'Send a sample event through a target now, outside the queue, and return the attempt',
        tags: ['targets'],
        params: nameParams,
        body: testBody,
        response: { 200: testSendReply },
      },
    },
    async (request) => testSend(runtime.host, runtime.config, target(request.params.name), request.body ?? {}),
  );
};
