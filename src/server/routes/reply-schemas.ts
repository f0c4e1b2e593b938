// The shapes of the gateway's success replies, as zod schemas: routes give
// them as `schema.response` so the OpenAPI document (server/openapi.ts)
// describes what each route answers. They document and never filter: the
// gateway's serializer sends what the handler returned. Loose objects, so a
// field added to a reply later does not make the document wrong.

import { z } from 'zod';

const ms = z.number().int().describe('milliseconds since the epoch');

export const serverSchema = z.looseObject({ uuid: z.string(), name: z.string() });

export const healthReply = z.looseObject({
  status: z.enum(['ok', 'degraded', 'closing']),
  server: serverSchema,
  uptime: z.number().describe('seconds since the gateway started'),
  problems: z.array(z.looseObject({ part: z.string(), ok: z.boolean() })).optional(),
});

export const emitReply = z.looseObject({ uuid: z.string(), id: z.string() });

export const verdictReply = z.looseObject({
  verdict: z.enum(['allow', 'deny', 'handled']),
  reason: z.string().optional(),
  by: z.string().optional(),
});

export const changeReply = z.union([
  z.looseObject({ blocked: z.literal(false), value: z.unknown() }),
  z.looseObject({ blocked: z.literal(true), reason: z.string(), by: z.string().optional() }),
]);

export const actionPreReply = z.looseObject({
  verdict: z.enum(['allow', 'handled']),
  reason: z.string().optional(),
  by: z.string().optional(),
});

export const actionPostReply = z.looseObject({ ok: z.literal(true), event: z.looseObject({ id: z.string(), uuid: z.string() }) });

export const callbackReply = z.looseObject({ ok: z.literal(true), target: z.string(), error: z.string().optional() });

export const reloadReply = z.looseObject({
  reload: z.looseObject({ applied: z.array(z.string()), changed: z.array(z.string()), restartNeeded: z.array(z.string()) }),
});

const configProblem = z.looseObject({ key: z.string().describe('dotted key in the file'), message: z.string(), file: z.string().optional() });
export const configReply = z.looseObject({
  config: z.record(z.string(), z.unknown()).describe('the effective config, every secret as "[redacted]"'),
  sources: z.record(
    z.string(),
    z.looseObject({ file: z.string().nullable(), key: z.string().nullable(), env: z.string().nullable(), default: z.boolean() }),
  ).describe('dotted key -> where its value came from'),
  text: z.string().nullable().describe("the config file's text, secrets redacted (null: not one file)"),
  format: z.enum(['yaml', 'json', 'ini']).nullable(),
});
export const configValidateReply = z.looseObject({ valid: z.boolean(), problems: z.array(configProblem) });
export const configApplyReply = z.looseObject({ applied: z.literal(true), file: z.string(), backup: z.string(), reload: reloadReply.shape.reload });

export const deliverySchema = z.looseObject({
  id: z.string(),
  target: z.string(),
  event: z.record(z.string(), z.unknown()).describe('the event as the target gets it (a granted account.token redacted)'),
  webhookId: z.string(),
  attempts: z.number().int(),
  state: z.enum(['pending', 'inflight', 'done', 'failed']),
  dueAt: ms,
  createdAt: ms,
  updatedAt: ms,
  lastError: z.string().optional(),
});

export const attemptSchema = z.looseObject({
  deliveryId: z.string(),
  attempt: z.number().int(),
  startedAt: ms,
  durationMs: z.number(),
  ok: z.boolean(),
  httpStatus: z.number().int().optional(),
  exitCode: z.number().int().optional(),
  response: z.string().optional(),
  error: z.string().nullable().optional(),
  started_at: z.string().describe('ISO 8601').optional(),
  duration_ms: z.number().optional(),
  http_status: z.number().int().nullable().optional(),
  request_headers: z.record(z.string(), z.string()).nullable().optional().describe('as sent; secrets replaced by "[redacted]"'),
  request_body: z.string().nullable().optional().describe('as sent, first 64 KiB; null when request_body_is_event'),
  request_body_is_event: z.boolean().optional().describe("the body sent was the delivery's stored event"),
  response_headers: z.record(z.string(), z.string()).nullable().optional(),
  response_body: z.string().nullable().optional().describe('first 4 KiB'),
});

