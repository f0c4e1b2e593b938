// Access logs through the runtime's pino logger: one line per request with
// its id, method, route pattern, status and duration; the id returned as
// X-Request-Id and carried by every line logged while the request is served;
// never a token, an Authorization header, a query or a body.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import type { HookworkConfigInput } from '../../src/config/schema.js';
import { createLogger, prettyLine } from '../../src/logger.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { createGateway } from '../../src/server/gateway.js';
import { send } from './gateway-helpers.js';

interface Line {
  level: number;
  msg: string;
  reqId?: string;
  [key: string]: unknown;
}

async function loggedGateway(t: { after(fn: () => Promise<void>): void }, config: HookworkConfigInput, level = 'info') {
  const lines: Line[] = [];
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const text of chunk.toString('utf8').split('\n')) {
        if (text === '') continue;
        raw.push(text);
        lines.push(JSON.parse(text) as Line);
      }
      done();
    },
  });
  const dir = await mkdtemp(join(tmpdir(), 'hookwork-logs-'));
  const runtime = await createRuntime({
    config: { ...config, server: { data_dir: join(dir, 'data') } },
    baseDir: dir,
    logger: createLogger({ level, destination }),
  });
  const gateway = await createGateway(runtime, { port: 0, host: '127.0.0.1' });
  const url = await gateway.listen();
  t.after(async () => {
    await gateway.close();
    await runtime.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { url, lines, raw };
}

const TOKEN = 'operator-token-0123456789';

test('one access line per request: request id, method, route pattern, status, duration; no token, header, query or body', async (t) => {
  const { url, lines, raw } = await loggedGateway(t, {
    events: [{ id: '7', name: 'ping' }],
    auth: { tokens: [{ name: 'op', token: TOKEN, role: 'operator' }] },
  });
  const reply = await send(url, 'POST', '/v1/events?token=query-secret', {
    json: { id: '7', data: { password: 'body-secret' } },
    headers: { authorization: `Bearer ${TOKEN}`, 'x-request-id': 'abc-123' },
  });
  assert.equal(reply.status, 202);
  assert.equal(reply.headers['x-request-id'], 'abc-123', 'the caller id is returned');
  const missing = await send(url, 'GET', '/v1/deliveries/nope', { headers: { authorization: `Bearer ${TOKEN}` } });
  const generated = String(missing.headers['x-request-id']);
  assert.match(generated, /^[0-9a-f-]{36}$/, 'generated when none is sent');

  const access = lines.filter((l) => l['route'] !== undefined || l['path'] !== undefined);
  assert.equal(access.length, 2, raw.join('\n'));
  const [emitted, notFound] = access as [Line, Line];
  assert.equal(emitted.level, 30, 'info');
  assert.equal(emitted.reqId, 'abc-123');
  assert.equal(emitted['method'], 'POST');
  assert.equal(emitted['route'], '/v1/events');
  assert.equal(emitted['path'], '/v1/events');
  assert.equal(emitted['status'], 202);
  assert.equal(typeof emitted['durationMs'], 'number');
  assert.equal(notFound.reqId, generated);
  assert.equal(notFound['route'], '/v1/deliveries/:id', 'the pattern, not the id');
  assert.equal(notFound['status'], 404);
  const all = raw.join('\n');
  for (const secret of [TOKEN, 'query-secret', 'body-secret', 'Bearer']) assert.ok(!all.includes(secret), `"${secret}" is not logged`);
});

test('an X-Request-Id that is too long or not printable is replaced, never echoed', async (t) => {
  const { url } = await loggedGateway(t, {});
  for (const bad of ['x'.repeat(129), 'has space', 'tab\there']) {
    const reply = await send(url, 'GET', '/v1/health', { headers: { 'x-request-id': bad } });
    assert.notEqual(reply.headers['x-request-id'], bad);
    assert.match(String(reply.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  }
  const ok = await send(url, 'GET', '/v1/health', { headers: { 'x-request-id': 'x'.repeat(128) } });
  assert.equal(ok.headers['x-request-id'], 'x'.repeat(128));
});

test('every line logged while a request is served carries its request id (here the host warning of an unknown event id)', async (t) => {
  const { url, lines } = await loggedGateway(t, { strict: false });
  const reply = await send(url, 'POST', '/v1/events', { json: { id: 'not-declared' }, headers: { 'x-request-id': 'req-from-lb' } });
  assert.equal(reply.status, 202);
  const warning = lines.find((l) => /not in the catalogue/.test(l.msg));
  assert.ok(warning !== undefined, 'the host logged its warning');
  assert.equal(warning.reqId, 'req-from-lb');
  assert.equal(lines.filter((l) => l.reqId === 'req-from-lb').length, 2, 'the warning and the access line');
});

test('probes log at debug: nothing at info for /v1/health and /v1/ready, a debug line when debug is on', async (t) => {
  const quiet = await loggedGateway(t, {});
  await send(quiet.url, 'GET', '/v1/health');
  await send(quiet.url, 'GET', '/v1/ready');
  assert.equal(quiet.lines.filter((l) => l['path'] !== undefined).length, 0);
  const chatty = await loggedGateway(t, {}, 'debug');
  await send(chatty.url, 'GET', '/v1/health');
  const line = chatty.lines.find((l) => l['route'] === '/v1/health');
  assert.equal(line?.level, 20);
});

test('log_format: pretty writes one human line per record (time, level, message, fields); json stays the default', async () => {
  const out: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      out.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = createLogger({ format: 'pretty', destination, level: 'info' });
  logger.info({ route: '/v1/events', status: 202, note: 'two words' }, 'POST /v1/events 202');
  await new Promise((r) => setImmediate(r));
  assert.equal(out.length, 1);
  assert.match(out[0] ?? '', /^\d\d:\d\d:\d\d\.\d{3} INFO  POST \/v1\/events 202 route=\/v1\/events status=202 note="two words"\n$/);
  assert.match(prettyLine(JSON.stringify({ level: 50, time: 0, msg: 'boom', err: { message: 'bad', stack: 'Error: bad\n    at x' } })), /ERROR boom err="bad"\n  Error: bad\n      at x\n$/);
  const { configSchema } = await import('../../src/config/schema.js');
  assert.equal(configSchema.parse({}).log_format, 'json');
  assert.equal(configSchema.parse({ log_format: 'pretty' }).log_format, 'pretty');
  assert.equal(configSchema.safeParse({ log_format: 'xml' }).success, false);
});
