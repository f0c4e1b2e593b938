// The delivery admin API: search deliveries a page at a time and inspect one
// with its attempts, queue depth and counts per state (viewer role); retry
// one, replay a target's dead letters in a time window, and enable a target
// disabled by a 410 (or disable one) (operator role); a target name nobody
// knows is a 404.
// Deliveries are shown with a granted account.token redacted (the store keeps
// it for the target); retrying one in flight answers 409.

import { z } from 'zod';
import { attemptView, decodeCursor, encodeCursor } from '../../delivery/attempt-view.js';
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
  countsReply,
  targetsReply,
  replayReply,
} from './reply-schemas.js';

/** ISO time, ms since the epoch (digits only), or a duration ago (`2h`). */
const timeParam = z.string().min(1).max(100);
const listQuery = z.strictObject({
  state: z.enum(['pending', 'inflight', 'done', 'failed']).optional(),
  target: z.string().min(1).optional(),
  /** The event's uuid. */
  event_id: z.string().min(1).max(200).optional(),
  since: timeParam.optional(),
  until: timeParam.optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  before: z.coerce.number().int().optional(),
  /** `next_cursor` of the previous page. */
  cursor: z.string().min(1).max(200).optional(),
});
const countsQuery = z.strictObject({
  target: z.string().min(1),
  since: timeParam,
  until: timeParam.optional(),
  /** Only deliveries changed at or after this time (a replay's `started_at`: what the replay touched). */
  changed_since: timeParam.optional(),
});
const idParams = z.strictObject({ id: z.string().min(1).max(200) });
const nameParams = z.strictObject({ name: z.string().min(1).max(500) });
const replayBody = z.strictObject({
  target: z.string().min(1),
  /** ISO time, ms since the epoch (a number, or a string of digits only), or a duration ago (`2h`). */
  since: z.union([z.string().min(1), z.number().int().min(0).max(8.64e15)]),
  /** Only deliveries created at or before this time (same forms as since; default: now). */
  until: z.union([z.string().min(1), z.number().int().min(0).max(8.64e15)]).optional(),
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
  const viewer = auth.require('viewer');
  const common = { validatorCompiler: zodValidatorCompiler, onRequest: operator };
  const reading = { validatorCompiler: zodValidatorCompiler, onRequest: viewer };

  app.get<{ Querystring: z.output<typeof listQuery> }>(
    '/v1/deliveries',
    {
      ...reading,
      schema: { summary: 'Search deliveries, newest first, a page at a time (keyset cursor)', tags: ['deliveries'], querystring: listQuery, response: { 200: deliveryListReply } },
    },
    async (request) => {
      const q = request.query;
      const now = Date.now();
      const limit = q.limit ?? 100;
      const page = await service().list({
        ...(q.state === undefined ? {} : { state: q.state }),
        ...(q.target === undefined ? {} : { target: q.target }),
        ...(q.event_id === undefined ? {} : { eventId: q.event_id }),
        ...(q.since === undefined ? {} : { since: parseSince(q.since, now) }),
        ...(q.until === undefined ? {} : { until: parseSince(q.until, now) }),
        ...(q.before === undefined ? {} : { before: q.before }),
        ...(q.cursor === undefined ? {} : { after: decodeCursor(q.cursor) }),
        limit,
      });
      const last = page.at(-1);
      return { deliveries: page, next_cursor: page.length === limit && last !== undefined ? encodeCursor(last) : null };
    },
  );

  const depthSchema = { summary: 'Queue depth per target', tags: ['deliveries'], response: { 200: depthReply } };
  app.get('/v1/deliveries/depth', { onRequest: viewer, schema: depthSchema }, async () => ({ targets: await service().depth() }));

  app.get<{ Querystring: z.output<typeof countsQuery> }>(
    '/v1/deliveries/counts',
    {
      ...reading,
      schema: { summary: "A target's deliveries per state in a time window (a replay's progress)", tags: ['deliveries'], querystring: countsQuery, response: { 200: countsReply } },
    },
    async (request) => {
      const q = request.query;
      const now = Date.now();
      return service().admin.counts({
        target: q.target,
        since: parseSince(q.since, now),
        ...(q.until === undefined ? {} : { until: parseSince(q.until, now) }),
        ...(q.changed_since === undefined ? {} : { changedSince: parseSince(q.changed_since, now) }),
      });
    },
  );

  app.get<{ Params: z.output<typeof idParams> }>(
    '/v1/deliveries/:id',
    {
      ...reading,
      schema: { summary: 'One delivery with every attempt (request and response as sent, secrets redacted)', tags: ['deliveries'], params: idParams, response: { 200: deliveryDetailReply } },
    },
    async (request) => {
      const detail = await service().get(request.params.id);
      return { delivery: detail.delivery, attempts: detail.attempts.map(attemptView) };
    },
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
      const { target, since, until, include_done: includeDone } = request.body;
      const now = Date.now();
      const from = typeof since === 'number' ? since : parseSince(since, now);
      const to = until === undefined ? undefined : typeof until === 'number' ? until : parseSince(until, now);
      const result = await service().replay({ target, since: from, ...(to === undefined ? {} : { until: to }), states: includeDone === true ? ['failed', 'done'] : ['failed'] });
      return {
        target,
        since: new Date(from).toISOString(),
        ...(to === undefined ? {} : { until: new Date(to).toISOString() }),
        started_at: new Date(result.startedAt).toISOString(),
        replayed: result.replayed,
        total: result.total,
        skipped: result.skipped,
      };
    },
  );

  app.get(
    '/v1/targets',
    { onRequest: viewer, schema: { summary: 'Every delivery target with depth, circuit, disabled state and last attempts', tags: ['deliveries'], response: { 200: targetsReply } } },
    async () => ({ targets: await service().admin.targets() }),
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
