// The gateway: Hookwork over HTTP for servers in any language. Each concern's
// routes live in server/routes/<concern>.ts and are listed below; this file
// only builds the fastify instance, error mapping and auth.

import fastify, { type FastifyInstance, type FastifyReply, type RouteOptions } from 'fastify';
import type { Role } from '../roles.js';
import { BackpressureError, DeliveryStoreError, RouteNotFoundError } from '../errors.js';
import type { Runtime } from '../runtime/types.js';
import { guardNeeds, TokenAuth } from './auth.js';
import { onClientError } from './client-errors.js';
import { errorReply } from './error-reply.js';
import { useJsonBodyParser } from './json-body.js';
import { useOpenApi } from './openapi.js';
import { observeRequests, requestIdOf } from './request-observer.js';
import type { ConsoleSettings, RouteContext, RouteModule } from './route-module.js';
import { actionRoutes } from './routes/actions.js';
import { callbackRoutes } from './routes/callbacks.js';
import { changeRoutes } from './routes/changes.js';
import { configRoutes } from './routes/config.js';
import { deliveryRoutes } from './routes/deliveries.js';
import { eventRoutes } from './routes/events.js';
import { gateRoutes } from './routes/gates.js';
import { handlerRoutes } from './routes/handlers.js';
import { healthRoutes } from './routes/health.js';
import { startMetricsListener, type MetricsListener } from './metrics-listener.js';
import { metricsRoutes } from './routes/metrics.js';
import { openApiRoutes } from './routes/openapi.js';
import { pluginRoutes } from './routes/plugins.js';
import { readyRoutes } from './routes/ready.js';
import { scheduleRoutes } from './routes/schedules.js';
import { targetRoutes } from './routes/targets.js';
import { consoleLiveRoutes } from './routes/console-live.js';
import { sessionRoutes } from './routes/session.js';
import { DEFAULT_UI_DIR, uiRoutes } from './routes/ui.js';
import { SessionStore } from './sessions.js';

// Each concern adds its route module here.
const ROUTE_MODULES: readonly RouteModule[] = [
  healthRoutes,
  openApiRoutes,
  readyRoutes,
  eventRoutes,
  gateRoutes,
  changeRoutes,
  pluginRoutes,
  handlerRoutes,
  configRoutes,
  deliveryRoutes,
  actionRoutes,
  callbackRoutes,
  metricsRoutes,
  scheduleRoutes,
  targetRoutes,
  sessionRoutes,
  uiRoutes,
  consoleLiveRoutes,
];

export interface GatewayOptions {
  /** Overrides config.server.port (0 picks a free port). */
  port?: number;
  host?: string;
  /** The console's internals; tests point at a fixture UI and shorten the timings. */
  console?: Partial<ConsoleSettings>;
}

/** One route the gateway serves, as routes() lists it. */
export interface GatewayRoute {
  readonly method: string;
  /** The fastify pattern (`/v1/gates/:name`), or a plugin route's full path (`/plugins/status/items/:id`). */
  readonly url: string;
  /** The role a token needs, or `public` (no token). */
  readonly access: Role | 'public';
  /** Open while no token is configured (or auth.protect_host_endpoints is false), then `access` applies. */
  readonly hostFacing: boolean;
  /** A route a plugin serves under /plugins/<name>/ (behind the /plugins/* catch-all). */
  readonly plugin?: string;
}

export interface Gateway {
  readonly app: FastifyInstance;
  readonly runtime: Runtime;
  /**
   * Every route served right now: the fastify routes (HEAD ones included)
   * and the plugins' live routes. Tests walk it so a new route is covered
   * without editing them.
   */
  routes(): GatewayRoute[];
  /** The base URL once listening, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  /** The base URL of the `metrics.listen` listener once listening (undefined without one). */
  readonly metricsUrl: string | undefined;
  listen(): Promise<string>;
  close(): Promise<void>;
}

