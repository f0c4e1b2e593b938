// 1,000 load/unload cycles: every registration is back to its baseline and
// the heap stays flat (a leak of a few KB per cycle would show as MBs).

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

test('1,000 load/unload cycles leave no registration behind and the heap does not grow', async (t) => {
  const f = fixture({ hostOptions: { changes: { 'agent-status': { mode: 'exclusive' } } } });
  t.after(() => f.cleanup());
  f.write('busy.mjs', `
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
    ctx.task(async (signal) => { await new Promise((r) => signal.addEventListener('abort', r, { once: true })); });
    ctx.schedule('0 0 1 1 *', () => {});
    ctx.onMonitoring(() => {});
    ctx.onSending(() => {});
    // stop() forgets to unregister anything, on purpose.
    return { start() {}, stop() {} };
  },
};
`);
  const points = { gates: ['pre-upload'], changes: ['agent-status'], methods: ['users.get'] };
  const baseline = hostRegistrations(f.host, f.manager, points);
  const gc = gcFunction();

  const cycle = async (): Promise<void> => {
    const info = await f.manager.load('busy');
    assert.equal(info.state, 'running');
    await f.host.emit('20200', { data: { message: 'hi' } });
    await f.manager.unload('busy');
  };
  // Warm up: first import, JIT, lazy structures.
  for (let i = 0; i < 50; i++) await cycle();
  await f.host.idle();
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 1000; i++) {
    await cycle();
    if (i % 100 === 0) assert.deepEqual(hostRegistrations(f.host, f.manager, points), baseline);
  }
  await f.host.idle();
  gc();
  gc();
  const growth = process.memoryUsage().heapUsed - before;
  assert.deepEqual(hostRegistrations(f.host, f.manager, points), baseline);
  assert.deepEqual(f.manager.get('busy')?.registrations, {});
  assert.equal(f.host.methods.has('busy.ping'), false);
  assert.ok(growth < 20 * 1024 * 1024, `heap grew ${(growth / 1024 / 1024).toFixed(1)} MB over 1,000 cycles`);
  t.diagnostic(`heap growth over 1,000 cycles: ${(growth / 1024).toFixed(0)} KB`);
});
