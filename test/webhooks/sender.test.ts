import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import type { ClientPool } from '../../src/http/client-pool.js';
import { webhookHandlerSchema } from '../../src/webhooks/config-schema.js';
import { HttpPools } from '../../src/http/pools.js';
import type { HttpLane } from '../../src/http/transport.js';
import { generateSecret, WebhookSigner } from '../../src/http/signing.js';
import { SsrfGuard, type CheckedTarget } from '../../src/http/ssrf-guard.js';
import { parseRetryAfter, WebhookTarget, type WebhookTargetOptions } from '../../src/webhooks/sender.js';
import { attemptContext, useReceiver } from '../helpers/receiver.js';

const receiver = useReceiver();
const pools = new HttpPools();
const ssrf = new SsrfGuard({ allow: ['127.0.0.1/32'] });
const event = Object.freeze({
  id: '100',
  name: 'file-uploaded',
  message: 'File /in/a.txt uploaded',
  account: { uuid: 'u-1', name: 'alice', peer: { address: '10.0.0.1', port: 22 } },
  data: { path: '/in/a.txt', size: 42, nested: { list: [1, 2] } },
});

function target(options: Partial<WebhookTargetOptions> = {}): WebhookTarget {
  return new WebhookTarget({ name: 'test', url: `${receiver.url}/hook`, ...options }, { http: pools, ssrf });
}

after(async () => {
  await pools.close();
});

test('default: JSON POST of the event, success on 2xx, response head kept', async () => {
  receiver.respond((_r, res) => res.writeHead(202).end('accepted'));
  const result = await target().run(event, attemptContext());
  assert.equal(result.ok, true);
  assert.equal(result.httpStatus, 202);
  assert.equal(result.response, 'accepted');
  const [req] = receiver.requests;
  assert.equal(req?.method, 'POST');
  assert.equal(req?.url, '/hook');
  assert.equal(req?.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(req?.body ?? ''), event);
});

test('every method is supported; GET and HEAD send no body', async () => {
  for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const) {
    const result = await target({ method }).run(event, attemptContext());
    assert.equal(result.ok, true, method);
  }
  assert.deepEqual(receiver.requests.map((r) => r.method), ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);
  assert.equal(receiver.requests[0]?.body, '');
  assert.equal(receiver.requests[1]?.body, '');
  assert.equal(receiver.requests[3]?.body, JSON.stringify(event));
});

test('URL, headers and payload come from templates over the event', async () => {
  await target({
    url: `${receiver.url}/users/{{account.name}}?path={{data.path}}`,
    headers: { 'X-Account': '{{account.uuid}}', 'X-Static': 'yes' },
    payload: { who: '{{account.name}}', size: '{{data.size}}', text: "'{{data.size}}'", list: '{{data.nested.list}}', unknown: '{{data.nope}}' },
  }).run(event, attemptContext());
  const [req] = receiver.requests;
  assert.equal(req?.url, '/users/alice?path=/in/a.txt');
  assert.equal(req?.headers['x-account'], 'u-1');
  assert.equal(req?.headers['x-static'], 'yes');
  assert.deepEqual(JSON.parse(req?.body ?? ''), { who: 'alice', size: 42, text: '42', list: [1, 2], unknown: '{{data.nope}}' });
});

test('text, xml and form bodies', async () => {
  await target({ format: 'text', payload: 'user {{account.name}} sent {{data.size}} bytes' }).run(event, attemptContext());
  await target({ format: 'xml' }).run(event, attemptContext());
  await target({ format: 'form', payload: { user: '{{account.name}}', size: '{{data.size}}' } }).run(event, attemptContext());
  await target({ format: 'text' }).run(event, attemptContext());
  const [text, xml, form, plain] = receiver.requests;
  assert.equal(text?.body, 'user alice sent 42 bytes');
  assert.match(text?.headers['content-type'] ?? '', /^text\/plain/);
  assert.match(xml?.headers['content-type'] ?? '', /^application\/xml/);
  assert.match(xml?.body ?? '', /<event><id>100<\/id>.*<path>\/in\/a.txt<\/path>.*<list><item>1<\/item><item>2<\/item><\/list>/s);
  assert.equal(form?.headers['content-type'], 'application/x-www-form-urlencoded');
  assert.equal(form?.body, 'user=alice&size=42');
  assert.equal(plain?.body, 'File /in/a.txt uploaded');
});

