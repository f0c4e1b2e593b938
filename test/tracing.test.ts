// OpenTelemetry traces with the SDK's in-memory exporter: the span tree of an
// emit through to the webhook request, gate chains, the gateway continuing an
// incoming traceparent, and a retry after a restart joining the first trace.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-node';
import { createHost } from '../src/host.js';
import { silentLogger } from '../src/logger.js';
import { createRuntime } from '../src/runtime/runtime.js';
import { parseTraceparent, tracingOn } from '../src/tracing.js';
import { FIXTURES, startRuntime } from './extensions/helpers.js';
import { useReceiver } from './helpers/receiver.js';
import { waitFor } from './helpers/wait-for.js';
import { testRuntime } from './helpers/runtime.js';
import { send, startGateway } from './server/gateway-helpers.js';

const exporter = new InMemorySpanExporter();
const receiver = useReceiver();

before(() => {
  // Off until a provider is registered: the hot paths make no span at all.
  assert.equal(tracingOn(), false);
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  provider.register();
  assert.equal(tracingOn(), true);
});

const spans = (): ReadableSpan[] => exporter.getFinishedSpans();
const named = (name: string): ReadableSpan[] => spans().filter((s) => s.name === name);
const one = (name: string): ReadableSpan => {
  const found = named(name);
  assert.equal(found.length, 1, `one span "${name}" (spans: ${spans().map((s) => s.name).join(', ')})`);
  return found[0] as ReadableSpan;
};
const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;
const idOf = (span: ReadableSpan): string => span.spanContext().spanId;
const traceOf = (span: ReadableSpan): string => span.spanContext().traceId;

test('emit → route → enqueue → delivery attempt → HTTP request: one trace, each span the child of the one before; the receiver gets its traceparent', async (t) => {
  exporter.reset();
  const runtime = await testRuntime(t, {
    events: [{ id: '100', name: 'upload' }],
    ssrf: { allow: ['127.0.0.1/32'] },
    // The sender thread whatever the machine's cores (the default, auto, uses it on 3 or more): the header must cross with the request.
    delivery: { sender_thread: true },
    handlers: [{ type: 'webhook', name: 'uploads', url: `${receiver.url}/hook?secret=s3cr3t`, target_events: ['100'] }],
  });
  await runtime.host.emit('100', { data: { path: '/a' } });
  const [request] = await receiver.waitFor(1);
  await waitFor(() => named('deliver handler:uploads').length === 1, { what: 'the attempt span', timeoutMs: 5000 });

  const emit = one('emit 100');
  const route = one('route 100');
  const enqueue = one('enqueue');
  const attempt = one('deliver handler:uploads');
  const http = one('POST');
  assert.equal(parentOf(route), idOf(emit));
  assert.equal(parentOf(enqueue), idOf(route));
  assert.equal(parentOf(attempt), idOf(enqueue), 'the attempt is a child of the enqueue span (the stored context)');
  assert.equal(parentOf(http), idOf(attempt));
  for (const span of [route, enqueue, attempt, http]) assert.equal(traceOf(span), traceOf(emit));

  assert.equal(http.attributes['http.request.method'], 'POST');
  assert.equal(http.attributes['server.address'], '127.0.0.1');
  assert.equal(http.attributes['url.full'], `${receiver.url}/hook`, 'no query (it may hold a secret)');
  assert.equal(http.attributes['http.response.status_code'], 200);
  assert.equal(attempt.attributes['hookwork.delivery.attempt'], 1);

  // The request went through the sender thread: the header crossed with it.
  assert.equal(runtime.config.delivery.sender_thread, true);
  const remote = parseTraceparent(request?.headers['traceparent']);
  assert.ok(remote !== undefined, `a valid traceparent: ${String(request?.headers['traceparent'])}`);
  assert.equal(remote.traceId, traceOf(emit), "the receiver's trace id is the event's");
  assert.equal(remote.spanId, idOf(http), 'the parent is the HTTP client span of this attempt');
});

test('a gate chain is a span, each gate a child span with its outcome', async () => {
  exporter.reset();
  const host = createHost({ logger: silentLogger() });
  host.scope('a').onGate('pre-upload', () => undefined, { name: 'first' });
  host.scope('b').onGate('pre-upload', async () => false, { name: 'second' });
  const decision = await host.gate('pre-upload', {});
  assert.equal(decision.verdict, 'deny');
  const chain = one('gate pre-upload');
  const first = one('gate pre-upload first');
  const second = one('gate pre-upload second');
  assert.equal(parentOf(first), idOf(chain));
  assert.equal(parentOf(second), idOf(chain));
  assert.equal(first.attributes['hookwork.gate.outcome'], 'ok');
  assert.equal(second.attributes['hookwork.gate.outcome'], 'deny');
  assert.equal(chain.attributes['hookwork.gate.verdict'], 'deny');
  assert.equal(chain.attributes['hookwork.gate.decided_by'], 'second');
  await host.close();
});

