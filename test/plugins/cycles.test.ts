// 1,000 load/unload cycles: every registration the host holds is back to its
// baseline, no task or schedule is left running (each one holds a ref'd
// timer while alive, so a leaked one shows in process.getActiveResourcesInfo()),
// and the heap stays flat after a forced GC.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { fixture, hostRegistrations } from './helpers.js';

function gcFunction(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing !== undefined) return existing;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** Live ref'd timers: croner keeps one per running schedule, the test's task one per running task. */
const timers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

/** Heap after full collections, settled (a couple of rounds so finalizers and weak callbacks run). */
async function settledHeap(gc: () => void): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage().heapUsed;
}

test('1,000 load/unload cycles leave no registration, task or schedule behind and the heap does not grow', async (t) => {
  const f = fixture({ hostOptions: { changes: { 'agent-status': { mode: 'exclusive' } } } });
  let passed = false;
  t.after(async () => {
    await f.cleanup();
    // After a failure, leaked tasks or schedules hold ref'd timers that would keep this process open.
    if (!passed) setTimeout(() => process.exit(1), 1000).unref();
  });
  f.write('busy.mjs', `
import { setTimeout as sleep } from 'node:timers/promises';
export const plugin = {
  name: 'busy',
  version: '1.0.0',
  setup(ctx) {
    const payload = new Array(1000).fill('x');   // something a leak would keep alive
    ctx.on('*', () => payload.length);
    ctx.on('group:failure', () => {});
    ctx.onGate('pre-upload', () => true);
    ctx.onChange('agent-status', () => undefined);
    ctx.use('users.get', (next, ...args) => next(...args));
    ctx.define('busy.ping', () => payload.length);
    ctx.route('GET', '/ping', () => 'pong');
    ctx.route('POST', '/items/:id', (req) => req.params.id);
    ctx.task(async (signal) => { while (!signal.aborted) await sleep(3_600_000, undefined, { signal }); });
    ctx.task(async (signal) => { while (!signal.aborted) await sleep(3_600_000, undefined, { signal }); });
    ctx.schedule('0 0 1 1 *', () => {});
    ctx.onMonitoring(() => {});
    ctx.onSending(() => {});
    // stop() forgets to unregister anything, on purpose.
    return { start() {}, stop() {} };
  },
};
`);
  const points = { gates: ['pre-upload'], changes: ['agent-status'], methods: ['users.get'] };
  const counts = () => ({ ...hostRegistrations(f.host, f.manager, points), 'method:busy.ping': f.host.methods.has('busy.ping'), timers: timers() });
  const baseline = counts();
  const gc = gcFunction();

  // The counts see what the plugin holds: each one moves while it runs.
  await f.manager.load('busy');
  const loaded = counts();
  assert.deepEqual(f.manager.get('busy')?.registrations, { subscriber: 4, gate: 1, change: 1, middleware: 1, method: 1, route: 2, task: 2, schedule: 1 });
  for (const [key, value] of Object.entries(baseline)) assert.notEqual(loaded[key as keyof typeof loaded], value, `${key} counts the running plugin`);
  assert.equal(loaded.timers, baseline.timers + 3, 'two tasks and one schedule hold a timer each');
  await f.manager.unload('busy');
  assert.deepEqual(counts(), baseline);

  const cycle = async (): Promise<void> => {
    const info = await f.manager.load('busy');
    assert.equal(info.state, 'running');
    await f.host.emit('20200', { data: { message: 'hi' } });
    await f.manager.unload('busy');
  };
  // Warm up: first import, JIT, lazy structures.
  for (let i = 0; i < 50; i++) await cycle();
  await f.host.idle();
  const before = await settledHeap(gc);
  for (let i = 0; i < 1000; i++) {
    await cycle();
    if (i % 100 === 0) assert.deepEqual(counts(), baseline, `after cycle ${i + 1}`);
  }
  await f.host.idle();
  const growth = (await settledHeap(gc)) - before;
  assert.deepEqual(counts(), baseline);
  assert.equal(f.manager.get('busy')?.state, 'stopped');
  t.diagnostic(`heap growth over 1,000 cycles: ${(growth / 1024).toFixed(0)} KB`);
  // One cycle's plugin holds ~10 KB (its payload alone is 8 KB): a leak of one per cycle would be ~10 MB.
  assert.ok(growth < 2 * 1024 * 1024, `heap grew ${(growth / 1024 / 1024).toFixed(2)} MB over 1,000 cycles`);
  passed = true;
});
