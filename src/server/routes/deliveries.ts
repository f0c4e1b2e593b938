// The delivery admin API (operator role): list and inspect deliveries with
// their attempts, retry one, replay a target's dead letters since a time,
// queue depth per target, and enable a target disabled by a 410 (or disable
// one); a target name nobody knows is a 404.
// Deliveries are shown with a granted account.token redacted (the store keeps
// it for the target); retrying one in flight answers 409.

import { z } from 'zod';
import { parseSince } from '../../delivery/parse-time.js';
import type { DeliveryService } from '../../delivery/service.js';
import { ClosedError, TargetNotFoundError } from '../../errors.js';
import type { RouteModule } from '../route-module.js';
import { zodValidatorCompiler } from '../zod-validation.js';
import {
  deliveryDetailReply,
  deliveryListReply,
  deliveryReply,
  depthReply,
  disableReply,
  enableReply,
  replayReply,
} from './reply-schemas.js';

const listQuery = z.strictObject({
  state: z.enum(['pending', 'inflight', 'done', 'failed']).optional(),
  target: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  before: z.coerce.number().int().optional(),
});
const idParams = z.strictObject({ id: z.string().min(1).max(200) });
const nameParams = z.strictObject({ name: z.string().min(1).max(500) });
const replayBody = z.strictObject({
  target: z.string().min(1),
  /** ISO time, ms since the epoch (a number, or a string of digits only), or a duration ago (`2h`). */
  since: z.union([z.string().min(1), z.number().int().min(0).max(8.64e15)]),
  /** Also re-send deliveries that succeeded. */
  include_done: z.boolean().optional(),
});

export const deliveryRoutes: RouteModule = (app, { runtime, auth }) => {
  const service = (): DeliveryService => {
    const s = runtime.services.delivery;
    if (s === undefined) throw new ClosedError('The delivery service');
    return s;
  };
  const operator = auth.require('operator');
  const common = { validatorCompiler: zodValidatorCompiler, onRequest: operator };

  app.get<{ Querystring: z.output<typeof listQuery> }>(
    '/v1/deliveries',
    { ...common, schema: { summary: 'List deliveries, newest first', tags: ['deliveries'], querystring: listQuery, response: { 200: deliveryListReply } } },
    async (request) => ({ deliveries: await service().list(request.query) }),
  );

  const depthSchema = { summary: 'Queue depth per target', tags: ['deliveries'], response: { 200: depthReply } };
  app.get('/v1/deliveries/depth', { onRequest: operator, schema: depthSchema }, async () => ({ targets: await service().depth() }));

  app.get<{ Params: z.output<typeof idParams> }>(
    '/v1/deliveries/:id',
    { ...common, schema: { summary: 'One delivery with every attempt', tags: ['deliveries'], params: idParams, response: { 200: deliveryDetailReply } } },
    async (request) => service().get(request.params.id),
  );

  app.post<{ Params: z.output<typeof idParams> }>(
    '/v1/deliveries/:id/retry',
    { ...common, schema: { summary: 'Make a delivery pending and due now', tags: ['deliveries'], params: idParams, response: { 200: deliveryReply } } },
    async (request) => ({ delivery: await service().retry(request.params.id) }),
  );

  app.post<{ Body: z.output<typeof replayBody> }>(
    '/v1/deliveries/replay',
    { ...common, schema: { summary: "Deliver a target's dead letters since a time again", tags: ['deliveries'], body: replayBody, response: { 200: replayReply } } },
    async (request) => {
      const { target, since, include_done: includeDone } = request.body;
      const from = typeof since === 'number' ? since : parseSince(since);
      const result = await service().replay({ target, since: from, states: includeDone === true ? ['failed', 'done'] : ['failed'] });
      return { target, since: new Date(from).toISOString(), ...result };
    },
  );

  // Only a known target: disabling any name would store state for names nobody has (`__proto__`, `../../etc/passwd`).
  const knownTarget = async (name: string): Promise<DeliveryService> => {
    const s = service();
    if (!(await s.hasTarget(name))) throw new TargetNotFoundError(name);
    return s;
  };

  app.post<{ Params: z.output<typeof nameParams> }>(
    '/v1/deliveries/targets/:name/enable',
    { ...common, schema: { summary: 'Enable a disabled target', tags: ['deliveries'], params: nameParams, response: { 200: enableReply } } },
    async (request) => ({ target: request.params.name, was_disabled: await (await knownTarget(request.params.name)).enableTarget(request.params.name) }),
  );

  app.post<{ Params: z.output<typeof nameParams> }>(
    '/v1/deliveries/targets/:name/disable',
    { ...common, schema: { summary: 'Disable a target (its deliveries wait)', tags: ['deliveries'], params: nameParams, response: { 200: disableReply } } },
    async (request) => {
      await (await knownTarget(request.params.name)).disableTarget(request.params.name, `disabled by ${request.principal?.name ?? 'an operator'}`);
      return { target: request.params.name, disabled: true };
    },
  );
};
