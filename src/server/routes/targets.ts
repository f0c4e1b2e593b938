// Delivery targets over the gateway: a test send (operator) runs one target
// now with a sample event, outside the queue, and answers with the attempt;
// a signing secret rotation (superuser: its reply shows a new `whsec_`
// secret, the one time it is shown) makes a webhook sign with a new secret,
// the old ones beside it for an overlap. A name no target has is a 404.

import { z } from 'zod';
import { ClosedError, SecretRotationError, TargetNotFoundError } from '../../errors.js';
import { DEFAULT_OVERLAP_MS } from '../../runtime/secret-rotation.js';
import type { OutboundTarget } from '../../handlers/target.js';
import type { TargetsService } from '../../runtime/install-handlers.js';
import { testSend } from '../../runtime/test-send.js';
import type { RouteModule } from '../route-module.js';
import { zodValidatorCompiler } from '../zod-validation.js';
import { rotateReply, testSendReply } from './reply-schemas.js';

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

const rotateBody = z
  .strictObject({
    /** Seconds the secrets before it keep signing (default a day). */
    overlap: z.number().min(0).max(90 * 86_400).optional(),
    /** The new secret (`whsec_…` or `whsk_…`, the kind of the current one); default: a fresh one. */
    secret: z.string().min(1).optional(),
  })
  .nullish();

export const targetRoutes: RouteModule = (app, { runtime, auth }) => {
  const operator = auth.require('operator');
  const superuser = auth.require('superuser');
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

  app.post<{ Params: z.output<typeof nameParams>; Body: z.output<typeof rotateBody> }>(
    '/v1/targets/:name/secret/rotate',
    {
      onRequest: superuser,
      validatorCompiler: zodValidatorCompiler,
      schema: {
        summary: "Rotate a webhook's signing secret: the new one signs at once, the old ones beside it until the overlap ends",
        tags: ['targets'],
        params: nameParams,
        body: rotateBody,
        response: { 200: rotateReply },
      },
    },
    async (request) => {
      const rotation = service().rotation;
      if (rotation === undefined) throw new SecretRotationError(request.params.name, 'this gateway has no delivery store');
      const body = request.body ?? {};
      const result = await rotation.rotate(request.params.name, {
        overlapMs: body.overlap === undefined ? DEFAULT_OVERLAP_MS : body.overlap * 1000,
        ...(body.secret === undefined ? {} : { secret: body.secret }),
      });
      return {
        target: result.target,
        ...(result.secret === undefined ? {} : { secret: result.secret }),
        ...(result.publicKey === undefined ? {} : { public_key: result.publicKey }),
        previous_until: new Date(result.previousUntil).toISOString(),
      };
    },
  );
};
