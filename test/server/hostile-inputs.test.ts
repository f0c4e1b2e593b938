// Every route the gateway serves, fed hostile input: deep nesting,
// `__proto__` bodies, invalid JSON, a wrong content type, a body over the
// limit, no token, a viewer token, odd path parameters and queries. The
// route list comes from the gateway itself (gateway.routes(): fastify's
// routes plus the plugins' live routes), so a new route is covered without
// editing this file. Each answer must be a 4xx (never a 5xx) with a JSON
// {code, message} body, and the gateway must stay healthy.

import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { request } from 'undici';
import type { GatewayRoute } from '../../src/server/gateway.js';
import { HOOKWORK_URL, tempFolder } from '../plugins/helpers.js';
import { nestedJson, startGateway } from './gateway-helpers.js';

const TOKENS = { viewer: 'viewer-token-0123456789', operator: 'operator-token-0123456789', superuser: 'superuser-token-0123456789' };
type Who = 'none' | keyof typeof TOKENS;
const RANK = { public: 0, viewer: 1, operator: 2, superuser: 3 } as const;

// A plugin with routes of every access level and method, so the table covers plugin routes too.
const PLUGIN = `
import { definePlugin, respond } from ${JSON.stringify(HOOKWORK_URL)};
export default definePlugin({
  name: 'hostile', version: '1.0.0',
  setup(ctx) {
    ctx.route('GET', '/', () => ({ ok: true }));
    ctx.route('GET', '/public', () => ({ ok: true }), { access: 'public' });
    ctx.route('POST', '/public', (req) => ({ got: typeof req.body }), { access: 'public' });
    ctx.route('POST', '/items/:id', (req) => respond(201, { id: req.params.id }), { access: 'operator' });
    ctx.route('PUT', '/items/:id', (req) => ({ id: req.params.id }), { access: 'superuser' });
    ctx.route('PATCH', '/items/:id', (req) => ({ id: req.params.id }));
    ctx.route('DELETE', '/items/:id', () => undefined, { access: 'superuser' });
    ctx.route('GET', '/files/*', (req) => ({ rest: req.params['*'] }));
  },
});
`;

const dir = tempFolder('hookwork-hostile-');
mkdirSync(join(dir, 'plugins'));
writeFileSync(join(dir, 'plugins', 'hostile.mjs'), PLUGIN);
// The console's files, as a build would leave them (the real build is not needed to walk /ui/).
mkdirSync(join(dir, 'ui'));
writeFileSync(join(dir, 'ui', 'index.html'), '<!doctype html><title>console</title>');
const g = await startGateway({
  strict: true,
  events: [{ id: '100', name: 'file-uploaded' }],
  gates: { 'pre-upload': {} },
  changes: { 'agent-status': {} },
  actions: { options: { upload: {} } },
  auth: { tokens: Object.entries(TOKENS).map(([role, token]) => ({ name: `${role}-user`, role: role as 'viewer', token })) },
  plugins: { folder: join(dir, 'plugins'), active: ['hostile'] },
}, undefined, { console: { uiDir: join(dir, 'ui') } });
// A change hook that echoes the value, as the one that turned a deep value into a 500 did.
g.runtime.host.scope('echo').onChange('agent-status', ({ value }) => value);
after(async () => {
  await g.close();
  rmSync(dir, { recursive: true, force: true });
});

const JSON_TYPE = 'application/json';
const HUGE = Buffer.alloc(2 * 1024 * 1024 + 1, 0x20); // over server.body_limit (1 MiB)
const ODD_PARAMS = ['__proto__', 'constructor', '%00', '..%2F..%2Fetc%2Fpasswd', '%2e%2e', 'a'.repeat(300)];
/** Methods fastify reads a body for. */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'QUERY']);

interface Input {
  readonly what: string;
  readonly body: string | Buffer;
  readonly type: string;
  /** The code a 400 must carry (a 4xx before parsing, e.g. 401/404, is fine too). */
  readonly code400?: string;
}