export async function createGateway(runtime: Runtime, options: GatewayOptions = {}): Promise<Gateway> {
  const auth = new TokenAuth(runtime.config.auth);
  const app = fastify({
    // Access logs go through the runtime's logger (request-observer.ts), not fastify's.
    logger: false,
    requestIdHeader: false,
    genReqId: requestIdOf,
    bodyLimit: runtime.config.server.body_limit,
    // Lets the gateway close promptly even with idle keep-alive clients.
    forceCloseConnections: 'idle',
    // Requests Node's HTTP parser refuses get the same {code, message} body as every other error.
    clientErrorHandler: onClientError,
    // Router-level refusals (a path that is not valid percent-encoding, a path parameter over 100 characters) too.
    frameworkErrors: (raw, _request, reply) => {
      const { error } = errorReply(raw);
      void (reply as FastifyReply).code(error.statusCode).send(error.toJSON());
    },
  });
  useJsonBodyParser(app, runtime.config.server.json_max_depth);
  // Before any route: it collects each route as it is registered.
  await useOpenApi(app);
  observeRequests(app, runtime.logger);

  const served: GatewayRoute[] = [];
  app.addHook('onRoute', (route: RouteOptions) => {
    const hooks = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
    const needs = hooks.map(guardNeeds).find((n) => n !== undefined);
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) {
      served.push({ method, url: route.url, access: needs?.role ?? 'public', hostFacing: needs?.hostFacing ?? false });
    }
  });

  app.setErrorHandler((raw, request, reply) => {
    const { error, unexpected } = errorReply(raw);
    if (unexpected) runtime.logger.error({ err: raw, url: request.url }, 'Gateway request failed');
    // The store is unavailable for now (restarting, disk full), or the queue is full: tell the caller when to try again.
    if (error instanceof DeliveryStoreError || error instanceof BackpressureError) void reply.header('retry-after', String(error.retryAfter));
    void reply.code(error.statusCode).send(error.toJSON());
  });

  app.setNotFoundHandler((request, reply) => {
    const error = new RouteNotFoundError(request.method, request.url);
    void reply.code(error.statusCode).send(error.toJSON());
  });

  const removeReload = runtime.onReload({
    name: 'auth',
    sections: ['auth'],
    async prepare(next) {
      const fresh = new TokenAuth(next.auth);
      return { commit: () => auth.adopt(fresh) };
    },
  });
  app.addHook('onClose', async () => removeReload());

  // The console's sessions exist only with the console on; the guards then accept their cookie too.
  const ui = runtime.config.ui;
  const sessions = ui.enabled ? new SessionStore(ui.session_ttl) : undefined;
  if (sessions !== undefined) auth.useSessions(sessions);
  const consoleSettings: ConsoleSettings = {
    uiDir: options.console?.uiDir ?? DEFAULT_UI_DIR,
    pingMs: options.console?.pingMs ?? 15_000,
    streamQueue: options.console?.streamQueue ?? 256,
    resumeMs: options.console?.resumeMs ?? 30_000,
    statsIntervalMs: options.console?.statsIntervalMs ?? 10_000,
  };
  const context: RouteContext = { runtime, auth, console: consoleSettings, ...(sessions === undefined ? {} : { sessions }) };
  for (const register of ROUTE_MODULES) await register(app, context);

  let url = '';
  let metricsListener: MetricsListener | undefined;
  const gateway: Gateway = {
    app,
    runtime,
    routes() {
      const plugins = runtime.services.plugins?.routes.all() ?? [];
      return [
        ...served,
        ...plugins.map((r) => ({ method: r.method, url: r.path, access: r.access, hostFacing: false, plugin: r.plugin })),
      ];
    },
    get url() {
      return url;
    },
    get metricsUrl() {
      return metricsListener?.url;
    },
    async listen() {
      url = await app.listen({
        port: options.port ?? runtime.config.server.port,
        host: options.host ?? runtime.config.server.host,
      });
      const listen = runtime.config.metrics.listen;
      if (runtime.metrics !== undefined && listen !== undefined && metricsListener === undefined) {
        try {
          metricsListener = await startMetricsListener(runtime.metrics, listen, runtime.logger);
        } catch (err) {
          await app.close();
          throw err;
        }
      }
      return url;
    },
    async close() {
      await metricsListener?.close();
      await app.close();
    },
  };
  return gateway;
}
