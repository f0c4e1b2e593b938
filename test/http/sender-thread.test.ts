import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { SenderThreadError } from '../../src/errors.js';
import { HttpPools } from '../../src/http/pools.js';
import { RequestForm, type FormRequest } from '../../src/http/transport.js';
import { kWorker, SenderThread } from '../../src/http/sender-thread.js';
import { AdaptiveTransport } from '../../src/http/adaptive-transport.js';
import { senderMode } from '../../src/http/sender-choice.js';
import { usableCores } from '../../src/http/spare-cores.js';
import { generateSecret } from '../../src/http/signing.js';
import { SsrfGuard, type CheckedTarget } from '../../src/http/ssrf-guard.js';
import { WebhookTarget } from '../../src/webhooks/sender.js';
import { attemptContext, useReceiver } from '../helpers/receiver.js';
import { testRuntime } from '../helpers/runtime.js';
import { waitFor } from '../helpers/wait-for.js';

const loopback: CheckedTarget = { hostname: '127.0.0.1', address: '127.0.0.1', family: 4 };
const ssrf = new SsrfGuard({ allow: ['127.0.0.1/32'] });
const form = new RequestForm({ method: 'POST', headers: ['content-type', 'text/plain'], timeoutMs: 5000, secrets: [] });

function request(overrides: Partial<FormRequest> = {}): FormRequest {
  return { path: '/x', headers: [], webhookId: 'msg_t', timestamp: '1700000000', body: 'hello', signal: new AbortController().signal, ...overrides };
}

const receiver = useReceiver();

test('a webhook target on the sender thread sends signed requests a Standard Webhooks receiver verifies, with string and byte bodies', async (t) => {
  const thread = new SenderThread();
  t.after(() => thread.close());
  const secret = generateSecret();
  const target = new WebhookTarget({ name: 'threaded', url: `${receiver.url}/hook`, secrets: [secret], headers: { 'X-Path': '{{data.path}}', 'X-Fixed': 'yes' } }, { http: thread, ssrf });
  const event = { id: '100', uuid: 'u', data: { path: '/in/a.csv' } };
  const first = await target.run(event, attemptContext('msg_one'));
  assert.equal(first.ok, true, first.error);
  const bytes = Buffer.from(JSON.stringify(event));
  const second = await target.attempt(
    { id: 'd', target: 'threaded', event, eventBytes: bytes, webhookId: 'msg_two', attempts: 0, state: 'inflight', dueAt: 0, createdAt: 0, updatedAt: 0 },
    attemptContext('msg_two'),
  );
  assert.equal(second.ok, true, second.error);
  const [a, b] = await receiver.waitFor(2);
  const verifier = new Webhook(secret);
  for (const [received, id] of [[a, 'msg_one'], [b, 'msg_two']] as const) {
    assert.equal(received?.headers['webhook-id'], id);
    assert.equal(received?.headers['x-path'], '/in/a.csv');
    assert.equal(received?.headers['x-fixed'], 'yes');
    assert.equal(received?.headers['user-agent'], 'Hookwork-Webhook/0.1');
    assert.deepEqual(verifier.verify(received?.body ?? '', received?.headers as Record<string, string>), event);
  }
  assert.equal(thread.inFlight, 0);
});

test('answers keep what a webhook outcome needs: status, Retry-After, the head of the body; a timeout and a refused header are told apart', async (t) => {
  const thread = new SenderThread();
  t.after(() => thread.close());
  const lane = thread.lane(receiver.url, loopback);
  receiver.respond((_r, res) => res.writeHead(503, { 'retry-after': '7' }).end('busy'));
  const busy = await lane.send(form, request());
  assert.deepEqual({ ...busy, requestHeaders: undefined, responseHeaders: undefined }, { status: 503, retryAfter: '7', head: 'busy', requestHeaders: undefined, responseHeaders: undefined });
  // Both header lists cross from the thread: as sent (signed) and as received.
  assert.ok(busy.requestHeaders.includes('webhook-id') && busy.requestHeaders.includes('webhook-timestamp'), busy.requestHeaders.join(' '));
  assert.equal(busy.responseHeaders[busy.responseHeaders.findIndex((h) => h.toLowerCase() === 'retry-after') + 1], '7');

  receiver.respond(() => undefined); // never answers
  const short = new RequestForm({ method: 'POST', headers: [], timeoutMs: 200, secrets: [] });
  await assert.rejects(lane.send(short, request()), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'UND_ERR_HEADERS_TIMEOUT');
    return true;
  });

  receiver.respond((_r, res) => res.writeHead(200).end('ok'));
  await assert.rejects(lane.send(form, request({ headers: ['x-bad', 'line\r\nbreak'] })), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'UND_ERR_INVALID_ARG');
    return true;
  });
  // The lane still works after both.
  assert.equal((await lane.send(form, request())).status, 200);
});

