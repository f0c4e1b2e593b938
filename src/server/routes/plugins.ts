// Plugins over the gateway: the list for every role (viewer: it shows no
// secret), run-time management for superusers, as UCS's plugins API
// (GET /v1/plugins; POST /v1/plugins/:name/load|unload|reload,
// done on this node and then on every other node of the cluster) and the
// plugins' own routes. fastify cannot remove
// routes, so one catch-all under /plugins/* dispatches to the manager's live
// route table, where plugins add and remove routes at run time. Its access is
// per plugin route, so the catch-all's onRequest hook checks it (the gateway's
// routes() lists the plugin routes with their own access).

import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { z } from 'zod';
import { RouteNotFoundError } from '../../errors.js';
import { ROLES, type Role } from '../../roles.js';
import { isPluginResponse, type PluginRequest, type PluginRouteMatch } from '../../plugins/routes.js';
import type { PluginManager } from '../../plugins/manager.js';
import type { RouteModule } from '../route-module.js';
import { zodValidatorCompiler } from '../zod-validation.js';
import { ROLE_KEY } from '../openapi.js';
import { pluginListReply, pluginReply } from './reply-schemas.js';

const nameParamsSchema = z.strictObject({ name: z.string().min(1).max(200) });

const ACTIONS = ['load', 'unload', 'reload'] as const;

function notFound(reply: FastifyReply, request: FastifyRequest, why: string): FastifyReply {
  const error = new RouteNotFoundError(request.method, request.url, why);
  return reply.code(error.statusCode).send(error.toJSON());
}

export const pluginRoutes: RouteModule = (app, { runtime, auth }) => {
  const manager = (): PluginManager | undefined => runtime.services.plugins;

  const listSchema = { summary: 'List the plugins with their state', tags: ['plugins'], response: { 200: pluginListReply } };
  app.get('/v1/plugins', { onRequest: auth.require('viewer'), schema: listSchema }, async () => ({ plugins: manager()?.list() ?? [] }));
  const method = { load: 'loadPlugin', unload: 'unloadPlugin', reload: 'reloadPlugin' } as const;

  for (const action of ACTIONS) {
    app.post<{ Params: z.output<typeof nameParamsSchema> }>(
      `/v1/plugins/:name/${action}`,
      {
        schema: { summary: `${action[0]?.toUpperCase()}${action.slice(1)} a plugin, on every node`, tags: ['plugins'], params: nameParamsSchema, response: { 200: pluginReply } },
        validatorCompiler: zodValidatorCompiler,
        onRequest: auth.require('superuser'),
      },
      async (request, reply) => {
        const control = runtime.services.control;
        if (manager() === undefined || control === undefined) return notFound(reply, request, 'plugins are not installed in this runtime.');
        return { plugin: await control[method[action]](request.params.name) };
      },
    );
  }

  const guards = new Map<Role, preHandlerAsyncHookHandler>(ROLES.map((role) => [role, auth.require(role)]));

  // The route is found and its token checked in onRequest, before fastify
  // reads or parses the body: a caller without the right token gets 401/403,
  // never a 400 or 413 about a body it may not send.
  const matched = new WeakMap<FastifyRequest, PluginRouteMatch & { path: string }>();
  const findRoute = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const table = manager()?.routes;
    const rest = (request.params as { '*'?: string })['*'] ?? '';
    const slash = rest.indexOf('/');
    const plugin = slash === -1 ? rest : rest.slice(0, slash);
    const path = slash === -1 ? '/' : rest.slice(slash);
    if (table === undefined || plugin === '') return notFound(reply, request, 'no plugin named in the path.');
    const found = table.match(plugin, request.method, path);
    if (found === 'no-plugin') return notFound(reply, request, `plugin "${plugin}" serves no routes.`);
    if (found === 'no-route') return notFound(reply, request, `plugin "${plugin}" has no such route.`);
    if (found.route.access !== 'public') {
      await (guards.get(found.route.access) as preHandlerAsyncHookHandler).call(app, request, reply);
      if (reply.sent) return reply;
    }
    matched.set(request, { ...found, path });
    return undefined;
  };

  const catchAll = {
    summary: "A plugin's own routes: /plugins/<plugin>/<path>, added and removed at run time",
    description: "Each plugin route sets its access (public, viewer, operator or superuser) and its replies; GET /v1/plugins lists a plugin's routes.",
    tags: ['plugins'],
    [ROLE_KEY]: 'per-plugin-route',
  };
  app.all('/plugins/*', { onRequest: findRoute, schema: catchAll }, async (request, reply) => {
    const found = matched.get(request);
    if (found === undefined) return notFound(reply, request, 'no such route.');
    const { route, params, path } = found;
    const pluginRequest: PluginRequest = {
      method: request.method,
      path,
      params,
      query: request.query as PluginRequest['query'],
      headers: request.headers,
      body: request.body,
      ...(request.principal === undefined ? {} : { principal: request.principal }),
    };
    const result = await route.handler(pluginRequest);
    if (isPluginResponse(result)) return reply.code(result.status).headers(result.headers).send(result.body);
    if (result === undefined) return reply.code(204).send();
    return reply.send(result);
  });
};
