// The gateway: Hookwork over HTTP for servers in any language. Each concern's
// routes live in server/routes/<concern>.ts and are listed below; this file
// only builds the fastify instance, error mapping and auth.

import fastify, { type FastifyInstance } from 'fastify';
import { DeliveryStoreError, HookworkError } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { TokenAuth } from './auth.js';
import { actionRoutes } from './routes/actions.js';
import { callbackRoutes } from './routes/callbacks.js';
import { changeRoutes } from './routes/changes.js';
import { configRoutes } from './routes/config.js';
import { deliveryRoutes } from './routes/deliveries.js';
import { eventRoutes } from './routes/events.js';
import { gateRoutes } from './routes/gates.js';
import { healthRoutes } from './routes/health.js';
import { pluginRoutes } from './routes/plugins.js';

export interface RouteContext {
  readonly runtime: Runtime;
  readonly auth: TokenAuth;
}

/** One concern's routes. */
export type RouteModule = (app: FastifyInstance, context: RouteContext) => void | Promise<void>;

// Each concern adds its route module here.
const ROUTE_MODULES: readonly RouteModule[] = [
  healthRoutes,
  eventRoutes,
  gateRoutes,
  changeRoutes,
  pluginRoutes,
  configRoutes,
  deliveryRoutes,
  actionRoutes,
  callbackRoutes,
];

export interface GatewayOptions {
  /** Overrides config.server.port (0 picks a free port). */
  port?: number;
  host?: string;
}

export interface Gateway {
  readonly app: FastifyInstance;
  readonly runtime: Runtime;
  /** The base URL once listening, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  listen(): Promise<string>;
  close(): Promise<void>;
}

export async function createGateway(runtime: Runtime, options: GatewayOptions = {}): Promise<Gateway> {
  const auth = new TokenAuth(runtime.config.auth);
  const app = fastify({
    logger: false,
    bodyLimit: runtime.config.server.body_limit,
    // Lets the gateway close promptly even with idle keep-alive clients.
    forceCloseConnections: 'idle',
  });

  app.setErrorHandler((raw, request, reply) => {
    const error = raw as Error & { statusCode?: number; code?: string };
    if (error instanceof HookworkError) {
      // The store is unavailable for now (restarting, disk full): tell the caller when to try again.
      if (error instanceof DeliveryStoreError) void reply.header('retry-after', String(error.retryAfter));
      void reply.code(error.statusCode).send(error.toJSON());
      return;
    }
    const status = error.statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      // fastify's own client errors: bad JSON, body too large (413), bad content type.
      void reply.code(status).send({ code: error.code ?? 'HKW_ERR_BAD_REQUEST', message: error.message });
      return;
    }
    runtime.logger.error({ err: error, url: request.url }, 'Gateway request failed');
    void reply.code(500).send({ code: 'HKW_ERR_INTERNAL', message: 'Internal error; see the gateway log.' });
  });

  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ code: 'HKW_ERR_NOT_FOUND', message: `No route ${request.method} ${request.url}.` });
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

  const context: RouteContext = { runtime, auth };
  for (const register of ROUTE_MODULES) await register(app, context);

  let url = '';
  const gateway: Gateway = {
    app,
    runtime,
    get url() {
      return url;
    },
    async listen() {
      url = await app.listen({
        port: options.port ?? runtime.config.server.port,
        host: options.host ?? runtime.config.server.host,
      });
      return url;
    },
    async close() {
      await app.close();
    },
  };
  return gateway;
}