test('response headers that repeat come back as the same list (no new split per answer); changed ones as a new list with their values', async (t) => {
  const thread = new SenderThread();
  t.after(() => thread.close());
  const lane = thread.lane(receiver.url, loopback);
  let tag = 'a';
  receiver.respond((_r, res) => {
    // No Date header: it would change with the second.
    res.sendDate = false;
    res.writeHead(200, { 'x-tag': tag, 'content-type': 'text/plain' }).end('ok');
  });
  const first = await lane.send(form, request());
  const second = await lane.send(form, request());
  tag = 'b';
  const third = await lane.send(form, request());
  const value = (headers: readonly string[], name: string) => headers[headers.findIndex((h) => h.toLowerCase() === name) + 1];
  assert.equal(value(first.responseHeaders, 'x-tag'), 'a');
  assert.equal(second.responseHeaders, first.responseHeaders, 'the same text: the same list');
  assert.notEqual(third.responseHeaders, first.responseHeaders);
  assert.equal(value(third.responseHeaders, 'x-tag'), 'b');
  assert.equal(value(first.responseHeaders, 'x-tag'), 'a', 'the earlier list is unchanged');
  // Request headers differ every time (the message id, the timestamp): read afresh.
  assert.notEqual(second.requestHeaders, first.requestHeaders);
});

test('an abort rejects at once and the thread drops the request', async (t) => {
  const thread = new SenderThread();
  t.after(() => thread.close());
  let closedByClient = false;
  receiver.respond((_r, res) => {
    res.on('close', () => {
      closedByClient = !res.writableEnded;
    });
  });
  const controller = new AbortController();
  const sent = thread.lane(receiver.url, loopback).send(form, request({ signal: controller.signal }));
  await receiver.waitFor(1);
  controller.abort(new Error('lease over'));
  await assert.rejects(sent, /lease over/);
  assert.equal(thread.inFlight, 0);
  await waitFor(() => closedByClient, { what: 'the thread to drop the connection', timeoutMs: 5000 });
});

test('a thread that dies fails its requests in flight retryably, and the next request starts a new one', async (t) => {
  const thread = new SenderThread();
  t.after(() => thread.close());
  const target = new WebhookTarget({ name: 'crash', url: `${receiver.url}/hook` }, { http: thread, ssrf });
  receiver.respond(() => undefined); // holds the request
  const pending = thread.lane(receiver.url, loopback).send(form, request());
  const attempt = target.run({ id: '1' }, attemptContext());
  await receiver.waitFor(2);
  const worker = thread[kWorker];
  assert.ok(worker !== undefined);
  await worker.terminate();
  await assert.rejects(pending, (err: unknown) => err instanceof SenderThreadError && err.code === 'HKW_ERR_SENDER_THREAD');
  const result = await attempt;
  assert.equal(result.ok, false);
  assert.equal(result.retryable, true);
  assert.match(result.error ?? '', /sender thread stopped/);

  receiver.respond((_r, res) => res.writeHead(200).end('ok'));
  const again = await target.run({ id: '2' }, attemptContext());
  assert.equal(again.ok, true, again.error);
  assert.notEqual(thread[kWorker], worker);
});

test('close() lets the requests in flight end, then refuses new ones', async () => {
  const thread = new SenderThread();
  let answer: (() => void) | undefined;
  receiver.respond((_r, res) => {
    answer = () => res.writeHead(200).end('late');
  });
  const sent = thread.lane(receiver.url, loopback).send(form, request());
  await receiver.waitFor(1);
  const closing = thread.close();
  answer?.();
  assert.deepEqual({ ...(await sent), requestHeaders: undefined, responseHeaders: undefined }, { status: 200, retryAfter: undefined, head: 'late', requestHeaders: undefined, responseHeaders: undefined });
  await closing;
  assert.equal(thread.closed, true);
  await assert.rejects(thread.lane(receiver.url, loopback).send(form, request()), { code: 'HKW_ERR_CLOSED' });
});

