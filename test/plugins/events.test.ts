// LUNA's event plugins: monitoring points (one per hook call) and sending
// records reach plugins through their context, owned by their scope.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { silentLogger } from '../../src/logger.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { Monitor } from '../../src/hooks/monitor.js';
import type { MonitoringPoint, SendingRecord } from '../../src/index.js';
import { fixture, tempFolder } from './helpers.js';
import { waitFor } from '../helpers/wait-for.js';

test('ctx.onMonitoring receives a point per notify, gate, change and middleware call', async (t) => {
  const f = fixture({ hostOptions: { events: [{ id: 'ev', name: 'ev' }], changes: { status: {} } } });
  t.after(() => f.cleanup());
  f.write('watch.mjs', `
export const plugin = { name: 'watch', version: '1', setup(ctx) {
  globalThis.__points = [];
  ctx.onMonitoring((batch) => { globalThis.__points.push(...batch); });
  ctx.on('ev', () => {});
  ctx.onGate('pre-upload', () => false);
  ctx.onChange('status', ({ value }) => value + '!');
  ctx.define('users.get', (id) => ({ id }));
  ctx.use('users.get', (next, id) => next(id));
} };`);
  await f.manager.load('watch');
  assert.equal(f.host.monitor.enabled, true);
  await f.host.emit('ev');
  await f.host.idle();
  await f.host.gate('pre-upload', {});
  await f.host.change('status', 'a', 'b');
  f.host.call('users.get', 1);
  f.host.monitor.flush();
  const points = (globalThis as unknown as { __points: MonitoringPoint[] }).__points;
  const summary = points.map((p) => `${p.kind}:${p.name}:${p.by}:${p.outcome}`);
  assert.deepEqual(summary, [
    'notify:ev:plugin:watch:ok',
    'gate:pre-upload:plugin:watch:deny',
    'change:status:plugin:watch:ok',
    'middleware:users.get:plugin:watch:ok',
  ]);
  for (const point of points) {
    assert.equal(typeof point.durationMs, 'number');
    assert.equal(typeof point.at, 'number');
  }
  await f.manager.unload('watch');
  assert.equal(f.host.monitor.enabled, false, 'monitoring costs nothing again once the listener is gone');
});

test('handler runs and delivery attempts recorded on the monitor reach monitoring plugins', async (t) => {
  const f = fixture();
  t.after(() => f.cleanup());
  f.write('watch.mjs', `export const plugin = { name: 'watch2', version: '1', setup(ctx) {
    globalThis.__kinds = [];
    ctx.onMonitoring((batch) => { for (const p of batch) globalThis.__kinds.push(p.kind); });
  } };`);
  await f.manager.load('watch2');
  // What the extensions and delivery layers record (their own tests cover that they do).
  f.host.monitor.record({ kind: 'handler', name: 'h1', by: 'handler:h1', outcome: 'ok', durationMs: 1, at: Date.now() });
  f.host.monitor.record({ kind: 'delivery', name: 'd1', by: 'webhook:x', outcome: 'error', durationMs: 2, at: Date.now() });
  f.host.monitor.flush();
  assert.deepEqual((globalThis as unknown as { __kinds: string[] }).__kinds, ['handler', 'delivery']);
});

test('ctx.onSending receives sending records; a failing listener hurts nobody; unload unsubscribes', async (t) => {
  const f = fixture();
  t.after(() => f.cleanup());
  f.write('sender.mjs', `export const plugin = { name: 'sender', version: '1', setup(ctx) {
    globalThis.__sent = [];
    ctx.onSending(async (record) => { globalThis.__sent.push(record.handlerId); });
    ctx.onSending(() => { throw new Error('bad listener'); });
  } };`);
  await f.manager.load('sender');
  const record: SendingRecord = {
    events: [],
    handlerId: 'h-1',
    handlerName: 'faces',
    accountId: 'acc',
    requestId: 'req',
    createEventTime: new Date().toISOString(),
    endEventTime: new Date().toISOString(),
  };
  f.host.channels.sending.publish(record);
  assert.deepEqual((globalThis as unknown as { __sent: string[] }).__sent, ['h-1']);
  assert.equal(f.host.channels.sending.active, true);
  await f.manager.unload('sender');
  assert.equal(f.host.channels.sending.active, false);
});