test('signed with Standard Webhooks: verified by the standardwebhooks package, for every rotated secret', async () => {
  const oldSecret = generateSecret();
  const newSecret = generateSecret();
  const t = target({ secrets: [oldSecret, newSecret] });
  await t.run(event, attemptContext('msg_abc123', 1));
  const [req] = receiver.requests;
  const headers = {
    'webhook-id': String(req?.headers['webhook-id']),
    'webhook-timestamp': String(req?.headers['webhook-timestamp']),
    'webhook-signature': String(req?.headers['webhook-signature']),
  };
  assert.equal(headers['webhook-id'], 'msg_abc123');
  assert.equal(headers['webhook-signature'].split(' ').length, 2);
  assert.deepEqual(new Webhook(oldSecret).verify(req?.body ?? '', headers), event);
  assert.deepEqual(new Webhook(newSecret).verify(req?.body ?? '', headers), event);
  assert.throws(() => new Webhook(generateSecret()).verify(req?.body ?? '', headers));
  assert.throws(() => new Webhook(oldSecret).verify(`${req?.body ?? ''} `, headers), 'a changed body fails');
});

test('the webhook-id is the same on every retry of one delivery', async () => {
  receiver.respond((_r, res) => res.writeHead(503).end('busy'));
  const t = target({ secrets: [generateSecret()] });
  const first = await t.attempt(
    { id: 'd1', target: 'test', event, webhookId: 'msg_same', attempts: 0, state: 'inflight', dueAt: 0, createdAt: 0, updatedAt: 0 },
    attemptContext('msg_same', 1),
  );
  const second = await t.attempt(
    { id: 'd1', target: 'test', event, webhookId: 'msg_same', attempts: 1, state: 'inflight', dueAt: 0, createdAt: 0, updatedAt: 0 },
    attemptContext('msg_same', 2),
  );
  assert.equal(first.retryable, true);
  assert.equal(second.retryable, true);
  assert.deepEqual(receiver.requests.map((r) => r.headers['webhook-id']), ['msg_same', 'msg_same']);
});

test('without secrets: id and timestamp headers, no signature; malformed secrets are refused', () => {
  const headers = new WebhookSigner([]).headers('msg_1', '{}', 1700000000);
  assert.deepEqual(headers, { 'webhook-id': 'msg_1', 'webhook-timestamp': '1700000000' });
  assert.throws(() => new WebhookSigner(['plain-secret']), /whsec_/);
  assert.throws(() => new WebhookSigner(['whsec_!!!']), /base64/);
});

test('success_status: exactly 200 for SFTPGo compatibility', async () => {
  receiver.respond((_r, res) => res.writeHead(204).end());
  const strict = await target({ successStatus: [200] }).run(event, attemptContext());
  assert.equal(strict.ok, false);
  assert.equal(strict.retryable, false);
  assert.match(strict.error ?? '', /success_status is 200/);
  const loose = await target().run(event, attemptContext());
  assert.equal(loose.ok, true);
});

