import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixture, hostRegistrations, HOOKWORK_URL, ZOD_URL } from './helpers.js';
import { waitFor } from '../helpers/wait-for.js';

const plain = (name: string, body = '', extra = '') => `
export const plugin = {
  name: ${JSON.stringify(name)},
  version: '1.0.0',
  ${extra}
  setup(ctx) {
    ${body}
  },
};
`;

test('load, list and unload a plugin; every registration goes away even when stop forgets', async (t) => {
  const f = fixture();
  t.after(() => f.cleanup());
  f.write('audit.mjs', plain('audit', `
    ctx.on('*', () => {});
    ctx.onGate('pre-upload', () => true);
    ctx.onChange('status', () => undefined);
    ctx.use('users.get', (next, ...args) => next(...args));
    ctx.route('GET', '/hello', () => ({ hi: true }));
    ctx.task(async (signal) => { await new Promise((r) => signal.addEventListener('abort', r)); });
    ctx.schedule('0 0 1 1 *', () => {});
    ctx.onMonitoring(() => {});
    ctx.onSending(() => {});
    return { stop() { /* forgets to unregister anything */ } };
  `));
  const points = { gates: ['pre-upload'], changes: ['status'], methods: ['users.get'] };
  const baseline = hostRegistrations(f.host, f.manager, points);
  const info = await f.manager.load('audit');
  assert.equal(info.state, 'running');
  assert.equal(info.version, '1.0.0');
  assert.ok(info.loadedAt !== undefined);
  assert.deepEqual(info.registrations, { subscriber: 3, gate: 1, change: 1, middleware: 1, route: 1, task: 1, schedule: 1 });
  assert.deepEqual(info.routes, [{ method: 'GET', path: '/plugins/audit/hello', access: 'viewer' }]);
  assert.notDeepEqual(hostRegistrations(f.host, f.manager, points), baseline);
  const after = await f.manager.unload('audit');
  assert.equal(after.state, 'stopped');
  assert.deepEqual(after.registrations, {});
  assert.deepEqual(hostRegistrations(f.host, f.manager, points), baseline);
  assert.deepEqual(f.manager.list().map((p) => [p.name, p.state]), [['audit', 'stopped']]);
});

test('loads at once run one after another: never two instances, one running at the end (a load of a running plugin reloads it)', async (t) => {
  const f = fixture();
  t.after(() => f.cleanup());
  const counts = globalThis as { __onceLive?: number; __onceMax?: number; __onceSetups?: number };
  f.write(
    'once.mjs',
    plain(
      'once',
      `globalThis.__onceSetups = (globalThis.__onceSetups ?? 0) + 1;
       globalThis.__onceLive = (globalThis.__onceLive ?? 0) + 1;
       globalThis.__onceMax = Math.max(globalThis.__onceMax ?? 0, globalThis.__onceLive);
       return { stop() { globalThis.__onceLive -= 1; } };`,
    ),
  );
  const infos = await Promise.all([f.manager.load('once'), f.manager.load('once'), f.manager.load('once')]);
  assert.equal(counts.__onceSetups, 3, 'each load set the plugin up (the later ones as reloads)');
  assert.equal(counts.__onceMax, 1, 'never two instances at once');
  assert.equal(counts.__onceLive, 1);
  assert.deepEqual(infos.map((i) => i.state), ['running', 'running', 'running']);
});

test('a plugin module runs once per process, even across two hosts', async (t) => {
  const f = fixture();
  t.after(() => f.cleanup());
  f.write('single.mjs', plain('single'));
  const g = fixture({ folder: f.folder });
  t.after(() => g.cleanup());
  await f.manager.load('single');
  await assert.rejects(g.manager.load('single'), { code: 'HKW_ERR_PLUGIN_ALREADY_RUNNING' });
  await f.manager.unload('single');
  assert.equal((await g.manager.load('single')).state, 'running');
});

