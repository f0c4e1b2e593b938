// Plugins over the gateway: management needs a superuser token (401 without
// one, 403 with viewer/operator, listing too), and plugin routes appear and disappear at
// run time behind the /plugins/* catch-all.

import assert from 'node:assert/strict';
import { rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { request } from 'undici';
import { startGateway } from '../server/gateway-helpers.js';
import { HOOKWORK_URL, tempFolder } from './helpers.js';

const TOKENS = { viewer: 'viewer-token-0123456789', operator: 'operator-token-0123456789', superuser: 'superuser-token-0123456789' };

async function start(t: { after(fn: () => Promise<void>): void }, active: string[] = []) {
  const dir = tempFolder('hookwork-plugins-gw-');
  const plugins = join(dir, 'plugins');
  mkdirSync(plugins);
  writeFileSync(join(plugins, 'status-page.mjs'), `
import { definePlugin, respond } from ${JSON.stringify(HOOKWORK_URL)};
export default definePlugin({
  name: 'status-page', version: '1.0.0',
  setup(ctx) {
    let hits = 0;
    ctx.route('GET', '/', () => ({ plugin: ctx.name, hits }));
    ctx.route('POST', '/hits', (req) => { hits += req.body?.add ?? 1; return respond(201, { hits }, { 'x-plugin': ctx.name }); });
    ctx.route('GET', '/items/:id', (req) => ({ id: req.params.id, who: req.principal?.name }));
    ctx.route('GET', '/files/*', (req) => ({ rest: req.params['*'] }));
    ctx.route('GET', '/public', () => 'open to all', { access: 'public' });
    ctx.route('GET', '/admin', () => ({ ok: true }), { access: 'superuser' });
    ctx.route('DELETE', '/nothing', () => undefined);
    ctx.route('GET', '/boom', () => { throw new Error('plugin bug'); });
  },
});
`);
  const { runtime, url, close } = await startGateway({
    auth: { tokens: Object.entries(TOKENS).map(([role, token]) => ({ name: `${role}-user`, role: role as 'viewer', token })) },
    plugins: { folder: plugins, active },
  });
  t.after(async () => {
    await close();
    rmSync(dir, { recursive: true, force: true });
  });
  const call = async (method: 'GET' | 'POST' | 'DELETE', path: string, role?: keyof typeof TOKENS, json?: unknown) => {
    const headers: Record<string, string> = {};
    if (role !== undefined) headers['authorization'] = `Bearer ${TOKENS[role]}`;
    if (json !== undefined) headers['content-type'] = 'application/json';
    const res = await request(`${url}${path}`, { method, headers, ...(json === undefined ? {} : { body: JSON.stringify(json) }) });
    const text = await res.body.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // plain text
    }
    return { status: res.statusCode, body: body as Record<string, unknown>, headers: res.headers };
  };
  return { runtime, call };
}