test('failures are classified for the queue: 5xx/429 retryable with Retry-After, 410 disables, 4xx gives up, connection errors retry', async () => {
  receiver.respond((_r, res) => res.writeHead(429, { 'retry-after': '7' }).end('slow down'));
  const limited = await target().run(event, attemptContext());
  assert.deepEqual([limited.ok, limited.retryable, limited.retryAfterMs, limited.httpStatus], [false, true, 7000, 429]);
  receiver.respond((_r, res) => res.writeHead(500).end('boom'));
  const broken = await target().run(event, attemptContext());
  assert.deepEqual([broken.retryable, broken.response], [true, 'boom']);
  receiver.respond((_r, res) => res.writeHead(410).end());
  const gone = await target().run(event, attemptContext());
  assert.deepEqual([gone.retryable, gone.disableTarget], [false, true]);
  receiver.respond((_r, res) => res.writeHead(400).end('bad'));
  const bad = await target().run(event, attemptContext());
  assert.deepEqual([bad.retryable, bad.disableTarget ?? false], [false, false]);
  receiver.respond((_r, res) => res.writeHead(302, { location: 'http://169.254.169.254/' }).end());
  const redirect = await target().run(event, attemptContext());
  assert.equal(redirect.ok, false);
  assert.match(redirect.error ?? '', /redirects are not followed/);
  const refused = await target({ url: 'http://127.0.0.1:1/' }).run(event, attemptContext());
  assert.deepEqual([refused.ok, refused.retryable], [false, true]);
});

test('Retry-After accepts seconds and HTTP dates', () => {
  assert.equal(parseRetryAfter('120'), 120_000);
  const now = Date.parse('2024-01-01T00:00:00Z');
  assert.equal(parseRetryAfter('Mon, 01 Jan 2024 00:00:30 GMT', now), 30_000);
  assert.equal(parseRetryAfter('soon'), undefined);
  assert.equal(parseRetryAfter(undefined), undefined);
});

test('a receiver slower than the timeout gives a retryable timeout', async () => {
  receiver.respond(() => {
    /* never answers */
  });
  const result = await target({ timeoutMs: 200 }).run(event, attemptContext());
  assert.equal(result.ok, false);
  assert.equal(result.retryable, true);
  assert.match(result.error ?? '', /did not answer within 200 ms/);
});

test('fallback URLs are tried in order until one succeeds', async () => {
  receiver.respond((req, res) => res.writeHead(req.url === '/third' ? 200 : 503).end(req.url));
  const result = await target({
    url: `${receiver.url}/first`,
    fallbackUrls: [`${receiver.url}/second`, `${receiver.url}/third`, `${receiver.url}/fourth`],
  }).run(event, attemptContext());
  assert.equal(result.ok, true);
  assert.equal(result.response, '/third');
  assert.deepEqual(receiver.requests.map((r) => r.url), ['/first', '/second', '/third']);
});

test('all URLs failing: retryable when any failure was', async () => {
  receiver.respond((req, res) => res.writeHead(req.url === '/a' ? 503 : 404).end());
  const result = await target({ url: `${receiver.url}/a`, fallbackUrls: [`${receiver.url}/b`] }).run(event, attemptContext());
  assert.deepEqual([result.ok, result.retryable, result.httpStatus], [false, true, 404]);
});

test('secrets are only in the body when granted', async () => {
  const withToken = { ...event, account: { ...event.account, token: 'SECRET' } };
  await target({ payload: { token: '{{account.token}}' } }).run(withToken, attemptContext());
  await target({ payload: { token: '{{account.token}}' }, grants: ['account.token'] }).run(withToken, attemptContext());
  assert.deepEqual(JSON.parse(receiver.requests[0]?.body ?? ''), { token: '{{account.token}}' });
  assert.deepEqual(JSON.parse(receiver.requests[1]?.body ?? ''), { token: 'SECRET' });
});