const BODIES: readonly Input[] = [
  { what: 'arrays nested 10,000 deep', body: `{"value":${nestedJson(10_000, 'array')}}`, type: JSON_TYPE, code400: 'HKW_ERR_JSON_TOO_DEEP' },
  { what: 'objects nested 10,000 deep', body: `{"value":${nestedJson(10_000, 'object')}}`, type: JSON_TYPE, code400: 'HKW_ERR_JSON_TOO_DEEP' },
  { what: 'a __proto__ key', body: '{"id":"100","value":1,"__proto__":{"polluted":true}}', type: JSON_TYPE, code400: 'HKW_ERR_PROTO_POISONING' },
  { what: 'constructor.prototype', body: '{"id":"100","value":{"constructor":{"prototype":{"polluted":true}}}}', type: JSON_TYPE, code400: 'HKW_ERR_PROTO_POISONING' },
  { what: 'invalid JSON', body: '{"id": "100", "value": ', type: JSON_TYPE, code400: 'FST_ERR_CTP_INVALID_JSON_BODY' },
  { what: 'a wrong content type', body: '<id>100</id>', type: 'application/xml' },
  { what: 'a body over the limit', body: HUGE, type: JSON_TYPE },
];

/** The route's URL with its parameters (`:name`, `*`) filled in. */
function pathOf(route: GatewayRoute, param: string): string {
  const filled = route.url.replace(/:[A-Za-z_]\w*/g, param);
  // The catch-all's wildcard is `<plugin>/<path>`; a plugin route's wildcard is any rest.
  return route.url === '/plugins/*' ? filled.replace('*', `no-such-plugin/${param}`) : filled.replace('*', `${param}/x`);
}

function needs(route: GatewayRoute): number {
  return RANK[route.access];
}

interface Reply {
  status: number;
  text: string;
  headers: Record<string, string | string[] | undefined>;
}

