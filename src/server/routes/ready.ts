// GET /v1/ready: the readiness probe. 200 only when every part this node
// needs to serve answers: the delivery store (a real round trip), the webhook
// sender thread, the extension pool, and every active plugin running; 503
// naming the failing parts otherwise. Open like /v1/health (a probe has no
// token); it shows part names and reasons, never a URL's credentials.
// /v1/health stays the liveness probe: a node whose database is down is not
// ready, but restarting it would not help.

import { stripUrlCredentials } from '../../delivery/redact-url.js';
import { toError } from '../../errors.js';
import { withTimeout } from '../../hooks/gate.js';
import { SenderThread } from '../../http/sender-thread.js';
import type { Runtime } from '../../runtime/types.js';
import type { RouteModule } from '../route-module.js';

/** How long the store may take to answer the probe's query. */
const STORE_PROBE_MS = 2000;

export interface ReadinessPart {
  readonly part: string;
  readonly ok: boolean;
  readonly reason?: string;
}

export async function readiness(runtime: Runtime): Promise<ReadinessPart[]> {
  const parts: ReadinessPart[] = [];
  if (runtime.host.closed) parts.push({ part: 'host', ok: false, reason: 'the node is shutting down' });
  const delivery = runtime.services.delivery;
  if (delivery !== undefined) parts.push(await storePart(delivery.store));
  const http = runtime.services.targets?.http;
  if (http instanceof SenderThread) {
    parts.push(http.closed ? { part: 'sender-thread', ok: false, reason: 'the webhook sender thread is stopped' } : { part: 'sender-thread', ok: true });
  }
  const extensions = runtime.services.extensions;
  if (extensions !== undefined) {
    parts.push(extensions.pool.closed ? { part: 'extension-pool', ok: false, reason: 'the extension worker pool is closed' } : { part: 'extension-pool', ok: true });
  }
  for (const plugin of runtime.services.plugins?.list() ?? []) {
    if (!plugin.active) continue;
    if (plugin.state === 'running') parts.push({ part: `plugin:${plugin.name}`, ok: true });
    else {
      const why = plugin.lastError === undefined ? '' : `: ${plugin.lastError.code} ${plugin.lastError.message}`;
      parts.push({ part: `plugin:${plugin.name}`, ok: false, reason: `the plugin is ${plugin.state}, not running${why}` });
    }
  }
  return parts;
}

/** A cheap query through the whole path (its thread or pool included): the store answers, or why not. */
async function storePart(store: { readonly kind: string; disabledTargets(): Promise<unknown> }): Promise<ReadinessPart> {
  try {
    await withTimeout(store.disabledTargets(), STORE_PROBE_MS, `The ${store.kind} delivery store`);
    return { part: 'delivery-store', ok: true };
  } catch (err) {
    return { part: 'delivery-store', ok: false, reason: stripUrlCredentials(toError(err).message) };
  }
}

export const readyRoutes: RouteModule = (app, { runtime }) => {
  app.get('/v1/ready', async (_request, reply) => {
    const parts = await readiness(runtime);
    if (parts.every((p) => p.ok)) return { status: 'ready', parts };
    return reply.code(503).send({ status: 'not-ready', parts });
  });
};