export const targetDepthSchema = z.looseObject({
  target: z.string(),
  pending: z.number().int(),
  inflight: z.number().int(),
  failed: z.number().int(),
  done: z.number().int(),
  oldestDueAt: ms.optional(),
  disabled: z.looseObject({ at: ms, reason: z.string() }).optional(),
  circuit: z.looseObject({ state: z.string(), consecutiveFailures: z.number().int(), running: z.number().int(), limit: z.number() }).optional(),
});

export const deliveryListReply = z.looseObject({
  deliveries: z.array(deliverySchema),
  next_cursor: z.string().nullable().describe('pass as `cursor` for the next page; null on the last page'),
});
export const countsReply = z.looseObject({ pending: z.number().int(), inflight: z.number().int(), done: z.number().int(), failed: z.number().int() });
export const deliveryDetailReply = z.looseObject({ delivery: deliverySchema, attempts: z.array(attemptSchema) });
export const deliveryReply = z.looseObject({ delivery: deliverySchema });
export const depthReply = z.looseObject({ targets: z.array(targetDepthSchema) });
export const replayReply = z.looseObject({
  target: z.string(),
  since: z.string().describe('ISO 8601'),
  until: z.string().describe('ISO 8601').optional(),
  started_at: z.string().describe('ISO 8601: pass as `changed_since` to GET /v1/deliveries/counts for its progress'),
  replayed: z.number().int(),
  total: z.number().int(),
  skipped: z.number().int(),
});
export const targetsReply = z.looseObject({
  targets: z.array(
    z.looseObject({
      name: z.string(),
      kind: z.string().describe('webhook, command, email, … (unknown: not registered on this node)'),
      url: z.string().optional().describe('credentials and query values redacted'),
      pending: z.number().int(),
      inflight: z.number().int(),
      failed: z.number().int(),
      done: z.number().int(),
      oldest_pending_at: z.string().nullable(),
      circuit: z.string().describe('closed, open or half-open, as this node sees it'),
      disabled: z.boolean(),
      disabled_reason: z.string().optional(),
      last_attempts: z.array(attemptSchema).describe('up to 5, newest first'),
    }),
  ),
});
export const enableReply = z.looseObject({ target: z.string(), was_disabled: z.boolean() });
export const disableReply = z.looseObject({ target: z.string(), disabled: z.literal(true) });

export const pluginSchema = z.looseObject({
  name: z.string(),
  version: z.string().optional(),
  description: z.string().optional(),
  file: z.string().optional(),
  state: z.enum(['discovered', 'loading', 'running', 'stopping', 'stopped', 'failed']),
  active: z.boolean(),
  needs: z.array(z.string()),
  loadedAt: z.string().optional(),
  registrations: z.record(z.string(), z.number()),
  routes: z.array(z.looseObject({ method: z.string(), path: z.string(), access: z.string() })),
  lastError: z.looseObject({ code: z.string(), message: z.string(), stack: z.string() }).optional(),
  leftoverHandles: z.number().int(),
});
export const pluginListReply = z.looseObject({ plugins: z.array(pluginSchema) });
export const pluginReply = z.looseObject({ plugin: pluginSchema });

export const handlerSchema = z.looseObject({
  uuid: z.string(),
  name: z.string(),
  entryPoint: z.string(),
  state: z.enum(['stopped', 'starting', 'started', 'stopping', 'failed']),
  targets: z.array(z.string()).describe('the event ids it follows, or `*`'),
  lastError: z.looseObject({ message: z.string(), stack: z.string(), at: z.string() }).optional(),
  consecutiveFailures: z.number().int(),
  inFlight: z.number().int(),
  queue_depth: z.number().int().optional().describe('events delayed, queued or running on this node'),
  counters: z.record(z.string(), z.number()),
});
export const handlerListReply = z.looseObject({ handlers: z.array(handlerSchema) });
export const handlerReply = z.looseObject({ handler: handlerSchema });
