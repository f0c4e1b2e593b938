// What the console's Overview and Live events pages read (viewer role):
// GET /v1/events/stream, the emitted events as Server-Sent Events
// (server/event-stream.ts), and GET /v1/stats, the last hour in intervals
// (server/stats.ts) with each target's queue and each part's health and
// readiness (the parts /v1/ready checks).

import { z } from 'zod';
import { compileExpression } from '../../events/filters.js';
import type { Runtime } from '../../runtime/types.js';
import { EventStreamHub } from '../event-stream.js';
import type { RouteModule } from '../route-module.js';
import { StatsSampler } from '../stats.js';
import { zodValidatorCompiler } from '../zod-validation.js';
import { readiness } from './ready.js';

const compiles = (value: string): boolean => {
  try {
    compileExpression(value);
    return true;
  } catch {
    return false;
  }
};

const streamQuery = z.strictObject({
  id: z.string().min(1).max(500).refine(compiles, 'is not a valid id filter (a glob, a|b, !x or m/regex/)').optional(),
  group: z.string().min(1).max(200).optional(),
  account: z.string().min(1).max(500).optional(),
  q: z.string().min(1).max(500).optional(),
});

const statsReply = z.looseObject({
  interval_ms: z.number().int(),
  series: z.array(
    z.looseObject({ at: z.string(), events: z.number().int(), deliveries_done: z.number().int(), deliveries_failed: z.number().int() }),
  ),
  targets: z.array(
    z.looseObject({
      name: z.string(),
      kind: z.string(),
      pending: z.number().int(),
      inflight: z.number().int(),
      oldest_pending_age_ms: z.number().int().nullable(),
      circuit: z.enum(['closed', 'open', 'half-open']),
      disabled: z.boolean(),
    }),
  ),
  parts: z.array(z.looseObject({ name: z.string(), healthy: z.boolean(), ready: z.boolean(), detail: z.string().optional() })),
});

async function targetsOf(runtime: Runtime, now: number): Promise<z.output<typeof statsReply>['targets']> {
  const delivery = runtime.services.delivery;
  if (delivery === undefined) return [];
  const depth = await delivery.depth();
  return depth.map((d) => ({
    name: d.target,
    kind: delivery.targetKind(d.target) ?? 'unknown',
    pending: d.pending,
    inflight: d.inflight,
    oldest_pending_age_ms: d.pending > 0 && d.oldestDueAt !== undefined ? Math.max(0, now - d.oldestDueAt) : null,
    circuit: d.circuit?.state === 'open' || d.circuit?.state === 'half-open' ? d.circuit.state : 'closed',
    disabled: d.disabled !== undefined,
  }));
}

async function partsOf(runtime: Runtime): Promise<z.output<typeof statsReply>['parts']> {
  const parts: z.output<typeof statsReply>['parts'] = [];
  const closing = runtime.host.closed;
  parts.push({ name: 'gateway', healthy: !closing, ready: !closing, ...(closing ? { detail: 'the node is shutting down' } : {}) });
  const store = runtime.services.delivery?.storeHealth();
  for (const part of await readiness(runtime)) {
    if (part.part === 'host') continue; // the gateway row says it
    // Health is liveness as /v1/health sees it: only the store has its own (what this node last saw of it).
    const healthy = part.part === 'delivery-store' && store !== undefined ? store.ok : part.ok;
    parts.push({ name: part.part, healthy, ready: part.ok, ...(part.reason === undefined ? {} : { detail: part.reason }) });
  }
  return parts;
}

export const consoleLiveRoutes: RouteModule = (app, { runtime, auth, console: settings }) => {
  const viewer = auth.require('viewer');
  const hub = new EventStreamHub(runtime.host, { queueMax: settings.streamQueue, pingMs: settings.pingMs, resumeMs: settings.resumeMs });
  const sampler = new StatsSampler(runtime.host, () => runtime.services.delivery?.outcomes, settings.statsIntervalMs);
  // Open streams would keep close() waiting: end them first.
  app.addHook('preClose', async () => hub.closeAll());
  app.addHook('onClose', async () => sampler.close());

  app.get<{ Querystring: z.output<typeof streamQuery> }>(
    '/v1/events/stream',
    {
      onRequest: viewer,
      validatorCompiler: zodValidatorCompiler,
      schema: {
        summary:
          'The emitted events, live (Server-Sent Events: `event: event` with the envelope and an `id`, `event: dropped` with a count, `event: gap` when a `Last-Event-ID` cannot be resumed, `: ping` every 15 s)',
        tags: ['console'],
        querystring: streamQuery,
        produces: ['text/event-stream'],
      },
    },
    async (request, reply) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        // Proxies (nginx) must pass each event on as it comes.
        'x-accel-buffering': 'no',
        // The socket goes with the stream: ended at close, it must not linger as keep-alive and hold close() up.
        connection: 'close',
      });
      // HEAD: the headers a stream would have, and no stream.
      if (request.method === 'HEAD') {
        res.end();
        return;
      }
      res.write(': connected\n\n');
      // A browser's EventSource reconnects with the id of the last event it read: the hub resumes that stream.
      const lastEventId = request.headers['last-event-id'];
      hub.add(res, request.query, typeof lastEventId === 'string' ? lastEventId : undefined);
    },
  );

  app.get(
    '/v1/stats',
    { onRequest: viewer, schema: { summary: "The last hour on this node, each target's queue, each part's health and readiness", tags: ['console'], response: { 200: statsReply } } },
    async () => {
      const now = Date.now();
      const [targets, parts] = await Promise.all([targetsOf(runtime, now), partsOf(runtime)]);
      return {
        interval_ms: sampler.intervalMs,
        series: sampler.series().map((p) => ({
          at: new Date(p.at).toISOString(),
          events: p.events,
          deliveries_done: p.done,
          deliveries_failed: p.failed,
        })),
        targets,
        parts,
      };
    },
  );
};
