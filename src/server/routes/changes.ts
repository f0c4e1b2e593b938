// POST /v1/changes/:name: asks the hooks of a change point about changing
// `old` to `value`. A block is an answer, not a failure, so both outcomes are
// 200: `{blocked: false, value}` or `{blocked: true, reason, by}`. Only a
// change point nobody declared is a 404.

import { z } from 'zod';
import type { RouteModule } from '../route-module.js';
import { requireJson } from '../json-only.js';
import { zodValidatorCompiler } from '../zod-validation.js';
import { pointParamsSchema } from './params.js';
import { changeReply } from './reply-schemas.js';

const changeBodySchema = z.strictObject({
  old: z.unknown().optional(),
  // z.unknown() accepts undefined; a change needs a value (null is a value).
  value: z.unknown().refine((v) => v !== undefined, { message: 'is required' }),
});

export const changeRoutes: RouteModule = (app, { runtime, auth }) => {
  app.post<{ Params: z.output<typeof pointParamsSchema>; Body: z.output<typeof changeBodySchema> }>(
    '/v1/changes/:name',
    {
      schema: { summary: 'Ask the hooks of a change point', tags: ['host'], params: pointParamsSchema, body: changeBodySchema, response: { 200: changeReply } },
      validatorCompiler: zodValidatorCompiler,
      onRequest: [auth.require('operator', { hostFacing: true }), requireJson],
    },
    async (request) => {
      const outcome = await runtime.host.change(request.params.name, request.body.old, request.body.value);
      return outcome.blocked
        ? { blocked: true, reason: outcome.reason, by: outcome.by }
        : { blocked: false, value: outcome.value ?? null };
    },
  );
};
