// Regression tests for the gateway points of issue 15 (hardening): deeply
// nested JSON, undeclared actions, credentials checked before the body,
// `__proto__` bodies, unknown delivery targets, and Node's own parser errors.

import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { clientErrorResponse } from '../../src/server/client-errors.js';
import { HOOKWORK_URL, tempFolder } from '../plugins/helpers.js';
import { nestedJson, rawRequest, send, startGateway, type TestGateway } from './gateway-helpers.js';

const TOKENS = { viewer: 'viewer-token-0123456789', operator: 'operator-token-0123456789', superuser: 'superuser-token-0123456789' };
const bearer = (role: keyof typeof TOKENS): Record<string, string> => ({ authorization: `Bearer ${TOKENS[role]}` });
const JSON_TYPE = { 'content-type': 'application/json' };

const PLUGIN = `
import { definePlugin } from ${JSON.stringify(HOOKWORK_URL)};
export default definePlugin({
  name: 'echo', version: '1.0.0',
  setup(ctx) {
    ctx.route('POST', '/echo', (req) => ({ got: req.body }), { access: 'public' });
    ctx.route('POST', '/mine', (req) => ({ got: req.body }));
    ctx.route('POST', '/admin', (req) => ({ got: req.body }), { access: 'superuser' });
  },
});
`;

const base = {
  strict: true,
  events: [{ id: '100', name: 'file-uploaded' }],
  gates: { 'pre-upload': {} },
  changes: { 'agent-status': {} },
  actions: { options: { upload: {} } },
};