test('GET /v1/plugins is read by any role (viewer up); load/unload/reload need a superuser', async (t) => {
  const { call, runtime } = await start(t);
  assert.equal((await call('GET', '/v1/plugins')).status, 401);
  for (const role of ['viewer', 'operator'] as const) assert.equal((await call('GET', '/v1/plugins', role)).status, 200, `list as ${role}`);
  const listed = await call('GET', '/v1/plugins', 'viewer');
  assert.equal(listed.status, 200);
  const discovered = listed.body['plugins'] as Array<{ name: string; state: string; active: boolean }>;
  assert.deepEqual(discovered.map((p) => [p.name, p.state, p.active]), [['status-page', 'discovered', false]], 'discovered, not started (not active)');
  for (const action of ['load', 'unload', 'reload']) {
    assert.equal((await call('POST', `/v1/plugins/status-page/${action}`)).status, 401, `${action} without a token`);
    for (const role of ['viewer', 'operator'] as const) {
      const reply = await call('POST', `/v1/plugins/status-page/${action}`, role);
      assert.equal(reply.status, 403, `${action} as ${role}`);
      assert.equal(reply.body['code'], 'HKW_ERR_FORBIDDEN');
    }
  }
  assert.equal(runtime.services.plugins?.get('status-page')?.state, 'discovered', 'refused calls did nothing');
  const loaded = await call('POST', '/v1/plugins/status-page/load', 'superuser');
  assert.equal(loaded.status, 200);
  assert.equal((loaded.body['plugin'] as { state: string }).state, 'running');
  const reloaded = await call('POST', '/v1/plugins/status-page/reload', 'superuser');
  assert.equal(reloaded.status, 200);
  const list = await call('GET', '/v1/plugins', 'superuser');
  const [info] = list.body['plugins'] as Array<{ name: string; state: string; registrations: Record<string, number> }>;
  assert.equal(info?.name, 'status-page');
  assert.equal(info?.registrations['route'], 8);
  const unloaded = await call('POST', '/v1/plugins/status-page/unload', 'superuser');
  assert.equal(unloaded.status, 200);
  assert.equal((unloaded.body['plugin'] as { state: string }).state, 'stopped');
  const missing = await call('POST', '/v1/plugins/nope/load', 'superuser');
  assert.equal(missing.status, 404);
  assert.equal(missing.body['code'], 'HKW_ERR_PLUGIN_NOT_FOUND');
});

test('plugin routes appear on load and disappear on unload', async (t) => {
  const { call } = await start(t, ['status-page']);
  assert.deepEqual((await call('GET', '/plugins/status-page/', 'viewer')).body, { plugin: 'status-page', hits: 0 });
  assert.deepEqual((await call('GET', '/plugins/status-page', 'viewer')).body, { plugin: 'status-page', hits: 0 });
  const posted = await call('POST', '/plugins/status-page/hits', 'operator', { add: 5 });
  assert.equal(posted.status, 201);
  assert.deepEqual(posted.body, { hits: 5 });
  assert.equal(posted.headers['x-plugin'], 'status-page');
  assert.deepEqual((await call('GET', '/plugins/status-page/items/42', 'viewer')).body, { id: '42', who: 'viewer-user' });
  assert.deepEqual((await call('GET', '/plugins/status-page/files/a/b/c.txt', 'viewer')).body, { rest: 'a/b/c.txt' });
  assert.equal((await call('DELETE', '/plugins/status-page/nothing', 'viewer')).status, 204);
  // Access: viewer by default, public when asked, or a stronger role.
  assert.equal((await call('GET', '/plugins/status-page/')).status, 401);
  assert.deepEqual(await call('GET', '/plugins/status-page/public').then((r) => [r.status, r.body]), [200, 'open to all']);
  assert.equal((await call('GET', '/plugins/status-page/admin', 'operator')).status, 403);
  assert.equal((await call('GET', '/plugins/status-page/admin', 'superuser')).status, 200);
  // A plugin's bug is a 500 with a generic message, not a crash.
  const boom = await call('GET', '/plugins/status-page/boom', 'viewer');
  assert.equal(boom.status, 500);
  assert.equal(boom.body['code'], 'HKW_ERR_INTERNAL');
  assert.equal((await call('GET', '/plugins/status-page/unknown', 'viewer')).status, 404);
  assert.equal((await call('GET', '/plugins/other/', 'viewer')).status, 404);

  await call('POST', '/v1/plugins/status-page/unload', 'superuser');
  const gone = await call('GET', '/plugins/status-page/', 'viewer');
  assert.equal(gone.status, 404);
  assert.equal(gone.body['code'], 'HKW_ERR_NOT_FOUND');
  await call('POST', '/v1/plugins/status-page/load', 'superuser');
  assert.deepEqual((await call('GET', '/plugins/status-page/', 'viewer')).body, { plugin: 'status-page', hits: 0 }, 'fresh state after a new load');
});

