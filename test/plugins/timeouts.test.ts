// Lifecycle bounds: the default start and stop timeouts (10 s, from the
// config schema and PluginManager's own default; the clock is mocked, so no
// test waits 10 s), and a background task that ignores its abort signal.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pluginsConfigSchema } from '../../src/plugins/config-schema.js';
import { fixture, hostRegistrations } from './helpers.js';
import { waitFor } from '../helpers/wait-for.js';
import { captureLogger } from '../helpers/capture-logger.js';

/** Lets pending promise callbacks and I/O run (a few event-loop turns). */
async function turns(n = 20): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** After a failure, fires whatever the mocked clock still holds, so cleanup does not hang. */
function releaseClock(t: { mock: { timers: { tick(ms: number): void } } }): void {
  try {
    t.mock.timers.tick(3_600_000);
  } catch {
    // the mock is already reset
  }
}

test('the plugins config defaults start_timeout and stop_timeout to 10 seconds', () => {
  const parsed = pluginsConfigSchema.parse({});
  assert.equal(parsed.start_timeout, 10);
  assert.equal(parsed.stop_timeout, 10);
});

test('PluginManager\'s default start timeout is 10 s: a start that never ends fails at 10 000 ms, not before', async (t) => {
  const f = fixture(); // no startTimeoutMs
  t.after(() => {
    releaseClock(t);
    return f.cleanup();
  });
  f.write('slow.mjs', `export const plugin = { name: 'slow', version: '1', setup(ctx) {
    ctx.on('*', () => {});
    return { start: () => new Promise(() => {}) };
  } };\n`);
  await f.manager.discover(); // the import runs on the real clock
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const loading = f.manager.load('slow');
  loading.catch(() => undefined);
  await waitFor(() => f.manager.get('slow')?.state === 'loading', { what: 'the plugin is starting', immediate: true });
  t.mock.timers.tick(9_999);
  await turns();
  assert.equal(f.manager.get('slow')?.state, 'loading', 'still starting just before 10 s');
  t.mock.timers.tick(1);
  await waitFor(() => f.manager.get('slow')?.state === 'failed', { what: 'the start times out at 10 s', immediate: true });
  await assert.rejects(loading, (err: Error & { code?: string; cause?: { code?: string; timeoutMs?: number } }) => {
    assert.equal(err.code, 'HKW_ERR_PLUGIN_START_FAILED');
    assert.equal(err.cause?.code, 'HKW_ERR_TIMEOUT');
    assert.equal(err.cause?.timeoutMs, 10_000);
    return true;
  });
  assert.equal(f.manager.get('slow')?.state, 'failed');
  assert.equal(f.host.notifier.size, 0);
});

test('PluginManager\'s default stop timeout is 10 s: a stop() that never ends is cut off at 10 000 ms', async (t) => {
  const f = fixture(); // no stopTimeoutMs
  t.after(() => {
    releaseClock(t);
    return f.cleanup();
  });
  f.write('stuck.mjs', `export const plugin = { name: 'stuck', version: '1', setup(ctx) {
    ctx.on('*', () => {});
    return { stop: () => new Promise(() => {}) };
  } };\n`);
  await f.manager.load('stuck');
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const unloading = f.manager.unload('stuck');
  await waitFor(() => f.manager.get('stuck')?.state === 'stopping', { what: 'the plugin is stopping', immediate: true });
  t.mock.timers.tick(9_999);
  await turns();
  assert.equal(f.manager.get('stuck')?.state, 'stopping', 'still stopping just before 10 s');
  t.mock.timers.tick(1);
  await waitFor(() => f.manager.get('stuck')?.state === 'stopped', { what: 'the stop is cut off at 10 s', immediate: true });
  const info = await unloading;
  assert.equal(info.state, 'stopped');
  assert.equal(info.lastError?.code, 'HKW_ERR_TIMEOUT');
  assert.match(info.lastError?.message ?? '', /within 10000 ms/);
  assert.equal(f.host.notifier.size, 0);
});

test('a task that ignores its abort signal: unload ends after stop_timeout, its registrations are gone, the task is left behind', async (t) => {
  const logger = captureLogger();
  const f = fixture({ stopTimeoutMs: 50, hostOptions: { logger, changes: { 'agent-status': { mode: 'exclusive' } } } });
  const state = { ticks: 0, release: false, ended: false };
  (globalThis as Record<string, unknown>)['__stubborn'] = state;
  t.after(async () => {
    state.release = true; // lets the stubborn loop end, so the process can exit
    await waitFor(() => state.ended, 'the stubborn loop ends once released');
    await f.cleanup();
  });
  f.write('stubborn.mjs', `export const plugin = { name: 'stubborn', version: '1', setup(ctx) {
    ctx.on('*', () => {});
    ctx.onGate('pre-upload', () => true);
    ctx.onChange('agent-status', () => undefined);
    ctx.use('users.get', (next, ...args) => next(...args));
    ctx.define('stubborn.ping', () => 'pong');
    ctx.route('GET', '/', () => 'ok');
    ctx.onMonitoring(() => {});
    ctx.task(async () => {
      const state = globalThis.__stubborn;
      while (!state.release) {   // never looks at its signal
        state.ticks++;
        await new Promise((r) => setTimeout(r, 2));
      }
      state.ended = true;
    }, { name: 'stubborn-loop' });
  } };\n`);
  const points = { gates: ['pre-upload'], changes: ['agent-status'], methods: ['users.get'] };
  const baseline = hostRegistrations(f.host, f.manager, points);
  await f.manager.load('stubborn');
  await waitFor(() => state.ticks > 2, 'the loop runs');
  assert.notDeepEqual(hostRegistrations(f.host, f.manager, points), baseline);
  assert.equal(f.host.methods.has('stubborn.ping'), true);
  assert.equal(f.manager.routes.list('stubborn').length, 1);

  const info = await f.manager.unload('stubborn');
  assert.equal(info.state, 'stopped');
  assert.equal(state.ended, false, 'unload did not wait for the task to end');
  assert.deepEqual(hostRegistrations(f.host, f.manager, points), baseline, 'every registration is gone');
  assert.equal(f.host.methods.has('stubborn.ping'), false);
  assert.deepEqual(f.manager.routes.list('stubborn'), []);
  assert.ok(
    logger.lines.some((l) => l.level === 'warn' && /Task "stubborn-loop" of plugin "stubborn" did not end within 50 ms of its abort; left behind/.test(l.msg ?? '')),
    'the left-behind task is logged',
  );
  // It is still running: left behind, as logged; and a new load starts cleanly beside it.
  const ticks = state.ticks;
  await waitFor(() => state.ticks > ticks, 'the left-behind loop still ticks');
  assert.equal((await f.manager.load('stubborn')).state, 'running');
});