test('change points and method calls (through middleware) get spans', async () => {
  exporter.reset();
  const host = createHost({ logger: silentLogger() });
  host.declareChange('quota');
  host.scope('p').onChange('quota', (change) => (change as { value: number }).value * 2);
  host.define('sum', (a: number, b: number) => a + b);
  host.scope('p').use('sum', (next, a, b) => (next(a, b) as number) + 1);
  const outcome = await host.change('quota', 1, 5);
  assert.deepEqual(outcome, { blocked: false, value: 10 });
  assert.equal(host.call('sum', 1, 2), 4, 'a synchronous method stays synchronous');
  assert.equal(one('change quota').attributes['hookwork.change.outcome'], 'applied');
  assert.deepEqual(one('call sum').attributes['hookwork.middleware'], ['p']);
  await host.close();
});

test('a traceparent sent to POST /v1/events continues that trace; the request id is a span attribute', async (t) => {
  exporter.reset();
  const gw = await startGateway({ events: [{ id: '7', name: 'ping' }] });
  t.after(() => gw.close());
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const parent = '00f067aa0ba902b7';
  const reply = await send(gw.url, 'POST', '/v1/events', {
    json: { id: '7' },
    headers: { traceparent: `00-${traceId}-${parent}-01`, 'x-request-id': 'req-42' },
  });
  assert.equal(reply.status, 202);
  await waitFor(() => named('POST /v1/events').length === 1, { what: 'the request span', timeoutMs: 5000 });
  const server = one('POST /v1/events');
  assert.equal(traceOf(server), traceId);
  assert.equal(parentOf(server), parent);
  assert.equal(server.attributes['hookwork.request_id'], 'req-42');
  assert.equal(server.attributes['http.route'], '/v1/events');
  assert.equal(server.attributes['http.response.status_code'], 202);
  const emit = one('emit 7');
  assert.equal(parentOf(emit), idOf(server));
  assert.equal(traceOf(emit), traceId);

  // A malformed traceparent starts a new trace (W3C), it is not an error.
  exporter.reset();
  const bad = await send(gw.url, 'POST', '/v1/events', { json: { id: '7' }, headers: { traceparent: '00-zzzz-01' } });
  assert.equal(bad.status, 202);
  await waitFor(() => named('POST /v1/events').length === 1, { what: 'the request span', timeoutMs: 5000 });
  assert.equal(one('POST /v1/events').parentSpanContext, undefined);
});

test('a retry after a restart (SQLite store reopened) joins the trace of the event', async (t) => {
  exporter.reset();
  const dir = mkdtempSync(join(tmpdir(), 'hookwork-trace-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = {
    server: { data_dir: join(dir, 'data') },
    store: { url: 'sqlite:hookwork.db' },
    delivery: { poll_interval: 0.1, retry_schedule: [0, 0.5, 0.5] },
    events: [{ id: '100', name: 'upload' }],
    ssrf: { allow: ['127.0.0.1/32'] },
    handlers: [{ type: 'webhook' as const, name: 'uploads', url: `${receiver.url}/hook`, target_events: ['100'] }],
  };
  receiver.respond((_req, res) => res.writeHead(503).end('later'));
  const first = await createRuntime({ logger: silentLogger(), baseDir: dir, config });
  await first.host.emit('100', { data: {} });
  await receiver.waitFor(1);
  await waitFor(async () => (await first.services.delivery!.store.list()).some((d) => d.attempts === 1 && d.state === 'pending'), { what: 'the failed attempt recorded', timeoutMs: 5000 });
  await first.close();
  const eventTrace = traceOf(one('emit 100'));
  const enqueue = one('enqueue');

  receiver.respond((_req, res) => res.writeHead(200).end('ok'));
  exporter.reset();
  const second = await createRuntime({ logger: silentLogger(), baseDir: dir, config });
  t.after(() => second.close());
  const [, retried] = await receiver.waitFor(2, 10_000);
  await waitFor(() => named('deliver handler:uploads').length === 1, { what: 'the retry span', timeoutMs: 5000 });
  const attempt = one('deliver handler:uploads');
  assert.equal(attempt.attributes['hookwork.delivery.attempt'], 2);
  assert.equal(traceOf(attempt), eventTrace, 'the retry is in the trace of the event');
  assert.equal(parentOf(attempt), idOf(enqueue), 'its parent is the enqueue span, read back from the store');
  assert.equal(parseTraceparent(retried?.headers['traceparent'])?.traceId, eventTrace);
});

test('an extension handler: getConfiguration and handle (recorded around the pool call) are children of the emit', async () => {
  exporter.reset();
  const rt = await startRuntime(
    {
      events: [{ id: '2000', name: 'work' }],
      extensions: { folder: FIXTURES, pool: { size: 1 } },
      handlers: [{ type: 'extension', name: 'decisions', entry_point: 'lifecycle.ts#Decisions', target_events: ['2000'] }],
    },
    FIXTURES,
  );
  try {
    await rt.runtime.host.emit('2000', { data: {} });
    await rt.runtime.services.extensions?.idle();
    await waitFor(() => named('extension handle decisions').length === 1, { what: 'the handle span', timeoutMs: 5000 });
    const emit = one('emit 2000');
    const decide = one('extension getConfiguration decisions');
    const handle = one('extension handle decisions');
    assert.equal(parentOf(decide), idOf(emit));
    assert.equal(parentOf(handle), idOf(emit));
    assert.equal(traceOf(handle), traceOf(emit));
    assert.equal(handle.attributes['hookwork.event.id'], '2000');
  } finally {
    await rt.close();
  }
});

test('with no provider the API hands out non-recording spans (the guard mirrors the registration)', () => {
  trace.disable();
  assert.equal(tracingOn(), false);
});