test('reloading a plugin whose file no longer imports answers the import error; a fixed file reloads', async (t) => {
  const { call, runtime } = await start(t, ['status-page']);
  const file = join(runtime.services.plugins?.folder as string, 'status-page.mjs');
  writeFileSync(file, 'export default {\n  name: "status-page",,\n');
  const reloaded = await call('POST', '/v1/plugins/status-page/reload', 'superuser');
  assert.equal(reloaded.status, 400);
  assert.equal(reloaded.body['code'], 'HKW_ERR_PLUGIN_INVALID');
  assert.match(String(reloaded.body['message']), /importing .*status-page\.mjs failed/);
  const [info] = (await call('GET', '/v1/plugins', 'superuser')).body['plugins'] as Array<{ state: string; lastError?: { code: string } }>;
  assert.equal(info?.state, 'failed');
  assert.equal(info?.lastError?.code, 'HKW_ERR_PLUGIN_INVALID');
  assert.equal((await call('GET', '/plugins/status-page/', 'viewer')).status, 404, 'the old code is not serving');
  writeFileSync(file, `export default { name: 'status-page', version: '2.0.0', setup(ctx) { ctx.route('GET', '/', () => ({ v: 2 })); } };\n`);
  const fixed = await call('POST', '/v1/plugins/status-page/reload', 'superuser');
  assert.equal(fixed.status, 200);
  assert.deepEqual([(fixed.body['plugin'] as { state: string }).state, (fixed.body['plugin'] as { version: string }).version], ['running', '2.0.0']);
  assert.deepEqual((await call('GET', '/plugins/status-page/', 'viewer')).body, { v: 2 });
});

test("every error reply carries a catalogued code: a plugin route's own 4xx error, fastify's 415, a plugin's own failure code", async (t) => {
  const dir = tempFolder('hookwork-plugins-codes-');
  const plugins = join(dir, 'plugins');
  mkdirSync(plugins);
  writeFileSync(join(plugins, 'coded.mjs'), `
import { definePlugin } from ${JSON.stringify(HOOKWORK_URL)};
export default definePlugin({
  name: 'coded', version: '1.0.0',
  setup(ctx) {
    ctx.route('GET', '/item', () => { throw Object.assign(new Error('no such item'), { statusCode: 404, code: 'E_ITEM_GONE' }); }, { access: 'public' });
    ctx.route('POST', '/echo', (req) => req.body, { access: 'public' });
  },
});
`);
  writeFileSync(join(plugins, 'flaky.mjs'), `
import { definePlugin } from ${JSON.stringify(HOOKWORK_URL)};
export default definePlugin({ name: 'flaky', version: '1.0.0', setup() { throw Object.assign(new Error('the database is down'), { code: 'ECONNREFUSED' }); } });
`);
  const { runtime, url, close } = await startGateway({ plugins: { folder: plugins, active: ['coded'] } });
  t.after(async () => {
    await close();
    rmSync(dir, { recursive: true, force: true });
  });

  const own = await request(`${url}/plugins/coded/item`);
  assert.deepEqual([own.statusCode, await own.body.json()], [404, { code: 'HKW_ERR_BAD_REQUEST', message: 'no such item' }], 'status kept, code from the catalogue');

  const xml = await request(`${url}/plugins/coded/echo`, { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<a/>' });
  const refused = (await xml.body.json()) as { code: string };
  assert.deepEqual([xml.statusCode, refused.code], [415, 'FST_ERR_CTP_INVALID_MEDIA_TYPE']);

  await assert.rejects(runtime.services.plugins?.load('flaky') ?? Promise.reject(new Error('no plugins')), { code: 'HKW_ERR_PLUGIN_START_FAILED' });
  const info = runtime.services.plugins?.get('flaky');
  assert.equal(info?.state, 'failed');
  assert.deepEqual({ ...info?.lastError, stack: undefined }, { code: 'HKW_ERR_PLUGIN', message: 'the database is down', stack: undefined }, "the plugin's own code is not shown as Hookwork's");
  assert.match(info?.lastError?.stack ?? '', /^Error: the database is down\n\s+at /, 'with its stack (the console shows it)');
});
