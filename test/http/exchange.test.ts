import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { Pool } from 'undici';
import type { DeliveryRecord } from '../../src/delivery/types.js';
import { exchange, RESPONSE_DRAIN_LIMIT, RESPONSE_HEAD } from '../../src/http/exchange.js';
import { HttpPools } from '../../src/http/pools.js';
import { generateSecret } from '../../src/http/signing.js';
import { SsrfGuard } from '../../src/http/ssrf-guard.js';
import { WebhookTarget } from '../../src/webhooks/sender.js';
import { attemptContext, useReceiver } from '../helpers/receiver.js';
import { waitFor } from '../helpers/wait-for.js';

const receiver = useReceiver();
const pools = new HttpPools();
const ssrf = new SsrfGuard({ allow: ['127.0.0.1/32'] });

after(async () => {
  await pools.close();
});

function options(signal = new AbortController().signal) {
  return { path: '/x', method: 'POST' as const, headers: ['content-type', 'text/plain'], body: 'hello', timeoutMs: 5000, signal };
}

test('a big response keeps its first 4 KiB (whole UTF-8 text) and the socket is reused', async () => {
  // Multi-byte characters across the 4 KiB boundary and across chunks.
  const big = 'é'.repeat(10_000);
  receiver.respond((_r, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.write(big.slice(0, 1000));
    res.end(big.slice(1000));
  });
  const sockets = new Set<Socket>();
  const pool = new Pool(receiver.url, { connections: 1, connect: (opts, cb) => {
    // A plain TCP connect that remembers each socket it opened.
    void import('node:net').then(({ connect }) => {
      const socket = connect({ host: '127.0.0.1', port: Number(opts.port) });
      sockets.add(socket);
      socket.once('connect', () => cb(null, socket)).once('error', (err) => cb(err, null));
    });
  } });
  try {
    for (let i = 0; i < 3; i++) {
      const result = await exchange(pool, options());
      assert.equal(result.status, 200);
      assert.ok(Buffer.byteLength(result.head) <= RESPONSE_HEAD);
      assert.ok(result.head.length >= RESPONSE_HEAD / 2 - 1, `kept ${result.head.length} characters`);
      assert.ok(big.startsWith(result.head.replace(/\uFFFD$/, '')));
    }
    assert.equal(sockets.size, 1, 'the body was drained and the keep-alive socket reused');
  } finally {
    await pool.close();
  }
});

