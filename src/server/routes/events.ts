// POST /v1/events: a server in any language emits an event. The reply (202)
// comes after the emit stages ran (handler routing, durable enqueueing), so
// "accepted" means the event will reach its targets.

import { z } from 'zod';
import type { EmitInput } from '../../events/envelope.js';
import type { RouteModule } from '../route-module.js';
import { requireJson } from '../json-only.js';
import { zodValidatorCompiler } from '../zod-validation.js';
import { emitReply } from './reply-schemas.js';

const peerSchema = z.strictObject({
  address: z.string().optional(),
  port: z.number().int().min(0).max(65535).optional(),
  protocol: z.string().optional(),
  family: z.string().optional(),
});

export const accountInputSchema = z.strictObject({
  uuid: z.string().min(1).optional(),
  name: z.string().optional(),
  email: z.string().optional(),
  emails: z.array(z.tuple([z.string(), z.string()])).optional(),
  groups: z.array(z.string()).optional(),
  role: z.string().optional(),
  token: z.string().optional(),
  peer: peerSchema.optional(),
});

export const componentInputSchema = z.strictObject({
  uuid: z.string().min(1).optional(),
  name: z.string().optional(),
  type: z.string().optional(),
});

const emitBodySchema = z.strictObject({
  id: z.custom<string | number>(
    (v) => (typeof v === 'string' && v !== '') || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0),
    { error: (issue) => (issue.input === undefined ? 'is required' : 'must be a non-empty string or an integer') },
  ).meta({ description: 'The event id: a non-empty string, or a non-negative integer', anyOf: [{ type: 'string', minLength: 1 }, { type: 'integer', minimum: 0 }] }),
  data: z.record(z.string(), z.unknown(), { error: 'must be an object' }).optional(),
  account: accountInputSchema.optional(),
  component: componentInputSchema.optional(),
  message: z.string().optional(),
});

export const eventRoutes: RouteModule = (app, { runtime, auth }) => {
  app.post<{ Body: z.output<typeof emitBodySchema> }>(
    '/v1/events',
    {
      schema: { summary: 'Emit an event', tags: ['host'], body: emitBodySchema, response: { 202: emitReply } },
      validatorCompiler: zodValidatorCompiler,
      onRequest: [auth.require('operator', { hostFacing: true }), requireJson],
    },
    async (request, reply) => {
      const { id, data, account, component, message } = request.body;
      const input: EmitInput = {};
      if (data !== undefined) input.data = data;
      if (account !== undefined) input.account = account;
      if (component !== undefined) input.component = component;
      if (message !== undefined) input.message = message;
      const event = await runtime.host.emit(String(id), input);
      return reply.code(202).send({ uuid: event.uuid, id: event.id });
    },
  );
};
