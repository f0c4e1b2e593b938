// The gateway's contract: GET /v1/openapi.json is a valid OpenAPI 3.1
// document (checked with an OpenAPI validator) generated from the routes
// served, so every route the gateway lists (gateway.routes()) is in it with
// the role it needs, and its error codes are the list in error-codes.ts,
// each with the catalogue's status and a row in docs/errors.md.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from '../../src/errors.js';
import { GATEWAY_ERROR_CODES } from '../../src/server/error-codes.js';
import { send, startGateway, type TestGateway } from './gateway-helpers.js';

type Json = Record<string, unknown>;
type Operation = Json & { responses: Record<string, Json>; security?: Json[] };

const TOKENS = { viewer: 'viewer-token-0123456789', operator: 'operator-token-0123456789' };

let g: TestGateway;
let doc: Json & { paths: Record<string, Record<string, Operation>> };
before(async () => {
  g = await startGateway(
    { auth: { tokens: Object.entries(TOKENS).map(([role, token]) => ({ name: role, role: role as 'viewer', token })) } },
    // A route another module adds (as /v1/ready or /metrics will be): documented with no edit anywhere.
    (gateway) => {
      gateway.app.get('/v1/added-later', { schema: { response: { 200: z.object({ ready: z.boolean() }) } } }, async () => ({ ready: true }));
    },
  );
  const reply = await send(g.url, 'GET', '/v1/openapi.json');
  assert.equal(reply.status, 200);
  doc = reply.body as typeof doc;
});
after(() => g.close());

/** `/v1/gates/:name` → `/v1/gates/{name}`; the plugin catch-all `/plugins/*` → `/plugins/{path}`. */
const openApiPath = (url: string): string => url.replace(/:(\w+)/g, '{$1}').replace(/\/\*$/, '/{path}');

test('GET /v1/openapi.json needs no token and is a valid OpenAPI 3.1 document', async () => {
  assert.equal(doc['openapi'], '3.1.0');
  const result = await new Validator().validate(structuredClone(doc));
  assert.deepEqual(result, { valid: true });
  // The validator does refuse a broken document (so the check above means something).
  const broken = structuredClone(doc) as Json & { paths: Json };
  (broken.paths['/v1/health'] as Json)['get'] = { responses: 'none' };
  assert.equal((await new Validator().validate(broken)).valid, false);
});

test('every route the gateway serves is in the document with its method (HEAD as its GET, plugin routes as the catch-all)', () => {
  const routes = g.gateway.routes();
  assert.ok(routes.length > 20);
  const missing: string[] = [];
  for (const route of routes) {
    if (route.plugin !== undefined) continue;
    const method = (route.method === 'HEAD' ? 'GET' : route.method).toLowerCase();
    if (method === 'query') continue; // fastify's `all` includes QUERY; OpenAPI 3.1 has no field for it.
    if (doc.paths[openApiPath(route.url)]?.[method] === undefined) missing.push(`${route.method} ${route.url}`);
  }
  assert.deepEqual(missing, []);
  assert.ok(doc.paths['/v1/added-later']?.['get'] !== undefined, 'a route added by another module is documented');
  assert.ok(doc.paths['/v1/handlers']?.['get'] !== undefined);
  assert.ok(doc.paths['/plugins/{path}']?.['post'] !== undefined);
  assert.equal(doc.paths['/plugins/{path}']?.['get']?.['x-hookwork-role'], 'per-plugin-route');
});

test("each operation names the role its route's guard needs, and the bearer scheme when it needs a token", () => {
  const schemes = (doc['components'] as { securitySchemes: Json }).securitySchemes;
  assert.deepEqual(schemes['bearerAuth'], { ...(schemes['bearerAuth'] as Json), type: 'http', scheme: 'bearer' });
  for (const route of g.gateway.routes()) {
    if (route.plugin !== undefined || route.method === 'HEAD' || route.method === 'QUERY' || route.url === '/plugins/*') continue;
    const op = doc.paths[openApiPath(route.url)]?.[route.method.toLowerCase()] as Operation;
    assert.equal(op['x-hookwork-role'], route.access, `${route.method} ${route.url}`);
    if (route.access === 'public') assert.deepEqual(op.security, [], `${route.method} ${route.url}`);
    else if (route.hostFacing) assert.deepEqual(op.security, [{}, { bearerAuth: [] }], `${route.method} ${route.url}`);
    else assert.deepEqual(op.security, [{ bearerAuth: [] }], `${route.method} ${route.url}`);
  }
  assert.equal(doc.paths['/v1/plugins']?.['get']?.['x-hookwork-role'], 'viewer');
  assert.equal(doc.paths['/v1/handlers/{name}/start']?.['post']?.['x-hookwork-role'], 'operator');
  assert.equal(doc.paths['/v1/deliveries']?.['get']?.['x-hookwork-role'], 'viewer');
  assert.equal(doc.paths['/v1/openapi.json']?.['get']?.['x-hookwork-role'], 'public');
});