test('the config section is validated against the plugin schema before start', async (t) => {
  const f = fixture({ config: { good: { greeting: 'ahoj' }, bad: { retries: 'many' } } });
  t.after(() => f.cleanup());
  const schema = `configSchema: z.object({ greeting: z.string().default('hello'), retries: z.number().int().default(3) }),`;
  const source = (name: string) => `import { z } from ${JSON.stringify(ZOD_URL)};\n${plain(name, `globalThis.__cfg_${name} = ctx.config;`, schema)}`;
  f.write('good.mjs', source('good'));
  f.write('bad.mjs', source('bad'));
  await f.manager.load('good');
  assert.deepEqual((globalThis as Record<string, unknown>)['__cfg_good'], { greeting: 'ahoj', retries: 3 });
  await assert.rejects(f.manager.load('bad'), (err: { code: string; problems: Array<{ key: string }> }) => {
    assert.equal(err.code, 'HKW_ERR_CONFIG_INVALID');
    assert.equal(err.problems[0]?.key, 'plugins.config.bad.retries');
    return true;
  });
  assert.equal((globalThis as Record<string, unknown>)['__cfg_bad'], undefined, 'setup never ran');
  const bad = f.manager.get('bad');
  assert.equal(bad?.state, 'failed');
  assert.equal(bad?.lastError?.code, 'HKW_ERR_CONFIG_INVALID');
});

test('a start that throws or times out marks the plugin failed, removes what it registered, and the others load', async (t) => {
  const f = fixture({ startTimeoutMs: 200, active: ['first', 'thrower', 'sleeper', 'last'] });
  t.after(() => f.cleanup());
  f.write('first.mjs', plain('first', `ctx.on('*', () => {});`));
  f.write('thrower.mjs', plain('thrower', `
    ctx.on('*', () => {});
    ctx.onGate('pre-upload', () => false);
    ctx.route('GET', '/x', () => 1);
    return { start() { throw new Error('database is down'); } };
  `));
  f.write('sleeper.mjs', plain('sleeper', `
    ctx.on('*', () => {});
    ctx.task(async (signal) => { await new Promise((r) => signal.addEventListener('abort', r)); });
    return { start: () => new Promise(() => {}) };
  `));
  f.write('last.mjs', plain('last', `ctx.on('*', () => {});`));
  const list = await f.manager.loadActive();
  const states = Object.fromEntries(list.map((p) => [p.name, p.state]));
  assert.deepEqual(states, { first: 'running', thrower: 'failed', sleeper: 'failed', last: 'running' });
  const thrower = f.manager.get('thrower');
  assert.equal(thrower?.lastError?.message, 'database is down');
  assert.deepEqual(thrower?.registrations, {});
  assert.equal(f.manager.get('sleeper')?.lastError?.code, 'HKW_ERR_TIMEOUT');
  assert.equal(f.host.notifier.size, 2, 'only the running plugins subscribe');
  assert.equal(f.host.gates.count('pre-upload'), 0);
  assert.equal(f.manager.routes.size, 0);
  await assert.rejects(f.manager.load('thrower'), { code: 'HKW_ERR_PLUGIN_START_FAILED' });
});

test('stop that hangs is bounded; registrations still go', async (t) => {
  const f = fixture({ stopTimeoutMs: 100 });
  t.after(() => f.cleanup());
  f.write('hang.mjs', plain('hang', `ctx.on('*', () => {}); return { stop: () => new Promise(() => {}) };`));
  await f.manager.load('hang');
  assert.equal(f.host.notifier.size, 1);
  const info = await f.manager.unload('hang');
  assert.equal(info.state, 'stopped');
  assert.equal(info.lastError?.code, 'HKW_ERR_TIMEOUT');
  assert.equal(f.host.notifier.size, 0);
});

