// POST /v1/gates/:name: asks the gates of a decision point (`pre-upload`)
// whether an action may go on. The body is the gates' context (a JSON
// object). The reply is 200 with the verdict whatever it is; only a gate
// point nobody declared is a 404.

import { z } from 'zod';
import type { RouteModule } from '../route-module.js';
import { requireJson } from '../json-only.js';
import { zodValidatorCompiler } from '../zod-validation.js';
import { pointParamsSchema } from './params.js';
import { verdictReply } from './reply-schemas.js';

const contextSchema = z.record(z.string(), z.unknown(), { error: 'must be a JSON object (the gate context)' });

export const gateRoutes: RouteModule = (app, { runtime, auth }) => {
  app.post<{ Params: z.output<typeof pointParamsSchema>; Body: z.output<typeof contextSchema> }>(
    '/v1/gates/:name',
    {
      schema: { summary: 'Ask the gates of a decision point', tags: ['host'], params: pointParamsSchema, body: contextSchema, response: { 200: verdictReply } },
      validatorCompiler: zodValidatorCompiler,
      onRequest: [auth.require('operator', { hostFacing: true }), requireJson],
    },
    async (request) => {
      const decision = await runtime.host.gate(request.params.name, request.body);
      return {
        verdict: decision.verdict,
        ...(decision.reason === undefined ? {} : { reason: decision.reason }),
        ...(decision.by === undefined ? {} : { by: decision.by }),
      };
    },
  );
};
