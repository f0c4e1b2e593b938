// The gateway's contract as an OpenAPI 3.1 document, generated from the
// routes themselves: @fastify/swagger collects every route as it is
// registered (so routes added by any module, now or later, are in it), the
// zod schemas the routes validate with become JSON Schemas through
// fastify-type-provider-zod's transform, the role each route needs is read
// from its `auth.require(...)` guard, and the error responses come from the
// one list in error-codes.ts. Validation stays ours (zodValidatorCompiler);
// response schemas document replies and never change them (serializer below).

import { readFileSync } from 'node:fs';
import fastifySwagger, { type SwaggerTransform, type SwaggerTransformObject } from '@fastify/swagger';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { createJsonSchemaTransform } from 'fastify-type-provider-zod';
import { guardNeeds } from './auth.js';
import { GATEWAY_ERRORS, GATEWAY_ERROR_CODES, type GatewayErrorCode } from './error-codes.js';

/** Hookwork's version (package.json), from sources and from the build alike. */
export const HOOKWORK_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** A route sets this in its schema when its access is not one guard's (the plugin catch-all). */
export const ROLE_KEY = 'x-hookwork-role';
const HOST_FACING_KEY = 'x-hookwork-host-facing';
// Carried from the per-route transform to the whole-document pass, then removed.
const FACTS_KEY = 'x-hookwork-facts';

interface RouteFacts {
  /** `POST /v1/events`: the key error-codes.ts uses. */
  readonly key: string;
  readonly guarded: boolean;
  readonly hostFacing: boolean;
  readonly validated: boolean;
  readonly jsonBody: boolean;
}

type Json = Record<string, unknown>;

const zodTransform = createJsonSchemaTransform({
  skipList: [],
  // z.custom() (the event id) has no JSON Schema of its own: its `.meta()` describes it.
  zodToJsonConfig: { unrepresentable: 'any' },
});

function hooksOf(route: RouteOptions): unknown[] {
  const hooks = route.onRequest;
  return hooks === undefined ? [] : Array.isArray(hooks) ? hooks : [hooks];
}

function securityFor(role: string, hostFacing: boolean): Json[] {
  if (role === 'public') return [];
  // `{}` makes the token optional: host-facing routes are open until tokens exist; a plugin route decides its own.
  return hostFacing || role === 'per-plugin-route' ? [{}, { bearerAuth: [] }] : [{ bearerAuth: [] }];
}

const transform: SwaggerTransform = (input) => {
  const route = input.route as RouteOptions;
  const out = zodTransform(input) as { schema: Json; url: string };
  const schema: Json = { ...out.schema };
  const needs = hooksOf(route)
    .map(guardNeeds)
    .find((n) => n !== undefined);
  const role = (schema[ROLE_KEY] as string | undefined) ?? needs?.role ?? 'public';
  const hostFacing = needs?.hostFacing ?? false;
  schema[ROLE_KEY] = role;
  if (hostFacing) schema[HOST_FACING_KEY] = true;
  schema['security'] = securityFor(role, hostFacing);
  const method = Array.isArray(route.method) ? (route.method[0] as string) : route.method;
  const facts: RouteFacts = {
    key: `${method} ${route.url}`,
    guarded: needs !== undefined || role === 'per-plugin-route',
    hostFacing,
    validated: schema['body'] !== undefined || schema['params'] !== undefined || schema['querystring'] !== undefined,
    jsonBody: schema['body'] !== undefined,
  };
  schema[FACTS_KEY] = facts;
  // A wildcard (`/plugins/*`) is a path parameter in OpenAPI: `/plugins/{path}`.
  return { schema, url: out.url.replace(/\/\*$/, '/{path}') };
};

function applies(error: GatewayErrorCode, facts: RouteFacts): boolean {
  switch (error.on) {
    case 'connection':
      return false;
    case 'every':
      return true;
    case 'guarded':
      return facts.guarded;
    case 'validated':
      return facts.validated;
    case 'json-body':
      return facts.jsonBody;
    case 'host-facing':
      return facts.hostFacing && facts.jsonBody;
    default:
      return (error.on as readonly string[]).includes(facts.key);
  }
}