/** A gateway with tokens and the `echo` plugin running. */
async function startWithPlugin(extra: Record<string, unknown> = {}): Promise<TestGateway & { dir: string }> {
  const dir = tempFolder('hookwork-hardening-');
  mkdirSync(join(dir, 'plugins'));
  writeFileSync(join(dir, 'plugins', 'echo.mjs'), PLUGIN);
  const g = await startGateway({
    ...base,
    auth: { tokens: Object.entries(TOKENS).map(([role, token]) => ({ name: `${role}-user`, role: role as 'viewer', token })) },
    plugins: { folder: join(dir, 'plugins'), active: ['echo'] },
    ...extra,
  });
  return {
    ...g,
    dir,
    async close() {
      await g.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('deeply nested JSON bodies', () => {
  let g: TestGateway & { dir: string };
  before(async () => {
    g = await startWithPlugin();
    g.runtime.host.scope('test').onChange('agent-status', ({ value }) => value);
  });
  after(() => g.close());

  test('POST /v1/changes/:name with a value nested 10,000 levels (arrays and objects) is a 400 HKW_ERR_JSON_TOO_DEEP, not a 500', async () => {
    for (const kind of ['array', 'object'] as const) {
      const res = await send(g.url, 'POST', '/v1/changes/agent-status', {
        body: `{"value":${nestedJson(10_000, kind)}}`,
        headers: { ...JSON_TYPE, ...bearer('operator') },
      });
      assert.equal(res.status, 400, kind);
      assert.equal(res.body['code'], 'HKW_ERR_JSON_TOO_DEEP', kind);
      assert.match(String(res.body['message']), /64 levels.*server\.json_max_depth/);
    }
  });

  test('the same body is refused the same way on /v1/events and on a plugin route', async () => {
    for (const kind of ['array', 'object'] as const) {
      const events = await send(g.url, 'POST', '/v1/events', {
        body: `{"id":"100","data":{"v":${nestedJson(10_000, kind)}}}`,
        headers: { ...JSON_TYPE, ...bearer('operator') },
      });
      assert.deepEqual([events.status, events.body['code']], [400, 'HKW_ERR_JSON_TOO_DEEP'], `events, ${kind}`);
      const plugin = await send(g.url, 'POST', '/plugins/echo/echo', { body: nestedJson(10_000, kind), headers: JSON_TYPE });
      assert.deepEqual([plugin.status, plugin.body['code']], [400, 'HKW_ERR_JSON_TOO_DEEP'], `plugin, ${kind}`);
    }
    assert.equal((await send(g.url, 'GET', '/v1/health')).status, 200);
  });

  test('a body within the default limit (64) is accepted; brackets inside strings do not count', async () => {
    const value = nestedJson(60, 'array');
    const res = await send(g.url, 'POST', '/v1/changes/agent-status', { body: `{"value":${value}}`, headers: { ...JSON_TYPE, ...bearer('operator') } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body['value'], JSON.parse(value));
    const text = await send(g.url, 'POST', '/plugins/echo/echo', { json: { s: '['.repeat(500) + '"\\"{{{' } });
    assert.equal(text.status, 200);
  });
});

test('server.json_max_depth sets the limit', async () => {
  const g = await startGateway({ ...base, server: { json_max_depth: 3 } });
  try {
    const ok = await send(g.url, 'POST', '/v1/gates/pre-upload', { body: '{"a":{"b":1}}', headers: JSON_TYPE });
    assert.equal(ok.status, 200);
    const deep = await send(g.url, 'POST', '/v1/gates/pre-upload', { body: '{"a":{"b":[[1]]}}', headers: JSON_TYPE });
    assert.deepEqual([deep.status, deep.body['code']], [400, 'HKW_ERR_JSON_TOO_DEEP']);
    assert.match(String(deep.body['message']), /3 levels/);
  } finally {
    await g.close();
  }
});

test('a __proto__ or constructor.prototype key is a 400 HKW_ERR_PROTO_POISONING naming the key, not "Body is not valid JSON"', async () => {
  const g = await startGateway(base);
  try {
    for (const [body, where] of [
      ['{"id": "100", "__proto__": {"polluted": true}}', 'body.__proto__'],
      ['{"id": "100", "data": {"x": [{"\\u005f_proto__": {"polluted": true}}]}}', 'body.data.x.0.__proto__'],
      ['{"id": "100", "data": {"constructor": {"prototype": {"polluted": true}}}}', 'body.data.constructor.prototype'],
    ] as const) {
      const res = await send(g.url, 'POST', '/v1/events', { body, headers: JSON_TYPE });
      assert.equal(res.status, 400, body);
      assert.equal(res.body['code'], 'HKW_ERR_PROTO_POISONING', body);
      assert.ok(String(res.body['message']).includes(where), `${body}: ${String(res.body['message'])}`);
      assert.doesNotMatch(String(res.body['message']), /not valid JSON/);
    }
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    // A key merely containing the words is fine.
    const fine = await send(g.url, 'POST', '/v1/events', { json: { id: '100', data: { constructor: 'Foo', note: '__proto__ in a value' } } });
    assert.equal(fine.status, 202);
  } finally {
    await g.close();
  }
});

describe('undeclared actions', () => {
  test('POST /v1/actions/:name/pre|post with an undeclared name is a 404 HKW_ERR_UNKNOWN_ACTION; nothing is declared and strict mode holds', async () => {
    const g = await startGateway(base);
    try {
      const { catalogue, gates } = g.runtime.host;
      const version = catalogue.version;
      for (const phase of ['pre', 'post']) {
        const res = await send(g.url, 'POST', `/v1/actions/made-up-${phase}/${phase}`, { json: {} });
        assert.equal(res.status, 404, phase);
        assert.equal(res.body['code'], 'HKW_ERR_UNKNOWN_ACTION');
        assert.match(String(res.body['message']), new RegExp(`"made-up-${phase}"`));
      }
      assert.equal(catalogue.version, version, 'the catalogue did not grow');
      assert.equal(catalogue.has('made-up-post'), false);
      assert.equal(gates.has('pre-made-up-pre'), false);
      const emitted = await send(g.url, 'POST', '/v1/events', { json: { id: 'made-up-post' } });
      assert.deepEqual([emitted.status, emitted.body['code']], [400, 'HKW_ERR_UNKNOWN_EVENT']);
      // Declared ones work: in actions.options, or as a catalogue event.
      assert.deepEqual((await send(g.url, 'POST', '/v1/actions/upload/pre', { json: {} })).body, { verdict: 'allow' });
      assert.equal((await send(g.url, 'POST', '/v1/actions/upload/post', { json: { status: 'ok' } })).status, 200);
      assert.equal((await send(g.url, 'POST', '/v1/actions/file-uploaded/post', { json: {} })).status, 200);
      assert.equal((await send(g.url, 'POST', '/v1/actions/__proto__/pre', { json: {} })).body['code'], 'HKW_ERR_UNKNOWN_ACTION');
    } finally {
      await g.close();
    }
  });

  test('actions.auto_declare declares names on first use, up to actions.auto_declare_max; past it HKW_ERR_ACTION_LIMIT', async () => {
    const g = await startGateway({ ...base, actions: { auto_declare: true, auto_declare_max: 2 } });
    try {
      assert.equal((await send(g.url, 'POST', '/v1/actions/one/pre', { json: {} })).status, 200);
      assert.equal((await send(g.url, 'POST', '/v1/actions/two/post', { json: {} })).status, 200);
      assert.equal((await send(g.url, 'POST', '/v1/actions/one/post', { json: {} })).status, 200, 'a name already declared does not count again');
      const third = await send(g.url, 'POST', '/v1/actions/three/pre', { json: {} });
      assert.equal(third.status, 409);
      assert.equal(third.body['code'], 'HKW_ERR_ACTION_LIMIT');
      assert.match(String(third.body['message']), /"three".*auto_declare_max/);
      assert.equal(g.runtime.host.catalogue.has('three'), false);
      assert.equal(g.runtime.host.catalogue.has('two'), true);
    } finally {
      await g.close();
    }
  });
});

describe('credentials are checked before the body is read', () => {
  let g: TestGateway & { dir: string };
  before(async () => {
    g = await startWithPlugin();
  });
  after(() => g.close());

  const post = async (path: string, body: string | Buffer, headers: Record<string, string> = {}) => {
    const res = await request(`${g.url}${path}`, { method: 'POST', headers: { ...JSON_TYPE, ...headers }, body });
    return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
  };
  const huge = Buffer.alloc(5 * 1024 * 1024, 0x20);

  test('plugin routes: no token with invalid JSON is 401, with a 5 MB body 401 (not 413); a viewer on a superuser route with bad JSON 403', async () => {
    const noToken = await post('/plugins/echo/mine', '{"broken":');
    assert.deepEqual([noToken.status, noToken.body['code']], [401, 'HKW_ERR_UNAUTHENTICATED']);
    const big = await post('/plugins/echo/mine', huge);
    assert.deepEqual([big.status, big.body['code']], [401, 'HKW_ERR_UNAUTHENTICATED']);
    const unknownToken = await post('/plugins/echo/admin', '{"broken":', { authorization: 'Bearer not-a-known-token-at-all' });
    assert.equal(unknownToken.status, 401);
    const viewer = await post('/plugins/echo/admin', '{"broken":', bearer('viewer'));
    assert.deepEqual([viewer.status, viewer.body['code']], [403, 'HKW_ERR_FORBIDDEN']);
    const viewerBig = await post('/plugins/echo/admin', huge, bearer('viewer'));
    assert.equal(viewerBig.status, 403);
    // With the right token the body is parsed (and refused) as before.
    assert.equal((await post('/plugins/echo/admin', '{"broken":', bearer('superuser'))).status, 400);
    assert.equal((await post('/plugins/echo/admin', huge, bearer('superuser'))).status, 413);
    assert.deepEqual((await post('/plugins/echo/admin', '{"a":1}', bearer('superuser'))).body, { got: { a: 1 } });
  });

  test('core routes too: no token with invalid JSON or a 5 MB body is 401, a viewer 403', async () => {
    for (const path of ['/v1/events', '/v1/changes/agent-status', '/v1/actions/upload/post', '/v1/config/reload', '/v1/deliveries/replay']) {
      assert.equal((await post(path, '{"broken":')).status, 401, path);
      assert.equal((await post(path, huge)).status, 401, `${path}, 5 MB`);
      assert.equal((await post(path, '{"broken":', bearer('viewer'))).status, 403, `${path}, viewer`);
    }
  });

  test('a callback URL whose token is unknown is a 404 before its body is read', async () => {
    const res = await post('/v1/callbacks/AAAAAAAAAAAAAAAAAAAAAAAA', '{"broken":');
    assert.deepEqual([res.status, res.body['code']], [404, 'HKW_ERR_CALLBACK_UNKNOWN']);
    assert.equal((await post('/v1/callbacks/AAAAAAAAAAAAAAAAAAAAAAAA', huge)).status, 404);
  });
});

test('POST /v1/deliveries/targets/:name/disable|enable answers 404 HKW_ERR_TARGET_NOT_FOUND for a name no target has', async () => {
  const g = await startGateway({ auth: { tokens: [{ name: 'ops', role: 'operator', token: TOKENS.operator }] } });
  try {
    const delivery = g.runtime.services.delivery;
    assert.ok(delivery);
    delivery.registerTarget({ name: 'webhook:real', kind: 'webhook', attempt: async () => ({ ok: true, httpStatus: 200 }) });
    for (const name of ['__proto__', '%00', '..%2F..%2Fetc%2Fpasswd', 'nope', 'constructor']) {
      for (const verb of ['disable', 'enable']) {
        const res = await send(g.url, 'POST', `/v1/deliveries/targets/${name}/${verb}`, { headers: bearer('operator') });
        assert.equal(res.status, 404, `${verb} ${name}`);
        assert.equal(res.body['code'], 'HKW_ERR_TARGET_NOT_FOUND', `${verb} ${name}`);
      }
    }
    assert.deepEqual(await delivery.store.disabledTargets(), [], 'nothing was stored for them');
    const disabled = await send(g.url, 'POST', '/v1/deliveries/targets/webhook:real/disable', { headers: bearer('operator') });
    assert.deepEqual(disabled.body, { target: 'webhook:real', disabled: true });
    const enabled = await send(g.url, 'POST', '/v1/deliveries/targets/webhook:real/enable', { headers: bearer('operator') });
    assert.deepEqual(enabled.body, { target: 'webhook:real', was_disabled: true });
  } finally {
    await g.close();
  }
});

describe("Node's HTTP parser errors and HEAD replies", () => {
  let g: TestGateway;
  before(async () => {
    g = await startGateway({ auth: { tokens: [{ name: 'ops', role: 'operator', token: TOKENS.operator }] } });
  });
  after(() => g.close());

  test('a malformed request is a 400 with a JSON {code, message} body (HKW_ERR_BAD_REQUEST)', async () => {
    for (const text of ['GARBAGE\r\n\r\n', 'GET /v1/health HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n', 'POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n']) {
      const res = await rawRequest(g.url, text);
      assert.equal(res.status, 400, JSON.stringify(text));
      assert.match(res.headers['content-type'] ?? '', /^application\/json/);
      assert.equal(Number(res.headers['content-length']), Buffer.byteLength(res.body));
      const body = JSON.parse(res.body) as Record<string, unknown>;
      assert.equal(body['code'], 'HKW_ERR_BAD_REQUEST');
      assert.equal(typeof body['message'], 'string');
    }
  });

  test('headers too large are a 431 with a JSON {code, message} body (HKW_ERR_HEADERS_TOO_LARGE)', async () => {
    const res = await rawRequest(g.url, `GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`);
    assert.equal(res.status, 431);
    assert.match(res.headers['content-type'] ?? '', /^application\/json/);
    assert.deepEqual(Object.keys(JSON.parse(res.body) as object), ['code', 'message']);
    assert.equal((JSON.parse(res.body) as { code: string }).code, 'HKW_ERR_HEADERS_TOO_LARGE');
  });

  test('a request that arrives too slowly gets a 408 with {code, message} (HKW_ERR_REQUEST_TIMEOUT)', () => {
    const text = clientErrorResponse(Object.assign(new Error('timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }));
    const [head = '', body = ''] = text.split('\r\n\r\n');
    assert.match(head, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    assert.match(head, new RegExp(`Content-Length: ${Buffer.byteLength(body)}\r\n`));
    assert.equal((JSON.parse(body) as { code: string }).code, 'HKW_ERR_REQUEST_TIMEOUT');
  });

  test('a path that is not valid percent-encoding is a 400 with {code, message} only', async () => {
    const res = await send(g.url, 'GET', '/v1/deliveries/%E0%A4%A');
    assert.equal(res.status, 400);
    assert.deepEqual(Object.keys(res.body), ['code', 'message']);
  });

  test('HEAD replies carry the status and JSON headers GET has, and no body', async () => {
    for (const [path, headers] of [
      ['/v1/health', {}],
      ['/v1/deliveries', {}],
      ['/v1/deliveries/depth', bearer('operator')],
      ['/v1/nothing-here', {}],
    ] as const) {
      const get = await request(`${g.url}${path}`, { method: 'GET', headers });
      const getBody = await get.body.text();
      const head = await request(`${g.url}${path}`, { method: 'HEAD', headers });
      assert.equal(await head.body.text(), '', path);
      assert.equal(head.statusCode, get.statusCode, path);
      assert.equal(head.headers['content-type'], get.headers['content-type'], path);
      assert.match(String(head.headers['content-type']), /^application\/json/, path);
      assert.ok(Number(head.headers['content-length']) > 0, path);
      if (get.statusCode === 401) assert.equal(head.headers['content-length'], String(Buffer.byteLength(getBody)), path);
    }
  });
});