test('background tasks get an aborted signal on unload and are awaited', async (t) => {
  const f = fixture();
  t.after(() => f.cleanup());
  f.write('loop.mjs', plain('loop', `
    globalThis.__loop = { ticks: 0, ended: false };
    ctx.task(async (signal) => {
      while (!signal.aborted) {
        globalThis.__loop.ticks++;
        await new Promise((r) => { const t = setTimeout(r, 5); signal.addEventListener('abort', () => { clearTimeout(t); r(); }, { once: true }); });
      }
      await new Promise((r) => setTimeout(r, 20));
      globalThis.__loop.ended = true;
    });
  `));
  await f.manager.load('loop');
  const state = (globalThis as unknown as { __loop: { ticks: number; ended: boolean } }).__loop;
  await waitFor(() => state.ticks > 2, 'the loop ticks');
  await f.manager.unload('loop');
  assert.equal(state.ended, true, 'unload waited for the task to finish');
});

test('a schedule runs on its cron pattern and stops on unload', async (t) => {
  const f = fixture();
  t.after(() => f.cleanup());
  f.write('cron.mjs', plain('cron', `
    globalThis.__cron = 0;
    ctx.schedule('* * * * * *', () => { globalThis.__cron++; });
  `));
  await f.manager.load('cron');
  const count = (): number => (globalThis as unknown as { __cron: number }).__cron;
  await waitFor(() => count() >= 1, { what: 'the schedule fires', timeoutMs: 4000 });
  await f.manager.unload('cron');
  const seen = count();
  assert.deepEqual(f.manager.get('cron')?.registrations, {});
  await new Promise((r) => setTimeout(r, 1100));
  assert.equal(count(), seen, 'no run after unload');
});

test('an invalid cron pattern is a clear error and the plugin fails', async (t) => {
  const f = fixture();
  t.after(() => f.cleanup());
  f.write('badcron.mjs', plain('badcron', `ctx.schedule('every tuesday', () => {});`));
  await assert.rejects(f.manager.load('badcron'), /not a valid cron pattern/);
});

test('needs: dependencies load first; a missing one or a cycle is a clear error', async (t) => {
  const f = fixture();
  t.after(() => f.cleanup());
  const order: string[] = [];
  (globalThis as Record<string, unknown>)['__order'] = order;
  f.write('a.mjs', plain('a', `globalThis.__order.push('a');`, `needs: ['b'],`));
  f.write('b.mjs', plain('b', `globalThis.__order.push('b');`, `needs: ['c'],`));
  f.write('c.mjs', plain('c', `globalThis.__order.push('c');`));
  f.write('lonely.mjs', plain('lonely', '', `needs: ['ghost'],`));
  f.write('x.mjs', plain('x', '', `needs: ['y'],`));
  f.write('y.mjs', plain('y', '', `needs: ['x'],`));
  await f.manager.load('a');
  assert.deepEqual(order, ['c', 'b', 'a']);
  await assert.rejects(f.manager.load('lonely'), (err: Error & { code: string }) => {
    assert.equal(err.code, 'HKW_ERR_PLUGIN_DEPENDENCY');
    assert.match(err.message, /needs "ghost", which is not in the plugins folder/);
    return true;
  });
  await assert.rejects(f.manager.load('x'), /cycle: x → y → x/);
  assert.equal(f.manager.get('x')?.state, 'failed');
  // Unloading a needed plugin stops its dependents first; reloading starts them again.
  await f.manager.unload('c');
  assert.deepEqual(['a', 'b', 'c'].map((n) => f.manager.get(n)?.state), ['stopped', 'stopped', 'stopped']);
  await f.manager.load('a');
  order.length = 0;
  await f.manager.reload('c');
  assert.deepEqual(['a', 'b', 'c'].map((n) => f.manager.get(n)?.state), ['running', 'running', 'running']);
  assert.deepEqual(order, ['c', 'b', 'a']);
});

test('an unknown plugin name is a 404-style error listing the known ones', async (t) => {
  const f = fixture();
  t.after(() => f.cleanup());
  f.write('known.mjs', plain('known'));
  await assert.rejects(f.manager.load('nope'), (err: Error & { code: string; statusCode: number }) => {
    assert.equal(err.code, 'HKW_ERR_PLUGIN_NOT_FOUND');
    assert.equal(err.statusCode, 404);
    assert.match(err.message, /Known plugins: known/);
    return true;
  });
});