test('a response over the drain limit answers with its head and drops the socket', async () => {
  const server: Server = createServer((_req, res) => {
    res.writeHead(200);
    const chunk = Buffer.alloc(64 * 1024, 'a');
    let sent = 0;
    const write = (): void => {
      while (sent <= RESPONSE_DRAIN_LIMIT * 2) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', write);
      }
      res.end();
    };
    write();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { connections: 1 });
  try {
    const result = await exchange(pool, options());
    assert.equal(result.status, 200);
    assert.equal(result.head, 'a'.repeat(RESPONSE_HEAD));
  } finally {
    await pool.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('Retry-After is read from refusing answers', async () => {
  receiver.respond((_r, res) => res.writeHead(503, { 'Retry-After': '12' }).end('busy'));
  const pool = new Pool(receiver.url);
  try {
    const result = await exchange(pool, options());
    assert.deepEqual({ ...result, requestHeaders: undefined, responseHeaders: undefined }, { status: 503, retryAfter: '12', head: 'busy', requestHeaders: undefined, responseHeaders: undefined });
    assert.deepEqual(result.requestHeaders, ['content-type', 'text/plain'], 'the request headers as given');
    assert.equal(result.responseHeaders[result.responseHeaders.indexOf('Retry-After') + 1], '12', 'the response headers as received');
  } finally {
    await pool.close();
  }
});

test('the attempt signal aborts a request in flight and refuses one already aborted', async () => {
  receiver.respond(() => undefined); // never answers
  const webhook = new WebhookTarget({ name: 'abort', url: `${receiver.url}/slow` }, { http: pools, ssrf });
  const controller = new AbortController();
  const running = webhook.run({ id: '1' }, { webhookId: 'msg_a', attempt: 1, signal: controller.signal });
  await receiver.waitFor(1);
  controller.abort(new Error('lease ended'));
  const result = await running;
  assert.equal(result.ok, false);
  assert.equal(result.retryable, true);
  assert.match(result.error ?? '', /lease ended/);

  const before = receiver.requests.length;
  const again = await webhook.run({ id: '1' }, { webhookId: 'msg_a', attempt: 2, signal: controller.signal });
  assert.equal(again.ok, false);
  assert.equal(receiver.requests.length, before, 'nothing sent on an aborted signal');
});

test('many requests on one shared signal add one abort listener, and all of them abort', async () => {
  receiver.respond(() => undefined);
  const webhook = new WebhookTarget({ name: 'shared', url: `${receiver.url}/slow`, concurrency: 8 }, { http: pools, ssrf });
  const controller = new AbortController();
  const runs = Array.from({ length: 12 }, (_, i) => webhook.run({ id: String(i) }, { webhookId: `msg_${i}`, attempt: 1, signal: controller.signal }));
  await waitFor(() => receiver.requests.length >= 1);
  controller.abort(new Error('shutting down'));
  const results = await Promise.all(runs);
  assert.ok(results.every((r) => r.ok === false && /shutting down/.test(r.error ?? '')));
});

test('configured headers override the defaults, never the signature headers; one header line each', async () => {
  const webhook = new WebhookTarget(
    {
      name: 'headers',
      url: `${receiver.url}/h`,
      headers: { 'Content-Type': 'application/vnd.custom+json', 'User-Agent': 'custom/{{id}}', 'Webhook-Id': 'forged', 'X-Static': 'yes' },
    },
    { http: pools, ssrf },
  );
  const result = await webhook.run({ id: '42' }, attemptContext('msg_real'));
  assert.equal(result.ok, true, result.error);
  // Stale requests of the abort tests may still arrive; pick ours.
  await waitFor(() => receiver.requests.some((r) => r.url === '/h'));
  const request = receiver.requests.find((r) => r.url === '/h');
  assert.equal(request?.headers['content-type'], 'application/vnd.custom+json');
  assert.equal(request?.headers['user-agent'], 'custom/42');
  assert.equal(request?.headers['webhook-id'], 'msg_real');
  assert.equal(request?.headers['x-static'], 'yes');
});

test('the json body of one record is serialised once and reused by retries and fallback URLs', async () => {
  receiver.respond((r, res) => res.writeHead(r.url === '/down' ? 503 : 200).end());
  const webhook = new WebhookTarget({ name: 'reuse', url: `${receiver.url}/down`, fallbackUrls: [`${receiver.url}/up`] }, { http: pools, ssrf });
  let serialised = 0;
  const record = { id: '7', data: { n: 1 }, toJSON() {
    serialised++;
    return { id: '7', data: { n: 1 } };
  } };
  assert.equal((await webhook.run(record, attemptContext('msg_r', 1))).ok, true);
  assert.equal((await webhook.run(record, attemptContext('msg_r', 2))).ok, true);
  assert.equal(serialised, 1);
  const bodies = receiver.requests.filter((r) => r.url === '/down' || r.url === '/up').map((r) => r.body);
  assert.equal(bodies.length, 4);
  assert.ok(bodies.every((b) => b === '{"id":"7","data":{"n":1}}'));
  // A different record (e.g. a chain's record with output) is serialised on its own.
  assert.equal((await webhook.run({ ...record, id: '8' }, attemptContext('msg_s'))).ok, true);
  assert.equal(serialised, 2);
});

test('a cached check never lets another scheme through', async () => {
  const webhook = new WebhookTarget({ name: 'ok', url: `${receiver.url}/a` }, { http: pools, ssrf });
  assert.equal((await webhook.run({ id: '1' }, attemptContext())).ok, true);
  const other = new WebhookTarget({ name: 'ftp', url: `ftp://127.0.0.1:${receiver.port}/a` }, { http: pools, ssrf });
  const result = await other.run({ id: '1' }, attemptContext());
  assert.equal(result.ok, false);
  assert.equal(result.retryable, false);
  assert.match(result.error ?? '', /scheme other than http/);
});

test("attempt() sends the queue's stored event JSON as the body and parses it only when a template reads the event", async () => {
  const eventJson = '{"id":"9","data":{"path":"/in/a.txt"}}';
  let parsed = 0;
  const delivery = (webhookId: string): DeliveryRecord => ({
    id: 'dlv_1',
    target: 'stored',
    eventJson,
    get event() {
      parsed++;
      return JSON.parse(eventJson) as Record<string, unknown>;
    },
    webhookId,
    attempts: 0,
    state: 'inflight',
    dueAt: 0,
    createdAt: 0,
    updatedAt: 0,
  });
  const secret = generateSecret();
  const plain = new WebhookTarget({ name: 'stored', url: `${receiver.url}/stored`, secrets: [secret] }, { http: pools, ssrf });
  assert.equal((await plain.attempt(delivery('msg_stored'), attemptContext('msg_stored'))).ok, true);
  assert.equal(parsed, 0);
  const templated = new WebhookTarget({ name: 'templated', url: `${receiver.url}/t{{data.path}}` }, { http: pools, ssrf });
  assert.equal((await templated.attempt(delivery('msg_t'), attemptContext('msg_t'))).ok, true);
  assert.equal(parsed, 1);
  await waitFor(() => receiver.requests.some((r) => r.url === '/t/in/a.txt'));
  const sent = receiver.requests.find((r) => r.url === '/stored');
  assert.equal(sent?.body, eventJson);
  assert.deepEqual(new Webhook(secret).verify(sent?.body ?? '', sent?.headers as Record<string, string>), JSON.parse(eventJson));
  assert.equal(receiver.requests.find((r) => r.url === '/t/in/a.txt')?.body, eventJson);
});

test('response headers are read anew each time: the same header with other bytes (same length or not) shows its own value', async () => {
  // exchange.ts reuses the text of a header whose bytes match the last response's at its place: a changed byte must not.
  const values = ['abc', 'abd', 'abd', 'xbd', 'abcd', 'ab', '', 'abc'];
  let n = 0;
  receiver.respond((_r, res) => {
    const value = values[n++] as string;
    res.writeHead(200, { 'x-value': value, 'content-type': 'text/plain' });
    res.end('ok');
  });
  const pool = new Pool(receiver.url, { connections: 1 });
  try {
    for (const expected of values) {
      const result = await exchange(pool, options());
      const at = result.responseHeaders.findIndex((h, i) => i % 2 === 0 && h.toLowerCase() === 'x-value');
      assert.equal(result.responseHeaders[at + 1], expected);
    }
  } finally {
    await pool.close();
  }
});

test('response bodies are read anew each time: a short body with other bytes (same length or not, in one chunk or several) shows its own text', async () => {
  // exchange.ts reuses the text of a short body whose bytes match the last one's: a changed byte must not.
  const bodies: Array<string | string[]> = ['ok', 'ok', 'ol', 'ok', 'oké', 'okk', ['o', 'k'], ['o', 'x'], 'ok', '', 'x'.repeat(129), 'x'.repeat(128), 'x'.repeat(127) + 'y', 'ok'];
  let n = 0;
  receiver.respond((_r, res) => {
    const body = bodies[n++] as string | string[];
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    if (typeof body === 'string') res.end(body);
    else {
      // Written apart (the first flushed before the rest): the body comes in several chunks.
      res.write(body[0]);
      setTimeout(() => res.end(body.slice(1).join('')), 20);
    }
  });
  const pool = new Pool(receiver.url, { connections: 1 });
  try {
    for (const body of bodies) {
      const result = await exchange(pool, options());
      assert.equal(result.head, typeof body === 'string' ? body : body.join(''));
    }
  } finally {
    await pool.close();
  }
});