/** One response per status: the codes the operation can answer with it, each with when. */
function errorResponses(facts: RouteFacts): Record<string, Json> {
  const byStatus = new Map<number, GatewayErrorCode[]>();
  for (const error of GATEWAY_ERRORS) {
    if (!applies(error, facts)) continue;
    byStatus.set(error.status, [...(byStatus.get(error.status) ?? []), error]);
  }
  const responses: Record<string, Json> = {};
  for (const [status, errors] of [...byStatus].sort(([a], [b]) => a - b)) {
    responses[String(status)] = {
      description: errors.map((e) => `\`${e.code}\`: ${e.when}`).join('; '),
      content: {
        'application/json': {
          schema: { allOf: [{ $ref: '#/components/schemas/Error' }, { properties: { code: { enum: errors.map((e) => e.code) } } }] },
        },
      },
    };
  }
  return responses;
}

const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

/** A success reply swagger left undescribed gets a description from its status. */
function describeSuccess(responses: Record<string, Json>): void {
  for (const [status, response] of Object.entries(responses)) {
    if (response['description'] === 'Default Response') response['description'] = status === '202' ? 'Accepted' : 'OK';
  }
}

const transformObject: SwaggerTransformObject = (documentObject) => {
  const document = (documentObject as { openapiObject: Json }).openapiObject;
  const paths = (document['paths'] ?? {}) as Record<string, Record<string, Json>>;
  for (const item of Object.values(paths)) {
    for (const [method, operation] of Object.entries(item)) {
      // fastify's `all` includes methods OpenAPI 3.1 has no field for (QUERY).
      if (!METHODS.has(method)) {
        delete item[method];
        continue;
      }
      const facts = operation[FACTS_KEY] as RouteFacts | undefined;
      delete operation[FACTS_KEY];
      if (facts === undefined) continue;
      describeSuccess(operation['responses'] as Record<string, Json>);
      // A status the route describes itself (health's 503 body) keeps its own schema.
      operation['responses'] = { ...errorResponses(facts), ...(operation['responses'] as Json) };
    }
  }
  const components = (document['components'] ?? {}) as Json;
  document['components'] = {
    ...components,
    schemas: { ...(components['schemas'] as Json | undefined), ...ERROR_SCHEMAS },
  };
  // Every code the gateway can answer with, with its status and when (the list in error-codes.ts).
  document['x-hookwork-errors'] = GATEWAY_ERRORS.map(({ status, code, when }) => ({ status, code, when }));
  return document as never;
};

const SECURITY_SCHEMES = {
  bearerAuth: {
    type: 'http' as const,
    scheme: 'bearer',
    description: "A token from the config's auth.tokens; each operation's x-hookwork-role names the role it needs (viewer < operator < superuser).",
  },
};

const ERROR_SCHEMAS: Json = {
  ErrorCode: { type: 'string', enum: GATEWAY_ERROR_CODES },
  Error: {
    type: 'object',
    description: 'Every error reply. Plugin routes may answer codes of their own.',
    required: ['code', 'message'],
    properties: {
      code: { type: 'string', description: 'A stable code; see ErrorCode and x-hookwork-errors.' },
      message: { type: 'string', description: 'What was wrong, where, and how to fix it.' },
      fields: { type: 'object', additionalProperties: { type: 'string' }, description: 'HKW_ERR_INVALID_INPUT: each bad field and its problem.' },
      problems: {
        type: 'array',
        description: 'HKW_ERR_CONFIG_INVALID: every problem of the refused config.',
        items: { type: 'object', required: ['key', 'message'], properties: { file: { type: 'string' }, key: { type: 'string' }, message: { type: 'string' } } },
      },
    },
  },
};

/**
 * Collects the routes registered after it into the OpenAPI document that
 * `app.swagger()` returns. Must be registered before any route.
 */
export async function useOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Hookwork gateway',
        version: HOOKWORK_VERSION,
        description:
          'Hookwork over HTTP: emit events, ask gates and change points, run SFTPGo-style actions, operate the delivery queue, plugins and extension handlers. Every error is `{code, message}` (see the Error schema and x-hookwork-errors).',
      },
      components: { securitySchemes: SECURITY_SCHEMES },
    },
    // HEAD routes answer as their GET does; fastify adds them by itself.
    exposeHeadRoutes: false,
    transform,
    transformObject,
  });
  // Response schemas document the replies; the replies stay exactly what the handlers send.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
}

/** The document (after `app.ready()`). */
export function openApiDocument(app: FastifyInstance): Json {
  return app.swagger() as unknown as Json;
}
