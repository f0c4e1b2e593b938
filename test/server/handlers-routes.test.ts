// /v1/handlers over the gateway: list the extension handlers, stop and start
// one by name or uuid; the list for a viewer, the actions for an operator (a viewer gets 403); an unknown name
// is a 404 naming the known ones.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { send, startGateway, type TestGateway } from './gateway-helpers.js';

const TOKENS = { viewer: 'viewer-token-0123456789', operator: 'operator-token-0123456789' };
const auth = (role: keyof typeof TOKENS) => ({ headers: { authorization: `Bearer ${TOKENS[role]}` } });

let g: TestGateway;
before(async () => {
  g = await startGateway({
    auth: { tokens: Object.entries(TOKENS).map(([role, token]) => ({ name: role, role: role as 'viewer', token })) },
    extensions: { folder: fileURLToPath(new URL('../extensions/fixtures/', import.meta.url)) },
    handlers: [{ type: 'extension', name: 'plain', entry_point: 'plain-handler.mjs#Plain', configuration: 'x', target_events: ['20200'] }],
  });
});
after(() => g.close());

test('GET /v1/handlers lists the extension handlers with state, counters and queue depth (viewer token and up; none 401)', async () => {
  assert.equal((await send(g.url, 'GET', '/v1/handlers')).status, 401);
  assert.equal((await send(g.url, 'GET', '/v1/handlers', auth('operator'))).status, 200);
  const reply = await send(g.url, 'GET', '/v1/handlers', auth('viewer'));
  assert.equal(reply.status, 200);
  const handlers = reply.body['handlers'] as Array<{ name: string; state: string; counters: Record<string, number>; queue_depth: number }>;
  assert.deepEqual(handlers.map((h) => [h.name, h.state]), [['plain', 'started']]);
  assert.equal(typeof handlers[0]?.counters['handled'], 'number');
  assert.equal(handlers[0]?.queue_depth, 0);
});

test('POST /v1/handlers/:name/stop and /start change its state on this node', async () => {
  const stopped = await send(g.url, 'POST', '/v1/handlers/plain/stop', auth('operator'));
  assert.equal(stopped.status, 200);
  assert.equal((stopped.body['handler'] as { state: string }).state, 'stopped');
  assert.equal(g.runtime.services.extensions?.get('plain')?.state, 'stopped');
  const uuid = g.runtime.services.extensions?.get('plain')?.uuid as string;
  const started = await send(g.url, 'POST', `/v1/handlers/${uuid}/start`, auth('operator'));
  assert.equal(started.status, 200);
  assert.equal((started.body['handler'] as { state: string }).state, 'started');
  assert.equal((await send(g.url, 'POST', '/v1/handlers/plain/stop', auth('viewer'))).status, 403);
});

test('an unknown handler is a 404 HKW_ERR_HANDLER_NOT_FOUND naming the known ones', async () => {
  const reply = await send(g.url, 'POST', '/v1/handlers/nobody/start', auth('operator'));
  assert.equal(reply.status, 404);
  assert.equal(reply.body['code'], 'HKW_ERR_HANDLER_NOT_FOUND');
  assert.match(String(reply.body['message']), /known: plain/);
});