test('keep-alive: sequential requests reuse one socket', async (t) => {
  // A pool of its own, so sockets other tests left open do not count.
  const own = new HttpPools();
  t.after(() => own.close());
  const ports: Array<number | undefined> = [];
  receiver.respond((_r, res) => {
    ports.push(res.socket?.remotePort);
    res.writeHead(200).end('ok');
  });
  const hook = new WebhookTarget({ name: 'keepalive', url: `${receiver.url}/hook` }, { http: own, ssrf });
  // With a turn of the event loop between requests (undici frees a client
  // just after the response completed), every request goes over one socket.
  for (let i = 0; i < 5; i++) {
    const result = await hook.run(event, attemptContext());
    assert.equal(result.ok, true, result.error);
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.equal(receiver.requests.length, 5);
  assert.equal(ports.length, 5);
  assert.equal(typeof ports[0], 'number');
  assert.deepEqual(new Set(ports), new Set([ports[0]]), `one client socket for all five requests, got ports ${ports.join(', ')}`);
  // Back to back, the next request may not wait for that and opens a second
  // socket, but no more: sockets are still reused, not one per request.
  ports.length = 0;
  for (let i = 0; i < 8; i++) {
    const result = await hook.run(event, attemptContext());
    assert.equal(result.ok, true, result.error);
  }
  assert.equal(ports.length, 8);
  assert.ok(new Set(ports).size <= 2, `at most two sockets for eight back-to-back requests, got ports ${ports.join(', ')}`);
  assert.equal(own.size, 1);
});

test('the default timeout of a webhook is 30 s: the config default and the request timeouts the target sets', async (t) => {
  assert.equal(webhookHandlerSchema.parse({ type: 'webhook', name: 'w', url: 'https://hooks.example/x' }).timeout, 30);
  assert.equal(webhookHandlerSchema.parse({ type: 'webhook', name: 'w', url: 'https://hooks.example/x', timeout: 5 }).timeout, 5);
  // What the target hands undici for one request (headers and body timeouts).
  const seen: Array<{ headersTimeout?: number | null; bodyTimeout?: number | null }> = [];
  class SpyPools extends HttpPools {
    override lane(origin: string, checked: CheckedTarget): HttpLane {
      const pool = super.get(origin, checked) as ClientPool;
      const dispatch = pool.dispatch.bind(pool);
      pool.dispatch = (options, handler) => {
        seen.push({ headersTimeout: options.headersTimeout, bodyTimeout: options.bodyTimeout });
        return dispatch(options, handler);
      };
      return super.lane(origin, checked);
    }
  }
  const spy = new SpyPools();
  t.after(() => spy.close());
  const result = await new WebhookTarget({ name: 'defaults', url: `${receiver.url}/hook` }, { http: spy, ssrf }).run(event, attemptContext());
  assert.equal(result.ok, true, result.error);
  assert.deepEqual(seen, [{ headersTimeout: 30_000, bodyTimeout: 30_000 }]);
  await new WebhookTarget({ name: 'short', url: `${receiver.url}/hook`, timeoutMs: 1_500 }, { http: spy, ssrf }).run(event, attemptContext());
  assert.deepEqual(seen[1], { headersTimeout: 1_500, bodyTimeout: 1_500 });
});

test('a queued delivery whose templates read nothing is sent from its stored JSON without parsing the event', async () => {
  const json = JSON.stringify(event);
  // Handler targets always have extras (handler, callback_url); they must not make the event be read.
  const plain = target({ extras: () => ({ handler: { name: 'h' } }), secrets: [generateSecret()] });
  const delivery = {
    id: 'dlv_1',
    target: 'test',
    eventJson: json,
    get event(): never {
      throw new Error('the event was parsed');
    },
    webhookId: 'msg_1',
    attempts: 0,
    state: 'inflight' as const,
    dueAt: 0,
    createdAt: 0,
    updatedAt: 0,
  };
  const result = await plain.attempt(delivery, attemptContext());
  assert.equal(result.ok, true, result.error);
  assert.equal(receiver.requests[0]?.body, json);
  // A template that reads the event does read it.
  const templated = target({ url: `${receiver.url}/hook/{{data.size}}` });
  await assert.rejects(async () => templated.attempt(delivery, attemptContext()), /the event was parsed/);
});

test('a header that renders to a value HTTP forbids (a newline in the data) fails that attempt only: the connection stays in service', async (t) => {
  // One connection: with undici's Pool, each refused request took a connection out of service for good.
  const own = new HttpPools({ connections: 1 });
  t.after(() => own.close());
  const hooked = new WebhookTarget({ name: 'hdr', url: `${receiver.url}/hook`, headers: { 'X-Path': '{{data.path}}' } }, { http: own, ssrf });
  const bad = await hooked.run({ ...event, data: { path: '/in/a\r\nX-Injected: 1' } }, attemptContext());
  assert.equal(bad.ok, false);
  // The same event would be refused on every retry: it is not retried.
  assert.equal(bad.retryable, false);
  assert.match(bad.error ?? '', /could not be sent: invalid x-path header/i);
  assert.equal(receiver.requests.length, 0);
  for (let i = 0; i < 3; i++) {
    const good = await hooked.run(event, attemptContext());
    assert.equal(good.ok, true, good.error);
  }
  assert.equal(receiver.requests.length, 3);
  assert.equal(receiver.requests[0]?.headers['x-path'], '/in/a.txt');
});

test('a queued delivery sent from its stored JSON gets the result the general path gives: success and every kind of failure', async () => {
  const json = JSON.stringify(event);
  const stored = (id: string) => ({ id, target: 'test', eventJson: json, event, webhookId: id, attempts: 0, state: 'inflight' as const, dueAt: 0, createdAt: 0, updatedAt: 0 });
  // What may differ between two sends: the time taken, and the headers' values (id, timestamp, signature): their names must not.
  const shape = (r: Record<string, unknown>) => {
    const { durationMs, requestHeaders, responseHeaders, ...rest } = r;
    return { ...rest, timed: typeof durationMs === 'number', requestHeaders: Object.keys(requestHeaders ?? {}).sort(), responseHeaders: Object.keys(responseHeaders ?? {}).filter((h) => h !== 'date').sort() };
  };
  const answers: Array<[string, (res: import('node:http').ServerResponse) => void]> = [
    ['200', (res) => res.writeHead(200).end('fine')],
    ['503', (res) => res.writeHead(503, { 'retry-after': '9' }).end('later')],
    ['410', (res) => res.writeHead(410).end()],
    ['400', (res) => res.writeHead(400).end('bad')],
  ];
  const hook = target({ secrets: [generateSecret()] });
  for (const [name, answer] of answers) {
    receiver.respond((_r, res) => answer(res));
    // The general path first (it also checks the address, so the second send finds it checked).
    const general = await hook.run(event, attemptContext(`g-${name}`));
    const fromStored = await hook.attempt(stored(`s-${name}`), attemptContext(`s-${name}`));
    const expected = { ...shape(general as unknown as Record<string, unknown>), requestBodyIsEvent: true };
    delete (expected as { requestBody?: unknown }).requestBody;
    assert.deepEqual(shape(fromStored as unknown as Record<string, unknown>), expected, name);
  }
  // Nobody listening: a retryable failure, the same on both paths.
  const down = target({ url: 'http://127.0.0.1:1/' });
  const general = await down.run(event, attemptContext());
  const fromStored = await down.attempt(stored('s-down'), attemptContext('s-down'));
  const { requestBody: _body, ...expected } = shape(general as unknown as Record<string, unknown>) as Record<string, unknown>;
  assert.deepEqual(shape(fromStored as unknown as Record<string, unknown>), { ...expected, requestBodyIsEvent: true });
});

test('each attempt records the response headers it got, when the receiver answers the same again and when its headers change (credentials redacted)', async () => {
  const answers = [{ 'x-a': '1' }, { 'x-a': '1' }, { 'x-a': '2' }, { 'x-a': '2', 'set-cookie': 's=secret' }, { 'x-a': '2' }];
  let n = 0;
  receiver.respond((_r, res) => res.writeHead(200, answers[n++] ?? {}).end('ok'));
  const hook = target();
  const recorded: Array<Record<string, string>> = [];
  for (let i = 0; i < answers.length; i++) {
    const result = await hook.run(event, attemptContext());
    assert.equal(result.ok, true, result.error);
    const { date, ...rest } = result.responseHeaders ?? {};
    assert.equal(typeof date, 'string');
    recorded.push(rest);
  }
  const expected = (extra: Record<string, string>) => ({ ...extra, connection: 'keep-alive', 'keep-alive': 'timeout=5', 'transfer-encoding': 'chunked' });
  assert.deepEqual(recorded, [expected({ 'x-a': '1' }), expected({ 'x-a': '1' }), expected({ 'x-a': '2' }), expected({ 'x-a': '2', 'set-cookie': '[redacted]' }), expected({ 'x-a': '2' })]);
});

test('with one URL, every kind of failure is the attempt\'s result in full: retryable and disable_target said, the time taken', async () => {
  let status = 503;
  receiver.respond((_r, res) => res.writeHead(status).end('no'));
  const cases: Array<{ name: string; run: () => Promise<Awaited<ReturnType<WebhookTarget['run']>>>; retryable: boolean; disable: boolean }> = [
    { name: 'not an absolute URL', run: () => target({ url: '{{data.path}}' }).run(event, attemptContext()), retryable: false, disable: false },
    { name: 'refused by the SSRF guard', run: () => target({ url: 'http://10.255.255.1/hook' }).run(event, attemptContext()), retryable: false, disable: false },
    { name: 'connection refused', run: () => target({ url: 'http://127.0.0.1:1/' }).run(event, attemptContext()), retryable: true, disable: false },
    { name: '503', run: () => target().run(event, attemptContext()), retryable: true, disable: false },
    {
      name: '410',
      run: () => {
        status = 410;
        return target().run(event, attemptContext());
      },
      retryable: false,
      disable: true,
    },
  ];
  for (const c of cases) {
    const result = await c.run();
    assert.equal(result.ok, false, c.name);
    assert.equal(result.retryable, c.retryable, c.name);
    assert.equal(result.disableTarget, c.disable, c.name);
    assert.equal(typeof result.durationMs, 'number', c.name);
    assert.equal(typeof result.error, 'string', c.name);
  }
});

test('answers with the same headers share one frozen response-header record; a changed header makes a new one; credentials stay redacted', async () => {
  const hook = target({ headers: { 'X-Api-Key': 'k-1' } });
  let tag = 'a';
  // A fixed date: the receiver's own would change with the second.
  receiver.respond((_r, res) => res.writeHead(200, { 'content-type': 'text/plain', date: 'Sun, 06 Dec 2026 10:00:00 GMT', 'x-tag': tag, 'set-cookie': 's=secret' }).end('ok'));
  const first = await hook.run(event, attemptContext());
  const second = await hook.run(event, attemptContext());
  assert.equal(first.ok, true);
  assert.deepEqual(first.responseHeaders, { 'content-type': 'text/plain', date: 'Sun, 06 Dec 2026 10:00:00 GMT', 'x-tag': 'a', 'set-cookie': '[redacted]', connection: 'keep-alive', 'keep-alive': 'timeout=5', 'transfer-encoding': 'chunked' });
  assert.equal(second.responseHeaders, first.responseHeaders);
  assert.ok(Object.isFrozen(first.responseHeaders));
  tag = 'b';
  const third = await hook.run(event, attemptContext());
  assert.notEqual(third.responseHeaders, first.responseHeaders);
  assert.equal(third.responseHeaders?.['x-tag'], 'b');
  assert.equal(first.responseHeaders?.['x-tag'], 'a');
  // The request's headers differ each time (id, timestamp, signature): each attempt has its own record, credentials redacted.
  assert.notEqual(second.requestHeaders, first.requestHeaders);
  assert.equal(first.requestHeaders?.['x-api-key'], '[redacted]');
});