test('request bodies and parameters come from the routes’ zod schemas', () => {
  const emit = doc.paths['/v1/events']?.['post'] as Operation;
  const body = ((emit['requestBody'] as Json)['content'] as Record<string, { schema: Json }>)['application/json']?.schema as Json;
  assert.deepEqual(body['required'], ['id']);
  assert.equal(body['additionalProperties'], false);
  assert.ok(Array.isArray(((body['properties'] as Json)['id'] as Json)['anyOf']));
  const list = doc.paths['/v1/deliveries']?.['get'] as Operation;
  const names = (list['parameters'] as Array<{ name: string; in: string }>).map((p) => `${p.in}:${p.name}`).sort();
  assert.deepEqual(names, ['query:before', 'query:cursor', 'query:event_id', 'query:limit', 'query:since', 'query:state', 'query:target', 'query:until']);
});

test('the main routes describe their success replies; every error reply is the shared Error schema', () => {
  const success: Array<[string, string, string]> = [
    ['/v1/health', 'get', '200'],
    ['/v1/events', 'post', '202'],
    ['/v1/gates/{name}', 'post', '200'],
    ['/v1/changes/{name}', 'post', '200'],
    ['/v1/actions/{name}/pre', 'post', '200'],
    ['/v1/actions/{name}/post', 'post', '200'],
    ['/v1/deliveries', 'get', '200'],
    ['/v1/deliveries/{id}', 'get', '200'],
    ['/v1/deliveries/depth', 'get', '200'],
    ['/v1/deliveries/targets/{name}/disable', 'post', '200'],
    ['/v1/plugins', 'get', '200'],
    ['/v1/plugins/{name}/load', 'post', '200'],
    ['/v1/handlers', 'get', '200'],
    ['/v1/config/reload', 'post', '200'],
  ];
  for (const [path, method, status] of success) {
    const response = doc.paths[path]?.[method]?.responses[status] as { content?: Record<string, { schema: Json }> } | undefined;
    assert.ok(response?.content?.['application/json']?.schema !== undefined, `${method} ${path} ${status}`);
  }
  const error = (doc['components'] as { schemas: Record<string, Json> }).schemas['Error'] as Json;
  assert.deepEqual(error['required'], ['code', 'message']);
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      for (const [status, response] of Object.entries(op.responses)) {
        // A status the route describes itself (health's 503: the health body) keeps its own schema.
        if (Number(status) < 400 || (path === '/v1/health' && status === '503')) continue;
        const schema = (response['content'] as Record<string, { schema: { allOf: Json[] } }>)['application/json']?.schema;
        assert.deepEqual(schema?.allOf[0], { $ref: '#/components/schemas/Error' }, `${method} ${path} ${status}`);
      }
    }
  }
  // Route-specific codes sit on their route.
  const codes = (path: string, method: string, status: string): unknown =>
    ((doc.paths[path]?.[method]?.responses[status]?.['content'] as Record<string, { schema: { allOf: Json[] } }>)['application/json']?.schema.allOf[1] as {
      properties: { code: { enum: string[] } };
    }).properties.code.enum;
  assert.ok((codes('/v1/events', 'post', '400') as string[]).includes('HKW_ERR_UNKNOWN_EVENT'));
  assert.ok((codes('/v1/events', 'post', '401') as string[]).includes('HKW_ERR_UNAUTHENTICATED'));
  assert.deepEqual(codes('/v1/deliveries/{id}/retry', 'post', '409'), ['HKW_ERR_DELIVERY_INFLIGHT']);
  assert.equal(doc.paths['/v1/health']?.['get']?.responses['401'], undefined, 'a public route has no 401');
  const health503 = (doc.paths['/v1/health']?.['get']?.responses['503']?.['content'] as Record<string, { schema: Json }>)['application/json']?.schema;
  assert.ok((health503?.['properties'] as Json | undefined)?.['status'] !== undefined, "health's own 503 body is kept, not replaced by Error");
});

test("the document's error codes are the gateway's list, each with the catalogue's status and a row in docs/errors.md", () => {
  const inDocument = doc['x-hookwork-errors'] as Array<{ code: string; status: number }>;
  assert.deepEqual([...new Set(inDocument.map((e) => e.code))], [...GATEWAY_ERROR_CODES]);
  assert.deepEqual(((doc['components'] as { schemas: Record<string, Json> }).schemas['ErrorCode'] as Json)['enum'], [...GATEWAY_ERROR_CODES]);
  for (const { code, status } of inDocument) assert.equal(status, ERROR_CODES[code as ErrorCode]?.status, `${code}: the catalogue's status`);
  const page = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  for (const code of GATEWAY_ERROR_CODES) assert.ok(page.includes(`| \`${code}\` |`), `docs/errors.md lists ${code}`);
});

test('a token is not needed for the document even when tokens exist, and it holds no token or config', async () => {
  const text = JSON.stringify(doc);
  for (const token of Object.values(TOKENS)) assert.ok(!text.includes(token));
  const head = await send(g.url, 'GET', '/v1/deliveries');
  assert.equal(head.status, 401);
});
