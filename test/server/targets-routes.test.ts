// POST /v1/targets/:name/test: a sample event through a target now, outside
// the queue, against a real receiver and a real command.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startGateway, send, type TestGateway } from './gateway-helpers.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';

const OPERATOR = 'operator-token-0123456789';
const VIEWER = 'viewer-token-0123456789';
const echoArgv = fileURLToPath(new URL('../fixtures/echo-argv.sh', import.meta.url));
let gw: TestGateway;
let receiver: Receiver;

before(async () => {
  receiver = await startReceiver();
  gw = await startGateway({
    auth: { tokens: [{ name: 'ops', role: 'operator', token: OPERATOR }, { name: 'v', role: 'viewer', token: VIEWER }] },
    ssrf: { allow: ['127.0.0.1/32'] },
    events: [
      { id: '9001', name: 'invoice-paid', example: { invoice: 'INV-1', amount: 12 } },
      { id: '9002', name: 'invoice-voided' },
    ],
    handlers: [
      { type: 'webhook', name: 'billing', url: `${receiver.url}/billing`, target_events: ['9001'] },
      { type: 'command', name: 'echo', command: echoArgv, args: ['{{data.invoice}}'], target_events: ['invoice-paid'] },
      { type: 'webhook', name: 'nothing', url: `${receiver.url}/none`, target_events: ['!9001'] },
    ],
  });
});

after(async () => {
  await gw.close();
  await receiver.close();
});

const auth = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

test('a test send of a webhook: the catalogue example of the event it follows, sent now, the attempt answered; nothing queued', async () => {
  receiver.respond((_r, res) => res.writeHead(201, { 'content-type': 'text/plain', 'X-Receiver': 'billing-1' }).end('x'.repeat(5000)));
  const reply = await send(gw.url, 'POST', '/v1/targets/handler:billing/test', { headers: auth(OPERATOR) });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  assert.equal(reply.body['ok'], true);
  assert.equal(reply.body['kind'], 'webhook');
  assert.equal(reply.body['http_status'], 201);
  assert.equal((reply.body['response'] as string).length, 4096, 'the first 4 KiB of the body');
  assert.equal(typeof reply.body['duration_ms'], 'number');
  const headers = reply.body['headers'] as Record<string, string>;
  assert.equal(headers['x-receiver'], 'billing-1', 'the response headers (through the sender thread)');
  assert.equal(headers['content-type'], 'text/plain');
  assert.deepEqual((reply.body['event'] as Record<string, unknown>)['id'], '9001');
  const [req] = await receiver.waitFor(1);
  assert.deepEqual((JSON.parse(req?.body ?? '{}') as { data: unknown }).data, { invoice: 'INV-1', amount: 12 });
  const queued = await send(gw.url, 'GET', '/v1/deliveries', { headers: auth(OPERATOR) });
  assert.deepEqual(queued.body['deliveries'], [], 'a test send is not a delivery');
});

test('a test send with a given event and data, and a failing receiver: the error and status come back', async () => {
  receiver.requests.length = 0;
  receiver.respond((_r, res) => res.writeHead(503).end('busy'));
  const reply = await send(gw.url, 'POST', '/v1/targets/handler:billing/test', { headers: auth(OPERATOR), json: { event: 'invoice-voided', data: { invoice: 'INV-9' } } });
  assert.equal(reply.status, 200);
  assert.equal(reply.body['ok'], false);
  assert.equal(reply.body['retryable'], true);
  assert.equal(reply.body['http_status'], 503);
  assert.equal(reply.body['response'], 'busy');
  assert.match(reply.body['error'] as string, /answered 503/);
  const [req] = await receiver.waitFor(1);
  assert.equal((JSON.parse(req?.body ?? '{}') as { id: string }).id, '9002');
  receiver.respond((_r, res) => res.writeHead(200).end('ok'));
});

test('a test send of a command: it runs now with the example data; its output comes back', async () => {
  const reply = await send(gw.url, 'POST', '/v1/targets/handler:echo/test', { headers: auth(OPERATOR) });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  assert.equal(reply.body['kind'], 'command');
  assert.equal(reply.body['ok'], true);
  assert.equal(reply.body['exit_code'], 0);
  assert.match(reply.body['response'] as string, /INV-1/);
});

test('test sends: unknown target 404, no event to pick 400 HKW_ERR_TEST_SEND_EVENT, unknown event 400, viewer 403', async () => {
  const missing = await send(gw.url, 'POST', '/v1/targets/handler:nope/test', { headers: auth(OPERATOR) });
  assert.equal(missing.status, 404);
  assert.equal(missing.body['code'], 'HKW_ERR_TARGET_NOT_FOUND');
  const none = await send(gw.url, 'POST', '/v1/targets/handler:nothing/test', { headers: auth(OPERATOR) });
  assert.equal(none.status, 400);
  assert.equal(none.body['code'], 'HKW_ERR_TEST_SEND_EVENT');
  const unknown = await send(gw.url, 'POST', '/v1/targets/handler:billing/test', { headers: auth(OPERATOR), json: { event: 'no-such-event' } });
  assert.equal(unknown.status, 400);
  assert.equal(unknown.body['code'], 'HKW_ERR_TEST_SEND_EVENT');
  const viewer = await send(gw.url, 'POST', '/v1/targets/handler:billing/test', { headers: auth(VIEWER) });
  assert.equal(viewer.status, 403);
});
