// Timers and start timeouts of plugins: ctx timers are cleared on unload
// even when stop() forgets; timers a plugin starts with the global functions
// are counted, reported and cleared on unload; a start() past start_timeout
// ends failed, even one that blocks the event loop.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { captureLogger } from '../helpers/capture-logger.js';
import { waitFor } from '../helpers/wait-for.js';
import { fixture } from './helpers.js';

type Counters = Record<string, number>;
const counters = (): Counters => ((globalThis as { __hookworkTicks?: Counters }).__hookworkTicks ??= {});
const ticks = (key: string): number => counters()[key] ?? 0;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A plugin whose interval bumps globalThis.__hookworkTicks[key] every 5 ms; `how` starts it. */
const ticking = (name: string, how: string): string => `
const bump = () => { const c = (globalThis.__hookworkTicks ??= {}); c['${name}'] = (c['${name}'] ?? 0) + 1; };
export const plugin = { name: '${name}', version: '1', ${how} };
`;

test('a ctx.setInterval timer stops ticking when the plugin unloads, although stop() forgets it', async (t) => {
  const f = fixture();
  t.after(() => f.cleanup());
  f.write('ctx-interval.mjs', ticking('ctx-interval', `setup(ctx) { ctx.setInterval(bump, 5); return { stop() {} }; }`));
  const info = await f.manager.load('ctx-interval');
  assert.equal(info.registrations['timer'], 1, 'the timer counts as a registration');
  await waitFor(() => ticks('ctx-interval') >= 3, 'the interval ticks while loaded');
  const unloaded = await f.manager.unload('ctx-interval');
  assert.equal(unloaded.leftoverHandles, 0, 'a ctx timer is no leftover');
  const atUnload = ticks('ctx-interval');
  await sleep(60); // a dozen intervals
  assert.equal(ticks('ctx-interval'), atUnload, 'no tick after unload');
});

test('ctx.setTimeout fires once and then no longer counts; ctx.clearInterval stops a timer; an unloaded context refuses new timers', async (t) => {
  const f = fixture();
  t.after(() => f.cleanup());
  f.write('ctx-once.mjs', `
let context;
export const plugin = { name: 'ctx-once', version: '1', setup(ctx) {
  context = ctx;
  const c = (globalThis.__hookworkTicks ??= {});
  ctx.setTimeout((a, b) => { c['ctx-once'] = a + b; }, 1, 2, 3);
  const id = ctx.setInterval(() => {}, 1000);
  ctx.define('clear', () => { ctx.clearInterval(id); return ctx.registrations(); });
  ctx.define('late', () => context);
} };
`);
  await f.manager.load('ctx-once');
  await waitFor(() => ticks('ctx-once') === 5, 'the timeout fired with its arguments');
  await waitFor(() => f.manager.get('ctx-once')?.registrations['timer'] === 1, 'a fired timeout is no longer a registration');
  const after = (await f.host.call('clear')) as Record<string, number>;
  assert.equal(after['timer'], undefined, 'a cleared interval is no longer a registration');
  const context = (await f.host.call('late')) as { setInterval(fn: () => void, ms: number): unknown };
  await f.manager.unload('ctx-once');
  assert.throws(() => context.setInterval(() => {}, 5), /unloaded|closed/i);
});

