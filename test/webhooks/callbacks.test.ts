import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { HookworkConfigInput } from '../../src/config/schema.js';
import { CallbackTokenError } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import { createRuntime, type Runtime } from '../../src/runtime/runtime.js';
import { listenBaseUrl } from '../../src/server/routes/callbacks.js';
import { createGateway } from '../../src/server/gateway.js';
import { Callbacks, MemoryCallbackStore, hashToken, type CallbackRecord } from '../../src/webhooks/callbacks.js';

interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: unknown;
  msg: string | undefined;
}

function recordingLogger(lines: LogLine[]): Logger {
  const logger: Logger = {
    debug: (obj, msg) => void lines.push({ level: 'debug', obj, msg }),
    info: (obj, msg) => void lines.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => void lines.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => void lines.push({ level: 'error', obj, msg }),
    child: () => logger,
  };
  return logger;
}

/** A runtime whose log lines the test reads. */
async function loggedRuntime(t: TestContext, config: HookworkConfigInput, lines: LogLine[]): Promise<Runtime> {
  const dir = mkdtempSync(join(tmpdir(), 'hookwork-callbacks-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const runtime = await createRuntime({
    logger: recordingLogger(lines),
    baseDir: dir,
    config: { ...config, server: { data_dir: join(dir, 'data'), ...(config.server ?? {}) } },
  });
  t.after(() => runtime.close());
  return runtime;
}

const record: CallbackRecord = {
  target: 'webhook:w',
  webhookId: 'msg_1',
  eventId: '7',
  eventUuid: 'e-1',
  eventName: 'create_user',
  accountName: 'carol',
  accountUuid: 'u-1',
};

test('the same delivery gets the same URL on every retry; another delivery another URL', () => {
  const callbacks = new Callbacks({ publicUrl: 'https://gw.example/' });
  const a = callbacks.urlFor(record);
  assert.equal(callbacks.urlFor(record), a);
  assert.notEqual(callbacks.urlFor({ ...record, webhookId: 'msg_2' }), a);
  assert.match(a, /^https:\/\/gw\.example\/v1\/callbacks\/[A-Za-z0-9_-]{43}$/);
});

test('only the SHA-256 of the token is stored', () => {
  const store = new MemoryCallbackStore();
  const callbacks = new Callbacks({ store, publicUrl: 'http://x' });
  const token = callbacks.urlFor(record).split('/').pop() as string;
  assert.equal(store.size, 1);
  assert.ok(store.get(hashToken(token)) !== undefined);
  assert.equal(store.get(token), undefined);
});

test('single use, expiry (default 24 h, configurable) and unknown tokens', async () => {
  let now = 1_000_000;
  const reports: string[] = [];
  const callbacks = new Callbacks({ ttlSeconds: 60, now: () => now, publicUrl: 'http://x' });
  callbacks.onFailure((r) => void reports.push(r.error));
  const token = callbacks.urlFor(record).split('/').pop() as string;
  const report = await callbacks.report(token, { error: 'nope', details: { a: 1 } });
  assert.deepEqual([report.error, report.details, report.record.accountName], ['nope', { a: 1 }, 'carol']);
  await assert.rejects(callbacks.report(token), (e: unknown) => e instanceof CallbackTokenError && e.reason === 'used' && e.statusCode === 410);
  const late = callbacks.urlFor({ ...record, webhookId: 'msg_late' }).split('/').pop() as string;
  now += 61_000;
  await assert.rejects(callbacks.report(late), (e: unknown) => e instanceof CallbackTokenError && e.reason === 'expired' && /callbacks\.ttl/.test(e.message));
  await assert.rejects(callbacks.report('A'.repeat(43)), (e: unknown) => e instanceof CallbackTokenError && e.statusCode === 404);
  assert.deepEqual(reports, ['nope']);
  const defaults = new Callbacks({ now: () => 0, publicUrl: 'http://x' });
  const store = new MemoryCallbackStore();
  const d = new Callbacks({ store, now: () => 0, publicUrl: 'http://x' });
  const t = d.urlFor(record).split('/').pop() as string;
  assert.equal(store.get(hashToken(t))?.expiresAt, 86_400_000);
  assert.ok(defaults);
});