test('the runtime installs plugins: active ones start, a failing one does not stop the runtime, close stops them', async (t) => {
  const dir = tempFolder('hookwork-plugins-rt-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const f = fixture({ folder: join(dir, 'plugins') });
  t.after(() => f.cleanup());
  f.write('ok.mjs', `export const plugin = { name: 'ok', version: '1', setup(ctx) {
    globalThis.__rt = { config: ctx.config, stopped: false };
    return { stop() { globalThis.__rt.stopped = true; } };
  } };`);
  f.write('bad.mjs', `export const plugin = { name: 'bad', version: '1', setup() { throw new Error('nope'); } };`);
  f.write('idle.mjs', `export const plugin = { name: 'idle', version: '1', setup() {} };`);
  const runtime = await createRuntime({
    config: {
      server: { data_dir: join(dir, 'data') },
      plugins: { folder: 'plugins', active: ['bad', 'ok', 'ghost'], config: { ok: { colour: 'blue' } }, start_timeout: 2, stop_timeout: 2 },
    },
    baseDir: dir,
    logger: silentLogger(),
  });
  const plugins = runtime.services.plugins;
  assert.ok(plugins !== undefined);
  const states = Object.fromEntries(plugins.list().map((p) => [p.name, p.state]));
  assert.deepEqual(states, { bad: 'failed', ghost: 'failed', idle: 'discovered', ok: 'running' });
  assert.equal(plugins.get('ghost')?.lastError?.code, 'HKW_ERR_PLUGIN_NOT_FOUND');
  const rt = (globalThis as unknown as { __rt: { config: unknown; stopped: boolean } }).__rt;
  assert.deepEqual(rt.config, { colour: 'blue' });
  await runtime.close();
  await waitFor(() => rt.stopped, 'stop ran on close');
  assert.equal(plugins.get('ok')?.state, 'stopped');
});

test('the monitor sends a batch as soon as it holds 100 points, without flush()', async (t) => {
  const f = fixture();
  t.after(() => f.cleanup());
  f.write('sizes.mjs', `export const plugin = { name: 'sizes', version: '1', setup(ctx) {
    globalThis.__sizes = [];
    ctx.onMonitoring((batch) => { globalThis.__sizes.push(batch.length); });
  } };`);
  await f.manager.load('sizes');
  const sizes = (globalThis as unknown as { __sizes: number[] }).__sizes;
  const point = (i: number): MonitoringPoint => ({ kind: 'gate', name: `g${i}`, by: 'test', outcome: 'ok', durationMs: 0, at: Date.now() });
  for (let i = 0; i < 99; i++) f.host.monitor.record(point(i));
  assert.deepEqual(sizes, [], '99 points wait for the batch to fill (or the timer)');
  f.host.monitor.record(point(99));
  assert.deepEqual(sizes, [100], 'the 100th point sends the batch at once');
  for (let i = 100; i < 250; i++) f.host.monitor.record(point(i));
  assert.deepEqual(sizes, [100, 100], 'the next 100 make a second batch; 50 wait');
});

test('the monitor sends a partial batch on its timer, without flush()', async () => {
  const monitor = new Monitor({ flushMs: 5 });
  const batches: string[][] = [];
  const unsubscribe = monitor.subscribe((batch) => batches.push(batch.map((p) => p.name)));
  const point = (name: string): MonitoringPoint => ({ kind: 'notify', name, by: 'test', outcome: 'ok', durationMs: 0, at: Date.now() });
  monitor.record(point('a'));
  monitor.record(point('b'));
  assert.deepEqual(batches, [], 'below the batch size nothing is sent at once');
  await waitFor(() => batches.length === 1, 'the timer sends the partial batch');
  assert.deepEqual(batches, [['a', 'b']]);
  // The timer is armed again by the next point, not left running.
  monitor.record(point('c'));
  await waitFor(() => batches.length === 2, 'the next point is sent on the timer too');
  assert.deepEqual(batches, [['a', 'b'], ['c']]);
  assert.equal(monitor.enabled, true);
  unsubscribe();
  assert.equal(monitor.enabled, false);
});

test('the monitor\'s timer defaults to one second (mocked clock)', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const monitor = new Monitor();
  const sizes: number[] = [];
  monitor.subscribe((batch) => sizes.push(batch.length));
  monitor.record({ kind: 'notify', name: 'x', by: 'test', outcome: 'ok', durationMs: 0, at: 0 });
  t.mock.timers.tick(999);
  assert.deepEqual(sizes, [], 'not before one second');
  t.mock.timers.tick(1);
  assert.deepEqual(sizes, [1]);
});