for (const [label, how] of [
  ['in setup()', `setup() { setInterval(bump, 5); }`],
  ['after an await in start()', `setup() { return { async start() { await new Promise((r) => setImmediate(r)); setInterval(bump, 5); } }; }`],
] as const) {
  test(`a global setInterval started ${label} is counted as a leftover on unload, reported and cleared`, async (t) => {
    const logger = captureLogger();
    const f = fixture({ logger });
    t.after(() => f.cleanup());
    const name = `leaky-${label.length}`;
    f.write(`${name}.mjs`, ticking(name, how));
    const loaded = await f.manager.load(name);
    assert.equal(loaded.leftoverHandles, 0);
    await waitFor(() => ticks(name) >= 3, 'the global interval ticks while loaded');
    const unloaded = await f.manager.unload(name);
    assert.equal(unloaded.leftoverHandles, 1, 'one leftover handle');
    assert.equal(f.manager.get(name)?.leftoverHandles, 1, 'the list shows it');
    const warning = logger.lines.find((l) => l.level === 'warn' && (l.obj as { plugin?: string }).plugin === name);
    assert.ok(warning, 'a warn line names the plugin');
    assert.equal((warning.obj as { leftoverHandles?: number }).leftoverHandles, 1);
    assert.match(warning.msg ?? '', /left 1 timer/);
    const atUnload = ticks(name);
    await sleep(60); // a dozen intervals
    assert.equal(ticks(name), atUnload, 'the leftover interval was cleared');
  });
}

test('timers the host creates while a plugin starts are not counted as the plugin\'s', async (t) => {
  const f = fixture();
  t.after(() => f.cleanup());
  f.write('slow-start.mjs', `export const plugin = { name: 'slow-start', version: '1', setup() {
    return { start: () => new Promise((r) => setTimeout(r, 30)) };
  } };\n`);
  const loading = f.manager.load('slow-start');
  // Host code running meanwhile (not the plugin's files) starts a long timer.
  const hostTimer = setInterval(() => {}, 60_000);
  t.after(() => clearInterval(hostTimer));
  await loading;
  const unloaded = await f.manager.unload('slow-start');
  assert.equal(unloaded.leftoverHandles, 0);
  assert.equal((hostTimer as unknown as { _destroyed: boolean })._destroyed, false, 'the host timer still runs');
});

test('an async start() that resolves after start_timeout ends failed and stays failed', async (t) => {
  const f = fixture({ startTimeoutMs: 50 });
  t.after(() => f.cleanup());
  f.write('late.mjs', `
let resolved = false;
export const plugin = { name: 'late', version: '1', setup(ctx) {
  ctx.on('*', () => {});
  ctx.define('late.resolved', () => resolved);
  return { start: () => new Promise((r) => setTimeout(() => { resolved = true; r(); }, 200)) };
} };
`);
  await assert.rejects(f.manager.load('late'), /HKW_ERR_TIMEOUT|timed out|did not/i);
  assert.equal(f.manager.get('late')?.state, 'failed');
  assert.equal(f.host.notifier.size, 0, 'its registrations are gone');
  await sleep(250); // past the late resolution
  assert.equal(f.manager.get('late')?.state, 'failed', 'still failed after start() resolved');
  assert.equal(f.host.methods.count('late.resolved'), 0);
});

test('a synchronous start() that busy-waits past start_timeout ends failed; its registrations are removed and stop() runs', async (t) => {
  const f = fixture({ startTimeoutMs: 200 });
  t.after(() => f.cleanup());
  f.write('busy.mjs', `
export const plugin = { name: 'busy', version: '1', setup(ctx) {
  ctx.on('*', () => {});
  ctx.setInterval(() => {}, 1000);
  return {
    start() { const until = Date.now() + 400; while (Date.now() < until) { /* blocks the event loop */ } },
    stop() { (globalThis.__hookworkTicks ??= {}).busyStopped = 1; },
  };
} };
`);
  await assert.rejects(f.manager.load('busy'), (err: Error & { code?: string; cause?: { code?: string } }) => {
    assert.equal(err.code, 'HKW_ERR_PLUGIN_START_FAILED');
    assert.equal(err.cause?.code, 'HKW_ERR_TIMEOUT');
    return true;
  });
  const info = f.manager.get('busy');
  assert.equal(info?.state, 'failed');
  assert.equal(info?.lastError?.code, 'HKW_ERR_TIMEOUT');
  assert.deepEqual(info?.registrations, {});
  assert.equal(f.host.notifier.size, 0, 'its subscriber is gone');
  assert.equal(ticks('busyStopped'), 1, 'stop() was asked to release what start() made');
});
