// POST /v1/events: a server in any language emits an event. The reply (202)
// comes after the emit stages ran (handler routing, durable enqueueing), so
// "accepted" means the event will reach its targets. An Idempotency-Key (or
// the body's event_id) makes a retried request answer what the first one
// did. POST /v1/events/batch emits up to 1,000 at once, with a result each.

import { z } from 'zod';
import type { EmitInput, HookworkEvent } from '../../events/envelope.js';
import { newEventUuid } from '../../events/event-uuid.js';
import { InvalidInputError } from '../../errors.js';
import { IDEMPOTENCY_KEY_MAX, type Host } from '../../host.js';
import { errorReply } from '../error-reply.js';
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

/** An event id as a body gives it: a non-empty string, or a non-negative integer. */
function validId(v: unknown): boolean {
  return (typeof v === 'string' && v !== '') || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0);
}

const emitShape = {
  id: z.custom<string | number>(validId,
    { error: (issue) => (issue.input === undefined ? 'is required' : 'must be a non-empty string or an integer') },
  ).meta({ description: 'The event id: a non-empty string, or a non-negative integer', anyOf: [{ type: 'string', minLength: 1 }, { type: 'integer', minimum: 0 }] }),
  data: z.record(z.string(), z.unknown(), { error: 'must be an object' }).optional(),
  account: accountInputSchema.optional(),
  component: componentInputSchema.optional(),
  message: z.string().optional(),
};

const idempotencyKeySchema = z.string().min(1).max(IDEMPOTENCY_KEY_MAX);

const emitBodySchema = z.strictObject({
  ...emitShape,
  /** The client's id of this event: its idempotency key when no Idempotency-Key header is sent. */
  event_id: idempotencyKeySchema.optional(),
});

/** One event of a batch: an emit body, with its own idempotency key if it wants one. */
export const batchItemSchema = z.strictObject({
  ...emitShape,
  event_id: idempotencyKeySchema.optional(),
  idempotency_key: idempotencyKeySchema.optional(),
});

export const BATCH_MAX = 1000;

const batchBodySchema = z.strictObject({
  events: z.array(z.unknown()).min(1).max(BATCH_MAX, { error: `at most ${BATCH_MAX} events per batch` }),
  /** True: one bad event refuses the whole batch and nothing is emitted. */
  atomic: z.boolean().optional(),
});

export type EmitBody = z.output<typeof batchItemSchema>;

function inputOf(body: EmitBody): EmitInput {
  const input: EmitInput = {};
  if (body.data !== undefined) input.data = body.data;
  if (body.account !== undefined) input.account = body.account;
  if (body.component !== undefined) input.component = body.component;
  if (body.message !== undefined) input.message = body.message;
  return input;
}

/** The Idempotency-Key header (one, non-empty, at most 255 characters), else undefined. */
function headerKey(raw: string | string[] | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const parsed = idempotencyKeySchema.safeParse(raw);
  if (!parsed.success) {
    throw new InvalidInputError({ 'Idempotency-Key': `must be one header of 1 to ${IDEMPOTENCY_KEY_MAX} characters` });
  }
  return parsed.data;
}

/**
 * A batch item as batchItemSchema parses it, checked here when it is a plain
 * one (only id, data, message, event_id and idempotency_key, each valid): zod
 * copies every item it parses, and a batch keeps a thousand of them alive
 * until its commit. Undefined for anything else (account, component, an
 * unknown key, a bad value), which zod parses, so its errors stay zod's.
 */
export function plainItem(raw: unknown): EmitBody | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const item = raw as Record<string, unknown>;
  let hasId = false;
  for (const key in item) {
    const value = item[key];
    switch (key) {
      case 'id':
        if (!validId(value)) return undefined;
        hasId = true;
        break;
      case 'data':
        // zod's record drops an own "__proto__" member: such data goes through zod.
        if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.hasOwn(value, '__proto__')) return undefined;
        break;
      case 'message':
        if (typeof value !== 'string') return undefined;
        break;
      case 'event_id':
      case 'idempotency_key':
        if (typeof value !== 'string' || value === '' || value.length > IDEMPOTENCY_KEY_MAX) return undefined;
        break;
      default:
        return undefined;
    }
  }
  return hasId ? (item as EmitBody) : undefined;
}

/** A batch being emitted: its results, and what resolves once no emit is left. */
interface BatchRun {
  readonly host: Host;
  readonly results: BatchItemResult[];
  left: number;
  /** Whether an event emitted without a key failed (which one is found once all are settled). */
  failed: boolean;
  done: () => void;
  /** An emit settled: shared by every event of the batch, no closure per event. */
  readonly settled: () => void;
  readonly failedOne: () => void;
}

function batchRun(host: Host, results: BatchItemResult[]): BatchRun {
  const run: BatchRun = {
    host,
    results,
    left: 1,
    failed: false,
    done: () => undefined,
    settled: () => {
      if (--run.left === 0) run.done();
    },
    failedOne: () => {
      run.failed = true;
      run.settled();
    },
  };
  return run;
}

/** Emits a batch's keyed event `index` and writes its result (an earlier emit's when replayed). */
async function emitKeyed(run: BatchRun, body: EmitBody, index: number, key: string): Promise<void> {
  try {
    const { event, replayed } = await run.host.emitIdempotent(String(body.id), inputOf(body), key);
    run.results[index] = replayed ? { index, uuid: event.uuid, id: event.id, replayed: true } : { index, uuid: event.uuid, id: event.id };
  } catch (err) {
    run.results[index] = { index, error: itemError(err) };
  } finally {
    run.settled();
  }
}