test('concurrent load/unload/reload of one plugin are serialized', async (t) => {
  const f = fixture();
  t.after(() => f.cleanup());
  f.write('busy.mjs', plain('busy', `
    globalThis.__busy ??= { running: 0, max: 0 };
    const s = globalThis.__busy;
    return {
      async start() { s.running++; s.max = Math.max(s.max, s.running); await new Promise((r) => setTimeout(r, 2)); },
      async stop() { await new Promise((r) => setTimeout(r, 2)); s.running--; },
    };
  `));
  const ops = [];
  for (let i = 0; i < 20; i++) ops.push(f.manager.load('busy'), f.manager.reload('busy'), f.manager.unload('busy'));
  await Promise.all(ops);
  const s = (globalThis as unknown as { __busy: { running: number; max: number } }).__busy;
  assert.equal(s.max, 1, 'never two instances at once');
  assert.equal(s.running, 0);
  assert.equal(f.manager.get('busy')?.state, 'stopped');
});

test('an exclusive change point names the plugin that holds it, and the holder\'s unload frees it', async (t) => {
  const f = fixture({ hostOptions: { logger: undefined, changes: { 'agent-status': { mode: 'exclusive' } } } });
  t.after(() => f.cleanup());
  const hook = (name: string, value: string) => plain(name, `ctx.onChange('agent-status', () => ${JSON.stringify(value)});`);
  f.write('holder.mjs', hook('holder', 'from-holder'));
  f.write('rival.mjs', hook('rival', 'from-rival'));
  await f.manager.load('holder');
  await assert.rejects(f.manager.load('rival'), (err: Error & { code: string }) => {
    assert.equal(err.code, 'HKW_ERR_PLUGIN_START_FAILED');
    assert.match(err.message, /already held by "plugin:holder"/);
    return true;
  });
  assert.equal(f.manager.get('rival')?.lastError?.code, 'HKW_ERR_EXCLUSIVE_HOOK_TAKEN');
  assert.deepEqual(await f.host.change('agent-status', 'a', 'b'), { blocked: false, value: 'from-holder' });
  await f.manager.unload('holder');
  await f.manager.load('rival');
  assert.equal(f.host.changes.holder('agent-status'), 'plugin:rival');
  assert.deepEqual(await f.host.change('agent-status', 'a', 'b'), { blocked: false, value: 'from-rival' });
});

test('late registrations of an unloaded plugin are refused', async (t) => {
  const f = fixture();
  t.after(() => f.cleanup());
  f.write('late.mjs', plain('late', `globalThis.__lateCtx = ctx;`));
  await f.manager.load('late');
  await f.manager.unload('late');
  const ctx = (globalThis as unknown as { __lateCtx: { on(t: string, fn: () => void): void; route(m: string, p: string, h: () => void): void; signal: AbortSignal } }).__lateCtx;
  assert.equal(ctx.signal.aborted, true);
  assert.throws(() => ctx.on('*', () => {}), { code: 'HKW_ERR_CLOSED' });
  assert.throws(() => ctx.route('GET', '/late', () => {}), { code: 'HKW_ERR_CLOSED' });
  assert.equal(f.manager.routes.size, 0);
});

test('plugin files may import the library and use block()', async (t) => {
  const f = fixture({ hostOptions: { changes: { limit: { mode: 'chained' } } } });
  t.after(() => f.cleanup());
  f.write('blocker.mjs', `import { definePlugin, block } from ${JSON.stringify(HOOKWORK_URL)};
export default definePlugin({ name: 'blocker', version: '2.0.0', setup(ctx) { ctx.onChange('limit', ({ value }) => value > 10 ? block('too big') : undefined); } });`);
  await f.manager.load('blocker');
  assert.deepEqual(await f.host.change('limit', 1, 11), { blocked: true, reason: 'too big', by: 'plugin:blocker' });
});