test('a failure listener that throws: the report is still accepted, the token is used, the other listeners run', async () => {
  const callbacks = new Callbacks({ publicUrl: 'http://x' });
  const seen: string[] = [];
  callbacks.onFailure(() => {
    throw new Error('queue unavailable');
  });
  callbacks.onFailure(async (r) => void seen.push(r.error));
  const token = callbacks.urlFor(record).split('/').pop() as string;
  const receipt = await callbacks.report(token, { error: 'quota' });
  assert.equal(receipt.error, 'quota');
  assert.deepEqual(receipt.listenerErrors.map((e) => e.message), ['queue unavailable']);
  assert.deepEqual(seen, ['quota'], 'the listener after the failing one ran');
  await assert.rejects(callbacks.report(token), (e: unknown) => e instanceof CallbackTokenError && e.reason === 'used');
  const clean = new Callbacks({ publicUrl: 'http://x' });
  const cleanToken = clean.urlFor(record).split('/').pop() as string;
  assert.deepEqual((await clean.report(cleanToken)).listenerErrors, []);
});

test('gateway: a throwing failure listener gives the receiver 202 (accepted, logged), not 500; the token stays used', async (t) => {
  const lines: LogLine[] = [];
  const runtime = await loggedRuntime(t, { server: { public_url: 'http://gw.example' } }, lines);
  const callbacks = runtime.services.callbacks;
  assert.ok(callbacks !== undefined);
  callbacks.onFailure(() => {
    throw new Error('listener broke');
  });
  const gateway = await createGateway(runtime, { port: 0, host: '127.0.0.1' });
  t.after(() => gateway.close());
  const base = await gateway.listen();
  const token = callbacks.urlFor(record).split('/').pop() as string;
  const call = (): Promise<Response> =>
    fetch(`${base}/v1/callbacks/${token}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: 'bounced' }) });
  const first = await call();
  assert.equal(first.status, 202);
  assert.deepEqual(await first.json(), { ok: true, target: 'webhook:w', error: 'bounced' });
  const logged = lines.filter((l) => l.level === 'error' && /callback failure listener failed/.test(l.msg ?? ''));
  assert.equal(logged.length, 1);
  assert.match(String((logged[0]?.obj as { err?: Error }).err?.message), /listener broke/);
  const again = await call();
  assert.equal(again.status, 410);
  assert.equal(((await again.json()) as { code: string }).code, 'HKW_ERR_CALLBACK_USED');
});

test('without server.public_url a gateway on 0.0.0.0 gives callback URLs on 127.0.0.1 and warns once', async (t) => {
  const lines: LogLine[] = [];
  const runtime = await loggedRuntime(t, {}, lines);
  const callbacks = runtime.services.callbacks;
  assert.ok(callbacks !== undefined);
  const gateway = await createGateway(runtime, { port: 0, host: '0.0.0.0' });
  t.after(() => gateway.close());
  await gateway.listen();
  const port = (gateway.app.server.address() as { port: number }).port;
  assert.equal(callbacks.publicUrl, `http://127.0.0.1:${port}`);
  const url = callbacks.urlFor(record);
  assert.match(url, new RegExp(`^http://127\\.0\\.0\\.1:${port}/v1/callbacks/[A-Za-z0-9_-]{43}$`));
  // The URL works: the token is known to the gateway it points at.
  const reported = await fetch(url, { method: 'POST' });
  assert.equal(reported.status, 200);
  const warnings = lines.filter((l) => l.level === 'warn' && /server\.public_url/.test(l.msg ?? ''));
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]?.msg ?? '', /0\.0\.0\.0/);
});

test('the callback base URL from a listen address: wildcards become loopback, others are kept', () => {
  assert.deepEqual(listenBaseUrl({ address: '0.0.0.0', family: 'IPv4', port: 8080 }), { url: 'http://127.0.0.1:8080', wildcard: true });
  assert.deepEqual(listenBaseUrl({ address: '::', family: 'IPv6', port: 8080 }), { url: 'http://[::1]:8080', wildcard: true });
  assert.deepEqual(listenBaseUrl({ address: '10.0.0.7', family: 'IPv4', port: 81 }), { url: 'http://10.0.0.7:81', wildcard: false });
  assert.deepEqual(listenBaseUrl({ address: '::1', family: 'IPv6', port: 81 }), { url: 'http://[::1]:81', wildcard: false });
});