test('past 1024 lanes and forms every registration starts again: a lane in use goes stale and its target asks for a new one', async (t) => {
  const thread = new SenderThread();
  t.after(() => thread.close());
  const first = thread.lane(receiver.url, loopback);
  assert.equal((await first.send(form, request())).status, 200);
  for (let i = 0; i < 1100; i++) thread.lane(`http://host-${i}.test:${receiver.port}`, loopback);
  assert.equal(first.stale, true);
  const fresh = thread.lane(receiver.url, loopback);
  assert.notEqual(fresh, first);
  assert.equal((await fresh.send(form, request())).status, 200);
  // A stale lane still sends: it registers itself again.
  assert.equal((await first.send(form, request())).status, 200);
});

test('a request whose form is the registration past the limit still finds its lane (both are registered again)', async (t) => {
  const thread = new SenderThread();
  t.after(() => thread.close());
  await thread.start();
  const lane = thread.lane(receiver.url, loopback);
  // 1 + 1023 lanes: the next registration, this request's new form, starts them all again.
  for (let i = 0; i < 1023; i++) thread.lane(`http://host-${i}.test:${receiver.port}`, loopback);
  const fresh = new RequestForm({ method: 'POST', headers: ['x-form', 'new'], timeoutMs: 5000, secrets: [] });
  assert.equal((await lane.send(fresh, request())).status, 200);
  assert.equal(receiver.requests.at(-1)?.headers['x-form'], 'new');
});

test('an idle sender thread does not keep the process alive', async () => {
  const script = `
    import { SenderThread } from ${JSON.stringify(new URL('../../src/http/sender-thread.ts', import.meta.url).href)};
    import { RequestForm } from ${JSON.stringify(new URL('../../src/http/transport.ts', import.meta.url).href)};
    const thread = new SenderThread();
    const form = new RequestForm({ method: 'GET', headers: [], timeoutMs: 5000, secrets: [] });
    const lane = thread.lane(${JSON.stringify(receiver.url)}, { hostname: '127.0.0.1', address: '127.0.0.1', family: 4 });
    const answer = await lane.send(form, { path: '/idle', headers: [], webhookId: 'msg_i', timestamp: '1', body: null, signal: new AbortController().signal });
    console.log(answer.status);
  `;
  const dir = mkdtempSync(join(tmpdir(), 'hookwork-idle-'));
  try {
    const file = join(dir, 'idle.mts');
    writeFileSync(file, script);
    // It exits by itself, without close(): a thread kept referenced would hang it (and the test, until its timeout).
    const child = spawn(process.execPath, ['--import', 'tsx', file], { stdio: ['ignore', 'pipe', 'inherit'], timeout: 20_000 });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 0);
    assert.equal(out.trim(), '200');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the runtime sends webhooks from a sender thread with delivery.sender_thread: true, started with it; false keeps them on the main thread; the default (auto) chooses per request from 2 cores', async (t) => {
  for (const senderThread of [undefined, true, false] as const) {
    const runtime = await testRuntime(t, {
      events: [{ id: '100', name: 'uploaded' }],
      store: { url: 'memory' },
      ssrf: { allow: ['127.0.0.1/32'] },
      ...(senderThread === undefined ? {} : { delivery: { sender_thread: senderThread } }),
      handlers: [{ type: 'webhook', name: 'h', url: `${receiver.url}/rt`, actions: ['uploaded'] }],
    });
    assert.equal(runtime.config.delivery.sender_thread, senderThread ?? 'auto');
    const http = runtime.services.targets?.http;
    const expected = senderThread === true ? SenderThread : senderThread === false || usableCores() < 2 ? HttpPools : AdaptiveTransport;
    assert.ok(http instanceof expected, `${String(senderThread)}: ${http?.constructor.name}`);
    // With a webhook configured the thread started with the runtime, before the first delivery.
    if (http instanceof SenderThread) assert.ok(http[kWorker] !== undefined);
    if (http instanceof AdaptiveTransport) assert.ok(http.thread[kWorker] !== undefined);
    receiver.requests.length = 0;
    await runtime.host.emit('100', { data: { path: '/a' } });
    const [received] = await receiver.waitFor(1);
    assert.equal(received?.url, '/rt');
  }
});

test('delivery.sender_thread auto: chosen per request (adaptive) from 2 cores, the main thread on one; true and false are kept', () => {
  assert.equal(senderMode('auto', 1), 'main');
  assert.equal(senderMode('auto', 2), 'adaptive');
  assert.equal(senderMode('auto', 16), 'adaptive');
  assert.equal(senderMode(true, 1), 'thread');
  assert.equal(senderMode(true, 2), 'thread');
  assert.equal(senderMode(false, 16), 'main');
});