/** Emits one event, under its idempotency key when it has one. */
async function emitOne(host: Host, body: EmitBody, key: string | undefined): Promise<{ event: HookworkEvent; replayed: boolean }> {
  const input = inputOf(body);
  if (key === undefined) return { event: await host.emit(String(body.id), input), replayed: false };
  return host.emitIdempotent(String(body.id), input, key);
}

/** A batch item's error, as the item's result says it. */
function itemError(err: unknown): { code: string; message: string; status: number; fields?: Readonly<Record<string, string>> } {
  const { error } = errorReply(err);
  const json = error.toJSON();
  return { code: error.code, message: error.message, status: error.statusCode, ...(json['fields'] === undefined ? {} : { fields: json['fields'] as Record<string, string> }) };
}

function zodFields(error: z.ZodError): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const issue of error.issues) fields[issue.path.map(String).join('.') || '(event)'] = issue.message;
  return fields;
}

export const eventRoutes: RouteModule = (app, { runtime, auth }) => {
  app.post<{ Body: z.output<typeof emitBodySchema> }>(
    '/v1/events',
    {
      schema: { summary: 'Emit an event', tags: ['host'], body: emitBodySchema, response: { 202: emitReply } },
      validatorCompiler: zodValidatorCompiler,
      onRequest: [auth.require('operator', { hostFacing: true }), requireJson],
    },
    async (request, reply) => {
      const key = headerKey(request.headers['idempotency-key']) ?? request.body.event_id;
      const { event, replayed } = await emitOne(runtime.host, request.body, key);
      if (replayed) void reply.header('idempotent-replayed', 'true');
      return reply.code(202).send({ uuid: event.uuid, id: event.id });
    },
  );

  app.post<{ Body: z.output<typeof batchBodySchema> }>(
    '/v1/events/batch',
    {
      schema: { summary: 'Emit up to 1,000 events at once', tags: ['host'], body: batchBodySchema, response: { 200: batchReply } },
      validatorCompiler: zodValidatorCompiler,
      onRequest: [auth.require('operator', { hostFacing: true }), requireJson],
    },
    async (request, reply) => {
      const { events, atomic = false } = request.body;
      const results: BatchItemResult[] = new Array(events.length);
      const bodies: (EmitBody | undefined)[] = events.map((raw, index) => {
        const plain = plainItem(raw);
        if (plain !== undefined) return plain;
        const parsed = batchItemSchema.safeParse(raw);
        if (parsed.success) return parsed.data;
        results[index] = { index, error: itemError(new InvalidInputError(zodFields(parsed.error))) };
        return undefined;
      });
      if (atomic) {
        // Every event is checked before any is emitted: a bad one refuses the batch.
        bodies.forEach((body, index) => {
          if (body === undefined) return;
          try {
            runtime.host.check(String(body.id), inputOf(body));
          } catch (err) {
            results[index] = { index, error: itemError(err) };
          }
        });
        const refused = results.find((r) => r !== undefined);
        if (refused !== undefined) {
          return reply.code(400).send({ accepted: 0, failed: events.length, atomic: true, results: results.filter((r) => r !== undefined) });
        }
      }
      // The events' deliveries are written as one transaction (see DeliveryService.holdWrites).
      // An event without a key gets its uuid here: its result then needs
      // nothing back from its emit but that it succeeded, so an emit costs one
      // reaction on its promise with shared callbacks (an async step per event
      // kept a frame, a promise and an await alive until the batch's commit).
      const run = batchRun(runtime.host, results);
      const finished = new Promise<void>((resolve) => {
        run.done = resolve;
      });
      const uuids: (string | undefined)[] = new Array(bodies.length);
      const emits: (Promise<HookworkEvent> | undefined)[] = new Array(bodies.length);
      const release = runtime.services.delivery?.holdWrites();
      try {
        for (let index = 0; index < bodies.length; index++) {
          const body = bodies[index];
          if (body === undefined) continue;
          run.left++;
          const key = body.idempotency_key ?? body.event_id;
          if (key !== undefined) {
            void emitKeyed(run, body, index, key);
            continue;
          }
          const input = inputOf(body);
          input.uuid = uuids[index] = newEventUuid();
          const emitted = runtime.host.emit(String(body.id), input);
          emitted.then(run.settled, run.failedOne);
          emits[index] = emitted;
        }
      } finally {
        release?.();
      }
      // The one held back above: the batch resolves once every emit has (or now, if none was made).
      run.settled();
      await finished;
      for (let index = 0; index < bodies.length; index++) {
        const uuid = uuids[index];
        if (uuid === undefined) continue; // refused, or keyed: its result is written
        if (run.failed) {
          try {
            await emits[index];
          } catch (err) {
            results[index] = { index, error: itemError(err) };
            continue;
          }
        }
        results[index] = { index, uuid, id: String((bodies[index] as EmitBody).id) };
      }
      const failed = results.filter((r) => 'error' in r).length;
      return reply.code(200).send({ accepted: events.length - failed, failed, atomic, results });
    },
  );
};

type BatchItemResult =
  | { index: number; uuid: string; id: string; replayed?: true }
  | { index: number; error: ReturnType<typeof itemError> };

const batchReply = z.looseObject({
  accepted: z.number().int(),
  failed: z.number().int(),
  atomic: z.boolean(),
  results: z.array(z.looseObject({ index: z.number().int() })),
});