async function call(method: string, path: string, who: Who, body?: string | Buffer, type?: string): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (who !== 'none') headers['authorization'] = `Bearer ${TOKENS[who]}`;
  if (type !== undefined) headers['content-type'] = type;
  const res = await request(`${g.url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  // An event stream (GET /v1/events/stream) never ends by itself: its headers are the answer.
  if (method !== 'HEAD' && String(res.headers['content-type']).startsWith('text/event-stream')) {
    res.body.on('error', () => undefined);
    res.body.destroy();
    return { status: res.statusCode, text: '', headers: res.headers };
  }
  return { status: res.statusCode, text: await res.body.text(), headers: res.headers };
}

/** Problems with one reply: a 5xx, a 4xx without a JSON {code, message}, or an unexpected status. */
function problemsOf(reply: Reply, expect: { status?: number; fourxx?: boolean; code400?: string; head?: boolean }): string[] {
  const problems: string[] = [];
  if (reply.status >= 500) problems.push(`answered ${reply.status}: ${reply.text.slice(0, 200)}`);
  if (expect.status !== undefined && reply.status !== expect.status) problems.push(`answered ${reply.status}, expected ${expect.status}: ${reply.text.slice(0, 200)}`);
  if (expect.fourxx === true && (reply.status < 400 || reply.status >= 500)) problems.push(`answered ${reply.status}, expected a 4xx`);
  if (reply.status >= 400 && expect.head === true) {
    // No body on HEAD, but the headers the GET reply has.
    if (reply.text !== '') problems.push(`a HEAD ${reply.status} with a body`);
    if (!(Number(reply.headers['content-length']) > 0)) problems.push(`a HEAD ${reply.status} with content-length ${String(reply.headers['content-length'])}`);
    if (!String(reply.headers['content-type']).startsWith('application/json')) problems.push(`a HEAD ${reply.status} with content-type ${String(reply.headers['content-type'])}`);
  } else if (reply.status >= 400) {
    let body: unknown;
    try {
      body = JSON.parse(reply.text);
    } catch {
      problems.push(`a ${reply.status} whose body is not JSON: ${reply.text.slice(0, 100)}`);
    }
    const { code, message } = (body ?? {}) as { code?: unknown; message?: unknown };
    if (typeof code !== 'string' || typeof message !== 'string') problems.push(`a ${reply.status} without {code, message}: ${reply.text.slice(0, 200)}`);
    else if (reply.status === 400 && expect.code400 !== undefined && code !== expect.code400) problems.push(`a 400 ${code}, expected ${expect.code400}: ${message}`);
    if (!String(reply.headers['content-type']).startsWith('application/json')) problems.push(`a ${reply.status} with content-type ${String(reply.headers['content-type'])}`);
  }
  return problems;
}

const routes = g.gateway.routes();

test('the gateway lists its routes: core, HEAD and plugin routes, with the access each needs', () => {
  const has = (method: string, url: string): boolean => routes.some((r) => r.method === method && r.url === url);
  assert.ok(has('POST', '/v1/events') && has('POST', '/v1/changes/:name') && has('GET', '/v1/health') && has('HEAD', '/v1/health'));
  assert.ok(has('PUT', '/plugins/hostile/items/:id') && has('POST', '/plugins/*'));
  assert.equal(routes.find((r) => r.url === '/v1/plugins' && r.method === 'GET')?.access, 'viewer');
  assert.equal(routes.find((r) => r.url === '/v1/events')?.hostFacing, true);
  assert.equal(routes.find((r) => r.url === '/plugins/hostile/items/:id' && r.method === 'DELETE')?.access, 'superuser');
});

describe('hostile input on every route', () => {
  for (const route of routes) {
    test(`${route.method} ${route.url}`, async () => {
      const problems: string[] = [];
      const head = route.method === 'HEAD';
      const note = (what: string, found: string[]): void => {
        for (const p of found) problems.push(`${what}: ${p}`);
      };
      const hasBody = BODY_METHODS.has(route.method);
      const path = pathOf(route, 'sample');

      // No token, and a viewer's, with a body the route may not even parse: auth answers first.
      for (const who of ['none', 'viewer'] as const) {
        const refused = who === 'none' ? (needs(route) > 0 ? 401 : undefined) : needs(route) > RANK.viewer ? 403 : undefined;
        const bodies = hasBody ? [BODIES[4] as Input, BODIES[6] as Input] : [undefined];
        for (const input of bodies) {
          const reply = await call(route.method, path, who, input?.body, input?.type);
          note(`${who === 'none' ? 'no token' : 'viewer token'}${input === undefined ? '' : ` with ${input.what}`}`, problemsOf(reply, {
            head,
            ...(refused === undefined ? {} : { status: refused }),
            ...(input === undefined ? {} : { fourxx: true, ...(input.code400 === undefined ? {} : { code400: input.code400 }) }),
          }));
        }
      }

      // The right token and a hostile body: refused before any handler runs.
      if (hasBody) {
        for (const input of BODIES) {
          const reply = await call(route.method, path, 'superuser', input.body, input.type);
          note(`superuser with ${input.what}`, problemsOf(reply, { fourxx: true, ...(input.code400 === undefined ? {} : { code400: input.code400 }) }));
        }
      }

      // Odd path parameters (and a hostile query) with the right token.
      const odd = /[:*]/.test(route.url) ? ODD_PARAMS : [];
      for (const param of odd) {
        const reply = await call(route.method, pathOf(route, param), 'superuser', hasBody ? '{}' : undefined, hasBody ? JSON_TYPE : undefined);
        // A plugin may well answer 2xx to any id; core routes have nothing named like that, but
        // the console's pages (/ui/*: any path that is no file is a page route, answered by index.html).
        note(`parameter ${JSON.stringify(param.slice(0, 30))}`, problemsOf(reply, { head, fourxx: route.plugin === undefined && route.url !== '/ui/*' }));
      }
      if (route.method === 'GET') {
        const reply = await call('GET', `${path}?__proto__[polluted]=1&constructor[prototype][x]=1&state=%00&limit=-1`, 'superuser');
        note('a hostile query', problemsOf(reply, {}));
        // HEAD answers as GET does, without a body.
        const get = await call('GET', path, 'none');
        const head = await call('HEAD', path, 'none');
        if (head.status !== get.status) problems.push(`HEAD answered ${head.status}, GET ${get.status}`);
        if (head.text !== '') problems.push('HEAD has a body');
        if (head.headers['content-type'] !== get.headers['content-type']) problems.push(`HEAD content-type ${String(head.headers['content-type'])}, GET ${String(get.headers['content-type'])}`);
        if (!(Number(head.headers['content-length']) > 0)) problems.push(`HEAD content-length ${String(head.headers['content-length'])}`);
      }

      assert.deepEqual(problems, [], `${route.method} ${route.url}`);
    });
  }

  test('afterwards the gateway is healthy and no prototype was polluted', async () => {
    const health = await call('GET', '/v1/health', 'none');
    assert.equal(health.status, 200);
    assert.equal((JSON.parse(health.text) as { status: string }).status, 'ok');
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    assert.equal(g.runtime.services.plugins?.get('hostile')?.state, 'running');
  });
});
